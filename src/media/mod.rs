//! Media workers (DESIGN.md "media"): the I/O edge of the RTP plane. They
//! run on their own tokio runtime (`media-*` threads), apart from the
//! signalling engine, and take [`MediaCommand`]s carrying ids and addresses
//! only. Each relayed call is one task owning the call's two RTP sockets:
//!
//! - a packet from a leg passes that leg's [`Latch`] (symmetric RTP with the
//!   anti-hijack rule of `rtp::latch`) or is dropped;
//! - it is rewritten in place by the other leg's [`StreamRewriter`] (one
//!   continuous SSRC / sequence / timestamp per outgoing leg, payload-type
//!   numbers mapped per leg, RFC 4733 events included) and sent from the
//!   other leg's socket to that leg's latched or signalled address.
//!
//! The fast path reuses one buffer per direction and allocates nothing per
//! packet. RTCP is not relayed yet (SR/RR generation comes with the rest of
//! issue 3), so the RTCP ports are not bound.

use crate::call::media::{MediaCommand, RelayLeg};
use crate::rtp::latch::{Latch, Verdict};
use crate::rtp::{PayloadTypeMap, RewriterConfig, StreamRewriter};
use std::collections::HashMap;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Handle to the media workers; dropping it stops them (calls' tasks end).
pub struct MediaWorkers {
    tx: mpsc::UnboundedSender<MediaCommand>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MediaWorkers {
    /// Starts `threads` media worker threads.
    pub fn start(threads: usize) -> std::io::Result<MediaWorkers> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("media")
            .enable_all()
            .build()?;
        let (tx, mut rx) = mpsc::unbounded_channel::<MediaCommand>();
        let thread = std::thread::Builder::new()
            .name("media-control".into())
            .spawn(move || {
                rt.block_on(async move {
                    let mut sessions: HashMap<u64, mpsc::UnboundedSender<RelayPlan>> = HashMap::new();
                    while let Some(cmd) = rx.recv().await {
                        match cmd {
                            MediaCommand::Prepare { call, a_local, b_local } => {
                                let (plan_tx, plan_rx) = mpsc::unbounded_channel();
                                // Replacing a session drops its sender: the old task ends.
                                sessions.insert(call, plan_tx);
                                tokio::spawn(session(call, a_local, b_local, plan_rx));
                            }
                            MediaCommand::Relay { call, a, b } => match sessions.get(&call) {
                                Some(s) => {
                                    let _ = s.send(RelayPlan { a, b });
                                }
                                None => tracing::warn!(call, "relay plan for a call with no media session"),
                            },
                            MediaCommand::Close { call } => {
                                sessions.remove(&call);
                            }
                        }
                    }
                });
            })?;
        Ok(MediaWorkers {
            tx,
            thread: Some(thread),
        })
    }

    /// Hands a command to the workers.
    pub fn send(&self, cmd: MediaCommand) {
        if self.tx.send(cmd).is_err() {
            tracing::error!("media workers are gone; a media command was lost");
        }
    }
}

impl Drop for MediaWorkers {
    fn drop(&mut self) {
        let (tx, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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

/// How a prepared session relays once both legs answered.
struct RelayPlan {
    a: RelayLeg,
    b: RelayLeg,
}

/// Packets held per leg between binding and the relay plan (the caller may
/// start sending the moment it has the 200, racing the plan by microseconds).
const EARLY_PACKETS: usize = 16;

/// What one leg's packets meet once the plan is known: the latch that
/// checks where they come from (and tells where that leg's packets go), and
/// the rewriter for the other leg they are sent to.
struct Flow {
    latch: Latch,
    rewrite_to_other: StreamRewriter,
}

/// Owns a call's two RTP sockets from routing until the call ends (the plan
/// channel closes). Packets from `a` go to `b` and back.
async fn session(
    call: u64,
    a_local: std::net::SocketAddr,
    b_local: std::net::SocketAddr,
    mut plans: mpsc::UnboundedReceiver<RelayPlan>,
) {
    let (sa, sb) = match (UdpSocket::bind(a_local).await, UdpSocket::bind(b_local).await) {
        (Ok(sa), Ok(sb)) => (sa, sb),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(call, error = %e, "media ports could not be bound");
            return;
        }
    };
    // (A's packets, B's packets) once planned.
    let mut flows: Option<(Flow, Flow)> = None;
    let mut early: Vec<(bool, std::net::SocketAddr, Vec<u8>)> = Vec::new();
    let (mut buf_a, mut buf_b) = (vec![0u8; 2048], vec![0u8; 2048]);
    let (mut relayed, mut dropped) = (0u64, 0u64);
    loop {
        let (from_a, n, src) = tokio::select! {
            plan = plans.recv() => {
                let Some(RelayPlan { a, b }) = plan else { break };
                let now = Instant::now();
                // Packets towards A are rewritten with A's plan, and so on.
                flows = Some((
                    Flow { latch: Latch::new(a.remote, now), rewrite_to_other: rewriter(&b) },
                    Flow { latch: Latch::new(b.remote, now), rewrite_to_other: rewriter(&a) },
                ));
                for (from_a, src, mut pkt) in std::mem::take(&mut early) {
                    if let Some(f) = flows.as_mut() {
                        if forward(f, from_a, src, &mut pkt, &sa, &sb).await {
                            relayed += 1;
                        } else {
                            dropped += 1;
                        }
                    }
                }
                continue;
            }
            r = sa.recv_from(&mut buf_a) => match r { Ok((n, src)) => (true, n, src), Err(_) => continue },
            r = sb.recv_from(&mut buf_b) => match r { Ok((n, src)) => (false, n, src), Err(_) => continue },
        };
        let buf = if from_a { &mut buf_a[..n] } else { &mut buf_b[..n] };
        match flows.as_mut() {
            Some(f) => {
                if forward(f, from_a, src, buf, &sa, &sb).await {
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
async fn forward(
    flows: &mut (Flow, Flow),
    from_a: bool,
    src: std::net::SocketAddr,
    pkt: &mut [u8],
    sa: &UdpSocket,
    sb: &UdpSocket,
) -> bool {
    let now = Instant::now();
    let (from, to, out) = if from_a {
        (&mut flows.0, &flows.1, sb)
    } else {
        (&mut flows.1, &flows.0, sa)
    };
    if from.latch.on_packet(src, now) == Verdict::Drop || from.rewrite_to_other.rewrite(pkt, now).is_err() {
        return false;
    }
    match to.latch.target() {
        Some(dest) => out.send_to(pkt, dest).await.is_ok(),
        None => false,
    }
}
