//! The ACD core (`switchboard::acd`) in virtual time (DESIGN.md convention 7):
//! one base `Instant`, advanced by jumping to `poll_timeout()`; each test
//! names the contact-center rule it checks (`// spec: AGENT-4`).

mod agent;
mod assign;
mod cad;
mod consult;
mod harness;
mod history;
mod offer;
mod queueing;
mod random;
mod strategy;
mod transfer;
mod wrapup;
