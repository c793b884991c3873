//! Judging what each party received over the hold: expected, received
//! and late packets by slot (see the crate doc), and the mix checks.

use crate::common::rtp::TICK;
use crate::rx::Stream;
use crate::{tone_hz, Args, Hold, SendStats, CHECK_EVERY, HEARD, LATE, NOT_HEARD, TONE_DBFS};
use switchboard::dsp::tone::dbfs_to_amplitude;

/// One stream's figures over the hold (see the module doc).
#[derive(Debug, Default, PartialEq)]
struct Verdict {
    expected: u64,
    received: u64,
    late: u64,
    duplicates: u64,
    /// Received packets by ms after their slot (the last bucket: that or more).
    lateness_ms: Vec<u64>,
    /// When the late packets arrived: index of the 100 ms window of the hold.
    late_windows: Vec<u32>,
}

/// Buckets of [`Verdict::lateness_ms`].
const LATENESS_BUCKETS: usize = 1001;

/// Judges one stream's arrivals ((extended seq, µs from the hold's start))
/// over a hold of `hold_us`.
fn judge(arrivals: &mut [(u32, i64)], hold_us: i64) -> Verdict {
    let frame = TICK.as_micros() as i64;
    let late_us = LATE.as_micros() as i64;
    let mut v = Verdict {
        lateness_ms: vec![0; LATENESS_BUCKETS],
        ..Verdict::default()
    };
    arrivals.sort_unstable();
    let Some(&(s0, _)) = arrivals.first() else {
        v.expected = (hold_us / frame) as u64;
        return v;
    };
    let s0 = i64::from(s0);
    let step = |s: u32| (i64::from(s) - s0) * frame;
    let base = arrivals.iter().map(|&(s, t)| t - step(s)).min().unwrap_or(0);
    // Slots within [0, hold_us): sequence numbers lo..=hi.
    let lo = s0 + (-base).div_euclid(frame) + i64::from((-base).rem_euclid(frame) != 0);
    let hi = s0 + (hold_us - base - 1).div_euclid(frame);
    v.expected = (hi - lo + 1).max(0) as u64;
    let mut prev = None;
    for &(s, t) in arrivals.iter() {
        if prev == Some(s) {
            v.duplicates += 1;
            continue;
        }
        prev = Some(s);
        if !(lo..=hi).contains(&i64::from(s)) {
            continue;
        }
        v.received += 1;
        let lateness = t - base - step(s);
        if lateness > late_us {
            v.late += 1;
            v.late_windows.push((t.max(0) / 100_000) as u32);
        }
        v.lateness_ms[((lateness / 1000) as usize).min(LATENESS_BUCKETS - 1)] += 1;
    }
    v
}

/// The figures over all parties.
pub(crate) struct Report {
    pub(crate) expected: u64,
    pub(crate) received: u64,
    pub(crate) late: u64,
    duplicates: u64,
    lateness_ms: Vec<u64>,
    parties_with_loss: usize,
    parties_late: usize,
    worst_loss: f64,
    ssrc_changes: u64,
    bad_format: u64,
    from_elsewhere: u64,
    pub(crate) checks: u64,
    own_heard: u64,
    other_missing: u64,
    /// Checked packets with either fault.
    wrong: u64,
    /// Late frames by the 100 ms window of the hold they arrived in:
    /// (frames, parties).
    late_windows: std::collections::BTreeMap<u32, (u64, u64)>,
}

impl Report {
    pub(crate) fn new(args: &Args, hold: &Hold, streams: &[Stream]) -> Report {
        let parties = args.parties as usize;
        let mut r = Report {
            expected: 0,
            received: 0,
            late: 0,
            duplicates: 0,
            lateness_ms: vec![0; LATENESS_BUCKETS],
            parties_with_loss: 0,
            parties_late: 0,
            worst_loss: 0.0,
            ssrc_changes: 0,
            bad_format: 0,
            from_elsewhere: 0,
            checks: 0,
            own_heard: 0,
            other_missing: 0,
            wrong: 0,
            late_windows: std::collections::BTreeMap::new(),
        };
        let level = dbfs_to_amplitude(TONE_DBFS) / 32768.0;
        for (i, st) in streams.iter().enumerate() {
            if !hold.up_at_t0[i] {
                continue;
            }
            let mut arrivals = st.arrivals.clone();
            let mut v = judge(&mut arrivals, hold.hold_us);
            for &w in &v.late_windows {
                r.late_windows.entry(w).or_default().0 += 1;
            }
            v.late_windows.sort_unstable();
            v.late_windows.dedup();
            for &w in &v.late_windows {
                r.late_windows.entry(w).or_default().1 += 1;
            }
            r.expected += v.expected;
            r.received += v.received;
            r.late += v.late;
            r.duplicates += v.duplicates;
            for (a, b) in r.lateness_ms.iter_mut().zip(&v.lateness_ms) {
                *a += b;
            }
            if v.received < v.expected {
                r.parties_with_loss += 1;
                r.worst_loss = r
                    .worst_loss
                    .max(100.0 * (v.expected - v.received) as f64 / v.expected as f64);
            }
            r.parties_late += usize::from(v.late > 0);
            r.ssrc_changes += u64::from(st.ssrc_changes);
            r.bad_format += st.bad_format;
            r.from_elsewhere += st.from_elsewhere;
            // Who this party must hear: the others of its room up at the
            // hold's start.
            let (room, me) = (i / parties, i % parties);
            for levels in st.levels.chunks_exact(parties) {
                r.checks += 1;
                let own = f64::from(levels[me]) > NOT_HEARD * level;
                let missing = (0..parties)
                    .any(|k| k != me && hold.up_at_t0[room * parties + k] && f64::from(levels[k]) < HEARD * level);
                r.own_heard += u64::from(own);
                r.other_missing += u64::from(missing);
                r.wrong += u64::from(own || missing);
            }
        }
        r
    }

    pub(crate) fn loss_pct(&self) -> f64 {
        100.0 * self.expected.saturating_sub(self.received) as f64 / self.expected.max(1) as f64
    }

    /// Checked packets whose mix was wrong (the party heard itself or
    /// missed another).
    pub(crate) fn wrong_mix(&self) -> u64 {
        self.wrong
    }

    /// The lateness (ms after the slot) under which `q` of the received
    /// packets arrived.
    fn lateness_quantile(&self, q: f64) -> String {
        let total: u64 = self.lateness_ms.iter().sum();
        let want = (q * total as f64).ceil() as u64;
        let mut seen = 0;
        for (ms, count) in self.lateness_ms.iter().enumerate() {
            seen += count;
            if seen >= want.max(1) {
                return if ms + 1 == LATENESS_BUCKETS {
                    format!(">= {ms} ms")
                } else {
                    format!("< {} ms", ms + 1)
                };
            }
        }
        "-".into()
    }

    pub(crate) fn print(&self, args: &Args, hold: &Hold, sent: &SendStats) {
        let hold_s = hold.hold_us as f64 / 1e6;
        println!(
            "sent during the hold: {} packets ({:.0}/s of {} nominal), {} send errors; sender phases a tick late: {} \
             (max lag {:.1} ms)",
            sent.sent,
            sent.sent as f64 / hold_s,
            hold.live * 50,
            sent.errors,
            sent.late_phases,
            sent.max_lag.as_secs_f64() * 1000.0,
        );
        println!(
            "mixed streams over the hold ({hold_s:.2} s, {} parties): {} packets expected, {} received, loss {:.4}% \
             ({} parties lost any, worst {:.3}%); {} duplicates; {} SSRC changes; {} not PCMU RTP of 172 bytes; \
             {} from another source",
            hold.live,
            self.expected,
            self.received,
            self.loss_pct(),
            self.parties_with_loss,
            self.worst_loss,
            self.duplicates,
            self.ssrc_changes,
            self.bad_format,
            self.from_elsewhere,
        );
        println!(
            "lateness after the slot: p50 {}, p99 {}, p99.9 {}, max {}; late frames (> {} ms): {} in {} parties",
            self.lateness_quantile(0.5),
            self.lateness_quantile(0.99),
            self.lateness_quantile(0.999),
            self.lateness_quantile(1.0),
            LATE.as_millis(),
            self.late,
            self.parties_late,
        );
        if !self.late_windows.is_empty() {
            let mut worst: Vec<(&u32, &(u64, u64))> = self.late_windows.iter().collect();
            worst.sort_by(|a, b| b.1.cmp(a.1));
            let top: Vec<String> = worst
                .iter()
                .take(5)
                .map(|(w, (frames, parties))| format!("{:.1} s: {frames} in {parties} parties", f64::from(**w) / 10.0))
                .collect();
            println!(
                "late frames arrived in {} of the hold's 100 ms windows; the worst: {}",
                self.late_windows.len(),
                top.join(", ")
            );
        }
        println!(
            "mix check (1 packet in {CHECK_EVERY}, {} Hz tones at {TONE_DBFS} dBFS): {} packets; heard itself in {}, \
             missed another party in {}",
            (0..args.parties as usize)
                .map(|k| format!("{}", tone_hz(k)))
                .collect::<Vec<_>>()
                .join("/"),
            self.checks,
            self.own_heard,
            self.other_missing,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: i64 = 20_000;

    #[test]
    fn a_stream_on_time_is_whole_and_never_late() {
        // 1.0 s hold, packets 3 ms after each 20 ms mark, seq from 100.
        let mut a: Vec<(u32, i64)> = (0..50).map(|k| (100 + k, 3_000 + F * i64::from(k))).collect();
        let v = judge(&mut a, 1_000_000);
        assert_eq!((v.expected, v.received, v.late, v.duplicates), (50, 50, 0, 0));
    }

    #[test]
    fn a_packet_more_than_a_frame_behind_its_slot_is_late() {
        let mut a: Vec<(u32, i64)> = (0..50).map(|k| (k, 1_000 + F * i64::from(k))).collect();
        a[10].1 += 21_000; // 21 ms late
        a[11].1 += 20_000; // exactly one frame: not late
        let v = judge(&mut a, 1_000_000);
        assert_eq!((v.expected, v.received, v.late), (50, 50, 1));
        assert_eq!(v.lateness_ms[21], 1);
    }

    #[test]
    fn missing_and_duplicated_packets_are_loss_and_duplicates() {
        let mut a: Vec<(u32, i64)> = (0..50)
            .filter(|k| *k != 7 && *k != 8)
            .map(|k| (k, 5_000 + F * i64::from(k)))
            .collect();
        a.push((20, 5_000 + F * 20 + 100));
        let v = judge(&mut a, 1_000_000);
        assert_eq!((v.expected, v.received, v.duplicates), (50, 48, 1));
    }

    #[test]
    fn a_stream_that_stops_still_owes_its_slots() {
        let mut a: Vec<(u32, i64)> = (0..25).map(|k| (k, 2_000 + F * i64::from(k))).collect();
        let v = judge(&mut a, 1_000_000);
        assert_eq!((v.expected, v.received), (50, 25));
        assert_eq!(judge(&mut [], 1_000_000).expected, 50);
    }

    #[test]
    fn a_stream_that_falls_behind_its_clock_is_late_from_then_on() {
        // A 60 ms stall at packet 30: every later packet arrives 60 ms late.
        let mut a: Vec<(u32, i64)> = (0..50)
            .map(|k| (k, 2_000 + F * i64::from(k) + if k >= 30 { 60_000 } else { 0 }))
            .collect();
        let v = judge(&mut a, 1_000_000);
        assert_eq!((v.expected, v.received, v.late), (50, 50, 20));
        assert_eq!(v.lateness_ms[60], 20);
    }
}
