//! Call detail records as plain data (unix milliseconds, strings): what the
//! call core emits when a call ends and the store writes (SQLite, JSON Lines).

use serde::{Deserialize, Serialize};

/// One finished call. Times are unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrRecord {
    /// The Call-ID of the inbound (A) leg.
    pub call_id: String,
    /// The A leg's id.
    pub a_leg: String,
    /// The B leg's id, if one was created.
    pub b_leg: Option<String>,
    /// The caller (From URI or number).
    pub caller: String,
    /// The callee (dialled URI or number).
    pub callee: String,
    /// The route taken (dialplan entry, trunk or queue name).
    pub route: String,
    /// When the call arrived.
    pub start_ms: u64,
    /// When it was answered, if it was.
    pub answer_ms: Option<u64>,
    /// When it ended.
    pub end_ms: u64,
    /// Why it ended (e.g. `caller-bye`, `callee-busy`, `timeout`).
    pub end_cause: String,
    /// The final SIP status, when one was involved.
    pub sip_code: Option<u16>,
    /// The call's recordings with their pause spans (spec CALL-REC-1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recordings: Vec<RecordingRecord>,
}

/// A pause in a recording, in unix milliseconds (for the CDR).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseSpan {
    /// When the pause began.
    pub start_ms: u64,
    /// When it ended (resume, auto-resume, stop or call end).
    pub end_ms: u64,
}

/// One recording of a call as the CDR lists it (spec CALL-REC-1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRecord {
    /// File name in the recordings directory (`<name>.wav`).
    pub file: String,
    /// When the recording started (unix ms).
    pub start_ms: u64,
    /// When it stopped (unix ms).
    pub end_ms: u64,
    /// The paused spans, in order; silence in the file.
    pub pauses: Vec<PauseSpan>,
}

impl CdrRecord {
    /// Answered duration in milliseconds (0 when never answered).
    pub fn billable_ms(&self) -> u64 {
        self.answer_ms.map_or(0, |a| self.end_ms.saturating_sub(a))
    }
}
