//! A callback request as the store keeps it (CB-8: callbacks survive a
//! restart, none lost or placed twice): plain data, names rather than
//! config indexes (a queue or agent keeps its name across a reordered
//! `acd.toml`), times in unix milliseconds. The engine builds one on every
//! change of a callback; the store inserts or replaces it by id.

use serde::{Deserialize, Serialize};

/// One callback as it stands now (spec CB-1..CB-5, CB-8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackRecord {
    /// `cb-<n>`, unique across restarts.
    pub id: String,
    /// `web`, `scheduled`, `courtesy` or `personal`.
    pub kind: String,
    /// `pending`, `offered`, `dialing`, `done`, `cancelled` or `deleted`.
    pub state: String,
    /// The customer's number as typed.
    pub number: String,
    /// The customer's name as typed.
    pub name: String,
    /// The queue's name.
    pub queue: String,
    /// The customer's IANA time zone.
    pub zone: String,
    /// The window's start.
    pub window_start_ms: u64,
    /// The window's end.
    pub window_end_ms: u64,
    /// Why the customer wants a call.
    pub reason: String,
    /// The assigned agent's login (CB-5); `None`: any agent.
    pub agent: Option<String>,
    /// Higher first (CB-5).
    pub priority: u8,
    /// Times placed.
    pub attempts: u32,
    /// When created.
    pub created_ms: u64,
    /// When last changed.
    pub updated_ms: u64,
    /// The create request's `Idempotency-Key` (unique in the store).
    pub idempotency_key: Option<String>,
    /// The create request's fingerprint (who asked and the body), to tell
    /// a retry from another request with the same key (CB-8).
    pub request: Option<String>,
}
