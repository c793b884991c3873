//! Tests of `switchboard::rtp::rtcp`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::reception_report::ReceptionReport;
use switchboard::rtp::rtcp::*;
use switchboard::rtp::RtpError;

use crate::origin;

fn t0() -> Instant {
    origin()
}

#[test]
fn sender_report_round_trip() {
    let info = SenderInfo {
        ssrc: 0xabcd,
        ntp_time: ntp_from_unix(Duration::from_secs(1_700_000_000)),
        rtp_time: 123_456,
        packet_count: 500,
        octet_count: 80_000,
    };
    let mut stats = ReceiverStats::new(0x1234, 8000);
    let t = t0();
    for i in 0..50u16 {
        stats.on_packet(i, i as u32 * 160, t + Duration::from_millis(20 * i as u64));
    }
    let block = stats.report(t + Duration::from_secs(1));
    let bytes = build_sender_report(&info, std::slice::from_ref(&block)).unwrap();
    assert_eq!(bytes.len(), 28 + 24);
    let parsed = parse_reports(&bytes).unwrap();
    assert_eq!(parsed.len(), 1);
    let RtcpReport::Sender(sr) = &parsed[0] else {
        panic!("expected SR, got {parsed:?}");
    };
    assert_eq!((sr.ssrc, sr.ntp_time, sr.rtp_time), (0xabcd, info.ntp_time, 123_456));
    assert_eq!((sr.packet_count, sr.octet_count), (500, 80_000));
    assert_eq!(parsed[0].blocks(), &[block]);
    assert_eq!(parsed[0].ssrc(), 0xabcd);
}

#[test]
fn receiver_report_round_trip_and_compound() {
    let block = ReceptionReport {
        ssrc: 7,
        fraction_lost: 25,
        total_lost: 10,
        last_sequence_number: 65_536 + 20,
        jitter: 33,
        last_sender_report: 0x1234_5678,
        delay: 65_536,
    };
    let rr = build_receiver_report(99, std::slice::from_ref(&block)).unwrap();
    let parsed = parse_reports(&rr).unwrap();
    assert_eq!(
        parsed,
        vec![RtcpReport::Receiver(ReceiverReport {
            ssrc: 99,
            reports: vec![block.clone()],
            profile_extensions: Bytes::new(),
        })]
    );
    // RR followed by SDES in one datagram (RFC 3550 §6.1 compound).
    let mut compound = rr.to_vec();
    compound.extend_from_slice(&[0x81, 0xca, 0x00, 0x03, 0, 0, 0, 99, 1, 2, b'a', b'b', 0, 0, 0, 0]);
    let parsed = parse_reports(&compound).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].blocks()[0], block);
    assert!(matches!(
        build_receiver_report(1, &vec![block; 32]),
        Err(RtpError::TooManyReports { count: 32 })
    ));
}

#[test]
fn malformed_rtcp_is_an_error() {
    assert!(matches!(
        parse_reports(&[]),
        Err(RtpError::BadCompound { offset: 0, .. })
    ));
    assert!(matches!(
        parse_reports(&[0x81, 0xc8, 0, 50, 1, 2]),
        Err(RtpError::BadCompound { offset: 0, .. })
    ));
    // An RR whose length says 2 words but carries 1 more: the next
    // "packet" is 4 octets of version 0.
    let rr_then_junk = [0x80, 0xc9, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0];
    assert!(matches!(
        parse_reports(&rr_then_junk),
        Err(RtpError::BadCompound { offset: 8, .. })
    ));
    // An SR cut short inside itself: rtc-rtcp refuses it.
    let short_sr = [0x80, 0xc8, 0, 1, 0, 0, 0, 5];
    assert!(matches!(parse_reports(&short_sr), Err(RtpError::Codec(_))));
    // A lone BYE: valid RTCP, no report.
    let bye = [0x81, 0xcb, 0x00, 0x01, 0, 0, 0, 5];
    assert!(matches!(parse_reports(&bye), Err(RtpError::NoReport)));
    for len in 0..60 {
        let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 0x80) as u8).collect();
        let _ = parse_reports(&junk);
    }
}

#[test]
fn loss_fraction_per_interval() {
    let mut s = ReceiverStats::new(1, 8000);
    let t = t0();
    for i in 0..100u16 {
        if i % 10 != 5 {
            assert!(s.on_packet(i, i as u32 * 160, t));
        }
    }
    let r = s.report(t);
    assert_eq!(r.total_lost, 10);
    assert_eq!(r.fraction_lost, (10 * 256 / 100) as u8);
    assert_eq!(r.last_sequence_number, 99);
    for i in 100..200u16 {
        s.on_packet(i, i as u32 * 160, t);
    }
    let r = s.report(t);
    assert_eq!((r.fraction_lost, r.total_lost), (0, 10));
    assert_eq!(s.received(), 190);
}

#[test]
fn extended_sequence_counts_cycles() {
    let mut s = ReceiverStats::new(1, 8000);
    let t = t0();
    for i in 0..20u16 {
        s.on_packet(65_530u16.wrapping_add(i), 0, t);
    }
    assert_eq!(s.extended_max(), 65_536 + 13);
    assert_eq!(s.cumulative_lost(), 0);
    // Reordered and duplicate packets: counted received, lost goes negative.
    s.on_packet(65_535, 0, t);
    s.on_packet(13, 0, t);
    let r = s.report(t);
    assert_eq!(s.cumulative_lost(), -2);
    assert_eq!(r.total_lost, 0xff_fffe);
    assert_eq!(r.fraction_lost, 0);
}

#[test]
fn restart_after_jump_needs_two_sequential_packets() {
    let mut s = ReceiverStats::new(1, 8000);
    let t = t0();
    for i in 0..10u16 {
        s.on_packet(i, 0, t);
    }
    assert!(!s.on_packet(30_000, 0, t));
    assert!(s.on_packet(30_001, 0, t));
    assert_eq!(s.extended_max(), 30_001);
    assert_eq!(s.cumulative_lost(), 0);
    assert!(!s.on_packet(50_000, 0, t), "a lone jump is discarded");
    assert_eq!(s.extended_max(), 30_001);
}

#[test]
fn jitter_is_zero_for_regular_arrivals_and_tracks_variation() {
    let t = t0();
    let mut s = ReceiverStats::new(1, 8000);
    for i in 0..200u32 {
        s.on_packet(i as u16, i * 160, t + Duration::from_millis(20 * i as u64));
    }
    assert_eq!(s.jitter(), 0);
    // Arrivals alternately on time and 5 ms (40 samples) late: |D| = 40 each time.
    let mut s = ReceiverStats::new(1, 8000);
    for i in 0..400u32 {
        let late = if i % 2 == 1 { 5 } else { 0 };
        s.on_packet(i as u16, i * 160, t + Duration::from_millis(20 * i as u64 + late));
    }
    assert!((38..=40).contains(&s.jitter()), "jitter {}", s.jitter());
    assert_eq!(s.report(t).jitter, s.jitter());
}

#[test]
fn lsr_and_dlsr() {
    let t = t0();
    let mut s = ReceiverStats::new(1, 8000);
    s.on_packet(1, 0, t);
    assert_eq!(s.report(t).last_sender_report, 0);
    let ntp = 0x0000_1234_5678_0000u64;
    s.on_sender_report(ntp, t);
    let r = s.report(t + Duration::from_millis(500));
    assert_eq!(r.last_sender_report, 0x1234_5678);
    assert_eq!(r.delay, 32_768);
    // The peer sees our block 100 ms of network later: RTT = 100 ms.
    let now = ntp + (1u64 << 31) + ((1u64 << 32) / 10);
    let rtt = round_trip_time(&r, now).unwrap();
    assert!((rtt.as_millis() as i64 - 100).abs() <= 1, "rtt {rtt:?}");
    let none = ReceptionReport::default();
    assert_eq!(round_trip_time(&none, now), None);
    assert_eq!(ReceiverStats::new(2, 8000).report(t).last_sequence_number, 0);
}

#[test]
fn ntp_conversion() {
    let ntp = ntp_from_unix(Duration::new(1, 500_000_000));
    assert_eq!(ntp >> 32, NTP_UNIX_OFFSET_SECS + 1);
    assert_eq!(ntp as u32, 1 << 31);
}
