//! Non-INVITE server transaction (RFC 3261 §17.2.2).

use super::*;
use switchboard::sip::transaction::{TxError, TxState};

const BR: &str = "z9hG4bKsn1";

fn new_request(h: &mut Harness, from: Destination) -> (TxId, Message) {
    let req = request("REGISTER", BR, 3);
    match h.recv(&req, from) {
        Incoming::Request { tx, .. } => (tx, req),
        other => panic!("expected a new server transaction, got {other:?}"),
    }
}

/// §17.2.2: in Trying, retransmissions are discarded (nothing to resend)
/// and no response is generated on the TU's behalf.
#[test]
fn trying_absorbs_retransmissions_silently() {
    let mut h = Harness::new();
    let (tx, req) = new_request(&mut h, udp());
    assert_eq!(h.layer.state(tx), Some(TxState::Trying));
    assert_eq!(h.layer.poll_timeout(), None, "no automatic 100 for non-INVITE");
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    assert!(h.take_sent().is_empty());
}

/// §17.2.2: in Proceeding, a retransmission gets the last provisional.
#[test]
fn proceeding_resends_last_provisional() {
    let mut h = Harness::new();
    let (tx, req) = new_request(&mut h, udp());
    h.respond(tx, 100);
    assert_eq!(h.layer.state(tx), Some(TxState::Proceeding));
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    let sent: Vec<String> = h.take_sent().iter().map(|(_, t)| first_line(&t.bytes)).collect();
    assert_eq!(sent, vec!["SIP/2.0 100 Trying", "SIP/2.0 100 Trying"]);
}

/// §17.2.2: a final response moves to Completed, retransmissions get the
/// final again, and Timer J (64*T1 over UDP) terminates; the transaction
/// never retransmits on its own.
#[test]
fn completed_resends_final_until_timer_j() {
    let mut h = Harness::new();
    let (tx, req) = new_request(&mut h, udp());
    h.run_until(ms(300));
    h.respond(tx, 200);
    assert_eq!(h.layer.state(tx), Some(TxState::Completed));
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + ms(32_300)));
    h.run_until(secs(4));
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    h.run_to_end();
    let sent = h.take_sent();
    assert_eq!(
        millis(&sent.iter().map(|(at, _)| *at).collect::<Vec<_>>()),
        vec![300, 4000]
    );
    assert!(sent
        .iter()
        .all(|(_, t)| first_line(&t.bytes) == "SIP/2.0 200 OK" && t.dest == udp()));
    assert_eq!(h.take_events(), vec![(ms(32_300), TxEvent::Terminated { tx })]);
    // After J the same request is new again.
    assert!(matches!(h.recv(&req, udp()), Incoming::Request { .. }));
}

/// §17.2.2: over a reliable transport Timer J is zero.
#[test]
fn reliable_transport_zeroes_timer_j() {
    let mut h = Harness::new();
    let (tx, _) = new_request(&mut h, tcp());
    h.respond(tx, 200);
    assert_eq!(h.layer.state(tx), None);
    assert_eq!(h.take_events(), vec![(Duration::ZERO, TxEvent::Terminated { tx })]);
    assert_eq!(h.take_sent()[0].1.dest, tcp());
}

/// §17.2.2: only one final response.
#[test]
fn second_final_is_refused() {
    let mut h = Harness::new();
    let (tx, req) = new_request(&mut h, udp());
    h.respond(tx, 401);
    assert_eq!(
        h.layer.send_response(h.now, tx, response(&req, 200)),
        Err(TxError::InvalidState {
            tx,
            state: TxState::Completed
        })
    );
}
