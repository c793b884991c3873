//! Code the load generators share (`media_load`, `conference_load`,
//! `webrtc_load`): a SIP caller that sets up, holds and tears down many
//! calls from one socket ([`uac`]), the callee side on a trunk ([`uas`]),
//! RTP and UDP basics ([`rtp`]), and what /proc says about a process's CPU
//! time, context switches and UDP receive-buffer drops ([`procfs`]). Each
//! example includes it with `mod common;`.

pub mod procfs;
pub mod rtp;
pub mod uac;
pub mod uas;
