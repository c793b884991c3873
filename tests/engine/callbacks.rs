//! Placing callbacks in virtual time (spec CB-2, CB-5..CB-8, OFFER-6): a
//! due callback waits in its queue, is offered to an agent (the offer
//! says it is a callback), the agent's phone is called first and, once it
//! answers, the customer is dialled through the agents' dial plan (the
//! demo trunk); the dialling step is output before the customer's INVITE
//! (CB-8's write-ahead); no answer sends it back to its queue later
//! (CB-6); the agent's End cancels it (CB-6); the tenant's concurrent-call
//! limit holds the dial with its reason code (CB-7); a restart never dials
//! twice (CB-8).

use crate::queue::{desk, embedded_acd, login, ok_from, ALICE};
use crate::sim::*;
use std::time::Duration;
use switchboard::acd::callback::CallbackKind;
use switchboard::engine::desk::{DeskCommand, DeskEvent};
use switchboard::engine::{CallbackCommand, CallbackReply, CreateRequest, Requester};
use switchboard::sip::msg::Message;

/// The customer's number as typed, and as the trunk is asked for it.
const NUMBER: &str = "+33 123 456 789";
const DIALLED: &str = "33123456789";

/// A switch (its `acd.toml` replaced when given) with alice registered
/// and logged in, started (callbacks are looked at).
fn switch(acd: Option<&str>) -> (Harness, Ua) {
    let mut h = match acd {
        Some(text) => Harness::with_files(&[("acd.toml", text)]),
        None => Harness::new(),
    };
    let mut alice = Ua::phone("1001", "192.0.2.21");
    h.register(&mut alice, 3600);
    login(&mut h, ALICE);
    let now = h.now();
    h.engine.start(now);
    h.input_drain();
    (h, alice)
}

/// A web callback to [`NUMBER`] for `queue`, created by an admin token.
fn web_callback(h: &mut Harness, queue: &str) -> String {
    let now = h.now();
    let reply = h.engine.callbacks(
        now,
        &Requester::Admin,
        CallbackCommand::Create(Box::new(CreateRequest {
            kind: CallbackKind::Web,
            number: NUMBER.into(),
            name: "Zoé Durand".into(),
            queue: queue.into(),
            zone: None,
            window: None,
            reason: "Question about an invoice".into(),
            agent: None,
            idempotency: None,
        })),
    );
    h.input_drain();
    match reply.expect("created") {
        CallbackReply::Created { callback, .. } => callback.id,
        other => panic!("unexpected reply {other:?}"),
    }
}

/// The callback's state as the API shows it.
fn state(h: &mut Harness, id: &str) -> (String, u32) {
    let now = h.now();
    match h
        .engine
        .callbacks(now, &Requester::Admin, CallbackCommand::Get { id: id.into() })
        .expect("found")
    {
        CallbackReply::One(v) => (v.state.to_string(), v.attempts),
        other => panic!("unexpected reply {other:?}"),
    }
}

fn callback_events(h: &Harness) -> Vec<(String, Option<&'static str>)> {
    h.desk
        .iter()
        .filter_map(|e| match e {
            DeskEvent::Callback { state, reason, .. } => Some((state.to_string(), *reason)),
            _ => None,
        })
        .collect()
}

/// Alice's phone rings for the callback and answers: the INVITE it got.
fn alice_answers(h: &mut Harness, alice: &Ua) -> Message {
    let invite = h.expect_request(alice.addr, "INVITE");
    h.send(alice, &ok_from(alice, &invite, "alice-tag", 40000));
    invite
}

/// The customer's INVITE reaches the trunk, which answers 180.
fn customer_rings(h: &mut Harness) -> Message {
    let customer = h.expect_request(sock(TRUNK), "INVITE");
    h.send(
        &Ua::trunk(TRUNK),
        &response(&customer, 180, "Ringing", Some("c"), &[], None),
    );
    customer
}

/// spec: CB-2, OFFER-6, CB-8 — a web callback is offered to alice as a
/// callback (label, number, queue, DNIS, timer), her phone is called first
/// (it shows the customer), and once it answers the customer is dialled
/// through the trunk, the `dialing` step written before the INVITE; the
/// customer's answer connects them and makes it `done`.
#[test]
fn a_web_callback_calls_the_agent_first_then_the_customer() {
    let (mut h, alice) = switch(None);
    let id = web_callback(&mut h, "support");
    h.advance(Duration::from_millis(1));
    assert_eq!(state(&mut h, &id).0, "offered");
    let offer = offers(&h).pop().expect("an offer");
    assert_eq!(offer.channel, "callback");
    let cb = offer.callback.as_ref().expect("OFFER-6: a callback offer");
    assert_eq!(
        (cb.label, cb.number.as_str(), cb.name.as_str(), cb.id.as_str()),
        ("Callback", NUMBER, "Zoé Durand", id.as_str())
    );
    assert_eq!((offer.queue.as_str(), offer.dnis.as_str()), ("support", "5000"));
    assert!(offer.offered_ms > 0, "the timer runs from the offer");
    let invite = alice_answers(&mut h, &alice);
    assert!(
        header_str(&invite, &switchboard::sip::msg::HeaderName::From).contains("Callback +33 123 456 789"),
        "alice's phone shows whom it will call"
    );
    assert!(
        body_str(&invite).contains("m=audio "),
        "the switch's own offer to the agent"
    );
    h.expect_request(alice.addr, "ACK");
    let trunk = sock(TRUNK);
    let customer = h.expect_request(trunk, "INVITE");
    assert!(
        first_line(&customer).starts_with(&format!("INVITE sip:{DIALLED}@")),
        "{}",
        first_line(&customer)
    );
    assert!(
        body_str(&customer).contains("m=audio "),
        "the switch's offer to the customer"
    );
    let dial_at = h
        .trace
        .iter()
        .position(|t| *t == format!("callback {id} dialing"))
        .expect("the dialling step");
    let invite_at = h
        .trace
        .iter()
        .position(|t| t.starts_with(&format!("INVITE sip:{DIALLED}@")))
        .expect("the customer's INVITE");
    assert!(dial_at < invite_at, "CB-8: written before the INVITE: {:?}", h.trace);
    assert_eq!(state(&mut h, &id), ("dialing".into(), 1));
    assert!(
        h.desk
            .iter()
            .any(|e| matches!(e, DeskEvent::Connected { interaction, .. } if interaction.channel == "callback")),
        "the agent's desktop says what it handles"
    );
    let mut carrier = Ua::trunk(TRUNK);
    h.send(&carrier, &response(&customer, 180, "Ringing", Some("cust"), &[], None));
    h.send(
        &carrier,
        &response(
            &customer,
            200,
            "OK",
            Some("cust"),
            &[("Contact", "<sip:33123456789@127.0.0.1:5090>")],
            Some(("application/sdp", &sdp("127.0.0.1", 42000))),
        ),
    );
    h.expect_request(trunk, "ACK");
    assert_eq!(state(&mut h, &id).0, "done");
    let events: Vec<String> = callback_events(&h).into_iter().map(|e| e.0).collect();
    assert_eq!(events, ["dialing", "answered"]);
    // The customer hangs up: alice's phone gets BYE and she wraps up.
    let mut dlg = carrier.dialog_from_invite(&customer, "cust");
    let bye = carrier.in_dialog(&mut dlg, "BYE");
    h.send(&carrier, &bye.text());
    h.expect_response(trunk, 200);
    h.expect_request(alice.addr, "BYE");
    assert!(
        h.desk.iter().any(|e| matches!(e, DeskEvent::WrapUp { .. })),
        "alice wraps up"
    );
}

/// spec: CB-6 — the customer does not answer: alice is hung up (and wraps
/// up), the callback goes back to its queue `retry_after_s` later with
/// one try counted, and is offered again then.
#[test]
fn no_answer_sends_the_callback_back_to_its_queue_later() {
    let (mut h, alice) = switch(None);
    let id = web_callback(&mut h, "support");
    h.advance(Duration::from_millis(1));
    alice_answers(&mut h, &alice);
    let customer = customer_rings(&mut h);
    // 30 s of ringing ([callbacks] ring_s): CANCEL, and the try ends.
    h.advance(Duration::from_secs(30));
    h.expect_request(sock(TRUNK), "CANCEL");
    h.send(
        &Ua::trunk(TRUNK),
        &response(&customer, 487, "Request Terminated", Some("c"), &[], None),
    );
    h.expect_request(alice.addr, "BYE");
    assert_eq!(state(&mut h, &id), ("pending".into(), 1));
    assert!(callback_events(&h).iter().any(|e| e.0 == "unanswered"));
    h.clear_wire();
    // Wrap-up (60 s) ends, then the retry (300 s) comes due: offered again.
    h.advance(Duration::from_secs(299));
    assert_eq!(state(&mut h, &id).0, "pending");
    h.advance(Duration::from_secs(2));
    assert_eq!(state(&mut h, &id).0, "offered");
    h.expect_request(alice.addr, "INVITE");
}

/// spec: CB-6 — the agent ends the callback from the desktop while the
/// customer's phone rings: the INVITE is CANCELled, alice's phone hung up,
/// the callback `cancelled`, and wrap-up follows.
#[test]
fn the_agent_cancels_before_the_customer_answers() {
    let (mut h, alice) = switch(None);
    let id = web_callback(&mut h, "support");
    h.advance(Duration::from_millis(1));
    alice_answers(&mut h, &alice);
    customer_rings(&mut h);
    let uid = offers(&h).pop().expect("offer").interaction;
    desk(&mut h, ALICE, DeskCommand::End { interaction: uid }).expect("End cancels the callback");
    h.expect_request(sock(TRUNK), "CANCEL");
    h.expect_request(alice.addr, "BYE");
    assert_eq!(state(&mut h, &id).0, "cancelled");
    assert!(h.desk.iter().any(|e| matches!(e, DeskEvent::WrapUp { .. })));
    assert!(callback_events(&h).iter().any(|e| e.0 == "cancelled"));
}

/// spec: CB-7 — with `max_concurrent_calls = 1` and a call up, the agent
/// connected to a callback waits (the desktop shows
/// `concurrent_call_limit`) and the customer is dialled when that call ends.
#[test]
fn the_concurrent_call_limit_holds_the_dial_until_a_call_ends() {
    let (mut h, alice, mut bob, mut bob_dlg) = limit_reached();
    h.clear_wire();
    let id = web_callback(&mut h, "support");
    h.advance(Duration::from_millis(1));
    alice_answers(&mut h, &alice);
    assert_eq!(
        callback_events(&h),
        [("held".to_string(), Some("concurrent_call_limit"))],
        "held with the reason code"
    );
    assert_eq!(
        h.count(sock(TRUNK), |m| m.method().is_some()),
        0,
        "the customer is not dialled"
    );
    assert_eq!(state(&mut h, &id).0, "offered");
    // Bob hangs up: the slot frees and the customer is dialled.
    let bye = bob.in_dialog(&mut bob_dlg, "BYE");
    h.send(&bob, &bye.text());
    h.advance(Duration::from_secs(5));
    // One INVITE transaction (UDP retransmissions aside), to the customer.
    let mut invites: Vec<(String, String)> = h
        .take(sock(TRUNK))
        .iter()
        .filter(|m| m.method().is_some_and(|x| x.as_bytes() == b"INVITE"))
        .map(|m| (first_line(m), header_str(m, &switchboard::sip::msg::HeaderName::CallId)))
        .collect();
    invites.dedup();
    assert_eq!(invites.len(), 1, "{invites:?}");
    assert!(invites[0].0.contains(DIALLED));
    assert_eq!(state(&mut h, &id).0, "dialing");
}

/// spec: CB-8 — a restart with the callback `dialing` (the customer's
/// phone may have rung) makes it `interrupted` and never dials it again by
/// itself; one that was only `offered` is placed again.
#[test]
fn a_restart_never_dials_a_callback_twice() {
    let (mut h, alice) = switch(None);
    let dialled = web_callback(&mut h, "support");
    let queued = web_callback(&mut h, "sales");
    h.advance(Duration::from_millis(1));
    alice_answers(&mut h, &alice);
    h.expect_request(sock(TRUNK), "INVITE");
    assert_eq!(state(&mut h, &dialled).0, "dialing");
    assert_eq!(state(&mut h, &queued).0, "offered");
    // The store as the switch left it: the last record of each callback.
    let mut stored: Vec<switchboard::records::CallbackRecord> = Vec::new();
    for r in &h.acd {
        if let switchboard::records::AcdRecord::Callback(c) = r {
            stored.retain(|s| s.id != c.id);
            stored.push((**c).clone());
        }
    }
    let (mut h2, alice2) = switch(None);
    h2.engine.load_callbacks(stored);
    let now = h2.now();
    h2.engine.start(now);
    h2.input_drain();
    h2.advance(Duration::from_millis(1));
    assert_eq!(state(&mut h2, &dialled).0, "interrupted");
    assert_eq!(state(&mut h2, &queued).0, "offered", "placed again");
    // Carol serves sales; alice is offered nothing from support again.
    let offered: Vec<String> = offers(&h2)
        .iter()
        .filter_map(|o| o.callback.as_ref().map(|c| c.id.clone()))
        .collect();
    assert!(!offered.contains(&dialled), "{offered:?}");
    h2.advance(Duration::from_secs(600));
    assert_eq!(
        h2.count(sock(TRUNK), |m| first_line(m).contains(DIALLED)),
        0,
        "nobody dials the interrupted callback"
    );
    let _ = alice2;
    // A supervisor sends it back: due at once.
    let now = h2.now();
    h2.engine
        .callbacks(
            now,
            &Requester::Supervisor("sam".into()),
            CallbackCommand::Retry { id: dialled.clone() },
        )
        .expect("retried");
    h2.input_drain();
    assert_eq!(state(&mut h2, &dialled).0, "pending");
}

/// RFC 3339 of the harness's unix ms `ms`.
fn rfc3339(ms: u64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64).expect("ms").to_string()
}

/// spec: CB-5 — a personal callback for bob comes due while alice (the
/// longest idle) and bob are available: it is bob's, and it rings bob's
/// phone, not alice's.
#[test]
fn a_personal_callback_goes_to_its_agent() {
    let (mut h, alice) = switch(None);
    let mut bob = Ua::phone("1002", "192.0.2.22");
    h.register(&mut bob, 3600);
    h.advance(Duration::from_secs(1));
    login(&mut h, crate::queue::BOB);
    let now = h.now();
    let start = now.unix_ms + 31 * 60 * 1000;
    let reply = h
        .engine
        .callbacks(
            now,
            &Requester::Supervisor("sam".into()),
            CallbackCommand::Create(Box::new(CreateRequest {
                kind: CallbackKind::Personal,
                number: NUMBER.into(),
                name: "Zoé Durand".into(),
                queue: "support".into(),
                zone: Some("UTC".into()),
                window: Some((rfc3339(start), rfc3339(start + 3600 * 1000))),
                reason: String::new(),
                agent: Some(switchboard::engine::AssignAsked::Agent("bob".into())),
                idempotency: None,
            })),
        )
        .expect("created");
    h.input_drain();
    let CallbackReply::Created { callback, .. } = reply else {
        panic!("created")
    };
    h.advance(Duration::from_secs(30 * 60));
    assert_eq!(state(&mut h, &callback.id).0, "pending", "not before its window");
    h.advance(Duration::from_secs(61));
    assert_eq!(state(&mut h, &callback.id).0, "offered");
    h.expect_request(bob.addr, "INVITE");
    assert_eq!(h.count(alice.addr, |m| m.method().is_some()), 0, "alice is not rung");
    let offered_to: Vec<String> = h
        .desk
        .iter()
        .filter_map(|e| match e {
            DeskEvent::Offer { agent, .. } => Some(agent.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(offered_to, ["bob"]);
}

/// `max_concurrent_calls = 1` and bob's call out through the trunk up:
/// the switch, alice's phone, bob's phone and his dialog.
fn limit_reached() -> (Harness, Ua, Ua, Dlg) {
    let acd = embedded_acd().replace("[callbacks]\n", "[callbacks]\nmax_concurrent_calls = 1\n");
    let (mut h, alice) = switch(Some(&acd));
    // Bob's phone calls out through the trunk; the carrier answers.
    let mut bob = Ua::phone("1002", "192.0.2.22");
    h.register(&mut bob, 3600);
    let out = h.place_call(&mut bob, "0612345678");
    let leg = h.expect_request(sock(TRUNK), "INVITE");
    h.send(
        &Ua::trunk(TRUNK),
        &response(
            &leg,
            200,
            "OK",
            Some("far"),
            &[("Contact", "<sip:0612345678@127.0.0.1:5090>")],
            Some(("application/sdp", &sdp("127.0.0.1", 43000))),
        ),
    );
    let ok = h.expect_response(bob.addr, 200);
    let bob_dlg = bob.dialog_from_2xx(&out, &ok);
    let ack = bob.ack_2xx(&bob_dlg, out.cseq);
    h.send(&bob, &ack.text());
    (h, alice, bob, bob_dlg)
}

/// spec: CB-6, CB-7 — the agent held by the limit ends it: cancelled
/// (never dialled later), wrap-up follows.
#[test]
fn ending_a_held_callback_cancels_it() {
    let (mut h, alice, _bob, _dlg) = limit_reached();
    h.clear_wire();
    let id = web_callback(&mut h, "support");
    h.advance(Duration::from_millis(1));
    alice_answers(&mut h, &alice);
    assert_eq!(
        callback_events(&h),
        [("held".to_string(), Some("concurrent_call_limit"))]
    );
    let uid = offers(&h).pop().expect("offer").interaction;
    desk(&mut h, ALICE, DeskCommand::End { interaction: uid }).expect("End");
    h.expect_request(alice.addr, "BYE");
    assert_eq!(state(&mut h, &id).0, "cancelled");
    assert!(h.desk.iter().any(|e| matches!(e, DeskEvent::WrapUp { .. })));
}
