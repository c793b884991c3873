//! Switchboard: a SIP/RTP softswitch with a built-in ACD for contact centers.
//!
//! The crate follows `DESIGN.md`: every protocol and policy part is a sans-IO
//! state machine (time and bytes in, transmits/events/deadlines out), and a
//! thin tokio driver (`driver`) owns sockets, the clock, files and signals.
//!
//! Layers, bottom up: [`ids`], [`time`] → [`sip::msg`] (parsing, printing,
//! stream framing) → [`sip::transaction`] → [`sip::dialog`],
//! [`sip::registrar`], [`sip::auth`] → [`call`] (B2BUA), [`acd`], [`flow`]
//! (entry points) → [`engine`];
//! [`records`] are the plain data they emit for the store; the
//! I/O edge is [`driver`] and [`store`]. [`config`] is read by all.
#![forbid(unsafe_code)]

pub mod acd;
pub mod api;
pub mod bounded;
pub mod call;
pub mod config;
pub mod driver;
pub mod dsp;
pub mod engine;
pub mod error;
pub mod flow;
pub mod ids;
pub mod media;
pub mod records;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod store;
pub mod time;
pub mod tls;
pub mod web;
pub mod webrtc;

pub use error::Error;
