//! REFER in the call core, in virtual time (RFC 3515, RFC 5589 §6 blind
//! transfer by a phone): 202 and the NOTIFY sequence to the referrer, the
//! transferee held while the target rings, the referrer hung up when the
//! target answers, back together when it fails, and the referrer that
//! hangs up early.

use crate::harness::{self, sdp, CallHarness, CALLER};
use crate::{answered, B1};
use switchboard::call::media::{MediaCommand, MediaLeg, PartyMode};
use switchboard::call::{CallEvent, PartyTarget, Phase, Side};
use switchboard::sip::msg::{Message, StatusCode, Uri};

const CAROL: &str = "127.0.0.1:7302";

fn header(m: &Message, name: &str) -> String {
    m.headers
        .iter()
        .find(|x| x.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
        .map(|x| String::from_utf8_lossy(&x.value).into_owned())
        .unwrap_or_default()
}

/// The callee (B1) sends REFER in its dialog with `refer_to`.
fn callee_refers(h: &mut CallHarness, refer_to: &str, cseq: u32) {
    let inv = h.invite_to(B1);
    let contact = header(&inv, "contact");
    let ruri = contact
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_owned();
    let text = format!(
        "REFER {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {B1};branch=z9hG4bKref{cseq}\r\nMax-Forwards: 70\r\n\
         From: {};tag=b1\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} REFER\r\nRefer-To: {refer_to}\r\n\
         Referred-By: <sip:1001@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
        header(&inv, "to"),
        header(&inv, "from"),
        header(&inv, "call-id"),
    );
    h.deliver(&text, B1);
}

/// A message's first line as on the wire (`SIP/2.0 202 Accepted`, `BYE ...`).
fn line(m: &Message) -> String {
    match &m.start {
        switchboard::sip::msg::StartLine::Response { code, reason } => {
            format!("SIP/2.0 {} {}", code.as_u16(), String::from_utf8_lossy(reason))
        }
        _ => harness::first_line(m),
    }
}

/// What the switch sent to `to`, whole.
fn sent_to(h: &CallHarness, to: &str) -> Vec<Message> {
    h.wire
        .iter()
        .filter(|s| s.to == harness::sock(to))
        .map(|s| s.msg.clone())
        .collect()
}

/// The sipfrag status lines of the NOTIFYs sent to `to`, with their
/// Subscription-State.
fn notifies(h: &CallHarness, to: &str) -> Vec<(String, String)> {
    sent_to(h, to)
        .iter()
        .filter(|m| harness::first_line(m).starts_with("NOTIFY"))
        .map(|m| {
            assert_eq!(header(m, "event"), "refer");
            assert!(header(m, "content-type").starts_with("message/sipfrag"));
            let body = String::from_utf8_lossy(&m.body).trim().to_owned();
            let state = header(m, "subscription-state");
            (body, state.split(';').next().unwrap_or_default().to_owned())
        })
        .collect()
}

fn target() -> PartyTarget {
    PartyTarget {
        extension: "1003".into(),
        uri: Uri::parse(&bytes::Bytes::from(format!("sip:1003@{CAROL}"))).expect("uri"),
        interaction: String::new(),
        ..harness::party_target(CAROL, None, "Transfer from 1001")
    }
}

fn modes(h: &CallHarness) -> Vec<(MediaLeg, PartyMode)> {
    harness::last_modes(h)
}

/// The callee refers the caller to 1003 and the engine accepts it.
fn referred() -> CallHarness {
    let mut h = answered();
    callee_refers(&mut h, "<sip:1003@127.0.0.1>", 1);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, CallEvent::ReferRequested { side: Side::B(0), number, .. } if number == "1003")),
        "{:?}",
        h.events
    );
    assert!(h.take_to_is_empty(B1), "no answer before the engine's decision");
    h.with(|c, ctx| c.accept_refer(ctx, target()));
    h
}

// spec: RFC 3515 §2.4.2, §2.4.4
#[test]
fn a_refer_is_accepted_the_target_rings_and_its_answer_completes_the_transfer() {
    let mut h = referred();
    let to_b1: Vec<String> = sent_to(&h, B1).iter().map(line).collect();
    assert_eq!(
        to_b1.first().map(String::as_str),
        Some("SIP/2.0 202 Accepted"),
        "{to_b1:?}"
    );
    assert_eq!(notifies(&h, B1), vec![("SIP/2.0 100 Trying".into(), "active".into())]);
    assert_eq!(
        modes(&h),
        vec![
            (MediaLeg::A, PartyMode::Held),
            (MediaLeg::B, PartyMode::Talk),
            (MediaLeg::Party(1), PartyMode::Talk)
        ],
        "the caller waits with music"
    );
    assert!(h.take_to_is_empty(CALLER), "the caller's dialog is untouched");
    let inv = h.invite_to(CAROL);
    h.wire.clear();
    h.respond(CAROL, &inv, 180, "c1", "");
    assert_eq!(notifies(&h, B1), vec![("SIP/2.0 180 Ringing".into(), "active".into())]);
    h.wire.clear();
    h.respond(CAROL, &inv, 200, "c1", &sdp(7306));
    assert_eq!(notifies(&h, B1), vec![("SIP/2.0 200 OK".into(), "terminated".into())]);
    let lines: Vec<String> = sent_to(&h, B1).iter().map(harness::first_line).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("BYE")),
        "the referrer is hung up: {lines:?}"
    );
    let notify_at = lines.iter().position(|l| l.starts_with("NOTIFY"));
    let bye_at = lines.iter().position(|l| l.starts_with("BYE"));
    assert!(notify_at < bye_at, "the final NOTIFY before the BYE: {lines:?}");
    assert_eq!(
        modes(&h),
        vec![(MediaLeg::A, PartyMode::Talk), (MediaLeg::Party(1), PartyMode::Talk)],
        "the caller talks with 1003"
    );
    assert!(h.take_to_is_empty(CALLER));
    assert_eq!(h.call.as_ref().map(|c| c.phase), Some(Phase::Answered));
}

// spec: RFC 3515 §2.4.5
#[test]
fn a_target_that_fails_is_reported_and_the_parties_are_back_together() {
    let mut h = referred();
    let inv = h.invite_to(CAROL);
    h.wire.clear();
    h.respond(CAROL, &inv, 486, "c1", "");
    assert_eq!(
        notifies(&h, B1),
        vec![("SIP/2.0 486 Busy Here".into(), "terminated".into())]
    );
    assert!(!sent_to(&h, B1)
        .iter()
        .any(|m| harness::first_line(m).starts_with("BYE")));
    assert_eq!(
        modes(&h),
        vec![(MediaLeg::A, PartyMode::Talk), (MediaLeg::B, PartyMode::Talk)],
        "the caller is back with the referrer"
    );
    // A second REFER is possible now.
    h.wire.clear();
    callee_refers(&mut h, "<sip:1004@127.0.0.1>", 2);
    h.with(|c, ctx| c.refuse_refer(ctx, StatusCode::FORBIDDEN, "Transfer Target Not Allowed"));
    assert_eq!(
        sent_to(&h, B1).iter().map(line).collect::<Vec<_>>(),
        vec!["SIP/2.0 403 Transfer Target Not Allowed"]
    );
}

// spec: RFC 5589 §6
#[test]
fn a_referrer_that_hangs_up_at_once_does_not_stop_the_transfer() {
    let mut h = referred();
    let inv = h.invite_to(CAROL);
    let b_inv = h.invite_to(B1);
    let bye = format!(
        "BYE sip:switch@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {B1};branch=z9hG4bKbye9\r\nMax-Forwards: 70\r\n\
         From: {};tag=b1\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n",
        header(&b_inv, "to"),
        header(&b_inv, "from"),
        header(&b_inv, "call-id"),
    );
    h.wire.clear();
    h.deliver(&bye, B1);
    assert_eq!(h.take_to(B1), vec!["200"]);
    assert!(h.take_to_is_empty(CALLER), "the caller keeps waiting");
    assert_eq!(h.call.as_ref().map(|c| c.phase), Some(Phase::Answered));
    h.respond(CAROL, &inv, 200, "c1", &sdp(7306));
    assert!(notifies(&h, B1).is_empty(), "nobody to tell");
    assert_eq!(
        modes(&h),
        vec![(MediaLeg::A, PartyMode::Talk), (MediaLeg::Party(1), PartyMode::Talk)]
    );
    // Had the target failed, the call would have ended.
    let mut h = referred();
    let inv = h.invite_to(CAROL);
    h.deliver(&bye, B1);
    h.wire.clear();
    h.respond(CAROL, &inv, 480, "c1", "");
    assert!(h.take_to(CALLER).iter().any(|l| l.starts_with("BYE")));
    assert_eq!(
        h.call.as_ref().and_then(|c| c.end_cause.clone()).as_deref(),
        Some("transfer_failed")
    );
}

// spec: RFC 3515 §2.4.1
#[test]
fn a_refer_without_one_sip_refer_to_or_with_a_broken_replaces_is_refused() {
    for (refer_to, want) in [
        ("<tel:+15550100>", "SIP/2.0 400 Malformed Refer-To"),
        (
            "<sip:1003@127.0.0.1?Replaces=abc%3Bto-tag%3D1>",
            "SIP/2.0 400 Malformed Replaces In Refer-To",
        ),
    ] {
        let mut h = answered();
        callee_refers(&mut h, refer_to, 1);
        assert_eq!(
            sent_to(&h, B1).iter().map(line).collect::<Vec<_>>(),
            vec![want.to_string()],
            "{refer_to}"
        );
        assert!(!h.events.iter().any(|e| matches!(e, CallEvent::ReferRequested { .. })));
    }
}

// spec: RFC 4028 §10
/// A transfer's target is a party leg of the call: its phone's session
/// refresh (UPDATE without a body) and re-INVITE are answered, not
/// refused, so it does not hang up a transferred call.
#[test]
fn a_transfer_targets_refresh_and_reinvite_are_answered() {
    let mut h = referred();
    let inv = h.invite_to(CAROL);
    h.respond(CAROL, &inv, 200, "c1", &sdp(7306));
    let dialog_req = |method: &str, cseq: u32, extra: &str, body: &str| {
        format!(
            "{method} sip:switch@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {CAROL};branch=z9hG4bK{method}{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: {};tag=c1\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:1003@{CAROL}>\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            header(&inv, "to"),
            header(&inv, "from"),
            header(&inv, "call-id"),
            body.len()
        )
    };
    h.wire.clear();
    h.deliver(&dialog_req("UPDATE", 2, "", ""), CAROL);
    let r = sent_to(&h, CAROL);
    assert_eq!(r.iter().map(line).collect::<Vec<_>>(), vec!["SIP/2.0 200 OK"]);
    assert!(r[0].body.is_empty(), "no SDP in a 2xx to an UPDATE without one");
    h.wire.clear();
    let moved = format!("{}a=sendonly\r\n", sdp(7316));
    h.deliver(
        &dialog_req("INVITE", 3, "Content-Type: application/sdp\r\n", &moved),
        CAROL,
    );
    let r = sent_to(&h, CAROL);
    assert_eq!(r.iter().map(line).collect::<Vec<_>>(), vec!["SIP/2.0 200 OK"]);
    let body = String::from_utf8_lossy(&r[0].body).into_owned();
    assert!(body.contains("m=audio"), "our answer: {body}");
    assert!(h.media.iter().any(|m| matches!(
        m,
        MediaCommand::Update { leg: MediaLeg::Party(1), remote: Some(r), .. } if r.port() == 7316
    )));
}

// spec: RFC 3515 §2.4.2
/// A call transferred once by REFER can be transferred again: the target
/// (now a party talking with the caller) REFERs it on.
#[test]
fn the_target_of_a_transfer_may_transfer_the_call_again() {
    const DAVE: &str = "127.0.0.1:7303";
    let mut h = referred();
    let inv = h.invite_to(CAROL);
    h.respond(CAROL, &inv, 200, "c1", &sdp(7306));
    h.events.clear();
    h.wire.clear();
    let refer = format!(
        "REFER sip:switch@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {CAROL};branch=z9hG4bKcref\r\nMax-Forwards: 70\r\n\
         From: {};tag=c1\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 2 REFER\r\nRefer-To: <sip:1004@127.0.0.1>\r\n\
         Content-Length: 0\r\n\r\n",
        header(&inv, "to"),
        header(&inv, "from"),
        header(&inv, "call-id"),
    );
    h.deliver(&refer, CAROL);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, CallEvent::ReferRequested { side: Side::B(1), number, .. } if number == "1004")),
        "{:?} {:?}",
        h.events,
        sent_to(&h, CAROL).iter().map(line).collect::<Vec<_>>()
    );
    let dave = PartyTarget {
        uri: Uri::parse(&bytes::Bytes::from(format!("sip:1004@{DAVE}"))).expect("uri"),
        dest: harness::dest(DAVE),
        extension: "1004".into(),
        ..target()
    };
    h.with(|c, ctx| c.accept_refer(ctx, dave));
    assert_eq!(
        sent_to(&h, CAROL).iter().map(line).next().as_deref(),
        Some("SIP/2.0 202 Accepted")
    );
    let d_inv = h.invite_to(DAVE);
    h.respond(DAVE, &d_inv, 200, "d1", &sdp(7308));
    assert!(
        sent_to(&h, CAROL).iter().any(|m| line(m).starts_with("BYE")),
        "carol is hung up"
    );
    assert_eq!(
        modes(&h),
        vec![(MediaLeg::A, PartyMode::Talk), (MediaLeg::Party(2), PartyMode::Talk)],
        "the caller talks with 1004"
    );
}
