//! RTCP for a session's legs (RFC 3550 §6): when reports are due, what each
//! leg is sent, and what is read from the reports a leg sends.
//!
//! Timing (RFC 3550 §6.2, §6.3.1): a two-party leg's bandwidth share always
//! gives less than the 5 s minimum, so the interval is the minimum,
//! randomised ×0.5–1.5 per report from the core's seeded generator; the
//! first report may come after half the minimum (so 1.25–3.75 s after the
//! session starts). Reports go to both legs at once, one schedule per call.

use super::leg::Leg;
use super::transmit::{Route, TxQueue};
use super::{Peer, SocketKind};
use crate::call::media::MediaLeg;
use crate::rtp::rtcp::{self, SenderInfo};
use rand::rngs::StdRng;
use rand::Rng;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RTCP report interval (RFC 3550 §6.2: 5 s minimum), randomised per report.
pub(super) const RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// When the next reports are due.
pub(super) struct ReportSchedule {
    next: Instant,
}

impl ReportSchedule {
    /// The schedule of a session started at `start`: the first report after
    /// half the minimum interval, randomised (RFC 3550 §6.2, §6.3.1).
    pub fn new(start: Instant, rng: &mut StdRng) -> ReportSchedule {
        ReportSchedule {
            next: start + randomised(RTCP_INTERVAL / 2, rng),
        }
    }

    /// When the next reports are due.
    pub fn next(&self) -> Instant {
        self.next
    }

    /// Reports were sent at `now`: the next after a randomised interval.
    pub fn sent(&mut self, now: Instant, rng: &mut StdRng) {
        self.next = now + randomised(RTCP_INTERVAL, rng);
    }
}

/// `interval` × a uniform factor in [0.5, 1.5) (RFC 3550 §6.3.1).
fn randomised(interval: Duration, rng: &mut StdRng) -> Duration {
    interval.mul_f64(0.5 + rng.random::<f64>())
}

fn leg_of(i: usize) -> MediaLeg {
    if i == 0 {
        MediaLeg::A
    } else {
        MediaLeg::B
    }
}

/// Queues each leg's report (SR when the switch has sent it media, else RR),
/// with a report block on what the leg sent the switch; `ntp` is the wall
/// clock at `now` as an NTP timestamp.
pub(super) fn queue_reports(legs: &mut [Leg; 2], now: Instant, ntp: u64, tx: &mut TxQueue) {
    for (i, leg) in legs.iter_mut().enumerate() {
        let Some(dest) = leg.rtcp_target() else {
            continue;
        };
        let block = leg.rx.as_mut().map(|rx| rx.report(now));
        let blocks = block.as_slice();
        let report = if leg.out.packets_sent() > 0 {
            rtcp::build_sender_report(&SenderInfo::from_rewriter(&leg.out, now, ntp), blocks)
        } else {
            rtcp::build_receiver_report(leg.out.ssrc(), blocks)
        };
        if let Ok(bytes) = report {
            let route = Route {
                to: Peer::Leg(leg_of(i)),
                socket: SocketKind::Rtcp,
                dest,
            };
            tx.push_copy(route, &bytes);
        }
    }
}

/// RTCP from leg `leg`: accepted from the leg's media IP, read for its
/// sender reports (LSR/DLSR in our reports, RFC 3550 §6.4.1) and round-trip
/// times; never relayed.
pub(super) fn read_report(
    call: u64,
    from: MediaLeg,
    leg: &mut Leg,
    src: SocketAddr,
    datagram: &[u8],
    now: Instant,
    ntp: u64,
) {
    let expected_ip = leg.latch.target().or(leg.rtcp_signalled).map(|a| a.ip());
    if expected_ip != Some(src.ip()) {
        return;
    }
    leg.rtcp_peer = Some(src);
    let Ok(reports) = rtcp::parse_reports(datagram) else {
        return;
    };
    for r in reports {
        if let rtcp::RtcpReport::Sender(sr) = &r {
            if let Some(rx) = leg.rx.as_mut().filter(|rx| rx.ssrc() == sr.ssrc) {
                rx.on_sender_report(sr.ntp_time, now);
            }
        }
        for block in r.blocks().iter().filter(|b| b.ssrc == leg.out.ssrc()) {
            let rtt = rtcp::round_trip_time(block, ntp);
            tracing::debug!(
                call,
                leg = ?from,
                fraction_lost = block.fraction_lost,
                jitter = block.jitter,
                ?rtt,
                "RTCP report from leg"
            );
        }
    }
}
