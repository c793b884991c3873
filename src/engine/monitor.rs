//! Silent monitor (issue 4 item 5; spec SUP-2, SUP-3, SUP-4): a supervisor
//! asks from the desktop API to listen to a connected queue call; the
//! switch calls the supervisor's phone and lets it hear both parties.
//!
//! - **Which phone.** Supervisors have no phone of their own in `acd.toml`,
//!   so the request names the `extension` to ring: a user of
//!   `directory.toml` (400 without it, 404 for an unknown one, 409 when it
//!   is not registered). It is not forked: only its first binding (highest
//!   `q`) is rung, with the auto-answer headers an agent's desktop accept
//!   uses (the supervisor asked from the desktop).
//! - **Refusals.** Only a connected interaction can be monitored (SUP-3:
//!   none in wrap-up, 409; queued or ringing, 409), only one monitor at a
//!   time per call (409), never by the phone of the interaction's own agent
//!   nor by a supervisor who is that agent (SUP-3, 409), and only a call
//!   whose media the switch anchors (409 otherwise: nothing to mix).
//! - **Call model.** The monitor is not a B leg: a B leg's 2xx is the
//!   callee answering (`on_b_answer` connects the caller, `queue_leg_answered`
//!   feeds the ACD). It is a [`MonitorLeg`] on the call with its own
//!   dialog (`Engine::monitor_dialogs`), its own INVITE transaction role
//!   ([`TxRole::MonitorInvite`]) and its own RTP port; its 2xx is ACKed and
//!   only tells the media workers to feed it ([`MediaCommand::Monitor`]).
//! - **Silent** (SUP-2): the switch's offer is `sendonly`; the media
//!   workers send the phone the mix of caller and agent and drop whatever
//!   it sends. No desktop event is pushed, so the agent is not told.
//! - **End.** The supervisor's BYE ends only the monitor leg. The call
//!   ending (caller or agent hangs up, or a supervisor ends it) sends the
//!   monitor BYE, or CANCEL while its phone still rings (SUP-4: the
//!   monitored agent is the only agent in a queue call, so when it leaves
//!   the call ends and the supervisor is removed). An ongoing monitor thus
//!   never outlives the call into wrap-up; SUP-3 only stops a new one.
//! - The monitor leg answers in-dialog OPTIONS and INFO with 200 and
//!   refuses re-INVITE/UPDATE with 488 (its media is the switch's to set).

use super::desk::{DeskError, DeskReply, InteractionView};
use super::queue::QueuePhase;
use super::{Engine, Now, Output, TxRole};
use crate::acd::InteractionId;
use crate::call::media::{LegAudio, MediaCommand, RelayLeg};
use crate::call::monitor::{MonitorLeg, MonitorState};
use crate::call::Phase;
use crate::ids::CallRef;
use crate::sdp::{self, CodecKind, Direction, LegPolicy, SessionState};
use crate::sip::dialog::{Dialog, DialogKey, DialogState};
use crate::sip::msg::{HeaderName, Message, Method, StatusCode};
use crate::sip::transaction::TxId;
use bytes::Bytes;
use std::net::SocketAddr;

/// The codecs offered to a supervisor's phone: every audio codec the
/// switch encodes (the mix is the switch's own audio), no telephone-event.
fn monitor_policy() -> LegPolicy {
    LegPolicy {
        codecs: LegPolicy::default()
            .codecs
            .into_iter()
            .filter(|c| *c != CodecKind::TelephoneEvent)
            .collect(),
        ..LegPolicy::default()
    }
}

impl Engine {
    /// SUP-2: starts a silent monitor of interaction `uid` for `supervisor`
    /// by ringing `extension`; the dashboard's interactions on success.
    /// See the module docs for the refusals (SUP-3).
    pub(crate) fn start_monitor(
        &mut self,
        now: Now,
        supervisor: &str,
        uid: &str,
        extension: Option<&str>,
    ) -> Result<DeskReply, DeskError> {
        let interaction = self.interaction_by_uid(uid)?;
        let Some(qc) = self.queues.calls.get(&interaction) else {
            return Err(DeskError::NotFound {
                field: "interaction",
                message: format!("no interaction {uid}"),
            });
        };
        match qc.phase {
            QueuePhase::Connected => {}
            QueuePhase::WrapUp => {
                return Err(DeskError::Conflict(format!(
                    "interaction {uid} is in wrap-up: it cannot be monitored (SUP-3)"
                )))
            }
            QueuePhase::Queued | QueuePhase::Ringing => {
                return Err(DeskError::Conflict(format!(
                    "interaction {uid} is not connected to an agent yet: nothing to monitor"
                )))
            }
        }
        let (id, agent) = (qc.call, qc.agent);
        let ext = match extension.map(str::trim) {
            Some(e) if !e.is_empty() => e.to_owned(),
            _ => {
                return Err(DeskError::Invalid {
                    field: "extension".into(),
                    message: "name the extension of the phone to monitor from".into(),
                })
            }
        };
        if self.cfg.user(&ext).is_none() {
            return Err(DeskError::NotFound {
                field: "extension",
                message: format!("no user {ext} in the directory"),
            });
        }
        if let Some(a) = agent.and_then(|a| self.cfg.acd().agent(a)) {
            if a.extension == ext || a.login == supervisor {
                return Err(DeskError::Conflict(format!(
                    "interaction {uid} is assigned to {}: it cannot be monitored from its own phone (SUP-3)",
                    a.login
                )));
            }
        }
        let Some(call) = self.calls.get(&id) else {
            return Err(DeskError::Conflict(format!("interaction {uid} has no call any more")));
        };
        if call.phase != Phase::Answered {
            return Err(DeskError::Conflict(format!("the call of interaction {uid} is not up")));
        }
        if let Some(m) = &call.monitor {
            return Err(DeskError::Conflict(format!(
                "interaction {uid} is already monitored by {} on {}",
                m.supervisor, m.extension
            )));
        }
        if call
            .media
            .as_ref()
            .is_none_or(|m| m.neg_a.is_none() || m.neg_b.is_none())
        {
            return Err(DeskError::Conflict(format!(
                "the media of interaction {uid} does not flow through the switch: it cannot be monitored"
            )));
        }
        let Some(local) = self.user_profile_local() else {
            return Err(DeskError::Conflict(
                "no phone profile to call the supervisor from".into(),
            ));
        };
        let Some(binding) = self.registrar.lookup(now.unix_s(), &ext).into_iter().next() else {
            return Err(DeskError::Conflict(format!(
                "phone {ext} is not registered: it cannot be called"
            )));
        };
        let Some(port) = self.ports.as_mut().and_then(|p| p.allocate()) else {
            return Err(DeskError::Conflict("no media port free for the monitor".into()));
        };
        let dest = binding.destination(local);
        let media_local = SocketAddr::new(local.ip(), port);
        let mut state = SessionState::new(self.ids.number());
        let offer = sdp::offer(&monitor_policy(), media_local, Direction::SendOnly, &mut state);
        let template = Message::request(Method::INVITE, binding.uri.clone());
        let agent_login = agent.map(|a| self.login_of(a)).unwrap_or_default();
        let display = Bytes::from(format!("\"Monitor {agent_login}\""));
        let mut invite = self.build_b_invite(&template, binding.uri.clone(), dest, "monitor", Some(display), 70);
        super::queue::ask_auto_answer(&mut invite, local.ip());
        invite.headers.set(HeaderName::ContentType, "application/sdp");
        invite.body = Bytes::from(offer.print());
        let cseq = invite.envelope().map(|e| e.cseq.seq).unwrap_or(1);
        // The socket is bound before the phone can have our offer.
        self.out.push_back(Output::Media(MediaCommand::MonitorPrepare {
            call: id.0,
            local: media_local,
        }));
        let tx = match self.txl.send_request(now.mono, invite.clone(), dest) {
            Ok(tx) => tx,
            Err(e) => {
                if let Some(p) = self.ports.as_mut() {
                    let _ = p.release(port);
                }
                self.out
                    .push_back(Output::Media(MediaCommand::MonitorStop { call: id.0 }));
                return Err(DeskError::Conflict(format!(
                    "the INVITE to phone {ext} could not be sent: {e}"
                )));
            }
        };
        self.tx_roles.insert(tx, TxRole::MonitorInvite(id));
        if let Some(call) = self.calls.get_mut(&id) {
            call.monitor = Some(Box::new(MonitorLeg {
                supervisor: supervisor.to_owned(),
                extension: ext.clone(),
                invite: Some(Box::new(invite)),
                cseq,
                tx,
                dest,
                state: MonitorState::Calling,
                dialog: None,
                ack: None,
                port,
                local: media_local,
                sdp: state,
                interaction: uid.to_owned(),
                started_ms: now.unix_ms,
                answered_ms: None,
            }));
        }
        tracing::info!(call = %id, %supervisor, extension = %ext, interaction = %uid, "silent monitor: calling the supervisor's phone");
        Ok(DeskReply::Interactions(self.dashboard()))
    }

    /// Every live interaction as a supervisor sees it (SUP-1).
    fn dashboard(&self) -> Vec<InteractionView> {
        let mut ids: Vec<InteractionId> = self.queues.calls.keys().copied().collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|i| self.interaction_view(i, false))
            .collect()
    }

    /// A response to the INVITE of call `id`'s monitor leg (or a timeout,
    /// as a 408/503): a 2xx is ACKed and the media workers feed the phone;
    /// a failure ends the monitor.
    pub(crate) fn on_monitor_response(&mut self, now: Now, id: CallRef, tx: TxId, resp: Message) {
        let Some(code) = resp.status() else { return };
        let Some(m) = self.calls.get_mut(&id).and_then(|c| c.monitor.as_deref_mut()) else {
            return;
        };
        if m.tx != tx || code.is_provisional() {
            return;
        }
        if !code.is_success() {
            tracing::info!(call = %id, code = code.as_u16(), "silent monitor: the supervisor's phone did not answer");
            self.drop_monitor(now, id, "failed", Some(code.as_u16()));
            self.maybe_reap(now, id);
            return;
        }
        if m.state == MonitorState::Answered {
            // A 2xx retransmission: our ACK again (§13.2.2.4).
            if let Some(ack) = m.ack.clone() {
                let dest = m.dest;
                self.txl.send_stateless_bytes(dest, ack);
            }
            return;
        }
        let cancelled = m.state == MonitorState::Cancelled;
        m.state = MonitorState::Answered;
        m.answered_ms = Some(now.unix_ms);
        let Some(invite) = m.invite.take() else { return };
        match Dialog::uac(&invite, &resp, DialogState::Confirmed) {
            Ok(d) => {
                self.monitor_dialogs.insert(d.key.clone(), id);
                m.dialog = Some(d);
            }
            Err(e) => {
                tracing::warn!(call = %id, error = %e, "silent monitor: 2xx without a usable dialog");
                self.drop_monitor(now, id, "bad_answer", Some(200));
                self.maybe_reap(now, id);
                return;
            }
        }
        self.ack_monitor(id);
        if cancelled {
            // The call ended while the phone rang.
            self.bye_monitor(now, id);
            self.drop_monitor(now, id, "call_ended", Some(200));
            self.maybe_reap(now, id);
            return;
        }
        let leg = self.monitor_leg_audio(id, &resp);
        match leg {
            Ok(leg) => {
                tracing::info!(call = %id, codec = ?leg.audio.codec, "silent monitor: the supervisor listens");
                self.out.push_back(Output::Media(MediaCommand::Monitor {
                    call: id.0,
                    leg: Box::new(leg),
                }));
            }
            Err(why) => {
                tracing::info!(call = %id, %why, "silent monitor: unusable answer, hanging up");
                self.bye_monitor(now, id);
                self.drop_monitor(now, id, "bad_answer", Some(200));
            }
        }
    }

    /// The phone's SDP answer to our `sendonly` offer, as the workers need it.
    fn monitor_leg_audio(&mut self, id: CallRef, resp: &Message) -> Result<RelayLeg, String> {
        let m = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.monitor.as_deref_mut())
            .ok_or("no monitor")?;
        let answer = sdp::parse(&resp.body).map_err(|e| format!("SDP: {e}"))?;
        let neg = sdp::accept_answer(&answer, &mut m.sdp).map_err(|e| format!("answer: {e}"))?;
        let audio = LegAudio::from_negotiated(&neg).ok_or("no audio codec")?;
        Ok(RelayLeg {
            local: m.local,
            remote: neg.remote_rtp,
            remote_rtcp: neg.remote_rtcp,
            audio,
            pt_map: Vec::new(),
            denoise: false,
        })
    }

    /// ACKs the monitor leg's 2xx (§13.2.2.4).
    fn ack_monitor(&mut self, id: CallRef) {
        let Some(m) = self.calls.get_mut(&id).and_then(|c| c.monitor.as_deref_mut()) else {
            return;
        };
        let (seq, dest) = (m.cseq, m.dest);
        let Some(d) = m.dialog.as_mut() else { return };
        let mut ack = d.request(Method::ACK, Some(seq));
        let via = self.new_via(dest);
        ack.headers.push_front(HeaderName::Via, via);
        ack.headers.push(HeaderName::MaxForwards, "70");
        let bytes = ack.to_bytes();
        if let Some(m) = self.calls.get_mut(&id).and_then(|c| c.monitor.as_deref_mut()) {
            m.ack = Some(bytes.clone());
        }
        self.txl.send_stateless_bytes(dest, bytes);
    }

    /// Sends BYE on the monitor leg (§15.1.1); its answer needs no action.
    fn bye_monitor(&mut self, now: Now, id: CallRef) {
        let Some(m) = self.calls.get_mut(&id).and_then(|c| c.monitor.as_deref_mut()) else {
            return;
        };
        let dest = m.dest;
        let Some(d) = m.dialog.as_mut() else { return };
        let mut bye = d.request(Method::BYE, None);
        let via = self.new_via(dest);
        bye.headers.push_front(HeaderName::Via, via);
        bye.headers.push(HeaderName::MaxForwards, "70");
        match self.txl.send_request(now.mono, bye, dest) {
            Ok(tx) => {
                self.tx_roles.insert(tx, TxRole::Own);
            }
            Err(e) => tracing::warn!(call = %id, error = %e, "silent monitor: BYE not sent"),
        }
    }

    /// Removes call `id`'s monitor leg: its port, its dialog, its media;
    /// writes its leg CDR (HIST-3: `cause`, and the phone's final status).
    fn drop_monitor(&mut self, now: Now, id: CallRef, cause: &str, final_code: Option<u16>) {
        let Some(m) = self.calls.get_mut(&id).and_then(|c| c.monitor.take()) else {
            return;
        };
        self.forget_monitor(&m);
        let call_id = m
            .dialog
            .as_ref()
            .map(|d| d.key.call_id.clone())
            .or_else(|| m.invite.as_ref().and_then(|i| i.envelope().ok()).map(|e| e.call_id))
            .map(|c| String::from_utf8_lossy(&c).into_owned())
            .unwrap_or_default();
        let talk_ms = m.answered_ms.map_or(0, |a| now.unix_ms.saturating_sub(a));
        let rec = crate::store::LegCdrRecord {
            interaction: Some(m.interaction.clone()),
            call_id,
            leg: "monitor".into(),
            party: m.supervisor.clone(),
            started_ms: m.started_ms,
            answered_ms: m.answered_ms,
            ended_ms: now.unix_ms,
            hold_ms: 0,
            talk_ms,
            post_call_ms: 0,
            final_code,
            cause: cause.to_owned(),
        };
        self.out.push_back(Output::Acd(crate::store::AcdRecord::LegCdr(rec)));
        self.out
            .push_back(Output::Media(MediaCommand::MonitorStop { call: id.0 }));
    }

    /// Frees what a monitor leg holds in the engine (port, dialog key).
    pub(crate) fn forget_monitor(&mut self, m: &MonitorLeg) {
        if let Some(p) = self.ports.as_mut() {
            let _ = p.release(m.port);
        }
        if let Some(d) = &m.dialog {
            self.monitor_dialogs.remove(&d.key);
        }
    }

    /// The monitor's INVITE transaction is gone (Timer M): no 2xx
    /// retransmission can come, the stored ACK can go.
    pub(crate) fn monitor_invite_gone(&mut self, id: CallRef, tx: TxId) {
        if let Some(m) = self.calls.get_mut(&id).and_then(|c| c.monitor.as_deref_mut()) {
            if m.tx == tx {
                m.ack = None;
            }
        }
    }

    /// SUP-4: the call ended, so its monitor goes: BYE when answered,
    /// CANCEL while the phone still rings (its final response then ends it).
    pub(crate) fn monitor_call_ended(&mut self, now: Now, id: CallRef) {
        let Some(m) = self.calls.get_mut(&id).and_then(|c| c.monitor.as_deref_mut()) else {
            return;
        };
        match m.state {
            MonitorState::Calling => {
                m.state = MonitorState::Cancelled;
                let tx = m.tx;
                let _ = self.txl.client_cancel(now.mono, tx);
            }
            MonitorState::Cancelled => {}
            MonitorState::Answered => {
                tracing::info!(call = %id, "silent monitor: the call ended, the supervisor is removed (SUP-4)");
                self.bye_monitor(now, id);
                self.drop_monitor(now, id, "call_ended", Some(200));
            }
        }
    }

    /// An in-dialog request on a monitor leg: true when it was one (and is
    /// answered here). The supervisor's BYE ends only the monitor.
    pub(crate) fn on_monitor_request(&mut self, now: Now, tx: TxId, req: &Message) -> bool {
        let Some(env) = req.envelope().ok() else { return false };
        let Some(local_tag) = env.to.tag() else { return false };
        let key = DialogKey {
            call_id: env.call_id.clone(),
            local_tag,
        };
        let Some(&id) = self.monitor_dialogs.get(&key) else {
            return false;
        };
        let Some(method) = req.method().cloned() else {
            return true;
        };
        let tag = env.to.tag().map(|t| String::from_utf8_lossy(&t).into_owned());
        let seq = env.cseq.seq;
        let in_order = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.monitor.as_deref_mut())
            .and_then(|m| m.dialog.as_mut())
            .is_some_and(|d| d.accept_remote_cseq(&method, seq).is_ok());
        if !in_order {
            let resp = Message::response_to(
                req,
                StatusCode::SERVER_INTERNAL_ERROR,
                Some("CSeq Out of Order"),
                tag.as_deref(),
            );
            self.respond(now, tx, resp);
            return true;
        }
        let (code, reason) = if method == Method::BYE || method == Method::OPTIONS || method == Method::INFO {
            (StatusCode::OK, None)
        } else if method == Method::INVITE || method == Method::UPDATE {
            (StatusCode::NOT_ACCEPTABLE_HERE, Some("Monitor Media Is Fixed"))
        } else {
            (StatusCode::NOT_IMPLEMENTED, None)
        };
        let resp = Message::response_to(req, code, reason, tag.as_deref());
        self.respond(now, tx, resp);
        if method == Method::BYE {
            tracing::info!(call = %id, "silent monitor: the supervisor hung up");
            self.drop_monitor(now, id, "supervisor_hangup", Some(200));
            self.maybe_reap(now, id);
        }
        true
    }
}
