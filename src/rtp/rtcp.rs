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
/// its SRs and RRs. The datagram is split by the packets' length fields;
/// only SRs and RRs are decoded (by rtc-rtcp), so SDES, BYE, APP and
/// feedback packets are skipped unread: rtc-rtcp 0.21 refuses a padded
/// SDES at the end of a compound (allowed by §6.1), which used to cost the
/// whole datagram's reports (found by the `rtcp` fuzz target).
///
/// # Errors
/// [`RtpError::BadCompound`] if the lengths do not add up or a version is
/// not 2, [`RtpError::Codec`] if an SR or RR is malformed,
/// [`RtpError::NoReport`] if it holds no SR or RR.
pub fn parse_reports(datagram: &[u8]) -> Result<Vec<RtcpReport>, RtpError> {
    if datagram.is_empty() {
        return Err(RtpError::BadCompound {
            offset: 0,
            reason: "empty datagram",
        });
    }
    let mut out = Vec::with_capacity(1);
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = &datagram[offset..];
        let bad = |reason| RtpError::BadCompound { offset, reason };
        if rest.len() < 4 {
            return Err(bad("shorter than an RTCP header"));
        }
        if rest[0] >> 6 != 2 {
            return Err(bad("version is not 2"));
        }
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        let Some(packet) = rest.get(..len) else {
            return Err(bad("length runs past the datagram"));
        };
        if matches!(packet[1], 200 | 201) {
            let mut buf = Bytes::copy_from_slice(packet);
            for p in rtc_rtcp::packet::unmarshal(&mut buf)? {
                let any = p.as_any();
                if let Some(sr) = any.downcast_ref::<SenderReport>() {
                    out.push(RtcpReport::Sender(sr.clone()));
                } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                    out.push(RtcpReport::Receiver(rr.clone()));
                }
            }
        }
        offset += len;
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
    late: u64,
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
            late: 0,
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

    /// The source these statistics are about.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
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
            } else {
                // Duplicate or reordered, counted as received (§A.3); it
                // came after a later packet: late.
                self.late += 1;
            }
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

    /// Packets that arrived after a packet with a later sequence number
    /// (reordered, or a copy of an older one), since these statistics started.
    pub fn late(&self) -> u64 {
        self.late
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
