//! SIP Digest authentication (RFC 3261 §22; RFC 7616 for the algorithm
//! details; RFC 8760 for SHA-256 / SHA-512/256 in SIP), sans-IO.
//!
//! * [`DigestServer`] challenges requests (401/407, RFC 3261 §22.2, §22.3)
//!   and verifies `Authorization` / `Proxy-Authorization` credentials. Its
//!   nonces are self-validating (timestamp, sequence, HMAC-SHA256 over both
//!   and the realm), so expiry needs no state; only the highest nonce-count
//!   seen per nonce is kept, to refuse replays (RFC 7616 §3.4, §5.5).
//! * [`DigestClient`] answers a challenge for outbound trunks (RFC 3261
//!   §22.2, RFC 8760 §2.4: the strongest supported algorithm wins).
//! * [`AuthThrottle`] counts failed attempts per source address and user
//!   and tarpits guessers (RFC 8760 §4 notes the offline-dictionary
//!   exposure of Digest; this bounds the online one) without locking out
//!   the other phones behind the same address.
//!
//! Time comes in as unix seconds (`u64`) for nonces, because a nonce must
//! carry an absolute timestamp, and as [`std::time::Instant`] for the
//! in-memory throttle. Nothing here reads the clock.

mod client;
mod digest;
mod nonce;
mod server;
#[cfg(test)]
mod tests;
mod throttle;

pub use client::DigestClient;
pub use digest::{compute_response, Algorithm, DigestInput};
pub use server::{AuthKind, AuthOutcome, DigestServer};
pub use throttle::{Admission, AuthThrottle, ThrottleConfig};

/// Why a challenge could not be answered or credentials could not be
/// checked (the `Malformed` reason of [`AuthOutcome`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The scheme is not `Digest`.
    #[error("authentication scheme is not Digest")]
    NotDigest,
    /// A required parameter is missing (or not UTF-8).
    #[error("missing or unreadable {0} parameter")]
    MissingParam(&'static str),
    /// A parameter has a value of the wrong shape.
    #[error("malformed {0} parameter")]
    BadParam(&'static str),
    /// The `algorithm` is not one we implement.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The `qop` is not `auth` (for instance `auth-int`).
    #[error("unsupported qop {0}")]
    UnsupportedQop(String),
    /// Credentials without `qop` (RFC 2069 form) while the server requires it.
    #[error("qop is required")]
    QopRequired,
    /// `userhash=true` (RFC 7616 §3.4.4) is not offered, so not accepted.
    #[error("userhash is not supported")]
    UserhashUnsupported,
    /// The `uri` parameter does not name the Request-URI (RFC 7616 §3.4.6).
    #[error("digest uri does not match the Request-URI")]
    UriMismatch,
    /// An `Authorization` / `Proxy-Authorization` value does not parse.
    #[error("credentials do not parse")]
    Syntax,
    /// The request has no Request-URI (it is a response).
    #[error("not a request")]
    NotRequest,
}
