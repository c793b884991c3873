//! End-to-end tests of the signalling engine in virtual time (DESIGN.md
//! convention 7): no sockets, no sleeping. Simulated phones and trunks write
//! SIP as text, feed it as `Input::Packet`, and read back the engine's
//! `Output::Transmit`s per destination.

mod anchoring;
mod assign;
mod callbacks;
mod calls;
mod consult;
mod control;
mod courtesy;
mod entry;
mod forking;
mod monitor;
mod queue;
mod queue_store;
mod refer;
mod register;
mod rooms;
mod screening;
mod sim;
mod stats_day;
mod timers;
mod trunk;
mod trunk_failover;
mod voicemail_work;
