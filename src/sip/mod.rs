//! SIP (RFC 3261): messages, transport framing, transactions, dialogs,
//! registrar and digest authentication. Everything here is sans-IO.

pub mod auth;
pub mod dialog;
pub mod msg;
pub mod registrar;
pub mod transaction;
pub mod transport;
