//! The transport of a WebRTC leg (issue 12): what a browser needs before
//! the first SRTP packet, as sans-IO cores in the style of the rest of the
//! switch (datagrams and time in; datagrams, events and deadlines out).
//!
//! - [`demux`]: one UDP port carries STUN, DTLS and SRTP/SRTCP (RFC 7983,
//!   RFC 5761 rtcp-mux).
//! - [`ice_lite`]: the switch answers the browser's ICE checks as a lite
//!   agent (RFC 8445 §2.5) and keeps consent (RFC 7675).
//! - [`check`]: the browser's side of a connectivity check, for tests,
//!   benchmarks and the load generator that play the browser.
//! - [`dtls`]: the DTLS-SRTP handshake (RFC 5763/5764) that yields the
//!   [`SrtpKeys`](crate::rtp::srtp::SrtpKeys) the media session's SRTP edge
//!   already uses for SDES legs.
//!
//! The crypto is `ring`, through the webrtc-rs `rtc-*` crates' provider.

pub mod check;
pub mod demux;
pub mod dtls;
#[cfg(feature = "fuzzing")]
pub mod fuzz;
pub mod ice_lite;

use rtc_stun::crypto::RTCCryptoProvider;
use std::sync::Arc;

/// The crypto provider the `rtc-*` crates are given (ring).
fn crypto_provider() -> Arc<dyn RTCCryptoProvider> {
    Arc::new(rtc_stun::crypto::providers::RingProvider::new())
}

#[cfg(test)]
mod tests;
