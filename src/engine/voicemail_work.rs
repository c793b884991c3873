//! A queue's voicemail message as an ACD work item (issue 14 item 5): it
//! waits in its queue's line like a caller, is offered to one agent at a
//! time by the queue's strategy (no phone rings: the desktop's offer, with
//! the message and its audio, is the whole offer), RONA and decline
//! behave as for calls (OFFER-4), the agent accepts it from the desktop
//! (OFFER-1's manual accept), handles it (listens, calls back), and ends
//! it with the desktop's End: the message is marked done by that agent and
//! wrap-up follows (WRAP-1). Handle time is booked like a call's talk
//! time (HIST-3), so queue and agent statistics count voicemail work.
//!
//! Chosen where the issue is silent, as a contact center expects:
//! - only a queue's mailbox is routed; a user's mailbox stays that user's
//!   list (the message belongs to that person, nobody else takes it);
//! - a message marked done from the voicemail list (`POST
//!   /voicemails/{id}/done`) takes its work item out of the queue (closed,
//!   like a supervisor's close); one an agent is handling ends as if that
//!   agent pressed End;
//! - after a restart every queue message not yet done is queued again
//!   (agents are logged out by a restart; the items wait for them);
//! - the interaction carries the caller's number and the number dialled,
//!   so the offer shows them (OFFER-2, masked per OFFER-3).

use super::desk::DeskEvent;
use super::queue::QueueCall;
use super::{Engine, Now};
use crate::acd::{AcdEvent, AgentId, InteractionId};
use crate::ids::CallRef;
use crate::records::{InteractionOutcome, VoicemailRecord, VoicemailState};
use std::collections::HashMap;

/// The work items of voicemail messages, both ways.
#[derive(Debug, Default)]
pub(crate) struct VoicemailItems {
    by_interaction: HashMap<InteractionId, String>,
    by_message: HashMap<String, InteractionId>,
}

impl Engine {
    /// Queues message `m` as a work item of its queue (a queue's message
    /// not yet done, not queued yet).
    pub(crate) fn queue_voicemail(&mut self, now: Now, m: &VoicemailRecord) {
        if m.state == VoicemailState::Done || self.voicemail_items.by_message.contains_key(&m.id) {
            return;
        }
        let Some(q) = m
            .queue
            .as_deref()
            .and_then(|n| self.cfg.acd().queue_by_name(n))
            .cloned()
        else {
            return;
        };
        // An interaction number from the calls' sequence: unique, never a call.
        let id = CallRef(self.next_call);
        self.next_call += 1;
        let interaction = InteractionId(id.0);
        if self.queues.boot_ms == 0 {
            self.queues.boot_ms = now.unix_ms;
        }
        let uid = format!("{}-{}", self.queues.boot_ms, id.0);
        self.queues.calls.insert(
            interaction,
            QueueCall::new(uid, id, String::new(), bytes::Bytes::new(), None),
        );
        self.voicemail_items.by_interaction.insert(interaction, m.id.clone());
        self.voicemail_items.by_message.insert(m.id.clone(), interaction);
        let data = self.builtin_data(&m.caller_number, &m.caller_name, &m.dnis, &q.name);
        let arrived = self.acd_event(
            now,
            AcdEvent::InteractionArrived {
                id: interaction,
                queue: q.id,
                priority: q.priority,
                customer: Box::new(crate::acd::Customer {
                    caller_number: m.caller_number.clone(),
                    dnis: m.dnis.clone(),
                    data,
                    min_skill: 0,
                }),
            },
        );
        match arrived {
            Ok(()) => {
                tracing::info!(message = %m.id, queue = %q.name, "voicemail queued as a work item");
                self.record_interaction(now, interaction, None);
            }
            Err(e) => tracing::error!(message = %m.id, error = %e, "the ACD refused the voicemail work item"),
        }
    }

    /// At start: every queue message not yet done waits in its queue again.
    pub(crate) fn start_voicemail_items(&mut self, now: Now) {
        let mut open: Vec<VoicemailRecord> = self
            .voicemails
            .messages
            .values()
            .filter(|m| m.queue.is_some() && m.state != VoicemailState::Done)
            .cloned()
            .collect();
        open.sort_by_key(|m| m.start_ms);
        for m in open {
            self.queue_voicemail(now, &m);
        }
    }

    /// The message a work item carries, if `interaction` is one.
    pub(crate) fn voicemail_of(&self, interaction: InteractionId) -> Option<&VoicemailRecord> {
        let id = self.voicemail_items.by_interaction.get(&interaction)?;
        self.voicemails.messages.get(id)
    }

    /// True when `interaction` is a voicemail work item.
    pub(crate) fn is_voicemail_item(&self, interaction: InteractionId) -> bool {
        self.voicemail_items.by_interaction.contains_key(&interaction)
    }

    /// The agent ends the work item it handles: the message is done (by
    /// it), and wrap-up follows.
    pub(crate) fn end_voicemail_item(&mut self, now: Now, agent: AgentId, interaction: InteractionId) {
        let login = self.login_of(agent);
        if let Some(mut m) = self.voicemail_of(interaction).cloned() {
            if m.state != VoicemailState::Done {
                self.mark_voicemail_done(now, &mut m, &login);
            }
        }
        self.finish_voicemail_item(now, interaction, &login);
    }

    fn finish_voicemail_item(&mut self, now: Now, interaction: InteractionId, by: &str) {
        if let Some(id) = self.voicemail_items.by_interaction.remove(&interaction) {
            self.voicemail_items.by_message.remove(&id);
        }
        let Some(info) = self.acd.interaction(interaction) else {
            return;
        };
        match (info.phase, info.agent) {
            (crate::acd::Phase::Queued | crate::acd::Phase::Ringing, _) => {
                let _ = self.acd_event(now, AcdEvent::ForceClose { id: interaction });
            }
            (crate::acd::Phase::WrapUp, _) => {}
            (_, agent) => {
                if let Some(agent) = agent {
                    self.desk_event(DeskEvent::Ended {
                        agent: self.login_of(agent),
                        interaction: self.uid_of(interaction),
                        by: if by == self.login_of(agent) {
                            "agent"
                        } else {
                            "supervisor"
                        },
                    });
                }
                let _ = self.acd_event(now, AcdEvent::InteractionEnded { id: interaction });
                self.record_interaction(now, interaction, Some(InteractionOutcome::Answered));
            }
        }
    }

    /// Message `id` was marked done elsewhere: its work item, if the ACD
    /// still holds one, leaves the queue or ends.
    pub(crate) fn voicemail_item_gone(&mut self, now: Now, id: &str) {
        let Some(&interaction) = self.voicemail_items.by_message.get(id) else {
            return;
        };
        let by = self
            .voicemails
            .messages
            .get(id)
            .and_then(|m| m.done.as_ref().map(|d| d.1.clone()))
            .unwrap_or_default();
        self.finish_voicemail_item(now, interaction, &by);
    }
}
