//! RTCP sender and receiver reports (RFC 3550 §6.4.1 SR, §6.4.2 RR) built
//! and parsed with `rtc-rtcp`, and the per-source reception statistics that
//! fill their report blocks: RFC 3550 §A.1 sequence validation and extended
//! sequence numbers, §A.3 cumulative and interval loss, §A.8 interarrival
//! jitter, and LSR/DLSR (§6.4.1).
//!
//! Because the switch anchors media and rewrites streams (see
//! [`super::rewrite`]), a phone's RTCP about the switch's stream cannot simply
//! be relayed: the switch generates SR/RR per leg from its own counters so
//! phones show correct statistics. Times come in as [`Instant`] arguments
//! (arrivals, "now") and NTP wall-clock values as `u64`; nothing here reads a
//! clock.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::reception_report::ReceptionReport;
use rtc_rtcp::sender_report::SenderReport;
use rtc_shared::marshal::Marshal;

use super::rewrite::StreamRewriter;
use super::RtpError;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;
/// RFC 3550 §A.1: the largest forward jump accepted as in sequence.
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 §A.1: the largest backward jump accepted as reordering.
const MAX_MISORDER: u16 = 100;
/// At most 31 report blocks fit the 5-bit RC field (RFC 3550 §6.4.1).
const MAX_REPORTS: usize = 31;

/// Converts a time since the Unix epoch (from the driver's wall clock) to a
/// 64-bit NTP timestamp (RFC 3550 §4: 32.32 fixed point seconds since 1900).
pub fn ntp_from_unix(since_epoch: Duration) -> u64 {
    let secs = since_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECS);
    let frac = ((since_epoch.subsec_nanos() as u64) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP timestamp, as carried in LSR (RFC 3550 §6.4.1).
pub fn ntp_middle32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A duration in the 1/65536 s units of DLSR, saturating.
fn to_dlsr_units(d: Duration) -> u32 {
    let v = (d.as_nanos() << 16) / 1_000_000_000;
    v.min(u32::MAX as u128) as u32
}

/// What an SR says about the sender itself (RFC 3550 §6.4.1 sender info).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// The wall-clock time of the report, 64-bit NTP format.
    pub ntp_time: u64,
    /// The same instant in the stream's RTP timestamp units.
    pub rtp_time: u32,
    /// Packets sent since the start (mod 2^32).
    pub packet_count: u32,
    /// Payload octets sent since the start (mod 2^32).
    pub octet_count: u32,
}

impl SenderInfo {
    /// The sender info of a leg's outgoing stream at `now`, whose wall-clock
    /// NTP time is `ntp_time`.
    pub fn from_rewriter(rw: &StreamRewriter, now: Instant, ntp_time: u64) -> Self {
        SenderInfo {
            ssrc: rw.ssrc(),
            ntp_time,
            rtp_time: rw.rtp_time_at(now),
            packet_count: rw.packets_sent(),
            octet_count: rw.octets_sent(),
        }
    }
}

/// A parsed SR or RR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpReport {
    /// A sender report (RFC 3550 §6.4.1).
    Sender(SenderReport),
    /// A receiver report (RFC 3550 §6.4.2).
    Receiver(ReceiverReport),
}

impl RtcpReport {
    /// The SSRC of the report's originator.
    pub fn ssrc(&self) -> u32 {
        match self {
            RtcpReport::Sender(sr) => sr.ssrc,
            RtcpReport::Receiver(rr) => rr.ssrc,
        }
    }

    /// The report blocks.
    pub fn blocks(&self) -> &[ReceptionReport] {
        match self {
            RtcpReport::Sender(sr) => &sr.reports,
            RtcpReport::Receiver(rr) => &rr.reports,
        }
    }
}

/// Builds an SR with the given report blocks.
///
/// # Errors
/// [`RtpError::TooManyReports`] above 31 blocks, or [`RtpError::Codec`].
pub fn build_sender_report(info: &SenderInfo, reports: &[ReceptionReport]) -> Result<Bytes, RtpError> {
    if reports.len() > MAX_REPORTS {
        return Err(RtpError::TooManyReports { count: reports.len() });
    }
    let sr = SenderReport {
        ssrc: info.ssrc,
        ntp_time: info.ntp_time,
        rtp_time: info.rtp_time,
        packet_count: info.packet_count,
        octet_count: info.octet_count,
        reports: reports.to_vec(),
        profile_extensions: Bytes::new(),
    };
    Ok(BytesMut::freeze(sr.marshal()?))
}

/// Builds an RR from `ssrc` with the given report blocks.
///
/// # Errors
/// [`RtpError::TooManyReports`] above 31 blocks, or [`RtpError::Codec`].
pub fn build_receiver_report(ssrc: u32, reports: &[ReceptionReport]) -> Result<Bytes, RtpError> {
    if reports.len() > MAX_REPORTS {
        return Err(RtpError::TooManyReports { count: reports.len() });
    }
    let rr = ReceiverReport {
        ssrc,
        reports: reports.to_vec(),
        profile_extensions: Bytes::new(),
    };
    Ok(BytesMut::freeze(rr.marshal()?))
}

/// Parses an RTCP datagram (possibly compound, RFC 3550 §6.1) and returns
/// its SRs and RRs; SDES, BYE and feedback packets are skipped.
///
/// # Errors
/// [`RtpError::Codec`] if the datagram is malformed, [`RtpError::NoReport`]
/// if it holds no SR or RR.
pub fn parse_reports(datagram: &[u8]) -> Result<Vec<RtcpReport>, RtpError> {
    let mut buf = Bytes::copy_from_slice(datagram);
    let packets = rtc_rtcp::packet::unmarshal(&mut buf)?;
    let mut out = Vec::with_capacity(1);
    for p in &packets {
        let any = p.as_any();
        if let Some(sr) = any.downcast_ref::<SenderReport>() {
            out.push(RtcpReport::Sender(sr.clone()));
        } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            out.push(RtcpReport::Receiver(rr.clone()));
        }
    }
    if out.is_empty() {
        return Err(RtpError::NoReport);
    }
    Ok(out)
}

/// Round-trip time from a report block about our stream, received when the
/// wall clock read `now_ntp` (RFC 3550 §6.4.1: A − LSR − DLSR). `None` if the
/// peer has not seen an SR from us yet or the values are inconsistent.
pub fn round_trip_time(block: &ReceptionReport, now_ntp: u64) -> Option<Duration> {
    if block.last_sender_report == 0 {
        return None;
    }
    let a = ntp_middle32(now_ntp);
    let rtt = a.wrapping_sub(block.last_sender_report).wrapping_sub(block.delay);
    if rtt > u32::MAX / 2 {
        return None;
    }
    Some(Duration::from_nanos((rtt as u64 * 1_000_000_000) >> 16))
}

/// Reception statistics for one incoming source (RFC 3550 §A.1, §A.3, §A.8),
/// producing its report block.
#[derive(Clone, Debug)]
pub struct ReceiverStats {
    ssrc: u32,
    clock_rate: u32,
    started: bool,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    base_arrival: Option<Instant>,
    last_transit: Option<u32>,
    /// Jitter in timestamp units, scaled by 16 (§A.8's integer form).
    jitter_q4: u32,
    last_sr: u32,
    last_sr_arrival: Option<Instant>,
}

impl ReceiverStats {
    /// Statistics for `ssrc`, whose clock runs at `clock_rate` Hz; the first
    /// packet passed to [`Self::on_packet`] starts the sequence (no probation).
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        ReceiverStats {
            ssrc,
            clock_rate: clock_rate.max(1),
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: u32::MAX,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            base_arrival: None,
            last_transit: None,
            jitter_q4: 0,
            last_sr: 0,
            last_sr_arrival: None,
        }
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq as u32;
        self.max_seq = seq;
        self.bad_seq = u32::MAX;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.last_transit = None;
    }

    /// Records a packet of this source that arrived at `arrival`. Returns
    /// `false` if §A.1 judged it invalid (a jump, unless confirmed by the
    /// next packet in sequence, which restarts the statistics).
    pub fn on_packet(&mut self, seq: u16, timestamp: u32, arrival: Instant) -> bool {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
        } else {
            let udelta = seq.wrapping_sub(self.max_seq);
            if udelta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles = self.cycles.wrapping_add(1 << 16);
                }
                self.max_seq = seq;
            } else if udelta <= u16::MAX - MAX_MISORDER {
                if seq as u32 == self.bad_seq {
                    // Two sequential packets after a jump: the source restarted.
                    self.init_seq(seq);
                } else {
                    self.bad_seq = (seq as u32 + 1) & 0xffff;
                    return false;
                }
            }
            // else: duplicate or reordered, counted as received (§A.3).
        }
        self.received = self.received.wrapping_add(1);
        self.update_jitter(timestamp, arrival);
        true
    }

    fn update_jitter(&mut self, timestamp: u32, arrival: Instant) {
        let base = *self.base_arrival.get_or_insert(arrival);
        let since = arrival.saturating_duration_since(base);
        let r = (since.as_nanos() * self.clock_rate as u128 / 1_000_000_000) as u32;
        let transit = r.wrapping_sub(timestamp);
        if let Some(last) = self.last_transit {
            let d = (transit.wrapping_sub(last) as i32).unsigned_abs();
            // J += (|D| - J) / 16, kept scaled by 16 (RFC 3550 §A.8).
            self.jitter_q4 = self.jitter_q4.wrapping_add(d).wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Records an SR from this source received at `arrival`, for LSR/DLSR.
    pub fn on_sender_report(&mut self, ntp_time: u64, arrival: Instant) {
        self.last_sr = ntp_middle32(ntp_time);
        self.last_sr_arrival = Some(arrival);
    }

    /// The extended highest sequence number received (cycles + max).
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(self.max_seq as u32)
    }

    /// Packets received, duplicates and late ones included.
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Cumulative packets lost (§A.3; negative with duplicates).
    pub fn cumulative_lost(&self) -> i64 {
        if !self.started {
            return 0;
        }
        let expected = self.extended_max() as i64 - self.base_seq as i64 + 1;
        expected - self.received as i64
    }

    /// The interarrival jitter in timestamp units (§A.8).
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// The report block for this source at `now`; starts a new interval for
    /// the fraction lost (§A.3), so call it once per report sent.
    pub fn report(&mut self, now: Instant) -> ReceptionReport {
        let expected = if self.started {
            self.extended_max().wrapping_sub(self.base_seq).wrapping_add(1)
        } else {
            0
        };
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        // 24-bit signed, clamped (§6.4.1).
        let lost = self.cumulative_lost().clamp(-0x80_0000, 0x7f_ffff);
        let (last_sender_report, delay) = match self.last_sr_arrival {
            Some(at) => (self.last_sr, to_dlsr_units(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        ReceptionReport {
            ssrc: self.ssrc,
            fraction_lost,
            total_lost: (lost as i32 as u32) & 0xff_ffff,
            last_sequence_number: self.extended_max(),
            jitter: self.jitter(),
            last_sender_report,
            delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
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
        assert!(matches!(parse_reports(&[]), Err(RtpError::Codec(_))));
        assert!(matches!(
            parse_reports(&[0x81, 0xc8, 0, 50, 1, 2]),
            Err(RtpError::Codec(_))
        ));
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
}
