//! INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2, §8.4).

use super::*;
use switchboard::sip::transaction::{Timer, TxState};

const BR: &str = "z9hG4bKci1";

/// §17.1.1.2: Timer A starts at T1 and doubles with no T2 cap; Timer B
/// (64*T1) ends the transaction with a Timeout event.
#[test]
fn timer_a_doubles_without_cap_then_timer_b_times_out() {
    let mut h = Harness::new();
    let tx = h.send(invite(BR), udp());
    assert_eq!(h.layer.state(tx), Some(TxState::Calling));
    h.run_to_end();
    // Original at 0, then A at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (intervals
    // 0.5, 1, 2, 4, 8, 16: past T2 = 4 s), B at 32 s.
    assert_eq!(
        millis(&h.take_send_times()),
        vec![0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    let ev = h.take_events();
    assert_eq!(ev[0], (secs(32), TxEvent::Timeout { tx, timer: Timer::B }));
    assert_eq!(ev[1], (secs(32), TxEvent::Terminated { tx }));
    assert_eq!(h.layer.state(tx), None);
    assert!(h.layer.is_empty());
}

/// §17.1.1.2: every retransmission carries the same bytes as the original.
#[test]
fn timer_a_retransmits_identical_bytes() {
    let mut h = Harness::new();
    h.send(invite(BR), udp());
    h.run_until(ms(1600));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|(_, t)| t.bytes == sent[0].1.bytes && t.dest == udp()));
}

/// §17.1.1.2: a provisional moves Calling to Proceeding, goes to the TU,
/// and stops Timers A and B.
#[test]
fn provisional_stops_retransmissions_and_timer_b() {
    let mut h = Harness::new();
    let req = invite(BR);
    let tx = h.send(req.clone(), udp());
    h.run_until(ms(600)); // one retransmission
    let inc = h.recv(&response(&req, 180), udp());
    assert!(matches!(inc, Incoming::Response { tx: t, .. } if t == tx));
    assert_eq!(h.layer.state(tx), Some(TxState::Proceeding));
    assert_eq!(h.layer.poll_timeout(), None);
    assert_eq!(h.take_sent().len(), 2);
    // Further provisionals also go to the TU.
    assert!(matches!(h.recv(&response(&req, 183), udp()), Incoming::Response { .. }));
}

/// §17.1.1.3: a 300-699 is passed up and answered with an ACK carrying the
/// INVITE's Request-URI, Call-ID, From, CSeq number, single top Via and
/// Route headers, and the response's To (with tag).
#[test]
fn non_2xx_final_generates_ack() {
    let mut h = Harness::new();
    let req = invite(BR);
    let tx = h.send(req.clone(), udp());
    h.take_sent();
    let inc = h.recv(&response(&req, 486), udp());
    assert!(
        matches!(inc, Incoming::Response { tx: t, ref response } if t == tx && response.status() == StatusCode::new(486))
    );
    assert_eq!(h.layer.state(tx), Some(TxState::Completed));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    let ack = &sent[0].1;
    assert_eq!(ack.tx, Some(tx));
    assert_eq!(ack.dest, udp());
    assert_eq!(first_line(&ack.bytes), "ACK sip:bob@example.com SIP/2.0");
    assert_eq!(
        headers(&ack.bytes, HeaderName::Via),
        vec![format!("SIP/2.0/UDP 192.0.2.1:5060;branch={BR}")]
    );
    assert_eq!(header(&ack.bytes, HeaderName::Route), "<sip:proxy.example.com;lr>");
    assert_eq!(
        header(&ack.bytes, HeaderName::From),
        "Alice <sip:alice@example.com>;tag=a1"
    );
    assert_eq!(header(&ack.bytes, HeaderName::To), "Bob <sip:bob@example.com>;tag=b2");
    assert_eq!(header(&ack.bytes, HeaderName::CallId), "call-1@example.com");
    assert_eq!(header(&ack.bytes, HeaderName::CSeq), "1 ACK");
    assert_eq!(header(&ack.bytes, HeaderName::MaxForwards), "70");
    assert!(headers(&ack.bytes, HeaderName::Contact).is_empty());
}

/// §17.1.1.2: in Completed, retransmitted finals are absorbed and each is
/// answered with the ACK again; Timer D (32 s over UDP) then terminates.
#[test]
fn timer_d_absorbs_retransmitted_finals_by_resending_ack() {
    let mut h = Harness::new();
    let req = invite(BR);
    let tx = h.send(req.clone(), udp());
    h.recv(&response(&req, 180), udp());
    h.run_until(secs(2));
    h.recv(&response(&req, 603), udp());
    let first_ack = h.take_sent().pop().expect("ACK").1.bytes;
    h.run_until(secs(10));
    for _ in 0..2 {
        assert_eq!(h.recv(&response(&req, 603), udp()), Incoming::Absorbed { tx });
    }
    let acks = h.take_sent();
    assert_eq!(acks.len(), 2);
    assert!(acks.iter().all(|(_, t)| t.bytes == first_ack));
    // A late provisional is absorbed too, without an ACK.
    assert_eq!(h.recv(&response(&req, 180), udp()), Incoming::Absorbed { tx });
    assert!(h.take_sent().is_empty());
    h.run_to_end();
    assert_eq!(h.take_events(), vec![(secs(34), TxEvent::Terminated { tx })]);
    assert!(h.take_sent().is_empty(), "D sends nothing");
}

/// §17.1.1.2: over a reliable transport there is no Timer A, Timer B still
/// runs, and Timer D is zero (Terminated right after the ACK).
#[test]
fn reliable_transport_disables_timer_a_and_zeroes_timer_d() {
    let mut h = Harness::new();
    let req = invite(BR);
    let tx = h.send(req.clone(), tcp());
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + secs(32)));
    h.run_until(secs(10));
    assert_eq!(h.take_sent().len(), 1, "no retransmission over TCP");
    h.recv(&response(&req, 404), tcp());
    let sent = h.take_sent();
    assert_eq!(first_line(&sent[0].1.bytes), "ACK sip:bob@example.com SIP/2.0");
    assert_eq!(h.layer.state(tx), None);
    assert_eq!(h.take_events(), vec![(secs(10), TxEvent::Terminated { tx })]);
    assert_eq!(h.layer.poll_timeout(), None);
}

/// §17.1.1.2: Timer B also fires over TCP when nothing answers.
#[test]
fn reliable_transport_timer_b_times_out() {
    let mut h = Harness::new();
    let tx = h.send(invite(BR), tcp());
    h.run_to_end();
    assert_eq!(h.take_send_times(), vec![Duration::ZERO]);
    assert_eq!(h.take_events()[0], (secs(32), TxEvent::Timeout { tx, timer: Timer::B }));
}

/// RFC 6026 §7.2, §8.4: a 2xx moves the transaction to Accepted (no ACK
/// from the transaction, §13.2.2.4); 2xx retransmissions still reach the
/// TU until Timer M (64*T1) terminates it. Afterwards a 2xx is stray.
#[test]
fn success_enters_accepted_and_timer_m_terminates() {
    let mut h = Harness::new();
    let req = invite(BR);
    let tx = h.send(req.clone(), udp());
    h.run_until(secs(1));
    h.take_sent();
    assert!(matches!(h.recv(&response(&req, 200), udp()), Incoming::Response { tx: t, .. } if t == tx));
    assert_eq!(h.layer.state(tx), Some(TxState::Accepted));
    assert!(h.take_sent().is_empty(), "the transaction does not ACK a 2xx");
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + secs(33)));
    h.run_until(secs(5));
    assert!(matches!(h.recv(&response(&req, 200), udp()), Incoming::Response { tx: t, .. } if t == tx));
    // Non-2xx finals in Accepted are absorbed.
    assert_eq!(h.recv(&response(&req, 500), udp()), Incoming::Absorbed { tx });
    h.run_to_end();
    assert!(h.take_sent().is_empty());
    assert_eq!(h.take_events(), vec![(secs(33), TxEvent::Terminated { tx })]);
    assert!(matches!(h.recv(&response(&req, 200), udp()), Incoming::Stray { .. }));
}

/// RFC 6026 §8.4: Accepted is reached from Proceeding too.
#[test]
fn success_after_provisional_enters_accepted() {
    let mut h = Harness::new();
    let req = invite(BR);
    let tx = h.send(req.clone(), udp());
    h.recv(&response(&req, 180), udp());
    assert!(matches!(h.recv(&response(&req, 200), udp()), Incoming::Response { .. }));
    assert_eq!(h.layer.state(tx), Some(TxState::Accepted));
}

/// §17.1.1.2, §17.1.4: a transport failure reported by the driver ends the
/// transaction with TransportError.
#[test]
fn transport_error_terminates() {
    let mut h = Harness::new();
    let tx = h.send(invite(BR), udp());
    let sent = h.take_sent();
    assert_eq!(sent[0].1.tx, Some(tx));
    h.layer.handle_transport_error(h.now, tx);
    let mut ev = Vec::new();
    while let Some(e) = h.layer.poll_event() {
        ev.push(e);
    }
    assert_eq!(ev, vec![TxEvent::TransportError { tx }, TxEvent::Terminated { tx }]);
    assert_eq!(h.layer.poll_timeout(), None);
}
