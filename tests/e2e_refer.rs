//! REFER from phones and trunks end to end (issue 10 item 2; RFC 3515,
//! RFC 5589 §6 blind transfer) on the real switch over loopback: SIPp as
//! a carrier's caller that transfers the call it made, and our test UA as
//! a desk phone that transfers a call it answered. The switch accepts the
//! REFER (202), reports progress with NOTIFYs (100, 180, 200), rings the
//! target, hangs up the referrer, and the transferee talks with the
//! target (checked on the media: the target's tone reaches it).

mod common;

use common::conference::{recv_request, replaces_for, Ear, Phone, Voice};
use common::media::*;
use common::*;
use std::time::Duration;
use switchboard::sip::msg::{HeaderName, Method, StatusCode};

const T: Duration = Duration::from_secs(20);
const TARGET_HZ: f64 = 1700.0;
const TONE_DBFS: f64 = -12.0;

/// The transfer's target (`name`, from `sock` towards the switch's
/// `media`) says its tone, and `who` (listening on `ear_sock` to the
/// switch's `ear_media`) hears it; the sender, to keep talking.
fn target_heard(
    sock: &std::net::UdpSocket,
    media: std::net::SocketAddr,
    ssrc: u32,
    name: &'static str,
    who: &'static str,
    ear_sock: &std::net::UdpSocket,
    ear_media: std::net::SocketAddr,
) -> Sender {
    let talk = Sender::spawn(sock, media, Stream::pcmu(ssrc), pcmu_tone(TARGET_HZ, TONE_DBFS));
    let voices = [Voice { name, hz: TARGET_HZ }];
    let mut ear = Ear::new(who, ear_sock, ear_media, &voices);
    hears_target(&mut ear);
    talk
}

fn hears_target(ear: &mut Ear) {
    let heard = ear.second_from_now("after the transfer", |p| {
        p.pt == 0 && common::conference::packet_level(p, TARGET_HZ) > TONE_DBFS - 10.0
    });
    assert!(heard.level(TARGET_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
}

/// RFC 3515: a carrier's caller (SIPp on the external profile) calls
/// 1001, then REFERs the call to 1003: 1001 ends up talking with 1003.
#[test]
fn a_caller_transfers_its_call_blind_with_refer() {
    require_sipp();
    let sw = Switch::start();
    let mut callee = Phone::register(&sw, "1001");
    let mut target = Phone::register(&sw, "1003");
    let sipp = Sipp::new("uac_refer.xml")
        .remote(sw.external_addr())
        .service("1001")
        .set("target", "1003")
        .no_auto_answer()
        .pause_ms(500)
        .spawn(T);
    let invite = callee.rings();
    let callee_media = callee.answer(&invite);
    recv_request(&mut callee.ua, Method::ACK);
    // The REFER: 1003 rings with the switch's offer, and answers.
    let t_invite = target.rings();
    let target_media = target.answer(&t_invite);
    recv_request(&mut target.ua, Method::ACK);
    sipp.wait().assert_success();
    let _talk = target_heard(
        &target.rtp.0,
        target_media,
        0x1003,
        "1003",
        "1001",
        &callee.rtp.0,
        callee_media,
    );
    callee.hang_up();
    recv_request(&mut target.ua, Method::BYE);
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(cdrs[0]["route"], "user:1001", "{cdrs:?}");
}

/// RFC 3515: a desk phone (our UA, 1002 → 1001) that was called REFERs
/// to a number its dial plan forbids (403), then to 1003: the caller ends
/// up talking with 1003; the referrer gets 202, the NOTIFYs, then BYE.
#[test]
fn a_callee_phone_transfers_blind_and_its_dial_plan_applies() {
    let sw = Switch::start();
    let mut target = Phone::register(&sw, "1003");
    let mut call = answered_call(&sw, &CallSpec::default());
    // 1001 (the callee) refers the caller. First to the PIN meet-me room,
    // which a transfer cannot reach: refused, nothing moves.
    let refer = |call: &mut Call, to: &str, cseq: u32| {
        let mut m = call.callee_request(Method::REFER, cseq);
        m.headers.push(HeaderName::ReferTo, format!("<sip:{to}@127.0.0.1>"));
        call.callee.send(&m);
        m
    };
    let r = refer(&mut call, "7100", 1);
    let resp = next_final(&mut call.callee);
    assert_eq!(
        switchboard::sip::msg::StatusCode::FORBIDDEN.as_u16(),
        common::ua::code(&resp),
        "{}",
        common::ua::text(&resp)
    );
    let _ = r;
    refer(&mut call, "1003", 2);
    let accepted = next_final(&mut call.callee);
    assert_eq!(common::ua::code(&accepted), 202, "{}", common::ua::text(&accepted));
    let notify = |call: &mut Call| {
        let n = next_request(&mut call.callee, Method::NOTIFY);
        call.callee.reply(&n, StatusCode::OK, None);
        String::from_utf8_lossy(&n.body).trim().to_owned()
    };
    assert_eq!(notify(&mut call), "SIP/2.0 100 Trying");
    let t_invite = target.rings();
    assert_eq!(notify(&mut call), "SIP/2.0 180 Ringing");
    let target_media = target.answer(&t_invite);
    recv_request(&mut target.ua, Method::ACK);
    assert_eq!(notify(&mut call), "SIP/2.0 200 OK");
    let bye = next_request(&mut call.callee, Method::BYE);
    call.callee.reply(&bye, StatusCode::OK, None);
    // The caller (1002) talks with 1003 now, on its own unchanged dialog.
    let _talk = target_heard(
        &target.rtp.0,
        target_media,
        0x1003,
        "1003",
        "1002",
        &call.caller_rtp,
        call.a_media,
    );
    let bye = call.caller_request(Method::BYE);
    let ok = call
        .caller
        .transact(&bye, common::ua::TIMEOUT)
        .expect("the BYE is answered");
    assert_eq!(common::ua::code(&ok), 200);
    recv_request(&mut target.ua, Method::BYE);
}

/// RFC 3515 from the callee's side, a trunk: phone 1002 calls out
/// (5551234, the demo trunk: SIPp), and the carrier REFERs the call to
/// 1003 (routed in the trunk's own context): 1002 ends up with 1003.
#[test]
fn a_trunk_callee_transfers_blind_with_refer() {
    require_sipp();
    let trunk_port = free_port();
    let cfg = ConfigDir::from_default();
    cfg.patch("trunks.toml", "127.0.0.1:5090", &format!("127.0.0.1:{trunk_port}"));
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut target = Phone::register(&sw, "1003");
    let mut uas = Sipp::new("uas_refer.xml")
        .local_port(trunk_port)
        .set("target", "1003")
        .no_auto_answer()
        .pause_ms(500)
        .spawn(T);
    uas.wait_ready(Duration::from_secs(5));
    let (rtp, _rtcp) = rtp_rtcp_sockets();
    let mut caller = common::ua::Ua::udp(sw.internal_addr());
    let mut invite = caller.invite("1002", "5551234");
    invite.body = common::conference::sdp_for("1002", &rtp);
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);
    let ok = next_final(&mut caller);
    assert_eq!(common::ua::code(&ok), 200, "{}", common::ua::text(&ok));
    ack_2xx(&mut caller, &invite, &ok);
    let a_media = sdp_rtp(&ok.body);
    let t_invite = target.rings();
    let target_media = target.answer(&t_invite);
    recv_request(&mut target.ua, Method::ACK);
    uas.wait().assert_success();
    let _talk = target_heard(&target.rtp.0, target_media, 0x1003, "1003", "1002", &rtp, a_media);
}

/// RFC 5589 §7 attended transfer through the switch: 1001 has a call
/// from 1002 and makes a second call to 1003, then REFERs the first call
/// with the second's dialog in `Replaces`. The switch joins 1002 and 1003
/// (1003 is re-INVITEd to a port of the first call), tells 1001 with
/// NOTIFYs and hangs it up in both calls; 1002 hears 1003.
#[test]
fn an_attended_transfer_joins_the_far_parties_of_two_calls() {
    let sw = Switch::start();
    let mut target = Phone::register(&sw, "1003");
    let mut call = answered_call(&sw, &CallSpec::default());
    // 1001 calls 1003 (its second call), authenticated as 1001.
    let invite = call.callee.invite("1001", "1003");
    let invite2 = authorized_invite_as(&mut call.callee, &invite, "1001", "demo-1001");
    call.callee.send(&invite2);
    let t_invite = target.rings();
    target.answer(&t_invite);
    let ok2 = next_final(&mut call.callee);
    assert_eq!(common::ua::code(&ok2), 200, "{}", common::ua::text(&ok2));
    ack_2xx(&mut call.callee, &invite2, &ok2);
    recv_request(&mut target.ua, Method::ACK);
    // The REFER in the first call, naming the second call's dialog.
    let escaped = replaces_for(&invite2, &ok2);
    let mut refer = call.callee_request(Method::REFER, 1);
    refer
        .headers
        .push(HeaderName::ReferTo, format!("<sip:1003@127.0.0.1?Replaces={escaped}>"));
    call.callee.send(&refer);
    // 1003 is re-INVITEd to a new port and answers on the same dialog.
    let reinvite = recv_request(&mut target.ua, Method::INVITE);
    assert!(
        reinvite
            .headers
            .get(&HeaderName::To)
            .is_some_and(|t| String::from_utf8_lossy(t).contains("tag=")),
        "a re-INVITE in 1003's dialog: {}",
        common::ua::text(&reinvite)
    );
    let new_media = target.answer_reinvite(&reinvite, "1003");
    // 1001 gets: 202, the NOTIFYs, and BYE in both calls.
    let (mut got_202, mut notifies, mut byes) = (false, Vec::new(), 0);
    while !(got_202 && notifies.len() == 2 && byes == 2) {
        let m = call
            .callee
            .recv(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("1001 waits: 202 {got_202}, NOTIFYs {notifies:?}, BYEs {byes}"));
        match m.method() {
            Some(x) if *x == Method::NOTIFY => {
                notifies.push(String::from_utf8_lossy(&m.body).trim().to_owned());
                call.callee.reply(&m, StatusCode::OK, None);
            }
            Some(x) if *x == Method::BYE => {
                byes += 1;
                call.callee.reply(&m, StatusCode::OK, None);
            }
            Some(_) => {}
            None => got_202 |= common::ua::code(&m) == 202,
        }
    }
    assert_eq!(notifies, vec!["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]);
    // 1002 (the first call's caller) hears 1003 on the re-INVITEd port.
    let _talk = target_heard(
        &target.rtp.0,
        new_media,
        0x1003,
        "1003",
        "1002",
        &call.caller_rtp,
        call.a_media,
    );
    let cdrs = sw.wait_for_cdrs(1, T);
    assert!(
        cdrs.iter().any(|c| c["end_cause"] == "transferred"),
        "the second call ended transferred: {cdrs:?}"
    );
}

/// RFC 3891: phone 1003 sends an INVITE with `Replaces` naming 1001's
/// dialog of a call 1002 → 1001 (call-pickup style): the switch answers
/// 1003, hangs up 1001, and 1002 talks with 1003. A Replaces naming no
/// dialog gets 481.
#[test]
fn an_invite_with_replaces_takes_over_a_call() {
    let sw = Switch::start();
    let mut call = answered_call(&sw, &CallSpec::default());
    let mut y = common::ua::Ua::udp(sw.internal_addr());
    assert_eq!(y.register("1003", "demo-1003"), StatusCode::OK);
    let (rtp, _rtcp) = rtp_rtcp_sockets();
    let send_replacing = |y: &mut common::ua::Ua, replaces: &str| -> switchboard::sip::msg::Message {
        let mut invite = y.invite("1003", "1001");
        invite.body = common::conference::sdp_for("1003", &rtp);
        invite.headers.push(HeaderName::Replaces, replaces.to_owned());
        invite.headers.push(HeaderName::Require, "replaces");
        let invite = authorized_invite_as(y, &invite, "1003", "demo-1003");
        y.send(&invite);
        invite
    };
    let unknown = send_replacing(&mut y, "nosuchcall@127.0.0.1;to-tag=1;from-tag=2");
    let refused = next_final(&mut y);
    assert_eq!(common::ua::code(&refused), 481, "{}", common::ua::text(&refused));
    ack_non_2xx(&mut y, &unknown, &refused);
    // 1001's dialog with the switch: the switch's INVITE's Call-ID, our
    // (the switch's) tag is its From tag, 1001's is `callee1`.
    let b = &call.b_invite;
    let call_id = String::from_utf8_lossy(b.headers.get(&HeaderName::CallId).expect("Call-ID")).into_owned();
    let from = String::from_utf8_lossy(b.headers.get(&HeaderName::From).expect("From")).into_owned();
    let switch_tag = from.split(";tag=").nth(1).unwrap_or_default().to_owned();
    let invite = send_replacing(&mut y, &format!("{call_id};to-tag={switch_tag};from-tag=callee1"));
    let ok = next_final(&mut y);
    assert_eq!(common::ua::code(&ok), 200, "{}", common::ua::text(&ok));
    ack_2xx(&mut y, &invite, &ok);
    let bye = next_request(&mut call.callee, Method::BYE);
    call.callee.reply(&bye, StatusCode::OK, None);
    // 1001's dialog has ended now: naming it again gets 603 (RFC 3891 §3).
    let again = send_replacing(&mut y, &format!("{call_id};to-tag={switch_tag};from-tag=callee1"));
    let declined = next_final(&mut y);
    assert_eq!(common::ua::code(&declined), 603, "{}", common::ua::text(&declined));
    ack_non_2xx(&mut y, &again, &declined);
    let y_media = sdp_rtp(&ok.body);
    let _talk = target_heard(&rtp, y_media, 0x1003, "1003", "1002", &call.caller_rtp, call.a_media);
    // 1002 hangs up: 1003 gets the BYE.
    let bye = call.caller_request(Method::BYE);
    let done = call.caller.transact(&bye, common::ua::TIMEOUT).expect("200");
    assert_eq!(common::ua::code(&done), 200);
    let bye = next_request(&mut y, Method::BYE);
    y.reply(&bye, StatusCode::OK, None);
}

/// baresip's own blind transfer (its `transfer` command sends REFER): a
/// baresip phone (1003) answers a call from 1002 and transfers it to 1001;
/// 1001 rings, answers, and 1002 talks with it.
#[test]
fn baresip_transfers_a_call_with_its_transfer_command() {
    use common::baresip::{Account, Baresip};
    let sw = Switch::start();
    let mut b = Baresip::start();
    b.add_account(Account::demo(1003, sw.internal_addr()));
    b.wait_registered(T)
        .unwrap_or_else(|e| panic!("baresip registers: {e}"));
    let mut target = Phone::register(&sw, "1001");
    let (rtp, _rtcp) = rtp_rtcp_sockets();
    let mut caller = common::ua::Ua::udp(sw.internal_addr());
    let mut invite = caller.invite("1002", "1003");
    invite.body = common::conference::sdp_for("1002", &rtp);
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);
    let ok = next_final(&mut caller);
    assert_eq!(common::ua::code(&ok), 200, "{}", common::ua::text(&ok));
    ack_2xx(&mut caller, &invite, &ok);
    let a_media = sdp_rtp(&ok.body);
    b.expect_event("CALL_ESTABLISHED", T);
    let to = format!("sip:1001@{}", sw.internal_addr());
    b.command("transfer", &to)
        .unwrap_or_else(|e| panic!("baresip transfer: {e}\n{}", b.log()));
    let t_invite = target.rings();
    let target_media = target.answer(&t_invite);
    recv_request(&mut target.ua, Method::ACK);
    b.expect_event("CALL_CLOSED", T);
    let _talk = target_heard(&target.rtp.0, target_media, 0x1001, "1001", "1002", &rtp, a_media);
}

/// RFC 3891 with SIPp as the phone taking over: 1002 calls 1001 (our
/// UAs); SIPp, registered as 1003, sends an INVITE with `Replaces` naming
/// 1001's dialog: it is answered, 1001 is hung up, and when SIPp hangs up
/// 1002 gets the BYE.
#[test]
fn a_sipp_phone_takes_over_a_call_with_replaces() {
    require_sipp();
    let sw = Switch::start();
    let mut call = answered_call(&sw, &CallSpec::default());
    let b = &call.b_invite;
    let call_id = String::from_utf8_lossy(b.headers.get(&HeaderName::CallId).expect("Call-ID")).into_owned();
    let from = String::from_utf8_lossy(b.headers.get(&HeaderName::From).expect("From")).into_owned();
    let switch_tag = from.split(";tag=").nth(1).unwrap_or_default().to_owned();
    Sipp::new("uac_replaces.xml")
        .remote(sw.internal_addr())
        .phone("1003", "demo-1003")
        .service("1001")
        .set("replaces", &format!("{call_id};to-tag={switch_tag};from-tag=callee1"))
        .pause_ms(300)
        .run(T)
        .assert_success();
    let bye = next_request(&mut call.callee, Method::BYE);
    call.callee.reply(&bye, StatusCode::OK, None);
    let bye = next_request(&mut call.caller, Method::BYE);
    call.caller.reply(&bye, StatusCode::OK, None);
}

/// RFC 5589 §7 attended transfer by a SIPp desk phone (1002): it calls
/// 1001, then 1003 (its consultation), then REFERs the first call with
/// `Refer-To: <sip:1003?Replaces=(the second call's dialog)>`. The switch
/// re-INVITEs 1003 into the first call, reports `100` and `200` by NOTIFY
/// and hangs up both of 1002's calls (the scenario checks those); 1001
/// and 1003 then talk (checked on the media), and the second call's CDR
/// says `transferred`.
#[test]
fn a_sipp_phone_transfers_attended_with_refer_and_replaces() {
    require_sipp();
    let sw = Switch::start();
    let mut first = Phone::register(&sw, "1001");
    let mut second = Phone::register(&sw, "1003");
    let sipp = Sipp::new("uac_attended_transfer.xml")
        .remote(sw.internal_addr())
        .phone("1002", "demo-1002")
        .set("first", "1001")
        .set("second", "1003")
        .arg("-cid_str")
        .arg("%u-%p-attended")
        // One message read per cycle, so the scenario's one-step handlers
        // keep up with NOTIFYs and BYEs sent back to back.
        .arg("-max_recv_loops")
        .arg("1")
        .no_auto_answer()
        .pause_ms(300)
        .spawn(T);
    let invite = first.rings();
    let first_media = first.answer(&invite);
    recv_request(&mut first.ua, Method::ACK);
    let invite = second.rings();
    second.answer(&invite);
    recv_request(&mut second.ua, Method::ACK);
    // The REFER: 1003 is re-INVITEd to a port of the first call.
    let reinvite = recv_request(&mut second.ua, Method::INVITE);
    assert!(
        reinvite
            .headers
            .get(&HeaderName::To)
            .is_some_and(|t| String::from_utf8_lossy(t).contains("tag=")),
        "a re-INVITE in 1003's dialog: {}",
        common::ua::text(&reinvite)
    );
    let new_media = second.answer_reinvite(&reinvite, "1003");
    sipp.wait().assert_success();
    let _talk = target_heard(
        &second.rtp.0,
        new_media,
        0x1003,
        "1003",
        "1001",
        &first.rtp.0,
        first_media,
    );
    first.hang_up();
    recv_request(&mut second.ua, Method::BYE);
    let cdrs = sw.wait_for_cdrs(2, T);
    assert!(
        cdrs.iter().any(|c| c["end_cause"] == "transferred"),
        "the second call ended transferred: {cdrs:?}"
    );
}
