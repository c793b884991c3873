//! Voicemail for a queue or a user (issue 14 item 5).

use super::{Engine, Now};
use crate::config::entry::{Mailbox, Prompt};
use crate::ids::CallRef;

impl Engine {
    /// An entry point's `voicemail` step for call `id`.
    pub(crate) fn start_voicemail(&mut self, now: Now, id: CallRef, mailbox: Mailbox, prompt: Prompt) {
        let _ = (mailbox, prompt);
        self.end_flow_call(now, id, "voicemail_unavailable");
    }
}
