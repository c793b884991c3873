//! The silent-monitor leg of a call (spec SUP-2, SUP-3, SUP-4): a third
//! dialog the switch opens towards a supervisor's phone while a queue call
//! is connected. It is neither the caller's leg nor a callee leg: the
//! callee has already answered, and the monitor's answer must never be
//! taken for one (no relay plan, no ACD event, no CDR change). So it is a
//! small struct of its own on [`super::Call::monitor`], with its own
//! dialog and its own RTP port; the engine drives it (engine/monitor.rs).
//!
//! Media: the switch offers `sendonly` from the monitor's port; the phone
//! hears the mix of both parties and is never heard.

use crate::sdp::SessionState;
use crate::sip::dialog::Dialog;
use crate::sip::msg::Message;
use crate::sip::transaction::{Destination, TxId};
use bytes::Bytes;
use std::net::SocketAddr;

/// Where a monitor leg is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorState {
    /// INVITE sent to the supervisor's phone, no final response yet.
    Calling,
    /// The call ended while the phone rang: CANCEL sent, a late 2xx is
    /// ACKed and hung up (RFC 3261 §9.1, §13.2.2.4).
    Cancelled,
    /// The phone answered: it hears the call (SUP-2).
    Answered,
}

/// The supervisor's listen-only leg (SUP-2).
#[derive(Clone, Debug)]
pub struct MonitorLeg {
    /// The supervisor's login.
    pub supervisor: String,
    /// The extension rung.
    pub extension: String,
    /// The INVITE we sent, kept until its final response (to build the dialog).
    pub invite: Option<Box<Message>>,
    /// Its CSeq number (the ACK reuses it, §13.2.2.4).
    pub cseq: u32,
    /// The INVITE client transaction.
    pub tx: TxId,
    /// Where the phone is.
    pub dest: Destination,
    /// State.
    pub state: MonitorState,
    /// The dialog, once answered.
    pub dialog: Option<Dialog>,
    /// The ACK we sent for its 2xx (re-sent on 2xx retransmissions).
    pub ack: Option<Bytes>,
    /// Our RTP port towards the phone (from the call pool).
    pub port: u16,
    /// Our RTP socket address towards the phone.
    pub local: SocketAddr,
    /// SDP session with the phone (our `sendonly` offer).
    pub sdp: SessionState,
    /// The monitored interaction's uid (its leg CDR names it, HIST-3).
    pub interaction: String,
    /// When the INVITE went out (unix ms).
    pub started_ms: u64,
    /// When the phone answered (unix ms).
    pub answered_ms: Option<u64>,
}
