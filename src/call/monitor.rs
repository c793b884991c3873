//! The supervisor's leg of a call (spec SUP-2, SUP-4): a party leg
//! (`party`) towards a supervisor's phone while the call is connected. The
//! switch offers `sendrecv` from the leg's own port, so that whisper and
//! barge need no re-INVITE; once the phone answers, the media workers feed
//! it the mix of both parties ([`MediaCommand::Monitor`]) and, while it
//! listens, drop whatever it sends: it is never heard. Whisper (heard by
//! the agent only) and barge (heard by all) move it onto the conference
//! bridge ([`MediaCommand::MonitorMode`]), and back on listen.
//!
//! The supervisor's BYE ends only the monitor leg. The call ending sends
//! the monitor BYE, or CANCEL while its phone still rings (SUP-4: in a
//! queue call the monitored agent is the only agent, so when it leaves the
//! call ends and the supervisor is removed). Which interactions may be
//! monitored (SUP-3) is the engine's to check before calling
//! [`Call::start_monitor`].

use super::media::{MediaCommand, MediaLeg, PartyMode, RelayLeg};
use super::party::{listen_policy, PartyTarget};
use super::{Call, CallCtx, ControlError, PartyKind, PartyLeg, PartyState};
use crate::sdp::Direction;
use crate::sip::msg::Uri;
use crate::sip::transaction::Destination;

/// What a supervisor does on a monitored call (SUP-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupervisorMode {
    /// Silent monitor: hears both parties, heard by nobody.
    Listen,
    /// Coach: heard by the agent only.
    Whisper,
    /// Barge: joins the call, heard by everyone.
    Barge,
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
    /// port of its own, asking it to answer by itself. `Err` names why it
    /// could not be placed.
    pub fn start_monitor(&mut self, ctx: &mut CallCtx, req: MonitorRequest) -> Result<(), String> {
        let target = PartyTarget {
            kind: PartyKind::Supervisor {
                supervisor: req.supervisor.clone(),
            },
            extension: req.extension.clone(),
            interaction: req.interaction.clone(),
            uri: req.uri,
            dest: req.dest,
            trunk: None,
            display: format!("Monitor {}", req.agent),
            auto_answer: true,
        };
        self.place_party(ctx, target, &listen_policy(), Direction::SendRecv)
            .map_err(|e| format!("{e} (phone {})", req.extension))?;
        self.monitor_mode = SupervisorMode::Listen;
        tracing::info!(call = %self.id, supervisor = %req.supervisor, extension = %req.extension,
            interaction = %req.interaction, "silent monitor: calling the supervisor's phone");
        Ok(())
    }

    /// The supervisor's phone answered: it hears the call.
    pub(crate) fn monitor_joined(&mut self, ctx: &mut CallCtx, leg: RelayLeg) {
        tracing::info!(call = %self.id, codec = ?leg.audio.codec, "silent monitor: the supervisor listens");
        ctx.media(MediaCommand::Monitor {
            call: self.id.0,
            leg: Box::new(leg),
        });
    }

    /// SUP-2: the supervisor listens, whispers to `agent`'s leg (heard by
    /// the agent only) or barges in (heard by everyone), on the same leg.
    pub fn supervisor_mode(
        &mut self,
        ctx: &mut CallCtx,
        mode: SupervisorMode,
        agent: MediaLeg,
    ) -> Result<(), ControlError> {
        let Some((_, p)) = self.monitor() else {
            return Err(ControlError::Conflict("the interaction is not monitored"));
        };
        if p.state != PartyState::Answered {
            return Err(ControlError::Conflict("the supervisor's phone has not answered yet"));
        }
        self.monitor_mode = mode;
        let mode = match mode {
            SupervisorMode::Listen => PartyMode::Muted,
            SupervisorMode::Whisper => PartyMode::Whisper { to: agent },
            SupervisorMode::Barge => PartyMode::Talk,
        };
        ctx.media(MediaCommand::MonitorMode { call: self.id.0, mode });
        tracing::info!(call = %self.id, ?mode, "supervisor mode changed");
        Ok(())
    }

    /// The mode's name on the API (`listen`, `whisper`, `barge`).
    pub fn monitor_mode_name(&self) -> &'static str {
        match self.monitor_mode {
            SupervisorMode::Listen => "listen",
            SupervisorMode::Whisper => "whisper",
            SupervisorMode::Barge => "barge",
        }
    }

    /// The silent monitor's leg, if one is live (SUP-2).
    pub fn monitor(&self) -> Option<(usize, &PartyLeg)> {
        self.b.iter().enumerate().find_map(|(i, l)| {
            l.party()
                .filter(|p| p.is_supervisor() && p.state != PartyState::Ended)
                .map(|p| (i, p))
        })
    }
}
