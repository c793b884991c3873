//! A call's legs (RFC 7092 §3: a B2BUA is a UAS on one side and a UAC on
//! the others). The caller's leg ([`ALeg`]) is the switch's UAS side; every
//! leg the switch places ([`BLeg`]: a callee fork, an agent's phone, a
//! supervisor's phone, next a consulted party) is a UAC side with its own
//! dialog, Call-ID and INVITE client transaction. What a placed leg is for
//! is its [`LegRole`]: the role decides what its answer means (connect the
//! caller, or only feed a monitor), never the leg's position.

use crate::sdp::SessionState;
use crate::sip::dialog::Dialog;
use crate::sip::msg::{Message, StatusCode};
use crate::sip::transaction::{Destination, TxId};
use bytes::Bytes;
use std::net::SocketAddr;

/// Which side of a call a dialog or request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The caller's leg.
    A,
    /// A placed leg, by index into [`super::Call::b`].
    B(usize),
}

/// The caller's leg.
#[derive(Clone, Debug)]
pub struct ALeg {
    /// The initial INVITE as received; dropped once the caller has its
    /// final response (a call lives for minutes: it keeps only what later
    /// requests need).
    pub invite: Option<Box<Message>>,
    /// The A leg's Call-ID (own buffer).
    pub call_id: Bytes,
    /// Its server transaction.
    pub tx: TxId,
    /// Where it came from (and where responses go).
    pub src: Destination,
    /// Our To tag towards the caller.
    pub tag: Bytes,
    /// The dialog, once we sent a 1xx/2xx with our tag.
    pub dialog: Option<Dialog>,
    /// The 2xx we sent, retransmitted until the ACK arrives (§13.3.1.4):
    /// the response, the current interval and when it was first sent.
    pub pending_2xx: Option<Box<(Message, std::time::Duration, std::time::Instant)>>,
}

/// State of one placed leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BState {
    /// INVITE sent, nothing or only 100 heard.
    Calling,
    /// A provisional response with a tag arrived.
    Early,
    /// It answered (2xx).
    Answered,
    /// It ended with a final non-2xx (or a timeout).
    Failed(StatusCode),
}

/// What a placed leg is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LegRole {
    /// A callee fork (a user's contact, a trunk, an agent's phone): its 2xx
    /// answers the caller.
    Callee,
    /// A supervisor's listen-only phone (SUP-2): its 2xx only starts the
    /// monitor's media, never answers the caller.
    Monitor(Box<MonitorLeg>),
}

/// Where a monitor leg is (SUP-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorState {
    /// INVITE sent to the supervisor's phone, no final response yet.
    Calling,
    /// The call ended while the phone rang: CANCEL sent, a late 2xx is
    /// ACKed and hung up (RFC 3261 §9.1, §13.2.2.4).
    Cancelled,
    /// The phone answered: it hears the call.
    Answered,
    /// The monitor is over (BYE sent or received, or the phone refused).
    Ended,
}

/// The supervisor's side of a monitor leg (SUP-2): who listens, and the
/// leg's own media port (the switch offers `sendonly` from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorLeg {
    /// The supervisor's login.
    pub supervisor: String,
    /// The extension rung.
    pub extension: String,
    /// The monitored interaction's uid (its leg CDR names it, HIST-3).
    pub interaction: String,
    /// Where the monitor is.
    pub state: MonitorState,
    /// Our RTP port towards the phone (from the call pool).
    pub port: u16,
    /// Our RTP socket address towards the phone.
    pub local: SocketAddr,
    /// SDP session with the phone (our `sendonly` offer).
    pub sdp: SessionState,
}

/// One placed leg.
#[derive(Clone, Debug)]
pub struct BLeg {
    /// What the leg is for.
    pub role: LegRole,
    /// The INVITE we sent (latest, after any auth retry); dropped once the
    /// leg has answered or failed.
    pub invite: Option<Box<Message>>,
    /// Its Call-ID (own buffer).
    pub call_id: Bytes,
    /// Its CSeq number (the ACK for its 2xx reuses it, §13.2.2.4).
    pub cseq: u32,
    /// Its client transaction.
    pub tx: TxId,
    /// Where it goes.
    pub dest: Destination,
    /// State.
    pub state: BState,
    /// The dialog, once a tagged response arrived.
    pub dialog: Option<Dialog>,
    /// Digest retries made (a trunk's 401/407).
    pub auth_tries: u8,
    /// The ACK we sent for its 2xx, serialised (re-sent on 2xx retransmissions).
    pub ack: Option<Bytes>,
    /// Trunk name when the leg goes to a trunk (outbound digest).
    pub trunk: Option<String>,
    /// When the INVITE went out (unix ms).
    pub started_ms: u64,
    /// When it answered (unix ms).
    pub answered_ms: Option<u64>,
}

impl BLeg {
    /// True for a callee fork (not a monitor).
    pub fn is_callee(&self) -> bool {
        matches!(self.role, LegRole::Callee)
    }

    /// The monitor side of a monitor leg.
    pub fn monitor(&self) -> Option<&MonitorLeg> {
        match &self.role {
            LegRole::Monitor(m) => Some(m),
            LegRole::Callee => None,
        }
    }

    /// The monitor side of a monitor leg, mutably.
    pub fn monitor_mut(&mut self) -> Option<&mut MonitorLeg> {
        match &mut self.role {
            LegRole::Monitor(m) => Some(m),
            LegRole::Callee => None,
        }
    }

    /// True while the INVITE has no final response.
    pub fn is_ringing(&self) -> bool {
        matches!(self.state, BState::Calling | BState::Early)
    }
}
