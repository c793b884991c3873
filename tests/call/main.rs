//! The call core alone, in virtual time (no engine, no sockets): forking,
//! the ACD's say on an answer, best failure, timers, in-dialog traffic, the
//! monitor leg and recording control.

mod consult;
mod dial;
mod harness;
mod prack;
mod refer;
mod session_timer;
mod transfer;

use harness::{first_line, sdp, CallHarness, CALLER};
use std::time::Duration;
use switchboard::call::media::{MediaCommand, RecordAction};
use switchboard::call::{CallControl, CallEvent, CallTimer, MonitorRequest, Phase};
use switchboard::sip::msg::Uri;

const B1: &str = "127.0.0.1:7101";
const B2: &str = "127.0.0.1:7102";
const SUPERVISOR: &str = "127.0.0.1:7201";

/// Our To tag towards the caller.
fn our_tag(h: &CallHarness) -> String {
    String::from_utf8_lossy(&h.call.as_ref().expect("call").a.tag).into_owned()
}

fn caller_request(h: &mut CallHarness, method: &str, cseq: u32, branch: &str) {
    caller_request_with(h, method, cseq, branch, "");
}

/// [`caller_request`] with `extra` header lines (each ending in CRLF).
fn caller_request_with(h: &mut CallHarness, method: &str, cseq: u32, branch: &str, extra: &str) {
    let tag = our_tag(h);
    let text = format!(
        "{method} sip:1001@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\nFrom: \"Ann\" <sip:1000@127.0.0.1>;tag=caller\r\nTo: <sip:1001@127.0.0.1>;tag={tag}\r\n\
         Call-ID: a-leg@test\r\nCSeq: {cseq} {method}\r\n{extra}Content-Length: 0\r\n\r\n"
    );
    h.deliver(&text, CALLER);
}

/// A call answered by B1 and ACKed by the caller.
fn answered() -> CallHarness {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 200, "b1", &sdp(7104));
    caller_request(&mut h, "ACK", 1, "ack1");
    h.wire.clear();
    h
}

#[test]
fn forked_call_first_answer_wins_and_other_forks_are_cancelled() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    let legs = h.ring(&[B1, B2]);
    assert_eq!(legs, vec![0, 1]);
    let (i1, i2) = (h.invite_to(B1), h.invite_to(B2));
    h.wire.clear();
    h.respond(B1, &i1, 180, "b1", "");
    assert!(
        h.take_to(CALLER).contains(&"180".to_owned()),
        "the caller hears the ringing"
    );
    h.respond(B2, &i2, 200, "b2", &sdp(7106));
    assert_eq!(h.take_to(CALLER), vec!["200"]);
    assert_eq!(h.take_to(B1), vec!["CANCEL sip:1001@127.0.0.1:7101"]);
    assert!(h.media.iter().any(|m| matches!(m, MediaCommand::Relay { .. })));
    assert_eq!(h.events, vec![CallEvent::Answered]);
    let call = h.call.as_ref().expect("call");
    assert_eq!((call.phase, call.winner), (Phase::Answered, Some(1)));

    // The caller's ACK releases ours to the winner; its BYE ends both sides.
    caller_request(&mut h, "ACK", 1, "ack1");
    assert_eq!(h.take_to(B2), vec!["ACK sip:x@127.0.0.1:7102"]);
    caller_request(&mut h, "BYE", 2, "bye1");
    assert_eq!(h.take_to(CALLER), vec!["200"]);
    assert_eq!(h.take_to(B2), vec!["BYE sip:x@127.0.0.1:7102"]);
    assert!(h.events.contains(&CallEvent::Ended {
        cause: "caller_hangup".into()
    }));
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].end_cause, "caller_hangup");
    // B1 answers the CANCEL's INVITE with 487: nothing is left pending.
    h.respond(B1, &i1, 487, "b1", "");
    assert!(h.call.as_ref().is_some_and(|c| c.reapable()));
}

#[test]
fn every_fork_failing_gives_the_caller_the_best_failure() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.ring(&[B1, B2]);
    let (i1, i2) = (h.invite_to(B1), h.invite_to(B2));
    h.respond(B1, &i1, 404, "b1", "");
    assert!(h.take_to(CALLER).is_empty(), "one fork still rings");
    h.respond(B2, &i2, 486, "b2", "");
    assert_eq!(h.take_to(CALLER), vec!["486"], "a busy phone says most");
    assert_eq!(h.cdrs[0].end_cause, "busy");
}

#[test]
fn acd_call_connects_only_when_the_acd_says_so() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.call.as_mut().expect("call").acd = true;
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 180, "b1", "");
    assert!(
        h.take_to(CALLER).is_empty(),
        "a queued caller hears the queue, not the phone"
    );
    h.respond(B1, &inv, 200, "b1", &sdp(7104));
    assert_eq!(h.events, vec![CallEvent::OfferAnswered { leg: 0 }]);
    assert!(h.take_to(CALLER).is_empty(), "no answer before the ACD's decision");
    h.with(|c, ctx| c.connect(ctx, 0));
    assert_eq!(h.take_to(CALLER), vec!["200"]);
}

#[test]
fn acd_refusing_an_answer_acks_and_hangs_up_the_phone() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.call.as_mut().expect("call").acd = true;
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 200, "b1", &sdp(7104));
    h.wire.retain(|s| !first_line(&s.msg).starts_with("INVITE"));
    h.with(|c, ctx| c.refuse(ctx, 0));
    let to_b1 = h.take_to(B1);
    assert!(to_b1[0].starts_with("ACK") && to_b1[1].starts_with("BYE"), "{to_b1:?}");
    assert!(h.take_to(CALLER).is_empty());
    assert_eq!(h.call.as_ref().map(|c| c.phase), Some(Phase::Routing));
}

#[test]
fn an_acd_phone_failing_is_reported_not_relayed() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.call.as_mut().expect("call").acd = true;
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 603, "b1", "");
    assert!(h.take_to(CALLER).is_empty());
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, CallEvent::OfferFailed { leg: 0, code } if code.as_u16() == 603)));
}

#[test]
fn no_answer_timer_gives_480_and_cancels_the_ringing_leg() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 180, "b1", "");
    h.with(|c, ctx| ctx.set_timer(c.id, CallTimer::NoAnswer, ctx.now.mono + Duration::from_secs(30)));
    h.wire.clear();
    h.advance(Duration::from_secs(29));
    assert!(h.take_to(CALLER).is_empty());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.take_to(CALLER), vec!["480"]);
    assert_eq!(h.take_to(B1), vec!["CANCEL sip:1001@127.0.0.1:7101"]);
    assert_eq!(h.cdrs[0].end_cause, "no_answer");
}

#[test]
fn callee_bye_ends_the_call_with_bye_to_the_caller() {
    let mut h = answered();
    // B1 hangs up inside its dialog.
    let our_from_tag = {
        let sent = &h.call.as_ref().expect("call").b[0];
        sent.dialog
            .as_ref()
            .map(|d| String::from_utf8_lossy(&d.key.local_tag).into_owned())
    }
    .expect("dialog");
    let call_id = String::from_utf8_lossy(&h.call.as_ref().expect("call").b[0].call_id).into_owned();
    let bye = format!(
        "BYE sip:1000@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7101;branch=z9hG4bKbbye\r\nMax-Forwards: 70\r\n\
         From: <sip:1001@127.0.0.1>;tag=b1\r\nTo: <sip:1000@127.0.0.1>;tag={our_from_tag}\r\nCall-ID: {call_id}\r\n\
         CSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n"
    );
    h.deliver(&bye, B1);
    assert_eq!(h.take_to(B1), vec!["200"]);
    assert_eq!(h.take_to(CALLER), vec!["BYE sip:1000@127.0.0.1:7000"]);
    assert_eq!(h.cdrs[0].end_cause, "callee_hangup");
}

#[test]
fn no_ack_for_64_t1_ends_the_call_with_bye_on_both_sides() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 200, "b1", &sdp(7104));
    h.wire.clear();
    // §13.3.1.4: retransmitted with T1 doubling up to T2 for 64·T1 (32 s);
    // the call ends at the first retransmission time after that.
    h.advance(Duration::from_millis(31_999));
    assert!(h.take_to(CALLER).iter().all(|l| l == "200"), "only 2xx retransmissions");
    assert!(h.take_to(B1).iter().all(|l| l.starts_with("ACK")));
    h.advance(Duration::from_secs(4));
    assert!(h.take_to(B1).iter().any(|l| l.starts_with("BYE")));
    assert!(h.take_to(CALLER).iter().any(|l| l.starts_with("BYE")));
    assert_eq!(h.cdrs[0].end_cause, "no_ack");
}

// spec: SUP-2 (the monitor's answer never answers the caller), SUP-4
#[test]
fn monitor_leg_is_fed_the_mix_and_removed_when_the_call_ends() {
    let mut h = answered();
    let req = MonitorRequest {
        supervisor: "sam".into(),
        extension: "1009".into(),
        interaction: "i-1".into(),
        agent: "alice".into(),
        uri: Uri::parse(&bytes::Bytes::from_static(b"sip:1009@127.0.0.1:7201")).expect("uri"),
        dest: harness::dest(SUPERVISOR),
    };
    h.with(|c, ctx| c.start_monitor(ctx, req)).expect("monitor placed");
    let inv = h.invite_to(SUPERVISOR);
    assert!(
        String::from_utf8_lossy(&inv.body).contains("a=sendrecv"),
        "whisper and barge need no re-INVITE"
    );
    assert!(h.media.iter().any(|m| matches!(m, MediaCommand::MonitorPrepare { .. })));
    let recvonly = sdp(7204) + "a=recvonly\r\n";
    h.respond(SUPERVISOR, &inv, 200, "s1", &recvonly);
    assert!(
        h.take_to(CALLER).is_empty(),
        "the supervisor's answer is not the callee's"
    );
    assert!(h.media.iter().any(|m| matches!(m, MediaCommand::Monitor { .. })));
    assert_eq!(
        h.take_to(SUPERVISOR).last().map(String::as_str),
        Some("ACK sip:x@127.0.0.1:7201")
    );
    caller_request(&mut h, "BYE", 2, "bye1");
    assert!(h.take_to(SUPERVISOR).iter().any(|l| l.starts_with("BYE")), "SUP-4");
    assert!(h.media.iter().any(|m| matches!(m, MediaCommand::MonitorStop { .. })));
}

// spec: CALL-REC-1 (a pause ends by itself after max_pause_s)
#[test]
fn recording_pause_ends_by_itself() {
    let mut h = answered();
    h.with(|c, ctx| c.control(ctx, CallControl::RecordStart))
        .expect("start");
    h.with(|c, ctx| c.control(ctx, CallControl::RecordPause))
        .expect("pause");
    assert_eq!(
        h.with(|c, ctx| c.control(ctx, CallControl::RecordPause)),
        Err(switchboard::call::ControlError::Conflict(
            "the recording is already paused"
        ))
    );
    let max = h.cfg.media().recording.max_pause;
    h.advance(max - Duration::from_millis(1));
    assert!(!h.media.iter().any(|m| matches!(
        m,
        MediaCommand::Record {
            action: RecordAction::Resume,
            ..
        }
    )));
    h.advance(Duration::from_millis(1));
    assert!(h.media.iter().any(|m| matches!(
        m,
        MediaCommand::Record {
            action: RecordAction::Resume,
            ..
        }
    )));
    let rec = h
        .call
        .as_ref()
        .and_then(|c| c.media.as_ref())
        .and_then(|m| m.recording.as_ref())
        .expect("recording");
    assert_eq!(rec.pauses.len(), 1);
    assert_eq!(rec.pauses[0].end_ms - rec.pauses[0].start_ms, max.as_millis() as u64);
}
