//! What a queued caller hears while waiting: the 18x repeated every minute
//! (RFC 3261 §13.3.1.1) and tone announcements of place in line and
//! expected wait (see `queue` for the model of the expected wait).

use super::queue::interaction_of;
use super::{Engine, EngineTimer, Now, Output};
use crate::acd::QueueId;
use crate::call::media::{MediaCommand, MediaLeg};
use crate::call::Phase;
use crate::ids::CallRef;
use std::time::Duration;

/// How often the 183 is repeated while the caller waits (RFC 3261 §13.3.1.1).
pub(super) const PROGRESS_EVERY: Duration = Duration::from_secs(60);
/// The first announcement, after arrival (a caller offered at once hears none).
pub(super) const FIRST_ANNOUNCEMENT: Duration = Duration::from_secs(3);
/// Average handling time assumed before any interaction was handled.
const DEFAULT_AHT: Duration = Duration::from_secs(180);

impl Engine {
    /// Announce timer: tells a waiting caller its place and expected wait.
    pub(crate) fn on_announce(&mut self, now: Now, id: CallRef) {
        let interaction = interaction_of(id);
        let Some(info) = self.acd.interaction(interaction) else {
            return;
        };
        let (queue, phase) = (info.queue, info.phase);
        let Some(q) = self.cfg.acd().queue(queue) else {
            return;
        };
        let Some(every) = q.announce_every else { return };
        self.timers.set(EngineTimer::Announce(id), now.mono + every);
        if phase != crate::acd::Phase::Queued {
            return;
        }
        let Some(place) = self.acd.waiting(queue).iter().position(|i| *i == interaction) else {
            return;
        };
        let position = place as u32 + 1;
        let wait_s = self.expected_wait(queue, position).as_secs();
        self.out.push_back(Output::Media(MediaCommand::Announce {
            call: id.0,
            leg: MediaLeg::A,
            position,
            wait_s,
        }));
    }

    /// Expected wait of the caller at `position` (see the module docs).
    pub(crate) fn expected_wait(&self, queue: QueueId, position: u32) -> Duration {
        let aht = self.acd.average_handle_time(queue).unwrap_or(DEFAULT_AHT);
        let staffed = self
            .cfg
            .acd()
            .agents
            .iter()
            .filter(|a| a.skills.iter().any(|(q, _)| *q == queue))
            .filter(|a| self.acd.agent_state(a.id).is_some_and(|s| s.is_logged_in()))
            .count()
            .max(1) as u32;
        aht * position / staffed
    }

    /// Progress timer: repeats the caller's 18x while it waits.
    pub(crate) fn on_progress(&mut self, now: Now, id: CallRef) {
        let Some(p) = self
            .queues
            .calls
            .get(&interaction_of(id))
            .and_then(|c| c.progress.clone())
            .or_else(|| self.flow_progress(id).map(Box::new))
        else {
            return;
        };
        let Some(call) = self.calls.get(&id) else { return };
        if call.phase != Phase::Routing {
            return;
        }
        let atx = call.a.tx;
        self.respond(now, atx, *p);
        self.timers.set(EngineTimer::Progress(id), now.mono + PROGRESS_EVERY);
    }
}
