//! Tests of the pure RTP core (`switchboard::rtp`): packets, rewriting,
//! RTCP, RFC 4733 DTMF, the jitter buffer. Every time is virtual: an origin
//! read once from the clock (tests live outside `src/`, so that is allowed)
//! plus computed offsets.

use std::time::Instant;

mod dtmf;
mod jitter;
mod latch;
mod packet;
mod rewrite;
mod rtcp;

/// The virtual clock's origin.
pub fn origin() -> Instant {
    Instant::now()
}
