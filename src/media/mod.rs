//! Media workers (DESIGN.md "media"): the I/O edge of the RTP plane. They
//! run on their own tokio runtime (`media` threads), apart from the
//! signalling engine, and take [`MediaCommand`]s carrying ids and addresses
//! only. Each anchored call is one [`session`]: a sans-IO
//! [`session::SessionCore`] (relay fast path, transcoding and
//! noise-removal [`pipeline`], music on hold, the recording tap, the silent
//! monitor's mix (SUP-2), RTCP timing and reports; tested in virtual time)
//! pumped by a thin task that owns the call's RTP and RTCP sockets, bound
//! when the call is routed (so nothing sent right after the answer meets a
//! closed port), and writes the [`recorder`]'s file.

#[cfg(feature = "fuzzing")]
pub mod fuzz;
pub mod mixer;
mod monitor;
mod music;
pub mod pipeline;
pub mod prompts;
pub mod recorder;
pub mod session;

use crate::call::media::MediaCommand;
pub use music::HoldMusic;
use session::pump::{self, LegSockets, SessionCmd, SessionEnv};
use session::SessionCommand;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Handle to the media workers; dropping it stops them (calls' tasks end).
pub struct MediaWorkers {
    tx: Option<mpsc::Sender<Control>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A call's bound sockets: RTP, and RTCP on the next port when it was free.
struct BoundLeg {
    rtp: std::net::UdpSocket,
    rtcp: Option<std::net::UdpSocket>,
}

/// What the control loop receives: a prepared call's sockets are bound by
/// [`MediaWorkers::send`] itself, synchronously, so that they exist before
/// the driver sends the 200 that lets the caller start sending.
enum Control {
    Prepare {
        call: u64,
        a: BoundLeg,
        b: BoundLeg,
    },
    /// A silent monitor's socket (SUP-2), bound like a prepared call's.
    Monitor {
        call: u64,
        rtp: std::net::UdpSocket,
    },
    /// A party leg's socket (consult, conference), bound the same way.
    Party {
        call: u64,
        party: usize,
        rtp: std::net::UdpSocket,
    },
    /// A meet-me room caller's socket: the room's session is made with its first.
    Room {
        room: u64,
        party: usize,
        rtp: std::net::UdpSocket,
    },
    Command(MediaCommand),
}

/// What a media session tells the signalling side (the driver hands it to
/// the engine as [`crate::engine::Input::Digit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaReport {
    /// The session: a call's number, or a meet-me room's media number.
    pub session: u64,
    /// The leg of that session.
    pub leg: crate::call::media::MediaLeg,
    /// The key pressed (RFC 4733 event: `0`-`9`, `*`, `#`, `A`-`D`).
    pub digit: char,
}

/// Media sessions running now: calls with anchored media and open
/// meet-me rooms (for the stats line).
pub fn live_sessions() -> usize {
    session::pump::live_sessions()
}

/// RTP packets every media session relayed, dropped, refused as SRTP,
/// lost and received late since the switch started (`/metrics`; sessions
/// add theirs every few seconds and when they end).
pub fn packet_totals() -> PacketTotals {
    session::pump::packet_totals()
}

/// What [`packet_totals`] returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketTotals {
    /// Relayed on the fast path (same codec both sides).
    pub relayed: u64,
    /// Dropped: refused by a latch, before the plan beyond the early
    /// buffer, unmappable, or said while held.
    pub dropped: u64,
    /// SRTP/SRTCP datagrams refused (authentication, replay, clear).
    pub srtp_refused: u64,
    /// Sent by the peers but never received (RFC 3550 §A.3 cumulative loss
    /// of every source; the highest the sum reached).
    pub lost: u64,
    /// Received after a later packet of their source (reordered).
    pub late: u64,
}

impl MediaWorkers {
    /// Starts `threads` media worker threads; recordings go to `recordings`,
    /// key presses on bridged legs to `reports`; WebRTC legs run DTLS with
    /// `dtls` (the switch's certificate; `None`: no WebRTC media).
    pub fn start(
        threads: usize,
        recordings: PathBuf,
        reports: mpsc::Sender<MediaReport>,
        dtls: Option<Arc<crate::webrtc::dtls::DtlsIdentity>>,
    ) -> std::io::Result<MediaWorkers> {
        let env = Arc::new(SessionEnv {
            music: Arc::new(HoldMusic::embedded()),
            recordings,
            reports,
            dtls,
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("media")
            .enable_all()
            .build()?;
        let (tx, mut rx) = mpsc::channel::<Control>(crate::bounded::MEDIA_CONTROL.capacity());
        let thread = std::thread::Builder::new()
            .name("media-control".into())
            .spawn(move || {
                rt.block_on(async move {
                    let mut sessions: HashMap<u64, mpsc::Sender<SessionCmd>> = HashMap::new();
                    while let Some(ctl) = rx.recv().await {
                        let cmd = match ctl {
                            Control::Prepare { call, a, b } => {
                                let (sa, sb) = match (a.into_tokio(), b.into_tokio()) {
                                    (Ok(sa), Ok(sb)) => (sa, sb),
                                    (Err(e), _) | (_, Err(e)) => {
                                        tracing::error!(call, error = %e, "media sockets unusable");
                                        continue;
                                    }
                                };
                                let (session_tx, session_rx) = mpsc::channel(crate::bounded::MEDIA_SESSION.capacity());
                                // Replacing a session drops its sender: the old task ends.
                                sessions.insert(call, session_tx);
                                tokio::spawn(pump::run(call, Some([sa, sb]), session_rx, env.clone()));
                                continue;
                            }
                            Control::Room { room, party, rtp } => {
                                let socket = match UdpSocket::from_std(rtp) {
                                    Ok(s) => s,
                                    Err(e) => {
                                        tracing::error!(room, error = %e, "room socket unusable");
                                        continue;
                                    }
                                };
                                let s = sessions.entry(room).or_insert_with(|| {
                                    let (session_tx, session_rx) =
                                        mpsc::channel(crate::bounded::MEDIA_SESSION.capacity());
                                    tokio::spawn(pump::run(room, None, session_rx, env.clone()));
                                    session_tx
                                });
                                to_session(s, SessionCmd::PartySocket(party, socket)).await;
                                continue;
                            }
                            Control::Monitor { call, rtp } => {
                                match (UdpSocket::from_std(rtp), sessions.get(&call)) {
                                    (Ok(socket), Some(s)) => {
                                        to_session(s, SessionCmd::MonitorSocket(socket)).await;
                                    }
                                    (Err(e), _) => tracing::error!(call, error = %e, "monitor socket unusable"),
                                    (_, None) => {
                                        tracing::warn!(call, "monitor socket for a call with no media session")
                                    }
                                }
                                continue;
                            }
                            Control::Party { call, party, rtp } => {
                                match (UdpSocket::from_std(rtp), sessions.get(&call)) {
                                    (Ok(socket), Some(s)) => {
                                        to_session(s, SessionCmd::PartySocket(party, socket)).await;
                                    }
                                    (Err(e), _) => tracing::error!(call, error = %e, "party socket unusable"),
                                    (_, None) => tracing::warn!(call, "party socket for a call with no media session"),
                                }
                                continue;
                            }
                            Control::Command(cmd) => cmd,
                        };
                        let (call, to_session_cmd) = match cmd {
                            // Bound in `MediaWorkers::send`, never forwarded here.
                            MediaCommand::Prepare { .. }
                            | MediaCommand::MonitorPrepare { .. }
                            | MediaCommand::PartyPrepare { .. }
                            | MediaCommand::RoomPrepare { .. } => continue,
                            MediaCommand::PartyJoin { call, party, leg, mode } => {
                                (call, SessionCommand::PartyJoin { party, leg, mode })
                            }
                            MediaCommand::PartyModes { call, modes } => (call, SessionCommand::PartyModes(modes)),
                            MediaCommand::PartyLeave { call, leg } => (call, SessionCommand::PartyLeave(leg)),
                            MediaCommand::Monitor { call, leg } => (call, SessionCommand::MonitorStart(leg)),
                            MediaCommand::MonitorStop { call } => (call, SessionCommand::MonitorStop),
                            MediaCommand::MonitorMode { call, mode } => (call, SessionCommand::MonitorMode(mode)),
                            MediaCommand::Close { call } => {
                                sessions.remove(&call);
                                continue;
                            }
                            MediaCommand::Relay { call, a, b } => (call, SessionCommand::Plan { a, b }),
                            MediaCommand::Update {
                                call,
                                leg,
                                remote,
                                remote_rtcp,
                                srtp,
                                webrtc,
                            } => (
                                call,
                                SessionCommand::Update {
                                    leg,
                                    remote,
                                    remote_rtcp,
                                    srtp,
                                    webrtc,
                                },
                            ),
                            MediaCommand::Hold { call, held } => (call, SessionCommand::Hold(held)),
                            MediaCommand::Record { call, action } => (call, SessionCommand::Record(action)),
                            MediaCommand::Announce {
                                call,
                                leg,
                                position,
                                wait_s,
                            } => (call, SessionCommand::Announce { leg, position, wait_s }),
                            MediaCommand::Prompt {
                                call,
                                leg,
                                samples,
                                then,
                            } => (call, SessionCommand::Prompt { leg, samples, then }),
                        };
                        match sessions.get(&call) {
                            Some(s) => {
                                to_session(s, SessionCmd::Core(to_session_cmd)).await;
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

    /// Hands a command to the workers. `Prepare` binds the call's RTP (and
    /// RTCP) sockets right here; its error means the call has no media (the
    /// driver tells the engine, which ends the call). `MonitorPrepare`
    /// binds the monitor's RTP socket here too; its error only leaves the
    /// monitor without audio (its RTCP is not read: it sends nothing).
    pub fn send(&self, cmd: MediaCommand) -> std::io::Result<()> {
        let ctl = match cmd {
            MediaCommand::Prepare { call, a_local, b_local } => match (bind_leg(a_local), bind_leg(b_local)) {
                (Ok(a), Ok(b)) => Control::Prepare { call, a, b },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(call, error = %e, "media ports could not be bound");
                    return Err(e);
                }
            },
            MediaCommand::MonitorPrepare { call, local } => match bind(local) {
                Ok(rtp) => Control::Monitor { call, rtp },
                Err(e) => {
                    tracing::error!(call, error = %e, "monitor port could not be bound: the monitor hears nothing");
                    return Err(e);
                }
            },
            MediaCommand::PartyPrepare { call, party, local } => match bind(local) {
                Ok(rtp) => Control::Party { call, party, rtp },
                Err(e) => {
                    tracing::error!(call, party, error = %e, "party port could not be bound: the party hears nothing");
                    return Err(e);
                }
            },
            MediaCommand::RoomPrepare { room, party, local } => match bind(local) {
                Ok(rtp) => Control::Room { room, party, rtp },
                Err(e) => {
                    tracing::error!(room, party, error = %e, "room port could not be bound");
                    return Err(e);
                }
            },
            other => Control::Command(other),
        };
        if self
            .tx
            .as_ref()
            .is_none_or(|tx| crate::bounded::send_or_wait(tx, ctl, &crate::bounded::MEDIA_CONTROL).is_err())
        {
            tracing::error!("media workers are gone; a media command was lost");
        }
        Ok(())
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

/// Hands `cmd` to a media session; a session that has `MEDIA_SESSION`
/// commands waiting already is waited for (counted), never skipped.
async fn to_session(s: &mpsc::Sender<SessionCmd>, cmd: SessionCmd) {
    match s.try_send(cmd) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(cmd)) => {
            crate::bounded::MEDIA_SESSION.full("waiting");
            let _ = s.send(cmd).await;
        }
        // The session ended (its call is over): nothing to do.
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}

impl BoundLeg {
    fn into_tokio(self) -> std::io::Result<LegSockets> {
        Ok(LegSockets {
            rtp: UdpSocket::from_std(self.rtp)?,
            rtcp: self.rtcp.map(UdpSocket::from_std).transpose()?,
        })
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let s = std::net::UdpSocket::bind(addr)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Binds a leg's RTP port and the RTCP port above it (RFC 3550 §11). A busy
/// RTCP port only costs the leg its reports.
fn bind_leg(rtp: SocketAddr) -> std::io::Result<BoundLeg> {
    let rtp_socket = bind(rtp)?;
    let rtcp_addr = SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1));
    let rtcp = match bind(rtcp_addr) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(addr = %rtcp_addr, error = %e, "RTCP port unavailable: no reports on this leg");
            None
        }
    };
    Ok(BoundLeg { rtp: rtp_socket, rtcp })
}
