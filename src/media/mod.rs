//! Media workers (DESIGN.md "media"): the I/O edge of the RTP plane. They
//! run on their own tokio runtime (`media` threads), apart from the
//! signalling engine, and take [`MediaCommand`]s carrying ids and addresses
//! only. Each anchored call is one task owning the call's two RTP sockets,
//! bound when the call is routed (so nothing sent right after the answer
//! meets a closed port):
//!
//! - a packet from a leg passes that leg's [`Latch`] (symmetric RTP with the
//!   anti-hijack rule of `rtp::latch`) or is dropped;
//! - it is rewritten in place by the other leg's [`StreamRewriter`] (one
//!   continuous SSRC / sequence / timestamp per outgoing leg, payload-type
//!   numbers mapped per leg, RFC 4733 events included) and sent from the
//!   other leg's socket to that leg's latched or signalled address;
//! - while a leg holds the other (it offered `sendonly`/`inactive`), relay
//!   stops both ways and the held leg hears the hold music (`media/`
//!   hold-music.wav, embedded, looped, encoded to the leg's G.711 codec)
//!   through that same rewriter, so music and the resumed call form one
//!   stream with no jump in sequence numbers or timestamps.
//!
//! The relay path reuses one buffer per direction and allocates nothing per
//! packet. Not yet: RTCP (SR/RR generation), music for Opus legs,
//! transcoding, recording, noise removal (the rest of issue 3).

mod music;
pub mod pipeline;

use crate::call::media::{MediaCommand, MediaLeg, RelayLeg};
use crate::rtp::latch::{Latch, Verdict};
use crate::rtp::{PayloadTypeMap, RewriterConfig, StreamRewriter};
use music::HoldMusic;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Handle to the media workers; dropping it stops them (calls' tasks end).
pub struct MediaWorkers {
    tx: Option<mpsc::UnboundedSender<Control>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the control loop receives: a prepared call's sockets are bound by
/// [`MediaWorkers::send`] itself, synchronously, so that they exist before
/// the driver sends the 200 that lets the caller start sending.
enum Control {
    Prepare {
        call: u64,
        a: std::net::UdpSocket,
        b: std::net::UdpSocket,
    },
    Command(MediaCommand),
}

/// What a call's task is told after it was prepared.
enum SessionCmd {
    /// Both legs answered: relay.
    Plan { a: RelayLeg, b: RelayLeg },
    /// A leg re-negotiated.
    Update {
        leg: MediaLeg,
        remote: Option<SocketAddr>,
        holding: bool,
    },
}

impl MediaWorkers {
    /// Starts `threads` media worker threads.
    pub fn start(threads: usize) -> std::io::Result<MediaWorkers> {
        let music = Arc::new(HoldMusic::embedded());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("media")
            .enable_all()
            .build()?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Control>();
        let thread = std::thread::Builder::new()
            .name("media-control".into())
            .spawn(move || {
                rt.block_on(async move {
                    let mut sessions: HashMap<u64, mpsc::UnboundedSender<SessionCmd>> = HashMap::new();
                    while let Some(ctl) = rx.recv().await {
                        let cmd = match ctl {
                            Control::Prepare { call, a, b } => {
                                let (sa, sb) = match (UdpSocket::from_std(a), UdpSocket::from_std(b)) {
                                    (Ok(sa), Ok(sb)) => (sa, sb),
                                    (Err(e), _) | (_, Err(e)) => {
                                        tracing::error!(call, error = %e, "media sockets unusable");
                                        continue;
                                    }
                                };
                                let (session_tx, session_rx) = mpsc::unbounded_channel();
                                // Replacing a session drops its sender: the old task ends.
                                sessions.insert(call, session_tx);
                                tokio::spawn(session(call, sa, sb, session_rx, music.clone()));
                                continue;
                            }
                            Control::Command(cmd) => cmd,
                        };
                        let (call, to_session) = match cmd {
                            // Bound in `MediaWorkers::send`, never forwarded here.
                            MediaCommand::Prepare { .. } => continue,
                            MediaCommand::Close { call } => {
                                sessions.remove(&call);
                                continue;
                            }
                            MediaCommand::Relay { call, a, b } => (call, SessionCmd::Plan { a, b }),
                            MediaCommand::Update {
                                call,
                                leg,
                                remote,
                                holding,
                            } => (call, SessionCmd::Update { leg, remote, holding }),
                        };
                        match sessions.get(&call) {
                            Some(s) => {
                                let _ = s.send(to_session);
                            }
                            None => tracing::warn!(call, "media command for a call with no media session"),
                        }
                    }
                });
            })?;
        Ok(MediaWorkers {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Hands a command to the workers. `Prepare` binds the call's two RTP
    /// sockets right here (a failure is logged: the call goes on without
    /// media).
    pub fn send(&self, cmd: MediaCommand) {
        let ctl = match cmd {
            MediaCommand::Prepare { call, a_local, b_local } => match (bind(a_local), bind(b_local)) {
                (Ok(a), Ok(b)) => Control::Prepare { call, a, b },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(call, error = %e, "media ports could not be bound");
                    return;
                }
            },
            other => Control::Command(other),
        };
        if self.tx.as_ref().is_none_or(|tx| tx.send(ctl).is_err()) {
            tracing::error!("media workers are gone; a media command was lost");
        }
    }
}

impl Drop for MediaWorkers {
    fn drop(&mut self) {
        self.tx = None; // closes the command channel: the control loop ends
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let s = std::net::UdpSocket::bind(addr)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

fn rewriter(leg: &RelayLeg) -> StreamRewriter {
    let mut payload_types = PayloadTypeMap::new();
    for (incoming, outgoing) in &leg.pt_map {
        payload_types.insert(*incoming, *outgoing);
    }
    StreamRewriter::new(RewriterConfig {
        ssrc: rand::random(),
        initial_sequence: rand::random(),
        initial_timestamp: rand::random(),
        clock_rate: leg.clock_rate,
        packet_samples: leg.clock_rate / 50,
        payload_types,
    })
}

/// Packets held per leg between binding and the relay plan (the caller may
/// start sending the moment it has the 200, racing the plan by microseconds).
const EARLY_PACKETS: usize = 16;
/// Music packet interval.
const MUSIC_TICK: Duration = Duration::from_millis(20);

/// What one leg's packets meet once the plan is known: the latch that checks
/// where they come from (and tells where that leg's packets go), the
/// rewriter for the other leg they are sent to, and what the switch itself
/// plays to that leg.
struct Flow {
    latch: Latch,
    signalled: Option<SocketAddr>,
    rewrite_to_other: StreamRewriter,
    leg: RelayLeg,
}

struct Relay {
    a: Flow,
    b: Flow,
    /// The leg that holds the other one, if any.
    holding: Option<MediaLeg>,
    music_pos: usize,
    music_seq: u16,
    music_ts: u32,
}

/// Owns a call's two RTP sockets from routing until the call ends (the
/// command channel closes).
async fn session(
    call: u64,
    sa: UdpSocket,
    sb: UdpSocket,
    mut cmds: mpsc::UnboundedReceiver<SessionCmd>,
    music: Arc<HoldMusic>,
) {
    let mut relay: Option<Relay> = None;
    let mut early: Vec<(bool, SocketAddr, Vec<u8>)> = Vec::new();
    let (mut buf_a, mut buf_b) = (vec![0u8; 2048], vec![0u8; 2048]);
    let mut music_buf = vec![0u8; 12 + HoldMusic::FRAME];
    let (mut relayed, mut dropped) = (0u64, 0u64);
    let mut tick = tokio::time::interval(MUSIC_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let holding = relay.as_ref().and_then(|r| r.holding);
        let (from_a, n, src) = tokio::select! {
            cmd = cmds.recv() => {
                let now = Instant::now();
                match cmd {
                    None => break,
                    Some(SessionCmd::Plan { a, b }) => {
                        // Packets towards B are rewritten with B's plan, and so on.
                        let (to_b, to_a) = (rewriter(&b), rewriter(&a));
                        let r = relay.insert(Relay {
                            a: Flow { latch: Latch::new(a.remote, now), signalled: a.remote, rewrite_to_other: to_b, leg: a },
                            b: Flow { latch: Latch::new(b.remote, now), signalled: b.remote, rewrite_to_other: to_a, leg: b },
                            holding: None,
                            music_pos: 0,
                            music_seq: rand::random(),
                            music_ts: rand::random(),
                        });
                        for (from_a, src, mut pkt) in std::mem::take(&mut early) {
                            if forward(r, from_a, src, &mut pkt, &sa, &sb).await {
                                relayed += 1;
                            } else {
                                dropped += 1;
                            }
                        }
                    }
                    Some(SessionCmd::Update { leg, remote, holding }) => {
                        if let Some(r) = relay.as_mut() {
                            let flow = match leg { MediaLeg::A => &mut r.a, MediaLeg::B => &mut r.b };
                            if flow.signalled != remote {
                                flow.signalled = remote;
                                flow.latch.resignal(remote, now);
                            }
                            r.holding = if holding { Some(leg) } else { None };
                            tracing::debug!(call, ?leg, holding, "media updated");
                        }
                    }
                }
                continue;
            }
            _ = tick.tick(), if holding.is_some() => {
                if let Some(r) = relay.as_mut() {
                    play_music(r, &music, &mut music_buf, &sa, &sb).await;
                }
                continue;
            }
            r = sa.recv_from(&mut buf_a) => match r { Ok((n, src)) => (true, n, src), Err(_) => continue },
            r = sb.recv_from(&mut buf_b) => match r { Ok((n, src)) => (false, n, src), Err(_) => continue },
        };
        let buf = if from_a { &mut buf_a[..n] } else { &mut buf_b[..n] };
        match relay.as_mut() {
            Some(r) if r.holding.is_some() => {
                // On hold: keep latching (the leg may move), relay nothing.
                let flow = if from_a { &mut r.a } else { &mut r.b };
                let _ = flow.latch.on_packet(src, Instant::now());
                dropped += 1;
            }
            Some(r) => {
                if forward(r, from_a, src, buf, &sa, &sb).await {
                    relayed += 1;
                } else {
                    dropped += 1;
                }
            }
            None if early.len() < EARLY_PACKETS => early.push((from_a, src, buf.to_vec())),
            None => dropped += 1,
        }
    }
    tracing::debug!(call, relayed, dropped, "media session ended");
}

/// Latches, rewrites and sends one packet; false when it was dropped.
async fn forward(r: &mut Relay, from_a: bool, src: SocketAddr, pkt: &mut [u8], sa: &UdpSocket, sb: &UdpSocket) -> bool {
    let now = Instant::now();
    let (from, to, out) = if from_a {
        (&mut r.a, &r.b, sb)
    } else {
        (&mut r.b, &r.a, sa)
    };
    if from.latch.on_packet(src, now) == Verdict::Drop || from.rewrite_to_other.rewrite(pkt, now).is_err() {
        return false;
    }
    match to.latch.target() {
        Some(dest) => out.send_to(pkt, dest).await.is_ok(),
        None => false,
    }
}

/// The SSRC music packets carry before the held leg's rewriter maps them
/// into its continuous stream (a source switch: marker bit set, RFC 3550 §5.1).
const MUSIC_SSRC: u32 = 0x4d4f_4831; // "MOH1"

/// Sends the held leg its next 20 ms of music, through the rewriter that
/// also carries the relayed audio to it.
async fn play_music(r: &mut Relay, music: &HoldMusic, buf: &mut [u8], sa: &UdpSocket, sb: &UdpSocket) {
    let Some(holder) = r.holding else { return };
    let (rewrite, held, out) = match holder {
        MediaLeg::A => (&mut r.a.rewrite_to_other, &r.b, sb),
        MediaLeg::B => (&mut r.b.rewrite_to_other, &r.a, sa),
    };
    let (Some(dest), Some(&(pt_in, _))) = (held.latch.target(), held.leg.pt_map.first()) else {
        return;
    };
    let mut payload = [0u8; HoldMusic::FRAME];
    let Some(next) = music.encode_frame(r.music_pos, held.leg.codec, &mut payload) else {
        return;
    };
    r.music_pos = next;
    let fields = crate::rtp::RtpFields {
        marker: false,
        payload_type: pt_in,
        sequence: r.music_seq,
        timestamp: r.music_ts,
        ssrc: MUSIC_SSRC,
    };
    r.music_seq = r.music_seq.wrapping_add(1);
    r.music_ts = r.music_ts.wrapping_add(HoldMusic::FRAME as u32);
    let Ok(len) = crate::rtp::packet::write_packet(buf, &fields, &payload) else {
        return;
    };
    if rewrite.rewrite(&mut buf[..len], Instant::now()).is_ok() {
        let _ = out.send_to(&buf[..len], dest).await;
    }
}
