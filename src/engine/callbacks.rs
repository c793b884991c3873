//! The engine side of callback requests (CB-2..CB-5, CB-8): who may do
//! what, names resolved against `acd.toml`, the pure
//! [`CallbackBook`](crate::acd::callback::CallbackBook) changed, and every
//! change handed to the store as an [`AcdRecord::Callback`] (written by the
//! store thread like the other ACD records). At startup the driver gives
//! back every stored callback ([`Engine::load_callbacks`]) before the
//! engine serves, so idempotency keys and pending callbacks survive a
//! restart (CB-8).
//!
//! Who may do what (the spec is silent; chosen for a website backend and
//! a contact center):
//! - an admin token (a website backend) and supervisors create web,
//!   scheduled and personal callbacks, assigned to any agent or a named one
//!   (`me` is refused: they are no agent), and read, list, edit and delete
//!   every callback;
//! - an agent creates only personal callbacks for itself (`"agent": "me"`,
//!   its own login, or none); naming another agent or any agent is for
//!   supervisors (403, CB-5). It reads, lists, edits and deletes only the
//!   callbacks assigned to it (others are 403, unknown ones 404);
//! - courtesy callbacks (CB-1) come from a queued caller, never the API.
//!
//! Placing them (OFFER-6, CB-6, CB-7) is `engine/callback_calls.rs`.

use super::{Engine, Now, Output};
use crate::acd::callback::{
    validate, Assigned, Callback, CallbackBook, CallbackError, CallbackKind, CallbackState, Created, Draft, Patch,
    Window,
};
use crate::acd::{AgentId, QueueId};
use crate::records::{AcdRecord, CallbackRecord};
use serde::Serialize;

/// Who asks (the API's guard resolved the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requester {
    /// An admin token (`[api] admin_tokens`): a website backend (CB-2).
    Admin,
    /// An agent, by login.
    Agent(String),
    /// A supervisor, by login.
    Supervisor(String),
}

/// The request's `agent` field (CB-5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssignAsked {
    /// `"any"`: any agent of the queue.
    Any,
    /// `"me"`: the requesting agent.
    Me,
    /// An agent's login.
    Agent(String),
}

/// `POST /callbacks` (CB-2, CB-3, CB-5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    /// Web, scheduled or personal.
    pub kind: CallbackKind,
    /// As typed.
    pub number: String,
    /// As typed.
    pub name: String,
    /// The queue's name.
    pub queue: String,
    /// IANA zone.
    pub zone: Option<String>,
    /// Window start and end as given.
    pub window: Option<(String, String)>,
    /// Reason (empty: none).
    pub reason: String,
    /// Who calls (CB-5).
    pub agent: Option<AssignAsked>,
    /// The `Idempotency-Key` and the request's fingerprint (CB-8).
    pub idempotency: Option<(String, String)>,
}

/// `PATCH /callbacks/{id}` (CB-4): each field given replaces the callback's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EditRequest {
    /// New number.
    pub number: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New queue name.
    pub queue: Option<String>,
    /// New zone.
    pub zone: Option<String>,
    /// New window.
    pub window: Option<(String, String)>,
    /// New reason.
    pub reason: Option<String>,
    /// New assignment (personal callbacks, CB-5).
    pub agent: Option<AssignAsked>,
}

/// What a callback request asks of the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackCommand {
    /// Create (or replay, CB-8).
    Create(Box<CreateRequest>),
    /// A customer's callbacks (`Some(number)`, CB-4) or every open one
    /// (and the interrupted ones, waiting for a supervisor).
    List {
        /// The customer's number.
        number: Option<String>,
    },
    /// One callback.
    Get {
        /// Its id.
        id: String,
    },
    /// Edit until the window starts (CB-4).
    Edit {
        /// Its id.
        id: String,
        /// The changes.
        edit: Box<EditRequest>,
    },
    /// Delete until the window starts (CB-4).
    Delete {
        /// Its id.
        id: String,
    },
    /// Send an interrupted or failed callback back to its queue, due at
    /// once (CB-8: an interrupted one is never redialled by itself).
    Retry {
        /// Its id.
        id: String,
    },
}

/// A callback's window as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WindowView {
    /// Start, RFC 3339 in the callback's zone.
    pub start: String,
    /// End, RFC 3339 in the callback's zone.
    pub end: String,
    /// Start, unix ms.
    pub start_ms: u64,
    /// End, unix ms.
    pub end_ms: u64,
}

/// A callback as the API shows it (names, never config indexes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallbackView {
    /// `cb-<n>`.
    pub id: String,
    /// `web`, `scheduled`, `courtesy`, `personal`.
    pub kind: &'static str,
    /// `pending`, `offered`, `dialing`, `done`, `cancelled`, `deleted`,
    /// `interrupted`, `failed`.
    pub state: &'static str,
    /// As typed.
    pub number: String,
    /// As typed.
    pub name: String,
    /// The queue's name.
    pub queue: String,
    /// IANA zone.
    pub zone: String,
    /// When to call.
    pub window: WindowView,
    /// Why.
    pub reason: String,
    /// The assigned agent's login; `null`: any agent (CB-5).
    pub agent: Option<String>,
    /// Higher first (CB-5).
    pub priority: u8,
    /// Times placed.
    pub attempts: u32,
    /// Unix ms.
    pub created_ms: u64,
    /// Unix ms.
    pub updated_ms: u64,
}

/// The engine's answer to a [`CallbackCommand`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackReply {
    /// Created (201), or the earlier one replayed (200, CB-8).
    Created {
        /// The callback.
        callback: CallbackView,
        /// True when an earlier request with the same key made it.
        replayed: bool,
    },
    /// One callback.
    One(CallbackView),
    /// A list.
    List(Vec<CallbackView>),
}

fn forbidden(m: &str) -> CallbackError {
    CallbackError::Forbidden(m.to_string())
}

fn invalid(field: &'static str, message: String) -> CallbackError {
    CallbackError::Invalid { field, message }
}

impl Engine {
    /// Carries out a callback request at `now` for `who` (CB-2..CB-5).
    pub fn callbacks(
        &mut self,
        now: Now,
        who: &Requester,
        cmd: CallbackCommand,
    ) -> Result<CallbackReply, CallbackError> {
        let me = self.requester_agent(who)?;
        let changes = matches!(
            cmd,
            CallbackCommand::Create(_) | CallbackCommand::Edit { .. } | CallbackCommand::Retry { .. }
        );
        let reply = self.callback_command(now, who, me, cmd);
        if changes && reply.is_ok() {
            // A callback due now (web, courtesy, retried) starts at the next timer.
            self.arm_callback_timer(now);
        }
        reply
    }

    fn callback_command(
        &mut self,
        now: Now,
        who: &Requester,
        me: Option<AgentId>,
        cmd: CallbackCommand,
    ) -> Result<CallbackReply, CallbackError> {
        match cmd {
            CallbackCommand::Create(req) => self.create_callback(now.unix_ms, who, me, *req),
            CallbackCommand::List { number } => {
                let list = match &number {
                    Some(n) => self.callbacks.by_number(n),
                    None => self.callbacks.open(),
                };
                let views = list
                    .into_iter()
                    .filter(|c| me.is_none_or(|a| c.assigned == Assigned::Agent(a)))
                    .map(|c| self.callback_view(c))
                    .collect();
                Ok(CallbackReply::List(views))
            }
            CallbackCommand::Get { id } => {
                let cb = self.callback_for(&id, me)?;
                Ok(CallbackReply::One(self.callback_view(cb)))
            }
            CallbackCommand::Edit { id, edit } => {
                self.callback_for(&id, me)?;
                let patch = self.patch(who, me, *edit)?;
                let cb = self.callbacks.edit(&id, patch, now.unix_ms)?.clone();
                self.record_callback(&cb);
                Ok(CallbackReply::One(self.callback_view(&cb)))
            }
            CallbackCommand::Delete { id } => {
                self.callback_for(&id, me)?;
                let cb = self.callbacks.delete(&id, now.unix_ms)?.clone();
                self.record_callback(&cb);
                Ok(CallbackReply::One(self.callback_view(&cb)))
            }
            CallbackCommand::Retry { id } => {
                if me.is_some() {
                    return Err(forbidden(
                        "only a supervisor or an admin token sends an interrupted or failed callback back to its queue",
                    ));
                }
                let cb = self.callbacks.retry(&id, now.unix_ms)?.clone();
                tracing::info!(callback = %cb.id, "callback sent back to its queue by hand");
                self.record_callback(&cb);
                Ok(CallbackReply::One(self.callback_view(&cb)))
            }
        }
    }

    /// The requesting agent's id (`None` for admins and supervisors).
    fn requester_agent(&self, who: &Requester) -> Result<Option<AgentId>, CallbackError> {
        match who {
            Requester::Agent(login) => self
                .cfg
                .acd()
                .agent_by_login(login)
                .map(|a| Some(a.id))
                .ok_or_else(|| forbidden("this agent is no longer configured")),
            _ => Ok(None),
        }
    }

    /// A callback `me` may see (an agent: only those assigned to it).
    fn callback_for(&self, id: &str, me: Option<AgentId>) -> Result<&Callback, CallbackError> {
        let cb = self
            .callbacks
            .get(id)
            .ok_or_else(|| CallbackError::NotFound(id.to_string()))?;
        match me {
            Some(a) if cb.assigned != Assigned::Agent(a) => Err(forbidden(
                "an agent reaches only the callbacks assigned to it; supervisors reach every callback",
            )),
            _ => Ok(cb),
        }
    }

    /// CB-5: who a request's `agent` names, if `who` may name it.
    fn assignment(
        &self,
        who: &Requester,
        me: Option<AgentId>,
        asked: Option<AssignAsked>,
    ) -> Result<Assigned, CallbackError> {
        let named = |login: &str| {
            self.cfg
                .acd()
                .agent_by_login(login)
                .map(|a| a.id)
                .ok_or_else(|| invalid("agent", format!("`{login}` is not an agent's login")))
        };
        match (me, asked) {
            (Some(a), None | Some(AssignAsked::Me)) => Ok(Assigned::Agent(a)),
            (Some(a), Some(AssignAsked::Agent(login))) => {
                let target = named(&login)?;
                if target == a {
                    Ok(Assigned::Agent(a))
                } else {
                    Err(forbidden(
                        "only a supervisor assigns a callback to another agent (CB-5)",
                    ))
                }
            }
            (Some(_), Some(AssignAsked::Any)) => Err(forbidden(
                "only a supervisor assigns a callback to any agent; an agent's personal callback is its own (CB-5)",
            )),
            (None, None | Some(AssignAsked::Any)) => Ok(Assigned::AnyAgent),
            (None, Some(AssignAsked::Me)) => Err(invalid(
                "agent",
                format!(
                    "`me` is the requesting agent, and {} is no agent: name the agent",
                    match who {
                        Requester::Admin => "an admin token",
                        _ => "a supervisor",
                    }
                ),
            )),
            (None, Some(AssignAsked::Agent(login))) => named(&login).map(Assigned::Agent),
        }
    }

    fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.cfg.acd().queue_by_name(name).map(|q| q.id)
    }

    fn create_callback(
        &mut self,
        now_ms: u64,
        who: &Requester,
        me: Option<AgentId>,
        req: CreateRequest,
    ) -> Result<CallbackReply, CallbackError> {
        if req.kind == CallbackKind::Courtesy {
            return Err(invalid(
                "kind",
                "a courtesy callback is chosen by a caller waiting in a queue (CB-1), not created through the API"
                    .into(),
            ));
        }
        if me.is_some() && req.kind != CallbackKind::Personal {
            return Err(forbidden(
                "an agent creates only personal callbacks (CB-5); web and scheduled ones come from the website or a supervisor",
            ));
        }
        // A retry is answered before anything else is checked (the first
        // request was valid then; CB-8).
        if let Some((key, f)) = &req.idempotency {
            if let Some(r) = self.callbacks.replay(key, f) {
                let cb = r?.clone();
                return Ok(CallbackReply::Created {
                    callback: self.callback_view(&cb),
                    replayed: true,
                });
            }
        }
        let assigned = self.assignment(who, me, req.agent.clone())?;
        let draft = Draft {
            kind: req.kind,
            queue: self.queue_id(&req.queue),
            queue_name: req.queue,
            number: req.number,
            name: req.name,
            zone: req.zone,
            window: req.window,
            reason: req.reason,
            assigned,
        };
        let valid = validate(&draft, now_ms)?;
        let (cb, replayed) = match self.callbacks.create(valid, now_ms, req.idempotency)? {
            Created::New(cb) => (cb, false),
            Created::Replayed(cb) => (cb, true),
        };
        if !replayed {
            self.record_callback(&cb);
        }
        Ok(CallbackReply::Created {
            callback: self.callback_view(&cb),
            replayed,
        })
    }

    fn patch(&self, who: &Requester, me: Option<AgentId>, e: EditRequest) -> Result<Patch, CallbackError> {
        let assigned = match e.agent {
            Some(a) => Some(self.assignment(who, me, Some(a))?),
            None => None,
        };
        Ok(Patch {
            number: e.number,
            name: e.name,
            queue: e.queue.map(|q| (self.queue_id(&q), q)),
            zone: e.zone,
            window: e.window,
            reason: e.reason,
            assigned,
        })
    }

    /// Hands the callback as it stands to the store (CB-8).
    pub(super) fn record_callback(&mut self, cb: &Callback) {
        let rec = self.callback_record(cb);
        self.out.push_back(Output::Acd(AcdRecord::Callback(Box::new(rec))));
    }

    fn callback_record(&self, cb: &Callback) -> CallbackRecord {
        let acd = self.cfg.acd();
        CallbackRecord {
            id: cb.id.clone(),
            kind: cb.kind.as_str().into(),
            state: cb.state.as_str().into(),
            number: cb.number.clone(),
            name: cb.name.clone(),
            queue: acd.queue(cb.queue).map(|q| q.name.clone()).unwrap_or_default(),
            zone: cb.zone.clone(),
            window_start_ms: cb.window.start_ms,
            window_end_ms: cb.window.end_ms,
            reason: cb.reason.clone(),
            agent: match cb.assigned {
                Assigned::AnyAgent => None,
                Assigned::Agent(a) => acd.agent(a).map(|a| a.login.clone()),
            },
            priority: cb.priority,
            attempts: cb.attempts,
            created_ms: cb.created_ms,
            updated_ms: cb.updated_ms,
            idempotency_key: cb.idempotency_key.clone(),
            request: cb
                .idempotency_key
                .as_deref()
                .and_then(|k| self.callbacks.fingerprint(k))
                .map(str::to_string),
        }
    }

    /// The API's view of `cb`.
    fn callback_view(&self, cb: &Callback) -> CallbackView {
        let rec = self.callback_record(cb);
        CallbackView {
            id: rec.id,
            kind: cb.kind.as_str(),
            state: cb.state.as_str(),
            number: rec.number,
            name: rec.name,
            queue: rec.queue,
            window: WindowView {
                start: crate::acd::callback::show_ms(cb.window.start_ms, &cb.zone),
                end: crate::acd::callback::show_ms(cb.window.end_ms, &cb.zone),
                start_ms: cb.window.start_ms,
                end_ms: cb.window.end_ms,
            },
            zone: rec.zone,
            reason: rec.reason,
            agent: rec.agent,
            priority: cb.priority,
            attempts: cb.attempts,
            created_ms: cb.created_ms,
            updated_ms: cb.updated_ms,
        }
    }

    /// CB-8: takes back the stored callbacks at startup, before the engine
    /// serves. A callback whose queue is no longer configured is left in
    /// the store and logged; one whose agent is gone goes to any agent.
    pub fn load_callbacks(&mut self, records: Vec<CallbackRecord>) {
        let mut book = CallbackBook::new();
        for r in records {
            let (Some(kind), Some(state)) = (CallbackKind::parse(&r.kind), CallbackState::parse(&r.state)) else {
                tracing::warn!(id = %r.id, kind = %r.kind, state = %r.state, "stored callback of an unknown kind or state: skipped");
                continue;
            };
            let Some(queue) = self.queue_id(&r.queue) else {
                if state.is_open() {
                    tracing::warn!(id = %r.id, queue = %r.queue, "stored callback for a queue no longer configured: not restored");
                }
                continue;
            };
            let assigned = match &r.agent {
                None => Assigned::AnyAgent,
                Some(login) => match self.cfg.acd().agent_by_login(login) {
                    Some(a) => Assigned::Agent(a.id),
                    None => {
                        tracing::warn!(id = %r.id, agent = %login, "stored callback's agent no longer configured: any agent now");
                        Assigned::AnyAgent
                    }
                },
            };
            book.restore(
                Callback {
                    id: r.id,
                    kind,
                    number: r.number,
                    name: r.name,
                    queue,
                    zone: r.zone,
                    window: Window {
                        start_ms: r.window_start_ms,
                        end_ms: r.window_end_ms,
                    },
                    reason: r.reason,
                    assigned,
                    priority: r.priority,
                    state,
                    attempts: r.attempts,
                    created_ms: r.created_ms,
                    updated_ms: r.updated_ms,
                    idempotency_key: r.idempotency_key,
                },
                r.request,
            );
        }
        let pending = book.pending().len();
        if pending > 0 {
            tracing::info!(pending, "callbacks restored");
        }
        self.callbacks = book;
    }

    /// How many callbacks are in each state (`/metrics`).
    pub fn callback_counts(&self) -> Vec<(&'static str, u64)> {
        CallbackState::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str(),
                    self.callbacks.iter().filter(|c| c.state == *s).count() as u64,
                )
            })
            .collect()
    }

    /// The pending callbacks due at `now_ms`, personal ones first (CB-5).
    pub fn callbacks_due(&self, now_ms: u64) -> Vec<Callback> {
        self.callbacks.due(now_ms).into_iter().cloned().collect()
    }

    /// When the next pending callback's window starts (unix ms).
    pub fn next_callback_due_ms(&self) -> Option<u64> {
        self.callbacks.next_due_ms()
    }
}
