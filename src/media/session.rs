//! One anchored call's media: a task owning the call's RTP and RTCP sockets
//! (two legs) from routing until the call ends.
//!
//! Per leg, what arrives passes the leg's [`Latch`] (symmetric RTP with the
//! anti-hijack rule of `rtp::latch`) and then reaches the other leg by one
//! of two paths:
//!
//! - **relay** (same codec, no noise removal): the packet is rewritten in
//!   place by the other leg's [`StreamRewriter`] and sent at once, with no
//!   decoding and no allocation;
//! - **pipeline** (different codecs, or noise removal on): the packet goes
//!   into a [`Pipeline`] (jitter buffer, decode, loss concealment, noise
//!   removal, resampling, encode) that emits a 20 ms packet per tick;
//!   RFC 4733 events are translated and sent as they arrive.
//!
//! Everything a leg receives — relayed, transcoded, music on hold — passes
//! that leg's one rewriter, so it sees one continuous SSRC / sequence /
//! timestamp stream across source changes (RFC 3550 §5.1, §8).
//!
//! While a leg is held it hears music and neither leg hears the other. A
//! recording taps each leg's decoded audio (what that party says, after
//! noise removal) at 8 kHz every 20 ms. RTCP: each leg gets a sender report
//! every 5 s (RFC 3550 §6.2 minimum, randomised ×0.5–1.5 per §6.3.1) about
//! the stream the switch sends it, with a report block about the stream it
//! sends the switch (loss, jitter, LSR/DLSR; the first report after
//! 1.25–3.75 s, §6.2's halved initial interval), so phones show true figures
//! for their side of the call; RTCP received from a leg is parsed for its
//! round-trip time and not relayed (each leg's RTCP describes its own hop).
//!
//! A silent monitor (SUP-2) is a third socket, bound when the supervisor's
//! phone is called: once it answered, every tick sends it the mix of what
//! both legs said ([`MonitorMix`], from the same decoded 8 kHz frames the
//! recorder reads: relay legs get a decoding tap). Whatever arrives on it
//! only moves its latch and is dropped: the supervisor is never heard.

use super::monitor::MonitorMix;
use super::music::{HoldMusic, MusicPlayer, FRAME_8K};
use super::pipeline::{AudioTap, LegFormat, Pipeline, PipelineOptions};
use super::recorder::Recorder;
use crate::call::media::{LegAudio, MediaLeg, RecordAction, RelayLeg};
use crate::rtp::latch::{Latch, Verdict};
use crate::rtp::rtcp::{self, ReceiverStats, SenderInfo};
use crate::rtp::{PayloadTypeMap, RewriterConfig, RtpHeader, StreamRewriter};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// What a call's task is told after it was prepared.
pub(super) enum SessionCmd {
    /// The callee answered: relay or transcode.
    Plan { a: Box<RelayLeg>, b: Box<RelayLeg> },
    /// A leg re-negotiated its addresses.
    Update {
        leg: MediaLeg,
        remote: Option<SocketAddr>,
        remote_rtcp: Option<SocketAddr>,
    },
    /// The held leg, if any.
    Hold(Option<MediaLeg>),
    /// Recording control.
    Record(RecordAction),
    /// A queue announcement to a leg (played over its music).
    Announce { leg: MediaLeg, position: u32, wait_s: u64 },
    /// The silent monitor's socket (SUP-2), bound by the workers.
    MonitorSocket(UdpSocket),
    /// The monitor's phone answered: feed it the mix.
    MonitorStart(Box<RelayLeg>),
    /// The monitor ended: stop and close its socket.
    MonitorStop,
}

/// A leg's sockets.
pub(super) struct LegSockets {
    pub rtp: UdpSocket,
    pub rtcp: Option<UdpSocket>,
}

/// What the session needs from the workers.
pub(super) struct SessionEnv {
    pub music: Arc<HoldMusic>,
    pub recordings: PathBuf,
}

/// Packets held per leg between binding and the plan (the caller may start
/// sending the moment it has the 200, racing the plan by microseconds).
const EARLY_PACKETS: usize = 16;
/// Packets read per leg without returning to `select!` (fairness between
/// the legs, bounded so commands and ticks are never held up for long).
const DRAIN_BATCH: usize = 16;
/// Frame clock of the pipelines, music and the recorder.
const TICK: Duration = Duration::from_millis(20);
/// RTCP report interval (RFC 3550 §6.2: 5 s minimum), randomised per report.
const RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// How what a leg says reaches the other leg.
enum Inbound {
    Relay,
    Pipeline(Box<Pipeline>),
}

/// One leg once the plan is known.
struct Leg {
    latch: Latch,
    signalled: Option<SocketAddr>,
    rtcp_signalled: Option<SocketAddr>,
    /// Where its RTCP came from (used for ours once seen).
    rtcp_peer: Option<SocketAddr>,
    audio: LegAudio,
    /// Everything sent to this leg.
    out: StreamRewriter,
    inbound: Inbound,
    /// Reception statistics of this leg's stream (RFC 3550 §A.3, §A.8).
    rx: Option<ReceiverStats>,
    /// Decoder for the recording on the relay path.
    tap: Option<Box<AudioTap>>,
    /// Frames of this party the recording still writes as silence after a
    /// resume: the pipeline's jitter buffer holds audio said while paused.
    tap_mute: u32,
    music: Option<Box<MusicPlayer>>,
}

impl Leg {
    fn new(plan: &RelayLeg, other: &RelayLeg, now: Instant) -> Leg {
        let mut payload_types = PayloadTypeMap::new();
        for (incoming, outgoing) in &plan.pt_map {
            payload_types.insert(*incoming, *outgoing);
        }
        // What the switch itself produces for this leg is already numbered
        // for it (pipeline output, music).
        payload_types.insert(plan.audio.send_pt, plan.audio.send_pt);
        if let Some(pt) = plan.audio.event_send_pt {
            payload_types.insert(pt, pt);
        }
        let out = StreamRewriter::new(RewriterConfig {
            ssrc: rand::random(),
            initial_sequence: rand::random(),
            initial_timestamp: rand::random(),
            clock_rate: plan.audio.clock_rate,
            packet_samples: plan.audio.clock_rate / 50,
            payload_types,
        });
        let same_codec = plan.audio.codec == other.audio.codec && plan.audio.clock_rate == other.audio.clock_rate;
        let inbound = if same_codec && !plan.denoise {
            Inbound::Relay
        } else {
            match Pipeline::new(
                format_received(&plan.audio),
                format_sent(&other.audio),
                PipelineOptions { denoise: plan.denoise },
            ) {
                Ok(p) => Inbound::Pipeline(Box::new(p)),
                Err(e) => {
                    tracing::error!(error = %e, "media pipeline unavailable: relaying as is");
                    Inbound::Relay
                }
            }
        };
        Leg {
            latch: Latch::new(plan.remote, now),
            signalled: plan.remote,
            rtcp_signalled: plan.remote_rtcp,
            rtcp_peer: None,
            audio: plan.audio,
            out,
            inbound,
            rx: None,
            tap: None,
            tap_mute: 0,
            music: None,
        }
    }

    /// Takes over `old`'s outgoing stream (rewriter, with this plan's
    /// payload-type map), its music player and its reception statistics;
    /// its latch too when the signalled address is the same.
    fn keep_stream_of(&mut self, old: Leg) {
        let map = std::mem::take(self.out.payload_types_mut());
        self.out = old.out;
        *self.out.payload_types_mut() = map;
        self.music = old.music;
        self.rx = old.rx;
        if old.signalled == self.signalled {
            self.latch = old.latch;
            self.rtcp_peer = old.rtcp_peer;
        }
    }

    /// Where this leg's RTCP goes.
    fn rtcp_target(&self) -> Option<SocketAddr> {
        self.rtcp_peer.or(self.rtcp_signalled).or_else(|| {
            self.latch
                .target()
                .map(|t| SocketAddr::new(t.ip(), t.port().wrapping_add(1)))
        })
    }

    /// 20 ms of what this leg said, decoded to 8 kHz (silence if nothing).
    fn said_8k(&mut self, out: &mut [i16; FRAME_8K]) {
        if self.tap_mute > 0 {
            self.tap_mute -= 1;
            out.fill(0);
            return;
        }
        match (&self.inbound, self.tap.as_mut()) {
            (Inbound::Pipeline(p), _) => out.copy_from_slice(p.tap_8k()),
            (Inbound::Relay, Some(tap)) => tap.pull_8k(out),
            (Inbound::Relay, None) => out.fill(0),
        }
    }
}

/// The format of what arrives from a leg.
fn format_received(a: &LegAudio) -> LegFormat {
    LegFormat {
        codec: a.codec,
        pt: a.recv_pt,
        clock_rate: a.clock_rate,
        event_pt: a.event_recv_pt,
        event_clock_rate: a.event_clock_rate.unwrap_or(a.clock_rate),
    }
}

/// The format of what is sent to a leg.
fn format_sent(a: &LegAudio) -> LegFormat {
    LegFormat {
        codec: a.codec,
        pt: a.send_pt,
        clock_rate: a.clock_rate,
        event_pt: a.event_send_pt,
        event_clock_rate: a.event_clock_rate.unwrap_or(a.clock_rate),
    }
}

/// The call's media state.
struct Media {
    call: u64,
    legs: Option<[Leg; 2]>,
    held: Option<MediaLeg>,
    recorder: Option<Recorder>,
    /// The silent monitor being fed (SUP-2).
    monitor: Option<Box<MonitorFeed>>,
    relayed: u64,
    dropped: u64,
}

/// A silent monitor's outgoing stream and where it goes.
struct MonitorFeed {
    mix: MonitorMix,
    latch: Latch,
    /// Packets the monitor sent, dropped (SUP-2).
    silenced: u64,
}

/// The two legs as (from, to).
fn pair(legs: &mut [Leg; 2], from: usize) -> (&mut Leg, &mut Leg) {
    let [a, b] = legs;
    if from == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

fn idx(leg: MediaLeg) -> Option<usize> {
    match leg {
        MediaLeg::A => Some(0),
        MediaLeg::B => Some(1),
        MediaLeg::Party(_) => None,
    }
}

impl Media {
    fn needs_tick(&self) -> bool {
        self.held.is_some()
            || self.recorder.is_some()
            || self.monitor.is_some()
            || self
                .legs
                .as_ref()
                .is_some_and(|l| l.iter().any(|l| matches!(l.inbound, Inbound::Pipeline(_))))
    }
}

/// Owns a call's sockets from routing until the call ends (the command
/// channel closes).
pub(super) async fn run(
    call: u64,
    sockets: [LegSockets; 2],
    mut cmds: mpsc::UnboundedReceiver<SessionCmd>,
    env: Arc<SessionEnv>,
) {
    let mut m = Media {
        call,
        legs: None,
        held: None,
        recorder: None,
        monitor: None,
        relayed: 0,
        dropped: 0,
    };
    let mut early: Vec<(usize, SocketAddr, Vec<u8>)> = Vec::new();
    let (mut buf_a, mut buf_b) = (vec![0u8; 2048], vec![0u8; 2048]);
    let (mut rtcp_a, mut rtcp_b) = (vec![0u8; 1500], vec![0u8; 1500]);
    let mut scratch = vec![0u8; 2048];
    let mut buf_mon = vec![0u8; 2048];
    // The silent monitor's socket (SUP-2), once bound.
    let mut monitor_socket: Option<UdpSocket> = None;
    let mut tick = tokio::time::interval(TICK);
    // Missed ticks (a starved worker) are caught up, so pipelines and the
    // recording keep wall-clock length.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    // RFC 3550 §6.2: the first report may come after half the minimum.
    let first_report = tokio::time::Instant::now() + (RTCP_INTERVAL / 2).mul_f64(0.5 + rand::random::<f64>());
    // One timer for the call's life, reset after each report (not a new
    // timer per packet on the fast path).
    let rtcp_timer = tokio::time::sleep_until(first_report);
    tokio::pin!(rtcp_timer);
    let [la, lb] = &sockets;
    loop {
        let ticking = m.needs_tick();
        let reporting = m.legs.is_some();
        let (from, n, src) = tokio::select! {
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else { break };
                let now = Instant::now();
                match cmd {
                    SessionCmd::MonitorSocket(s) => {
                        monitor_socket = Some(s);
                        continue;
                    }
                    SessionCmd::MonitorStop => {
                        if let Some(f) = m.monitor.take() {
                            tracing::debug!(call, silenced = f.silenced, "monitor stopped");
                        }
                        monitor_socket = None;
                        continue;
                    }
                    _ => {}
                }
                if let SessionCmd::Plan { .. } = cmd {
                    on_command(&mut m, cmd, now, &env);
                    for (from, src, mut pkt) in std::mem::take(&mut early) {
                        on_rtp(&mut m, from, src, &mut pkt, &sockets, now, &mut scratch).await;
                    }
                } else {
                    on_command(&mut m, cmd, now, &env);
                }
                continue;
            }
            _ = tick.tick(), if ticking => {
                on_tick(&mut m, &sockets, monitor_socket.as_ref(), &env, &mut scratch).await;
                continue;
            }
            r = recv_opt(monitor_socket.as_ref(), &mut buf_mon) => {
                // SUP-2: what the supervisor's phone sends reaches nobody.
                if let (Ok((_, src)), Some(f)) = (r, m.monitor.as_mut()) {
                    let _ = f.latch.on_packet(src, Instant::now());
                    f.silenced += 1;
                }
                continue;
            }
            _ = &mut rtcp_timer, if reporting => {
                send_reports(&mut m, &sockets).await;
                let next = tokio::time::Instant::now() + RTCP_INTERVAL.mul_f64(0.5 + rand::random::<f64>());
                rtcp_timer.as_mut().reset(next);
                continue;
            }
            r = la.rtp.recv_from(&mut buf_a) => match r { Ok((n, src)) => (0, n, src), Err(_) => continue },
            r = lb.rtp.recv_from(&mut buf_b) => match r { Ok((n, src)) => (1, n, src), Err(_) => continue },
            r = recv_opt(la.rtcp.as_ref(), &mut rtcp_a) => {
                if let Ok((n, src)) = r { on_rtcp(&mut m, 0, src, &rtcp_a[..n]); }
                continue;
            }
            r = recv_opt(lb.rtcp.as_ref(), &mut rtcp_b) => {
                if let Ok((n, src)) = r { on_rtcp(&mut m, 1, src, &rtcp_b[..n]); }
                continue;
            }
        };
        let pkt = if from == 0 { &mut buf_a[..n] } else { &mut buf_b[..n] };
        if m.legs.is_none() {
            if early.len() < EARLY_PACKETS {
                early.push((from, src, pkt.to_vec()));
            } else {
                m.dropped += 1;
            }
            continue;
        }
        on_rtp(&mut m, from, src, pkt, &sockets, Instant::now(), &mut scratch).await;
        // Drain what else waits on both legs before selecting again:
        // `select!` favours the branch listed first whenever the random
        // start lands on a branch before it, which would starve the second
        // leg under load (measured: all loss on B→A).
        let buf = if from == 0 { &mut buf_a } else { &mut buf_b };
        for leg in [1 - from, from] {
            for _ in 0..DRAIN_BATCH {
                let Ok((n, src)) = sockets[leg].rtp.try_recv_from(buf) else {
                    break;
                };
                on_rtp(&mut m, leg, src, &mut buf[..n], &sockets, Instant::now(), &mut scratch).await;
            }
        }
    }
    if let Some(rec) = m.recorder.take() {
        finish_recording(call, rec);
    }
    if let Some(legs) = m.legs.as_ref() {
        for (leg, l) in legs.iter().enumerate() {
            if let Inbound::Pipeline(p) = &l.inbound {
                tracing::debug!(call, leg, stats = ?p.stats(), "pipeline stats at the end of the call");
            }
        }
    }
    tracing::debug!(call, relayed = m.relayed, dropped = m.dropped, "media session ended");
}

async fn recv_opt(s: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

fn on_command(m: &mut Media, cmd: SessionCmd, now: Instant, env: &SessionEnv) {
    match cmd {
        SessionCmd::Plan { a, b } => {
            let mut legs = [Leg::new(&a, &b, now), Leg::new(&b, &a, now)];
            if let Some(old) = m.legs.take() {
                // A new plan for a call already planned (a queued caller is
                // connected to an agent): each leg keeps the stream the
                // switch sends it (one SSRC, consecutive sequence numbers,
                // RFC 3550 §8) and, if its address did not change, what its
                // latch learned.
                for (new, old) in legs.iter_mut().zip(old) {
                    new.keep_stream_of(old);
                }
            }
            // A recording (or monitor) started before the answer taps the relay path now.
            let recording = m.recorder.is_some() || m.monitor.is_some();
            let legs = m.legs.insert(legs);
            if recording {
                for l in legs.iter_mut() {
                    add_tap(l);
                }
            }
        }
        SessionCmd::Update {
            leg,
            remote,
            remote_rtcp,
        } => {
            if let Some(l) = idx(leg).and_then(|i| m.legs.as_mut().map(|l| &mut l[i])) {
                if l.signalled != remote {
                    l.signalled = remote;
                    l.latch.resignal(remote, now);
                }
                if l.rtcp_signalled != remote_rtcp {
                    l.rtcp_signalled = remote_rtcp;
                    l.rtcp_peer = None;
                }
            }
        }
        SessionCmd::Hold(held) => {
            m.held = held;
            tracing::debug!(call = m.call, ?held, "hold changed");
        }
        SessionCmd::Record(action) => on_record(m, action, env),
        SessionCmd::Announce { leg, position, wait_s } => {
            if let Some(l) = idx(leg).and_then(|i| m.legs.as_mut().map(|l| &mut l[i])) {
                let player = l.music.get_or_insert_with(|| Box::new(MusicPlayer::new(&l.audio)));
                player.play_prompt(crate::dsp::prompt::queue_announcement(position, wait_s));
            }
        }
        SessionCmd::MonitorStart(leg) => {
            let Some(mix) = MonitorMix::new(&leg.audio, rand::random(), rand::random(), rand::random()) else {
                tracing::error!(call = m.call, codec = ?leg.audio.codec, "monitor codec cannot be encoded");
                return;
            };
            m.monitor = Some(Box::new(MonitorFeed {
                mix,
                latch: Latch::new(leg.remote, now),
                silenced: 0,
            }));
            if let Some(legs) = m.legs.as_mut() {
                for l in legs.iter_mut() {
                    add_tap(l);
                }
            }
            tracing::info!(call = m.call, "monitor fed");
        }
        // Handled by the session loop (they touch its socket).
        SessionCmd::MonitorSocket(_) | SessionCmd::MonitorStop => {}
    }
}

fn add_tap(l: &mut Leg) {
    if matches!(l.inbound, Inbound::Relay) && l.tap.is_none() {
        match AudioTap::new(format_received(&l.audio)) {
            Ok(tap) => l.tap = Some(Box::new(tap)),
            Err(e) => tracing::error!(error = %e, "recording tap unavailable: this party is recorded as silence"),
        }
    }
}

fn on_record(m: &mut Media, action: RecordAction, env: &SessionEnv) {
    match action {
        RecordAction::Start { name, layout } => {
            if m.recorder.is_some() {
                tracing::warn!(call = m.call, "recording already running");
                return;
            }
            let layout = match layout {
                crate::config::RecordingLayout::Stereo => super::recorder::RecordingLayout::Stereo,
                crate::config::RecordingLayout::Mixed => super::recorder::RecordingLayout::Mixed,
            };
            match Recorder::create(&env.recordings, &name, layout) {
                Ok(r) => {
                    m.recorder = Some(r);
                    if let Some(legs) = m.legs.as_mut() {
                        for l in legs.iter_mut() {
                            add_tap(l);
                        }
                    }
                    tracing::info!(call = m.call, %name, "recording");
                }
                Err(e) => tracing::error!(call = m.call, %name, error = %e, "recording could not start"),
            }
        }
        RecordAction::Pause => {
            if let Some(r) = m.recorder.as_mut() {
                r.set_paused(true);
            }
        }
        RecordAction::Resume => {
            if let Some(r) = m.recorder.as_mut() {
                r.set_paused(false);
                // A relay tap kept decoding during the pause and may still
                // hold up to 200 ms said before the resume: drop it, so no
                // paused audio reaches the file (CALL-REC-1).
                if let Some(legs) = m.legs.as_mut() {
                    for l in legs.iter_mut() {
                        if l.tap.is_some() {
                            l.tap = None;
                            add_tap(l);
                        }
                        // What the jitter buffer still holds was said while paused.
                        if let Inbound::Pipeline(p) = &l.inbound {
                            l.tap_mute = 1 + (p.jitter_delay().as_millis() / TICK.as_millis()) as u32;
                        }
                    }
                }
            }
        }
        RecordAction::Stop => {
            if let Some(rec) = m.recorder.take() {
                finish_recording(m.call, rec);
            }
            // The monitor still decodes through the taps.
            if let (Some(legs), None) = (m.legs.as_mut(), m.monitor.as_ref()) {
                for l in legs.iter_mut() {
                    l.tap = None;
                }
            }
        }
    }
}

/// Completes a recording off the media thread (fsync and rename block).
fn finish_recording(call: u64, rec: Recorder) {
    tokio::task::spawn_blocking(move || match rec.finish() {
        Ok(path) => tracing::info!(call, path = %path.display(), "recording complete"),
        Err(e) => tracing::error!(call, error = %e, "recording could not be completed"),
    });
}

/// One RTP packet from leg `from`.
async fn on_rtp(
    m: &mut Media,
    from: usize,
    src: SocketAddr,
    pkt: &mut [u8],
    sockets: &[LegSockets; 2],
    now: Instant,
    scratch: &mut [u8],
) {
    let Some(legs) = m.legs.as_mut() else { return };
    let (this, other) = pair(legs, from);
    if this.latch.on_packet(src, now) == Verdict::Drop {
        m.dropped += 1;
        return;
    }
    if let Ok(h) = RtpHeader::parse(pkt) {
        let rx = this
            .rx
            .get_or_insert_with(|| ReceiverStats::new(h.ssrc, this.audio.clock_rate));
        if rx.ssrc() != h.ssrc {
            *rx = ReceiverStats::new(h.ssrc, this.audio.clock_rate);
        }
        rx.on_packet(h.sequence, h.timestamp, now);
    }
    if let Some(tap) = this.tap.as_mut() {
        tap.push(pkt);
    }
    if m.held.is_some() {
        // On hold: keep latching and counting (the leg may move), relay nothing.
        if let Inbound::Pipeline(p) = &mut this.inbound {
            p.push(pkt, now);
        }
        m.dropped += 1;
        return;
    }
    let out = &sockets[1 - from].rtp;
    match &mut this.inbound {
        Inbound::Relay => {
            if other.out.rewrite(pkt, now).is_err() {
                m.dropped += 1;
                return;
            }
            if let Some(dest) = other.latch.target() {
                if out.send_to(pkt, dest).await.is_ok() {
                    m.relayed += 1;
                }
            }
        }
        Inbound::Pipeline(p) => {
            p.push(pkt, now);
            // RFC 4733 events go out as they arrive.
            while let Some(len) = p.poll_packet(scratch) {
                send_to_leg(other, out, &mut scratch[..len], now).await;
            }
        }
    }
}

/// Rewrites a packet the switch produced into `to`'s stream and sends it.
async fn send_to_leg(to: &mut Leg, socket: &UdpSocket, pkt: &mut [u8], now: Instant) {
    if to.out.rewrite(pkt, now).is_ok() {
        if let Some(dest) = to.latch.target() {
            let _ = socket.send_to(pkt, dest).await;
        }
    }
}

/// Every 20 ms: pipelines emit a frame, music plays to the held leg, the
/// recorder writes what each party said, the monitor hears both (SUP-2).
async fn on_tick(
    m: &mut Media,
    sockets: &[LegSockets; 2],
    monitor_socket: Option<&UdpSocket>,
    env: &SessionEnv,
    scratch: &mut [u8],
) {
    let now = Instant::now();
    let held = m.held;
    let Some(legs) = m.legs.as_mut() else { return };
    for from in 0..2 {
        let (this, other) = pair(legs, from);
        if let Inbound::Pipeline(p) = &mut this.inbound {
            p.tick(now);
            while let Some(len) = p.poll_packet(scratch) {
                if held.is_none() {
                    send_to_leg(other, &sockets[1 - from].rtp, &mut scratch[..len], now).await;
                }
            }
        }
    }
    if let Some(h) = held.and_then(idx) {
        let leg = &mut legs[h];
        let player = leg.music.get_or_insert_with(|| Box::new(MusicPlayer::new(&leg.audio)));
        if let Some(len) = player.next_packet(&env.music, scratch) {
            send_to_leg(leg, &sockets[h].rtp, &mut scratch[..len], now).await;
        }
    }
    if m.recorder.is_none() && m.monitor.is_none() {
        return;
    }
    // What each party said this tick, read once for the recorder and the monitor.
    let (mut customer, mut other) = ([0i16; FRAME_8K], [0i16; FRAME_8K]);
    legs[0].said_8k(&mut customer);
    legs[1].said_8k(&mut other);
    if let (Some(f), Some(socket)) = (m.monitor.as_mut(), monitor_socket) {
        if let (Some(len), Some(dest)) = (
            f.mix.next_packet(Some(&customer), Some(&other), scratch),
            f.latch.target(),
        ) {
            let _ = socket.send_to(&scratch[..len], dest).await;
        }
    }
    if let Some(rec) = m.recorder.as_mut() {
        if let Err(e) = rec.write_frame(&customer, &other) {
            tracing::error!(call = m.call, error = %e, "recording write failed: recording stopped");
            if let Some(rec) = m.recorder.take() {
                finish_recording(m.call, rec);
            }
        }
    }
}

/// The wall clock as a 64-bit NTP timestamp.
fn ntp_now() -> u64 {
    rtcp::ntp_from_unix(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default())
}

/// Sends each leg its RTCP report (SR when the switch has sent it media,
/// else RR), with a report block on what the leg sent the switch.
async fn send_reports(m: &mut Media, sockets: &[LegSockets; 2]) {
    let Some(legs) = m.legs.as_mut() else { return };
    let now = Instant::now();
    let ntp = ntp_now();
    for (i, leg) in legs.iter_mut().enumerate() {
        let (Some(socket), Some(dest)) = (sockets[i].rtcp.as_ref(), leg.rtcp_target()) else {
            continue;
        };
        let blocks: Vec<_> = leg.rx.as_mut().map(|rx| rx.report(now)).into_iter().collect();
        let report = if leg.out.packets_sent() > 0 {
            rtcp::build_sender_report(&SenderInfo::from_rewriter(&leg.out, now, ntp), &blocks)
        } else {
            rtcp::build_receiver_report(leg.out.ssrc(), &blocks)
        };
        if let Ok(bytes) = report {
            let _ = socket.send_to(&bytes, dest).await;
        }
    }
}

/// RTCP from leg `from`: accepted from the leg's media IP, parsed for its
/// sender reports (LSR/DLSR in our reports) and round-trip times.
fn on_rtcp(m: &mut Media, from: usize, src: SocketAddr, datagram: &[u8]) {
    let Some(legs) = m.legs.as_mut() else { return };
    let leg = &mut legs[from];
    let expected_ip = leg.latch.target().or(leg.rtcp_signalled).map(|a| a.ip());
    if expected_ip != Some(src.ip()) {
        return;
    }
    leg.rtcp_peer = Some(src);
    let Ok(reports) = rtcp::parse_reports(datagram) else {
        return;
    };
    let now = Instant::now();
    for r in reports {
        if let rtcp::RtcpReport::Sender(sr) = &r {
            if let Some(rx) = leg.rx.as_mut().filter(|rx| rx.ssrc() == sr.ssrc) {
                rx.on_sender_report(sr.ntp_time, now);
            }
        }
        for block in r.blocks().iter().filter(|b| b.ssrc == leg.out.ssrc()) {
            let rtt = rtcp::round_trip_time(block, ntp_now());
            tracing::debug!(
                call = m.call,
                leg = from,
                fraction_lost = block.fraction_lost,
                jitter = block.jitter,
                ?rtt,
                "RTCP report from leg"
            );
        }
    }
}
