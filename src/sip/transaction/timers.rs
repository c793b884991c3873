//! Transaction timers (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2 and
//! the Table 4 summary in Appendix A; RFC 6026 §8.4 Timer M and §8.7
//! Timer L).
//!
//! [`Timer`] names every timer a transaction can arm; [`TimerConfig`] holds
//! T1, T2, T4 (overridable from config, defaults as in the RFC and
//! kamailio's `tm/config.h`) and derives each timer's duration, including
//! the "zero for reliable transports" rule of D, I, J and K.

use std::time::Duration;

/// One transaction timer. Each machine arms only its own subset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE request retransmit (client INVITE, Calling; unreliable only).
    A,
    /// INVITE transaction timeout (client INVITE, Calling).
    B,
    /// Wait time for response retransmits (client INVITE, Completed).
    D,
    /// Non-INVITE request retransmit (client non-INVITE; unreliable only).
    E,
    /// Non-INVITE transaction timeout (client non-INVITE).
    F,
    /// INVITE final response retransmit (server INVITE, Completed; unreliable only).
    G,
    /// Wait time for ACK receipt (server INVITE, Completed).
    H,
    /// Wait time for ACK retransmits (server INVITE, Confirmed).
    I,
    /// Wait time for non-INVITE request retransmits (server non-INVITE, Completed).
    J,
    /// Wait time for response retransmits (client non-INVITE, Completed).
    K,
    /// Wait time for 2xx retransmissions and ACKs (server INVITE, Accepted; RFC 6026 §8.7).
    L,
    /// Wait time for 2xx retransmissions (client INVITE, Accepted; RFC 6026 §8.4).
    M,
    /// Delay before the server INVITE transaction answers `100 Trying` on
    /// the TU's behalf (§17.2.1: "within 200 ms"); not an RFC timer name.
    Trying,
}

/// Timer base values and the durations derived from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, T1 (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE
    /// responses, T2 (default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network, T4 (default 5 s).
    pub t4: Duration,
    /// How long a server INVITE transaction waits for the TU's first
    /// response before sending `100 Trying` itself (default 200 ms,
    /// §17.2.1); `None` leaves the 100 entirely to the TU.
    pub trying_delay: Option<Duration>,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            trying_delay: Some(Duration::from_millis(200)),
        }
    }
}

/// Smallest retransmit interval used, so that a zero T1 cannot make a
/// retransmit timer fire forever at the same instant.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

impl TimerConfig {
    /// 64*T1: the timeout of Timers B, F, H, J (unreliable) and the
    /// RFC 6026 Timers L and M.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// First interval of Timer A, E or G: T1.
    pub fn initial_interval(&self) -> Duration {
        self.t1.max(MIN_INTERVAL)
    }

    /// Timer B: 64*T1.
    pub fn b(&self) -> Duration {
        self.timeout()
    }

    /// Timer D: at least 32 s for unreliable transports, zero for reliable.
    pub fn d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            Duration::from_secs(32)
        }
    }

    /// Timer F: 64*T1.
    pub fn f(&self) -> Duration {
        self.timeout()
    }

    /// Timer H: 64*T1.
    pub fn h(&self) -> Duration {
        self.timeout()
    }

    /// Timer I: T4 for unreliable transports, zero for reliable.
    pub fn i(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer J: 64*T1 for unreliable transports, zero for reliable.
    pub fn j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.timeout()
        }
    }

    /// Timer K: T4 for unreliable transports, zero for reliable.
    pub fn k(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer L (server INVITE, Accepted): 64*T1.
    pub fn l(&self) -> Duration {
        self.timeout()
    }

    /// Timer M (client INVITE, Accepted): 64*T1.
    pub fn m(&self) -> Duration {
        self.timeout()
    }

    /// The next Timer A interval: doubles without a cap (§17.1.1.2).
    pub fn next_a(&self, current: Duration) -> Duration {
        (current * 2).max(MIN_INTERVAL)
    }

    /// The next Timer E or G interval: doubles, capped at T2
    /// (§17.1.2.2, §17.2.1).
    pub fn next_capped(&self, current: Duration) -> Duration {
        (current * 2).min(self.t2).max(MIN_INTERVAL)
    }
}
