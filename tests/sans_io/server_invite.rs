//! INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1, §8.7).

use super::*;
use switchboard::sip::transaction::{Timer, TxError, TxState};

const BR: &str = "z9hG4bKsi1";

fn new_invite(h: &mut Harness, from: Destination) -> (TxId, Message) {
    let req = invite(BR);
    match h.recv(&req, from) {
        Incoming::Request { tx, request } => {
            assert_eq!(request.method(), req.method());
            (tx, req)
        }
        other => panic!("expected a new server transaction, got {other:?}"),
    }
}

fn ack(branch: &str) -> Message {
    request("ACK", branch, 1)
}

/// §17.2.1: when the TU has not answered within 200 ms the transaction
/// sends `100 Trying` itself (no To tag), and re-sends it for INVITE
/// retransmissions.
#[test]
fn sends_100_trying_after_200ms_and_on_retransmission() {
    let mut h = Harness::new();
    let (tx, req) = new_invite(&mut h, udp());
    assert!(h.take_sent().is_empty());
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + ms(200)));
    h.step();
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, ms(200));
    assert_eq!(sent[0].1.dest, udp());
    assert_eq!(first_line(&sent[0].1.bytes), "SIP/2.0 100 Trying");
    assert_eq!(header(&sent[0].1.bytes, HeaderName::To), "Bob <sip:bob@example.com>");
    assert_eq!(h.layer.state(tx), Some(TxState::Proceeding));
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    assert_eq!(first_line(&h.take_sent()[0].1.bytes), "SIP/2.0 100 Trying");
}

/// §17.2.1: a provisional from the TU within 200 ms suppresses the
/// automatic 100; retransmissions get the TU's latest provisional.
#[test]
fn tu_provisional_suppresses_auto_100() {
    let mut h = Harness::new();
    let (tx, req) = new_invite(&mut h, udp());
    h.run_until(ms(150));
    h.respond(tx, 180);
    assert_eq!(h.layer.poll_timeout(), None);
    h.run_until(secs(1));
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    let sent: Vec<String> = h.take_sent().iter().map(|(_, t)| first_line(&t.bytes)).collect();
    assert_eq!(sent, vec!["SIP/2.0 180 Ringing", "SIP/2.0 180 Ringing"]);
}

/// §17.2.1: `trying_delay` zero sends the 100 at once; `None` never does.
#[test]
fn trying_delay_configurable() {
    let mut h = Harness::with(TimerConfig {
        trying_delay: Some(Duration::ZERO),
        ..TimerConfig::default()
    });
    new_invite(&mut h, udp());
    assert_eq!(first_line(&h.take_sent()[0].1.bytes), "SIP/2.0 100 Trying");
    let mut h = Harness::with(TimerConfig {
        trying_delay: None,
        ..TimerConfig::default()
    });
    let (tx, req) = new_invite(&mut h, udp());
    assert_eq!(h.layer.poll_timeout(), None);
    // Without any response yet, a retransmission is absorbed silently.
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    assert!(h.take_sent().is_empty());
}

/// §17.2.1: a 300-699 over UDP is retransmitted on Timer G (T1 doubling,
/// capped at T2) until Timer H (64*T1) fires with no ACK: Timeout event.
#[test]
fn timer_g_retransmits_final_until_timer_h_times_out() {
    let mut h = Harness::with(TimerConfig {
        trying_delay: None,
        ..TimerConfig::default()
    });
    let (tx, _) = new_invite(&mut h, udp());
    h.respond(tx, 486);
    assert_eq!(h.layer.state(tx), Some(TxState::Completed));
    h.run_to_end();
    let sent = h.take_sent();
    assert!(sent
        .iter()
        .all(|(_, t)| first_line(&t.bytes) == "SIP/2.0 486 Busy Here"));
    let times: Vec<Duration> = sent.into_iter().map(|(at, _)| at).collect();
    assert_eq!(
        millis(&times),
        vec![0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(
        h.take_events(),
        vec![
            (secs(32), TxEvent::Timeout { tx, timer: Timer::H }),
            (secs(32), TxEvent::Terminated { tx })
        ]
    );
}

/// §17.2.1: an INVITE retransmission in Completed gets the final again.
#[test]
fn retransmitted_invite_in_completed_resends_final() {
    let mut h = Harness::new();
    let (tx, req) = new_invite(&mut h, udp());
    h.respond(tx, 404);
    h.take_sent();
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    assert_eq!(first_line(&h.take_sent()[0].1.bytes), "SIP/2.0 404 Not Found");
}

/// §17.2.1: the ACK for the non-2xx (same branch, §17.2.3) is absorbed,
/// stops G and H, and Timer I (T4 over UDP) absorbs ACK retransmissions.
#[test]
fn ack_confirms_then_timer_i_terminates() {
    let mut h = Harness::new();
    let (tx, req) = new_invite(&mut h, udp());
    h.respond(tx, 486);
    h.run_until(ms(600)); // one G retransmission at 0.5 s
    assert_eq!(h.recv(&ack(BR), udp()), Incoming::Absorbed { tx });
    assert_eq!(h.layer.state(tx), Some(TxState::Confirmed));
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + ms(5600)));
    assert_eq!(h.recv(&ack(BR), udp()), Incoming::Absorbed { tx });
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    h.run_to_end();
    assert_eq!(
        millis(&h.take_send_times()),
        vec![0, 500],
        "no G after the ACK, nothing in Confirmed"
    );
    assert_eq!(h.take_events(), vec![(ms(5600), TxEvent::Terminated { tx })]);
}

/// §17.2.1: over a reliable transport there is no Timer G, Timer H still
/// runs, and Timer I is zero.
#[test]
fn reliable_transport_disables_timer_g_and_zeroes_timer_i() {
    let mut h = Harness::new();
    let (tx, _) = new_invite(&mut h, tcp());
    h.respond(tx, 486);
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + secs(32)));
    h.run_until(secs(2));
    assert_eq!(h.take_sent().len(), 1);
    assert_eq!(h.recv(&ack(BR), tcp()), Incoming::Absorbed { tx });
    assert_eq!(h.layer.state(tx), None);
    assert_eq!(h.take_events(), vec![(secs(2), TxEvent::Terminated { tx })]);
}

/// §17.2.1: Timer H over a reliable transport.
#[test]
fn reliable_transport_timer_h_times_out() {
    let mut h = Harness::new();
    let (tx, _) = new_invite(&mut h, tcp());
    h.respond(tx, 500);
    h.run_to_end();
    assert_eq!(h.take_send_times(), vec![Duration::ZERO]);
    assert_eq!(h.take_events()[0], (secs(32), TxEvent::Timeout { tx, timer: Timer::H }));
}

/// RFC 6026 §7.1, §8.7: a 2xx moves the transaction to Accepted: the TU's
/// 2xx retransmissions are sent, INVITE retransmissions are absorbed
/// without a response, ACKs go to the TU, and Timer L (64*T1) terminates.
#[test]
fn success_enters_accepted_and_timer_l_terminates() {
    let mut h = Harness::new();
    let (tx, req) = new_invite(&mut h, udp());
    h.respond(tx, 200);
    assert_eq!(h.layer.state(tx), Some(TxState::Accepted));
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + secs(32)));
    h.run_until(ms(500));
    h.respond(tx, 200); // the TU's own retransmission (§13.3.1.4)
    assert_eq!(h.recv(&req, udp()), Incoming::Absorbed { tx });
    assert_eq!(millis(&h.take_send_times()), vec![0, 500]);
    // The ACK for a 2xx has its own branch: no transaction, to the TU.
    assert!(matches!(
        h.recv(&ack("z9hG4bKack2xx"), udp()),
        Incoming::Ack { tx: None, .. }
    ));
    // An ACK that does match the transaction in Accepted also goes to the TU.
    assert!(matches!(h.recv(&ack(BR), udp()), Incoming::Ack { tx: Some(t), .. } if t == tx));
    assert_eq!(
        h.layer.send_response(h.now, tx, response(&req, 486)),
        Err(TxError::InvalidState {
            tx,
            state: TxState::Accepted
        })
    );
    h.run_to_end();
    assert_eq!(h.take_events(), vec![(secs(32), TxEvent::Terminated { tx })]);
    assert!(h.take_sent().is_empty(), "no automatic 2xx retransmission");
}

/// §17.2.1: no response after the final one (except RFC 6026 2xx retransmits).
#[test]
fn response_after_final_is_refused() {
    let mut h = Harness::new();
    let (tx, req) = new_invite(&mut h, udp());
    h.respond(tx, 486);
    for code in [180, 200, 486] {
        assert_eq!(
            h.layer.send_response(h.now, tx, response(&req, code)),
            Err(TxError::InvalidState {
                tx,
                state: TxState::Completed
            })
        );
    }
    assert_eq!(
        h.layer.send_response(h.now, tx, req.clone()),
        Err(TxError::NotAResponse)
    );
}

/// §17.2.4: a send failure reported by the driver ends the transaction.
#[test]
fn transport_error_terminates() {
    let mut h = Harness::new();
    let (tx, _) = new_invite(&mut h, udp());
    h.respond(tx, 486);
    h.layer.handle_transport_error(h.now, tx);
    assert_eq!(h.layer.poll_event(), Some(TxEvent::TransportError { tx }));
    assert_eq!(h.layer.poll_event(), Some(TxEvent::Terminated { tx }));
    assert_eq!(h.layer.poll_timeout(), None);
}
