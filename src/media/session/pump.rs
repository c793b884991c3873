//! The thin tokio task that pumps a [`SessionCore`]: it owns the call's
//! sockets (two legs' RTP and RTCP, the silent monitor's RTP), reads
//! datagrams and commands and feeds them to the core with the clock's
//! `now`, sends what [`SessionCore::poll_transmit`] yields, sleeps until
//! [`SessionCore::poll_timeout`], and does the recording's file I/O for the
//! core's [`SessionEvent`]s. No media rule lives here.

use super::{Peer, SessionCommand, SessionConfig, SessionCore, SessionEvent, SocketKind};
use crate::call::media::{MediaLeg, RecordAction};
use crate::media::music::HoldMusic;
use crate::media::recorder::Recorder;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// What a call's task is told after it was prepared.
pub(in crate::media) enum SessionCmd {
    /// A command for the core.
    Core(SessionCommand),
    /// The silent monitor's socket (SUP-2), bound by the workers.
    MonitorSocket(UdpSocket),
    /// A party leg's RTP socket (consult, conference), bound by the workers.
    PartySocket(usize, UdpSocket),
}

/// A leg's sockets.
pub(in crate::media) struct LegSockets {
    pub rtp: UdpSocket,
    pub rtcp: Option<UdpSocket>,
}

/// What the session needs from the workers.
pub(in crate::media) struct SessionEnv {
    pub music: Arc<HoldMusic>,
    pub recordings: PathBuf,
    /// Where key presses on bridged legs go (meet-me room PINs).
    pub reports: mpsc::Sender<crate::media::MediaReport>,
    /// The switch's DTLS certificate for WebRTC legs (issue 12).
    pub dtls: Option<Arc<crate::webrtc::dtls::DtlsIdentity>>,
}

/// Packets read per leg without returning to `select!` (fairness between
/// the legs, bounded so commands and ticks are never held up for long).
const RECV_BURST: usize = 16;

/// The task's sockets and recording file.
struct Io {
    call: u64,
    /// The caller's and callee's sockets; `None` for a meet-me room's
    /// session, whose every leg is a party.
    legs: Option<[LegSockets; 2]>,
    /// The silent monitor's socket (SUP-2), once bound.
    monitor: Option<UdpSocket>,
    /// Party legs' RTP sockets, by party leg index.
    parties: Vec<(usize, UdpSocket)>,
    recorder: Option<Recorder>,
    recordings: PathBuf,
    reports: mpsc::Sender<crate::media::MediaReport>,
}

impl Io {
    fn socket(&self, to: Peer, kind: SocketKind) -> Option<&UdpSocket> {
        match (to, kind) {
            (Peer::Leg(MediaLeg::Party(p)), SocketKind::Rtp) => {
                self.parties.iter().find(|(i, _)| *i == p).map(|(_, s)| s)
            }
            (Peer::Leg(MediaLeg::Party(_)), SocketKind::Rtcp) => None,
            (Peer::Leg(l), SocketKind::Rtp) => self.legs.as_ref().map(|legs| &legs[idx(l)].rtp),
            (Peer::Leg(l), SocketKind::Rtcp) => self.legs.as_ref().and_then(|legs| legs[idx(l)].rtcp.as_ref()),
            (Peer::Monitor, SocketKind::Rtp) => self.monitor.as_ref(),
            (Peer::Monitor, SocketKind::Rtcp) => None,
        }
    }

    /// Sends what the core queued, then acts on its events.
    async fn flush(&mut self, core: &mut SessionCore) {
        while let Some(t) = core.poll_transmit() {
            if let Some(socket) = self.socket(t.to, t.socket) {
                let _ = socket.send_to(t.payload, t.dest).await;
            }
        }
        while let Some(event) = core.poll_event() {
            if !self.on_event(event) {
                // The core stops its tap; the file keeps what was written.
                self.finish_recording();
                core.handle_command(Instant::now(), SessionCommand::Record(RecordAction::Stop));
            }
        }
    }

    /// Does the recording's file I/O; false when the recording must stop.
    fn on_event(&mut self, event: SessionEvent) -> bool {
        match event {
            SessionEvent::RecordingStarted { name, layout } => {
                self.finish_recording();
                match Recorder::create(&self.recordings, &name, layout) {
                    Ok(r) => {
                        self.recorder = Some(r);
                        tracing::info!(call = self.call, %name, "recording");
                    }
                    Err(e) => {
                        tracing::error!(call = self.call, %name, error = %e, "recording could not start");
                        return false;
                    }
                }
            }
            SessionEvent::RecordingFrame { customer, other } => {
                if let Some(Err(e)) = self.recorder.as_mut().map(|r| r.write_frame(&customer, &other)) {
                    tracing::error!(call = self.call, error = %e, "recording write failed: recording stopped");
                    return false;
                }
            }
            SessionEvent::RecordingStopped => self.finish_recording(),
            SessionEvent::Digit { leg, digit } => {
                let report = crate::media::MediaReport {
                    session: self.call,
                    leg,
                    digit,
                };
                // No engine listening (shutting down) is no error. A full
                // queue means the engine is far behind: the key press is
                // dropped (counted and logged) rather than stall the media.
                if let Err(mpsc::error::TrySendError::Full(_)) = self.reports.try_send(report) {
                    crate::bounded::MEDIA_REPORTS.full("dropped");
                }
            }
        }
        true
    }

    /// Completes the recording off the media thread (fsync and rename block).
    fn finish_recording(&mut self) {
        let Some(rec) = self.recorder.take() else { return };
        let call = self.call;
        tokio::task::spawn_blocking(move || match rec.finish() {
            Ok(path) => tracing::info!(call, path = %path.display(), "recording complete"),
            Err(e) => tracing::error!(call, error = %e, "recording could not be completed"),
        });
    }
}

/// The caller's or callee's socket pair (party legs have their own list).
fn idx(leg: MediaLeg) -> usize {
    usize::from(leg == MediaLeg::B)
}

fn leg_at(i: usize) -> MediaLeg {
    if i == 0 {
        MediaLeg::A
    } else {
        MediaLeg::B
    }
}

/// The core's deadline as a tokio instant (far ahead when none).
fn sleep_target(deadline: Option<Instant>) -> tokio::time::Instant {
    match deadline {
        Some(d) => tokio::time::Instant::from_std(d),
        None => tokio::time::Instant::now() + std::time::Duration::from_secs(86_400),
    }
}

/// Media sessions running now (the stats line's `media_sessions`).
static LIVE_SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Media sessions running now: calls with anchored media and open rooms.
pub(in crate::media) fn live_sessions() -> usize {
    LIVE_SESSIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Packets every session relayed on the fast path, dropped, and refused as
/// SRTP, since start (`/metrics`). Each session adds what it counted at its
/// timer deadlines (RTCP at least every few seconds) and when it ends:
/// a few relaxed adds per session and deadline, never per packet.
static RELAYED: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SRTP_REFUSED: AtomicU64 = AtomicU64::new(0);
static LOST: AtomicU64 = AtomicU64::new(0);
static LATE: AtomicU64 = AtomicU64::new(0);

/// Packets relayed, dropped and refused as SRTP by every session so far
/// (see [`RELAYED`]).
pub(in crate::media) fn packet_totals() -> crate::media::PacketTotals {
    crate::media::PacketTotals {
        relayed: RELAYED.load(Ordering::Relaxed),
        dropped: DROPPED.load(Ordering::Relaxed),
        srtp_refused: SRTP_REFUSED.load(Ordering::Relaxed),
        lost: LOST.load(Ordering::Relaxed),
        late: LATE.load(Ordering::Relaxed),
    }
}

/// Adds what `core` counted since `published` to the totals. A session's
/// loss may go down (a late packet fills a gap): the counter only grows,
/// by what the loss rose above the highest it had published.
fn publish(core: &SessionCore, published: &mut crate::media::session::SessionStats) {
    let mut now = core.stats();
    let lost_now = now.lost.max(published.lost);
    LOST.fetch_add(
        lost_now.saturating_sub(published.lost).unsigned_abs(),
        Ordering::Relaxed,
    );
    now.lost = lost_now;
    LATE.fetch_add(now.late.saturating_sub(published.late), Ordering::Relaxed);
    RELAYED.fetch_add(now.relayed.saturating_sub(published.relayed), Ordering::Relaxed);
    DROPPED.fetch_add(now.dropped.saturating_sub(published.dropped), Ordering::Relaxed);
    SRTP_REFUSED.fetch_add(
        now.srtp_refused.saturating_sub(published.srtp_refused),
        Ordering::Relaxed,
    );
    *published = now;
}

/// Counts one running session in [`LIVE_SESSIONS`] for as long as it lives.
struct Live;

impl Live {
    fn start() -> Live {
        LIVE_SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE_SESSIONS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Owns a call's sockets from routing until the call ends (the command
/// channel closes); for a meet-me room (`sockets` `None`), its callers'
/// sockets until the room closes.
pub(in crate::media) async fn run(
    call: u64,
    sockets: Option<[LegSockets; 2]>,
    mut cmds: mpsc::Receiver<SessionCmd>,
    env: Arc<SessionEnv>,
) {
    let _live = Live::start();
    let unix_time = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let config = SessionConfig {
        call,
        seed: rand::random(),
        unix_time,
        music: env.music.clone(),
        dtls: env.dtls.clone(),
    };
    let mut core = SessionCore::new(Instant::now(), config);
    let mut io = Io {
        call,
        legs: sockets,
        monitor: None,
        parties: Vec::new(),
        recorder: None,
        recordings: env.recordings.clone(),
        reports: env.reports.clone(),
    };
    let (mut buf_a, mut buf_b) = (vec![0u8; 2048], vec![0u8; 2048]);
    let (mut rtcp_a, mut rtcp_b) = (vec![0u8; 1500], vec![0u8; 1500]);
    let mut buf_mon = vec![0u8; 2048];
    let mut buf_party = vec![0u8; 2048];
    // One timer for the call's life, reset only when the core's deadline
    // changes (not per packet on the fast path).
    let mut armed = core.poll_timeout();
    let mut published = core.stats();
    let timer = tokio::time::sleep_until(sleep_target(armed));
    tokio::pin!(timer);
    loop {
        io.flush(&mut core).await;
        let deadline = core.poll_timeout();
        if deadline != armed {
            armed = deadline;
            timer.as_mut().reset(sleep_target(armed));
        }
        let Io {
            legs, monitor, parties, ..
        } = &io;
        let (la, lb) = match legs {
            Some([a, b]) => (Some(a), Some(b)),
            None => (None, None),
        };
        let (from, n, src) = tokio::select! {
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else { break };
                match cmd {
                    SessionCmd::MonitorSocket(s) => io.monitor = Some(s),
                    SessionCmd::PartySocket(p, s) => {
                        io.parties.retain(|(i, _)| *i != p);
                        io.parties.push((p, s));
                    }
                    SessionCmd::Core(SessionCommand::PartyLeave(leg)) => {
                        if let MediaLeg::Party(p) = leg {
                            io.parties.retain(|(i, _)| *i != p);
                        }
                        core.handle_command(Instant::now(), SessionCommand::PartyLeave(leg));
                    }
                    SessionCmd::Core(SessionCommand::MonitorStop) => {
                        io.monitor = None;
                        core.handle_command(Instant::now(), SessionCommand::MonitorStop);
                    }
                    SessionCmd::Core(c) => core.handle_command(Instant::now(), c),
                }
                continue;
            }
            _ = &mut timer, if armed.is_some() => {
                core.handle_timeout(Instant::now());
                publish(&core, &mut published);
                continue;
            }
            (p, r) = recv_parties(parties, &mut buf_party) => {
                if let Ok((n, src)) = r {
                    core.handle_rtp(Instant::now(), Peer::Leg(MediaLeg::Party(p)), src, &mut buf_party[..n]);
                }
                continue;
            }
            r = recv_opt(monitor.as_ref(), &mut buf_mon) => {
                if let Ok((n, src)) = r {
                    core.handle_rtp(Instant::now(), Peer::Monitor, src, &mut buf_mon[..n]);
                }
                continue;
            }
            r = recv_opt(la.map(|l| &l.rtp), &mut buf_a) => match r { Ok((n, src)) => (0, n, src), Err(_) => continue },
            r = recv_opt(lb.map(|l| &l.rtp), &mut buf_b) => match r { Ok((n, src)) => (1, n, src), Err(_) => continue },
            r = recv_opt(la.and_then(|l| l.rtcp.as_ref()), &mut rtcp_a) => {
                if let Ok((n, src)) = r { core.handle_rtcp(Instant::now(), MediaLeg::A, src, &rtcp_a[..n]); }
                continue;
            }
            r = recv_opt(lb.and_then(|l| l.rtcp.as_ref()), &mut rtcp_b) => {
                if let Ok((n, src)) = r { core.handle_rtcp(Instant::now(), MediaLeg::B, src, &rtcp_b[..n]); }
                continue;
            }
        };
        let buf = if from == 0 { &mut buf_a } else { &mut buf_b };
        core.handle_rtp(Instant::now(), Peer::Leg(leg_at(from)), src, &mut buf[..n]);
        // Drain what else waits on both legs before selecting again:
        // `select!` favours the branch listed first whenever the random
        // start lands on a branch before it, which would starve the second
        // leg under load (measured: all loss on B→A).
        for leg in [1 - from, from] {
            io.flush(&mut core).await;
            for _ in 0..RECV_BURST {
                let Some(Ok((n, src))) = io.legs.as_ref().map(|l| l[leg].rtp.try_recv_from(buf)) else {
                    break;
                };
                core.handle_rtp(Instant::now(), Peer::Leg(leg_at(leg)), src, &mut buf[..n]);
                io.flush(&mut core).await;
            }
        }
    }
    publish(&core, &mut published);
    io.finish_recording();
}

async fn recv_opt(s: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// The next datagram on any party leg's socket (none: never ready).
async fn recv_parties(parties: &[(usize, UdpSocket)], buf: &mut [u8]) -> (usize, std::io::Result<(usize, SocketAddr)>) {
    if parties.is_empty() {
        return std::future::pending().await;
    }
    std::future::poll_fn(|cx| {
        for (p, s) in parties {
            let mut rb = tokio::io::ReadBuf::new(&mut *buf);
            match s.poll_recv_from(cx, &mut rb) {
                std::task::Poll::Ready(Ok(src)) => return std::task::Poll::Ready((*p, Ok((rb.filled().len(), src)))),
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready((*p, Err(e))),
                std::task::Poll::Pending => {}
            }
        }
        std::task::Poll::Pending
    })
    .await
}
