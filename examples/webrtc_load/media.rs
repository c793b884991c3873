//! One side of every call's media (all callers, or all callees) on one UDP
//! socket, on its own thread: the browsers' part of each WebRTC leg (ICE
//! connectivity and consent checks, the DTLS client, SRTP both ways) or a
//! plain G.711 phone's RTP, paced at one packet per leg every 20 ms.
//!
//! The switch sends each leg from its own port, so a datagram's source
//! port names its leg. The run has two phases, each ended by the main
//! thread: connect (ICE and DTLS on every WebRTC leg, as fast as the
//! switch answers) and hold (media both ways until `stop`).

use super::common::rtp::{fill, TICK};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use switchboard::rtp::srtp::SrtpStream;
use switchboard::webrtc::check::{is_binding_success, ConnectivityCheck};
use switchboard::webrtc::demux::{classify, Datagram};
use switchboard::webrtc::dtls::{DtlsEvent, DtlsIdentity, DtlsRole, DtlsTransport, Fingerprint};

/// A browser sends a consent check this often (RFC 7675 §5.1 suggests
/// 5 s; the switch drops consent after 30 s without one).
const CONSENT_EVERY: Duration = Duration::from_secs(5);
/// A connectivity check not answered is sent again after this.
const CHECK_RETRY: Duration = Duration::from_millis(200);
/// Opus's payload type in both sides' SDP.
pub const OPUS_PT: u8 = 111;
/// PCMU's (RFC 3551).
pub const PCMU_PT: u8 = 0;

/// The switch's side of one leg, from its SDP.
pub struct LegPlan {
    /// The call's index.
    pub idx: u32,
    /// The switch's media address of the leg.
    pub remote: SocketAddr,
    /// ICE and DTLS for a WebRTC leg; `None` for plain RTP.
    pub webrtc: Option<WebrtcPlan>,
}

/// What a WebRTC leg needs of the switch's SDP.
pub struct WebrtcPlan {
    /// USERNAME of our checks: `<switch ufrag>:<our ufrag>`.
    pub username: String,
    /// The switch's ice-pwd.
    pub password: String,
    /// The switch's certificate fingerprints.
    pub fingerprints: Vec<Fingerprint>,
}

/// What one side sends, one packet per leg and tick.
#[derive(Clone)]
pub enum Send {
    /// Opus payload type with a payload marked by direction, call and
    /// packet number ([`fill`]); `len` bytes. Relayed calls carry it to
    /// the other side unchanged, where [`Expect::Marked`] checks it.
    Marked { dir: u8, len: usize },
    /// Real Opus frames (a tone), cycled.
    Opus(Arc<Vec<Vec<u8>>>),
    /// 160-byte PCMU frames (a tone), cycled.
    Pcmu(Arc<Vec<Vec<u8>>>),
}

/// What one side must receive from the switch.
#[derive(Clone, Copy)]
pub enum Expect {
    /// The other side's [`Send::Marked`] packets of the same call.
    Marked { dir: u8, len: usize },
    /// Opus packets (transcoded by the switch): payload type and a payload.
    Opus,
    /// 160-byte PCMU packets.
    Pcmu,
}

/// One side's configuration.
pub struct SideConfig {
    /// "caller" or "callee", for messages.
    pub name: &'static str,
    /// The browsers' DTLS certificate (one for the side, like one browser).
    pub identity: Arc<DtlsIdentity>,
    /// What to send.
    pub send: Send,
    /// What to check on arrival.
    pub expect: Expect,
    /// Give up connecting legs after this.
    pub connect_timeout: Duration,
}

/// How the main thread and the sides move from phase to phase.
pub struct Phases {
    /// Every side and the main thread meet here once connected.
    pub connected: Barrier,
    /// Set by the main thread at the end of the hold.
    pub stop: AtomicBool,
}

/// What one side saw.
#[derive(Default, Debug)]
pub struct SideStats {
    /// WebRTC legs whose DTLS completed, and how long the slowest took
    /// from the first check.
    pub keyed: usize,
    /// WebRTC legs of the side.
    pub webrtc_legs: usize,
    /// Legs that failed ICE or DTLS (or timed out), by call index.
    pub failed: Vec<u32>,
    /// From the first check to the last leg keyed.
    pub connect_time: Duration,
    /// Media packets sent and received in the hold.
    pub sent: u64,
    /// Media packets received that passed every check.
    pub received: u64,
    /// Received packets that failed SRTP authentication or the payload
    /// check, or came from a port of no leg.
    pub corrupt: u64,
    /// RTCP packets received.
    pub rtcp: u64,
    /// Consent checks sent and answered in the hold.
    pub consent_sent: u64,
    /// Consent checks answered.
    pub consent_answered: u64,
    /// Ticks that started more than one tick late.
    pub late_ticks: u64,
    /// Legs that received no media in the hold.
    pub silent_legs: usize,
    /// Payloads the first leg received from 1 s into the hold (up to
    /// [`SAMPLE_PACKETS`]), for a tone check of what the switch transcoded.
    pub sample: Vec<Vec<u8>>,
}

/// How many payloads of the first leg are kept (2 s).
pub const SAMPLE_PACKETS: usize = 100;

enum Transport {
    Plain,
    Checking { next: Instant },
    Dtls(Box<DtlsTransport>),
    Keyed(Box<SrtpStream>),
    Failed,
}

struct Leg {
    plan: LegPlan,
    transport: Transport,
    /// The DTLS association, kept after keying to answer a retransmitted
    /// final flight.
    dtls: Option<Box<DtlsTransport>>,
    next_consent: Instant,
    ssrc: u32,
    seq: u16,
    ts: u32,
    k: u32,
    received: u64,
}

impl Leg {
    fn check(&self, sock: &UdpSocket, nominate: bool) {
        let Some(w) = &self.plan.webrtc else { return };
        let check = ConnectivityCheck {
            username: Some(&w.username),
            password: Some(&w.password),
            nominate,
            tie_breaker: u64::from(self.plan.idx) << 8 | 0x5a,
        };
        match check.encode() {
            Ok(bytes) => {
                let _ = sock.send_to(&bytes, self.plan.remote);
            }
            Err(e) => eprintln!("call {}: {e}", self.plan.idx),
        }
    }

    fn flush_dtls(&mut self, sock: &UdpSocket) {
        let remote = self.plan.remote;
        let dtls = match &mut self.transport {
            Transport::Dtls(d) => d,
            _ => match &mut self.dtls {
                Some(d) => d,
                None => return,
            },
        };
        while let Some(d) = dtls.poll_transmit() {
            let _ = sock.send_to(&d, remote);
        }
    }

    /// Moves a handshaking leg on after `dtls` took input or time.
    fn after_dtls(&mut self, sock: &UdpSocket) {
        self.flush_dtls(sock);
        let Transport::Dtls(dtls) = &mut self.transport else {
            return;
        };
        match dtls.poll_event() {
            Some(DtlsEvent::Connected(keys)) => match SrtpStream::new(&keys) {
                Ok(srtp) => {
                    let Transport::Dtls(d) = std::mem::replace(&mut self.transport, Transport::Keyed(Box::new(srtp)))
                    else {
                        return;
                    };
                    self.dtls = Some(d);
                }
                Err(e) => {
                    eprintln!("call {}: SRTP keys refused: {e}", self.plan.idx);
                    self.transport = Transport::Failed;
                }
            },
            Some(DtlsEvent::Failed(e)) => {
                eprintln!("call {}: DTLS failed: {e}", self.plan.idx);
                self.transport = Transport::Failed;
            }
            Some(DtlsEvent::Closed) => self.transport = Transport::Failed,
            None => {}
        }
    }

    fn ready(&self) -> bool {
        matches!(self.transport, Transport::Plain | Transport::Keyed(_))
    }

    fn settled(&self) -> bool {
        matches!(
            self.transport,
            Transport::Plain | Transport::Keyed(_) | Transport::Failed
        )
    }
}

/// Runs one side: connects every leg, meets the main thread at
/// `phases.connected`, then sends and checks media until `phases.stop`.
pub fn run_side(sock: UdpSocket, plans: Vec<LegPlan>, cfg: SideConfig, phases: Arc<Phases>) -> SideStats {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(1)));
    let start = Instant::now();
    let mut side = Side {
        sock,
        by_port: vec![u32::MAX; 65536],
        legs: Vec::with_capacity(plans.len()),
        stats: SideStats::default(),
        buf: vec![0u8; 2048],
        scratch: vec![0u8; 1500],
        cfg,
    };
    for (i, plan) in plans.into_iter().enumerate() {
        side.by_port[usize::from(plan.remote.port())] = i as u32;
        let transport = if plan.webrtc.is_some() {
            side.stats.webrtc_legs += 1;
            Transport::Checking { next: start }
        } else {
            Transport::Plain
        };
        side.legs.push(Leg {
            ssrc: 0x1000_0000 | plan.idx,
            plan,
            transport,
            dtls: None,
            next_consent: start + CONSENT_EVERY.mul_f64((i % 250) as f64 / 250.0),
            seq: 0,
            ts: 0,
            k: 0,
            received: 0,
        });
    }
    side.connect(start);
    phases.connected.wait();
    side.hold(&phases.stop);
    side.stats
}

impl Side {
    /// ICE, then DTLS, on every WebRTC leg, until all are keyed or failed
    /// or the connect timeout.
    fn connect(&mut self, start: Instant) {
        let give_up = start + self.cfg.connect_timeout;
        loop {
            let now = Instant::now();
            for leg in self.legs.iter_mut() {
                match &mut leg.transport {
                    Transport::Checking { next } if *next <= now => {
                        *next = now + CHECK_RETRY;
                        leg.check(&self.sock, true);
                    }
                    Transport::Dtls(dtls) if dtls.poll_timeout().is_some_and(|t| t <= now) => {
                        dtls.handle_timeout(now);
                        leg.after_dtls(&self.sock);
                    }
                    _ => {}
                }
            }
            self.receive(false, now + Duration::from_millis(1));
            if self.legs.iter().all(Leg::settled) || Instant::now() > give_up {
                break;
            }
        }
        self.stats.connect_time = start.elapsed();
        for leg in self.legs.iter_mut() {
            match leg.transport {
                Transport::Keyed(_) => self.stats.keyed += 1,
                Transport::Plain => {}
                _ => {
                    leg.transport = Transport::Failed;
                    self.stats.failed.push(leg.plan.idx);
                }
            }
        }
    }

    /// Media every 20 ms and consent every 5 s on every connected leg
    /// until `stop`, then 300 ms more of receiving what is in flight.
    fn hold(&mut self, stop: &AtomicBool) {
        let mut next_tick = Instant::now();
        let mut packet = Vec::with_capacity(1500);
        let mut frame = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= next_tick {
                if now > next_tick + TICK {
                    self.stats.late_ticks += 1;
                }
                next_tick += TICK;
                for leg in self.legs.iter_mut().filter(|l| l.ready()) {
                    build_packet(&mut packet, leg, &self.cfg.send, frame);
                    let sent = match &mut leg.transport {
                        Transport::Keyed(srtp) => match srtp.protect_rtp(&packet) {
                            Ok(p) => self.sock.send_to(&p, leg.plan.remote).is_ok(),
                            Err(_) => false,
                        },
                        _ => self.sock.send_to(&packet, leg.plan.remote).is_ok(),
                    };
                    self.stats.sent += u64::from(sent);
                    if leg.plan.webrtc.is_some() && leg.next_consent <= now {
                        leg.next_consent += CONSENT_EVERY;
                        leg.check(&self.sock, false);
                        self.stats.consent_sent += 1;
                    }
                }
                frame += 1;
            }
            self.receive(true, next_tick);
        }
        let drain_until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < drain_until {
            self.receive(true, drain_until);
        }
        self.stats.silent_legs = self.legs.iter().filter(|l| l.ready() && l.received == 0).count();
    }
}

/// The next packet of `leg` (RTP header and payload, in clear).
fn build_packet(packet: &mut Vec<u8>, leg: &mut Leg, send: &Send, frame: usize) {
    packet.clear();
    let (pt, step) = match send {
        Send::Pcmu(_) => (PCMU_PT, 160),
        _ => (OPUS_PT, 960),
    };
    packet.extend_from_slice(&[0x80, pt]);
    packet.extend_from_slice(&leg.seq.to_be_bytes());
    packet.extend_from_slice(&leg.ts.to_be_bytes());
    packet.extend_from_slice(&leg.ssrc.to_be_bytes());
    match send {
        Send::Marked { dir, len } => {
            let at = packet.len();
            packet.resize(at + len, 0);
            fill(&mut packet[at..], *dir, leg.plan.idx, leg.k);
        }
        Send::Opus(frames) | Send::Pcmu(frames) => packet.extend_from_slice(&frames[frame % frames.len()]),
    }
    leg.seq = leg.seq.wrapping_add(1);
    leg.ts = leg.ts.wrapping_add(step);
    leg.k += 1;
}

/// One side's socket, legs and counters.
struct Side {
    sock: UdpSocket,
    cfg: SideConfig,
    /// Leg index by the switch's source port (`u32::MAX`: none).
    by_port: Vec<u32>,
    legs: Vec<Leg>,
    stats: SideStats,
    buf: Vec<u8>,
    scratch: Vec<u8>,
}

impl Side {
    /// Reads what arrives until the socket has been idle for 1 ms or `until`.
    fn receive(&mut self, holding: bool, until: Instant) {
        let Side {
            sock,
            cfg,
            by_port,
            legs,
            stats,
            buf,
            scratch,
        } = self;
        let sock = &*sock;
        loop {
            let (len, src) = match sock.recv_from(buf) {
                Ok(x) => x,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return,
                Err(_) => continue,
            };
            let data = &buf[..len];
            let li = by_port[usize::from(src.port())] as usize;
            let Some(leg) = legs.get_mut(li) else {
                stats.corrupt += u64::from(holding);
                continue;
            };
            match classify(data) {
                Datagram::Stun => {
                    if !is_binding_success(data) {
                        continue;
                    }
                    if holding {
                        stats.consent_answered += 1;
                    } else if matches!(leg.transport, Transport::Checking { .. }) {
                        let Some(w) = &leg.plan.webrtc else { continue };
                        match DtlsTransport::new(&cfg.identity, DtlsRole::Client, w.fingerprints.clone()) {
                            Ok(mut dtls) => {
                                dtls.start(Instant::now());
                                leg.transport = Transport::Dtls(Box::new(dtls));
                                leg.after_dtls(sock);
                            }
                            Err(e) => {
                                eprintln!("{} call {}: {e}", cfg.name, leg.plan.idx);
                                leg.transport = Transport::Failed;
                            }
                        }
                    }
                }
                Datagram::Dtls => {
                    let now = Instant::now();
                    match (&mut leg.transport, &mut leg.dtls) {
                        (Transport::Dtls(d), _) | (_, Some(d)) => d.handle_datagram(now, data),
                        _ => continue,
                    }
                    leg.after_dtls(sock);
                }
                Datagram::Rtcp => stats.rtcp += 1,
                Datagram::Rtp if holding => {
                    let clear = match &mut leg.transport {
                        Transport::Keyed(srtp) => match srtp.unprotect_rtp(data) {
                            Ok(p) => p.to_vec(),
                            Err(_) => {
                                stats.corrupt += 1;
                                continue;
                            }
                        },
                        Transport::Plain => data.to_vec(),
                        _ => {
                            stats.corrupt += 1;
                            continue;
                        }
                    };
                    if media_ok(&clear, cfg.expect, leg.plan.idx, scratch) {
                        stats.received += 1;
                        leg.received += 1;
                        // From 1 s into the hold: past start-up, before the
                        // other side stops.
                        if li == 0 && leg.received > 50 && stats.sample.len() < SAMPLE_PACKETS {
                            stats.sample.push(clear[12..].to_vec());
                        }
                    } else {
                        stats.corrupt += 1;
                    }
                }
                Datagram::Rtp | Datagram::Other => {}
            }
            if Instant::now() >= until {
                return;
            }
        }
    }
}

/// Whether a clear RTP packet is what this side must receive.
fn media_ok(packet: &[u8], expect: Expect, idx: u32, scratch: &mut [u8]) -> bool {
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return false;
    }
    let pt = packet[1] & 0x7f;
    let payload = &packet[12..];
    match expect {
        Expect::Marked { dir, len } => {
            if pt != OPUS_PT || payload.len() != len || payload[0] != dir {
                return false;
            }
            let Some(k) = payload.get(5..9).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) else {
                return false;
            };
            let expected = &mut scratch[..len];
            fill(expected, dir, idx, k);
            payload == expected
        }
        Expect::Opus => pt == OPUS_PT && !payload.is_empty(),
        Expect::Pcmu => pt == PCMU_PT && payload.len() == 160,
    }
}
