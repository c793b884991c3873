//! Symmetric RTP latching (RFC 4961 symmetric RTP; the NAT practice of
//! RFC 7362 §4) with a rule that stops media hijack.
//!
//! A phone behind NAT signals a private address in its SDP, but its RTP
//! arrives from the NAT's public address and port, and it expects our RTP
//! back there. So the switch *latches*: it adopts the source of received RTP
//! as the leg's destination. Latching to anyone who sends first would let
//! an attacker who guesses the port steal the call's audio, so the rule is:
//!
//! 1. A packet from exactly the signalled address is always accepted, and
//!    (re)latches to it.
//! 2. Within [`LATCH_WINDOW`] of the address being signalled (call setup or
//!    a re-INVITE/UPDATE), the first packet whose source has the **signalled
//!    IP** (any port: a NAT that keeps the IP but remaps the port) latches.
//! 3. Within the same window, if the signalled address is **not publicly
//!    routable** (RFC 1918, RFC 6598 shared, RFC 4193 unique-local, link
//!    local, or unspecified), the first packet from any source latches: the
//!    signalled address cannot be where the phone really is.
//! 4. Once latched, only the latched address is accepted until the address
//!    is signalled again. Outside the window an unlatched leg accepts only
//!    the signalled address.
//!
//! Everything else is dropped and counted. Time comes in as arguments.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long after signalling a new address a different source may latch.
pub const LATCH_WINDOW: Duration = Duration::from_secs(2);

/// What to do with a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accept it (it comes from the leg's peer).
    Accept,
    /// Drop it: not from the peer (a stray or a hijack attempt).
    Drop,
}

/// The latching state of one leg's RTP (or RTCP) socket.
#[derive(Clone, Debug)]
pub struct Latch {
    signalled: Option<SocketAddr>,
    signalled_at: Instant,
    latched: Option<SocketAddr>,
    dropped: u64,
}

impl Latch {
    /// A latch for a leg whose SDP named `signalled` (None: no address yet,
    /// e.g. an offer still to be answered), signalled at `now`.
    pub fn new(signalled: Option<SocketAddr>, now: Instant) -> Latch {
        Latch {
            signalled,
            signalled_at: now,
            latched: None,
            dropped: 0,
        }
    }

    /// The peer signalled a (new) address (re-INVITE, UPDATE): the latch is
    /// released and the window opens again.
    pub fn resignal(&mut self, signalled: Option<SocketAddr>, now: Instant) {
        self.signalled = signalled;
        self.signalled_at = now;
        self.latched = None;
    }

    /// Decides on a packet from `src` received at `now` (rules 1–4 above).
    pub fn on_packet(&mut self, src: SocketAddr, now: Instant) -> Verdict {
        if Some(src) == self.signalled {
            self.latched = Some(src);
            return Verdict::Accept;
        }
        if let Some(l) = self.latched {
            return self.verdict(src == l);
        }
        let in_window = now.saturating_duration_since(self.signalled_at) <= LATCH_WINDOW;
        let ok = in_window
            && match self.signalled {
                Some(sig) => sig.ip() == src.ip() || !is_publicly_routable(sig.ip()),
                None => true,
            };
        if ok {
            self.latched = Some(src);
        }
        self.verdict(ok)
    }

    fn verdict(&mut self, ok: bool) -> Verdict {
        if ok {
            Verdict::Accept
        } else {
            self.dropped += 1;
            Verdict::Drop
        }
    }

    /// Where our packets for this leg go: the latched source, else the
    /// signalled address.
    pub fn target(&self) -> Option<SocketAddr> {
        self.latched.or(self.signalled)
    }

    /// The latched address, if any.
    pub fn latched(&self) -> Option<SocketAddr> {
        self.latched
    }

    /// Packets dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// False for addresses a phone behind NAT may signal but cannot be reached
/// at from outside: private (RFC 1918), shared (RFC 6598), link-local,
/// unique-local (RFC 4193), unspecified. Loopback counts as routable (the
/// switch and the peer are on one host).
pub fn is_publicly_routable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let shared = o[0] == 100 && (64..128).contains(&o[1]);
            !(v4.is_private() || v4.is_link_local() || v4.is_unspecified() || shared)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let unique_local = (s[0] & 0xfe00) == 0xfc00;
            let link_local = (s[0] & 0xffc0) == 0xfe80;
            !(unique_local || link_local || v6.is_unspecified())
        }
    }
}
