//! Call control (the control API and the desktops) (issue 3 items 4, 5 and 7): hold and
//! resume, and recording start/pause/resume/stop on an anchored call.
//!
//! The media of an anchored call already flows through the switch, so none
//! of this needs SIP: hold switches what the held leg hears to music on
//! hold (CALL-HOLD-1) and stops both directions of speech; recording is
//! told to the media workers, and the engine keeps the recording's timeline
//! (pause spans for the CDR, the automatic end of a pause after `[recording]
//! max_pause_s`, CALL-REC-1) in virtual time, so every rule is tested with
//! the simulated clock.
//!
//! Choices where the spec is silent:
//! - Hold from the API holds the caller by default (the customer of an
//!   inbound call); `party: "callee"` holds the other side. A phone's own
//!   hold (re-INVITE `sendonly`) and the API's combine: the API's wins
//!   while set.
//! - Repeating a command in the state it asks for (hold a held call, pause a
//!   paused recording) is a 409 conflict naming the state, so a desktop
//!   never believes it changed something it did not.
//! - A call can be recorded several times (stop, then start again): each
//!   recording is its own file, listed in the CDR with its pause spans.
//! - CALL-REC-2 (no pause/resume during a consult or conference) is
//!   enforced when consults and conferences exist (a later issue).

use super::media::{ActiveRecording, MediaCommand, MediaLeg, PauseSpan, RecordAction, RecordingRecord};
use super::{Call, CallCtx, CallTimer, Phase};

/// What the control API asks of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallControl {
    /// Put a party on hold: it hears music, neither side hears the other.
    Hold(Party),
    /// Take the call off hold.
    Resume,
    /// Start recording (spec CALL-REC-1).
    RecordStart,
    /// Pause the recording: silence is written; ends by itself after
    /// `[recording] max_pause_s`.
    RecordPause,
    /// Resume a paused recording.
    RecordResume,
    /// Stop the recording and complete its file.
    RecordStop,
}

/// A party of a two-party call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Party {
    /// The caller (the customer of an inbound call).
    #[default]
    Caller,
    /// The called side.
    Callee,
}

impl Party {
    fn leg(self) -> MediaLeg {
        match self {
            Party::Caller => MediaLeg::A,
            Party::Callee => MediaLeg::B,
        }
    }
}

/// Why a control request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No live call has this id.
    #[error("no live call {0}")]
    NoSuchCall(u64),
    /// The call's media does not flow through the switch (`[media] anchor =
    /// false`, or a delayed-offer INVITE).
    #[error("call {0} is not anchored: its media does not flow through the switch")]
    NotAnchored(u64),
    /// The call is not answered (or already ended).
    #[error("call {0} is not answered")]
    NotAnswered(u64),
    /// The call is in a state where this makes no sense.
    #[error("{0}")]
    Conflict(&'static str),
    /// CALL-CONF-1: a ninth party is refused.
    #[error("the conference is full: at most 8 parties (CALL-CONF-1)")]
    Full,
    /// CALL-CONSULT-3: the target could not be reached.
    #[error("{0}")]
    Unreachable(String),
}

impl Call {
    /// Applies a control request (refused unless the call is answered and
    /// anchored).
    pub fn control(&mut self, ctx: &mut CallCtx, cmd: CallControl) -> Result<(), ControlError> {
        if self.phase != Phase::Answered {
            return Err(ControlError::NotAnswered(self.id.0));
        }
        if self.media.is_none() {
            return Err(ControlError::NotAnchored(self.id.0));
        }
        let bridged = self.consult.is_some() || self.talk != super::Talk::Direct;
        match cmd {
            CallControl::Hold(_) | CallControl::Resume if bridged => Err(ControlError::Conflict(
                "during a consult or conference, hold is the consult's toggle (CALL-HOLD-2, CALL-CONF-4)",
            )),
            CallControl::RecordPause | CallControl::RecordResume if bridged => Err(ControlError::Conflict(
                "recording cannot be paused or resumed during a consult or conference (CALL-REC-2)",
            )),
            CallControl::Hold(party) => self.set_api_hold(ctx, Some(party.leg())),
            CallControl::Resume => self.set_api_hold(ctx, None),
            CallControl::RecordStart => self.start_recording(ctx),
            CallControl::RecordPause => self.pause_recording(ctx),
            CallControl::RecordResume => self.resume_recording(ctx),
            CallControl::RecordStop => self.stop_recording(ctx),
        }
    }

    fn media_mut(&mut self) -> Result<&mut super::media::CallMedia, ControlError> {
        let id = self.id.0;
        self.media.as_deref_mut().ok_or(ControlError::NotAnchored(id))
    }

    fn set_api_hold(&mut self, ctx: &mut CallCtx, held: Option<MediaLeg>) -> Result<(), ControlError> {
        let id = self.id;
        let media = self.media_mut()?;
        match (media.api_hold, held) {
            (Some(_), Some(_)) => return Err(ControlError::Conflict("the call is already on hold")),
            (None, None) => return Err(ControlError::Conflict("the call is not on hold")),
            _ => {}
        }
        let before = media.held();
        media.api_hold = held;
        let after = media.held();
        if before != after {
            ctx.media(MediaCommand::Hold {
                call: id.0,
                held: after,
            });
            ctx.event(id, super::CallEvent::HoldChanged { held: after.is_some() });
        }
        tracing::info!(call = %id, ?held, "hold changed from the control API");
        Ok(())
    }

    /// Starts recording an answered anchored call (the API, or the route's
    /// `record` at answer).
    pub(crate) fn start_recording(&mut self, ctx: &mut CallCtx) -> Result<(), ControlError> {
        let layout = ctx.cfg.media().recording.layout;
        let (id, started_ms) = (self.id, self.started_ms);
        let media = self.media_mut()?;
        if media.recording.is_some() {
            return Err(ControlError::Conflict("the call is already being recorded"));
        }
        media.recordings_started += 1;
        let name = format!("call-{started_ms}-{}-{}", id.0, media.recordings_started);
        media.recording = Some(ActiveRecording {
            name: name.clone(),
            start_ms: ctx.now.unix_ms,
            paused_since: None,
            pauses: Vec::new(),
        });
        tracing::info!(call = %id, %name, "recording started");
        ctx.media(MediaCommand::Record {
            call: id.0,
            action: RecordAction::Start { name, layout },
        });
        Ok(())
    }

    fn pause_recording(&mut self, ctx: &mut CallCtx) -> Result<(), ControlError> {
        let max_pause = ctx.cfg.media().recording.max_pause;
        let id = self.id;
        let media = self.media_mut()?;
        let rec = media
            .recording
            .as_mut()
            .ok_or(ControlError::Conflict("the call is not being recorded"))?;
        if rec.paused_since.is_some() {
            return Err(ControlError::Conflict("the recording is already paused"));
        }
        rec.paused_since = Some(ctx.now.unix_ms);
        ctx.set_timer(id, CallTimer::PauseEnd, ctx.now.mono + max_pause);
        ctx.media(MediaCommand::Record {
            call: id.0,
            action: RecordAction::Pause,
        });
        Ok(())
    }

    fn resume_recording(&mut self, ctx: &mut CallCtx) -> Result<(), ControlError> {
        let id = self.id;
        let media = self.media_mut()?;
        let rec = media
            .recording
            .as_mut()
            .ok_or(ControlError::Conflict("the call is not being recorded"))?;
        let start_ms = rec
            .paused_since
            .take()
            .ok_or(ControlError::Conflict("the recording is not paused"))?;
        rec.pauses.push(PauseSpan {
            start_ms,
            end_ms: ctx.now.unix_ms,
        });
        ctx.cancel_timer(id, CallTimer::PauseEnd);
        ctx.media(MediaCommand::Record {
            call: id.0,
            action: RecordAction::Resume,
        });
        Ok(())
    }

    fn stop_recording(&mut self, ctx: &mut CallCtx) -> Result<(), ControlError> {
        let id = self.id;
        let media = self.media_mut()?;
        let mut rec = media
            .recording
            .take()
            .ok_or(ControlError::Conflict("the call is not being recorded"))?;
        if let Some(start_ms) = rec.paused_since.take() {
            rec.pauses.push(PauseSpan {
                start_ms,
                end_ms: ctx.now.unix_ms,
            });
        }
        media.recordings.push(RecordingRecord {
            file: format!("{}.wav", rec.name),
            start_ms: rec.start_ms,
            end_ms: ctx.now.unix_ms,
            pauses: rec.pauses,
        });
        ctx.cancel_timer(id, CallTimer::PauseEnd);
        ctx.media(MediaCommand::Record {
            call: id.0,
            action: RecordAction::Stop,
        });
        Ok(())
    }

    /// `[recording] max_pause_s` elapsed: the pause ends by itself (CALL-REC-1).
    pub(crate) fn on_pause_end(&mut self, ctx: &mut CallCtx) {
        if self.resume_recording(ctx).is_ok() {
            tracing::info!(call = %self.id, "recording pause ended by itself");
        }
    }

    /// The call ends: a recording in progress is completed (before the CDR
    /// is written, so it lists the file and its pauses).
    pub(crate) fn finish_recording(&mut self, ctx: &mut CallCtx) {
        if self.media.as_ref().is_some_and(|m| m.recording.is_some()) {
            let _ = self.stop_recording(ctx);
        }
    }
}
