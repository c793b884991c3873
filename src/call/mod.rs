//! The B2BUA call (RFC 3261 §6 "back-to-back user agent", RFC 7092): one
//! A leg (the caller, our UAS side) and the B legs we created for it (our
//! UAC side; several while a user's contacts are forked in parallel).
//! Each leg is its own dialog with its own Call-ID. This module holds the
//! call's data; the engine drives it.

pub mod media;
pub mod monitor;

use crate::ids::CallRef;
use crate::sip::dialog::Dialog;
use crate::sip::msg::{Message, StatusCode};
use crate::sip::transaction::{Destination, TxId};
use bytes::Bytes;

/// Which side of a call a dialog or request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The caller's leg.
    A,
    /// A callee leg, by index into [`Call::b`].
    B(usize),
}

/// Where a call is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// B legs are being tried; the caller has no final response yet.
    Routing,
    /// A B leg answered; both sides are connected.
    Answered,
    /// The call is over; late responses are still cleaned up.
    Ended,
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
    /// The 2xx we sent, retransmitted until the ACK arrives (§13.3.1.4).
    pub pending_2xx: Option<Box<(Message, std::time::Duration, std::time::Instant)>>,
}

/// State of one B leg.
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

/// One callee leg.
#[derive(Clone, Debug)]
pub struct BLeg {
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
}

/// An in-dialog request we relayed and whose answer we wait for.
#[derive(Clone, Debug)]
pub struct Relay {
    /// The server transaction on the side that sent it.
    pub server: TxId,
    /// That side.
    pub from: Side,
    /// The request as received (to build the mapped response).
    pub request: Message,
}

/// One B2BUA call.
#[derive(Clone, Debug)]
pub struct Call {
    /// Engine handle.
    pub id: CallRef,
    /// Caller leg.
    pub a: ALeg,
    /// Callee legs.
    pub b: Vec<BLeg>,
    /// The B leg that answered.
    pub winner: Option<usize>,
    /// Phase.
    pub phase: Phase,
    /// Who called (authenticated user or trunk name).
    pub caller: String,
    /// What was dialled.
    pub callee: String,
    /// The route taken, e.g. `user:1001` or `trunk:carrier`.
    pub route: String,
    /// Unix ms of the INVITE.
    pub started_ms: u64,
    /// Unix ms of the answer.
    pub answered_ms: Option<u64>,
    /// Why it ended.
    pub end_cause: Option<String>,
    /// Final SIP code given to the caller.
    pub final_code: Option<u16>,
    /// A 2xx ACK still owed to the other side: (side to ACK, 2xx received).
    pub pending_ack: Option<Box<(Side, Message)>>,
    /// In-dialog relays in flight, keyed by our client transaction.
    pub relays: Vec<(TxId, Relay)>,
    /// The best failure seen across B legs (sent to the caller when all fail).
    pub best_failure: Option<Box<Message>>,
    /// Anchored media, when the switch relays this call's RTP.
    pub media: Option<Box<media::CallMedia>>,
    /// A supervisor's silent monitor of the call (SUP-2), if any.
    pub monitor: Option<Box<monitor::MonitorLeg>>,
}

impl Call {
    /// A response from us to the caller's INVITE, with our To tag; `None`
    /// once the INVITE is gone (the caller already has its final response).
    pub fn a_final(&self, code: StatusCode, reason: Option<&str>) -> Option<Message> {
        let tag = String::from_utf8_lossy(&self.a.tag).into_owned();
        self.a
            .invite
            .as_deref()
            .map(|inv| Message::response_to(inv, code, reason, Some(&tag)))
    }

    /// True when every B leg has a final state other than answered-and-kept.
    pub fn all_b_final(&self) -> bool {
        self.b
            .iter()
            .all(|l| matches!(l.state, BState::Failed(_)) || l.state == BState::Answered)
    }
}

/// Ranks failures to pick the one a caller sees when every fork failed
/// (after §16.7 step 6): 6xx first, then 4xx, then 5xx, then 3xx. Within
/// 4xx a busy phone (486) says most about the user, so it leads; a contact
/// that no longer exists (404, 410) or timed out (408, 480) says least and
/// comes last; otherwise the lowest code. 503 ranks last among 5xx.
pub fn failure_rank(code: StatusCode) -> (u8, u8, u16) {
    let c = code.as_u16();
    let class = match c / 100 {
        6 => 0,
        4 => 1,
        5 => 2,
        _ => 3,
    };
    let within = match c {
        486 => 0,
        404 | 410 | 408 | 480 | 503 => 2,
        _ => 1,
    };
    (class, within, c)
}
