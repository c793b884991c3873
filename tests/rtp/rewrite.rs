//! Tests of `switchboard::rtp::rewrite`.

use std::time::{Duration, Instant};

use switchboard::rtp::packet::{write_packet, RtpFields, RtpHeader};
use switchboard::rtp::rewrite::*;
use switchboard::rtp::RtpError;

use crate::origin;

fn pkt(pt: u8, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 172];
    let f = RtpFields {
        marker: false,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc,
    };
    write_packet(&mut buf, &f, &[seq as u8; 160]).unwrap();
    buf
}

fn rewriter(seq: u16, ts: u32) -> StreamRewriter {
    let mut pts = PayloadTypeMap::new();
    pts.insert(0, 0).insert(101, 96);
    StreamRewriter::new(RewriterConfig {
        ssrc: 0x5357_4254,
        initial_sequence: seq,
        initial_timestamp: ts,
        clock_rate: 8000,
        packet_samples: 160,
        payload_types: pts,
    })
}

/// Feeds `n` in-order packets of one source 20 ms apart from `t`, returns the outputs.
fn run(
    rw: &mut StreamRewriter,
    ssrc: u32,
    seq0: u16,
    ts0: u32,
    n: u16,
    t: &mut Instant,
) -> Vec<(RtpHeader, Rewritten)> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut b = pkt(0, seq0.wrapping_add(i), ts0.wrapping_add(160 * i as u32), ssrc);
        let r = rw.rewrite(&mut b, *t).unwrap();
        let h = RtpHeader::parse(&b).unwrap();
        assert_eq!(&b[12..], &[seq0.wrapping_add(i) as u8; 160][..], "payload untouched");
        out.push((h, r));
        *t += Duration::from_millis(20);
    }
    out
}

fn assert_continuous(out: &[(RtpHeader, Rewritten)]) {
    for w in out.windows(2) {
        let (a, b) = (&w[0].0, &w[1].0);
        assert_eq!(b.ssrc, 0x5357_4254);
        assert_eq!(b.sequence, a.sequence.wrapping_add(1), "seq continuity");
        assert_eq!(b.timestamp, a.timestamp.wrapping_add(160), "ts spacing");
    }
}

#[test]
fn continuity_across_three_source_switches() {
    let mut rw = rewriter(1000, 50_000);
    let mut t = origin();
    let mut all = run(&mut rw, 0x1111, 40_000, 7, 10, &mut t); // music
    all.extend(run(&mut rw, 0x2222, 3, 900_000, 10, &mut t)); // agent
    all.extend(run(&mut rw, 0x3333, 65_000, 1, 10, &mut t)); // other agent
    all.extend(run(&mut rw, 0x1111, 40_010, 7 + 1600, 10, &mut t)); // music again
    assert_continuous(&all);
    assert_eq!(all[0].0.sequence, 1000);
    assert_eq!(all[0].0.timestamp, 50_000);
    let markers: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, p)| p.0.marker)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(markers, vec![0, 10, 20, 30]);
    assert!(all.iter().all(|p| p.1.switched == p.0.marker));
    assert_eq!(rw.source_switches(), 4);
    assert_eq!(rw.packets_sent(), 40);
    assert_eq!(rw.octets_sent(), 40 * 160);
}

#[test]
fn switch_after_silence_advances_timestamp_by_elapsed_time() {
    let mut rw = rewriter(0, 0);
    let mut t = origin();
    let a = run(&mut rw, 1, 0, 0, 5, &mut t);
    t += Duration::from_millis(981); // one second of hold, jitter included
    let b = run(&mut rw, 2, 500, 77, 2, &mut t);
    assert_eq!(b[0].0.sequence, a[4].0.sequence + 1);
    // Last packet sent at +80 ms; new one at +100 + 981 = 1001 ms later → 50 packets.
    assert_eq!(b[0].0.timestamp, a[4].0.timestamp + 50 * 160);
    assert_eq!(rw.rtp_time_at(t), b[1].0.timestamp + 160);
}

#[test]
fn sequence_wraps_at_65535() {
    let mut rw = rewriter(65_533, 0);
    let mut t = origin();
    let mut out = run(&mut rw, 9, 65_530, 0, 4, &mut t); // input wraps too
    out.extend(run(&mut rw, 10, 100, 0, 4, &mut t));
    assert_continuous(&out);
    let seqs: Vec<u16> = out.iter().map(|p| p.0.sequence).collect();
    assert_eq!(seqs, vec![65_533, 65_534, 65_535, 0, 1, 2, 3, 4]);
}

#[test]
fn timestamp_wraps() {
    let mut rw = rewriter(0, u32::MAX - 300);
    let mut t = origin();
    let mut out = run(&mut rw, 1, 0, u32::MAX - 100, 3, &mut t);
    out.extend(run(&mut rw, 2, 0, 5, 3, &mut t));
    assert_continuous(&out);
    assert!(out[2].0.timestamp < 100);
}

#[test]
fn payload_types_are_remapped_and_unmapped_rejected() {
    let mut rw = rewriter(0, 0);
    let t = origin();
    let mut ev = pkt(101, 1, 0, 5);
    assert_eq!(rw.rewrite(&mut ev, t).unwrap().payload_type, 96);
    assert_eq!(RtpHeader::parse(&ev).unwrap().payload_type, 96);
    let mut pcmu = pkt(0, 2, 160, 5);
    assert_eq!(rw.rewrite(&mut pcmu, t).unwrap().payload_type, 0);
    let mut g729 = pkt(18, 3, 320, 5);
    let before = g729.clone();
    assert!(matches!(
        rw.rewrite(&mut g729, t),
        Err(RtpError::UnmappedPayloadType { payload_type: 18 })
    ));
    assert_eq!(g729, before, "rejected packet untouched");
    assert_eq!(rw.packets_sent(), 2);
    rw.payload_types_mut().insert(18, 18);
    assert!(rw.rewrite(&mut g729, t).is_ok());
    assert_eq!(PayloadTypeMap::identity().get(77), Some(77));
    assert_eq!(PayloadTypeMap::default().get(0), None);
    assert_eq!(rw.payload_types_mut().remove(18).get(18), None);
    let mut bad = vec![0u8; 4];
    assert!(rw.rewrite(&mut bad, t).is_err());
}

#[test]
fn reorder_and_duplicates_within_a_source_keep_offsets() {
    let mut rw = rewriter(500, 10_000);
    let t = origin();
    let order = [0u16, 1, 3, 2, 2, 4, 1, 6, 5];
    let mut outs = Vec::new();
    for s in order {
        let mut b = pkt(0, 7000 + s, 80_000 + 160 * s as u32, 42);
        let r = rw.rewrite(&mut b, t).unwrap();
        assert!(!r.late);
        outs.push((s, r));
    }
    for (s, r) in &outs {
        assert_eq!(r.sequence, 500 + s, "seq offset kept for input {s}");
        assert_eq!(r.timestamp, 10_000 + 160 * *s as u32);
        assert_eq!(r.switched, *s == 0);
    }
    // The highest sent is 6: a new source continues from there.
    let mut b = pkt(0, 1, 1, 43);
    let r = rw.rewrite(&mut b, t).unwrap();
    assert_eq!(r.sequence, 507);
    assert!(r.switched);
}

#[test]
fn late_packet_of_previous_source_is_not_a_switch() {
    let mut rw = rewriter(0, 0);
    let mut t = origin();
    let a = run(&mut rw, 1, 10, 1600, 5, &mut t);
    let b = run(&mut rw, 2, 900, 0, 2, &mut t);
    // Source 1's seq 13 arrives late, after the switch.
    let mut late = pkt(0, 13, 1600 + 3 * 160, 1);
    let r = rw.rewrite(&mut late, t).unwrap();
    assert!(r.late && !r.switched);
    assert_eq!(r.sequence, a[3].0.sequence);
    assert_eq!(r.timestamp, a[3].0.timestamp);
    let c = run(&mut rw, 2, 902, 320, 1, &mut t);
    assert_eq!(
        c[0].0.sequence,
        b[1].0.sequence + 1,
        "late packet did not disturb the stream"
    );
    assert_eq!(rw.source_switches(), 2);
}

#[test]
fn sequence_jump_within_a_source_restarts_the_mapping() {
    let mut rw = rewriter(0, 0);
    let mut t = origin();
    let mut out = run(&mut rw, 1, 10, 0, 3, &mut t);
    out.extend(run(&mut rw, 1, 30_000, 5_000_000, 3, &mut t));
    assert_continuous(&out);
    assert!(out[3].0.marker);
}
