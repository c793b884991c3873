//! The silent-monitor leg of a call (spec SUP-2, SUP-4): a party leg
//! (`party`) towards a supervisor's phone while the call is connected. The
//! switch offers `sendonly` from the leg's own port; once the phone
//! answers, the media workers feed it the mix of both parties
//! ([`MediaCommand::Monitor`]) and it is never heard.
//!
//! The supervisor's BYE ends only the monitor leg. The call ending sends
//! the monitor BYE, or CANCEL while its phone still rings (SUP-4: in a
//! queue call the monitored agent is the only agent, so when it leaves the
//! call ends and the supervisor is removed). Which interactions may be
//! monitored (SUP-3) is the engine's to check before calling
//! [`Call::start_monitor`].

use super::media::{MediaCommand, RelayLeg};
use super::party::{listen_policy, PartyTarget};
use super::{Call, CallCtx, PartyKind, PartyLeg, PartyState};
use crate::sdp::Direction;
use crate::sip::msg::Uri;
use crate::sip::transaction::Destination;

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
        self.place_party(ctx, target, &listen_policy(), Direction::SendOnly)
            .map_err(|e| format!("{e} (phone {})", req.extension))?;
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

    /// The silent monitor's leg, if one is live (SUP-2).
    pub fn monitor(&self) -> Option<(usize, &PartyLeg)> {
        self.b.iter().enumerate().find_map(|(i, l)| {
            l.party()
                .filter(|p| p.is_supervisor() && p.state != PartyState::Ended)
                .map(|p| (i, p))
        })
    }
}
