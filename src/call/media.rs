//! A call's anchored media (issue 3): the ports the switch uses on each leg,
//! each leg's SDP session state, and the relay plan handed to the media
//! workers. Pure data; the engine fills it, `media` (the I/O edge) runs it.

use crate::sdp::{Negotiated, SessionState};
use std::net::SocketAddr;

/// One leg of a relayed session as the media worker needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayLeg {
    /// Our RTP socket for this leg (RTCP is the next port).
    pub local: SocketAddr,
    /// Where the leg's SDP says to send RTP (latching may correct it).
    pub remote: Option<SocketAddr>,
    /// Payload type numbers to use when sending on this leg, keyed by the
    /// number the packet arrived with on the other leg (RFC 3264 §6.1:
    /// each side receives with the numbers of its own SDP).
    pub pt_map: Vec<(u8, u8)>,
    /// RTP clock rate of the codec (timestamp units per second).
    pub clock_rate: u32,
    /// The codec, for what the switch itself sends on this leg (music).
    pub codec: crate::sdp::CodecKind,
}

/// Which leg of a relayed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaLeg {
    /// The caller's.
    A,
    /// The callee's.
    B,
}

/// What the media workers are told (ids and addresses only, DESIGN.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaCommand {
    /// Bind the call's ports now (when the call is routed), so that no
    /// packet sent right after the answer meets a closed port.
    Prepare {
        /// The engine's call number.
        call: u64,
        /// Our socket towards the caller.
        a_local: SocketAddr,
        /// Our socket towards the callee.
        b_local: SocketAddr,
    },
    /// Start relaying between two legs (same codec: the fast path).
    Relay {
        /// The engine's call number.
        call: u64,
        /// The caller's leg.
        a: RelayLeg,
        /// The callee's leg.
        b: RelayLeg,
    },
    /// A leg re-negotiated (re-INVITE/UPDATE): its new RTP address, and
    /// whether it now holds the other leg (it sent `sendonly`/`inactive`):
    /// the held leg then hears music on hold instead of this leg's audio.
    Update {
        /// The engine's call number.
        call: u64,
        /// The leg that sent the offer.
        leg: MediaLeg,
        /// Its RTP address from the new offer.
        remote: Option<SocketAddr>,
        /// True while it holds the other leg.
        holding: bool,
    },
    /// Stop the call's media and free its sockets.
    Close {
        /// The engine's call number.
        call: u64,
    },
}

/// The media state a call keeps while anchored.
#[derive(Clone, Debug)]
pub struct CallMedia {
    /// Our RTP port towards the caller.
    pub port_a: u16,
    /// Our RTP port towards the callee(s).
    pub port_b: u16,
    /// Our socket address towards the caller.
    pub local_a: SocketAddr,
    /// Our socket address towards the callee.
    pub local_b: SocketAddr,
    /// SDP session with the caller.
    pub sdp_a: SessionState,
    /// SDP session with the callee.
    pub sdp_b: SessionState,
    /// The answer prepared for the caller, sent when the callee answers.
    pub answer_a: Option<bytes::Bytes>,
    /// What the caller's leg negotiated.
    pub neg_a: Option<Negotiated>,
}

impl CallMedia {
    /// The relay plan once both legs have negotiated the same codec.
    pub fn relay_plan(&self, call: u64, neg_b: &Negotiated) -> Option<MediaCommand> {
        let a = self.neg_a.as_ref()?;
        if a.codec != neg_b.codec {
            return None;
        }
        // Packets from the caller carry a.recv_pt; the callee expects neg_b.send_pt.
        let mut to_b = vec![(a.recv_pt, neg_b.send_pt)];
        let mut to_a = vec![(neg_b.recv_pt, a.send_pt)];
        if let (Some(ea), Some(eb)) = (&a.telephone_event, &neg_b.telephone_event) {
            to_b.push((ea.recv_pt, eb.send_pt));
            to_a.push((eb.recv_pt, ea.send_pt));
        }
        let clock_rate = a.codec.clock_rate();
        let codec = a.codec.kind()?;
        Some(MediaCommand::Relay {
            call,
            a: RelayLeg {
                local: self.local_a,
                remote: a.remote_rtp,
                pt_map: to_a,
                clock_rate,
                codec,
            },
            b: RelayLeg {
                local: self.local_b,
                remote: neg_b.remote_rtp,
                pt_map: to_b,
                clock_rate,
                codec,
            },
        })
    }
}
