//! The ACD wired into the engine (issue 4 items 2–4), in virtual time with
//! simulated phones: a caller dials a queue (the embedded `acd.toml`:
//! `support` on 5000, manual accept, RONA 15 s; `sales` on 5001, auto
//! accept), hears early media, an agent logged in from the desktop API gets
//! an offer on its desk and its phone rings, the answer connects the caller.

use crate::sim::*;
use std::time::Duration;
use switchboard::call::media::{MediaCommand, MediaLeg};
use switchboard::config::{embedded_sources, load_from_sources};
use switchboard::engine::desk::{DeskCommand, DeskError, DeskEvent, DeskReply, DeskState};
use switchboard::sip::msg::Message;

pub(crate) const ALICE: &str = "demo-token-alice";
pub(crate) const BOB: &str = "demo-token-bob-0";

pub(crate) fn desk(h: &mut Harness, token: &str, cmd: DeskCommand) -> Result<DeskReply, DeskError> {
    let now = h.now();
    let r = h.engine.desk(now, token, cmd);
    h.input_drain();
    r
}

/// The embedded `acd.toml`, for a test to change.
pub(crate) fn embedded_acd() -> String {
    switchboard::config::embedded_sources()
        .iter()
        .find(|(n, _)| n.rsplit('/').next() == Some("acd.toml"))
        .map(|(_, t)| t.to_string())
        .expect("acd.toml")
}

/// [`contact_center`] with `acd` as `acd.toml`.
pub(crate) fn contact_center_with(acd: &str) -> (Harness, Ua, Ua, Ua) {
    let mut h = Harness::with_files(&[("acd.toml", acd)]);
    let customer = Ua::phone("1000", "192.0.2.10");
    let mut alice = Ua::phone("1001", "192.0.2.21");
    let mut bob = Ua::phone("1002", "192.0.2.22");
    h.register(&mut alice, 3600);
    h.register(&mut bob, 3600);
    (h, customer, alice, bob)
}

/// A switch with alice (1001) and bob (1002) registered, a customer phone
/// (1000) to call from.
pub(crate) fn contact_center() -> (Harness, Ua, Ua, Ua) {
    let mut h = Harness::new();
    let customer = Ua::phone("1000", "192.0.2.10");
    let mut alice = Ua::phone("1001", "192.0.2.21");
    let mut bob = Ua::phone("1002", "192.0.2.22");
    h.register(&mut alice, 3600);
    h.register(&mut bob, 3600);
    (h, customer, alice, bob)
}

pub(crate) fn login(h: &mut Harness, token: &str) {
    desk(h, token, DeskCommand::Login { state: None }).expect("login");
}

pub(crate) fn ok_from(phone: &Ua, invite: &Message, tag: &str, port: u16) -> String {
    let answer = sdp(&phone.addr.ip().to_string(), port);
    response(
        invite,
        200,
        "OK",
        Some(tag),
        &[("Contact", &phone.contact())],
        Some(("application/sdp", &answer)),
    )
}

/// alice then bob log in, a second apart: alice is the longest idle.
pub(crate) fn alice_then_bob(h: &mut Harness) {
    login(h, ALICE);
    h.advance(Duration::from_secs(1));
    login(h, BOB);
}

/// The agent's phone answers the offer's `invite` with tag `alicetag`, the
/// customer gets its 200 and ACKs: the customer's dialog.
pub(crate) fn answer_offer(h: &mut Harness, customer: &mut Ua, out: &Outgoing, agent: &Ua, invite: &Message) -> Dlg {
    h.send(agent, &ok_from(agent, invite, "alicetag", 52000));
    let ok = h.expect_response(customer.addr, 200);
    let dlg = customer.dialog_from_2xx(out, &ok);
    let ack = customer.ack_2xx(&dlg, out.cseq).text();
    h.send(customer, &ack);
    dlg
}

/// The phone rings (180): a CANCEL may follow (RFC 3261 §9.1).
pub(crate) fn ring(h: &mut Harness, phone: &Ua, invite: &Message, tag: &str) {
    h.send(
        phone,
        &response(
            invite,
            180,
            "Ringing",
            Some(tag),
            &[("Contact", &phone.contact())],
            None,
        ),
    );
}

fn offers_for(h: &Harness, agent: &str) -> Vec<u64> {
    h.desk
        .iter()
        .filter_map(|e| match e {
            DeskEvent::Offer { agent: a, offer } if a == agent => Some(offer.offer),
            _ => None,
        })
        .collect()
}

/// Answer supervision and early media: the queued caller gets a 183 with
/// the switch's SDP and hears music; only the agent's answer sends the 200
/// (billing starts then, the CDR's answer time is the agent's).
#[test]
fn queued_caller_hears_music_and_is_answered_only_by_the_agent() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    login(&mut h, ALICE);
    h.desk.clear();
    h.place_call(&mut customer, "5000");
    let progress = h.expect_response(customer.addr, 183);
    assert!(body_str(&progress).contains("m=audio "), "183 carries our answer");
    assert!(
        h.media.iter().any(|m| matches!(
            m,
            MediaCommand::Hold {
                held: Some(MediaLeg::A),
                ..
            }
        )),
        "the caller hears music: {:?}",
        h.media
    );
    // spec: OFFER-1 — the desk shows the offer, the phone rings.
    let invite = h.expect_request(alice.addr, "INVITE");
    assert_eq!(
        offers_for(&h, "alice").len(),
        1,
        "one offer on alice's desk: {:?}",
        h.desk
    );
    assert_eq!(
        h.count(customer.addr, |m| m.status().is_some_and(|s| s.as_u16() == 200)),
        0
    );
    h.advance(Duration::from_secs(4));
    let answered_at = h.unix_ms();
    h.send(&alice, &ok_from(&alice, &invite, "alicetag", 52000));
    h.expect_response(customer.addr, 200);
    assert!(
        h.media
            .iter()
            .any(|m| matches!(m, MediaCommand::Hold { held: None, .. })),
        "music stops when connected"
    );
    assert!(h
        .desk
        .iter()
        .any(|e| matches!(e, DeskEvent::Connected { agent, .. } if agent == "alice")));
    let me = desk(&mut h, ALICE, DeskCommand::Me).expect("me");
    let DeskReply::Agent(view) = me else { panic!("{me:?}") };
    assert_eq!(view.state, "Busy");
    // The call's CDR bills from the agent's answer.
    let interaction = view.interaction.expect("interaction");
    desk(&mut h, ALICE, DeskCommand::End { interaction }).expect("end");
    let cdr = h.cdrs.last().expect("cdr");
    assert_eq!(cdr.answer_ms, Some(answered_at), "billed from the agent's answer");
}

/// spec: OFFER-4 — RONA: the offer rings out after the queue's 15 s, the
/// phone leg is cancelled, the agent goes `Idle(RONA)` and is told, and the
/// call goes to the next agent.
#[test]
fn rona_cancels_the_phone_and_offers_the_next_agent() {
    let (mut h, mut customer, alice, bob) = contact_center();
    alice_then_bob(&mut h);
    h.place_call(&mut customer, "5000");
    // Longest idle: alice logged in first.
    let invite = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &invite, "at");
    h.assert_silent(bob.addr);
    h.advance(Duration::from_millis(14_999));
    h.assert_silent(bob.addr);
    h.advance(Duration::from_millis(1));
    h.expect_request(alice.addr, "CANCEL");
    h.expect_request(bob.addr, "INVITE");
    assert!(h
        .desk
        .iter()
        .any(|e| matches!(e, DeskEvent::Rona { agent, .. } if agent == "alice")));
    let DeskReply::Agent(a) = desk(&mut h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    assert_eq!((a.state, a.reason.as_deref()), ("Idle", Some("RONA")));
}

/// spec: OFFER-4 — a phone that rejects (486/603) declines: the agent stays
/// `Available`, the call goes to the next agent at once.
#[test]
fn phone_reject_is_a_decline() {
    let (mut h, mut customer, alice, bob) = contact_center();
    alice_then_bob(&mut h);
    h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    h.send(&alice, &response(&invite, 603, "Decline", Some("at"), &[], None));
    h.expect_request(bob.addr, "INVITE");
    let DeskReply::Agent(a) = desk(&mut h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    assert_eq!(a.state, "Available");
}

/// spec: OFFER-4 — declining on the desktop cancels the phone leg.
#[test]
fn desktop_decline_cancels_the_phone() {
    let (mut h, mut customer, alice, bob) = contact_center();
    alice_then_bob(&mut h);
    h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &invite, "at");
    let offer = offers_for(&h, "alice")[0];
    // Bob cannot decline alice's offer.
    assert!(matches!(
        desk(&mut h, BOB, DeskCommand::Decline { offer }),
        Err(DeskError::Forbidden(_))
    ));
    desk(&mut h, ALICE, DeskCommand::Decline { offer }).expect("decline");
    h.expect_request(alice.addr, "CANCEL");
    h.expect_request(bob.addr, "INVITE");
}

/// spec: OFFER-1 — accepting on the desktop makes the phone answer by
/// itself (the ringing INVITE is replaced by an auto-answer one).
#[test]
fn desktop_accept_rings_the_phone_with_auto_answer() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    login(&mut h, ALICE);
    h.place_call(&mut customer, "5000");
    let first = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &first, "at");
    assert!(!first.to_bytes().windows(12).any(|w| w == b"answer-after"));
    let offer = offers_for(&h, "alice")[0];
    desk(&mut h, ALICE, DeskCommand::Accept { offer }).expect("accept");
    h.expect_request(alice.addr, "CANCEL");
    let second = h.expect_request(alice.addr, "INVITE");
    let text = String::from_utf8_lossy(&second.to_bytes()).into_owned();
    assert!(text.contains("answer-after=0"), "{text}");
    h.send(&alice, &ok_from(&alice, &second, "alicetag", 52000));
    h.expect_response(customer.addr, 200);
}

/// spec: OFFER-5 — "accept all" accepts every ringing offer of the agent
/// (one voice offer here) like a desktop accept; with none ringing it is
/// refused, and another agent's offers are never taken.
#[test]
fn accept_all_accepts_the_agents_ringing_offers() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    login(&mut h, ALICE);
    assert!(matches!(
        desk(&mut h, ALICE, DeskCommand::AcceptAll),
        Err(DeskError::Conflict(_))
    ));
    h.place_call(&mut customer, "5000");
    let first = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &first, "at");
    assert!(matches!(
        desk(&mut h, BOB, DeskCommand::AcceptAll),
        Err(DeskError::Conflict(_))
    ));
    desk(&mut h, ALICE, DeskCommand::AcceptAll).expect("accept all");
    h.expect_request(alice.addr, "CANCEL");
    let second = h.expect_request(alice.addr, "INVITE");
    let text = String::from_utf8_lossy(&second.to_bytes()).into_owned();
    assert!(text.contains("answer-after=0"), "{text}");
    h.send(&alice, &ok_from(&alice, &second, "alicetag", 52000));
    h.expect_response(customer.addr, 200);
}

/// spec: CALL-HOLD-1 — hold from the desktop plays music to the customer;
/// End is refused while held; after resume the call ends and the agent
/// wraps up (WRAP-1), submits (WRAP-2) and is `Available` again (WRAP-3).
#[test]
fn hold_blocks_end_then_wrap_up_returns_the_agent() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    login(&mut h, ALICE);
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    h.expect_request(alice.addr, "ACK");
    let DeskReply::Agent(a) = desk(&mut h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    let uid = a.interaction.expect("busy on an interaction");
    h.media.clear();
    desk(
        &mut h,
        ALICE,
        DeskCommand::Hold {
            interaction: uid.clone(),
        },
    )
    .expect("hold");
    assert!(h.media.iter().any(|m| matches!(
        m,
        MediaCommand::Hold {
            held: Some(MediaLeg::A),
            ..
        }
    )));
    let refused = desk(
        &mut h,
        ALICE,
        DeskCommand::End {
            interaction: uid.clone(),
        },
    );
    assert!(matches!(refused, Err(DeskError::Conflict(_))), "{refused:?}");
    // Bob may not touch alice's interaction.
    assert!(matches!(
        desk(
            &mut h,
            BOB,
            DeskCommand::Resume {
                interaction: uid.clone()
            }
        ),
        Err(DeskError::Forbidden(_))
    ));
    desk(
        &mut h,
        ALICE,
        DeskCommand::Resume {
            interaction: uid.clone(),
        },
    )
    .expect("resume");
    desk(
        &mut h,
        ALICE,
        DeskCommand::End {
            interaction: uid.clone(),
        },
    )
    .expect("end");
    h.expect_request(customer.addr, "BYE");
    h.expect_request(alice.addr, "BYE");
    let DeskReply::Agent(a) = desk(&mut h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    assert_eq!(a.state, "WrapUp");
    let bad = desk(
        &mut h,
        ALICE,
        DeskCommand::WrapUp {
            reasons: vec!["Sale".into()],
            notes: String::new(),
        },
    );
    assert!(
        matches!(bad, Err(DeskError::Invalid { ref field, .. }) if field == "reasons"),
        "{bad:?}"
    );
    let DeskReply::Agent(a) = desk(
        &mut h,
        ALICE,
        DeskCommand::WrapUp {
            reasons: vec!["Resolved".into()],
            notes: "fixed".into(),
        },
    )
    .expect("wrap-up") else {
        panic!()
    };
    assert_eq!(a.state, "Available");
}

/// The caller hangs up while an offer rings: the phone leg is cancelled,
/// the agent is `Available` again, nothing rings later.
#[test]
fn caller_gone_while_ringing_cancels_the_offer() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    login(&mut h, ALICE);
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &invite, "at");
    let cancel = customer.cancel(&out);
    h.send(&customer, &cancel.text());
    h.expect_request(alice.addr, "CANCEL");
    let DeskReply::Agent(a) = desk(&mut h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    assert_eq!(a.state, "Available");
    h.advance(Duration::from_secs(20));
    assert_eq!(
        h.count(alice.addr, |m| m.method()
            == Some(&switchboard::sip::msg::Method::INVITE)),
        0,
        "the call is not offered again"
    );
}

/// Announcements: a waiting caller (no agent logged in) is told its place
/// in line 3 s after arriving and every 30 s after (the queue's setting);
/// the 183 is repeated every minute (RFC 3261 §13.3.1.1).
#[test]
fn waiting_caller_gets_announcements_and_repeated_progress() {
    let (mut h, mut customer, _alice, _bob) = contact_center();
    h.place_call(&mut customer, "5000");
    h.expect_response(customer.addr, 183);
    h.advance(Duration::from_secs(3));
    let announced: Vec<(u32, u64)> = h
        .media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Announce { position, wait_s, .. } => Some((*position, *wait_s)),
            _ => None,
        })
        .collect();
    assert_eq!(announced.len(), 1, "{:?}", h.media);
    assert_eq!(announced[0].0, 1, "first in line");
    h.advance(Duration::from_secs(30));
    assert_eq!(
        h.media
            .iter()
            .filter(|m| matches!(m, MediaCommand::Announce { .. }))
            .count(),
        2
    );
    h.advance(Duration::from_secs(27));
    h.expect_response(customer.addr, 183);
}

/// spec: OFFER-1 — an auto-accept queue (sales, 5001) asks the agent's
/// phone to answer by itself.
#[test]
fn auto_accept_queue_sends_auto_answer() {
    let mut h = Harness::new();
    let mut customer = Ua::phone("1000", "192.0.2.10");
    let mut carol = Ua::phone("1003", "192.0.2.23");
    h.register(&mut carol, 3600);
    login(&mut h, "demo-token-carol");
    h.place_call(&mut customer, "5001");
    let invite = h.expect_request(carol.addr, "INVITE");
    let text = String::from_utf8_lossy(&invite.to_bytes()).into_owned();
    assert!(text.contains("answer-after=0"), "{text}");
    assert!(text.contains("alert-autoanswer"), "{text}");
}

/// spec: AGENT-3 — no logout while an offer rings.
#[test]
fn no_logout_while_ringing() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    login(&mut h, ALICE);
    h.place_call(&mut customer, "5000");
    h.expect_request(alice.addr, "INVITE");
    assert!(matches!(
        desk(&mut h, ALICE, DeskCommand::Logout),
        Err(DeskError::Conflict(_))
    ));
}

/// An agent whose phone is not registered cannot take the offer: it fails
/// at once (like RONA) and the call goes to the next agent.
#[test]
fn unregistered_agent_phone_fails_the_offer() {
    let mut h = Harness::new();
    let mut customer = Ua::phone("1000", "192.0.2.10");
    let mut bob = Ua::phone("1002", "192.0.2.22");
    h.register(&mut bob, 3600);
    alice_then_bob(&mut h); // alice's phone (1001) never registered
    h.place_call(&mut customer, "5000");
    h.expect_request(bob.addr, "INVITE");
    let DeskReply::Agent(a) = desk(&mut h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    assert_eq!((a.state, a.reason.as_deref()), ("Idle", Some("RONA")));
}

/// Tokens: unknown → Unauthorized; a state with an unknown reason → 400
/// naming `reason`.
#[test]
fn desk_tokens_and_reasons_are_checked() {
    let (mut h, ..) = contact_center();
    assert_eq!(
        desk(&mut h, "nope", DeskCommand::Me).unwrap_err(),
        DeskError::Unauthorized
    );
    login(&mut h, ALICE);
    let r = desk(
        &mut h,
        ALICE,
        DeskCommand::SetState {
            state: DeskState::Idle("Nap".into()),
        },
    );
    assert!(
        matches!(r, Err(DeskError::Invalid { ref field, .. }) if field == "reason"),
        "{r:?}"
    );
}

/// A SIGHUP reload with a changed acd.toml keeps the running contact
/// center (its queue and agent ids index the first config): the running
/// queues still take calls, and the reloaded dial plan's route (5001) to a
/// queue the running ACD lacks is refused with 480 instead of leaving the caller waiting.
#[test]
fn reload_keeps_the_running_contact_center() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    let acd = "\n[[queue]]\nname = \"helpdesk\"\nnumber = \"5009\"\nwrap_up_reasons = [\"Done\"]\noffer_variables = [\"caller_number\", \"dnis\", \"queue\"]\n";
    let changed: Vec<(String, String)> = embedded_sources()
        .iter()
        .map(|(name, text)| {
            let text = match name.rsplit('/').next() {
                Some("acd.toml") => format!("{text}{acd}"),
                Some("dialplan.toml") => text.replace(r#"queue = "sales""#, r#"queue = "helpdesk""#),
                _ => text.to_string(),
            };
            (name.to_string(), text)
        })
        .collect();
    let refs: Vec<(&str, &str)> = changed.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let cfg = load_from_sources(&refs).unwrap_or_else(|e| panic!("changed config: {e:?}"));
    assert!(cfg.acd().queue_by_name("helpdesk").is_some());
    h.engine.reload(std::sync::Arc::new(cfg));
    assert!(
        h.engine.config().acd().queue_by_name("helpdesk").is_none(),
        "running ACD kept"
    );
    let route = h.engine.config().dialplan().route("internal", "5001").map(|r| r.action);
    assert_eq!(
        route,
        Some(switchboard::config::Action::Queue {
            name: "helpdesk".into()
        }),
        "the dial plan reloaded"
    );
    login(&mut h, ALICE);
    let refused = h.place_call_expect_final(&mut customer, "5001", 480);
    assert_eq!(first_line(&refused), "480 Queue Not Running");
    h.place_call(&mut customer, "5000");
    h.expect_request(alice.addr, "INVITE");
}

/// spec: OFFER-3 — with the caller's number masked (sales), the agent's
/// `connected` event shows only its last 4 digits, as the offer does.
/// Regression (found by tests/e2e_acd.rs): the event carried the whole
/// number.
#[test]
fn connected_event_masks_the_caller_number() {
    let mut h = Harness::new();
    let mut carol = Ua::phone("1003", "192.0.2.23");
    h.register(&mut carol, 3600);
    login(&mut h, "demo-token-carol");
    let mut trunk = Ua::trunk("127.0.0.1:5090");
    let invite = trunk
        .req("INVITE", "sip:5001@127.0.0.1:5080")
        .from("<sip:15550123@127.0.0.1:5090>;tag=cust1")
        .sdp()
        .text();
    h.send(&trunk, &invite);
    let ringing = h.expect_request(carol.addr, "INVITE");
    h.send(&carol, &ok_from(&carol, &ringing, "caroltag", 52000));
    h.expect_response(trunk.addr, 200);
    let shown: Vec<(String, String)> = h
        .desk
        .iter()
        .filter_map(|e| match e {
            DeskEvent::Offer { offer, .. } => Some(("offer".to_string(), offer.caller.clone())),
            DeskEvent::Connected { interaction, .. } => Some(("connected".to_string(), interaction.caller.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("offer".to_string(), "****0123".to_string()),
            ("connected".to_string(), "****0123".to_string())
        ]
    );
    // CALL-CONSULT-2: the controls come with the connection, right after it.
    let after: Vec<&DeskEvent> = h
        .desk
        .iter()
        .skip_while(|e| !matches!(e, DeskEvent::Connected { .. }))
        .collect();
    assert!(
        matches!(after.get(1), Some(DeskEvent::Controls { agent, enabled, .. })
            if agent == "carol" && enabled == &["hold", "end", "consult"]),
        "{after:?}"
    );
    // The agent's list says the same controls, for a desktop that reconnects.
    let list = desk(&mut h, "demo-token-carol", DeskCommand::Interactions).expect("list");
    let DeskReply::Interactions(list) = list else {
        panic!("{list:?}")
    };
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0].controls.as_slice(), list[0].recording),
        (&["hold", "end", "consult"][..], None)
    );
    let uid = list[0].interaction.clone();
    let held = desk(&mut h, "demo-token-carol", DeskCommand::Hold { interaction: uid }).expect("hold");
    let DeskReply::Interactions(held) = held else {
        panic!("{held:?}")
    };
    assert_eq!(
        held[0].controls,
        ["resume"],
        "End is not offered while held (CALL-HOLD-1)"
    );
    // OFFER-3 on the phone: the INVITE's From shows the masked number.
    let from = header_str(&ringing, &switchboard::sip::msg::HeaderName::From);
    assert!(from.starts_with("\"****0123\" <sip:****0123@"), "{from}");
}

/// spec: OFFER-1, OFFER-3, WRAP-1 — a call that overflows from `support`
/// (nobody serves it) to `sales` is a sales call: the offer names sales,
/// masks the caller's number as sales asks, and wrap-up offers the sales
/// reasons, which the ACD accepts. Regression (found by tests/e2e_acd.rs):
/// the engine kept treating it as a support call (offer and wrap-up of the
/// wrong queue, unmasked number, support's reasons refused by the ACD).
#[test]
fn overflowed_call_belongs_to_the_new_queue() {
    let acd = embedded_acd()
        .replace("max_wait_s = 300", "max_wait_s = 2")
        .replace("skills = { sales = 9, support = 3 }", "skills = { sales = 9 }");
    let mut h = Harness::with_files(&[("acd.toml", acd.as_str())]);
    let mut carol = Ua::phone("1003", "192.0.2.23");
    h.register(&mut carol, 3600);
    login(&mut h, "demo-token-carol");
    let mut trunk = Ua::trunk("127.0.0.1:5090");
    let invite = trunk
        .req("INVITE", "sip:5000@127.0.0.1:5080")
        .from("<sip:15550123@127.0.0.1:5090>;tag=cust1")
        .sdp()
        .text();
    h.send(&trunk, &invite);
    h.expect_response(trunk.addr, 183);
    h.advance(Duration::from_secs(3));
    let ringing = h.expect_request(carol.addr, "INVITE");
    let offer = h
        .desk
        .iter()
        .find_map(|e| match e {
            DeskEvent::Offer { offer, .. } => Some(offer.clone()),
            _ => None,
        })
        .expect("an offer after the overflow");
    assert_eq!(
        (offer.queue.as_str(), offer.caller.as_str(), offer.auto_answer),
        ("sales", "****0123", true)
    );
    h.send(&carol, &ok_from(&carol, &ringing, "caroltag", 52000));
    h.expect_response(trunk.addr, 200);
    let me = desk(&mut h, "demo-token-carol", DeskCommand::Me).expect("me");
    let DeskReply::Agent(view) = me else { panic!("{me:?}") };
    let interaction = view.interaction.expect("connected");
    desk(&mut h, "demo-token-carol", DeskCommand::End { interaction }).expect("end");
    let reasons = h
        .desk
        .iter()
        .find_map(|e| match e {
            DeskEvent::WrapUp { reasons, .. } => Some(reasons.clone()),
            _ => None,
        })
        .expect("wrap-up");
    assert_eq!(reasons, ["Sale", "No sale", "Follow-up"]);
    desk(
        &mut h,
        "demo-token-carol",
        DeskCommand::WrapUp {
            reasons: vec!["Sale".into()],
            notes: String::new(),
        },
    )
    .expect("the sales reasons are accepted");
}

/// Ring-all: both agents' phones ring; when alice answers, bob's phone is
/// CANCELled and his desktop is told the offer was answered elsewhere.
#[test]
fn ring_all_answer_cancels_the_other_agents_phone() {
    let acd = embedded_acd().replacen("strategy = \"longest-idle\"", "strategy = \"ring-all\"", 1);
    let (mut h, mut customer, alice, bob) = contact_center_with(&acd);
    alice_then_bob(&mut h);
    let out = h.place_call(&mut customer, "5000");
    let to_alice = h.expect_request(alice.addr, "INVITE");
    let to_bob = h.expect_request(bob.addr, "INVITE");
    ring(&mut h, &bob, &to_bob, "bt");
    answer_offer(&mut h, &mut customer, &out, &alice, &to_alice);
    h.expect_request(bob.addr, "CANCEL");
    let cancelled: Vec<&str> = h
        .desk
        .iter()
        .filter_map(|e| match e {
            DeskEvent::OfferCancelled { agent, reason, .. } => Some((agent.as_str(), *reason)),
            _ => None,
        })
        .filter(|(a, _)| *a == "bob")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(cancelled, ["answered_elsewhere"]);
    let DeskReply::Agent(b) = desk(&mut h, BOB, DeskCommand::Me).expect("me") else {
        panic!()
    };
    assert_eq!(b.state, "Available");
}
