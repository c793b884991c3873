//! Per-source failure throttling for Digest (RFC 8760 §4, RFC 7616 §5.1:
//! online password guessing). Pure: the caller passes `now` as unix
//! seconds, the same clock the [`super::DigestServer`] nonces use.
//!
//! For each source address the timestamps of the last `max_failures`
//! failures are kept; the source is blocked while all of them fall within
//! `window`, so a block decays by itself once the oldest ages out.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

/// Throttle limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures within `window` that block a source (at least 1).
    pub max_failures: u32,
    /// The sliding window.
    pub window: Duration,
    /// Bound on tracked sources; beyond it the stalest are dropped.
    pub max_tracked: usize,
}

impl Default for ThrottleConfig {
    /// 10 failures per minute, 10,000 sources.
    fn default() -> Self {
        ThrottleConfig {
            max_failures: 10,
            window: Duration::from_secs(60),
            max_tracked: 10_000,
        }
    }
}

/// Counts authentication failures per source IP.
#[derive(Clone, Debug)]
pub struct FailureThrottle {
    cfg: ThrottleConfig,
    by_ip: HashMap<IpAddr, VecDeque<u64>>,
}

impl FailureThrottle {
    /// A throttle with `cfg`.
    pub fn new(mut cfg: ThrottleConfig) -> FailureThrottle {
        cfg.max_failures = cfg.max_failures.max(1);
        cfg.max_tracked = cfg.max_tracked.max(1);
        FailureThrottle {
            cfg,
            by_ip: HashMap::new(),
        }
    }

    /// Records one failure from `ip` at `now`.
    pub fn record_failure(&mut self, now: u64, ip: IpAddr) {
        let cap = self.cap();
        let window = self.window();
        let q = self.by_ip.entry(ip).or_default();
        while q.front().is_some_and(|t| now.saturating_sub(*t) >= window) {
            q.pop_front();
        }
        q.push_back(now);
        while q.len() > cap {
            q.pop_front();
        }
        if self.by_ip.len() > self.cfg.max_tracked {
            self.prune(now);
            self.evict_stalest();
        }
    }

    /// True while `ip` has `max_failures` failures within the window ending at `now`.
    pub fn is_blocked(&self, now: u64, ip: IpAddr) -> bool {
        self.blocked_until(ip).is_some_and(|until| now < until)
    }

    /// When the current block of `ip` ends (if it is at the limit).
    pub fn blocked_until(&self, ip: IpAddr) -> Option<u64> {
        let q = self.by_ip.get(&ip)?;
        if q.len() < self.cap() {
            return None;
        }
        q.front().map(|t| t.saturating_add(self.window()))
    }

    /// Failures of `ip` within the window ending at `now`.
    pub fn failures(&self, now: u64, ip: IpAddr) -> usize {
        self.by_ip.get(&ip).map_or(0, |q| {
            q.iter().filter(|t| now.saturating_sub(**t) < self.window()).count()
        })
    }

    /// Forgets `ip` (e.g. an operator unblocks it).
    pub fn clear(&mut self, ip: IpAddr) {
        self.by_ip.remove(&ip);
    }

    /// Drops sources with no failure inside the window; call periodically.
    pub fn prune(&mut self, now: u64) {
        let window = self.window();
        self.by_ip
            .retain(|_, q| q.back().is_some_and(|t| now.saturating_sub(*t) < window));
    }

    /// Number of tracked sources.
    pub fn tracked(&self) -> usize {
        self.by_ip.len()
    }

    fn window(&self) -> u64 {
        self.cfg.window.as_secs().max(1)
    }

    fn cap(&self) -> usize {
        usize::try_from(self.cfg.max_failures).unwrap_or(usize::MAX)
    }

    fn evict_stalest(&mut self) {
        while self.by_ip.len() > self.cfg.max_tracked {
            let stalest = self
                .by_ip
                .iter()
                .min_by_key(|(_, q)| q.back().copied())
                .map(|(ip, _)| *ip);
            match stalest {
                Some(ip) => {
                    self.by_ip.remove(&ip);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    fn throttle(max: u32) -> FailureThrottle {
        FailureThrottle::new(ThrottleConfig {
            max_failures: max,
            window: Duration::from_secs(60),
            max_tracked: 3,
        })
    }

    #[test]
    fn blocks_after_n_failures_in_window_and_decays() {
        let t0 = 1_700_000_000u64;
        let mut t = throttle(3);
        t.record_failure(t0, ip(1));
        t.record_failure(t0 + 10, ip(1));
        assert!(!t.is_blocked(t0 + 10, ip(1)));
        t.record_failure(t0 + 20, ip(1));
        assert!(t.is_blocked(t0 + 20, ip(1)));
        assert!(!t.is_blocked(t0 + 20, ip(2)));
        assert_eq!(t.blocked_until(ip(1)), Some(t0 + 60));
        assert!(t.is_blocked(t0 + 59, ip(1)));
        // The first failure ages out: unblocked, two failures left.
        assert!(!t.is_blocked(t0 + 60, ip(1)));
        assert_eq!(t.failures(t0 + 60, ip(1)), 2);
        assert_eq!(t.failures(t0 + 81, ip(1)), 0);
    }

    #[test]
    fn spread_out_failures_never_block() {
        let t0 = 1_700_000_000u64;
        let mut t = throttle(3);
        for i in 0..10u64 {
            let now = t0 + 31 * i;
            t.record_failure(now, ip(1));
            assert!(!t.is_blocked(now, ip(1)), "blocked at step {i}");
        }
    }

    #[test]
    fn continued_failures_extend_the_block() {
        let t0 = 1_700_000_000u64;
        let mut t = throttle(2);
        t.record_failure(t0, ip(1));
        t.record_failure(t0 + 1, ip(1));
        t.record_failure(t0 + 50, ip(1));
        assert!(t.is_blocked(t0 + 60, ip(1)), "first block would have ended here");
        assert_eq!(t.blocked_until(ip(1)), Some(t0 + 61));
        assert!(!t.is_blocked(t0 + 61, ip(1)));
    }

    #[test]
    fn prune_and_bound() {
        let t0 = 1_700_000_000u64;
        let mut t = throttle(2);
        for n in 1..=3 {
            t.record_failure(t0 + u64::from(n), ip(n));
        }
        assert_eq!(t.tracked(), 3);
        t.record_failure(t0 + 4, ip(4));
        assert_eq!(t.tracked(), 3, "bounded");
        assert_eq!(t.failures(t0 + 4, ip(1)), 0, "stalest dropped");
        t.prune(t0 + 63);
        assert_eq!(t.tracked(), 1);
        t.clear(ip(4));
        assert_eq!(t.tracked(), 0);
    }
}
