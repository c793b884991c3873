//! Non-INVITE client transaction (RFC 3261 §17.1.2).

use super::*;
use switchboard::sip::transaction::{Timer, TxState};

const BR: &str = "z9hG4bKcn1";

fn options() -> Message {
    request("OPTIONS", BR, 7)
}

/// §17.1.2.2: Timer E starts at T1 and doubles up to T2 (4 s), then Timer F
/// (64*T1) times the transaction out.
#[test]
fn timer_e_doubles_capped_at_t2_then_timer_f_times_out() {
    let mut h = Harness::new();
    let tx = h.send(options(), udp());
    assert_eq!(h.layer.state(tx), Some(TxState::Trying));
    h.run_to_end();
    assert_eq!(
        millis(&h.take_send_times()),
        vec![0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(
        h.take_events(),
        vec![
            (secs(32), TxEvent::Timeout { tx, timer: Timer::F }),
            (secs(32), TxEvent::Terminated { tx })
        ]
    );
}

/// §17.1.2.2: after a provisional, Timer E keeps firing but every T2.
#[test]
fn proceeding_retransmits_every_t2_until_timer_f() {
    let mut h = Harness::new();
    let req = options();
    let tx = h.send(req.clone(), udp());
    h.run_until(ms(600)); // sends at 0 and 0.5; E next at 1.5
    assert!(matches!(h.recv(&response(&req, 100), udp()), Incoming::Response { tx: t, .. } if t == tx));
    assert_eq!(h.layer.state(tx), Some(TxState::Proceeding));
    h.run_to_end();
    assert_eq!(
        millis(&h.take_send_times()),
        vec![0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500]
    );
    assert_eq!(h.take_events()[0], (secs(32), TxEvent::Timeout { tx, timer: Timer::F }));
}

/// §17.1.2.2: a final response goes to the TU, stops E and F, and Timer K
/// (T4 over UDP) absorbs retransmitted responses until it fires.
#[test]
fn final_response_then_timer_k() {
    let mut h = Harness::new();
    let req = options();
    let tx = h.send(req.clone(), udp());
    h.run_until(ms(700));
    assert!(matches!(h.recv(&response(&req, 200), udp()), Incoming::Response { tx: t, .. } if t == tx));
    assert_eq!(h.layer.state(tx), Some(TxState::Completed));
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + ms(5700)));
    h.take_sent();
    assert_eq!(h.recv(&response(&req, 200), udp()), Incoming::Absorbed { tx });
    assert_eq!(h.recv(&response(&req, 100), udp()), Incoming::Absorbed { tx });
    h.run_to_end();
    assert!(h.take_sent().is_empty(), "nothing sent in Completed");
    assert_eq!(h.take_events(), vec![(ms(5700), TxEvent::Terminated { tx })]);
}

/// §17.1.2.2: final after provisional also completes.
#[test]
fn final_after_provisional_completes() {
    let mut h = Harness::new();
    let req = options();
    let tx = h.send(req.clone(), udp());
    h.recv(&response(&req, 100), udp());
    assert!(matches!(h.recv(&response(&req, 404), udp()), Incoming::Response { .. }));
    assert_eq!(h.layer.state(tx), Some(TxState::Completed));
}

/// §17.1.2.2: over a reliable transport no Timer E runs, Timer F still
/// does, and Timer K is zero.
#[test]
fn reliable_transport_disables_timer_e_and_zeroes_timer_k() {
    let mut h = Harness::new();
    let req = options();
    let tx = h.send(req.clone(), tcp());
    assert_eq!(h.layer.poll_timeout(), Some(h.t0 + secs(32)));
    h.run_until(secs(3));
    assert!(matches!(h.recv(&response(&req, 200), tcp()), Incoming::Response { .. }));
    assert_eq!(h.layer.state(tx), None);
    assert_eq!(h.take_send_times(), vec![Duration::ZERO]);
    assert_eq!(h.take_events(), vec![(secs(3), TxEvent::Terminated { tx })]);
}

/// §17.1.2.2: Timer F over a reliable transport.
#[test]
fn reliable_transport_timer_f_times_out() {
    let mut h = Harness::new();
    let tx = h.send(options(), tcp());
    h.run_to_end();
    assert_eq!(h.take_send_times(), vec![Duration::ZERO]);
    assert_eq!(h.take_events()[0], (secs(32), TxEvent::Timeout { tx, timer: Timer::F }));
}

/// §17.1.2.2 with non-default T1/T2 from config (kamailio-style overrides).
#[test]
fn custom_timer_values() {
    let cfg = TimerConfig {
        t1: ms(100),
        t2: ms(400),
        ..TimerConfig::default()
    };
    let mut h = Harness::with(cfg);
    let tx = h.send(options(), udp());
    h.run_to_end();
    let times = millis(&h.take_send_times());
    assert_eq!(&times[..6], &[0, 100, 300, 700, 1100, 1500]);
    assert_eq!(h.take_events()[0], (ms(6400), TxEvent::Timeout { tx, timer: Timer::F }));
}
