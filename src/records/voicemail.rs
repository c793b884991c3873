//! A voicemail message as the store keeps it (issue 14 item 5).

/// One message left in a queue's or a user's mailbox: its audio is
/// `<recordings dir>/<file>` (8 kHz mono WAV, completed before the record
/// is written).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VoicemailRecord {
    /// Its id (the file stem, `voicemail-<unix ms>-<call>`): unique.
    pub id: String,
    /// The WAV file's name in the recordings directory.
    pub file: String,
    /// The queue whose mailbox it is in, if a queue's.
    pub queue: Option<String>,
    /// The user (extension) whose mailbox it is in, if a user's.
    pub user: Option<String>,
    /// Who called (their number as the call carried it).
    pub caller_number: String,
    /// Their display name, if any.
    pub caller_name: String,
    /// The number they dialled.
    pub dnis: String,
    /// When the recording started (unix ms).
    pub start_ms: u64,
    /// How long it is (ms).
    pub duration_ms: u64,
}
