//! Reliable provisional responses end to end (issue 10 item 3; RFC 3262)
//! with SIPp: a carrier that requires 100rel reaches a phone that does not
//! support it (the switch sends the caller a reliable 180 and takes its
//! PRACK), and a carrier callee that sends its 180 reliably is PRACKed by
//! the switch while the phone that called gets an ordinary 180.

mod common;

use common::conference::{recv_request, Phone};
use common::media::*;
use common::*;
use std::time::Duration;
use switchboard::sip::msg::{HeaderName, Method, StatusCode};

const T: Duration = Duration::from_secs(20);

// spec: RFC 3262 §3
#[test]
fn a_carrier_requiring_100rel_reaches_a_phone_without_it() {
    require_sipp();
    let sw = Switch::start();
    let mut phone = Phone::register(&sw, "1001");
    let sipp = Sipp::new("uac_100rel.xml")
        .remote(sw.external_addr())
        .service("1001")
        .pause_ms(300)
        .spawn(T);
    let invite = phone.rings();
    assert!(
        !invite
            .headers
            .get_all(&HeaderName::Require)
            .any(|v| String::from_utf8_lossy(v).contains("100rel")),
        "the phone is not asked for 100rel"
    );
    // The carrier PRACKs the switch's reliable 180 (loopback: within a
    // millisecond or two) before the phone answers; SIPp's scenario takes
    // the PRACK's 200 before the INVITE's, so the answer waits a moment.
    std::thread::sleep(Duration::from_millis(300));
    phone.answer(&invite);
    recv_request(&mut phone.ua, Method::ACK);
    let bye = recv_request(&mut phone.ua, Method::BYE);
    phone.ua.reply(&bye, StatusCode::OK, None);
    sipp.wait().assert_success();
}

// spec: RFC 3262 §4
#[test]
fn a_carrier_sending_a_reliable_180_is_pracked_and_the_phone_gets_a_plain_one() {
    require_sipp();
    let trunk_port = free_port();
    let cfg = ConfigDir::from_default();
    cfg.patch("trunks.toml", "127.0.0.1:5090", &format!("127.0.0.1:{trunk_port}"));
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut uas = Sipp::new("uas_100rel.xml").local_port(trunk_port).spawn(T);
    uas.wait_ready(Duration::from_secs(5));
    let mut caller = common::ua::Ua::udp(sw.internal_addr());
    let invite = caller.invite("1002", "5551234");
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);
    let mut ringing = None;
    let ok = loop {
        let m = caller.recv(Duration::from_secs(10)).expect("a response");
        match common::ua::code(&m) {
            180 => ringing = Some(m),
            c if c >= 200 => break m,
            _ => {}
        }
    };
    let ringing = ringing.expect("the phone heard the 180");
    assert!(
        ringing.headers.get(&HeaderName::RSeq).is_none(),
        "a plain 180 for a phone without 100rel"
    );
    assert_eq!(common::ua::code(&ok), 200, "{}", common::ua::text(&ok));
    ack_2xx(&mut caller, &invite, &ok);
    let seq = invite.envelope().expect("envelope").cseq.seq;
    let bye = caller_in_dialog(&mut caller, Method::BYE, &invite, &ok, seq + 1);
    let done = caller.transact(&bye, common::ua::TIMEOUT).expect("200 to BYE");
    assert_eq!(common::ua::code(&done), 200);
    uas.wait().assert_success();
}

// spec: RFC 3262 §3, §4
/// Both sides support 100rel: a phone (our UA, `Supported: 100rel`) calls
/// out through a carrier (SIPp) whose 180 is reliable and that answers
/// only once PRACKed. The phone gets the 180 reliably and PRACKs it; only
/// then does the switch PRACK the carrier (end to end), which answers.
#[test]
fn with_both_sides_supporting_100rel_the_prack_goes_end_to_end() {
    require_sipp();
    let trunk_port = free_port();
    let cfg = ConfigDir::from_default();
    cfg.patch("trunks.toml", "127.0.0.1:5090", &format!("127.0.0.1:{trunk_port}"));
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut uas = Sipp::new("uas_100rel.xml").local_port(trunk_port).spawn(T);
    uas.wait_ready(Duration::from_secs(5));
    let mut caller = common::ua::Ua::udp(sw.internal_addr());
    let mut invite = caller.invite("1002", "5551234");
    invite.headers.push(HeaderName::Supported, "100rel");
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);
    let ringing = loop {
        let m = caller.recv(Duration::from_secs(10)).expect("a provisional response");
        let c = common::ua::code(&m);
        assert!(c < 200, "no final response before our PRACK: {}", common::ua::text(&m));
        if c == 180 {
            break m;
        }
    };
    let rseq = String::from_utf8_lossy(ringing.headers.get(&HeaderName::RSeq).expect("a reliable 180")).into_owned();
    // Nothing final comes while we hold our PRACK back (the carrier waits for its own).
    assert!(
        caller
            .recv(Duration::from_millis(700))
            .is_none_or(|m| common::ua::code(&m) == 180),
        "no answer before the end-to-end PRACK"
    );
    let seq = invite.envelope().expect("envelope").cseq.seq;
    let mut prack = caller_in_dialog(&mut caller, Method::PRACK, &invite, &ringing, seq + 1);
    prack.headers.push(HeaderName::RAck, format!("{rseq} {seq} INVITE"));
    let pracked = caller.transact(&prack, common::ua::TIMEOUT).expect("200 to PRACK");
    assert_eq!(common::ua::code(&pracked), 200, "{}", common::ua::text(&pracked));
    let ok = loop {
        let m = caller.recv(Duration::from_secs(10)).expect("the answer");
        if common::ua::code(&m) >= 200 {
            break m;
        }
    };
    assert_eq!(common::ua::code(&ok), 200, "{}", common::ua::text(&ok));
    ack_2xx(&mut caller, &invite, &ok);
    let bye = caller_in_dialog(&mut caller, Method::BYE, &invite, &ok, seq + 2);
    let done = caller.transact(&bye, common::ua::TIMEOUT).expect("200 to BYE");
    assert_eq!(common::ua::code(&done), 200);
    uas.wait().assert_success();
}
