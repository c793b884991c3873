//! The call core (DESIGN.md "call"): one B2BUA call (RFC 3261 §6 "back-to-
//! back user agent", RFC 7092) as a sans-IO state machine. A call owns its
//! legs — the caller's ([`ALeg`], our UAS side) and every leg the switch
//! places for it ([`BLeg`]: callee forks in parallel, an agent's phone, a
//! supervisor's listen-only phone), each its own dialog with its own
//! Call-ID — and its anchored media ([`media::CallMedia`]).
//!
//! Driving it: the engine finds the call a message or timer belongs to
//! (by transaction, dialog or timer key) and calls [`Call::handle`] with a
//! [`CallInput`] and a [`CallCtx`] (the time and the services it lends);
//! commands (`ring`, `connect`, `control`, `start_monitor`, `end`...) are
//! methods taking the same context. Outputs go to the context's queue
//! ([`CallOutput`]): media commands, records and [`CallEvent`]s the engine
//! routes (to the ACD for queue calls). The call never reads a clock and
//! never touches a socket, so every rule here is tested in virtual time
//! (`tests/call/`).
//!
//! What lives where:
//! - `outbound`: placing legs (INVITE, digest retry towards trunks), their
//!   responses (18x relayed, first 2xx wins and the other forks are
//!   cancelled, §16.7-style best failure), the caller's CANCEL (§9), the
//!   route's no-answer timeout.
//! - `in_dialog`: BYE, re-INVITE/UPDATE/INFO relay (§12.2, §14, §15), the
//!   end-to-end ACK (§13.2.2.4) and the 2xx retransmission (§13.3.1.4).
//! - [`anchor`]: SDP offer/answer when the switch anchors the media
//!   (RFC 3264), early media, delayed offer, in-dialog offers and hold.
//! - [`control`]: hold and recording from the control API (CALL-HOLD-1,
//!   CALL-REC-1).
//! - `party`: party legs the switch adds to a connected call (own port,
//!   own offer): supervisors and consulted parties.
//! - `monitor`: the supervisor's listen-only leg (SUP-2, SUP-4).
//! - [`consult`]: consult, toggle, merge, conference, post-call
//!   (CALL-HOLD-2, CALL-CONSULT-1..4, CALL-CONF-1..4) as media modes per leg.
//! - [`dial`]: dial numbers typed by agents (CALL-DIAL-1).
//! - [`room`]: a meet-me room caller's call, answered by the switch, its
//!   media on the room's bridge, its PIN (issue 9).
//! - [`failover`]: a trunk list tried in order (issue 10 item 5).
//! - [`session_timer`]: RFC 4028 session timers per leg (issue 10 item 4).
//! - `end`: ending a call, its CDR, and when it can be forgotten.

mod adopt;
pub mod anchor;
pub mod callback;
pub mod consult;
pub mod control;
mod ctx;
pub mod dial;
mod end;
pub mod failover;
mod in_dialog;
mod leg;
pub mod media;
mod monitor;
mod outbound;
mod party;
mod prack;
pub mod refer;
pub mod room;
pub mod session_timer;
mod transfer;

pub(crate) use adopt::hang_up_moved;
pub use adopt::MovedLeg;
pub use anchor::{AnchorRefusal, MediaFeatures};
pub use callback::{CustomerDial, DialState};
pub use consult::{Consult, Talk, MAX_PARTIES};
pub use control::{CallControl, ControlError, Party};
pub use ctx::{contact_for, new_via, CallCtx, CallEvent, CallLinks, CallOutput, CallTimer, TxOwner};
pub use failover::Failover;
pub use leg::{ALeg, BLeg, BState, LegRole, PartyKind, PartyLeg, PartyState, Side};
pub use monitor::{MonitorRequest, SupervisorMode};
pub use outbound::{ask_auto_answer, RingOptions, RingTarget};
pub use party::PartyTarget;
pub use room::{PinOutcome, Seat};
pub use session_timer::{Refresher, SessionTimerError, SessionTimers};

use crate::ids::CallRef;
use crate::sip::msg::{Message, StatusCode};
use crate::sip::transaction::{Destination, TxId};
use bytes::Bytes;

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

/// Something that happened to a call, from the SIP side or its timers.
#[derive(Clone, Debug)]
pub enum CallInput {
    /// A response to one of the call's client transactions.
    Response {
        /// The transaction.
        tx: TxId,
        /// The response.
        resp: Message,
    },
    /// One of the call's client transactions timed out or could not be
    /// sent (taken as a 408 or 503, §8.1.3.1).
    TxFailed {
        /// The transaction.
        tx: TxId,
        /// 408 or 503.
        code: StatusCode,
    },
    /// One of the call's INVITE client transactions is gone (Timer M): no
    /// 2xx retransmission can come any more.
    TxTerminated {
        /// The transaction.
        tx: TxId,
    },
    /// A request inside one of the call's dialogs.
    Request {
        /// Its server transaction.
        tx: TxId,
        /// The dialog's side.
        side: Side,
        /// The request.
        req: Message,
    },
    /// An ACK inside one of the call's dialogs (for a 2xx).
    Ack {
        /// The dialog's side.
        side: Side,
        /// The ACK.
        ack: Message,
    },
    /// The caller CANCELled its INVITE (§9.2; the CANCEL itself is
    /// already answered).
    Cancel,
    /// A call timer fired.
    Timer(CallTimer),
    /// The media workers could not bind the call's ports.
    MediaFailed,
}

/// One B2BUA call.
#[derive(Clone, Debug)]
pub struct Call {
    /// Engine handle.
    pub id: CallRef,
    /// Caller leg.
    pub a: ALeg,
    /// The legs the switch placed, in order (never reused within the call).
    pub b: Vec<BLeg>,
    /// The callee leg that answered the caller.
    pub winner: Option<usize>,
    /// Phase.
    pub phase: Phase,
    /// Who called (authenticated user or `trunk:<name>`).
    pub caller: String,
    /// What was dialled.
    pub callee: String,
    /// The route taken, e.g. `user:1001`, `trunk:carrier` or `queue:support`.
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
    /// The best failure seen across callee legs (sent to the caller when all fail).
    pub best_failure: Option<Box<Message>>,
    /// Anchored media, when the switch relays this call's RTP.
    pub media: Option<Box<media::CallMedia>>,
    /// The call waits in an ACD queue: a placed leg's answer or failure is
    /// the ACD's to judge ([`CallEvent::OfferAnswered`], [`CallEvent::OfferFailed`]),
    /// and the caller hears the queue, not the phones' 18x.
    pub acd: bool,
    /// A placed leg's 2xx waiting for the ACD's decision (`connect`/`refuse`).
    pub pending_answer: Option<Box<(usize, Message)>>,
    /// How the legs talk: direct, conference, post-call.
    pub talk: Talk,
    /// A running consult, if any.
    pub consult: Option<Consult>,
    /// When the customer left a consult or conference (unix ms; CALL-CONF-4).
    pub customer_left_ms: Option<u64>,
    /// The caller's place in a meet-me room (`room`), when the call is one.
    pub seat: Option<Box<Seat>>,
    /// A REFER waiting for the engine's decision (RFC 3515).
    pub pending_refer: Option<Box<refer::PendingRefer>>,
    /// A blind transfer by REFER under way (RFC 3515).
    pub refer: Option<refer::Referral>,
    /// Reliable provisional responses to the caller (RFC 3262).
    pub rel1xx: Option<Box<prack::Reliable1xx>>,
    /// The trunks still to try when the call goes out by a trunk list
    /// ([`failover`]).
    pub failover: Option<Box<Failover>>,
    /// Each leg's RFC 4028 session timer, once answered ([`session_timer`]).
    pub session_timers: Option<Box<SessionTimers>>,
    /// What the monitoring supervisor does (SUP-2), while one monitors.
    pub monitor_mode: SupervisorMode,
    /// A callback call's customer side ([`callback`]): the switch places
    /// the A leg instead of receiving it.
    pub callback: Option<Box<CustomerDial>>,
}

impl Call {
    /// A call for the caller's INVITE `invite`, received on server
    /// transaction `tx` from `src`; `tag` is our To tag towards the caller.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: CallRef,
        invite: Message,
        call_id: Bytes,
        tx: TxId,
        src: Destination,
        tag: Bytes,
        caller: String,
        callee: String,
        started_ms: u64,
    ) -> Call {
        let a = ALeg {
            invite: Some(Box::new(invite)),
            call_id,
            tx,
            src,
            tag,
            dialog: None,
            pending_2xx: None,
        };
        Call::with_a_leg(id, a, caller, callee, started_ms)
    }

    /// A call with caller leg `a` and nothing else yet.
    pub(crate) fn with_a_leg(id: CallRef, a: ALeg, caller: String, callee: String, started_ms: u64) -> Call {
        Call {
            id,
            a,
            b: Vec::new(),
            winner: None,
            phase: Phase::Routing,
            caller,
            callee,
            route: String::new(),
            started_ms,
            answered_ms: None,
            end_cause: None,
            final_code: None,
            pending_ack: None,
            relays: Vec::new(),
            best_failure: None,
            media: None,
            acd: false,
            pending_answer: None,
            talk: Talk::Direct,
            consult: None,
            customer_left_ms: None,
            seat: None,
            pending_refer: None,
            refer: None,
            rel1xx: None,
            failover: None,
            session_timers: None,
            monitor_mode: SupervisorMode::Listen,
            callback: None,
        }
    }

    /// Handles one SIP input or timer.
    pub fn handle(&mut self, ctx: &mut CallCtx, input: CallInput) {
        match input {
            CallInput::Response { tx, resp } => self.on_response(ctx, tx, resp),
            CallInput::TxFailed { tx, code } => self.on_tx_failed(ctx, tx, code),
            CallInput::TxTerminated { tx } => self.on_tx_terminated(tx),
            CallInput::Request { tx, side, req } => self.on_in_dialog_request(ctx, tx, side, req),
            CallInput::Ack { side, ack } => self.on_ack(ctx, side, ack),
            CallInput::Cancel => self.on_cancel(ctx),
            CallInput::Timer(t) => self.on_timer(ctx, t),
            CallInput::MediaFailed => self.media_failed(ctx),
        }
    }

    fn on_timer(&mut self, ctx: &mut CallCtx, t: CallTimer) {
        match t {
            CallTimer::NoAnswer => {
                if self.phase != Phase::Routing {
                    return;
                }
                if self.callback.is_some() {
                    self.customer_no_answer(ctx);
                    return;
                }
                let Some(resp) = self.a_final(StatusCode::TEMPORARILY_UNAVAILABLE, Some("No Answer")) else {
                    return;
                };
                self.final_to_a(ctx, resp, StatusCode::TEMPORARILY_UNAVAILABLE, "no_answer");
            }
            CallTimer::Retransmit2xx => self.retransmit_2xx(ctx),
            CallTimer::Reap => ctx.event(self.id, CallEvent::Reap),
            CallTimer::PauseEnd => self.on_pause_end(ctx),
            CallTimer::PinEntry => self.on_pin_timeout(ctx),
            CallTimer::Retransmit1xx => self.retransmit_1xx(ctx),
            CallTimer::TrunkSilent(leg) => self.on_trunk_silent(ctx, leg),
            CallTimer::SessionRefresh(_) | CallTimer::SessionExpiry(_) => self.on_session_timer(ctx, t),
        }
    }

    /// A response from us to the caller's INVITE, with our To tag; `None`
    /// once the INVITE is gone (the caller already has its final response).
    pub fn a_final(&self, code: StatusCode, reason: Option<&str>) -> Option<Message> {
        let tag = String::from_utf8_lossy(&self.a.tag).into_owned();
        self.a
            .invite
            .as_deref()
            .map(|inv| Message::response_to(inv, code, reason, Some(&tag)))
    }

    /// True when every callee leg has a final state.
    pub fn all_b_final(&self) -> bool {
        self.b
            .iter()
            .filter(|l| l.is_callee())
            .all(|l| matches!(l.state, BState::Failed(_) | BState::Answered))
    }

    /// The dialog on `side`, if up.
    pub fn dialog_of(&self, side: Side) -> Option<&crate::sip::dialog::Dialog> {
        match side {
            Side::A => self.a.dialog.as_ref(),
            Side::B(i) => self.b.get(i).and_then(|l| l.dialog.as_ref()),
        }
    }

    /// The leg whose dialog is on `side`.
    pub fn dialog_mut(&mut self, side: Side) -> Option<&mut crate::sip::dialog::Dialog> {
        match side {
            Side::A => self.a.dialog.as_mut(),
            Side::B(i) => self.b.get_mut(i).and_then(|l| l.dialog.as_mut()),
        }
    }

    /// Where `side`'s signalling goes.
    pub fn side_dest(&self, side: Side) -> Option<Destination> {
        match side {
            Side::A => Some(self.a.src),
            Side::B(i) => self.b.get(i).map(|l| l.dest),
        }
    }

    /// The side connected to `side` (the caller and the winning callee).
    pub fn other_side(&self, side: Side) -> Option<Side> {
        match side {
            Side::A => self.winner.map(Side::B),
            Side::B(i) if self.winner == Some(i) => Some(Side::A),
            Side::B(_) => None,
        }
    }

    /// The answering (or first) callee leg's Call-ID.
    pub fn b_call_id(&self) -> Option<String> {
        self.winner
            .and_then(|w| self.b.get(w))
            .or_else(|| self.b.iter().find(|l| l.is_callee()))
            .map(|l| String::from_utf8_lossy(&l.call_id).into_owned())
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
