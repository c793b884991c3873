//! A meet-me room caller's call (issue 9: the dial plan's `conference`
//! action, CALL-CONF-1). The switch is the far end of such a call: it
//! answers the caller's offer itself (RFC 3264 §6, one port from the pool),
//! sends the 200 and retransmits it until the ACK (§13.3.1.4, as for every
//! answered call), and puts the caller's media on the room's bridge, a
//! media session of its own that lives while anyone is in the room
//! ([`MediaCommand::RoomPrepare`], the caller being party `id` there).
//!
//! A room with a PIN holds a new caller on the bridge in `Held` mode (hold
//! music, heard by nobody) until the right PIN is keyed (RFC 4733 events,
//! told by the media session): keys are collected until as many as the PIN
//! has, or `#`, then compared; `*` starts over. Three wrong PINs, or no
//! right one within [`PIN_TIMEOUT`], end the call (`wrong_pin`,
//! `pin_timeout`) — the usual meet-me behaviour, so a room's PIN cannot be
//! guessed by one call keying forever.
//!
//! An offer-less INVITE (delayed offer, RFC 3261 §13.2.1) gets the
//! switch's offer in the 200 (every codec it carries, PCMU first, and
//! telephone-event for the PIN); the caller's ACK carries the answer and
//! only then does the caller join the bridge. An ACK without a usable
//! answer ends the call with a BYE (`incompatible_media`): a caller
//! silently seated in a room it cannot hear helps nobody.

use super::media::{CallMedia, LegAudio, MediaCommand, MediaLeg, PartyMode, RelayLeg};
use super::{AnchorRefusal, Call, CallCtx, CallEvent, CallTimer, Phase, Side};
use crate::sdp::{self, Direction, LegPolicy, SessionState};
use crate::sip::dialog::{Dialog, DialogState};
use crate::sip::msg::{HeaderName, Message, StatusCode};
use bytes::Bytes;
use std::net::SocketAddr;
use std::time::Duration;

/// Wrong PINs a caller may key before the switch hangs up.
pub const PIN_ATTEMPTS: u32 = 3;
/// How long a caller has to key the right PIN.
pub const PIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The room caller's leg on the bridge, as negotiated (`None`: no audio
/// codec the bridge can mix).
fn party_leg(local: SocketAddr, state: &SessionState, neg: &sdp::Negotiated, denoise: bool) -> Option<RelayLeg> {
    Some(RelayLeg {
        webrtc: super::media::WebrtcPlan::from_negotiated(state, neg),
        local,
        remote: neg.remote_rtp,
        remote_rtcp: neg.remote_rtcp,
        audio: LegAudio::from_negotiated(neg)?,
        pt_map: Vec::new(),
        denoise,
        srtp: neg.srtp.clone(),
    })
}

/// A caller's place in a meet-me room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seat {
    /// The room, as the dial plan named it (logs, the CDR's route).
    pub room: String,
    /// The room's media session number.
    pub media: u64,
    /// The PIN still to be keyed; `None` once admitted (or for an open room).
    pub pin: Option<String>,
    /// Keys collected towards the PIN.
    pub keyed: String,
    /// Wrong PINs keyed so far.
    pub wrong: u32,
    /// The caller's phone holds the room (re-INVITE `sendonly`/`inactive`).
    pub phone_hold: bool,
}

impl Seat {
    /// Admitted: talks and hears the room.
    pub fn admitted(&self) -> bool {
        self.pin.is_none()
    }

    /// The caller's mode on the room's bridge.
    pub fn mode(&self) -> PartyMode {
        if self.admitted() && !self.phone_hold {
            PartyMode::Talk
        } else {
            PartyMode::Held
        }
    }
}

/// What a key did to a caller waiting for a room's PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinOutcome {
    /// Not a PIN caller, or the PIN is not complete yet.
    Pending,
    /// The right PIN: the caller joins the room.
    Admitted,
    /// A wrong PIN; the caller may try again.
    Wrong,
    /// The last allowed wrong PIN: the call ends.
    Refused,
}

impl Call {
    /// Answers the caller for meet-me room `room` (media session `media`):
    /// our SDP answer from a port on `local`, the 200, and the caller on
    /// the room's bridge (held until `pin` is keyed, when set).
    pub fn answer_room(
        &mut self,
        ctx: &mut CallCtx,
        signalling: SocketAddr,
        room: &str,
        media: u64,
        pin: Option<String>,
        denoise: bool,
    ) -> Result<(), AnchorRefusal> {
        let refuse = |code: StatusCode, reason: &str, warning: Option<String>| AnchorRefusal {
            code,
            reason: reason.into(),
            warning,
        };
        let body = self.a.invite.as_deref().map(|m| m.body.clone()).unwrap_or_default();
        // An offer-less INVITE (delayed offer): we offer in the 200.
        let offer = if body.is_empty() {
            None
        } else {
            Some(sdp::parse(&body).map_err(|e| refuse(StatusCode::BAD_REQUEST, &format!("Malformed SDP: {e}"), None))?)
        };
        let port = ctx
            .ports
            .as_mut()
            .and_then(|p| p.allocate())
            .ok_or_else(|| refuse(StatusCode::SERVICE_UNAVAILABLE, "No Media Ports Free", None))?;
        let local = SocketAddr::new(signalling.ip(), port);
        let srtp = ctx.srtp_policy(signalling);
        let mut sdp_a = ctx.sdp_session(srtp);
        let (reply, neg_a, leg) = match offer {
            Some(offer) => {
                let answer = match sdp::answer(&offer, &LegPolicy::default(), local, &mut sdp_a) {
                    Ok(a) => a,
                    Err(rejection) => {
                        ctx.release_port(port);
                        return Err(refuse(
                            StatusCode::NOT_ACCEPTABLE_HERE,
                            "Not Acceptable Here",
                            Some(rejection.warning("switchboard")),
                        ));
                    }
                };
                let Some(leg) = party_leg(local, &sdp_a, &answer.negotiated, denoise) else {
                    ctx.release_port(port);
                    return Err(refuse(
                        StatusCode::NOT_ACCEPTABLE_HERE,
                        "Not Acceptable Here",
                        Some("305 switchboard \"Incompatible media format\"".into()),
                    ));
                };
                (Bytes::from(answer.sdp.print()), Some(answer.negotiated), Some(leg))
            }
            None => {
                let offer = sdp::offer(&LegPolicy::default(), local, Direction::SendRecv, &mut sdp_a);
                (Bytes::from(offer.print()), None, None)
            }
        };
        self.media = Some(Box::new(CallMedia {
            port_a: port,
            // One port: the room's bridge is the other side.
            port_b: port,
            local_a: local,
            local_b: local,
            sdp_a,
            sdp_b: SessionState::new(0),
            browser_b: None,
            answer_a: None,
            neg_a,
            neg_b: None,
            early: None,
            denoise,
            phone_hold: None,
            api_hold: None,
            record_on_answer: false,
            recording: None,
            recordings: Vec::new(),
            recordings_started: 0,
            queued: false,
        }));
        let seat = Seat {
            room: room.to_owned(),
            media,
            pin,
            keyed: String::new(),
            wrong: 0,
            phone_hold: false,
        };
        let party = self.id.0 as usize;
        ctx.media(MediaCommand::RoomPrepare {
            room: media,
            party,
            local,
        });
        if let Some(leg) = leg {
            ctx.media(MediaCommand::PartyJoin {
                call: media,
                party,
                leg: Box::new(leg),
                mode: seat.mode(),
            });
        }
        if !seat.admitted() {
            ctx.set_timer(self.id, CallTimer::PinEntry, ctx.now.mono + PIN_TIMEOUT);
        }
        tracing::info!(call = %self.id, room, pin = !seat.admitted(), "caller joins a meet-me room");
        self.seat = Some(Box::new(seat));
        self.answer_locally(ctx, reply);
        Ok(())
    }

    /// The ACK of a delayed-offer room caller carries its answer to the
    /// offer in our 200 (RFC 3264 §5, RFC 3261 §13.2.1): the caller joins
    /// the room's bridge. False when the answer is missing or unusable:
    /// the call is ended (BYE, `incompatible_media`) rather than left
    /// silent in the room.
    pub(crate) fn room_ack_answer(&mut self, ctx: &mut CallCtx, ack: &Message) -> bool {
        let id = self.id;
        let (Some(seat), Some(media)) = (self.seat.as_deref(), self.media.as_deref_mut()) else {
            return true;
        };
        if media.neg_a.is_some() {
            return true; // answered in our 200, or this ACK is a retransmission
        }
        let joined = sdp::parse(&ack.body)
            .map_err(|e| e.to_string())
            .and_then(|s| sdp::accept_answer(&s, &mut media.sdp_a).map_err(|e| e.to_string()))
            .and_then(|neg| {
                let leg = party_leg(media.local_a, &media.sdp_a, &neg, media.denoise).ok_or("no audio codec")?;
                media.neg_a = Some(neg);
                Ok(leg)
            });
        match joined {
            Ok(leg) => {
                ctx.media(MediaCommand::PartyJoin {
                    call: seat.media,
                    party: id.0 as usize,
                    leg: Box::new(leg),
                    mode: seat.mode(),
                });
                true
            }
            Err(why) => {
                tracing::info!(call = %id, room = %seat.room, %why, "room caller's ACK has no usable answer: ending the call");
                self.end(ctx, "incompatible_media");
                false
            }
        }
    }

    /// The switch answers the caller itself with `body` (our SDP): the 200
    /// with a Contact, the caller's dialog, and its retransmission until
    /// the ACK (§13.3.1.4). Also voicemail's answer (issue 14 item 5).
    pub(crate) fn answer_locally(&mut self, ctx: &mut CallCtx, body: Bytes) {
        let id = self.id;
        let Some(mut ok) = self.a_final(StatusCode::OK, None) else {
            return;
        };
        ok.headers
            .push(HeaderName::Contact, super::contact_for(&self.callee, self.a.src));
        ok.headers.set(HeaderName::ContentType, "application/sdp");
        ok.body = body;
        let Some(invite) = self.a.invite.as_deref() else { return };
        match Dialog::uas(invite, self.a.tag.clone(), DialogState::Confirmed) {
            Ok(mut d) => {
                d.local_seq = 0;
                ctx.links.dialogs.insert(d.key.clone(), (id, Side::A));
                self.a.dialog = Some(d);
            }
            Err(e) => tracing::warn!(error = %e, "caller INVITE without a usable dialog"),
        }
        self.phase = Phase::Answered;
        self.answered_ms = Some(ctx.now.unix_ms);
        self.final_code = Some(200);
        self.session_answer(ctx, None, &mut ok);
        let t1 = ctx.txl.config().t1;
        self.a.pending_2xx = Some(Box::new((ok.clone(), t1, ctx.now.mono)));
        self.a.invite = None;
        ctx.respond(self.a.tx, ok);
        ctx.set_timer(id, CallTimer::Retransmit2xx, ctx.now.mono + t1);
        ctx.event(id, CallEvent::Answered);
    }

    /// A key the caller pressed (RFC 4733, told by the room's media
    /// session) while the room waits for its PIN.
    pub fn room_digit(&mut self, ctx: &mut CallCtx, digit: char) -> PinOutcome {
        let id = self.id;
        if self.phase != Phase::Answered {
            return PinOutcome::Pending;
        }
        let Some(seat) = self.seat.as_deref_mut() else {
            return PinOutcome::Pending;
        };
        let Some(pin) = seat.pin.clone() else {
            return PinOutcome::Pending;
        };
        match digit {
            '*' => {
                seat.keyed.clear();
                return PinOutcome::Pending;
            }
            '#' => {}
            d => seat.keyed.push(d),
        }
        if digit != '#' && seat.keyed.len() < pin.len() {
            return PinOutcome::Pending;
        }
        let right = seat.keyed == pin;
        seat.keyed.clear();
        if right {
            seat.pin = None;
            let (media, mode) = (seat.media, seat.mode());
            ctx.cancel_timer(id, CallTimer::PinEntry);
            ctx.media(MediaCommand::PartyModes {
                call: media,
                modes: vec![(MediaLeg::Party(id.0 as usize), mode)],
            });
            tracing::info!(call = %id, room = %seat.room, "right PIN: the caller joins the room");
            return PinOutcome::Admitted;
        }
        seat.wrong += 1;
        tracing::info!(call = %id, room = %seat.room, wrong = seat.wrong, "wrong conference PIN");
        if seat.wrong >= PIN_ATTEMPTS {
            self.end(ctx, "wrong_pin");
            return PinOutcome::Refused;
        }
        PinOutcome::Wrong
    }

    /// No right PIN in time: the call ends.
    pub(crate) fn on_pin_timeout(&mut self, ctx: &mut CallCtx) {
        if self.seat.as_deref().is_some_and(|s| !s.admitted()) && self.phase == Phase::Answered {
            tracing::info!(call = %self.id, "no conference PIN keyed in time");
            self.end(ctx, "pin_timeout");
        }
    }

    /// The caller's phone put the room on hold or took it off (re-INVITE):
    /// the media command that says so on the room's bridge.
    pub fn room_hold(&mut self, held: bool) -> Option<MediaCommand> {
        let id = self.id.0 as usize;
        let seat = self.seat.as_deref_mut()?;
        seat.phone_hold = held;
        Some(MediaCommand::PartyModes {
            call: seat.media,
            modes: vec![(MediaLeg::Party(id), seat.mode())],
        })
    }
}
