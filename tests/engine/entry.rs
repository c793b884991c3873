//! Entry points wired into the engine (issue 14 item 1), in virtual time
//! with simulated phones: a caller dials 5100, hears the flow's prompts in
//! early media (the 183 repeated every minute, RFC 3261 §13.3.1.1), keys a
//! menu choice (RFC 4733, told by the media session) and lands in the
//! chosen queue, where an agent's answer is the first 200 (answer
//! supervision); the call's route is then the queue's.

use crate::queue::{login, ok_from, ALICE};
use crate::sim::*;
use std::time::Duration;
use switchboard::call::media::{AfterPrompt, MediaCommand, MediaLeg};
use switchboard::engine::desk::DeskEvent;
use switchboard::engine::Input;

const FLOW: &str = r#"
[[schedule]]
name = "always"
zone = "UTC"
monday = ["00:00-24:00"]
tuesday = ["00:00-24:00"]
wednesday = ["00:00-24:00"]
thursday = ["00:00-24:00"]
friday = ["00:00-24:00"]
saturday = ["00:00-24:00"]
sunday = ["00:00-24:00"]

[[entry_point]]
name = "main"

[[entry_point.step]]
name = "hours"
kind = "hours"
schedule = "always"
open = "menu"
closed = "bye"

[[entry_point.step]]
name = "menu"
kind = "menu"
prompt = "welcome"
choices = { "1" = "support" }
otherwise = "bye"
timeout_s = 60
retries = 1

[[entry_point.step]]
name = "support"
kind = "queue"
queue = "support"
priority = 7

[[entry_point.step]]
name = "bye"
kind = "hangup"
"#;

/// The prompts sent to the caller's leg so far: (samples, what follows).
fn prompts(h: &Harness) -> Vec<(usize, AfterPrompt)> {
    h.media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Prompt {
                leg: MediaLeg::A,
                samples,
                then,
                ..
            } => Some((samples.len(), *then)),
            _ => None,
        })
        .collect()
}

/// A switch running [`FLOW`] with alice (1001) registered and logged in,
/// and a customer (1000) who dialled 5100 and got the 183: the harness,
/// the customer, alice's phone and the 183.
fn caller_in_menu() -> (Harness, Ua, Ua, switchboard::sip::msg::Message) {
    let mut h = Harness::with_files(&[("entrypoints.toml", FLOW)]);
    let mut customer = Ua::phone("1000", "192.0.2.10");
    let mut alice = Ua::phone("1001", "192.0.2.21");
    h.register(&mut alice, 3600);
    login(&mut h, ALICE);
    h.place_call(&mut customer, "5100");
    let progress = h.expect_response(customer.addr, 183);
    (h, customer, alice, progress)
}

/// The media session the caller's prompts went to (its call number).
fn media_session(h: &Harness) -> u64 {
    h.media
        .iter()
        .find_map(|m| match m {
            MediaCommand::Prompt { call, .. } => Some(*call),
            _ => None,
        })
        .expect("the call's media session")
}

/// The first offer a desktop was sent.
fn first_offer(h: &Harness) -> switchboard::engine::desk::OfferView {
    h.desk
        .iter()
        .find_map(|e| match e {
            DeskEvent::Offer { offer, .. } => Some(offer.clone()),
            _ => None,
        })
        .expect("an offer")
}

#[test]
fn a_menu_key_queues_the_caller_and_only_the_agents_answer_answers_it() {
    let (mut h, customer, alice, progress) = caller_in_menu();
    assert!(body_str(&progress).contains("m=audio "), "the 183 carries our answer");
    let welcome = switchboard::media::prompts::embedded_samples("welcome")
        .expect("welcome")
        .len();
    assert_eq!(
        prompts(&h),
        [(welcome, AfterPrompt::Silence)],
        "the menu plays, silence after"
    );
    let call = media_session(&h);
    // Nobody rings while the caller is in the menu; the 183 comes again a minute on.
    h.advance(Duration::from_secs(59));
    h.assert_silent(alice.addr);
    h.take(customer.addr);
    h.advance(Duration::from_secs(1));
    h.expect_response(customer.addr, 183);
    // Key 1 (RFC 4733 on the caller's leg) while the menu waits for it
    // (its prompt ended long ago: nothing to cut short): the queue's
    // music starts, alice's phone rings.
    h.input(Input::Digit {
        session: call,
        leg: MediaLeg::A,
        digit: '1',
    });
    let after: Vec<_> = prompts(&h).into_iter().skip(1).collect();
    assert_eq!(after, [(0, AfterPrompt::Music)], "music, no prompt cut");
    let invite = h.expect_request(alice.addr, "INVITE");
    let offer = first_offer(&h);
    assert_eq!(offer.queue, "support");
    assert_eq!(
        h.count(customer.addr, |m| m.status().is_some_and(|s| s.as_u16() == 200)),
        0,
        "not answered before the agent"
    );
    h.send(&alice, &ok_from(&alice, &invite, "alicetag", 52000));
    h.expect_response(customer.addr, 200);
    let cdr_route = h.engine.calls_snapshot().first().map(|c| c.route.clone());
    assert_eq!(cdr_route.as_deref(), Some("queue:support"));
    // `/metrics`: one caller entered `main` and left it for a queue.
    let counts = h.engine.entry_point_counts();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].name.as_str(), counts[0].entered), ("main", 1));
    assert_eq!(counts[0].exits, [("queue", 1)]);
}

/// `/metrics` counts a caller who hangs up in the middle of the menu as
/// `caller_left`.
#[test]
fn a_caller_who_hangs_up_in_the_menu_is_counted_as_gone() {
    let mut h = Harness::with_files(&[("entrypoints.toml", FLOW)]);
    let mut customer = Ua::phone("1000", "192.0.2.10");
    let out = h.place_call(&mut customer, "5100");
    h.expect_response(customer.addr, 183);
    let cancel = customer.cancel(&out);
    h.send(&customer, &cancel.text());
    h.expect_response_to(customer.addr, 487, "INVITE");
    let counts = h.engine.entry_point_counts();
    assert_eq!(
        (counts[0].entered, counts[0].exits.clone()),
        (1, vec![("caller_left", 1)])
    );
}

/// Issue 14 item 1 — a reload (SIGHUP) changes the flows for the next
/// callers only: a caller in the middle of the old menu goes on walking it
/// (its steps are the old file's), so `1` still leads to support although
/// the new file's menu (in another order) sends `1` to sales.
#[test]
fn a_caller_mid_flow_keeps_walking_the_flow_it_started_in_after_a_reload() {
    let (mut h, _customer, alice, _) = caller_in_menu();
    let call = media_session(&h);
    let edited = r#"
[[entry_point]]
name = "main"

[[entry_point.step]]
name = "menu"
kind = "menu"
prompt = "welcome"
choices = { "1" = "sales" }
otherwise = "sales"

[[entry_point.step]]
name = "sales"
kind = "queue"
queue = "sales"
"#;
    let cfg = config_with_files(&[("entrypoints.toml", edited)]);
    h.engine.reload(std::sync::Arc::new(cfg));
    // The old menu's prompt ends and its wait for a key begins.
    h.advance(Duration::from_secs(20));
    h.input(Input::Digit {
        session: call,
        leg: MediaLeg::A,
        digit: '1',
    });
    h.expect_request(alice.addr, "INVITE");
    let offer = first_offer(&h);
    assert_eq!(offer.queue, "support", "the old flow's choice");
}

/// Issue 14 item 1 — a queue step with `min_skill = 6`: alice (support
/// skill 5, the longest idle) is passed over, bob (7) is offered the caller.
#[test]
fn a_queue_step_with_a_skill_level_offers_only_agents_who_have_it() {
    let flow = FLOW.replace("priority = 7\n", "priority = 7\nmin_skill = 6\n");
    let mut h = Harness::with_files(&[("entrypoints.toml", flow.as_str())]);
    let mut customer = Ua::phone("1000", "192.0.2.10");
    let mut alice = Ua::phone("1001", "192.0.2.21");
    let mut bob = Ua::phone("1002", "192.0.2.22");
    h.register(&mut alice, 3600);
    h.register(&mut bob, 3600);
    crate::queue::alice_then_bob(&mut h);
    h.place_call(&mut customer, "5100");
    h.expect_response(customer.addr, 183);
    let call = media_session(&h);
    h.input(Input::Digit {
        session: call,
        leg: MediaLeg::A,
        digit: '1',
    });
    h.expect_request(bob.addr, "INVITE");
    assert_eq!(
        h.count(alice.addr, |m| m.method().is_some()),
        0,
        "alice (skill 5) is not offered it"
    );
}
