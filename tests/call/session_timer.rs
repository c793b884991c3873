//! Session timers (RFC 4028, issue 10 item 4) in virtual time: the
//! negotiation on each leg, the switch's refreshes at half the interval,
//! the expiry of a session nobody refreshed (BYE both legs, CDR cause
//! `session_timeout`), 422 and 491 on refreshes, and a callee's 422 to the
//! initial INVITE. The embedded config: Session-Expires 1800 s, Min-SE 90 s.

use super::harness::{first_line, sdp, CallHarness, Sent, CALLER};
use std::time::Duration;
use switchboard::call::session_timer::screen_invite;
use switchboard::call::Refresher;
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message};

const B1: &str = "127.0.0.1:7101";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn header(m: &Message, name: HeaderName) -> Option<String> {
    m.headers.get(&name).map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The last message sent to `to` whose first line starts with `start`.
fn last_to(h: &CallHarness, to: &str, start: &str) -> Option<Message> {
    let to = super::harness::sock(to);
    h.wire
        .iter()
        .rev()
        .find(|s: &&Sent| s.to == to && first_line(&s.msg).starts_with(start))
        .map(|s| s.msg.clone())
}

fn our_tag(h: &CallHarness) -> String {
    String::from_utf8_lossy(&h.call.as_ref().expect("call").a.tag).into_owned()
}

/// A request from the caller inside its dialog.
fn caller_request(h: &mut CallHarness, method: &str, cseq: u32, extra: &str, body: &str) {
    let tag = our_tag(h);
    let ct = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    let text = format!(
        "{method} sip:1001@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK{method}{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: \"Ann\" <sip:1000@127.0.0.1>;tag=caller\r\nTo: <sip:1001@127.0.0.1>;tag={tag}\r\n\
         Call-ID: a-leg@test\r\nCSeq: {cseq} {method}\r\nContact: <sip:1000@127.0.0.1:7000>\r\n{extra}{ct}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    h.deliver(&text, CALLER);
}

/// A call whose caller sent `caller_extra` and whose callee answered with
/// `callee_extra`, answered and ACKed; the wire is cleared.
fn answered_with(caller_extra: &str, callee_extra: &str) -> (CallHarness, Message) {
    let mut h = CallHarness::new(true);
    h.invite_with(caller_extra, &sdp(7002));
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    h.respond_with(B1, &inv, 200, "b1", callee_extra, &sdp(7104));
    let ok = last_to(&h, CALLER, "200").expect("200 to the caller");
    caller_request(&mut h, "ACK", 1, "", "");
    h.wire.clear();
    (h, ok)
}

fn refresher(h: &CallHarness, a_side: bool) -> Option<(u32, Refresher)> {
    let st = h.call.as_ref()?.session_timers.as_ref()?;
    st.legs
        .iter()
        .find(|l| matches!(l.side, switchboard::call::Side::A) == a_side)
        .map(|l| (l.interval_s, l.refresher))
}

#[test]
fn a_session_expires_below_min_se_gets_422_with_our_min_se() {
    let cfg = switchboard::config::load_embedded().expect("config");
    let st = cfg.sip().session_timers;
    assert_eq!(
        st.map(|s| (s.session_expires_s, s.min_se_s)),
        Some((1800, 90)),
        "defaults"
    );
    let invite = |se: &str| {
        let text = format!(
            "INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK1\r\n\
             From: <sip:1000@127.0.0.1>;tag=a\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: x@test\r\nCSeq: 1 INVITE\r\n\
             Supported: timer\r\n{se}Content-Length: 0\r\n\r\n"
        );
        parse_datagram(bytes::Bytes::from(text), &Limits::default()).expect("INVITE")
    };
    let short = invite("Session-Expires: 60\r\n");
    let err = screen_invite(&short, st.as_ref()).expect_err("60 s < Min-SE 90 s");
    let resp = err.response(&short, Some("t"));
    assert_eq!(resp.status().map(|c| c.as_u16()), Some(422));
    assert_eq!(header(&resp, HeaderName::MinSe).as_deref(), Some("90"));
    assert!(screen_invite(&invite("Session-Expires: 90\r\n"), st.as_ref()).is_ok());
    assert!(
        screen_invite(&invite(""), st.as_ref()).is_ok(),
        "no Session-Expires, no check"
    );
    assert!(screen_invite(&short, None).is_ok(), "session timers off");
    let bad = invite("Session-Expires: soon\r\n");
    let err = screen_invite(&bad, st.as_ref()).expect_err("malformed");
    assert_eq!(err.response(&bad, None).status().map(|c| c.as_u16()), Some(400));
}

#[test]
fn invites_to_callees_ask_for_session_timers() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    assert_eq!(
        header(&inv, HeaderName::Supported).as_deref(),
        Some("100rel, replaces, timer"),
        "one Supported line with every tag"
    );
    assert_eq!(header(&inv, HeaderName::SessionExpires).as_deref(), Some("1800"));
    assert_eq!(header(&inv, HeaderName::MinSe).as_deref(), Some("90"));
}

#[test]
fn a_caller_supporting_timer_refreshes_and_our_2xx_requires_timer() {
    let (h, ok) = answered_with("Supported: timer\r\nSession-Expires: 600\r\n", "");
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("600;refresher=uac")
    );
    assert_eq!(header(&ok, HeaderName::Require).as_deref(), Some("timer"));
    assert_eq!(refresher(&h, true), Some((600, Refresher::Peer)));
    // The callee's 2xx had no Session-Expires: the switch refreshes it (§7.2).
    assert_eq!(refresher(&h, false), Some((1800, Refresher::Switch)));
}

#[test]
fn a_caller_asking_more_than_ours_gets_ours_and_its_refresher_choice() {
    let (h, ok) = answered_with(
        "Supported: timer\r\nSession-Expires: 7200;refresher=uas\r\nMin-SE: 120\r\n",
        "",
    );
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("1800;refresher=uas")
    );
    assert_eq!(refresher(&h, true), Some((1800, Refresher::Switch)));
}

#[test]
fn a_caller_without_timer_support_is_refreshed_by_the_switch_at_half_time() {
    let (mut h, ok) = answered_with("", "");
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("1800;refresher=uas")
    );
    assert_eq!(
        header(&ok, HeaderName::Require),
        None,
        "§9: no Require for a UAC without timer"
    );
    h.advance(secs(899));
    assert!(h.take_to(CALLER).is_empty());
    h.advance(secs(1));
    let reinvite = last_to(&h, CALLER, "INVITE").expect("re-INVITE to the caller at 900 s");
    assert_eq!(
        header(&reinvite, HeaderName::SessionExpires).as_deref(),
        Some("1800;refresher=uac")
    );
    // The switch's own SDP, unchanged: same o= line as in the 200 (RFC 3264 §8).
    let origin = |m: &Message| {
        String::from_utf8_lossy(&m.body)
            .lines()
            .find(|l| l.starts_with("o="))
            .map(str::to_owned)
    };
    assert!(origin(&ok).is_some());
    assert_eq!(origin(&reinvite), origin(&ok));
    // The callee's leg is refreshed at the same time (its 2xx had no Session-Expires).
    let to_b = last_to(&h, B1, "INVITE").expect("re-INVITE to the callee");
    let offer_b = String::from_utf8_lossy(&to_b.body).into_owned();
    assert!(
        offer_b.contains("m=audio") && offer_b.contains("PCMU") && !offer_b.contains("PCMA"),
        "the callee is re-offered its negotiated codec alone: {offer_b}"
    );
    h.respond_with(B1, &to_b, 200, "", "", &sdp(7104));
    // The caller answers: the timer restarts, our ACK goes out.
    h.wire.clear();
    h.respond_with(CALLER, &reinvite, 200, "", "", &sdp(7002));
    assert!(last_to(&h, CALLER, "ACK").is_some());
    h.advance(secs(899));
    assert!(last_to(&h, CALLER, "INVITE").is_none());
    h.advance(secs(1));
    assert!(
        last_to(&h, CALLER, "INVITE").is_some(),
        "next refresh 900 s after the last"
    );
}

#[test]
fn a_peer_allowing_update_is_refreshed_with_an_update_without_body() {
    let (mut h, _) = answered_with("Allow: INVITE, ACK, BYE, CANCEL, UPDATE\r\n", "");
    h.advance(secs(900));
    let update = last_to(&h, CALLER, "UPDATE").expect("UPDATE at half time");
    assert!(update.body.is_empty());
    assert!(last_to(&h, CALLER, "INVITE").is_none());
    let to_b = last_to(&h, B1, "INVITE").expect("re-INVITE to the callee");
    h.respond_with(B1, &to_b, 200, "", "", &sdp(7104));
    h.respond_with(CALLER, &update, 200, "", "Session-Expires: 1800;refresher=uac\r\n", "");
    h.wire.clear();
    h.advance(secs(900));
    assert!(last_to(&h, CALLER, "UPDATE").is_some(), "the 2xx restarted the timer");
}

#[test]
fn no_refresh_from_the_caller_ends_the_call_with_bye_both_legs() {
    let (mut h, _) = answered_with("Supported: timer\r\nSession-Expires: 600\r\n", "");
    // §10: expiry minus min(32, 600/3) = 568 s.
    h.advance(secs(567));
    assert!(h.cdrs.is_empty());
    assert!(last_to(&h, CALLER, "BYE").is_none());
    h.advance(secs(1));
    assert!(last_to(&h, CALLER, "BYE").is_some(), "BYE to the caller");
    assert!(last_to(&h, B1, "BYE").is_some(), "BYE to the callee");
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].end_cause, "session_timeout");
}

#[test]
fn a_refresh_from_the_caller_restarts_its_timer() {
    let (mut h, _) = answered_with(
        "Supported: timer\r\nSession-Expires: 600\r\n",
        "Session-Expires: 1800;refresher=uas\r\n",
    );
    h.advance(secs(500));
    caller_request(
        &mut h,
        "INVITE",
        2,
        "Supported: timer\r\nSession-Expires: 600;refresher=uac\r\n",
        &sdp(7002),
    );
    let ok = last_to(&h, CALLER, "200").expect("200 to the refresh");
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("600;refresher=uac")
    );
    assert_eq!(header(&ok, HeaderName::Require).as_deref(), Some("timer"));
    caller_request(&mut h, "ACK", 2, "", "");
    h.advance(secs(567));
    assert!(h.cdrs.is_empty(), "568 s after the refresh, not after the answer");
    // An UPDATE without a body refreshes too, answered without a body.
    caller_request(&mut h, "UPDATE", 3, "Session-Expires: 600;refresher=uac\r\n", "");
    let ok = last_to(&h, CALLER, "200").expect("200 to the UPDATE");
    assert!(
        ok.body.is_empty(),
        "RFC 3311: no offer in a 2xx to an UPDATE without one"
    );
    h.advance(secs(567));
    assert!(h.cdrs.is_empty());
    h.advance(secs(1));
    assert_eq!(h.cdrs[0].end_cause, "session_timeout");
}

#[test]
fn a_callee_choosing_to_refresh_is_watched_for_expiry() {
    let (mut h, _) = answered_with("", "Require: timer\r\nSession-Expires: 1200;refresher=uas\r\n");
    assert_eq!(refresher(&h, false), Some((1200, Refresher::Peer)));
    h.advance(secs(900));
    assert!(last_to(&h, B1, "INVITE").is_none(), "the callee refreshes, not us");
    h.respond_with(
        CALLER,
        &last_to(&h, CALLER, "INVITE").expect("caller refresh"),
        200,
        "",
        "",
        &sdp(7002),
    );
    h.advance(secs(1200 - 32 - 900));
    assert!(last_to(&h, B1, "BYE").is_some());
    assert_eq!(h.cdrs[0].end_cause, "session_timeout");
}

#[test]
fn a_422_to_our_refresh_retries_at_once_with_the_larger_interval() {
    let (mut h, _) = answered_with("", "");
    h.advance(secs(900));
    let reinvite = last_to(&h, CALLER, "INVITE").expect("refresh");
    h.wire.clear();
    h.respond_with(CALLER, &reinvite, 422, "", "Min-SE: 2400\r\n", "");
    let retry = last_to(&h, CALLER, "INVITE").expect("retried at once");
    assert_eq!(
        header(&retry, HeaderName::SessionExpires).as_deref(),
        Some("2400;refresher=uac")
    );
    assert_eq!(header(&retry, HeaderName::MinSe).as_deref(), Some("2400"));
    assert_ne!(
        retry.envelope().map(|e| e.cseq.seq).ok(),
        reinvite.envelope().map(|e| e.cseq.seq).ok()
    );
}

#[test]
fn a_491_to_our_refresh_backs_off_per_rfc3261_14_1() {
    let (mut h, _) = answered_with("", "");
    h.advance(secs(900));
    // The callee's leg: the switch placed it and owns its Call-ID: 2.1–4 s.
    let to_b = last_to(&h, B1, "INVITE").expect("refresh to the callee");
    h.respond_with(B1, &to_b, 200, "", "", &sdp(7104));
    let to_a = last_to(&h, CALLER, "INVITE").expect("refresh to the caller");
    h.wire.clear();
    h.respond_with(CALLER, &to_a, 491, "", "", "");
    assert!(last_to(&h, CALLER, "INVITE").is_none(), "not at once");
    // The caller's leg: the caller owns the Call-ID: 0–2 s.
    h.advance(Duration::from_millis(2000));
    let retry = last_to(&h, CALLER, "INVITE").expect("retried within 2 s");
    assert_ne!(retry.headers.get(&HeaderName::Via), to_a.headers.get(&HeaderName::Via));
    h.respond_with(CALLER, &retry, 200, "", "", &sdp(7002));

    // Now glare on the callee's leg at its next refresh.
    h.advance(secs(900) - Duration::from_millis(2000));
    let to_b = last_to(&h, B1, "INVITE").expect("next refresh to the callee");
    h.wire.clear();
    h.respond_with(B1, &to_b, 491, "", "", "");
    h.advance(Duration::from_millis(2099));
    assert!(last_to(&h, B1, "INVITE").is_none(), "no retry before 2.1 s");
    h.advance(Duration::from_millis(4000 - 2099));
    assert!(last_to(&h, B1, "INVITE").is_some(), "retried within 4 s");
}

#[test]
fn an_invite_from_the_peer_while_our_refresh_is_in_flight_gets_491() {
    let (mut h, _) = answered_with("", "");
    h.advance(secs(900));
    assert!(last_to(&h, CALLER, "INVITE").is_some());
    h.wire.clear();
    caller_request(&mut h, "INVITE", 2, "", &sdp(7002));
    assert_eq!(h.take_to(CALLER), vec!["491"]);
}

#[test]
fn our_refresh_timing_out_ends_the_call() {
    let (mut h, _) = answered_with("", "");
    h.advance(secs(900));
    let to_b = last_to(&h, B1, "INVITE").expect("refresh to the callee");
    h.respond_with(B1, &to_b, 200, "", "", &sdp(7104));
    // The caller never answers: Timer B (64·T1 = 32 s), then §10: BYE.
    h.advance(secs(33));
    assert!(last_to(&h, B1, "BYE").is_some());
    assert_eq!(h.cdrs[0].end_cause, "session_timeout");
}

#[test]
fn a_callee_422_to_the_initial_invite_is_retried_with_its_min_se() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.ring(&[B1]);
    let first = h.invite_to(B1);
    h.wire.clear();
    h.respond_with(B1, &first, 422, "b1", "Min-SE: 3600\r\n", "");
    assert!(h.take_to(CALLER).is_empty(), "the caller sees nothing of it");
    let retry = last_to(&h, B1, "INVITE").expect("a new INVITE");
    assert_eq!(header(&retry, HeaderName::SessionExpires).as_deref(), Some("3600"));
    assert_eq!(header(&retry, HeaderName::MinSe).as_deref(), Some("3600"));
    let (e1, e2) = (first.envelope().expect("env"), retry.envelope().expect("env"));
    assert_eq!(e1.call_id, e2.call_id, "same call");
    assert_eq!(e2.cseq.seq, e1.cseq.seq + 1);
    h.respond_with(
        B1,
        &retry,
        200,
        "b1",
        "Session-Expires: 3600;refresher=uac\r\n",
        &sdp(7104),
    );
    assert!(h.take_to(CALLER).contains(&"200".to_owned()));
    assert_eq!(refresher(&h, false), Some((3600, Refresher::Switch)));
    // A second 422 on the same leg is not retried again (§7.3: once).
}

#[test]
fn a_relayed_refresh_on_a_pass_through_call_refreshes_both_legs() {
    let mut h = CallHarness::new(false);
    h.invite_with("Supported: timer\r\nSession-Expires: 600\r\n", &sdp(7002));
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    h.respond_with(
        B1,
        &inv,
        200,
        "b1",
        "Session-Expires: 600;refresher=uas\r\n",
        &sdp(7104),
    );
    caller_request(&mut h, "ACK", 1, "", "");
    assert_eq!(refresher(&h, true), Some((600, Refresher::Peer)));
    assert_eq!(refresher(&h, false), Some((600, Refresher::Peer)));
    h.advance(secs(500));
    h.wire.clear();
    caller_request(
        &mut h,
        "INVITE",
        2,
        "Supported: timer\r\nSession-Expires: 600;refresher=uac\r\n",
        &sdp(7002),
    );
    let relayed = last_to(&h, B1, "INVITE").expect("relayed to the callee");
    assert_eq!(
        header(&relayed, HeaderName::SessionExpires).as_deref(),
        Some("600;refresher=uas"),
        "the callee stays the refresher of its leg"
    );
    h.respond_with(
        B1,
        &relayed,
        200,
        "",
        "Session-Expires: 600;refresher=uas\r\n",
        &sdp(7104),
    );
    let ok = last_to(&h, CALLER, "200").expect("200 relayed to the caller");
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("600;refresher=uac")
    );
    caller_request(&mut h, "ACK", 2, "", "");
    h.advance(secs(567));
    assert!(h.cdrs.is_empty(), "both legs restarted at 500 s");
    h.advance(secs(1));
    assert_eq!(h.cdrs[0].end_cause, "session_timeout");
}

#[test]
fn a_leg_that_hangs_up_takes_its_session_timer_with_it() {
    let (mut h, _) = answered_with("Supported: timer\r\nSession-Expires: 600\r\n", "");
    caller_request(&mut h, "BYE", 2, "", "");
    assert_eq!(h.cdrs[0].end_cause, "caller_hangup");
    let st = h.call.as_ref().and_then(|c| c.session_timers.as_ref()).expect("timers");
    assert!(st.legs.is_empty(), "{st:?}");
    assert!(
        !h.timers.is_set((
            switchboard::ids::CallRef(1),
            switchboard::call::CallTimer::SessionExpiry(switchboard::call::Side::A)
        )),
        "no expiry left armed"
    );
}

#[test]
fn a_retransmitted_2xx_to_our_refresh_is_acked_again() {
    let (mut h, _) = answered_with("", "Session-Expires: 1800;refresher=uas\r\n");
    h.advance(secs(900));
    let reinvite = last_to(&h, CALLER, "INVITE").expect("refresh");
    h.respond_with(CALLER, &reinvite, 200, "", "", &sdp(7002));
    assert_eq!(
        h.take_to(CALLER),
        vec!["INVITE sip:1000@127.0.0.1:7000", "ACK sip:1000@127.0.0.1:7000"]
    );
    // Our ACK was lost: the caller retransmits its 2xx.
    h.respond_with(CALLER, &reinvite, 200, "", "", &sdp(7002));
    assert_eq!(h.take_to(CALLER), vec!["ACK sip:1000@127.0.0.1:7000"]);
    assert!(h.cdrs.is_empty());
}

// Party legs (consulted, transferred-to, monitoring phones) run their own
// session timer: a crashed party is noticed, and only its leg ends.

const BOB: &str = "127.0.0.1:7301";

/// A call in which neither the caller nor the callee needs the switch for
/// a while (both refresh every 1800 s themselves), and alice (B1)
/// consults bob; bob's INVITE.
fn consulting_bob() -> (CallHarness, Message) {
    let (mut h, _) = answered_with(
        "Supported: timer\r\nSession-Expires: 1800;refresher=uac\r\n",
        "Session-Expires: 1800;refresher=uas\r\n",
    );
    let target = super::harness::party_target(BOB, Some("bob"), "Consult from alice");
    h.with(|c, ctx| c.consult(ctx, switchboard::call::media::MediaLeg::B, target))
        .expect("consult placed");
    let inv = h.invite_to(BOB);
    (h, inv)
}

fn party_timer(h: &CallHarness) -> Option<(u32, Refresher)> {
    let st = h.call.as_ref()?.session_timers.as_ref()?;
    st.legs
        .iter()
        .find(|l| l.side == switchboard::call::Side::B(1))
        .map(|l| (l.interval_s, l.refresher))
}

#[test]
fn a_party_is_asked_for_session_timers_and_refreshed_by_the_switch() {
    let (mut h, inv) = consulting_bob();
    assert_eq!(header(&inv, HeaderName::SessionExpires).as_deref(), Some("1800"));
    assert_eq!(header(&inv, HeaderName::MinSe).as_deref(), Some("90"));
    assert!(header(&inv, HeaderName::Supported).is_some_and(|s| s.contains("timer")));
    h.respond_with(
        BOB,
        &inv,
        200,
        "bob1",
        "Session-Expires: 120;refresher=uac\r\n",
        &sdp(7304),
    );
    assert_eq!(party_timer(&h), Some((120, Refresher::Switch)));
    h.wire.clear();
    h.advance(secs(59));
    assert!(last_to(&h, BOB, "INVITE").is_none() && last_to(&h, BOB, "UPDATE").is_none());
    h.advance(secs(1));
    let refresh = last_to(&h, BOB, "INVITE").expect("re-INVITE to bob at half of 120 s");
    assert_eq!(
        header(&refresh, HeaderName::SessionExpires).as_deref(),
        Some("120;refresher=uac")
    );
    // From the party's own port, with the codec bob joined with alone.
    let offer = String::from_utf8_lossy(&refresh.body).into_owned();
    let party_port = String::from_utf8_lossy(&inv.body)
        .lines()
        .find_map(|l| {
            l.strip_prefix("m=audio ")
                .and_then(|r| r.split(' ').next())
                .map(str::to_owned)
        })
        .expect("party port");
    assert!(offer.contains(&format!("m=audio {party_port} ")), "{offer}");
    assert!(offer.contains("PCMU") && !offer.contains("PCMA"), "{offer}");
    assert!(last_to(&h, CALLER, "INVITE").is_none() && last_to(&h, B1, "INVITE").is_none());
    h.wire.clear();
    h.respond_with(
        BOB,
        &refresh,
        200,
        "",
        "Session-Expires: 120;refresher=uac\r\n",
        &sdp(7304),
    );
    assert!(last_to(&h, BOB, "ACK").is_some(), "our refresh's 2xx is ACKed");
    h.advance(secs(60));
    assert!(last_to(&h, BOB, "INVITE").is_some(), "the 2xx restarted bob's timer");
    assert!(h.leg_cdrs.is_empty(), "bob stays");
}

#[test]
fn a_silent_party_is_hung_up_alone_with_session_timeout() {
    let (mut h, inv) = consulting_bob();
    h.respond_with(
        BOB,
        &inv,
        200,
        "bob1",
        "Session-Expires: 120;refresher=uas\r\n",
        &sdp(7304),
    );
    assert_eq!(party_timer(&h), Some((120, Refresher::Peer)));
    // bob refreshes once (an UPDATE at 80 s): the expiry moves to 80 + 88 s.
    h.advance(secs(80));
    h.wire.clear();
    super::harness::peer_request(&mut h, &inv, BOB, "bob1", "UPDATE", 2);
    assert_eq!(h.take_to(BOB), vec!["200"]);
    h.advance(secs(87));
    assert!(last_to(&h, BOB, "BYE").is_none(), "the refresh restarted bob's timer");
    // Then nothing: §10, 120 − min(32, 40) = 88 s after the last refresh.
    h.advance(secs(1));
    assert!(last_to(&h, BOB, "BYE").is_some(), "BYE to bob");
    assert!(last_to(&h, CALLER, "BYE").is_none() && last_to(&h, B1, "BYE").is_none());
    assert!(h.cdrs.is_empty(), "the call goes on");
    let bob = h.leg_cdrs.iter().find(|c| c.leg == "consult").expect("bob's leg CDR");
    assert_eq!(bob.cause, "session_timeout");
    assert_eq!(party_timer(&h), None, "bob's timer went with his leg");
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, switchboard::call::CallEvent::PartyLeft { .. })),
        "the engine hears bob left: {:?}",
        h.events
    );
}

#[test]
fn a_party_answering_481_to_our_refresh_is_hung_up_alone() {
    let (mut h, inv) = consulting_bob();
    h.respond_with(BOB, &inv, 200, "bob1", "", &sdp(7304));
    // §7.2: no Session-Expires in bob's 2xx, the switch refreshes at 900 s.
    assert_eq!(party_timer(&h), Some((1800, Refresher::Switch)));
    h.advance(secs(900));
    let refresh = last_to(&h, BOB, "INVITE").expect("refresh to bob");
    h.wire.clear();
    h.respond_with(BOB, &refresh, 481, "", "", "");
    assert!(last_to(&h, BOB, "BYE").is_some());
    assert!(h.cdrs.is_empty(), "the call goes on");
    assert_eq!(
        h.leg_cdrs.iter().find(|c| c.leg == "consult").map(|c| c.cause.as_str()),
        Some("session_timeout")
    );
}

#[test]
fn a_party_422_to_our_invite_is_retried_with_its_min_se() {
    let (mut h, inv) = consulting_bob();
    h.wire.clear();
    h.respond_with(BOB, &inv, 422, "bob1", "Min-SE: 3600\r\n", "");
    let again = last_to(&h, BOB, "INVITE").expect("INVITE again");
    assert_eq!(header(&again, HeaderName::SessionExpires).as_deref(), Some("3600"));
    assert_eq!(header(&again, HeaderName::MinSe).as_deref(), Some("3600"));
    h.respond_with(
        BOB,
        &again,
        200,
        "bob2",
        "Session-Expires: 3600;refresher=uac\r\n",
        &sdp(7304),
    );
    assert_eq!(party_timer(&h), Some((3600, Refresher::Switch)));
    assert!(h.leg_cdrs.is_empty(), "bob is in the call");
}
