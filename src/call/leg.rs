//! A call's legs (RFC 7092 §3: a B2BUA is a UAS on one side and a UAC on
//! the others). The caller's leg ([`ALeg`]) is the switch's UAS side; every
//! leg the switch places ([`BLeg`]: a callee fork, an agent's phone, a
//! supervisor's phone, a consulted party) is a UAC side with its own
//! dialog, Call-ID and INVITE client transaction. What a placed leg is for
//! is its [`LegRole`]: the role decides what its answer means (connect the
//! caller, or join a party to the call's media), never the leg's position.

use crate::sdp::SessionState;
use crate::sip::dialog::Dialog;
use crate::sip::msg::{Message, StatusCode};
use crate::sip::transaction::{Destination, TxId};
use bytes::Bytes;
use std::net::SocketAddr;

/// Which side of a call a dialog or request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl ALeg {
    /// The customer leg of a callback call before the switch dials it
    /// (`call/callback.rs`): no INVITE, no transaction, no dialog yet;
    /// `dest` is where it will be sent.
    pub fn to_place(dest: Destination) -> ALeg {
        ALeg {
            invite: None,
            call_id: Bytes::new(),
            tx: TxId::UNUSED,
            src: dest,
            tag: Bytes::new(),
            dialog: None,
            pending_2xx: None,
        }
    }
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
    /// A party the switch adds to a connected call (a supervisor's phone,
    /// a consulted or conferenced party): its 2xx joins it to the call's
    /// media, never answers the caller.
    Party(Box<PartyLeg>),
}

/// Where a party leg is (SUP-2, CALL-CONSULT-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartyState {
    /// INVITE sent to the party's phone, no final response yet.
    Calling,
    /// The call ended or the party was withdrawn while the phone rang:
    /// CANCEL sent, a late 2xx is ACKed and hung up (RFC 3261 §9.1, §13.2.2.4).
    Cancelled,
    /// The phone answered: the party is in the call.
    Answered,
    /// The party is gone (BYE sent or received, or the phone refused).
    Ended,
}

/// Who a party leg is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartyKind {
    /// A supervisor's phone (SUP-2): listens, never heard.
    Supervisor {
        /// The supervisor's login.
        supervisor: String,
    },
    /// A consulted party (CALL-CONSULT-1): an agent, or a number dialled
    /// through the dial plan; joins a conference on merge (CALL-CONF-1).
    Consulted {
        /// The agent's login, when the party is an agent (CALL-CONF-5:
        /// other parties have no controls).
        agent: Option<String>,
    },
}

/// A party leg: who it is for, and the leg's own media port (the switch
/// offers its own SDP from it: `sendonly` to a supervisor, `sendrecv` to a
/// consulted party).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyLeg {
    /// Who it is for.
    pub kind: PartyKind,
    /// The extension or number rung (logs, CDR).
    pub extension: String,
    /// The interaction's uid, when the call is one (its leg CDR names it, HIST-3).
    pub interaction: String,
    /// Where the party is.
    pub state: PartyState,
    /// Our RTP port towards the phone (from the call pool).
    pub port: u16,
    /// Our RTP socket address towards the phone.
    pub local: SocketAddr,
    /// SDP session with the phone (our offer).
    pub sdp: SessionState,
    /// When it answered (unix ms).
    pub joined_ms: Option<u64>,
    /// Moved in from another call (attended transfer): its dialog was
    /// already up, its answer is to our re-INVITE.
    pub adopted: bool,
}

impl PartyLeg {
    /// True for a supervisor's listen-only leg.
    pub fn is_supervisor(&self) -> bool {
        matches!(self.kind, PartyKind::Supervisor { .. })
    }

    /// True while it still holds something the call must wait for before it
    /// can be forgotten (a CANCELled INVITE's final response, a live dialog).
    pub fn pending(&self) -> bool {
        self.state != PartyState::Ended
    }
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
    /// The RSeq of the last reliable provisional response it sent and we
    /// PRACKed (RFC 3262 §4).
    pub rseq: Option<u32>,
}

impl BLeg {
    /// True for a callee fork (not a party leg).
    pub fn is_callee(&self) -> bool {
        matches!(self.role, LegRole::Callee)
    }

    /// The party side of a party leg.
    pub fn party(&self) -> Option<&PartyLeg> {
        match &self.role {
            LegRole::Party(p) => Some(p),
            LegRole::Callee => None,
        }
    }

    /// The party side of a party leg, mutably.
    pub fn party_mut(&mut self) -> Option<&mut PartyLeg> {
        match &mut self.role {
            LegRole::Party(p) => Some(p),
            LegRole::Callee => None,
        }
    }

    /// True while the INVITE has no final response.
    pub fn is_ringing(&self) -> bool {
        matches!(self.state, BState::Calling | BState::Early)
    }
}
