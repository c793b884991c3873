//! The RTP core of the media plane: pure, sans-IO functions and state machines
//! over packet bytes, with every time passed in (DESIGN.md: "time and bytes
//! come in as arguments"). Media workers in `src/media/` own the sockets and
//! the clock and pump these.
//!
//! * [`packet`]: a zero-allocation view of an RTP header over `&mut [u8]`
//!   (RFC 3550 §5.1, §5.3.1 extensions, padding), the relay fast path, and
//!   conversions to/from [`rtc_rtp::Packet`] where full parsing is needed.
//! * [`rtcp`]: SR/RR build and parse (RFC 3550 §6.4) with `rtc-rtcp`, and the
//!   per-source reception statistics of RFC 3550 §A.1 (sequence validation),
//!   §A.3 (loss) and §A.8 (interarrival jitter).
//! * [`rewrite`]: per outgoing leg, one continuous stream out of any number of
//!   incoming sources (RFC 3550 §5.1 marker, §8 SSRC, RFC 3551 §4 clock
//!   rates), with payload-type remapping between legs.
//! * [`dtmf`]: RFC 4733 §2.3 telephone-event payloads, a digit detector
//!   (§2.5.1 start/update/end, redundant end packets de-duplicated) and a
//!   sender.
//! * [`srtp`]: SRTP/SRTCP protection of one leg (RFC 3711) with SDES keys
//!   (RFC 4568), over `rtc-srtp`.
//! * [`jitter`]: a bounded jitter buffer for the transcoding path with a
//!   `Missing` result so the caller runs loss concealment.
//!
//! Every parser returns a typed [`RtpError`], never panics on input.
#![deny(missing_docs)]

pub mod dtmf;
#[cfg(feature = "fuzzing")]
pub mod fuzz;
pub mod jitter;
pub mod latch;
pub mod packet;
pub mod rewrite;
pub mod rtcp;
pub mod srtp;

pub use dtmf::{DtmfDetector, DtmfEvent, EventPackets, TelephoneEvent};
pub use jitter::{Insert, JitterBuffer, JitterConfig, JitterStats, Pull, TargetDelay};
pub use latch::{Latch, Verdict};
pub use packet::{RtpFields, RtpHeader, RtpView};
pub use rewrite::{PayloadTypeMap, RewriterConfig, Rewritten, StreamRewriter};
pub use rtcp::{ReceiverStats, RtcpReport, SenderInfo};
pub use srtp::{MasterKey, SrtpError, SrtpKeys, SrtpStream, SrtpSuite};

/// Errors of the RTP layer: malformed packets, unmapped payload types, and
/// failures reported by `rtc-rtp`/`rtc-rtcp`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// The buffer is shorter than the header (fixed part, CSRCs or extension) claims.
    #[error("RTP packet too short: {len} bytes, header needs {needed}")]
    TooShort {
        /// Bytes available.
        len: usize,
        /// Bytes the header requires.
        needed: usize,
    },
    /// The version field is not 2 (RFC 3550 §5.1).
    #[error("RTP version {version}, expected 2")]
    BadVersion {
        /// The version found.
        version: u8,
    },
    /// The padding count is zero or larger than the payload (RFC 3550 §5.1 P bit).
    #[error("RTP padding count {padding} invalid for {available} payload bytes")]
    BadPadding {
        /// The padding count in the last octet.
        padding: u8,
        /// Octets between the header and the end of the packet.
        available: usize,
    },
    /// An output buffer cannot hold what must be written.
    #[error("buffer too small: {len} bytes, need {needed}")]
    BufferTooSmall {
        /// Bytes available.
        len: usize,
        /// Bytes required.
        needed: usize,
    },
    /// The payload type has no entry in the leg's payload-type map.
    #[error("payload type {payload_type} is not mapped on this leg")]
    UnmappedPayloadType {
        /// The incoming payload type.
        payload_type: u8,
    },
    /// A telephone-event payload is shorter than 4 octets (RFC 4733 §2.3).
    #[error("telephone-event payload too short: {len} bytes")]
    EventTooShort {
        /// Bytes available.
        len: usize,
    },
    /// An RTCP compound datagram whose packets' length fields do not add up
    /// to it, or whose version is not 2 (RFC 3550 §6.1, §A.2).
    #[error("RTCP datagram malformed at octet {offset}: {reason}")]
    BadCompound {
        /// Where the bad packet starts.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An RTCP datagram held no SR or RR (RFC 3550 §6.4).
    #[error("RTCP datagram holds no sender or receiver report")]
    NoReport,
    /// More reception report blocks than the 5-bit count allows (RFC 3550 §6.4.1).
    #[error("{count} reception report blocks, at most 31 fit in one SR/RR")]
    TooManyReports {
        /// Blocks requested.
        count: usize,
    },
    /// `rtc-rtp` or `rtc-rtcp` rejected the packet.
    #[error("rtc codec: {0}")]
    Codec(#[from] rtc_shared::error::Error),
}
