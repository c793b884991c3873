//! What the engine hands the store for the contact center (issue 4 item 6):
//! the agent state audit log (AGENT-6), interactions with per-phase
//! durations and wrap-up (HIST-3, WRAP-1), and a CDR per call leg (HIST-3).
//! Virtual time, so every duration is exact.

use crate::queue::{alice_then_bob, answer_offer, contact_center, desk, login, ring, ALICE};
use crate::sim::*;
use std::time::Duration;
use switchboard::engine::desk::{DeskCommand, DeskReply};
use switchboard::store::{AcdRecord, AgentAuditRecord, InteractionOutcome, InteractionRecord, LegCdrRecord};

fn audits<'a>(h: &'a Harness, agent: &str) -> Vec<&'a AgentAuditRecord> {
    h.acd
        .iter()
        .filter_map(|r| match r {
            AcdRecord::AgentAudit(a) if a.agent == agent => Some(a),
            _ => None,
        })
        .collect()
}

fn interactions(h: &Harness) -> Vec<&InteractionRecord> {
    h.acd
        .iter()
        .filter_map(|r| match r {
            AcdRecord::Interaction(i) => Some(&**i),
            _ => None,
        })
        .collect()
}

fn legs(h: &Harness) -> Vec<&LegCdrRecord> {
    h.acd
        .iter()
        .filter_map(|r| match r {
            AcdRecord::LegCdr(l) => Some(l),
            _ => None,
        })
        .collect()
}

/// spec: AGENT-6, HIST-3, WRAP-1 — one answered call: every state change
/// of the agent is logged with its interaction, the interaction is written
/// on arrival and rewritten as it goes, ending with exact queue, ring,
/// talk, hold and wrap-up times and the wrap-up; both legs get a CDR.
#[test]
fn answered_call_writes_audit_interaction_and_leg_cdrs() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    login(&mut h, ALICE);
    let logged_in = audits(&h, "alice");
    assert_eq!(logged_in.len(), 1, "{logged_in:?}");
    assert_eq!(logged_in[0].state, "Available");
    h.acd.clear();

    let out = h.place_call(&mut customer, "5000");
    let opened = interactions(&h);
    assert_eq!(opened.len(), 1, "written on arrival: {opened:?}");
    let uid = opened[0].uid.clone();
    assert_eq!(
        (
            opened[0].queue.as_str(),
            opened[0].caller.as_str(),
            opened[0].dnis.as_str()
        ),
        ("support", "1000", "5000")
    );
    assert_eq!(opened[0].outcome, None, "open while the call is up");

    let invite = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &invite, "alicetag");
    h.advance(Duration::from_secs(2));
    let mut dlg = answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    h.advance(Duration::from_secs(10));
    desk(
        &mut h,
        ALICE,
        DeskCommand::Hold {
            interaction: uid.clone(),
        },
    )
    .expect("hold");
    h.advance(Duration::from_secs(5));
    desk(
        &mut h,
        ALICE,
        DeskCommand::Resume {
            interaction: uid.clone(),
        },
    )
    .expect("resume");
    h.advance(Duration::from_secs(10));
    let bye = customer.in_dialog(&mut dlg, "BYE").text();
    h.send(&customer, &bye);
    h.expect_request(alice.addr, "BYE");
    h.advance(Duration::from_secs(3));
    let reply = desk(
        &mut h,
        ALICE,
        DeskCommand::WrapUp {
            reasons: vec!["Resolved".into()],
            notes: "reset the router".into(),
        },
    )
    .expect("wrap-up");
    assert!(
        matches!(reply, DeskReply::Agent(ref a) if a.state == "Available"),
        "{reply:?}"
    );

    // AGENT-6: the audit log, in order, each engaged state naming the call.
    let log = audits(&h, "alice");
    let states: Vec<&str> = log.iter().map(|a| a.state.as_str()).collect();
    assert_eq!(states, ["Reserved", "Busy", "WrapUp", "Available"]);
    for a in &log[..3] {
        assert_eq!(a.interaction.as_deref(), Some(uid.as_str()), "{a:?}");
    }
    assert!(log.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));

    // HIST-3: the last write has the whole story.
    let all = interactions(&h);
    assert!(all.iter().all(|i| i.uid == uid));
    let last = all.last().expect("interaction");
    assert_eq!(last.outcome, Some(InteractionOutcome::Answered));
    assert_eq!(last.agent.as_deref(), Some("alice"));
    assert_eq!(
        (last.queue_ms, last.ring_ms, last.talk_ms, last.hold_ms, last.wrap_up_ms),
        (0, 2_000, 20_000, 5_000, 3_000)
    );
    assert_eq!(last.wrap_up_reasons, ["Resolved"]);
    assert_eq!(last.notes, "reset the router");
    assert_eq!(last.answered_ms.map(|a| a - last.arrived_ms), Some(2_000));
    assert_eq!(last.ended_ms.map(|e| e - last.arrived_ms), Some(27_000));
    assert!(last.variables.iter().any(|(n, v)| n == "caller_number" && v == "1000"));

    // HIST-3: one CDR per leg.
    let legs = legs(&h);
    assert_eq!(legs.len(), 2, "{legs:?}");
    let caller = legs.iter().find(|l| l.leg == "caller").expect("caller leg");
    assert_eq!((caller.talk_ms, caller.hold_ms), (20_000, 5_000));
    assert_eq!(caller.cause, "caller_hangup");
    assert_eq!(caller.final_code, Some(200));
    let agent = legs.iter().find(|l| l.leg == "agent").expect("agent leg");
    assert_eq!(agent.party, "alice");
    assert_eq!(
        (agent.talk_ms, agent.hold_ms, agent.final_code),
        (20_000, 5_000, Some(200))
    );
    assert_eq!(agent.answered_ms, last.answered_ms);
    assert!(legs.iter().all(|l| l.interaction.as_deref() == Some(uid.as_str())));
    assert_ne!(caller.call_id, agent.call_id);
}

/// spec: OFFER-4, AGENT-6, HIST-3 — an offer that rings out (RONA), one
/// the phone declines, then the caller gives up: each agent leg has its
/// CDR with why it ended, alice's `Idle(RONA)` is logged with its reason,
/// the interaction is `Abandoned` with its ring and queue times.
#[test]
fn rona_decline_and_abandon_are_recorded() {
    let (mut h, mut customer, alice, bob) = contact_center();
    alice_then_bob(&mut h);
    h.acd.clear();
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &invite, "at");
    h.advance(Duration::from_secs(15));
    h.expect_request(alice.addr, "CANCEL");
    let invite = h.expect_request(bob.addr, "INVITE");
    h.advance(Duration::from_secs(1));
    h.send(&bob, &response(&invite, 603, "Decline", Some("bt"), &[], None));
    h.advance(Duration::from_secs(5));
    let cancel = customer.cancel(&out);
    h.send(&customer, &cancel.text());

    let rona = audits(&h, "alice");
    let last = rona.last().expect("alice's audit");
    assert_eq!((last.state.as_str(), last.reason.as_deref()), ("Idle", Some("RONA")));

    let legs = legs(&h);
    let of = |who: &str| legs.iter().find(|l| l.party == who).copied();
    let a = of("alice").expect("alice's leg");
    assert_eq!((a.cause.as_str(), a.final_code, a.answered_ms), ("rona", None, None));
    assert_eq!(a.ended_ms - a.started_ms, 15_000);
    let b = of("bob").expect("bob's leg");
    assert_eq!((b.cause.as_str(), b.final_code), ("declined", Some(603)));
    let caller = legs.iter().find(|l| l.leg == "caller").expect("caller leg");
    assert_eq!((caller.cause.as_str(), caller.answered_ms), ("caller_cancel", None));
    assert_eq!(legs.len(), 3, "one CDR per leg: {legs:?}");

    let last = *interactions(&h).last().expect("interaction");
    assert_eq!(last.outcome, Some(InteractionOutcome::Abandoned));
    assert_eq!((last.ring_ms, last.queue_ms, last.talk_ms), (16_000, 5_000, 0));
    assert_eq!(last.agent, None);
}

/// spec: CALL-HOLD-1, HIST-3 — the agent's phone holds the customer with a
/// `sendonly` re-INVITE: the time counts as hold, the desktop is told and
/// may not end the call until the phone resumes.
#[test]
fn phone_hold_is_booked_as_hold_and_blocks_end() {
    let (mut h, mut customer, mut alice, _bob) = contact_center();
    login(&mut h, ALICE);
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    let mut dlg = answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    let mut b_dlg = alice.dialog_from_invite(&invite, "alicetag");
    let uid = interactions(&h).last().expect("interaction").uid.clone();
    h.advance(Duration::from_secs(4));

    let ip = alice.addr.ip().to_string();
    let hold = sdp(&ip, 52000).replace("a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=sendonly\r\n");
    let reinv = alice.in_dialog(&mut b_dlg, "INVITE").body("application/sdp", &hold);
    h.send(&alice, &reinv.text());
    h.expect_response(alice.addr, 200);
    assert!(h.desk.iter().any(|e| matches!(
        e,
        switchboard::engine::desk::DeskEvent::Hold { agent, held: true, .. } if agent == "alice"
    )));
    h.advance(Duration::from_secs(7));
    let refused = desk(
        &mut h,
        ALICE,
        DeskCommand::End {
            interaction: uid.clone(),
        },
    );
    assert!(refused.is_err(), "no end while the phone holds: {refused:?}");
    let reinv = alice
        .in_dialog(&mut b_dlg, "INVITE")
        .body("application/sdp", &sdp(&ip, 52000));
    h.send(&alice, &reinv.text());
    h.advance(Duration::from_secs(3));
    let bye = customer.in_dialog(&mut dlg, "BYE").text();
    h.send(&customer, &bye);

    let last = *interactions(&h).last().expect("interaction");
    assert_eq!((last.talk_ms, last.hold_ms), (7_000, 7_000));
}
