//! CB-1 in virtual time: a caller waiting in support (courtesy callbacks
//! after an expected wait of 60 s) is offered a callback, keys its way
//! through the prompts (RFC 4733, as the media session reports them), and
//! its call ends with `603 Callback Scheduled` while the interaction keeps
//! its place in line: the caller who came after it stays behind it, and
//! the agent who logs in is offered the callback first (OFFER-6), then
//! the switch calls the agent and the customer.

use crate::queue::{embedded_acd, login, ok_from, ALICE};
use crate::sim::*;
use std::time::Duration;
use switchboard::call::media::{MediaCommand, MediaLeg};
use switchboard::engine::desk::DeskEvent;
use switchboard::engine::Input;

fn acd() -> String {
    embedded_acd().replace(
        "announce_every_s = 30\n",
        "announce_every_s = 30\ncourtesy_callback_after_s = 60\n",
    )
}

/// The prompts played to call `call`'s caller, by length in samples.
fn prompts_to(h: &Harness, call: u64) -> Vec<usize> {
    h.media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Prompt {
                call: c,
                leg: MediaLeg::A,
                samples,
                ..
            } if *c == call => Some(samples.len()),
            _ => None,
        })
        .collect()
}

fn prompt(name: &str) -> usize {
    switchboard::media::prompts::embedded_samples(name).expect(name).len()
}

/// The media session numbers of the calls, in the order they were prepared.
fn sessions(h: &Harness) -> Vec<u64> {
    h.media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Prepare { call, .. } => Some(*call),
            _ => None,
        })
        .collect()
}

fn key(h: &mut Harness, call: u64, digit: char) {
    h.input(Input::Digit {
        session: call,
        leg: MediaLeg::A,
        digit,
    });
}

/// spec: CB-1 — the callback keeps the caller's place in line.
#[test]
fn a_courtesy_callback_keeps_the_callers_place_in_line() {
    let mut h = Harness::with_files(&[("acd.toml", acd().as_str())]);
    let mut alice = Ua::phone("1001", "192.0.2.21");
    h.register(&mut alice, 3600);
    let now = h.now();
    h.engine.start(now);
    // The first caller comes from the trunk with a number CB-3 accepts.
    let mut first = Ua::trunk(TRUNK);
    first.user = "33612345678".into();
    let ruri = format!("sip:5000@{EXTERNAL}");
    let invite = first
        .req("INVITE", &ruri)
        .call_id("first-caller")
        .from(&format!("<sip:33612345678@{}>;tag=f1", sock(TRUNK).ip()))
        .to(&format!("<sip:5000@{EXTERNAL}>"))
        .cseq(1)
        .sdp();
    h.send(&first, &invite.text());
    h.expect_response(first.addr, 183);
    // The second caller, a phone, waits behind it.
    let mut second = Ua::phone("1000", "192.0.2.10");
    h.place_call(&mut second, "5000");
    h.expect_response(second.addr, 183);
    let calls = sessions(&h);
    let (call1, call2) = (calls[0], calls[1]);
    // Expected wait 180 s (no history, nobody logged in) ≥ 60 s: offered.
    h.advance(Duration::from_secs(5));
    assert_eq!(prompts_to(&h, call1), [prompt("callback-offer")]);
    assert_eq!(prompts_to(&h, call2), [prompt("callback-offer")]);
    key(&mut h, call1, '1');
    assert_eq!(prompts_to(&h, call1).last(), Some(&prompt("callback-number")));
    // `1`: the number it calls from.
    key(&mut h, call1, '1');
    assert_eq!(prompts_to(&h, call1).last(), Some(&prompt("callback-confirmed")));
    h.advance(Duration::from_millis(prompt("callback-confirmed") as u64 / 8 + 1));
    let bye = h.expect_response(first.addr, 603);
    assert_eq!(reason_of(&bye), "Callback Scheduled");
    // The second caller keeps waiting; nobody answered it.
    h.assert_silent(second.addr);
    let list = match h
        .engine
        .callbacks(
            h.now(),
            &switchboard::engine::Requester::Admin,
            switchboard::engine::CallbackCommand::List { number: None },
        )
        .expect("listed")
    {
        switchboard::engine::CallbackReply::List(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].kind, list[0].state), ("courtesy", "offered"));
    assert_eq!(list[0].number, "33612345678");
    // Alice logs in: the callback is offered first (its place in line).
    login(&mut h, ALICE);
    let offer = h
        .desk
        .iter()
        .find_map(|e| match e {
            DeskEvent::Offer { offer, .. } => Some(offer.clone()),
            _ => None,
        })
        .expect("an offer");
    assert_eq!(offer.channel, "callback", "{offer:?}");
    assert_eq!(offer.callback.as_ref().map(|c| c.kind), Some("courtesy"));
    let ring = h.expect_request(alice.addr, "INVITE");
    h.send(&alice, &ok_from(&alice, &ring, "alice", 40000));
    h.expect_request(alice.addr, "ACK");
    let out = h.take_where(sock(TRUNK), "the customer's INVITE", |m| {
        m.method().is_some_and(|x| x.as_bytes() == b"INVITE")
    });
    assert!(
        first_line(&out).starts_with("INVITE sip:33612345678@"),
        "{}",
        first_line(&out)
    );
    h.assert_silent(second.addr);
}

fn reason_of(m: &switchboard::sip::msg::Message) -> String {
    match &m.start {
        switchboard::sip::msg::StartLine::Response { reason, .. } => String::from_utf8_lossy(reason).into_owned(),
        _ => String::new(),
    }
}

/// spec: CB-1 — a caller without a usable number keys one in (`#` ends
/// it); a number too short is refused with `invalid` and asked again.
#[test]
fn a_caller_keys_in_the_number_to_call() {
    let mut h = Harness::with_files(&[("acd.toml", acd().as_str())]);
    let mut caller = Ua::phone("1000", "192.0.2.10");
    h.place_call(&mut caller, "5000");
    h.expect_response(caller.addr, 183);
    let call = sessions(&h)[0];
    h.advance(Duration::from_secs(5));
    key(&mut h, call, '1');
    // "1000" is no number CB-3 accepts: straight to entering one.
    assert_eq!(prompts_to(&h, call).last(), Some(&prompt("enter-number")));
    for d in "12345#".chars() {
        key(&mut h, call, d);
    }
    assert_eq!(
        prompts_to(&h, call)[prompts_to(&h, call).len() - 2..],
        [prompt("invalid"), prompt("enter-number")]
    );
    for d in "0612345678#".chars() {
        key(&mut h, call, d);
    }
    assert_eq!(prompts_to(&h, call).last(), Some(&prompt("callback-confirmed")));
    h.advance(Duration::from_secs(10));
    h.expect_response(caller.addr, 603);
    let list = match h
        .engine
        .callbacks(
            h.now(),
            &switchboard::engine::Requester::Admin,
            switchboard::engine::CallbackCommand::List {
                number: Some("06 12 34 56 78".into()),
            },
        )
        .expect("listed")
    {
        switchboard::engine::CallbackReply::List(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(list.len(), 1, "{list:?}");
}

/// spec: CB-1 — an agent who answers the caller in the middle of the
/// dialogue ends it: nothing puts the caller back on music afterwards.
#[test]
fn an_agent_answering_mid_dialogue_ends_it() {
    let mut h = Harness::with_files(&[("acd.toml", acd().as_str())]);
    let mut alice = Ua::phone("1001", "192.0.2.21");
    h.register(&mut alice, 3600);
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let out = h.place_call(&mut caller, "5000");
    h.expect_response(caller.addr, 183);
    let call = sessions(&h)[0];
    h.advance(Duration::from_secs(5));
    key(&mut h, call, '1');
    assert_eq!(prompts_to(&h, call).last(), Some(&prompt("enter-number")));
    login(&mut h, ALICE);
    let ring = h.expect_request(alice.addr, "INVITE");
    h.send(&alice, &ok_from(&alice, &ring, "alice", 40000));
    let ok = h.expect_response(caller.addr, 200);
    let dlg = caller.dialog_from_2xx(&out, &ok);
    let ack = caller.ack_2xx(&dlg, out.cseq);
    h.send(&caller, &ack.text());
    h.media.clear();
    h.advance(Duration::from_secs(60));
    assert!(
        !h.media.iter().any(|m| matches!(m, MediaCommand::Close { .. })),
        "the call goes on: {:?}",
        h.media
    );
    let held: Vec<&MediaCommand> = h
        .media
        .iter()
        .filter(|m| matches!(m, MediaCommand::Hold { held: Some(_), .. }))
        .collect();
    assert!(held.is_empty(), "the caller talks with alice, no music: {held:?}");
}
