//! A jitter buffer for the transcoding path (RFC 3550 §6.4.1 jitter and
//! §A.8 estimator; RFC 3551 §4.2 20 ms audio frames).
//!
//! The relay fast path forwards packets as they come and leaves de-jittering
//! to the phones. When the switch decodes (transcoding, mixing, recording,
//! noise removal) it must play frames at a steady 20 ms pace itself: the
//! media worker inserts packets as they arrive and pulls one frame per tick,
//! passing the tick's time in. The buffer reorders by timestamp, drops
//! duplicates and packets that come after their frame was played, and
//! returns [`Pull::Missing`] for a lost frame so the caller runs loss
//! concealment (Opus PLC/FEC, G.711 repeat-and-fade).
//!
//! Delay: playout starts once the first packet has waited the target delay,
//! fixed or adaptive (from the §A.8 interarrival jitter, bumped by late
//! packets, within configured bounds). When the buffer holds more than the
//! target plus two frames (a sender whose clock runs fast, or a burst), the
//! oldest frames are dropped; when it runs dry (a slow clock, a stall, DTX
//! silence) it reports [`Pull::Empty`] and re-primes. Memory is bounded: a
//! fixed ring of `capacity` slots, each payload at most `max_payload` bytes,
//! reused without allocation once warm.

use std::time::{Duration, Instant};

/// How long frames wait before playout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetDelay {
    /// Always this delay.
    Fixed(Duration),
    /// Follows measured jitter between these bounds.
    Adaptive {
        /// Lower bound (e.g. 40 ms).
        min: Duration,
        /// Upper bound (e.g. 200 ms).
        max: Duration,
    },
}

/// Jitter buffer settings for one incoming stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitterConfig {
    /// The stream's RTP clock rate (8000 for G.711, 48000 for Opus).
    pub clock_rate: u32,
    /// Timestamp units per frame pulled (160 or 960 for 20 ms).
    pub frame_samples: u32,
    /// The playout delay policy.
    pub target: TargetDelay,
    /// Slots in the ring (frames); raised to fit the largest target.
    pub capacity: usize,
    /// Largest payload accepted, in bytes.
    pub max_payload: usize,
}

impl JitterConfig {
    /// 20 ms G.711 at 8 kHz, adaptive 40–200 ms, 32 slots.
    pub fn g711() -> Self {
        JitterConfig {
            clock_rate: 8000,
            frame_samples: 160,
            target: TargetDelay::Adaptive {
                min: Duration::from_millis(40),
                max: Duration::from_millis(200),
            },
            capacity: 32,
            max_payload: 320,
        }
    }

    /// 20 ms Opus at 48 kHz, adaptive 40–200 ms, 32 slots.
    pub fn opus() -> Self {
        JitterConfig {
            clock_rate: 48_000,
            frame_samples: 960,
            max_payload: 1275,
            ..Self::g711()
        }
    }

    fn frames_for(&self, d: Duration) -> u64 {
        let frame_ns = self.frame_samples as u128 * 1_000_000_000 / self.clock_rate.max(1) as u128;
        d.as_nanos().div_ceil(frame_ns.max(1)) as u64
    }
}

/// What [`JitterBuffer::insert`] did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    /// Stored for playout.
    Queued,
    /// A copy of a packet already buffered; dropped.
    Duplicate,
    /// Its frame was already played (or skipped); dropped.
    Late,
    /// Larger than `max_payload`; dropped.
    TooLarge,
}

/// One playout tick's result.
#[derive(Debug, PartialEq, Eq)]
pub enum Pull<'a> {
    /// The next frame.
    Frame {
        /// Its RTP sequence number.
        sequence: u16,
        /// Its RTP timestamp.
        timestamp: u32,
        /// Its payload, valid until the next call.
        payload: &'a [u8],
    },
    /// The frame with this timestamp was lost (later ones are buffered):
    /// run loss concealment.
    Missing {
        /// The lost frame's RTP timestamp.
        timestamp: u32,
    },
    /// Nothing to play: not started, re-priming after running dry, or no
    /// packets. Conceal briefly if audio was playing, then play silence.
    Empty,
}

/// Counters for monitoring and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets queued.
    pub queued: u64,
    /// Frames played.
    pub played: u64,
    /// Frames reported missing.
    pub missing: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Late packets dropped.
    pub late: u64,
    /// Frames dropped to cut latency (fast sender clock, bursts, floods).
    pub latency_drops: u64,
    /// Times the buffer ran dry while playing.
    pub underruns: u64,
    /// Packets dropped for exceeding `max_payload`.
    pub too_large: u64,
}

const EMPTY: u64 = u64::MAX;
/// Frame indices start here so a packet slightly before the first is representable.
const BASE_INDEX: u64 = 1 << 40;

#[derive(Clone, Debug)]
struct Slot {
    index: u64,
    sequence: u16,
    timestamp: u32,
    data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing received yet.
    Idle,
    /// Waiting for the first buffered packet (arrived at `since`) to age by the target.
    Priming { since: Instant },
    /// Playing one frame per pull.
    Playing,
    /// Ran dry while playing; the next packet starts priming.
    Dry,
}

/// A bounded jitter buffer (see the module docs).
#[derive(Clone, Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    slots: Vec<Slot>,
    state: State,
    /// Index of the next frame to play (while priming: the lowest buffered).
    head: u64,
    /// Frames below this index were played or skipped.
    floor: u64,
    newest: u64,
    count: usize,
    /// Grid: frame `ref_index` has timestamp `ref_ts`.
    ref_index: u64,
    ref_ts: u32,
    first_arrival: Option<Instant>,
    last_transit: Option<u32>,
    jitter_q4: u32,
    late_boost: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(mut config: JitterConfig) -> Self {
        config.clock_rate = config.clock_rate.max(1);
        config.frame_samples = config.frame_samples.max(1);
        let max_target = match config.target {
            TargetDelay::Fixed(d) => d,
            TargetDelay::Adaptive { max, .. } => max,
        };
        config.capacity = config.capacity.max(config.frames_for(max_target) as usize + 4);
        let slots = (0..config.capacity)
            .map(|_| Slot {
                index: EMPTY,
                sequence: 0,
                timestamp: 0,
                data: Vec::new(),
            })
            .collect();
        JitterBuffer {
            config,
            slots,
            state: State::Idle,
            head: BASE_INDEX,
            floor: 0,
            newest: BASE_INDEX,
            count: 0,
            ref_index: BASE_INDEX,
            ref_ts: 0,
            first_arrival: None,
            last_transit: None,
            jitter_q4: 0,
            late_boost: 0,
            stats: JitterStats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Packets currently buffered (never above the capacity).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no packet is buffered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The current target delay.
    pub fn target_delay(&self) -> Duration {
        let frames = self.target_frames();
        Duration::from_nanos(frames * self.config.frame_samples as u64 * 1_000_000_000 / self.config.clock_rate as u64)
    }

    fn target_frames(&self) -> u64 {
        match self.config.target {
            TargetDelay::Fixed(d) => self.config.frames_for(d),
            TargetDelay::Adaptive { min, max } => {
                // Four times the §A.8 jitter plus a frame, and a boost after late packets.
                let samples = 4 * (self.jitter_q4 >> 4) as u64 + (self.config.frame_samples + self.late_boost) as u64;
                let d = Duration::from_nanos(samples * 1_000_000_000 / self.config.clock_rate as u64);
                self.config.frames_for(d.clamp(min, max))
            }
        }
    }

    fn index_of(&self, ts: u32) -> u64 {
        let delta = ts.wrapping_sub(self.ref_ts) as i32 as i64;
        let frames = delta.div_euclid(self.config.frame_samples as i64);
        (self.ref_index as i64 + frames).max(0) as u64
    }

    fn ts_of(&self, index: u64) -> u32 {
        let frames = index.wrapping_sub(self.ref_index) as i64;
        self.ref_ts
            .wrapping_add((frames as i32 as u32).wrapping_mul(self.config.frame_samples))
    }

    fn slot_of(&self, index: u64) -> usize {
        (index % self.slots.len() as u64) as usize
    }

    /// Buffers a packet that arrived at `arrival`.
    pub fn insert(&mut self, sequence: u16, timestamp: u32, arrival: Instant, payload: &[u8]) -> Insert {
        if payload.len() > self.config.max_payload {
            self.stats.too_large += 1;
            return Insert::TooLarge;
        }
        if self.state == State::Idle {
            self.ref_ts = timestamp;
            self.ref_index = BASE_INDEX;
            self.head = BASE_INDEX;
            self.newest = BASE_INDEX;
            self.state = State::Priming { since: arrival };
        }
        let index = self.index_of(timestamp);
        let cap = self.slots.len() as u64;
        if index < self.floor {
            return self.late();
        }
        if self.count == 0 && self.state != State::Playing {
            // First packet, or the first after running dry: playout restarts here.
            self.head = index;
            self.newest = index;
            if self.state == State::Dry {
                self.state = State::Priming { since: arrival };
            }
        } else if index < self.head {
            if self.state == State::Playing || self.newest - index >= cap {
                return self.late();
            }
            // Reordered before playout started.
            self.head = index;
        }
        let slot = self.slot_of(index);
        if self.slots[slot].index == index {
            self.stats.duplicates += 1;
            return Insert::Duplicate;
        }
        if index >= self.head + cap {
            // A flood or a jump: make room by skipping the oldest frames.
            let new_head = index + 1 - cap;
            if new_head - self.head >= cap {
                // A jump past everything buffered: one pass over the slots
                // instead of one step per skipped frame (a 2^31 timestamp
                // jump would be millions of steps; found by the `rtp`
                // fuzz target).
                self.drop_all_below(new_head);
            } else {
                while self.head < new_head {
                    self.drop_head();
                }
            }
        }
        self.update_jitter(timestamp, arrival);
        if index > self.newest {
            self.ref_ts = self.ts_of(index);
            self.ref_index = index;
            self.newest = index;
        }
        let s = &mut self.slots[slot];
        s.index = index;
        s.sequence = sequence;
        s.timestamp = timestamp;
        s.data.clear();
        s.data.extend_from_slice(payload);
        self.count += 1;
        self.stats.queued += 1;
        Insert::Queued
    }

    fn late(&mut self) -> Insert {
        self.stats.late += 1;
        if matches!(self.config.target, TargetDelay::Adaptive { .. }) {
            self.late_boost = (self.late_boost + self.config.frame_samples).min(self.config.clock_rate);
        }
        Insert::Late
    }

    fn update_jitter(&mut self, timestamp: u32, arrival: Instant) {
        let base = *self.first_arrival.get_or_insert(arrival);
        let r = (arrival.saturating_duration_since(base).as_nanos() * self.config.clock_rate as u128 / 1_000_000_000)
            as u32;
        let transit = r.wrapping_sub(timestamp);
        if let Some(last) = self.last_transit {
            let d = (transit.wrapping_sub(last) as i32)
                .unsigned_abs()
                .min(self.config.clock_rate);
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Discards the frame at the head (if buffered) and advances.
    /// What `drop_head` until `head == new_head` does, in one pass over the
    /// slots (for jumps of at least the buffer's capacity).
    fn drop_all_below(&mut self, new_head: u64) {
        let head = self.head;
        for s in &mut self.slots {
            if s.index != EMPTY && s.index >= head && s.index < new_head {
                s.index = EMPTY;
                self.count -= 1;
                self.stats.latency_drops += 1;
            }
        }
        self.head = new_head;
        self.floor = self.floor.max(new_head);
    }

    fn drop_head(&mut self) {
        let slot = self.slot_of(self.head);
        if self.slots[slot].index == self.head {
            self.slots[slot].index = EMPTY;
            self.count -= 1;
            self.stats.latency_drops += 1;
        }
        self.head += 1;
        self.floor = self.floor.max(self.head);
    }

    /// The frame to play at `now` (one call per frame period).
    pub fn pull(&mut self, now: Instant) -> Pull<'_> {
        match self.state {
            State::Idle | State::Dry => return Pull::Empty,
            State::Priming { since } => {
                let depth = if self.count == 0 {
                    0
                } else {
                    self.newest + 1 - self.head
                };
                if now.saturating_duration_since(since) < self.target_delay() && depth <= self.target_frames() + 1 {
                    return Pull::Empty;
                }
                self.state = State::Playing;
            }
            State::Playing => {}
        }
        if self.count == 0 {
            self.state = State::Dry;
            self.floor = self.floor.max(self.head);
            self.stats.underruns += 1;
            return Pull::Empty;
        }
        // Too much buffered: cut latency back to the target plus slack.
        let max_depth = self.target_frames() + 2;
        while self.count > 0 && self.newest + 1 - self.head > max_depth {
            self.drop_head();
        }
        self.late_boost = self.late_boost.saturating_sub(1);
        let index = self.head;
        self.head += 1;
        self.floor = self.floor.max(self.head);
        let slot = self.slot_of(index);
        if self.slots[slot].index != index {
            self.stats.missing += 1;
            return Pull::Missing {
                timestamp: self.ts_of(index),
            };
        }
        self.count -= 1;
        self.stats.played += 1;
        let s = &mut self.slots[slot];
        s.index = EMPTY;
        Pull::Frame {
            sequence: s.sequence,
            timestamp: s.timestamp,
            payload: &s.data,
        }
    }
}
