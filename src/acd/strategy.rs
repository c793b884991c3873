//! Routing strategies (AGENT-2: only `Available` agents are candidates) as
//! one enum parsed at config load (DESIGN.md convention 5), and the per-queue
//! pool of available agents each strategy picks from.
//!
//! A pool is kept ordered for its strategy, so a routing decision is a
//! B-tree lookup (`O(log n)`), never a scan of all agents: longest-idle
//! orders by the time the agent became available, fewest-calls by calls
//! handled then idle time, skills-based by skill level (best first) then
//! idle time, round-robin by agent id with a cursor after the last agent
//! picked. Ring-all offers every pool member at once, longest idle first.

use super::ids::AgentId;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::time::Instant;

/// How a queue chooses among its available agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The agent available for the longest time.
    LongestIdle,
    /// Agents in turn (by id), starting after the last one offered.
    RoundRobin,
    /// Every available agent's phone at once; the first to answer takes it.
    RingAll,
    /// The agent with the fewest interactions connected since login; ties: longest idle.
    FewestCalls,
    /// The best skill level for the queue; ties: longest idle.
    SkillsBased,
}

impl std::str::FromStr for Strategy {
    type Err = String;
    /// Parses the config spelling (`longest-idle`, `round-robin`, `ring-all`,
    /// `fewest-calls`, `skills-based`); anything else is a config error.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "longest-idle" => Strategy::LongestIdle,
            "round-robin" => Strategy::RoundRobin,
            "ring-all" => Strategy::RingAll,
            "fewest-calls" => Strategy::FewestCalls,
            "skills-based" => Strategy::SkillsBased,
            other => return Err(format!("unknown ACD strategy {other:?}")),
        })
    }
}

/// What an agent is ordered by in a pool, fixed while it is in the pool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolKey {
    pub available_since: Option<Instant>,
    pub calls: u32,
    pub skill: u8,
}

/// The available agents of one queue, ordered for the queue's strategy.
#[derive(Debug)]
pub(crate) enum Pool {
    /// Longest-idle, ring-all, fewest-calls, skills-based: `(rank, since, agent)`.
    Ranked {
        strategy: Strategy,
        set: BTreeSet<(u32, Option<Instant>, AgentId)>,
    },
    /// Round-robin: agents by id and the last one picked.
    Rotation {
        set: BTreeSet<AgentId>,
        last: Option<AgentId>,
    },
}

impl Pool {
    pub fn new(strategy: Strategy) -> Self {
        match strategy {
            Strategy::RoundRobin => Pool::Rotation {
                set: BTreeSet::new(),
                last: None,
            },
            _ => Pool::Ranked {
                strategy,
                set: BTreeSet::new(),
            },
        }
    }

    fn rank(strategy: Strategy, key: PoolKey) -> u32 {
        match strategy {
            Strategy::FewestCalls => key.calls,
            Strategy::SkillsBased => u32::from(u8::MAX - key.skill),
            _ => 0,
        }
    }

    pub fn insert(&mut self, agent: AgentId, key: PoolKey) {
        match self {
            Pool::Ranked { strategy, set } => {
                set.insert((Self::rank(*strategy, key), key.available_since, agent));
            }
            Pool::Rotation { set, .. } => {
                set.insert(agent);
            }
        }
    }

    pub fn remove(&mut self, agent: AgentId, key: PoolKey) {
        match self {
            Pool::Ranked { strategy, set } => {
                set.remove(&(Self::rank(*strategy, key), key.available_since, agent));
            }
            Pool::Rotation { set, .. } => {
                set.remove(&agent);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Pool::Ranked { set, .. } => set.is_empty(),
            Pool::Rotation { set, .. } => set.is_empty(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Pool::Ranked { set, .. } => set.len(),
            Pool::Rotation { set, .. } => set.len(),
        }
    }

    /// The agent the strategy picks, skipping `excluded` (agents who
    /// declined this interaction); advances the round-robin cursor.
    pub fn pick(&mut self, excluded: &[AgentId]) -> Option<AgentId> {
        match self {
            Pool::Ranked { set, .. } => set.iter().map(|e| e.2).find(|a| !excluded.contains(a)),
            Pool::Rotation { set, last } => {
                let after = match *last {
                    Some(l) => Bound::Excluded(l),
                    None => Bound::Unbounded,
                };
                let found = set
                    .range((after, Bound::Unbounded))
                    .chain(set.range(..))
                    .copied()
                    .find(|a| !excluded.contains(a));
                if found.is_some() {
                    *last = found;
                }
                found
            }
        }
    }

    /// Every member but `excluded`, in the strategy's order (ring-all).
    pub fn all(&self, excluded: &[AgentId]) -> Vec<AgentId> {
        match self {
            Pool::Ranked { set, .. } => set.iter().map(|e| e.2).filter(|a| !excluded.contains(a)).collect(),
            Pool::Rotation { set, .. } => set.iter().copied().filter(|a| !excluded.contains(a)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Pool ordering without a clock (no `Instant` is built here: the
    //! longest-idle order is covered in virtual time by `tests/acd`).
    use super::*;

    fn key(calls: u32, skill: u8) -> PoolKey {
        PoolKey {
            available_since: None,
            calls,
            skill,
        }
    }

    #[test]
    fn ranked_pools_order_by_strategy_and_skip_excluded() {
        let agents = [(1, key(2, 5)), (2, key(3, 9)), (3, key(1, 9))];
        let picks = |s: Strategy, excluded: &[AgentId]| {
            let mut p = Pool::new(s);
            for (a, k) in agents {
                p.insert(AgentId(a), k);
            }
            p.pick(excluded)
        };
        assert_eq!(picks(Strategy::LongestIdle, &[]), Some(AgentId(1)));
        assert_eq!(picks(Strategy::FewestCalls, &[]), Some(AgentId(3)));
        assert_eq!(picks(Strategy::SkillsBased, &[]), Some(AgentId(2)));
        assert_eq!(picks(Strategy::SkillsBased, &[AgentId(2)]), Some(AgentId(3)));
        let mut p = Pool::new(Strategy::LongestIdle);
        p.insert(AgentId(1), agents[0].1);
        p.remove(AgentId(1), agents[0].1);
        assert!(p.is_empty());
    }

    #[test]
    fn round_robin_wraps_around_and_skips_excluded() {
        let mut p = Pool::new(Strategy::RoundRobin);
        for a in [5, 1, 3] {
            p.insert(AgentId(a), key(0, 0));
        }
        let got: Vec<_> = (0..4).filter_map(|_| p.pick(&[])).map(|a| a.0).collect();
        assert_eq!(got, [1, 3, 5, 1]);
        assert_eq!(p.pick(&[AgentId(3)]), Some(AgentId(5)));
        assert_eq!(p.all(&[AgentId(5)]), [AgentId(1), AgentId(3)]);
    }
}
