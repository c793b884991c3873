//! Tests of `switchboard::rtp::dtmf`.

use std::time::Duration;

use switchboard::rtp::dtmf::*;
use switchboard::rtp::packet::{write_packet, RtpFields, RtpHeader};
use switchboard::rtp::rewrite::{PayloadTypeMap, RewriterConfig, StreamRewriter};
use switchboard::rtp::RtpError;

use crate::origin;

fn drain(d: &mut DtmfDetector) -> Vec<DtmfEvent> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

#[test]
fn payload_round_trip() {
    let ev = TelephoneEvent {
        event: 11,
        end: true,
        volume: 10,
        duration: 1600,
    };
    let b = ev.to_bytes();
    assert_eq!(b, [11, 0x8a, 0x06, 0x40]);
    assert_eq!(TelephoneEvent::parse(&b).unwrap(), ev);
    assert_eq!(ev.digit(), Some('#'));
    let mut out = [0u8; 4];
    assert_eq!(ev.write(&mut out).unwrap(), 4);
    assert!(ev.write(&mut [0u8; 3]).is_err());
    assert!(matches!(
        TelephoneEvent::parse(&[1, 2, 3]),
        Err(RtpError::EventTooShort { len: 3 })
    ));
    // R bit is ignored on receipt.
    assert!(!TelephoneEvent::parse(&[1, 0x40, 0, 0]).unwrap().end);
    assert_eq!(ev.rescaled(8000, 48_000).duration, 9600);
    assert_eq!(ev.rescaled(8000, 8_000_000).duration, u16::MAX);
}

#[test]
fn digit_codes() {
    for (i, c) in "0123456789*#ABCD".chars().enumerate() {
        assert_eq!(event_to_digit(i as u8), Some(c));
        assert_eq!(digit_to_event(c), Some(i as u8));
    }
    assert_eq!(digit_to_event('b'), Some(13));
    assert_eq!(event_to_digit(16), None);
    assert_eq!(digit_to_event('x'), None);
}

#[test]
fn generator_follows_rfc4733_sender_rules() {
    let pkts: Vec<_> = EventPackets::new(5, 10, 800, 160).collect();
    let durations: Vec<(bool, bool, u16)> = pkts.iter().map(|(m, e)| (*m, e.end, e.duration)).collect();
    assert_eq!(
        durations,
        vec![
            (true, false, 160),
            (false, false, 320),
            (false, false, 480),
            (false, false, 640),
            (false, true, 800),
            (false, true, 800),
            (false, true, 800),
        ]
    );
    assert_eq!(EventPackets::new(1, 0, 100, 160).filter(|p| p.0).count(), 1);
}

#[test]
fn detector_deduplicates_redundant_ends() {
    let mut d = DtmfDetector::new();
    for (_, ev) in EventPackets::new(7, 10, 800, 160) {
        d.handle_packet(4000, &ev.to_bytes()).unwrap();
    }
    assert_eq!(
        drain(&mut d),
        vec![
            DtmfEvent::Start {
                event: 7,
                timestamp: 4000
            },
            DtmfEvent::End {
                event: 7,
                timestamp: 4000,
                duration: 800,
                volume: 10,
                confirmed: true
            }
        ]
    );
    // A retransmitted update of the finished event is ignored too.
    d.handle_packet(4000, &[7, 10, 0, 160]).unwrap();
    assert_eq!(d.poll_event(), None);
    assert!(d.handle_packet(4000, &[7]).is_err());
}

#[test]
fn detector_handles_lost_start_and_lost_ends() {
    let mut d = DtmfDetector::new();
    // Only the end packets of '1' arrive: Start and End both reported.
    d.handle_packet(100, &[1, 0x8a, 3, 0x20]).unwrap();
    // '2': updates, all ends lost; then '3' begins.
    d.handle_packet(2000, &[2, 10, 0, 160]).unwrap();
    d.handle_packet(2000, &[2, 10, 1, 64]).unwrap();
    d.handle_packet(4000, &[3, 10, 0, 160]).unwrap();
    // A late update of '2' after '3' began is ignored.
    d.handle_packet(2000, &[2, 10, 1, 224]).unwrap();
    // '3''s ends lost too; audio after it ends it.
    d.handle_audio(4100);
    d.handle_audio(4800);
    let evs = drain(&mut d);
    let summary: Vec<(char, u8, bool)> = evs
        .iter()
        .map(|e| match e {
            DtmfEvent::Start { event, .. } => ('S', *event, true),
            DtmfEvent::End { event, confirmed, .. } => ('E', *event, *confirmed),
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ('S', 1, true),
            ('E', 1, true),
            ('S', 2, true),
            ('E', 2, false),
            ('S', 3, true),
            ('E', 3, false)
        ]
    );
    assert!(matches!(evs[3], DtmfEvent::End { duration: 320, .. }));
}

#[test]
fn same_digit_twice_is_two_events() {
    let mut d = DtmfDetector::new();
    for ts in [1000u32, 3000] {
        for (_, ev) in EventPackets::new(9, 10, 480, 160) {
            d.handle_packet(ts, &ev.to_bytes()).unwrap();
        }
    }
    let ends = drain(&mut d)
        .into_iter()
        .filter(|e| matches!(e, DtmfEvent::End { .. }))
        .count();
    assert_eq!(ends, 2);
}

#[test]
fn translation_between_payload_types_keeps_digits() {
    // Leg A uses telephone-event 101, leg B negotiated 96.
    let mut pts = PayloadTypeMap::new();
    pts.insert(0, 0).insert(101, 96);
    let mut rw = StreamRewriter::new(RewriterConfig {
        ssrc: 77,
        initial_sequence: 100,
        initial_timestamp: 9000,
        clock_rate: 8000,
        packet_samples: 160,
        payload_types: pts,
    });
    let mut det = DtmfDetector::new();
    let mut t = origin();
    let mut seq = 1u16;
    let mut outs = Vec::new();
    for (digit, ts) in [('1', 16_000u32), ('#', 32_000)] {
        let event = digit_to_event(digit).unwrap();
        for (marker, ev) in EventPackets::new(event, 10, 640, 160) {
            let mut buf = [0u8; 16];
            let fields = RtpFields {
                marker,
                payload_type: 101,
                sequence: seq,
                timestamp: ts,
                ssrc: 0xaaaa,
            };
            let n = write_packet(&mut buf, &fields, &ev.to_bytes()).unwrap();
            seq += 1;
            let r = rw.rewrite(&mut buf[..n], t).unwrap();
            assert_eq!(r.payload_type, 96);
            let h = RtpHeader::parse(&buf[..n]).unwrap();
            assert_eq!(h.payload_type, 96);
            det.handle_packet(h.timestamp, &buf[h.payload_offset..h.payload_end])
                .unwrap();
            outs.push(h);
            t += Duration::from_millis(20);
        }
    }
    let digits: Vec<char> = drain(&mut det)
        .into_iter()
        .filter_map(|e| match e {
            DtmfEvent::End { event, .. } => event_to_digit(event),
            DtmfEvent::Start { .. } => None,
        })
        .collect();
    assert_eq!(digits, vec!['1', '#']);
    assert!(outs.windows(2).all(|w| w[1].sequence == w[0].sequence.wrapping_add(1)));
    // One event's packets share one outgoing timestamp.
    assert!(outs[..6].iter().all(|h| h.timestamp == 9000));
}
