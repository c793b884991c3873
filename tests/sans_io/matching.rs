//! Matching (RFC 3261 §17.1.3, §17.2.3), CANCEL (§9.1, §9.2) and the
//! layer's refusals.

use super::*;
use switchboard::sip::transaction::{TxError, TxState};

/// §17.1.3: a response with an unknown branch, or with a known branch but
/// another CSeq method, matches nothing and is dropped as stray.
#[test]
fn stray_responses_are_dropped() {
    let mut h = Harness::new();
    let req = invite("z9hG4bKm1");
    let tx = h.send(req.clone(), udp());
    let other = invite("z9hG4bKother");
    assert!(matches!(h.recv(&response(&other, 200), udp()), Incoming::Stray { .. }));
    let mut wrong_method = response(&req, 200);
    wrong_method.headers.set(HeaderName::CSeq, "1 BYE");
    assert!(matches!(h.recv(&wrong_method, udp()), Incoming::Stray { .. }));
    assert_eq!(h.layer.state(tx), Some(TxState::Calling));
    assert!(h.take_events().is_empty());
}

/// §17.2.3: the same branch from another sent-by is another transaction;
/// sent-by host compares case-insensitively.
#[test]
fn server_matching_uses_branch_sent_by_and_method() {
    let mut h = Harness::new();
    let a = request_from("OPTIONS", "z9hG4bKsame", 1, "host.example.com:5060");
    let Incoming::Request { tx: ta, .. } = h.recv(&a, udp()) else {
        panic!("new")
    };
    let a_upper = request_from("OPTIONS", "z9hG4bKsame", 1, "HOST.example.com:5060");
    assert_eq!(h.recv(&a_upper, udp()), Incoming::Absorbed { tx: ta });
    let b = request_from("OPTIONS", "z9hG4bKsame", 1, "host.example.com:5070");
    let Incoming::Request { tx: tb, .. } = h.recv(&b, udp()) else {
        panic!("new")
    };
    assert_ne!(ta, tb);
    let c = request_from("INFO", "z9hG4bKsame", 2, "host.example.com:5060");
    assert!(matches!(h.recv(&c, udp()), Incoming::Request { .. }));
    assert_eq!(h.layer.len(), 3);
}

/// §17.2.3, §13.2.2.4: an ACK matching no transaction is a 2xx ACK for the
/// TU (dialog level).
#[test]
fn ack_without_transaction_goes_to_tu() {
    let mut h = Harness::new();
    let ack = request("ACK", "z9hG4bKlonely", 1);
    assert!(matches!(h.recv(&ack, udp()), Incoming::Ack { tx: None, .. }));
    assert!(h.layer.is_empty());
}

/// §17.2.3: requests without the magic cookie (RFC 2543 peers, RFC 4475
/// `inv2543`, `badbranch`) still get a server transaction, keyed on the
/// Request-URI, From tag, Call-ID, CSeq number and top Via; their
/// retransmissions are absorbed like any other.
#[test]
fn rfc2543_requests_use_fallback_matching() {
    let mut h = Harness::new();
    let old = request("INVITE", "oldbranch", 1);
    let Incoming::Request { tx, .. } = h.recv(&old, udp()) else {
        panic!("an RFC 2543 INVITE creates a server transaction");
    };
    assert!(matches!(h.recv(&old, udp()), Incoming::Absorbed { tx: t } if t == tx));
    let bare_cookie = request("OPTIONS", "z9hG4bK", 1);
    let Incoming::Request { tx: otx, .. } = h.recv(&bare_cookie, udp()) else {
        panic!("a bare-cookie OPTIONS creates a server transaction");
    };
    assert_ne!(tx, otx);
    // A different CSeq number is a different transaction.
    let next = request("INVITE", "oldbranch", 2);
    assert!(matches!(h.recv(&next, udp()), Incoming::Request { .. }));
    assert_eq!(h.layer.len(), 3);
}

/// §9.2: a CANCEL is its own server transaction, matched to its INVITE
/// (same branch and sent-by, method INVITE); without one, `invite` is None
/// and the TU answers 481.
#[test]
fn server_cancel_matches_its_invite() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bKc1");
    let Incoming::Request { tx: itx, .. } = h.recv(&inv, udp()) else {
        panic!("new")
    };
    let cancel = request("CANCEL", "z9hG4bKc1", 1);
    let Incoming::Cancel { tx: ctx, invite, .. } = h.recv(&cancel, udp()) else {
        panic!("cancel")
    };
    assert_ne!(ctx, itx);
    assert_eq!(invite, Some(itx));
    assert_eq!(
        h.layer
            .find_invite_for_cancel(&cancel.envelope().expect("env"), cancel.uri()),
        Some(itx)
    );
    // The TU answers 200 to the CANCEL and 487 to the INVITE.
    h.respond(ctx, 200);
    h.respond(itx, 487);
    assert_eq!(h.layer.state(itx), Some(TxState::Completed));
    // A CANCEL retransmission is absorbed by the CANCEL transaction.
    assert_eq!(h.recv(&cancel, udp()), Incoming::Absorbed { tx: ctx });
    let unknown = request("CANCEL", "z9hG4bKnone", 1);
    assert!(matches!(h.recv(&unknown, udp()), Incoming::Cancel { invite: None, .. }));
}

/// §9.1: after a provisional, the CANCEL goes out at once, built from the
/// INVITE (Request-URI, Call-ID, From, To without tag, CSeq number, single
/// top Via, Route), in its own client transaction; the 487 to the INVITE
/// is ACKed by the INVITE transaction.
#[test]
fn client_cancel_after_provisional_is_sent_at_once() {
    let mut h = Harness::new();
    let req = invite("z9hG4bKcc1");
    let itx = h.send(req.clone(), udp());
    h.recv(&response(&req, 180), udp());
    h.take_sent();
    let ctx = h.layer.client_cancel(h.now, itx).expect("cancel");
    assert_eq!(h.layer.client_cancel(h.now, itx), Ok(ctx), "idempotent");
    let t = h.layer.poll_transmit().expect("CANCEL sent");
    assert_eq!((t.tx, t.dest), (Some(ctx), udp()));
    assert_eq!(first_line(&t.bytes), "CANCEL sip:bob@example.com SIP/2.0");
    assert_eq!(
        headers(&t.bytes, HeaderName::Via),
        vec!["SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcc1"]
    );
    assert_eq!(header(&t.bytes, HeaderName::Route), "<sip:proxy.example.com;lr>");
    assert_eq!(header(&t.bytes, HeaderName::To), "Bob <sip:bob@example.com>");
    assert_eq!(
        header(&t.bytes, HeaderName::From),
        "Alice <sip:alice@example.com>;tag=a1"
    );
    assert_eq!(header(&t.bytes, HeaderName::CallId), "call-1@example.com");
    assert_eq!(header(&t.bytes, HeaderName::CSeq), "1 CANCEL");
    assert_eq!(h.layer.state(ctx), Some(TxState::Trying));
    // The CANCEL retransmits on Timer E like any non-INVITE request.
    h.run_until(ms(600));
    assert_eq!(
        first_line(&h.take_sent()[0].1.bytes),
        "CANCEL sip:bob@example.com SIP/2.0"
    );
    // 200 to the CANCEL matches the CANCEL transaction (CSeq method), not the INVITE.
    let cancel_req = h.layer.request(ctx).expect("live").clone();
    assert!(matches!(h.recv(&response(&cancel_req, 200), udp()), Incoming::Response { tx, .. } if tx == ctx));
    assert_eq!(h.layer.state(itx), Some(TxState::Proceeding));
    assert!(matches!(h.recv(&response(&req, 487), udp()), Incoming::Response { tx, .. } if tx == itx));
    assert_eq!(first_line(&h.take_sent()[0].1.bytes), "ACK sip:bob@example.com SIP/2.0");
}

/// §9.1: before any provisional the CANCEL is held (nothing sent) while the
/// INVITE keeps retransmitting, and goes out on the first provisional.
#[test]
fn client_cancel_before_provisional_waits_for_it() {
    let mut h = Harness::new();
    let req = invite("z9hG4bKcc2");
    let itx = h.send(req.clone(), udp());
    let ctx = h.layer.client_cancel(h.now, itx).expect("cancel");
    assert_eq!(h.layer.state(ctx), Some(TxState::Held));
    h.run_until(ms(1600));
    let lines: Vec<String> = h.take_sent().iter().map(|(_, t)| first_line(&t.bytes)).collect();
    assert_eq!(lines, vec!["INVITE sip:bob@example.com SIP/2.0"; 3]);
    h.recv(&response(&req, 100), udp());
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].0, sent[0].1.tx), (ms(1600), Some(ctx)));
    assert_eq!(first_line(&sent[0].1.bytes), "CANCEL sip:bob@example.com SIP/2.0");
    assert_eq!(h.layer.state(ctx), Some(TxState::Trying));
}

/// §9.1: if the final response arrives before any provisional, the held
/// CANCEL is never sent and its transaction ends.
#[test]
fn held_cancel_is_dropped_when_final_arrives_first() {
    let mut h = Harness::new();
    let req = invite("z9hG4bKcc3");
    let itx = h.send(req.clone(), udp());
    let ctx = h.layer.client_cancel(h.now, itx).expect("cancel");
    h.take_sent();
    h.recv(&response(&req, 486), udp());
    let lines: Vec<String> = h.take_sent().iter().map(|(_, t)| first_line(&t.bytes)).collect();
    assert_eq!(lines, vec!["ACK sip:bob@example.com SIP/2.0"]);
    assert_eq!(h.layer.state(ctx), None);
    assert_eq!(h.take_events(), vec![(Duration::ZERO, TxEvent::Terminated { tx: ctx })]);
}

/// §9.1: a held CANCEL also ends when the INVITE times out (Timer B).
#[test]
fn held_cancel_is_dropped_when_invite_times_out() {
    let mut h = Harness::new();
    let itx = h.send(invite("z9hG4bKcc4"), udp());
    let ctx = h.layer.client_cancel(h.now, itx).expect("cancel");
    h.run_to_end();
    let ev: Vec<TxEvent> = h.take_events().into_iter().map(|(_, e)| e).collect();
    assert!(ev.contains(&TxEvent::Terminated { tx: ctx }));
    assert!(h
        .take_sent()
        .iter()
        .all(|(_, t)| first_line(&t.bytes).starts_with("INVITE")));
    assert!(h.layer.is_empty());
}

/// §9.1: no CANCEL once a final response has arrived; only INVITEs cancel.
#[test]
fn client_cancel_refusals() {
    let mut h = Harness::new();
    let req = invite("z9hG4bKcc5");
    let itx = h.send(req.clone(), udp());
    h.recv(&response(&req, 200), udp());
    assert_eq!(
        h.layer.client_cancel(h.now, itx),
        Err(TxError::InvalidState {
            tx: itx,
            state: TxState::Accepted
        })
    );
    let otx = h.send(request("OPTIONS", "z9hG4bKcc6", 2), udp());
    assert!(matches!(
        h.layer.client_cancel(h.now, otx),
        Err(TxError::WrongKind { .. })
    ));
    h.run_to_end();
    assert_eq!(h.layer.client_cancel(h.now, itx), Err(TxError::UnknownTransaction(itx)));
}

/// §17.1 / §17.1.1.3 / §8.1.1.7: what `send_request` refuses.
#[test]
fn send_request_refusals() {
    let mut h = Harness::new();
    let now = h.now;
    assert_eq!(
        h.layer.send_request(now, request("ACK", "z9hG4bKa", 1), udp()),
        Err(TxError::AckNotATransaction)
    );
    assert_eq!(
        h.layer.send_request(now, request("OPTIONS", "nocookie", 1), udp()),
        Err(TxError::MissingBranch)
    );
    assert_eq!(
        h.layer.send_request(now, response(&invite("z9hG4bKr"), 200), udp()),
        Err(TxError::NotARequest)
    );
    let mut broken = request("OPTIONS", "z9hG4bKb", 1);
    broken.headers.remove(&HeaderName::CallId);
    assert!(matches!(
        h.layer.send_request(now, broken, udp()),
        Err(TxError::Malformed(_))
    ));
    h.send(request("OPTIONS", "z9hG4bKdup", 1), udp());
    assert_eq!(
        h.layer.send_request(now, request("OPTIONS", "z9hG4bKdup", 2), udp()),
        Err(TxError::DuplicateTransaction)
    );
    let itx = h.send(invite("z9hG4bKc"), udp());
    let resp = response(&invite("z9hG4bKc"), 200);
    assert!(matches!(
        h.layer.send_response(now, itx, resp),
        Err(TxError::WrongKind { .. })
    ));
}

/// §13.2.2.4: the TU sends the ACK for a 2xx outside any transaction.
#[test]
fn ack_for_2xx_is_sent_statelessly() {
    let mut h = Harness::new();
    let ack = request("ACK", "z9hG4bKnew", 1);
    h.layer.send_stateless(udp(), &ack);
    let t = h.layer.poll_transmit().expect("queued");
    assert_eq!(t.tx, None);
    assert_eq!(first_line(&t.bytes), "ACK sip:bob@example.com SIP/2.0");
    assert!(h.layer.is_empty());
    assert_eq!(h.layer.poll_timeout(), None);
}
