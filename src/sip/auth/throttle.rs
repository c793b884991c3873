//! Digest failure throttling that cannot lock out an office (RFC 8760 §4,
//! RFC 7616 §5.1: online password guessing). Pure and sans-IO: the caller
//! passes `now`.
//!
//! Failures are counted per source address *and user* together, and per
//! source address alone with a far higher limit, over a sliding window.
//! Past a limit the switch does not refuse (a blanket 403 would lock out
//! every phone behind one NAT address); it *tarpits*: each further attempt
//! with credentials for that key is verified only after a delay that
//! doubles with every failure, up to a ceiling, and attempts are spaced by
//! that delay, so a guesser gets at most a few guesses per minute however
//! fast it sends. One attempt per key waits at a time; one arriving while
//! another waits is answered with a fresh challenge *without* its
//! credentials being verified ([`Admission::Unverified`]): it learns
//! nothing, and nothing is kept for it. Requests without credentials are
//! never delayed (the challenge is the same for everybody), and a success
//! clears its key.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Throttle limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures of one user from one address within `window` before its
    /// attempts are delayed (0: never).
    pub per_user: u32,
    /// Failures from one address, all users, within `window` before every
    /// attempt from it is delayed (0: never).
    pub per_source: u32,
    /// The sliding window failures are counted in.
    pub window: Duration,
    /// The first delay past a limit; it doubles with each further failure.
    pub first_delay: Duration,
    /// The delay never grows past this.
    pub max_delay: Duration,
    /// Bound on tracked keys; beyond it the stalest are dropped.
    pub max_tracked: usize,
}

impl Default for ThrottleConfig {
    /// 5 failures per user and address, 100 per address, in 10 minutes;
    /// delays of 5 s doubling up to 60 s; 10,000 keys.
    fn default() -> Self {
        ThrottleConfig {
            per_user: 5,
            per_source: 100,
            window: Duration::from_secs(600),
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(60),
            max_tracked: 10_000,
        }
    }
}

/// What to do with an attempt that carries credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Verify it now.
    Now,
    /// Hold it and verify it at this instant (the tarpit).
    At(Instant),
    /// Another attempt of the same key is already held: answer this one
    /// with a fresh challenge without verifying its credentials.
    Unverified,
}

/// Failures of one key and when its next attempt may be verified.
#[derive(Clone, Debug, Default)]
struct Record {
    /// Failure instants inside the window, oldest first.
    failures: Vec<Instant>,
    /// The next attempt of this key is verified no earlier than this.
    next: Option<Instant>,
}

impl Record {
    fn age(&mut self, now: Instant, window: Duration) {
        self.failures.retain(|t| now.saturating_duration_since(*t) < window);
    }

    fn last(&self) -> Option<Instant> {
        self.failures.last().copied().max(self.next)
    }
}

/// Counts digest failures per (address, user) and per address, and spaces
/// the attempts of a key past its limit.
#[derive(Clone, Debug)]
pub struct AuthThrottle {
    cfg: ThrottleConfig,
    by_user: HashMap<(IpAddr, String), Record>,
    by_source: HashMap<IpAddr, Record>,
}

impl AuthThrottle {
    /// A throttle with `cfg`.
    pub fn new(mut cfg: ThrottleConfig) -> AuthThrottle {
        cfg.max_tracked = cfg.max_tracked.max(1);
        cfg.window = cfg.window.max(Duration::from_secs(1));
        AuthThrottle {
            cfg,
            by_user: HashMap::new(),
            by_source: HashMap::new(),
        }
    }

    /// The delay an attempt of a key with `failures` failures waits
    /// under `limit`: none below it, then `first_delay` doubling.
    fn delay(&self, failures: usize, limit: u32) -> Option<Duration> {
        if limit == 0 {
            return None;
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let excess = failures.checked_sub(limit)?;
        let factor = 1u32 << excess.min(16);
        Some(self.cfg.first_delay.saturating_mul(factor).min(self.cfg.max_delay))
    }

    /// An attempt with credentials for `user` from `ip` arrives at `now`.
    /// [`Admission::At`] reserves the key's next slot: the caller holds
    /// the request until then.
    pub fn admit(&mut self, now: Instant, ip: IpAddr, user: &str) -> Admission {
        let window = self.cfg.window;
        let key = (ip, user.to_owned());
        let user_failures = self.by_user.get_mut(&key).map_or(0, |r| {
            r.age(now, window);
            r.failures.len()
        });
        let source_failures = self.by_source.get_mut(&ip).map_or(0, |r| {
            r.age(now, window);
            r.failures.len()
        });
        let delay = self
            .delay(user_failures, self.cfg.per_user)
            .max(self.delay(source_failures, self.cfg.per_source));
        let Some(delay) = delay else {
            return Admission::Now;
        };
        let rec = self.by_user.entry(key).or_default();
        if rec.next.is_some_and(|n| n > now) {
            return Admission::Unverified;
        }
        let at = now + delay;
        rec.next = Some(at);
        self.bound();
        Admission::At(at)
    }

    /// The attempt for `user` from `ip` failed at `now`.
    pub fn record_failure(&mut self, now: Instant, ip: IpAddr, user: &str) {
        let window = self.cfg.window;
        let rec = self.by_user.entry((ip, user.to_owned())).or_default();
        rec.age(now, window);
        rec.failures.push(now);
        let src = self.by_source.entry(ip).or_default();
        src.age(now, window);
        src.failures.push(now);
        self.bound();
    }

    /// The attempt for `user` from `ip` succeeded: that key starts afresh
    /// (the address's count stays: another user's guesses still count).
    pub fn record_success(&mut self, ip: IpAddr, user: &str) {
        self.by_user.remove(&(ip, user.to_owned()));
    }

    /// Failures of `user` from `ip` within the window ending at `now`.
    pub fn failures(&self, now: Instant, ip: IpAddr, user: &str) -> usize {
        self.by_user.get(&(ip, user.to_owned())).map_or(0, |r| {
            r.failures
                .iter()
                .filter(|t| now.saturating_duration_since(**t) < self.cfg.window)
                .count()
        })
    }

    /// Drops keys with nothing inside the window; call periodically.
    pub fn prune(&mut self, now: Instant) {
        let window = self.cfg.window;
        let live = |r: &mut Record| {
            r.age(now, window);
            !r.failures.is_empty() || r.next.is_some_and(|n| n > now)
        };
        self.by_user.retain(|_, r| live(r));
        self.by_source.retain(|_, r| live(r));
    }

    /// Number of tracked keys (users and addresses).
    pub fn tracked(&self) -> usize {
        self.by_user.len() + self.by_source.len()
    }

    fn bound(&mut self) {
        let max = self.cfg.max_tracked;
        while self.by_user.len() > max {
            let Some(k) = self
                .by_user
                .iter()
                .min_by_key(|(_, r)| r.last())
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.by_user.remove(&k);
        }
        while self.by_source.len() > max {
            let Some(k) = self.by_source.iter().min_by_key(|(_, r)| r.last()).map(|(k, _)| *k) else {
                break;
            };
            self.by_source.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    fn throttle() -> AuthThrottle {
        AuthThrottle::new(ThrottleConfig {
            per_user: 3,
            per_source: 10,
            max_tracked: 4,
            ..ThrottleConfig::default()
        })
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_user_past_its_limit_waits_longer_each_failure_up_to_the_ceiling() {
        let t0 = Instant::now();
        let mut t = throttle();
        for i in 0..3 {
            assert_eq!(t.admit(t0, ip(1), "1001"), Admission::Now, "attempt {i}");
            t.record_failure(t0, ip(1), "1001");
        }
        // 4th attempt: 5 s; then 10, 20, 40, 60 (ceiling), 60.
        let mut now = t0;
        for expect in [5, 10, 20, 40, 60, 60] {
            let Admission::At(at) = t.admit(now, ip(1), "1001") else {
                panic!("held")
            };
            assert_eq!(at - now, s(expect));
            now = at;
            t.record_failure(now, ip(1), "1001");
        }
    }

    #[test]
    fn another_user_behind_the_same_address_is_not_slowed() {
        let t0 = Instant::now();
        let mut t = throttle();
        for _ in 0..9 {
            t.record_failure(t0, ip(1), "1001");
        }
        assert!(matches!(t.admit(t0, ip(1), "1001"), Admission::At(_)));
        assert_eq!(t.admit(t0, ip(1), "1002"), Admission::Now);
        assert_eq!(t.admit(t0, ip(2), "1001"), Admission::Now, "the same user elsewhere");
    }

    #[test]
    fn an_address_guessing_many_users_is_slowed_for_all_of_them() {
        let t0 = Instant::now();
        let mut t = throttle();
        for n in 0..10 {
            t.record_failure(t0, ip(1), &format!("{}", 2000 + n));
        }
        assert!(matches!(t.admit(t0, ip(1), "3000"), Admission::At(_)));
        assert_eq!(t.admit(t0, ip(2), "3000"), Admission::Now);
    }

    #[test]
    fn one_attempt_waits_at_a_time_the_others_are_not_verified() {
        let t0 = Instant::now();
        let mut t = throttle();
        for _ in 0..3 {
            t.record_failure(t0, ip(1), "1001");
        }
        let Admission::At(at) = t.admit(t0, ip(1), "1001") else {
            panic!("held")
        };
        assert_eq!(t.admit(t0 + s(1), ip(1), "1001"), Admission::Unverified);
        assert_eq!(t.admit(at - s(1), ip(1), "1001"), Admission::Unverified);
        // Its slot came: the next one is held again (the failure count stands).
        assert!(matches!(t.admit(at, ip(1), "1001"), Admission::At(_)));
    }

    #[test]
    fn success_clears_the_key_and_old_failures_age_out() {
        let t0 = Instant::now();
        let mut t = throttle();
        for _ in 0..3 {
            t.record_failure(t0, ip(1), "1001");
        }
        t.record_success(ip(1), "1001");
        assert_eq!(t.admit(t0, ip(1), "1001"), Admission::Now);
        for _ in 0..3 {
            t.record_failure(t0, ip(1), "1002");
        }
        assert_eq!(t.failures(t0 + s(599), ip(1), "1002"), 3);
        assert_eq!(t.admit(t0 + s(600), ip(1), "1002"), Admission::Now, "aged out");
    }

    #[test]
    fn zero_limits_never_delay_and_keys_are_bounded() {
        let t0 = Instant::now();
        let mut t = AuthThrottle::new(ThrottleConfig {
            per_user: 0,
            per_source: 0,
            max_tracked: 2,
            ..ThrottleConfig::default()
        });
        for n in 0..50u8 {
            t.record_failure(t0 + s(u64::from(n)), ip(n), "1001");
            assert_eq!(t.admit(t0, ip(n), "1001"), Admission::Now);
        }
        assert!(t.tracked() <= 4, "bounded: {}", t.tracked());
        t.prune(t0 + s(3600));
        assert_eq!(t.tracked(), 0);
    }
}
