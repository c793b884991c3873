//! Deadlines for the sans-IO cores (DESIGN.md convention 2): a [`TimerTable`]
//! maps a small key (a timer enum, a transaction id, `(id, timer)`) to the
//! [`Instant`] at which it fires.
//!
//! The table never reads the clock: callers pass every deadline and every
//! "now" in, which is what lets RFC 3261's 32-second timers run in
//! microseconds under a virtual clock. The shape follows quinn-proto's
//! `connection/timer.rs`: `set`/`cancel`, `next_expiry` for `poll_timeout`,
//! and `expired(now)` for `handle_timeout`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A set of armed timers, at most one deadline per key.
///
/// `set`, `cancel` and `pop_expired` are `O(log n)`; `next_expiry` is
/// `O(log n)` too, so one table can hold every transaction of a busy switch.
/// Keys fire in deadline order; keys with the same deadline fire in key
/// order (hence `K: Ord`), which keeps tests deterministic.
#[derive(Clone, Debug)]
pub struct TimerTable<K> {
    // A B-tree, not a hash table: under steady churn (thousands of
    // transactions a second) a hash table fills with deleted slots and
    // doubles at a random moment; a B-tree's memory follows the live count.
    by_key: BTreeMap<K, Instant>,
    by_deadline: BTreeSet<(Instant, K)>,
}

impl<K> Default for TimerTable<K> {
    fn default() -> Self {
        TimerTable {
            by_key: BTreeMap::new(),
            by_deadline: BTreeSet::new(),
        }
    }
}

impl<K: Copy + Ord> TimerTable<K> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `key` to fire at `at`, replacing any earlier deadline of the
    /// same key; returns the replaced deadline.
    pub fn set(&mut self, key: K, at: Instant) -> Option<Instant> {
        let old = self.by_key.insert(key, at);
        if let Some(old) = old {
            self.by_deadline.remove(&(old, key));
        }
        self.by_deadline.insert((at, key));
        old
    }

    /// Disarms `key`; returns its deadline if it was armed.
    pub fn cancel(&mut self, key: K) -> Option<Instant> {
        let old = self.by_key.remove(&key)?;
        self.by_deadline.remove(&(old, key));
        Some(old)
    }

    /// The deadline of `key`, if armed.
    pub fn get(&self, key: K) -> Option<Instant> {
        self.by_key.get(&key).copied()
    }

    /// True when `key` is armed.
    pub fn is_set(&self, key: K) -> bool {
        self.by_key.contains_key(&key)
    }

    /// The earliest deadline of all armed keys (what `poll_timeout` returns).
    pub fn next_expiry(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest key whose deadline is at or before
    /// `now`, with its deadline. Handlers that arm new timers while draining
    /// should loop on this rather than on [`Self::expired`].
    pub fn pop_expired(&mut self, now: Instant) -> Option<(K, Instant)> {
        let &(at, key) = self.by_deadline.first()?;
        if at > now {
            return None;
        }
        self.by_deadline.pop_first();
        self.by_key.remove(&key);
        Some((key, at))
    }

    /// Removes and returns every key whose deadline is at or before `now`,
    /// earliest first.
    pub fn expired(&mut self, now: Instant) -> Vec<K> {
        let mut out = Vec::new();
        while let Some((key, _)) = self.pop_expired(now) {
            out.push(key);
        }
        out
    }

    /// Number of armed keys.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        self.by_key.clear();
        self.by_deadline.clear();
    }

    /// Iterates the armed keys with their deadlines, earliest first.
    pub fn iter(&self) -> impl Iterator<Item = (K, Instant)> + '_ {
        self.by_deadline.iter().map(|&(at, k)| (k, at))
    }
}

/// A timer table for a handful of keys (a transaction's two or three
/// timers): a small vector scanned linearly. Same contract as
/// [`TimerTable`], but no hash map or tree per owner, which matters when
/// tens of thousands of transactions each own one.
#[derive(Debug, Clone)]
pub struct SmallTimers<K> {
    armed: Vec<(K, Instant)>,
}

impl<K> Default for SmallTimers<K> {
    fn default() -> Self {
        SmallTimers { armed: Vec::new() }
    }
}

impl<K: Copy + Eq + Ord> SmallTimers<K> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms (or re-arms) `key` for `at`; returns the previous deadline.
    pub fn set(&mut self, key: K, at: Instant) -> Option<Instant> {
        match self.armed.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => Some(std::mem::replace(&mut slot.1, at)),
            None => {
                self.armed.push((key, at));
                None
            }
        }
    }

    /// Disarms `key`; returns its deadline if it was armed.
    pub fn cancel(&mut self, key: K) -> Option<Instant> {
        let i = self.armed.iter().position(|(k, _)| *k == key)?;
        Some(self.armed.swap_remove(i).1)
    }

    /// The earliest deadline.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.armed.iter().map(|(_, at)| *at).min()
    }

    /// Removes and returns the earliest timer due at `now` (ties: the
    /// smallest key), or `None`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(K, Instant)> {
        let i = self
            .armed
            .iter()
            .enumerate()
            .filter(|(_, (_, at))| *at <= now)
            .min_by_key(|(_, (k, at))| (*at, *k))
            .map(|(i, _)| i)?;
        Some(self.armed.swap_remove(i))
    }

    /// Disarms everything and frees the storage.
    pub fn clear(&mut self) {
        self.armed = Vec::new();
    }
}

/// The current time, as the driver read it: monotonic for timers, wall
/// clock (unix milliseconds) for registrations and records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic instant.
    pub mono: Instant,
    /// Unix time in milliseconds.
    pub unix_ms: u64,
}

impl Now {
    /// Unix seconds.
    pub fn unix_s(&self) -> u64 {
        self.unix_ms / 1000
    }

    /// The same moment `d` later.
    pub fn plus(&self, d: Duration) -> Now {
        Now {
            mono: self.mono + d,
            unix_ms: self.unix_ms + d.as_millis() as u64,
        }
    }
}
