//! Virtual phones around a [`Bridge`]: each sends its own tone as 20 ms RTP
//! packets in its codec and decodes what the bridge sends it. Time is
//! virtual: tick k happens at `base + k·20 ms`, packets arrive at the tick
//! they belong to; nothing sleeps.

use std::time::{Duration, Instant};

use switchboard::dsp::opus::{OpusConfig, OpusDecoder, OpusEncoder, MAX_PACKET};
use switchboard::dsp::tone::{tone_level_dbfs, ToneGenerator};
use switchboard::dsp::{g711, SampleRate};
use switchboard::media::mixer::{Bridge, PartyId, StreamState};
use switchboard::media::pipeline::{LegFormat, MAX_OUT_PACKET};
use switchboard::rtp::packet::{write_packet, RtpFields, RtpHeader};
use switchboard::sdp::CodecKind;

pub type R = Result<(), Box<dyn std::error::Error>>;

pub const TICK: Duration = Duration::from_millis(20);

pub fn pcmu() -> LegFormat {
    LegFormat::new(CodecKind::Pcmu, 0, Some(101))
}

pub fn pcma() -> LegFormat {
    LegFormat::new(CodecKind::Pcma, 8, Some(101))
}

pub fn opus() -> LegFormat {
    LegFormat::new(CodecKind::Opus, 111, Some(96))
}

enum Enc {
    Ulaw,
    Alaw,
    /// Phones send fullband Opus (48 kHz).
    Opus(Box<OpusEncoder>),
}

enum Dec {
    Ulaw,
    Alaw,
    /// Decoded at 16 kHz: wideband is what a bridge sends.
    Opus(Box<OpusDecoder>),
}

/// A packet the phone received: the header fields the tests check.
#[derive(Clone, Copy, Debug)]
pub struct Got {
    pub tick: u32,
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
}

/// One phone on the bridge.
pub struct Phone {
    pub id: PartyId,
    pub format: LegFormat,
    ssrc: u32,
    seq: u16,
    ts: u32,
    /// What it says; `None` sends nothing at all.
    pub voice: Option<ToneGenerator>,
    send_rate: u32,
    enc: Enc,
    dec: Dec,
    /// The network holds its packets back (they arrive later, all at once).
    pub stalled: bool,
    backlog: Vec<Vec<u8>>,
    /// Everything it heard, decoded, at [`Phone::rate`].
    pub heard: Vec<i16>,
    /// Every packet it received.
    pub got: Vec<Got>,
}

impl Phone {
    /// Adds a phone with `format` saying `freq` Hz at `dbfs` to `bridge`,
    /// its incoming stream starting at `stream`.
    pub fn join(
        bridge: &mut Bridge,
        format: LegFormat,
        freq: f64,
        dbfs: f64,
        stream: StreamState,
    ) -> Result<Phone, Box<dyn std::error::Error>> {
        let id = bridge.add_party(format, stream)?;
        let (send_rate, enc, dec) = match format.codec {
            CodecKind::Pcmu => (8000, Enc::Ulaw, Dec::Ulaw),
            CodecKind::Pcma => (8000, Enc::Alaw, Dec::Alaw),
            _ => (
                48_000,
                Enc::Opus(Box::new(OpusEncoder::new(SampleRate::Hz48000, OpusConfig::default())?)),
                Dec::Opus(Box::new(OpusDecoder::new(SampleRate::Hz16000)?)),
            ),
        };
        Ok(Phone {
            id,
            format,
            ssrc: 0x1000_0000 + id.0,
            seq: (id.0 as u16).wrapping_mul(7919),
            ts: id.0.wrapping_mul(104_729),
            voice: Some(ToneGenerator::sine(freq, dbfs, send_rate)),
            send_rate,
            enc,
            dec,
            stalled: false,
            backlog: Vec::new(),
            heard: Vec::new(),
            got: Vec::new(),
        })
    }

    /// The rate of [`Phone::heard`].
    pub fn rate(&self) -> u32 {
        match self.dec {
            Dec::Opus(_) => 16_000,
            _ => 8000,
        }
    }

    /// The next 20 ms packet of its voice, or `None` when it is silent.
    fn next_packet(&mut self) -> Option<Vec<u8>> {
        let voice = self.voice.as_mut()?;
        let mut pcm = vec![0i16; (self.send_rate / 50) as usize];
        voice.fill(&mut pcm);
        let mut payload = vec![0u8; MAX_PACKET];
        let n = match &mut self.enc {
            Enc::Ulaw => g711::encode_ulaw(&pcm, &mut payload).ok()?,
            Enc::Alaw => g711::encode_alaw(&pcm, &mut payload).ok()?,
            Enc::Opus(e) => e.encode(&pcm, &mut payload).ok()?,
        };
        let fields = RtpFields {
            marker: false,
            payload_type: self.format.pt,
            sequence: self.seq,
            timestamp: self.ts,
            ssrc: self.ssrc,
        };
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(self.format.clock_rate / 50);
        let mut buf = vec![0u8; 12 + n];
        write_packet(&mut buf, &fields, &payload[..n]).ok()?;
        Some(buf)
    }

    fn receive(&mut self, tick: u32, pkt: &[u8]) -> R {
        let h = RtpHeader::parse(pkt)?;
        let payload = &pkt[h.payload_offset..h.payload_end];
        self.got.push(Got {
            tick,
            marker: h.marker,
            pt: h.payload_type,
            seq: h.sequence,
            ts: h.timestamp,
            ssrc: h.ssrc,
        });
        let start = self.heard.len();
        match &mut self.dec {
            Dec::Ulaw | Dec::Alaw => {
                self.heard.resize(start + payload.len(), 0);
                let out = &mut self.heard[start..];
                if matches!(self.dec, Dec::Ulaw) {
                    g711::decode_ulaw(payload, out)?;
                } else {
                    g711::decode_alaw(payload, out)?;
                }
            }
            Dec::Opus(d) => {
                self.heard.resize(start + 320 * 6, 0);
                let n = d.decode(payload, &mut self.heard[start..])?;
                self.heard.truncate(start + n);
            }
        }
        Ok(())
    }

    /// Level (dBFS) of `freq` in what it heard during the last `seconds`.
    pub fn hears(&self, freq: f64, seconds: f64) -> f64 {
        let n = (seconds * f64::from(self.rate())) as usize;
        let tail = &self.heard[self.heard.len().saturating_sub(n)..];
        tone_level_dbfs(tail, freq, self.rate())
    }

    /// What it heard during the last `seconds`.
    pub fn tail(&self, seconds: f64) -> &[i16] {
        let n = (seconds * f64::from(self.rate())) as usize;
        &self.heard[self.heard.len().saturating_sub(n)..]
    }
}

/// A bridge, its phones and the virtual clock.
pub struct Conf {
    pub bridge: Bridge,
    pub phones: Vec<Phone>,
    base: Instant,
    pub tick: u32,
}

impl Conf {
    pub fn new(bridge: Bridge) -> Conf {
        Conf {
            bridge,
            phones: Vec::new(),
            base: Instant::now(),
            tick: 0,
        }
    }

    /// Adds a phone; its index in [`Conf::phones`].
    pub fn join(
        &mut self,
        format: LegFormat,
        freq: f64,
        dbfs: f64,
        stream: StreamState,
    ) -> Result<usize, Box<dyn std::error::Error>> {
        let p = Phone::join(&mut self.bridge, format, freq, dbfs, stream)?;
        self.phones.push(p);
        Ok(self.phones.len() - 1)
    }

    pub fn now(&self) -> Instant {
        self.base + TICK * self.tick
    }

    /// Runs `ticks` ticks: each phone's packet arrives, the bridge ticks,
    /// every phone drains what the bridge sent it, which must be exactly one
    /// packet per tick.
    pub fn run(&mut self, ticks: u32) -> R {
        let mut buf = vec![0u8; MAX_OUT_PACKET];
        for _ in 0..ticks {
            let now = self.now();
            for p in &mut self.phones {
                if let Some(pkt) = p.next_packet() {
                    p.backlog.push(pkt);
                }
                if !p.stalled {
                    for pkt in p.backlog.drain(..) {
                        self.bridge.push(p.id, &pkt, now)?;
                    }
                }
            }
            self.bridge.tick(now);
            for p in &mut self.phones {
                let mut n = 0;
                while let Some(len) = self.bridge.poll_packet(p.id, &mut buf) {
                    p.receive(self.tick, &buf[..len])?;
                    n += 1;
                }
                assert_eq!(n, 1, "{} got {n} packets at tick {}", p.id, self.tick);
            }
            self.tick += 1;
        }
        Ok(())
    }

    /// Takes phone `i` off the bridge (its index stays; it no longer receives).
    pub fn leave(&mut self, i: usize) -> Result<(Phone, StreamState), Box<dyn std::error::Error>> {
        let p = self.phones.remove(i);
        let s = self.bridge.remove_party(p.id)?;
        Ok((p, s))
    }
}
