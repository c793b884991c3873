//! Newtype ids and the seeded generator of SIP identifiers (tags, branches,
//! Call-IDs). Seeded so that tests are deterministic (DESIGN.md convention 7);
//! the driver seeds it from the OS once at start-up.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt;

/// A call (one B2BUA session: an A leg and its B legs) inside the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Generates random tokens for tags (§19.3), branches (§8.1.1.7) and
/// Call-IDs (§8.1.1.4).
#[derive(Debug)]
pub struct IdGen {
    rng: StdRng,
}

impl IdGen {
    /// A generator seeded with `seed`.
    pub fn seeded(seed: u64) -> Self {
        IdGen {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| ALPHABET[self.rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    }

    /// A tag of 10 random characters (§19.3 asks for at least 32 bits).
    pub fn tag(&mut self) -> String {
        self.token(10)
    }

    /// A branch starting with the RFC 3261 magic cookie.
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token(16))
    }

    /// A globally unique Call-ID (random part plus our host).
    pub fn call_id(&mut self, host: &str) -> String {
        format!("{}@{}", self.token(20), host)
    }

    /// A generator seeded with 256 bits (the switch's: from the OS). StdRng
    /// is a CSPRNG (ChaCha12), so its output is fit for keys.
    pub fn from_entropy(entropy: [u8; 32]) -> Self {
        IdGen {
            rng: StdRng::from_seed(entropy),
        }
    }

    /// `N` random bytes for a key, e.g. an SRTP master key and salt for one
    /// leg (RFC 3711 §8.2, RFC 4568 §6.1).
    pub fn key_bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut k = [0u8; N];
        self.rng.fill(&mut k);
        k
    }

    /// A random number (SDP `o=` session ids).
    pub fn number(&mut self) -> u64 {
        self.rng.random_range(1..u64::MAX / 2)
    }

    /// 32 random bytes (digest nonce keys).
    pub fn secret(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        self.rng.fill(&mut s);
        s
    }
}

/// Gives back a handle map's storage after a burst: a hash map keeps its
/// capacity when entries leave, so after a load peak it would hold the
/// peak's memory for good. Amortised O(1): the map is rebuilt only when it
/// is at most a quarter full (and not tiny).
pub fn shrink_if_sparse<K: std::hash::Hash + Eq, V>(m: &mut std::collections::HashMap<K, V>) {
    if m.capacity() > 1024 && m.len() * 4 < m.capacity() {
        m.shrink_to(m.len() * 2);
    }
}
