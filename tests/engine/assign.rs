//! SUP-5 through the engine, in virtual time with simulated phones: a
//! supervisor assigns a waiting caller to an idle agent (the phone rings,
//! presence overridden), to a busy agent (held for it, offered when it is
//! free; the answer says capacity is exceeded by one), or to another queue;
//! assignments the rule forbids are refused naming the agent.

use crate::queue::{answer_offer, contact_center, desk, login, ALICE, BOB};
use crate::sim::*;
use switchboard::engine::desk::{
    AssignTo, AssignView, DeskCommand, DeskError, DeskEvent, DeskReply, DeskState, InteractionView, SupervisorCommand,
};

const SAM: &str = "demo-token-sam-supervisor";

fn supervise(h: &mut Harness, cmd: SupervisorCommand) -> Result<DeskReply, DeskError> {
    let now = h.now();
    let r = h.engine.supervise(now, SAM, cmd);
    h.input_drain();
    r
}

fn interactions(h: &mut Harness) -> Vec<InteractionView> {
    match supervise(h, SupervisorCommand::Interactions).expect("list") {
        DeskReply::Interactions(list) => list,
        other => panic!("{other:?}"),
    }
}

/// The uid of the one interaction in `state`.
fn uid_in(h: &mut Harness, state: &str) -> String {
    let list = interactions(h);
    let found: Vec<&InteractionView> = list.iter().filter(|i| i.state == state).collect();
    assert_eq!(found.len(), 1, "{list:?}");
    found[0].interaction.clone()
}

fn assign(h: &mut Harness, uid: &str, to: AssignTo) -> Result<AssignView, DeskError> {
    supervise(
        h,
        SupervisorCommand::Assign {
            interaction: uid.to_owned(),
            to,
        },
    )
    .map(|r| match r {
        DeskReply::Assigned(a) => a,
        other => panic!("{other:?}"),
    })
}

fn state_of(h: &mut Harness, token: &str) -> (String, Option<String>) {
    match desk(h, token, DeskCommand::Me).expect("me") {
        DeskReply::Agent(a) => (a.state.to_owned(), a.reason),
        other => panic!("{other:?}"),
    }
}

fn wrap_up(h: &mut Harness, token: &str) {
    desk(
        h,
        token,
        DeskCommand::WrapUp {
            reasons: vec!["Resolved".into()],
            notes: String::new(),
        },
    )
    .expect("wrap-up");
}

// spec: SUP-5
#[test]
fn a_waiting_caller_assigned_to_an_idle_agent_rings_its_phone() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    desk(
        &mut h,
        ALICE,
        DeskCommand::Login {
            state: Some(DeskState::Idle("Lunch".into())),
        },
    )
    .expect("login idle");
    let out = h.place_call(&mut customer, "5000");
    h.expect_response(customer.addr, 183);
    let uid = uid_in(&mut h, "queued");
    h.desk.clear();
    let done = assign(&mut h, &uid, AssignTo::Agent("alice".into())).expect("assign");
    assert_eq!(
        done,
        AssignView {
            interaction: uid.clone(),
            agent: Some("alice".into()),
            queue: None,
            delivery: "ringing",
            capacity_exceeded_by: 0,
            presence_overridden: true,
        }
    );
    assert!(h.desk.iter().any(|e| matches!(
        e,
        DeskEvent::Assigned { agent, supervisor, delivery: "ringing", .. } if agent == "alice" && supervisor == "sam"
    )));
    let invite = h.expect_request(alice.addr, "INVITE");
    let mut dlg = answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    let bye = customer.in_dialog(&mut dlg, "BYE").text();
    h.send(&customer, &bye);
    wrap_up(&mut h, ALICE);
    assert_eq!(
        state_of(&mut h, ALICE),
        ("Idle".into(), Some("Lunch".into())),
        "presence overridden for this call only"
    );
}

// spec: SUP-5
#[test]
fn a_caller_assigned_to_a_busy_agent_waits_for_it_and_capacity_is_exceeded_by_one() {
    let (mut h, mut customer, alice, bob) = contact_center();
    login(&mut h, ALICE);
    let out1 = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    let mut dlg1 = answer_offer(&mut h, &mut customer, &out1, &alice, &invite);
    let mut second = Ua::phone("1005", "192.0.2.15");
    let out2 = h.place_call(&mut second, "5000");
    h.expect_response(second.addr, 183);
    let uid = uid_in(&mut h, "queued");
    let done = assign(&mut h, &uid, AssignTo::Agent("alice".into())).expect("assign");
    assert_eq!((done.delivery, done.capacity_exceeded_by), ("when_free", 1));
    let view = interactions(&mut h)
        .into_iter()
        .find(|i| i.interaction == uid)
        .expect("listed");
    assert_eq!(view.assigned_to.as_deref(), Some("alice"));
    assert_eq!(view.state, "queued");
    // Bob is free, but the caller is held for alice.
    login(&mut h, BOB);
    assert_eq!(h.count(bob.addr, |m| first_line(m).starts_with("INVITE")), 0);
    // Alice's first call ends; after her wrap-up her phone rings for the second.
    let bye = customer.in_dialog(&mut dlg1, "BYE").text();
    h.send(&customer, &bye);
    assert_eq!(
        h.count(alice.addr, |m| first_line(m).starts_with("INVITE")),
        0,
        "not during wrap-up"
    );
    wrap_up(&mut h, ALICE);
    let invite2 = h.expect_request(alice.addr, "INVITE");
    answer_offer(&mut h, &mut second, &out2, &alice, &invite2);
    let connected = interactions(&mut h)
        .into_iter()
        .find(|i| i.interaction == uid)
        .expect("listed");
    assert_eq!(
        (connected.state, connected.agent.as_deref()),
        ("connected", Some("alice"))
    );
    assert_eq!(connected.assigned_to, None);
}

// spec: SUP-5
#[test]
fn a_waiting_caller_assigned_to_another_queue_is_offered_there() {
    let (mut h, mut customer, _alice, _bob) = contact_center();
    let mut carol = Ua::phone("1003", "192.0.2.23");
    h.register(&mut carol, 3600);
    h.place_call(&mut customer, "5000");
    h.expect_response(customer.addr, 183);
    let uid = uid_in(&mut h, "queued");
    let done = assign(&mut h, &uid, AssignTo::Queue("sales".into())).expect("assign");
    assert_eq!((done.delivery, done.capacity_exceeded_by), ("queued", 0));
    let view = interactions(&mut h)
        .into_iter()
        .find(|i| i.interaction == uid)
        .expect("listed");
    assert_eq!(view.queue, "sales");
    login(&mut h, "demo-token-carol");
    h.expect_request(carol.addr, "INVITE");
}

// spec: SUP-5
#[test]
fn assignments_the_rule_forbids_are_refused_naming_the_agent() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    login(&mut h, ALICE);
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    let connected = uid_in(&mut h, "connected");
    match assign(&mut h, &connected, AssignTo::Agent("alice".into())) {
        Err(DeskError::Conflict(m)) => assert!(m.contains("already assigned to agent alice"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut second = Ua::phone("1005", "192.0.2.15");
    h.place_call(&mut second, "5000");
    h.expect_response(second.addr, 183);
    let waiting = uid_in(&mut h, "queued");
    match assign(&mut h, &waiting, AssignTo::Agent("bob".into())) {
        Err(DeskError::Conflict(m)) => assert_eq!(m, "agent bob is logged out: nobody would take the call"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        assign(&mut h, &waiting, AssignTo::Agent("zed".into())),
        Err(DeskError::NotFound {
            field: "agent",
            message: "no agent zed".into()
        })
    );
    assert_eq!(
        assign(&mut h, &waiting, AssignTo::Queue("billing".into())),
        Err(DeskError::NotFound {
            field: "queue",
            message: "no queue billing".into()
        })
    );
    // An agent's token cannot assign.
    let now = h.now();
    let r = h.engine.supervise(
        now,
        ALICE,
        SupervisorCommand::Assign {
            interaction: waiting,
            to: AssignTo::Agent("alice".into()),
        },
    );
    assert!(matches!(r, Err(DeskError::Forbidden(_))), "{r:?}");
}
