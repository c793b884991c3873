//! Tests of the SDP module, each naming the RFC section it checks: parsing and
//! printing (RFC 8866 §5), codecs (RFC 3551 §6, RFC 7587, RFC 4733),
//! offer/answer (RFC 3264 §5–§8) and the port pool (RFC 3550 §11).

mod codecs;
mod mutation;
mod negotiate;
mod parse;
mod ports;
mod srtp;
mod vectors;
mod webrtc;

/// Turns a readable `\n`-separated vector into CRLF SDP.
pub(super) fn crlf(s: &str) -> String {
    s.lines().map(|l| format!("{l}\r\n")).collect()
}
