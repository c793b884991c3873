//! A media session core driven alone in virtual time: phones that make
//! RTP packets of a tone, a clock that jumps from one deadline of the core
//! to the next, and a record of every datagram and event the core put out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::call::media::{LegAudio, MediaLeg, RelayLeg};
use switchboard::dsp::g711;
use switchboard::dsp::opus::{OpusConfig, OpusEncoder, MAX_PACKET};
use switchboard::dsp::tone::{tone_level_dbfs, ToneGenerator};
use switchboard::media::session::{Peer, SessionCommand, SessionConfig, SessionCore, SessionEvent, SocketKind};
use switchboard::media::HoldMusic;
use switchboard::rtp::packet::{write_packet, RtpFields, RtpHeader};
use switchboard::sdp::CodecKind;

pub const A: Peer = Peer::Leg(MediaLeg::A);
pub const B: Peer = Peer::Leg(MediaLeg::B);
/// The wall clock the core is built with (2024-01-01T00:00:00Z).
pub const UNIX_START: Duration = Duration::from_secs(1_704_067_200);
/// Level of the phones' tones.
pub const TONE_DBFS: f64 = -12.0;

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// The caller's phone, the callee's phone and the supervisor's phone (public addresses).
pub fn caller_addr() -> SocketAddr {
    addr("203.0.113.10:4000")
}
pub fn callee_addr() -> SocketAddr {
    addr("198.51.100.20:5000")
}
pub fn monitor_addr() -> SocketAddr {
    addr("192.0.2.50:6000")
}

/// A leg's audio: G.711 (PT 0 or 8) with telephone-event 101.
pub fn g711(codec: CodecKind) -> LegAudio {
    let pt = if codec == CodecKind::Pcma { 8 } else { 0 };
    LegAudio {
        codec,
        clock_rate: 8000,
        recv_pt: pt,
        send_pt: pt,
        event_recv_pt: Some(101),
        event_send_pt: Some(101),
        event_clock_rate: Some(8000),
    }
}

/// A leg as the engine plans it: signalled at `remote`, relaying PTs from `other`.
pub fn relay_leg(local: u16, remote: SocketAddr, audio: LegAudio, other: LegAudio) -> Box<RelayLeg> {
    let pt_map = if audio.codec == other.codec {
        vec![(other.recv_pt, audio.send_pt), (101, 101)]
    } else {
        Vec::new()
    };
    Box::new(RelayLeg {
        local: addr(&format!("10.0.0.1:{local}")),
        remote: Some(remote),
        remote_rtcp: None,
        audio,
        pt_map,
        denoise: false,
        srtp: None,
        webrtc: None,
    })
}

/// The plan of a call between the caller (codec `a`) and the callee (codec `b`).
pub fn plan(a: CodecKind, b: CodecKind) -> SessionCommand {
    SessionCommand::Plan {
        a: relay_leg(30000, caller_addr(), g711(a), g711(b)),
        b: relay_leg(30002, callee_addr(), g711(b), g711(a)),
    }
}

/// Payload type of Opus in these tests (a browser's usual `opus/48000/2`).
pub const OPUS_PT: u8 = 111;

/// A phone sending 20 ms RTP packets of a tone: G.711 at 8 kHz, or Opus
/// (RFC 7587: 48 kHz clock, PT [`OPUS_PT`]) as a browser sends it.
pub struct Phone {
    pub addr: SocketAddr,
    pub ssrc: u32,
    pub seq: u16,
    pub ts: u32,
    pub codec: CodecKind,
    tone: ToneGenerator,
    opus: Option<Box<OpusEncoder>>,
}

impl Phone {
    pub fn new(addr: SocketAddr, ssrc: u32, codec: CodecKind, freq: f64) -> Phone {
        let (rate, opus) = match codec {
            CodecKind::Opus => {
                let enc = OpusEncoder::new(switchboard::dsp::SampleRate::Hz48000, OpusConfig::default());
                (48000, Some(Box::new(enc.expect("Opus encoder"))))
            }
            _ => (8000, None),
        };
        Phone {
            addr,
            ssrc,
            seq: 100,
            ts: 8000,
            codec,
            tone: ToneGenerator::sine(freq, TONE_DBFS, rate),
            opus,
        }
    }

    /// The next 20 ms packet.
    pub fn packet(&mut self) -> Vec<u8> {
        if let Some(enc) = self.opus.as_mut() {
            let mut pcm = [0i16; 960];
            self.tone.fill(&mut pcm);
            let mut payload = [0u8; MAX_PACKET];
            let n = enc.encode(&pcm, &mut payload).expect("Opus encodes");
            return self.write(OPUS_PT, 960, &payload[..n]);
        }
        let mut pcm = [0i16; 160];
        self.tone.fill(&mut pcm);
        let mut payload = [0u8; 160];
        let pt = match self.codec {
            CodecKind::Pcma => {
                g711::encode_alaw(&pcm, &mut payload).expect("160 samples");
                8
            }
            _ => {
                g711::encode_ulaw(&pcm, &mut payload).expect("160 samples");
                0
            }
        };
        self.write(pt, 160, &payload)
    }

    /// The next RTP packet of this phone's stream carrying `payload`.
    fn write(&mut self, pt: u8, samples: u32, payload: &[u8]) -> Vec<u8> {
        let fields = RtpFields {
            marker: false,
            payload_type: pt,
            sequence: self.seq,
            timestamp: self.ts,
            ssrc: self.ssrc,
        };
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(samples);
        let mut buf = vec![0u8; 12 + payload.len()];
        let n = write_packet(&mut buf, &fields, payload).expect("fits");
        buf.truncate(n);
        buf
    }
}

/// A datagram the core sent.
#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Duration,
    pub to: Peer,
    pub socket: SocketKind,
    pub dest: SocketAddr,
    pub bytes: Vec<u8>,
}

impl Sent {
    pub fn rtp(&self) -> RtpHeader {
        RtpHeader::parse(&self.bytes).expect("an RTP packet")
    }

    pub fn payload(&self) -> &[u8] {
        let h = self.rtp();
        &self.bytes[h.payload_offset..h.payload_end]
    }
}

/// The decoded G.711 audio of `packets`.
pub fn decode(packets: &[Sent], codec: CodecKind) -> Vec<i16> {
    let mut pcm = Vec::new();
    for p in packets {
        let payload = p.payload();
        let mut frame = vec![0i16; payload.len()];
        match codec {
            CodecKind::Pcma => g711::decode_alaw(payload, &mut frame),
            _ => g711::decode_ulaw(payload, &mut frame),
        }
        .expect("G.711 decodes");
        pcm.extend_from_slice(&frame);
    }
    pcm
}

/// Level of `freq` in `pcm` (8 kHz).
pub fn level(pcm: &[i16], freq: f64) -> f64 {
    tone_level_dbfs(pcm, freq, 8000)
}

/// One session core, its virtual clock and what it put out.
pub struct Sim {
    pub core: SessionCore,
    pub t0: Instant,
    pub now: Instant,
    pub sent: Vec<Sent>,
    pub events: Vec<(Duration, SessionEvent)>,
}

impl Sim {
    pub fn new(seed: u64) -> Sim {
        Sim::with_dtls(seed, None)
    }

    /// A session whose WebRTC legs run DTLS with `dtls` (issue 12).
    pub fn with_dtls(seed: u64, dtls: Option<Arc<switchboard::webrtc::dtls::DtlsIdentity>>) -> Sim {
        let t0 = Instant::now();
        let config = SessionConfig {
            call: 1,
            seed,
            unix_time: UNIX_START,
            music: Arc::new(HoldMusic::embedded()),
            dtls,
        };
        Sim {
            core: SessionCore::new(t0, config),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Drains the core's outputs.
    pub fn drain(&mut self) {
        let at = self.elapsed();
        while let Some(t) = self.core.poll_transmit() {
            self.sent.push(Sent {
                at,
                to: t.to,
                socket: t.socket,
                dest: t.dest,
                bytes: t.payload.to_vec(),
            });
        }
        while let Some(e) = self.core.poll_event() {
            self.events.push((at, e));
        }
    }

    pub fn command(&mut self, cmd: SessionCommand) {
        self.core.handle_command(self.now, cmd);
        self.drain();
    }

    /// An RTP packet from `src` arriving on `peer`'s socket now.
    pub fn rtp(&mut self, peer: Peer, src: SocketAddr, mut packet: Vec<u8>) {
        self.core.handle_rtp(self.now, peer, src, &mut packet);
        self.drain();
    }

    /// Runs the core's deadlines up to `now + d` (inclusive), then sets the clock there.
    pub fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(t) = self.core.poll_timeout() {
            if t > until {
                break;
            }
            self.now = self.now.max(t);
            self.core.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    /// Sends one packet from each phone every 20 ms for `frames` frames,
    /// running the core's deadlines in between.
    pub fn talk(&mut self, phones: &mut [(&mut Phone, Peer)], frames: u32) {
        for _ in 0..frames {
            for (phone, peer) in phones.iter_mut() {
                let pkt = phone.packet();
                self.rtp(*peer, phone.addr, pkt);
            }
            self.advance(Duration::from_millis(20));
        }
    }

    /// Removes and returns what was sent to `to` through `socket`.
    pub fn take(&mut self, to: Peer, socket: SocketKind) -> Vec<Sent> {
        let (taken, kept) = std::mem::take(&mut self.sent)
            .into_iter()
            .partition(|s| s.to == to && s.socket == socket);
        self.sent = kept;
        taken
    }

    /// Removes and returns the events so far.
    pub fn take_events(&mut self) -> Vec<(Duration, SessionEvent)> {
        std::mem::take(&mut self.events)
    }
}

/// Every packet is the one before's sequence + 1, and `step` later in timestamp.
pub fn assert_continuous(packets: &[Sent], step: u32, what: &str) {
    for w in packets.windows(2) {
        let (p, q) = (w[0].rtp(), w[1].rtp());
        assert_eq!(q.ssrc, p.ssrc, "{what}: one SSRC");
        assert_eq!(
            q.sequence,
            p.sequence.wrapping_add(1),
            "{what}: consecutive sequence numbers"
        );
        assert_eq!(q.timestamp.wrapping_sub(p.timestamp), step, "{what}: timestamp step");
    }
}

/// `secs` seconds of white noise at −20 dBFS (RMS) as 20 ms PCMU RTP
/// packets of SSRC `ssrc`: what a noisy talker sends, for the noise
/// removal tests (CALL-NOISE-1).
pub fn noise_packets(secs: usize, ssrc: u32) -> Vec<Vec<u8>> {
    let noise = switchboard::dsp::signal::white_noise(8000 * secs, 0x5EED);
    let amp = 32768.0 * 10f64.powf(-20.0 / 20.0) * 3f64.sqrt();
    noise
        .chunks_exact(160)
        .enumerate()
        .map(|(n, chunk)| {
            let pcm: Vec<i16> = chunk.iter().map(|v| (v * amp).round() as i16).collect();
            let mut payload = [0u8; 160];
            g711::encode_ulaw(&pcm, &mut payload).expect("160 samples");
            let fields = RtpFields {
                marker: n == 0,
                payload_type: 0,
                sequence: 1000 + n as u16,
                timestamp: 160 * n as u32,
                ssrc,
            };
            let mut buf = vec![0u8; 172];
            let len = write_packet(&mut buf, &fields, &payload).expect("fits");
            buf.truncate(len);
            buf
        })
        .collect()
}
