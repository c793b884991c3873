//! Phone-to-phone calls through the B2BUA (RFC 3261 §13, §12, §15, §9,
//! §14; RFC 7092 B2BUA behaviour) and routing failures.

use crate::sim::*;
use switchboard::sip::msg::{HeaderName, Message};

/// Caller 1000 and a registered callee 1001.
pub fn two_phones() -> (Harness, Ua, Ua) {
    phones_on(Harness::new())
}

/// Two phones on a switch that passes SDP through (`[media] anchor = false`).
pub fn two_phones_pass_through() -> (Harness, Ua, Ua) {
    phones_on(Harness::pass_through())
}

fn phones_on(mut h: Harness) -> (Harness, Ua, Ua) {
    let caller = Ua::phone("1000", "192.0.2.10");
    let mut callee = Ua::phone("1001", "192.0.2.11");
    h.register(&mut callee, 3600);
    (h, caller, callee)
}

/// An answered call: returns the caller's outgoing call and dialog, the
/// callee's received INVITE and dialog. The caller has ACKed.
pub struct Answered {
    pub out: Outgoing,
    pub a_dlg: Dlg,
    pub b_invite: Message,
    pub b_dlg: Dlg,
}

pub const CALLEE_TAG: &str = "calleetag1";

pub fn answer_call(h: &mut Harness, caller: &mut Ua, callee: &mut Ua) -> Answered {
    let out = h.place_call(caller, &callee.user.clone());
    let b_invite = h.expect_request(callee.addr, "INVITE");
    let ringing = response(
        &b_invite,
        180,
        "Ringing",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        None,
    );
    h.send(callee, &ringing);
    h.expect_response(caller.addr, 180);
    let answer = sdp("192.0.2.11", 50000);
    let ok = response(
        &b_invite,
        200,
        "OK",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        Some(("application/sdp", &answer)),
    );
    h.send(callee, &ok);
    let a_ok = h.expect_response(caller.addr, 200);
    let a_dlg = caller.dialog_from_2xx(&out, &a_ok);
    let ack = caller.ack_2xx(&a_dlg, out.cseq).text();
    h.send(caller, &ack);
    h.expect_request(callee.addr, "ACK");
    let b_dlg = callee.dialog_from_invite(&b_invite, CALLEE_TAG);
    Answered {
        out,
        a_dlg,
        b_invite,
        b_dlg,
    }
}

/// RFC 3261 §13 + §22.3 + §17.1.1.3 through a B2BUA: INVITE → 407, the
/// ACK for the 407 is absorbed, the INVITE with credentials gets 100; the
/// callee leg is a new dialog (new Call-ID and tags) sent to the callee's
/// registered source; 180 and 200 are mapped back onto the caller's dialog;
/// the caller's ACK releases the ACK to the callee; BYE from the caller is
/// answered and carried to the callee; a CDR records the answer and cause.
#[test]
fn basic_call_phone_to_phone_caller_hangs_up() {
    let (mut h, mut caller, callee) = two_phones_pass_through();
    let out = h.place_call(&mut caller, "1001");
    // B leg INVITE.
    let b_invite = h.expect_request(callee.addr, "INVITE");
    assert_eq!(
        b_invite.uri().unwrap().to_string(),
        "sip:1001@192.0.2.11:5062",
        "Request-URI is the registered Contact"
    );
    assert_ne!(call_id(&b_invite), out.call_id, "B2BUA: a new Call-ID on the B leg");
    assert_ne!(from_tag(&b_invite), tag_of(&out.from), "new From tag");
    assert!(to_tag(&b_invite).is_none());
    assert_eq!(cseq_num(&b_invite), 1);
    assert_eq!(header_str(&b_invite, &HeaderName::MaxForwards).trim(), "69");
    assert_eq!(
        body_str(&b_invite),
        out.invite.body.as_ref().unwrap().1,
        "the caller's offer is relayed unchanged"
    );
    assert!(header_str(&b_invite, &HeaderName::Via).contains("127.0.0.1:5060"));
    assert!(
        b_invite.headers.get(&HeaderName::ProxyAuthorization).is_none(),
        "credentials do not leak to the B leg"
    );
    // 180.
    let ringing = response(
        &b_invite,
        180,
        "Ringing",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        None,
    );
    h.send(&callee, &ringing);
    let a180 = h.expect_response(caller.addr, 180);
    assert_eq!(call_id(&a180), out.call_id);
    assert_eq!(header_str(&a180, &HeaderName::From), out.from);
    let a_tag = to_tag(&a180).expect("180 carries our To tag");
    assert_ne!(a_tag, CALLEE_TAG, "the callee's tag does not leak");
    assert!(header_str(&a180, &HeaderName::Via).contains(&out.branch));
    // 200 with SDP.
    let answer = sdp("192.0.2.11", 50000);
    let ok = response(
        &b_invite,
        200,
        "OK",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        Some(("application/sdp", &answer)),
    );
    h.send(&callee, &ok);
    let a200 = h.expect_response(caller.addr, 200);
    assert_eq!(call_id(&a200), out.call_id);
    assert_eq!(to_tag(&a200).as_deref(), Some(a_tag.as_str()), "same dialog as the 180");
    assert_eq!(cseq_num(&a200), out.cseq);
    assert!(
        body_str(&a200).contains("c=IN IP4 192.0.2.11"),
        "the callee's answer is relayed"
    );
    assert!(header_str(&a200, &HeaderName::ContentType).contains("application/sdp"));
    assert!(contact_uri(&a200).contains("127.0.0.1:5060"), "Contact is the switch");
    h.assert_silent(callee.addr);
    // The ACK to the callee waits for the caller's ACK.
    let mut a_dlg = caller.dialog_from_2xx(&out, &a200);
    let ack = caller.ack_2xx(&a_dlg, out.cseq).text();
    h.send(&caller, &ack);
    let b_ack = h.expect_request(callee.addr, "ACK");
    assert_eq!(call_id(&b_ack), call_id(&b_invite));
    assert_eq!(cseq_num(&b_ack), 1);
    assert_eq!(to_tag(&b_ack).as_deref(), Some(CALLEE_TAG));
    assert_eq!(h.engine.stats().calls_answered, 1);
    // BYE from the caller.
    h.advance(secs(10));
    h.clear_wire();
    let bye = caller.in_dialog(&mut a_dlg, "BYE").text();
    h.send(&caller, &bye);
    h.expect_response_to(caller.addr, 200, "BYE");
    let b_bye = h.expect_request(callee.addr, "BYE");
    assert_eq!(call_id(&b_bye), call_id(&b_invite));
    assert_eq!(to_tag(&b_bye).as_deref(), Some(CALLEE_TAG));
    assert_eq!(from_tag(&b_bye), from_tag(&b_invite));
    assert!(cseq_num(&b_bye) > 1);
    h.send(&callee, &response(&b_bye, 200, "OK", None, &[], None));
    // CDR.
    assert_eq!(h.cdrs.len(), 1);
    let cdr = &h.cdrs[0];
    assert_eq!(cdr.call_id, out.call_id);
    assert_eq!(cdr.caller, "1000");
    assert_eq!(cdr.callee, "1001");
    assert_eq!(cdr.route, "user:1001");
    assert!(cdr.answer_ms.is_some());
    assert_eq!(cdr.end_ms - cdr.answer_ms.unwrap(), 10_000);
    assert_eq!(cdr.end_cause, "caller_hangup");
    assert_eq!(cdr.sip_code, Some(200));
    assert_eq!(cdr.b_leg.as_deref(), Some(call_id(&b_invite).as_str()));
    h.advance(secs(40));
    assert_eq!(h.engine.stats().calls_active, 0, "the call is reaped");
}

/// RFC 3261 §15.1.2: BYE from the callee is answered and carried to the
/// caller on the caller's dialog (our tag as From, the caller's as To).
#[test]
fn basic_call_callee_hangs_up() {
    let (mut h, mut caller, mut callee) = two_phones();
    let mut c = answer_call(&mut h, &mut caller, &mut callee);
    let bye = callee.in_dialog(&mut c.b_dlg, "BYE").text();
    h.send(&callee, &bye);
    h.expect_response_to(callee.addr, 200, "BYE");
    let a_bye = h.expect_request(caller.addr, "BYE");
    assert_eq!(call_id(&a_bye), c.out.call_id);
    assert_eq!(
        a_bye.uri().unwrap().to_string(),
        "sip:1000@192.0.2.10:5062",
        "sent to the caller's Contact"
    );
    assert_eq!(from_tag(&a_bye), tag_of(&c.a_dlg.remote), "our tag towards the caller");
    assert_eq!(to_tag(&a_bye).unwrap(), tag_of(&c.out.from));
    h.send(&caller, &response(&a_bye, 200, "OK", None, &[], None));
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].end_cause, "callee_hangup");
    assert!(h.cdrs[0].answer_ms.is_some());
}

/// RFC 3261 §17.2.1: the ACK for the 407 matches the INVITE server
/// transaction and is absorbed: no output, and the 407 stops being
/// retransmitted (Timer G off).
#[test]
fn ack_for_407_is_absorbed_and_stops_retransmissions() {
    let (mut h, mut caller, _callee) = two_phones();
    let ruri = "sip:1001@127.0.0.1:5060";
    let inv = caller.req("INVITE", ruri).sdp();
    h.send(&caller, &inv.text());
    let ch = h.expect_response(caller.addr, 407);
    let ack = caller
        .req("ACK", ruri)
        .call_id(&inv.call_id)
        .from(&inv.from)
        .to(&header_str(&ch, &HeaderName::To))
        .branch(&inv.branch)
        .cseq_method(1, "ACK")
        .no_contact()
        .text();
    h.send(&caller, &ack);
    h.advance(secs(40));
    h.assert_silent(caller.addr);
    assert_eq!(h.engine.stats().calls_started, 0);
}

/// RFC 3261 §9.2: CANCEL while ringing: 200 to the CANCEL, 487 to the
/// INVITE, CANCEL to the callee leg (whose 487 the engine ACKs).
#[test]
fn cancel_from_caller_while_ringing() {
    let (mut h, mut caller, callee) = two_phones();
    let out = h.place_call(&mut caller, "1001");
    let b_invite = h.expect_request(callee.addr, "INVITE");
    h.send(
        &callee,
        &response(
            &b_invite,
            180,
            "Ringing",
            Some(CALLEE_TAG),
            &[("Contact", &callee.contact())],
            None,
        ),
    );
    h.expect_response(caller.addr, 180);
    let cancel = caller
        .req("CANCEL", &out.ruri)
        .call_id(&out.call_id)
        .from(&out.from)
        .to(&out.to)
        .branch(&out.branch)
        .cseq_method(out.cseq, "CANCEL")
        .no_contact()
        .text();
    h.send(&caller, &cancel);
    h.expect_response_to(caller.addr, 200, "CANCEL");
    let r487 = h.expect_response_to(caller.addr, 487, "INVITE");
    assert!(to_tag(&r487).is_some());
    let b_cancel = h.expect_request(callee.addr, "CANCEL");
    assert_eq!(call_id(&b_cancel), call_id(&b_invite));
    assert_eq!(cseq_num(&b_cancel), 1);
    assert_eq!(
        header_str(&b_cancel, &HeaderName::Via),
        header_str(&b_invite, &HeaderName::Via),
        "§9.1: the CANCEL's Via matches the INVITE's top Via"
    );
    h.send(&callee, &response(&b_cancel, 200, "OK", Some(CALLEE_TAG), &[], None));
    h.send(
        &callee,
        &response(&b_invite, 487, "Request Terminated", Some(CALLEE_TAG), &[], None),
    );
    let b_ack = h.expect_request(callee.addr, "ACK");
    assert_eq!(cseq_num(&b_ack), 1);
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].end_cause, "caller_cancel");
    assert_eq!(h.cdrs[0].sip_code, Some(487));
    assert!(h.cdrs[0].answer_ms.is_none());
}

/// RFC 3261 §14: a re-INVITE from the caller is relayed on the callee's
/// dialog (its CSeq), the callee's 200 mapped back with its SDP, and the
/// caller's ACK relayed with the re-INVITE's CSeq.
#[test]
fn reinvite_from_caller_is_relayed() {
    let (mut h, mut caller, mut callee) = two_phones_pass_through();
    let mut c = answer_call(&mut h, &mut caller, &mut callee);
    let hold = sdp("192.0.2.10", 40002).replace("a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=sendonly\r\n");
    let reinv = caller.in_dialog(&mut c.a_dlg, "INVITE").body("application/sdp", &hold);
    h.send(&caller, &reinv.text());
    let b_reinv = h.expect_request(callee.addr, "INVITE");
    assert_eq!(call_id(&b_reinv), call_id(&c.b_invite));
    assert_eq!(to_tag(&b_reinv).as_deref(), Some(CALLEE_TAG));
    assert_eq!(cseq_num(&b_reinv), 2);
    assert!(body_str(&b_reinv).contains("a=sendonly"));
    let answer = sdp("192.0.2.11", 50000).replace("a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=recvonly\r\n");
    h.send(
        &callee,
        &response(
            &b_reinv,
            200,
            "OK",
            None,
            &[("Contact", &callee.contact())],
            Some(("application/sdp", &answer)),
        ),
    );
    let a_ok = h.expect_response_to(caller.addr, 200, "INVITE");
    assert_eq!(cseq_num(&a_ok), c.a_dlg.cseq);
    assert!(body_str(&a_ok).contains("a=recvonly"));
    h.assert_silent(callee.addr);
    let ack = caller.ack_2xx(&c.a_dlg, c.a_dlg.cseq).text();
    h.send(&caller, &ack);
    let b_ack = h.expect_request(callee.addr, "ACK");
    assert_eq!(cseq_num(&b_ack), 2);
    assert_eq!(call_id(&b_ack), call_id(&c.b_invite));
}

/// RFC 3311 UPDATE from the callee (an in-dialog target/session refresh
/// without ACK): relayed on the caller's dialog with the callee's SDP, its
/// 200 mapped back to the callee with the caller's SDP.
#[test]
fn update_from_callee_is_relayed() {
    let (mut h, mut caller, mut callee) = two_phones_pass_through();
    let mut c = answer_call(&mut h, &mut caller, &mut callee);
    let offer = sdp("192.0.2.11", 50002);
    let update = callee.in_dialog(&mut c.b_dlg, "UPDATE").body("application/sdp", &offer);
    h.send(&callee, &update.text());
    let a_update = h.expect_request(caller.addr, "UPDATE");
    assert_eq!(call_id(&a_update), c.out.call_id, "sent in the caller's dialog");
    assert!(body_str(&a_update).contains("50002"), "the callee's SDP is carried");
    let answer = sdp("192.0.2.10", 40004);
    h.send(
        &caller,
        &response(
            &a_update,
            200,
            "OK",
            None,
            &[("Contact", &caller.contact())],
            Some(("application/sdp", &answer)),
        ),
    );
    let b_ok = h.expect_response_to(callee.addr, 200, "UPDATE");
    assert_eq!(cseq_num(&b_ok), c.b_dlg.cseq, "answers the callee's UPDATE");
    assert!(body_str(&b_ok).contains("40004"), "with the caller's SDP");
    h.assert_silent(caller.addr);
}

/// Routing: a directory user with no registration gets 480.
#[test]
fn call_to_unregistered_user_gets_480() {
    let (mut h, mut caller, _callee) = two_phones();
    let out = h.place_call_expect_final(&mut caller, "1002", 480);
    assert_eq!(reason(&out), "User Not Registered");
}

/// Routing: nothing in the dial plan matches → 404.
#[test]
fn call_to_unroutable_number_gets_404() {
    let (mut h, mut caller, _callee) = two_phones();
    let r = h.place_call_expect_final(&mut caller, "abc", 404);
    assert_eq!(reason(&r), "No Route");
}

const DIALPLAN_TEST: &str = r#"
default_no_answer_timeout_s = 30

[[context.internal]]
match = { regex = "^100[0-9]$" }
action = "user"

[[context.internal]]
name = "unknown extensions"
match = { regex = "^2[0-9]{3}$" }
action = "user"

[[context.internal]]
name = "emergency"
match = { exact = "911" }
action = "reject"
code = 603
reason = "Emergency Calls Not Here"

[[context.external]]
match = { regex = "^100[0-9]$" }
action = "user"
"#;

/// Routing: a user rule naming an extension the directory lacks → 404.
#[test]
fn call_to_unknown_extension_gets_404() {
    let mut h = Harness::with_files(&[("dialplan.toml", DIALPLAN_TEST)]);
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let r = h.place_call_expect_final(&mut caller, "2000", 404);
    assert_eq!(reason(&r), "No Such User");
}

/// Routing: a reject rule answers its own code and reason.
#[test]
fn dialplan_reject_rule_answers_its_code() {
    let mut h = Harness::with_files(&[("dialplan.toml", DIALPLAN_TEST)]);
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let r = h.place_call_expect_final(&mut caller, "911", 603);
    assert_eq!(reason(&r), "Emergency Calls Not Here");
}

/// Clean shutdown (DESIGN.md driver, convention 10): an answered call is
/// ended with BYE on both legs.
#[test]
fn shutdown_ends_answered_call_with_bye_on_both_legs() {
    let (mut h, mut caller, mut callee) = two_phones();
    let c = answer_call(&mut h, &mut caller, &mut callee);
    h.shutdown();
    let a_bye = h.expect_request(caller.addr, "BYE");
    assert_eq!(call_id(&a_bye), c.out.call_id);
    let b_bye = h.expect_request(callee.addr, "BYE");
    assert_eq!(call_id(&b_bye), call_id(&c.b_invite));
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].end_cause, "shutdown");
    h.send(&caller, &response(&a_bye, 200, "OK", None, &[], None));
    h.send(&callee, &response(&b_bye, 200, "OK", None, &[], None));
    h.advance(secs(40));
    assert!(h.engine.is_idle());
}

/// Clean shutdown while ringing: CANCEL to the callee leg, 503 to the caller;
/// new INVITEs get 503.
#[test]
fn shutdown_while_ringing_cancels_and_answers_503() {
    let (mut h, mut caller, callee) = two_phones();
    h.place_call(&mut caller, "1001");
    let b_invite = h.expect_request(callee.addr, "INVITE");
    h.send(
        &callee,
        &response(
            &b_invite,
            180,
            "Ringing",
            Some(CALLEE_TAG),
            &[("Contact", &callee.contact())],
            None,
        ),
    );
    h.expect_response(caller.addr, 180);
    h.shutdown();
    h.expect_response_to(caller.addr, 503, "INVITE");
    h.expect_request(callee.addr, "CANCEL");
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].end_cause, "shutdown");
    // New calls are refused while shutting down.
    let inv = caller.req("INVITE", "sip:1001@127.0.0.1:5060").sdp().text();
    h.send(&caller, &inv);
    h.expect_response_to(caller.addr, 503, "INVITE");
}

impl Harness {
    /// Places an authenticated call that is refused: returns the final
    /// response (after the 407 round).
    pub fn place_call_expect_final(&mut self, caller: &mut Ua, dialled: &str, code: u16) -> Message {
        let ruri = format!("sip:{dialled}@{}", caller.server);
        let first = caller.req("INVITE", &ruri).sdp();
        self.send(caller, &first.text());
        let ch = self.expect_response(caller.addr, 407);
        let auth = caller.authorization(&ch, HeaderName::ProxyAuthenticate, "INVITE", &ruri, None);
        let second = caller
            .req("INVITE", &ruri)
            .call_id(&first.call_id)
            .from(&first.from)
            .cseq(2)
            .header("Proxy-Authorization", &auth)
            .sdp();
        self.send(caller, &second.text());
        let got = self.take(caller.addr);
        let finals: Vec<&Message> = got
            .iter()
            .filter(|m| m.status().map(|c| c.as_u16() >= 200).unwrap_or(false))
            .collect();
        assert_eq!(
            finals.len(),
            1,
            "one final: {:?}",
            got.iter().map(first_line).collect::<Vec<_>>()
        );
        assert_eq!(finals[0].status().unwrap().as_u16(), code, "{}", first_line(finals[0]));
        finals[0].clone()
    }
}
