//! One continuous outgoing RTP stream per leg, whatever feeds it (RFC 3550
//! §5.1, §8; RFC 3551 §4.2 timestamp spacing).
//!
//! An anchored call switches what a leg hears: music on hold, then the agent,
//! then another agent after a transfer. Each source has its own SSRC, random
//! sequence and timestamp bases. Phones handle a new SSRC badly (some mute,
//! some reset their jitter buffer late), so the switch sends each leg one
//! stream: a fixed SSRC chosen by the switch, sequence numbers that go on +1
//! across source changes, timestamps that advance by the real time elapsed
//! (rounded to whole packets), and the marker bit on the first packet after a
//! change, as RFC 3550 §5.1 asks for the start of a talk spurt.
//!
//! Within one source the mapping is a pair of constant offsets (mod 2^16 and
//! mod 2^32), so reordering, duplicates and gaps pass through unchanged and
//! the receiver's own jitter buffer and loss statistics keep working.
//! Payload types are remapped per leg with a [`PayloadTypeMap`] (dynamic PT
//! numbers, e.g. telephone-event 101 on one leg and 96 on the other).
//!
//! [`StreamRewriter::rewrite`] works in place on `&mut [u8]` and allocates nothing.

use std::time::Instant;

use super::packet::{RtpHeader, RtpView};
use super::RtpError;

/// RFC 3550 §A.1: a forward jump larger than this restarts the mapping.
const MAX_DROPOUT: i32 = 3000;
/// RFC 3550 §A.1: a backward jump larger than this restarts the mapping.
const MAX_MISORDER: i32 = 100;

const UNMAPPED: u8 = 0xff;

/// Incoming → outgoing payload-type numbers for one leg (RFC 3551 §6 static,
/// 96–127 dynamic from SDP). Unmapped types are rejected so the caller drops
/// the packet rather than send a codec the leg did not negotiate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadTypeMap {
    table: [u8; 128],
}

impl Default for PayloadTypeMap {
    fn default() -> Self {
        Self::new()
    }
}

impl PayloadTypeMap {
    /// A map with no entries.
    pub fn new() -> Self {
        PayloadTypeMap { table: [UNMAPPED; 128] }
    }

    /// A map passing every payload type through unchanged.
    pub fn identity() -> Self {
        let mut table = [0u8; 128];
        for (i, t) in table.iter_mut().enumerate() {
            *t = i as u8;
        }
        PayloadTypeMap { table }
    }

    /// Maps `incoming` to `outgoing` (both 7-bit; the high bit is ignored).
    pub fn insert(&mut self, incoming: u8, outgoing: u8) -> &mut Self {
        self.table[(incoming & 0x7f) as usize] = outgoing & 0x7f;
        self
    }

    /// Removes the entry for `incoming`.
    pub fn remove(&mut self, incoming: u8) -> &mut Self {
        self.table[(incoming & 0x7f) as usize] = UNMAPPED;
        self
    }

    /// The outgoing type for `incoming`, if mapped.
    #[inline]
    pub fn get(&self, incoming: u8) -> Option<u8> {
        match self.table[(incoming & 0x7f) as usize] {
            UNMAPPED => None,
            pt => Some(pt),
        }
    }
}

/// How one leg's outgoing stream starts.
#[derive(Clone, Debug)]
pub struct RewriterConfig {
    /// The SSRC the leg sees (chosen by the caller, e.g. from seeded randomness).
    pub ssrc: u32,
    /// The first outgoing sequence number (random per RFC 3550 §5.1).
    pub initial_sequence: u16,
    /// The first outgoing timestamp (random per RFC 3550 §5.1).
    pub initial_timestamp: u32,
    /// The stream's clock rate in Hz (RFC 3551 §4.5: 8000 for G.711, 48000 for Opus).
    pub clock_rate: u32,
    /// Samples per packet until a source shows its own spacing (160 = 20 ms at 8 kHz).
    pub packet_samples: u32,
    /// Payload-type translation for this leg.
    pub payload_types: PayloadTypeMap,
}

/// What [`StreamRewriter::rewrite`] wrote into the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// The outgoing sequence number.
    pub sequence: u16,
    /// The outgoing timestamp.
    pub timestamp: u32,
    /// The outgoing payload type.
    pub payload_type: u8,
    /// A new source started with this packet (the marker bit was set).
    pub switched: bool,
    /// A late packet of the previous source, rewritten with that source's offsets.
    pub late: bool,
}

#[derive(Clone, Copy, Debug)]
struct SourceMap {
    ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
    highest_seq: u16,
    highest_ts: u32,
    /// Timestamp spacing between consecutive packets, learned from the source.
    step: u32,
}

/// Maps any number of incoming sources onto one outgoing stream for a leg.
#[derive(Clone, Debug)]
pub struct StreamRewriter {
    ssrc: u32,
    clock_rate: u32,
    default_step: u32,
    payload_types: PayloadTypeMap,
    current: Option<SourceMap>,
    previous: Option<SourceMap>,
    /// Highest outgoing sequence number sent, and the timestamp it carried.
    last_seq: u16,
    last_ts: u32,
    last_arrival: Option<Instant>,
    packets: u32,
    octets: u32,
    switches: u64,
}

impl StreamRewriter {
    /// A rewriter that has sent nothing yet.
    pub fn new(config: RewriterConfig) -> Self {
        StreamRewriter {
            ssrc: config.ssrc,
            clock_rate: config.clock_rate.max(1),
            default_step: config.packet_samples.max(1),
            payload_types: config.payload_types,
            current: None,
            previous: None,
            last_seq: config.initial_sequence.wrapping_sub(1),
            last_ts: config.initial_timestamp,
            last_arrival: None,
            packets: 0,
            octets: 0,
            switches: 0,
        }
    }

    /// The payload-type map, for changes after a re-INVITE.
    pub fn payload_types_mut(&mut self) -> &mut PayloadTypeMap {
        &mut self.payload_types
    }

    /// The leg's outgoing SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The stream's clock rate in Hz.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Packets sent (mod 2^32, RFC 3550 §6.4.1 sender's packet count).
    pub fn packets_sent(&self) -> u32 {
        self.packets
    }

    /// Payload octets sent (mod 2^32, RFC 3550 §6.4.1 sender's octet count).
    pub fn octets_sent(&self) -> u32 {
        self.octets
    }

    /// Number of source changes seen, the first source included.
    pub fn source_switches(&self) -> u64 {
        self.switches
    }

    /// The RTP timestamp corresponding to `now`, extrapolated from the last
    /// packet sent (for the SR's RTP timestamp, RFC 3550 §6.4.1).
    pub fn rtp_time_at(&self, now: Instant) -> u32 {
        match self.last_arrival {
            Some(at) => self
                .last_ts
                .wrapping_add(samples(now.saturating_duration_since(at), self.clock_rate)),
            None => self.last_ts,
        }
    }

    /// Rewrites `buf` in place for this leg: SSRC, sequence number,
    /// timestamp, payload type, and the marker bit on a source change.
    /// `arrival` is when the packet was received (or generated, for music);
    /// it sets the timestamp gap across a source change.
    ///
    /// # Errors
    /// The packet's parse error, or [`RtpError::UnmappedPayloadType`]; the
    /// packet should then be dropped, and the rewriter's state is unchanged.
    #[inline]
    pub fn rewrite(&mut self, buf: &mut [u8], arrival: Instant) -> Result<Rewritten, RtpError> {
        let h = RtpHeader::parse(buf)?;
        let payload_type = self
            .payload_types
            .get(h.payload_type)
            .ok_or(RtpError::UnmappedPayloadType {
                payload_type: h.payload_type,
            })?;

        let (map, switched, late) = match self.classify(&h) {
            Class::Current(delta) => match self.advance_current(&h, delta) {
                Some(map) => (map, false, false),
                None => (self.start_source(&h, arrival), true, false),
            },
            Class::Late(prev) => (prev, false, true),
            Class::New => (self.start_source(&h, arrival), true, false),
        };

        let sequence = h.sequence.wrapping_add(map.seq_offset);
        let timestamp = h.timestamp.wrapping_add(map.ts_offset);
        if !late && (switched || (sequence.wrapping_sub(self.last_seq) as i16) > 0) {
            self.last_seq = sequence;
            self.last_ts = timestamp;
            self.last_arrival = Some(arrival);
        }
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(h.payload_len() as u32);

        let mut view = RtpView::with_header(buf, &h);
        view.set_ssrc(self.ssrc);
        view.set_sequence(sequence);
        view.set_timestamp(timestamp);
        view.set_payload_type(payload_type);
        if switched {
            view.set_marker(true);
        }
        Ok(Rewritten {
            sequence,
            timestamp,
            payload_type,
            switched,
            late,
        })
    }

    fn classify(&self, h: &RtpHeader) -> Class {
        if let Some(cur) = &self.current {
            if cur.ssrc == h.ssrc {
                let delta = h.sequence.wrapping_sub(cur.highest_seq) as i16 as i32;
                if !(-MAX_MISORDER..=MAX_DROPOUT).contains(&delta) {
                    // The source restarted its numbering: treat as a new source.
                    return Class::New;
                }
                return Class::Current(delta);
            }
        }
        if let Some(prev) = &self.previous {
            if prev.ssrc == h.ssrc {
                let delta = h.sequence.wrapping_sub(prev.highest_seq) as i16 as i32;
                if (-MAX_MISORDER..=0).contains(&delta) {
                    return Class::Late(*prev);
                }
            }
        }
        Class::New
    }

    /// Records a packet of the current source `delta` sequence numbers past
    /// its highest (learning the source's packet spacing) and returns the mapping.
    fn advance_current(&mut self, h: &RtpHeader, delta: i32) -> Option<SourceMap> {
        let c = self.current.as_mut()?;
        if delta > 0 {
            if delta == 1 {
                let ts_step = h.timestamp.wrapping_sub(c.highest_ts);
                // Telephone-events repeat the timestamp; skip them and big gaps.
                if ts_step > 0 && ts_step < c.step.saturating_mul(8) {
                    c.step = ts_step;
                }
            }
            c.highest_seq = h.sequence;
            c.highest_ts = h.timestamp;
        }
        Some(*c)
    }

    fn start_source(&mut self, h: &RtpHeader, arrival: Instant) -> SourceMap {
        let step = self.current.map_or(self.default_step, |c| c.step);
        let (out_seq, out_ts) = match self.last_arrival {
            None => (self.last_seq.wrapping_add(1), self.last_ts),
            Some(last) => {
                let elapsed = samples(arrival.saturating_duration_since(last), self.clock_rate);
                // Whole packets, at least one, so the receiver sees regular spacing.
                let packets = ((elapsed as u64 + step as u64 / 2) / step as u64).max(1);
                let gap = (packets * step as u64) as u32;
                (self.last_seq.wrapping_add(1), self.last_ts.wrapping_add(gap))
            }
        };
        let map = SourceMap {
            ssrc: h.ssrc,
            seq_offset: out_seq.wrapping_sub(h.sequence),
            ts_offset: out_ts.wrapping_sub(h.timestamp),
            highest_seq: h.sequence,
            highest_ts: h.timestamp,
            step,
        };
        self.previous = self.current.replace(map);
        self.switches += 1;
        map
    }
}

enum Class {
    Current(i32),
    Late(SourceMap),
    New,
}

/// `d` in samples at `clock_rate`, mod 2^32.
#[inline]
fn samples(d: std::time::Duration, clock_rate: u32) -> u32 {
    (d.as_nanos() * clock_rate as u128 / 1_000_000_000) as u32
}
