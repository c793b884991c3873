//! The silent-monitor leg of a call (spec SUP-2, SUP-4): a placed leg
//! towards a supervisor's phone while the call is connected. Its role
//! ([`LegRole::Monitor`]) keeps its answer from ever being taken for the
//! callee's: its 2xx is ACKed and only tells the media workers to feed it
//! ([`MediaCommand::Monitor`]), with no relay plan, no ACD event and no
//! change to the call's CDR. It has its own RTP port: the switch offers
//! `sendonly` from it, the phone hears the mix of both parties and is
//! never heard.
//!
//! The supervisor's BYE ends only the monitor leg. The call ending sends
//! the monitor BYE, or CANCEL while its phone still rings (SUP-4: in a
//! queue call the monitored agent is the only agent, so when it leaves the
//! call ends and the supervisor is removed). The monitor leg answers
//! in-dialog OPTIONS and INFO with 200 and refuses re-INVITE/UPDATE with
//! 488 (its media is the switch's to set). Which interactions may be
//! monitored (SUP-3) is the engine's to check before calling
//! [`Call::start_monitor`].

use super::media::{LegAudio, MediaCommand, RelayLeg};
use super::{BState, Call, CallCtx, CallOutput, LegRole, MonitorLeg, MonitorState, Side, TxOwner};
use crate::sdp::{self, CodecKind, Direction, LegPolicy, SessionState};
use crate::sip::dialog::{Dialog, DialogState};
use crate::sip::msg::{HeaderName, Message, Method, StatusCode, Uri};
use crate::sip::transaction::{Destination, TxId};
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

/// Who monitors, from which phone (a registered contact of `extension`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorRequest {
    /// The supervisor's login.
    pub supervisor: String,
    /// The extension rung.
    pub extension: String,
    /// The monitored interaction's uid.
    pub interaction: String,
    /// The monitored agent's login (the phone's display shows it).
    pub agent: String,
    /// The phone's contact URI.
    pub uri: Uri,
    /// Where the phone is.
    pub dest: Destination,
}

impl Call {
    /// SUP-2: rings the supervisor's phone with a `sendonly` offer from a
    /// port of its own. `Err` names why it could not be placed.
    pub fn start_monitor(&mut self, ctx: &mut CallCtx, req: MonitorRequest) -> Result<(), String> {
        let Some(port) = ctx.ports.as_mut().and_then(|p| p.allocate()) else {
            return Err("no media port free for the monitor".into());
        };
        let media_local = SocketAddr::new(req.dest.local.ip(), port);
        let mut state = SessionState::new(ctx.ids.number());
        let offer = sdp::offer(&monitor_policy(), media_local, Direction::SendOnly, &mut state);
        let display = Bytes::from(format!("\"Monitor {}\"", req.agent));
        let mut invite = super::outbound::new_invite(ctx, req.uri.clone(), req.dest, "monitor", Some(&display), 70);
        super::outbound::ask_auto_answer(&mut invite, req.dest.local.ip());
        invite.headers.set(HeaderName::ContentType, "application/sdp");
        invite.body = Bytes::from(offer.print());
        // The socket is bound before the phone can have our offer.
        ctx.media(MediaCommand::MonitorPrepare {
            call: self.id.0,
            local: media_local,
        });
        let role = LegRole::Monitor(Box::new(MonitorLeg {
            supervisor: req.supervisor.clone(),
            extension: req.extension.clone(),
            interaction: req.interaction.clone(),
            state: MonitorState::Calling,
            port,
            local: media_local,
            sdp: state,
        }));
        if self.place_leg(ctx, role, invite, req.dest, None).is_none() {
            ctx.release_port(port);
            ctx.media(MediaCommand::MonitorStop { call: self.id.0 });
            return Err(format!("the INVITE to phone {} could not be sent", req.extension));
        }
        tracing::info!(call = %self.id, supervisor = %req.supervisor, extension = %req.extension,
            interaction = %req.interaction, "silent monitor: calling the supervisor's phone");
        Ok(())
    }

    /// A response to the monitor leg's INVITE (or a timeout, as a
    /// 408/503): a 2xx is ACKed and the media workers feed the phone; a
    /// failure ends the monitor.
    pub(crate) fn on_monitor_response(&mut self, ctx: &mut CallCtx, idx: usize, resp: Message) {
        let Some(code) = resp.status() else { return };
        let id = self.id;
        if code.is_provisional() {
            return;
        }
        let Some(state) = self.b[idx].monitor().map(|m| m.state) else {
            return;
        };
        if !code.is_success() {
            tracing::info!(call = %id, code = code.as_u16(), "silent monitor: the supervisor's phone did not answer");
            self.b[idx].state = BState::Failed(code);
            self.drop_monitor(ctx, idx, "failed", Some(code.as_u16()));
            return;
        }
        let leg = &mut self.b[idx];
        if state == MonitorState::Answered || state == MonitorState::Ended {
            // A 2xx retransmission: our ACK again (§13.2.2.4).
            if let Some(ack) = leg.ack.clone() {
                ctx.txl.send_stateless_bytes(leg.dest, ack);
            }
            return;
        }
        leg.state = BState::Answered;
        leg.answered_ms = Some(ctx.now.unix_ms);
        if let Some(m) = leg.monitor_mut() {
            m.state = MonitorState::Answered;
        }
        let Some(invite) = leg.invite.take() else { return };
        match Dialog::uac(&invite, &resp, DialogState::Confirmed) {
            Ok(d) => {
                ctx.links.dialogs.insert(d.key.clone(), (id, Side::B(idx)));
                leg.dialog = Some(d);
            }
            Err(e) => {
                tracing::warn!(call = %id, error = %e, "silent monitor: 2xx without a usable dialog");
                self.drop_monitor(ctx, idx, "bad_answer", Some(200));
                return;
            }
        }
        self.ack_b(ctx, idx, Bytes::new(), None);
        if state == MonitorState::Cancelled {
            // The call ended while the phone rang.
            self.bye_monitor(ctx, idx);
            self.drop_monitor(ctx, idx, "call_ended", Some(200));
            return;
        }
        match self.monitor_leg_audio(idx, &resp) {
            Ok(leg) => {
                tracing::info!(call = %id, codec = ?leg.audio.codec, "silent monitor: the supervisor listens");
                ctx.media(MediaCommand::Monitor {
                    call: id.0,
                    leg: Box::new(leg),
                });
            }
            Err(why) => {
                tracing::info!(call = %id, %why, "silent monitor: unusable answer, hanging up");
                self.bye_monitor(ctx, idx);
                self.drop_monitor(ctx, idx, "bad_answer", Some(200));
            }
        }
    }

    /// The phone's SDP answer to our `sendonly` offer, as the workers need it.
    fn monitor_leg_audio(&mut self, idx: usize, resp: &Message) -> Result<RelayLeg, String> {
        let m = self.b[idx].monitor_mut().ok_or("no monitor")?;
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

    /// Sends BYE on the monitor leg (§15.1.1); its answer needs no action.
    fn bye_monitor(&mut self, ctx: &mut CallCtx, idx: usize) {
        if self
            .send_in_dialog(
                ctx,
                Side::B(idx),
                Method::BYE,
                Bytes::new(),
                Vec::new(),
                TxOwner::Detached,
            )
            .is_none()
        {
            tracing::warn!(call = %self.id, "silent monitor: BYE not sent");
        }
    }

    /// Ends monitor leg `idx`: its port, its dialog, its media; writes its
    /// leg CDR (HIST-3: `cause`, and the phone's final status).
    fn drop_monitor(&mut self, ctx: &mut CallCtx, idx: usize, cause: &str, final_code: Option<u16>) {
        let id = self.id;
        let Some(m) = self.b[idx].monitor_mut().filter(|m| m.state != MonitorState::Ended) else {
            return;
        };
        m.state = MonitorState::Ended;
        let (port, supervisor, interaction) = (m.port, m.supervisor.clone(), m.interaction.clone());
        ctx.release_port(port);
        self.forget_dialog(ctx, Side::B(idx));
        let leg = &self.b[idx];
        let talk_ms = leg.answered_ms.map_or(0, |a| ctx.now.unix_ms.saturating_sub(a));
        let rec = crate::records::LegCdrRecord {
            interaction: Some(interaction),
            call_id: String::from_utf8_lossy(&leg.call_id).into_owned(),
            leg: "monitor".into(),
            party: supervisor,
            started_ms: leg.started_ms,
            answered_ms: leg.answered_ms,
            ended_ms: ctx.now.unix_ms,
            hold_ms: 0,
            talk_ms,
            post_call_ms: 0,
            final_code,
            cause: cause.to_owned(),
        };
        ctx.out.push_back(CallOutput::LegCdr(rec));
        ctx.media(MediaCommand::MonitorStop { call: id.0 });
    }

    /// SUP-4: the call ended, so its monitor goes: BYE when answered,
    /// CANCEL while the phone still rings (its final response then ends it).
    pub(crate) fn end_monitor(&mut self, ctx: &mut CallCtx) {
        let Some((idx, m)) = self.monitor() else { return };
        match m.state {
            MonitorState::Calling => {
                let tx = self.b[idx].tx;
                if let Some(m) = self.b[idx].monitor_mut() {
                    m.state = MonitorState::Cancelled;
                }
                ctx.cancel(tx);
            }
            MonitorState::Cancelled | MonitorState::Ended => {}
            MonitorState::Answered => {
                tracing::info!(call = %self.id, "silent monitor: the call ended, the supervisor is removed (SUP-4)");
                self.bye_monitor(ctx, idx);
                self.drop_monitor(ctx, idx, "call_ended", Some(200));
            }
        }
    }

    /// An in-dialog request on monitor leg `idx` (its CSeq already
    /// checked). The supervisor's BYE ends only the monitor.
    pub(crate) fn on_monitor_request(
        &mut self,
        ctx: &mut CallCtx,
        idx: usize,
        tx: TxId,
        method: &Method,
        req: &Message,
        tag: Option<&str>,
    ) {
        let (code, reason) = if *method == Method::BYE || *method == Method::OPTIONS || *method == Method::INFO {
            (StatusCode::OK, None)
        } else if *method == Method::INVITE || *method == Method::UPDATE {
            (StatusCode::NOT_ACCEPTABLE_HERE, Some("Monitor Media Is Fixed"))
        } else {
            (StatusCode::NOT_IMPLEMENTED, None)
        };
        ctx.respond(tx, Message::response_to(req, code, reason, tag));
        if *method == Method::BYE {
            tracing::info!(call = %self.id, "silent monitor: the supervisor hung up");
            self.drop_monitor(ctx, idx, "supervisor_hangup", Some(200));
        }
    }
}

/// True when a monitor leg still holds something the call must wait for
/// before it can be forgotten (a CANCELled INVITE's final response).
pub(crate) fn monitor_pending(m: &MonitorLeg) -> bool {
    m.state != MonitorState::Ended
}
