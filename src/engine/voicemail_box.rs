//! The voicemail messages the engine keeps (issue 14 item 5): every
//! message left (`engine/voicemail.rs` records it) and every stored one
//! (given back at start by [`Engine::load_voicemails`], before the engine
//! serves), each with its state: `new`, `heard` (someone opened its
//! audio), `done` (an agent or supervisor marked it handled, with who and
//! when). Each change goes to the store as an [`AcdRecord::Voicemail`]
//! (the store thread inserts or updates the row by id).
//!
//! Who sees what (`GET /voicemails`, the audio, `done`):
//! - supervisors: every message, caller numbers in full;
//! - agents: the messages of the queues they serve (their `acd.toml`
//!   skills) and of their own extension's mailbox, the caller's number
//!   masked when the queue masks numbers (OFFER-3); another message is 403;
//! - an admin token: none (403; voicemail is desktop work).
//!
//! A message left in a queue's mailbox is offered to the desktops as a
//! work item: every logged-in agent of the queue gets a `voicemail` event
//! on its stream, the supervisors one of their own (unmasked); a user's
//! message goes to the agent whose extension it is, if logged in. Marking
//! one done sends `voicemail_done` to the same people.
//!
//! The audio: the engine answers with the file's name (from the record,
//! never from the request); the driver puts the recordings directory in
//! front, and the API reads it (409 "still being written" while the media
//! thread has not completed it) and then tells the engine it was heard
//! ([`VoicemailCommand::Heard`]), so a message is `heard` only once its
//! audio was served.

use super::desk::DeskEvent;
use super::{Engine, Now, Output, Requester};
use crate::acd::AgentState;
use crate::records::{AcdRecord, VoicemailRecord, VoicemailState};
use serde::Serialize;
use std::path::PathBuf;

/// What a voicemail request asks of the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoicemailCommand {
    /// The messages the requester may see, newest first.
    List {
        /// Only those in this state.
        state: Option<VoicemailState>,
        /// Only those of this queue's mailbox (its name).
        queue: Option<String>,
    },
    /// Where a message's audio is (permission checked, nothing changed).
    Audio {
        /// The message's id.
        id: String,
    },
    /// Its audio was served to the requester: `new` becomes `heard`.
    Heard {
        /// The message's id.
        id: String,
    },
    /// The requester marks it handled.
    Done {
        /// The message's id.
        id: String,
    },
}

/// A message as the API and the desktops show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoicemailView {
    /// The message's id (`voicemail-<unix ms>-<call>`).
    pub id: String,
    /// The queue whose mailbox it is in, if a queue's.
    pub queue: Option<String>,
    /// The user (extension) whose mailbox it is in, if a user's.
    pub user: Option<String>,
    /// The caller's number (masked per OFFER-3 for agents when the queue
    /// masks numbers).
    pub caller_number: String,
    /// The caller's display name, if any.
    pub caller_name: String,
    /// The number the caller dialled.
    pub dnis: String,
    /// When the message started, RFC 3339 (UTC).
    pub start: String,
    /// When the message started, unix ms.
    pub start_ms: u64,
    /// Its length in ms.
    pub duration_ms: u64,
    /// `new`, `heard` or `done`.
    pub state: VoicemailState,
    /// Who first opened its audio (a login), if anyone.
    pub heard_by: Option<String>,
    /// When (unix ms).
    pub heard_ms: Option<u64>,
    /// Who marked it done (a login), if anyone.
    pub done_by: Option<String>,
    /// When (unix ms).
    pub done_ms: Option<u64>,
    /// Its WAV (`GET`; a browser's `<audio>` may add `?token=`).
    pub audio_url: String,
}

/// The engine's answer to a [`VoicemailCommand`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoicemailReply {
    /// Messages, newest first.
    List(Vec<VoicemailView>),
    /// One message (after a change).
    One(Box<VoicemailView>),
    /// The message's audio file: its name in the recordings directory
    /// (the driver puts the directory in front).
    Audio {
        /// The message's id.
        id: String,
        /// The file.
        path: PathBuf,
    },
}

/// Why a voicemail request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VoicemailError {
    /// 404: no message has this id.
    #[error("no voicemail message `{0}`")]
    NotFound(String),
    /// 403: the requester may not see it.
    #[error("{0}")]
    Forbidden(String),
    /// 400: an unknown queue in a filter.
    #[error("`{0}` is not a queue")]
    UnknownQueue(String),
    /// 409: already marked done.
    #[error("this message was already marked done by {by} at {at}")]
    AlreadyDone {
        /// Who did (a login).
        by: String,
        /// When, RFC 3339.
        at: String,
    },
}

/// RFC 3339 in UTC, to the millisecond.
fn rfc3339(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
        .map_or_else(|| ms.to_string(), |t| t.to_string())
}

/// Who is looking: an agent (its login, extension and queues' names) or a
/// supervisor (its login).
enum Viewer {
    Agent {
        login: String,
        extension: String,
        queues: Vec<String>,
    },
    Supervisor(String),
}

impl Viewer {
    fn login(&self) -> &str {
        match self {
            Viewer::Agent { login, .. } | Viewer::Supervisor(login) => login,
        }
    }

    fn may_see(&self, m: &VoicemailRecord) -> bool {
        match self {
            Viewer::Supervisor(_) => true,
            Viewer::Agent { extension, queues, .. } => {
                m.queue.as_ref().is_some_and(|q| queues.contains(q)) || m.user.as_ref() == Some(extension)
            }
        }
    }
}

impl Engine {
    /// Carries out a voicemail request at `now` for `who`.
    pub fn voicemail_request(
        &mut self,
        now: Now,
        who: &Requester,
        cmd: VoicemailCommand,
    ) -> Result<VoicemailReply, VoicemailError> {
        let viewer = self.viewer(who)?;
        match cmd {
            VoicemailCommand::List { state, queue } => {
                if let Some(q) = &queue {
                    if self.cfg.acd().queue_by_name(q).is_none() {
                        return Err(VoicemailError::UnknownQueue(q.clone()));
                    }
                }
                let mut list: Vec<&VoicemailRecord> = self
                    .voicemails
                    .messages
                    .values()
                    .filter(|m| viewer.may_see(m))
                    .filter(|m| state.is_none_or(|s| m.state == s))
                    .filter(|m| queue.is_none() || m.queue == queue)
                    .collect();
                list.sort_by(|a, b| (b.start_ms, &b.id).cmp(&(a.start_ms, &a.id)));
                Ok(VoicemailReply::List(
                    list.into_iter().map(|m| self.voicemail_view(m, &viewer)).collect(),
                ))
            }
            VoicemailCommand::Audio { id } => {
                let m = self.message_for(&id, &viewer)?;
                // A bare file name in the recordings directory, never a path.
                if m.file.contains(['/', '\\']) || m.file.starts_with('.') {
                    tracing::error!(id = %id, file = %m.file, "stored voicemail names a path, not a file: not served");
                    return Err(VoicemailError::NotFound(id));
                }
                Ok(VoicemailReply::Audio {
                    id,
                    path: PathBuf::from(&m.file),
                })
            }
            VoicemailCommand::Heard { id } => {
                let mut m = self.message_for(&id, &viewer)?.clone();
                if m.state == VoicemailState::New {
                    m.state = VoicemailState::Heard;
                    m.heard = Some((now.unix_ms, viewer.login().to_string()));
                    self.keep_message(m.clone());
                }
                Ok(VoicemailReply::One(Box::new(self.voicemail_view(&m, &viewer))))
            }
            VoicemailCommand::Done { id } => {
                let mut m = self.message_for(&id, &viewer)?.clone();
                if let Some((at, by)) = &m.done {
                    return Err(VoicemailError::AlreadyDone {
                        by: by.clone(),
                        at: rfc3339(*at),
                    });
                }
                self.mark_voicemail_done(now, &mut m, viewer.login());
                // Its work item, if the ACD still holds it, ends with it.
                self.voicemail_item_gone(now, &m.id);
                Ok(VoicemailReply::One(Box::new(self.voicemail_view(&m, &viewer))))
            }
        }
    }

    /// Takes back the stored messages at start, before the engine serves.
    pub fn load_voicemails(&mut self, records: Vec<VoicemailRecord>) {
        let new = records.iter().filter(|m| m.state == VoicemailState::New).count();
        self.voicemails.messages = records.into_iter().map(|m| (m.id.clone(), m)).collect();
        if !self.voicemails.messages.is_empty() {
            tracing::info!(
                messages = self.voicemails.messages.len(),
                new,
                "voicemail messages restored"
            );
        }
    }

    /// A message was just left (`engine/voicemail.rs`): kept, stored and
    /// offered to the mailbox's logged-in agents and the supervisors.
    pub(crate) fn voicemail_message_left(&mut self, rec: VoicemailRecord) {
        self.keep_message(rec.clone());
        let masked = self.masks_numbers(&rec);
        for agent in self.mailbox_agents(&rec) {
            let mut message = self.view_of(&rec);
            if masked && !agent.is_empty() {
                message.caller_number = crate::acd::mask_number(&message.caller_number);
            }
            self.out
                .push_back(Output::Desk(DeskEvent::Voicemail { agent, message }));
        }
    }

    /// Marks `m` handled by `login` at `now`: kept, stored, and
    /// `voicemail_done` to the mailbox's agents and the supervisors.
    pub(crate) fn mark_voicemail_done(&mut self, now: Now, m: &mut VoicemailRecord, login: &str) {
        m.state = VoicemailState::Done;
        m.done = Some((now.unix_ms, login.to_string()));
        self.keep_message(m.clone());
        for agent in self.mailbox_agents(m) {
            self.out.push_back(Output::Desk(DeskEvent::VoicemailDone {
                agent,
                id: m.id.clone(),
                queue: m.queue.clone(),
                user: m.user.clone(),
                by: login.to_string(),
                at_ms: now.unix_ms,
            }));
        }
    }

    /// Keeps `m` as it stands and hands it to the store.
    fn keep_message(&mut self, m: VoicemailRecord) {
        self.out
            .push_back(Output::Acd(AcdRecord::Voicemail(Box::new(m.clone()))));
        self.voicemails.messages.insert(m.id.clone(), m);
    }

    /// Who gets a message's events: the logins of the logged-in agents of
    /// its queue (or the agent whose extension is its user), then `""` for
    /// the supervisors' copy.
    fn mailbox_agents(&self, m: &VoicemailRecord) -> Vec<String> {
        let acd = self.cfg.acd();
        let queue = m.queue.as_deref().and_then(|q| acd.queue_by_name(q)).map(|q| q.id);
        let mut to: Vec<String> = acd
            .agents
            .iter()
            .filter(|a| {
                queue.is_some_and(|q| a.skills.iter().any(|(s, _)| *s == q)) || m.user.as_ref() == Some(&a.extension)
            })
            .filter(|a| {
                self.acd
                    .agent_state(a.id)
                    .is_some_and(|s| !matches!(s, AgentState::LoggedOut))
            })
            .map(|a| a.login.clone())
            .collect();
        to.push(String::new());
        to
    }

    /// Whether the message's queue masks caller numbers for agents (OFFER-3).
    fn masks_numbers(&self, m: &VoicemailRecord) -> bool {
        m.queue
            .as_deref()
            .and_then(|q| self.cfg.acd().queue_by_name(q))
            .is_some_and(|q| q.mask_caller_number)
    }

    /// Who asks, as a [`Viewer`] (an admin token is refused).
    fn viewer(&self, who: &Requester) -> Result<Viewer, VoicemailError> {
        let acd = self.cfg.acd();
        match who {
            Requester::Admin => Err(VoicemailError::Forbidden(
                "voicemail messages are for agents and supervisors: use their own tokens".into(),
            )),
            Requester::Supervisor(login) => Ok(Viewer::Supervisor(login.clone())),
            Requester::Agent(login) => {
                let a = acd
                    .agent_by_login(login)
                    .ok_or_else(|| VoicemailError::Forbidden("this agent is no longer configured".into()))?;
                Ok(Viewer::Agent {
                    login: a.login.clone(),
                    extension: a.extension.clone(),
                    queues: a
                        .skills
                        .iter()
                        .filter_map(|(q, _)| acd.queue(*q).map(|q| q.name.clone()))
                        .collect(),
                })
            }
        }
    }

    /// The message `id`, if `viewer` may see it.
    fn message_for(&self, id: &str, viewer: &Viewer) -> Result<&VoicemailRecord, VoicemailError> {
        let m = self
            .voicemails
            .messages
            .get(id)
            .ok_or_else(|| VoicemailError::NotFound(id.to_string()))?;
        if !viewer.may_see(m) {
            return Err(VoicemailError::Forbidden(match &m.queue {
                Some(q) => format!("this message is in queue {q}'s mailbox, and you do not serve {q}"),
                None => "this message is in another user's mailbox".into(),
            }));
        }
        Ok(m)
    }

    /// The view of `m` for `viewer` (OFFER-3 masking for agents).
    fn voicemail_view(&self, m: &VoicemailRecord, viewer: &Viewer) -> VoicemailView {
        let mut v = self.view_of(m);
        if matches!(viewer, Viewer::Agent { .. }) && self.masks_numbers(m) {
            v.caller_number = crate::acd::mask_number(&v.caller_number);
        }
        v
    }

    /// The unmasked view of `m`.
    /// A message as an agent's offer shows it (unmasked; the offer masks).
    pub(crate) fn voicemail_view_for_agents(&self, m: &VoicemailRecord) -> VoicemailView {
        self.view_of(m)
    }

    fn view_of(&self, m: &VoicemailRecord) -> VoicemailView {
        VoicemailView {
            id: m.id.clone(),
            queue: m.queue.clone(),
            user: m.user.clone(),
            caller_number: m.caller_number.clone(),
            caller_name: m.caller_name.clone(),
            dnis: m.dnis.clone(),
            start: rfc3339(m.start_ms),
            start_ms: m.start_ms,
            duration_ms: m.duration_ms,
            state: m.state,
            heard_by: m.heard.as_ref().map(|h| h.1.clone()),
            heard_ms: m.heard.as_ref().map(|h| h.0),
            done_by: m.done.as_ref().map(|d| d.1.clone()),
            done_ms: m.done.as_ref().map(|d| d.0),
            audio_url: format!("/voicemails/{}/audio", m.id),
        }
    }
}

#[cfg(test)]
#[path = "voicemail_box_tests.rs"]
mod tests;
