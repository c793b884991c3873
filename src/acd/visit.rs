//! An interaction's stays in queues, for the contact-center statistics
//! (issue 13 item 3; the definitions are in `crate::records::stats`).
//!
//! A *visit* runs from the moment the interaction joins a queue's line to
//! the moment it leaves that queue: an agent answers it, the caller hangs
//! up, it overflows, a supervisor or an agent moves it to another queue, it
//! is transferred out or closed. A call that overflows from `support` to
//! `sales` is one interaction with two visits, offered once to each queue.
//! A RONA puts the call back in the same line: same visit (its wait goes
//! on). A call that comes back to a line after it was answered (a transfer
//! to a queue, or a blind transfer to a number that failed, CALL-XFER-2)
//! starts a new visit: the customer waits again.

use super::ids::{AgentId, QueueId};
use super::interaction::Outcome;
use std::time::Instant;

/// How a queue visit ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VisitEnd {
    /// An agent answered it from this queue.
    Answered,
    /// The caller hung up while in this queue.
    Abandoned,
    /// It overflowed (to another queue or a dial-plan target).
    Overflowed,
    /// A supervisor (SUP-5) or an agent (CALL-XFER-1) moved it to another queue.
    Moved,
    /// Transferred out to a number before any agent answered it.
    Transferred,
    /// A supervisor closed it (SUP-6).
    Closed,
}

impl VisitEnd {
    /// The stored name (`answered`, `abandoned`, …).
    pub fn name(self) -> &'static str {
        match self {
            VisitEnd::Answered => "answered",
            VisitEnd::Abandoned => "abandoned",
            VisitEnd::Overflowed => "overflowed",
            VisitEnd::Moved => "moved",
            VisitEnd::Transferred => "transferred",
            VisitEnd::Closed => "closed",
        }
    }

    /// Every way a visit can end.
    pub const ALL: [VisitEnd; 6] = [
        VisitEnd::Answered,
        VisitEnd::Abandoned,
        VisitEnd::Overflowed,
        VisitEnd::Moved,
        VisitEnd::Transferred,
        VisitEnd::Closed,
    ];

    /// The inverse of [`VisitEnd::name`].
    pub fn from_name(name: &str) -> Option<VisitEnd> {
        VisitEnd::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl From<Outcome> for VisitEnd {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Answered => VisitEnd::Answered,
            Outcome::Abandoned => VisitEnd::Abandoned,
            Outcome::Overflowed => VisitEnd::Overflowed,
            Outcome::Closed => VisitEnd::Closed,
            Outcome::Transferred => VisitEnd::Transferred,
        }
    }
}

/// One stay of an interaction in one queue (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueVisit {
    /// The queue.
    pub queue: QueueId,
    /// When it joined the queue's line.
    pub entered: Instant,
    /// When it left the queue (`None`: it still is in it).
    pub left: Option<Instant>,
    /// How it left.
    pub end: Option<VisitEnd>,
    /// The agent who answered it (`end` is `Answered`).
    pub agent: Option<AgentId>,
    /// Offers made to agents during the visit.
    pub offers: u32,
    /// Offers that rang out or could not reach the agent's phone, each
    /// setting the agent `Idle(RONA)` (OFFER-4).
    pub ronas: u32,
}

impl QueueVisit {
    /// A visit to `queue` starting at `now`.
    pub fn new(queue: QueueId, now: Instant) -> Self {
        QueueVisit {
            queue,
            entered: now,
            left: None,
            end: None,
            agent: None,
            offers: 0,
            ronas: 0,
        }
    }
}

/// An interaction's visits, in order; at most the last one is open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Visits(Vec<QueueVisit>);

impl Visits {
    /// The visits, oldest first.
    pub fn all(&self) -> &[QueueVisit] {
        &self.0
    }

    /// The visit under way, if the interaction is in a queue.
    pub fn open_mut(&mut self) -> Option<&mut QueueVisit> {
        self.0.last_mut().filter(|v| v.left.is_none())
    }

    /// It joins `queue` at `now`; a visit still open elsewhere ends as `moved`
    /// (`end`, e.g. [`VisitEnd::Overflowed`]). In the same queue already: nothing.
    pub fn enter(&mut self, now: Instant, queue: QueueId, moved: VisitEnd) {
        if let Some(open) = self.open_mut() {
            if open.queue == queue {
                return;
            }
            open.left = Some(now);
            open.end = Some(moved);
        }
        self.0.push(QueueVisit::new(queue, now));
    }

    /// The visit under way ends at `now` with `end` (answered by `agent`).
    /// No visit under way: nothing (an agent taking over an answered call).
    pub fn leave(&mut self, now: Instant, end: VisitEnd, agent: Option<AgentId>) {
        if let Some(open) = self.open_mut() {
            open.left = Some(now);
            open.end = Some(end);
            open.agent = agent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_overflow_ends_one_visit_and_starts_the_next() {
        let t0 = Instant::now();
        let (a, b) = (QueueId(1), QueueId(2));
        let mut v = Visits::default();
        v.enter(t0, a, VisitEnd::Moved);
        v.enter(t0 + Duration::from_secs(3), a, VisitEnd::Moved);
        assert_eq!(v.all().len(), 1, "the same queue again is the same visit");
        v.enter(t0 + Duration::from_secs(30), b, VisitEnd::Overflowed);
        v.leave(t0 + Duration::from_secs(40), VisitEnd::Answered, Some(AgentId(7)));
        v.leave(t0 + Duration::from_secs(50), VisitEnd::Abandoned, None);
        let all = v.all();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].queue, all[0].end, all[0].left),
            (a, Some(VisitEnd::Overflowed), Some(t0 + Duration::from_secs(30)))
        );
        assert_eq!(
            (all[1].queue, all[1].end, all[1].agent),
            (b, Some(VisitEnd::Answered), Some(AgentId(7)))
        );
        assert_eq!(
            all[1].left,
            Some(t0 + Duration::from_secs(40)),
            "a closed visit is not closed again"
        );
    }

    #[test]
    fn end_names_round_trip() {
        for e in VisitEnd::ALL {
            assert_eq!(VisitEnd::from_name(e.name()), Some(e));
        }
        assert_eq!(VisitEnd::from_name("lost"), None);
    }
}
