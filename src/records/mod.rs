//! The records the switch writes durably (CDRs, the agent audit log,
//! interactions, leg CDRs), as plain data with no I/O, and the statistics
//! folded from them ([`stats`]): the pure cores build
//! them, the store (`crate::store`) writes them (DESIGN.md: `records` is a
//! pure module, so the cores never depend on the store).

mod acd;
mod callback;
mod cdr;
pub mod stats;
mod voicemail;

pub use acd::{
    AcdRecord, AgentAuditRecord, HandlerRecord, InteractionOutcome, InteractionRecord, LegCdrRecord, VisitRecord,
};
pub use callback::CallbackRecord;
pub use cdr::{CdrRecord, PauseSpan, RecordingRecord};
pub use voicemail::{VoicemailRecord, VoicemailState};
