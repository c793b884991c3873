//! The records the switch writes durably (CDRs, the agent audit log,
//! interactions, leg CDRs), as plain data with no I/O: the pure cores build
//! them, the store (`crate::store`) writes them (DESIGN.md: `records` is a
//! pure module, so the cores never depend on the store).

mod acd;
mod cdr;

pub use acd::{AcdRecord, AgentAuditRecord, HandlerRecord, InteractionOutcome, InteractionRecord, LegCdrRecord};
pub use cdr::{CdrRecord, PauseSpan, RecordingRecord};
