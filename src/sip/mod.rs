//! SIP (RFC 3261): messages, transport framing, transactions, dialogs,
//! registrar and digest authentication. Everything here is sans-IO.
//!
//! Stream framing (§18.3) lives with the parser, in [`msg::frame_stream`]:
//! it shares the header scanner, so a separate `transport` module would
//! only re-export it. The sockets themselves are in `driver::net`.

pub mod auth;
pub mod counters;
pub mod dialog;
pub mod msg;
pub mod overload;
pub mod registrar;
pub mod transaction;

/// Methods the switch implements (sent in `Allow`, RFC 3261 §20.5).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, UPDATE, INFO, REFER, PRACK";
