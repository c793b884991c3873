//! A voicemail message as the store keeps it (issue 14 item 5).

/// One message left in a queue's or a user's mailbox: its audio is
/// `<recordings dir>/<file>` (8 kHz mono WAV), which the media thread
/// completes (renames from `.wav.part`) shortly after the record is made:
/// the API answers 409 for its audio until then. Written when the message is left, and again (the same id)
/// when its state changes.
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
    /// `new`, `heard` or `done` ([`VoicemailState`]).
    pub state: VoicemailState,
    /// When its audio was first opened (unix ms), and by whom (a login).
    pub heard: Option<(u64, String)>,
    /// When it was marked handled (unix ms), and by whom (a login).
    pub done: Option<(u64, String)>,
}

/// Where a message stands (issue 14 item 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoicemailState {
    /// Nobody opened its audio yet.
    New,
    /// Someone opened its audio.
    Heard,
    /// An agent or supervisor marked it handled.
    Done,
}

impl VoicemailState {
    /// Its name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            VoicemailState::New => "new",
            VoicemailState::Heard => "heard",
            VoicemailState::Done => "done",
        }
    }

    /// The state named `s`, if any.
    pub fn parse(s: &str) -> Option<VoicemailState> {
        match s {
            "new" => Some(VoicemailState::New),
            "heard" => Some(VoicemailState::Heard),
            "done" => Some(VoicemailState::Done),
            _ => None,
        }
    }
}
