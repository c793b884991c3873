//! Voicemail for a queue or a user (issue 14 item 5), reached by an entry
//! point's `voicemail` step (closed hours, the caller's choice).
//!
//! The switch answers the caller itself (the 200 carries the SDP answer its
//! 183 already gave: the call is billed from here, as a message is a
//! service rendered), plays the step's greeting, then a tone, and records
//! what the caller says into `<recordings>/voicemail-<unix ms>-<call>.wav`
//! (8 kHz mono: only the caller's voice; the greeting is never in it). The
//! message ends with `#` (the caller hears "your message has been saved"
//! and the switch hangs up), at [`MAX_MESSAGE`], or when the caller hangs
//! up (the usual way). A caller who leaves before the tone leaves no
//! message. A key during the greeting skips to the tone.
//!
//! Each message becomes a [`VoicemailRecord`], kept by the engine with its
//! state, written by the store, listed and downloaded through the API and,
//! for a queue's mailbox, offered to its agents (`voicemail_box.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Engine, EngineTimer, Now, Output};
use crate::call::media::{AfterPrompt, MediaCommand, MediaLeg, RecordAction};
use crate::config::entry::{Mailbox, Prompt};
use crate::config::RecordingLayout;
use crate::ids::CallRef;
use crate::records::VoicemailRecord;

/// Longest message: the recording stops by itself after this long.
pub const MAX_MESSAGE: Duration = Duration::from_secs(180);

/// Where a voicemail caller is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    /// The greeting plays until `until`.
    Greeting { until: Instant },
    /// The tone plays until `until`.
    Tone { until: Instant },
    /// Recording since `start_ms` (unix), into `name`, at most until `until`.
    Recording {
        name: String,
        start_ms: u64,
        until: Instant,
    },
    /// "Message saved" plays until `until`, then the switch hangs up.
    Saved { until: Instant },
}

/// One caller leaving a message.
#[derive(Clone, Debug)]
pub(crate) struct VoicemailCall {
    mailbox: Mailbox,
    stage: Stage,
    caller_number: String,
    caller_name: String,
    dnis: String,
}

/// The callers leaving messages, by call.
#[derive(Clone, Debug, Default)]
pub(crate) struct Voicemails {
    calls: HashMap<CallRef, VoicemailCall>,
    /// Every message left, by id, with its state (`engine/voicemail_box.rs`).
    pub(crate) messages: HashMap<String, VoicemailRecord>,
}

impl Engine {
    /// An entry point's `voicemail` step for call `id` (answered here if
    /// still in early media).
    pub(crate) fn start_voicemail(&mut self, now: Now, id: CallRef, mailbox: Mailbox, greeting: Prompt) {
        let Some(answer) = self
            .calls
            .get(&id)
            .and_then(|c| c.media.as_ref())
            .and_then(|m| m.answer_a.clone())
        else {
            return self.end_flow_call(now, id, "voicemail_no_media");
        };
        let (caller_number, caller_name) = self.caller_id(id).map(|(_, n, d)| (n, d)).unwrap_or_default();
        let dnis = self.calls.get(&id).map(|c| c.callee.clone()).unwrap_or_default();
        self.timers.cancel(EngineTimer::Progress(id));
        self.with_call(now, id, |c, ctx| {
            c.route = match &mailbox {
                Mailbox::Queue(q) => format!(
                    "voicemail:queue:{}",
                    ctx.cfg.acd().queue(*q).map_or("", |q| q.name.as_str())
                ),
                Mailbox::User(u) => format!("voicemail:user:{u}"),
            };
            // A customer an agent transferred here is answered already.
            if c.phase == crate::call::Phase::Routing {
                c.answer_locally(ctx, answer)
            }
        });
        tracing::info!(call = %id, mailbox = %mailbox_name(self, &mailbox), "caller answered by voicemail");
        let until = now.mono + greeting.duration();
        self.voice_prompt(id, &greeting);
        self.voicemails.calls.insert(
            id,
            VoicemailCall {
                mailbox,
                stage: Stage::Greeting { until },
                caller_number,
                caller_name,
                dnis,
            },
        );
        self.timers.set(EngineTimer::Voicemail(id), until);
    }

    /// A key from a voicemail caller; false when call `id` is not leaving a message.
    pub(crate) fn voicemail_key(&mut self, now: Now, id: CallRef, key: char) -> bool {
        let Some(vm) = self.voicemails.calls.get(&id) else {
            return false;
        };
        match &vm.stage {
            Stage::Greeting { .. } => self.voicemail_tone(now, id),
            Stage::Recording { .. } if key == '#' => self.voicemail_saved(now, id),
            _ => {}
        }
        true
    }

    /// The voicemail timer of call `id`.
    pub(crate) fn on_voicemail_timer(&mut self, now: Now, id: CallRef) {
        let Some(vm) = self.voicemails.calls.get(&id) else {
            return;
        };
        match &vm.stage {
            Stage::Greeting { until } if *until <= now.mono => self.voicemail_tone(now, id),
            Stage::Tone { until } if *until <= now.mono => self.voicemail_record(now, id),
            Stage::Recording { until, .. } if *until <= now.mono => self.voicemail_saved(now, id),
            Stage::Saved { until } if *until <= now.mono => {
                self.voicemails.calls.remove(&id);
                self.with_call(now, id, |c, ctx| c.end(ctx, "voicemail_saved"));
            }
            _ => {}
        }
    }

    /// The caller hung up (or the call ended otherwise): a message being
    /// recorded is kept.
    pub(crate) fn voicemail_call_ended(&mut self, now: Now, id: CallRef) {
        let Some(vm) = self.voicemails.calls.remove(&id) else {
            return;
        };
        self.timers.cancel(EngineTimer::Voicemail(id));
        match &vm.stage {
            Stage::Recording { name, start_ms, .. } => {
                self.out.push_back(Output::Media(MediaCommand::Record {
                    call: id.0,
                    action: RecordAction::Stop,
                }));
                self.voicemail_left(now, id, &vm.mailbox, name.clone(), *start_ms, &vm);
            }
            _ => tracing::info!(call = %id, "voicemail caller left before the tone: no message"),
        }
    }

    fn voicemail_tone(&mut self, now: Now, id: CallRef) {
        let Some(tone) = crate::media::prompts::embedded_samples("beep") else {
            return self.voicemail_record(now, id);
        };
        let tone = Prompt {
            name: "beep".into(),
            samples: tone,
        };
        let until = now.mono + tone.duration();
        self.voice_prompt(id, &tone);
        self.set_stage(id, Stage::Tone { until });
    }

    fn voicemail_record(&mut self, now: Now, id: CallRef) {
        let name = format!("voicemail-{}-{}", now.unix_ms, id.0);
        self.out.push_back(Output::Media(MediaCommand::Record {
            call: id.0,
            action: RecordAction::Start {
                name: name.clone(),
                layout: RecordingLayout::Mixed,
            },
        }));
        tracing::info!(call = %id, file = %name, "recording a voicemail");
        let until = now.mono + MAX_MESSAGE;
        self.set_stage(
            id,
            Stage::Recording {
                name,
                start_ms: now.unix_ms,
                until,
            },
        );
    }

    fn voicemail_saved(&mut self, now: Now, id: CallRef) {
        let Some(vm) = self.voicemails.calls.get(&id).cloned() else {
            return;
        };
        let Stage::Recording { name, start_ms, .. } = &vm.stage else {
            return;
        };
        self.out.push_back(Output::Media(MediaCommand::Record {
            call: id.0,
            action: RecordAction::Stop,
        }));
        self.voicemail_left(now, id, &vm.mailbox, name.clone(), *start_ms, &vm);
        let saved = crate::media::prompts::embedded_samples("message-saved").map(|samples| Prompt {
            name: "message-saved".into(),
            samples,
        });
        let until = now.mono + saved.as_ref().map_or(Duration::ZERO, Prompt::duration);
        if let Some(p) = &saved {
            self.voice_prompt(id, p);
        }
        self.set_stage(id, Stage::Saved { until });
    }

    /// A message was left: its record for the store.
    fn voicemail_left(
        &mut self,
        now: Now,
        id: CallRef,
        mailbox: &Mailbox,
        name: String,
        start_ms: u64,
        vm: &VoicemailCall,
    ) {
        let (queue, user) = match mailbox {
            Mailbox::Queue(q) => (self.cfg.acd().queue(*q).map(|q| q.name.clone()), None),
            Mailbox::User(u) => (None, Some(u.clone())),
        };
        let rec = VoicemailRecord {
            id: name.clone(),
            file: format!("{name}.wav"),
            queue,
            user,
            caller_number: vm.caller_number.clone(),
            caller_name: vm.caller_name.clone(),
            dnis: vm.dnis.clone(),
            start_ms,
            duration_ms: now.unix_ms.saturating_sub(start_ms),
            state: crate::records::VoicemailState::New,
            heard: None,
            done: None,
        };
        tracing::info!(call = %id, file = %rec.file, seconds = rec.duration_ms / 1000, "voicemail left");
        self.voicemail_message_left(rec.clone());
        // A queue's message waits in the queue as a work item.
        self.queue_voicemail(now, &rec);
    }

    fn set_stage(&mut self, id: CallRef, stage: Stage) {
        let until = match &stage {
            Stage::Greeting { until } | Stage::Tone { until } | Stage::Saved { until } => *until,
            Stage::Recording { until, .. } => *until,
        };
        if let Some(vm) = self.voicemails.calls.get_mut(&id) {
            vm.stage = stage;
            self.timers.set(EngineTimer::Voicemail(id), until);
        }
    }

    fn voice_prompt(&mut self, id: CallRef, p: &Prompt) {
        self.out.push_back(Output::Media(MediaCommand::Prompt {
            call: id.0,
            leg: MediaLeg::A,
            samples: p.samples.clone(),
            then: AfterPrompt::Silence,
        }));
    }
}

/// A mailbox as the admin names it (`queue support`, `user 1001`).
fn mailbox_name(e: &Engine, m: &Mailbox) -> String {
    match m {
        Mailbox::Queue(q) => format!("queue {}", e.cfg.acd().queue(*q).map_or("", |q| q.name.as_str())),
        Mailbox::User(u) => format!("user {u}"),
    }
}
