//! REFER in the engine, in virtual time (RFC 3515; issue 10 item 2): the
//! Refer-To number is routed in the referrer's own dial plan, so a phone
//! cannot transfer a call to what it could not dial itself; a routable
//! target is rung and the referrer told with NOTIFYs.

use crate::calls::{answer_call, two_phones};
use crate::sim::*;

/// The sipfrag bodies of the NOTIFYs sent to `to`, in order.
fn notifies(h: &mut Harness, to: std::net::SocketAddr) -> Vec<String> {
    h.take(to)
        .iter()
        .filter(|m| m.method().is_some_and(|x| x.as_bytes() == b"NOTIFY"))
        .map(|m| body_str(m).trim().to_owned())
        .collect()
}

// spec: RFC 3515 §2.4.2
#[test]
fn a_refer_is_routed_in_the_referrers_dial_plan_and_unreachable_targets_are_refused() {
    let (mut h, mut caller, mut callee) = two_phones();
    let mut target = Ua::phone("1003", "192.0.2.13");
    h.register(&mut target, 3600);
    let mut a = answer_call(&mut h, &mut caller, &mut callee);
    // The callee (a phone in the internal context) refers to the meet-me
    // room with a PIN: not something a transfer can reach.
    let refer = callee
        .in_dialog(&mut a.b_dlg, "REFER")
        .header("Refer-To", "<sip:7100@127.0.0.1>")
        .text();
    h.send(&callee, &refer);
    let refused = h.expect_response(callee.addr, 403);
    assert!(reason(&refused).contains("Conference"), "{}", reason(&refused));
    // To 1003: accepted, 1003 rings, the referrer is told.
    let refer = callee
        .in_dialog(&mut a.b_dlg, "REFER")
        .header("Refer-To", "<sip:1003@127.0.0.1>")
        .text();
    h.send(&callee, &refer);
    h.expect_response(callee.addr, 202);
    assert_eq!(notifies(&mut h, callee.addr), vec!["SIP/2.0 100 Trying"]);
    let t_invite = h.expect_request(target.addr, "INVITE");
    assert!(header_str(&t_invite, &switchboard::sip::msg::HeaderName::From).contains("Transfer from 1001"));
    let _ = a.out;
}
