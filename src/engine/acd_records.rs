//! What the contact center writes to the store (issue 4 item 6): the
//! engine emits [`Output::Acd`] records and the driver's store thread
//! writes them in order.
//!
//! - **Agent audit** (AGENT-6): one row per state change the ACD reports,
//!   with the idle reason, the pending state (AGENT-4) and the interaction
//!   the state refers to.
//! - **Interactions** (HIST-3): upserted by uid when the call arrives, when
//!   an agent answers, when the call ends (outcome `Answered`, `Abandoned`
//!   or `Overflowed`) and when its wrap-up ends (reasons, notes and the
//!   wrap-up time). The record is built from the ACD core's
//!   [`InteractionInfo`] (its phases and times, HIST-3); the last one from
//!   the history the core hands over when the interaction closes. Only non-secure variables are stored (CAD-1).
//!   A restart before the call ended leaves the row without outcome, and the
//!   next start marks it `Interrupted`; a restart during wrap-up keeps the
//!   call's outcome and loses only the unsubmitted wrap-up.
//! - **Leg CDRs** (HIST-3): the caller's leg when the interaction's call
//!   ends, each agent phone leg when it ends: declined or failed (its final
//!   status), cancelled (`rona`, `declined`, `answered_elsewhere`,
//!   `abandoned`), or hung up after talking.

use super::queue::{interaction_of, unix_ms_of, QueueCall};
use super::{Engine, Now, Output};
use crate::acd::{AgentId, AgentState, HandlingEnd, InteractionId, InteractionInfo, Outcome};
use crate::ids::CallRef;
use crate::records::{
    AcdRecord, AgentAuditRecord, HandlerRecord, InteractionOutcome, InteractionRecord, LegCdrRecord, VisitRecord,
};

impl Engine {
    /// AGENT-6: an agent's state changed; `pending` is AGENT-4's waiting state.
    pub(crate) fn record_agent_state(&mut self, now: Now, agent: AgentId, state: &AgentState, pending: Option<String>) {
        let (name, reason) = super::queue::state_name(state);
        let interaction = match state {
            AgentState::Reserved { interaction, .. }
            | AgentState::Busy { interaction }
            | AgentState::WrapUp { interaction, .. } => Some(self.uid_of(*interaction)),
            _ => None,
        };
        let rec = AgentAuditRecord {
            agent: self.login_of(agent),
            state: name.to_owned(),
            reason,
            pending,
            interaction,
            at_ms: now.unix_ms,
        };
        self.out.push_back(Output::Acd(AcdRecord::AgentAudit(rec)));
    }

    /// HIST-3: the interaction as it stands, with `outcome` once its call ended.
    pub(crate) fn record_interaction(
        &mut self,
        now: Now,
        interaction: InteractionId,
        outcome: Option<InteractionOutcome>,
    ) {
        let (Some(qc), Some(info)) = (self.queues.calls.get(&interaction), self.acd.interaction(interaction)) else {
            return;
        };
        let rec = self.interaction_record(now, qc, info, outcome);
        self.out.push_back(Output::Acd(AcdRecord::Interaction(Box::new(rec))));
    }

    /// The store's row for an interaction, from the ACD core's history `info`.
    pub(crate) fn interaction_record(
        &self,
        now: Now,
        qc: &QueueCall,
        info: &InteractionInfo,
        outcome: Option<InteractionOutcome>,
    ) -> InteractionRecord {
        let (reasons, notes) = info.wrap_up.clone().unwrap_or_default();
        let recordings = self
            .calls
            .get(&qc.call)
            .and_then(|c| c.media.as_ref())
            .map(|m| m.recordings.iter().map(|r| r.file.clone()).collect())
            .unwrap_or_default();
        let d = info.durations();
        InteractionRecord {
            uid: qc.uid.clone(),
            queue: self
                .cfg
                .acd()
                .queue(info.queue)
                .map(|q| q.name.clone())
                .unwrap_or_default(),
            caller: info.customer.caller_number.clone(),
            dnis: info.customer.dnis.clone(),
            // The primary agent, or the last one who held it (a transfer
            // out of the contact center leaves none).
            agent: info
                .agent
                .or(info.handlers.last().map(|h| h.agent))
                .map(|a| self.login_of(a)),
            outcome,
            arrived_ms: unix_ms_of(now, info.arrived_at),
            answered_ms: info.answered_at.map(|t| unix_ms_of(now, t)),
            ended_ms: info.ended_at.map(|t| unix_ms_of(now, t)),
            queue_ms: d.queue_ms,
            ring_ms: d.ring_ms,
            talk_ms: d.talk_ms,
            hold_ms: d.hold_ms,
            wrap_up_ms: d.wrap_up_ms,
            consult_ms: d.consult_ms,
            conference_ms: d.conference_ms,
            post_call_ms: d.post_call_ms,
            wrap_up_reasons: reasons,
            notes,
            variables: info
                .customer
                .data
                .acd_variables(false)
                .into_iter()
                .filter(|v| !v.secure)
                .map(|v| (v.name, v.value))
                .collect(),
            recordings,
            handlers: info
                .handlers
                .iter()
                .map(|h| HandlerRecord {
                    agent: self.login_of(h.agent),
                    from_ms: unix_ms_of(now, h.from),
                    to_ms: h.to.map(|t| unix_ms_of(now, t)),
                    end: h.end.map(|e| handling_end_name(e).to_owned()),
                    wrap_up_reasons: h.wrap_up.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
                })
                .collect(),
            visits: info
                .visits
                .all()
                .iter()
                .map(|v| VisitRecord {
                    queue: self
                        .cfg
                        .acd()
                        .queue(v.queue)
                        .map(|q| q.name.clone())
                        .unwrap_or_default(),
                    entered_ms: unix_ms_of(now, v.entered),
                    left_ms: v.left.map(|t| unix_ms_of(now, t)),
                    end: v.end.map(|e| e.name().to_owned()),
                    agent: v.agent.map(|a| self.login_of(a)),
                    offers: v.offers,
                    ronas: v.ronas,
                })
                .collect(),
        }
    }

    /// HIST-3: agent phone leg `idx` of call `id` ended (`cause`, and the
    /// final status when the phone sent one). Written once per leg.
    pub(crate) fn record_agent_leg(&mut self, now: Now, id: CallRef, idx: usize, cause: &str, final_code: Option<u16>) {
        let interaction = interaction_of(id);
        let Some(qc) = self.queues.calls.get_mut(&interaction) else {
            return;
        };
        let Some((agent, started_ms)) = qc.agent_legs.remove(&idx) else {
            return;
        };
        let answered_leg = qc.answered_leg == Some(idx);
        let uid = qc.uid.clone();
        let info = self
            .acd
            .interaction(interaction)
            .filter(|i| answered_leg && i.agent == Some(agent));
        let d = info.map(|i| i.durations_at(now.mono)).unwrap_or_default();
        let (answered_ms, talk_ms) = match info {
            Some(i) => (i.answered_at.map(|t| unix_ms_of(now, t)), d.talk_ms),
            // No longer the primary (a supervisor's transfer handed the
            // interaction over while this leg talked): its own answer time.
            None => {
                let answered = self
                    .calls
                    .get(&id)
                    .and_then(|c| c.b.get(idx))
                    .and_then(|l| l.answered_ms);
                (answered, answered.map_or(0, |a| now.unix_ms.saturating_sub(a)))
            }
        };
        let (hold_ms, post_call_ms) = (d.hold_ms, d.post_call_ms);
        let call_id = self
            .calls
            .get(&id)
            .and_then(|c| c.b.get(idx))
            .map(|l| String::from_utf8_lossy(&l.call_id).into_owned())
            .unwrap_or_default();
        let rec = LegCdrRecord {
            interaction: Some(uid),
            call_id,
            leg: "agent".into(),
            party: self.login_of(agent),
            started_ms,
            answered_ms,
            ended_ms: now.unix_ms,
            hold_ms,
            talk_ms,
            post_call_ms,
            final_code,
            cause: cause.to_owned(),
        };
        self.out.push_back(Output::Acd(AcdRecord::LegCdr(rec)));
    }

    /// HIST-3: the caller's leg of an interaction ended (`cause` as in the CDR).
    pub(crate) fn record_caller_leg(&mut self, now: Now, interaction: InteractionId, cause: &str) {
        let (Some(qc), Some(info)) = (self.queues.calls.get(&interaction), self.acd.interaction(interaction)) else {
            return;
        };
        let call_id = self
            .calls
            .get(&qc.call)
            .map(|c| String::from_utf8_lossy(&c.a.call_id).into_owned())
            .unwrap_or_default();
        let d = info.durations_at(now.mono);
        let answered_ms = info.answered_at.map(|t| unix_ms_of(now, t));
        let rec = LegCdrRecord {
            interaction: Some(qc.uid.clone()),
            call_id,
            leg: "caller".into(),
            party: info.customer.caller_number.clone(),
            started_ms: unix_ms_of(now, info.arrived_at),
            answered_ms,
            ended_ms: now.unix_ms,
            hold_ms: d.hold_ms,
            talk_ms: d.talk_ms,
            post_call_ms: 0,
            final_code: answered_ms.map(|_| 200),
            cause: cause.to_owned(),
        };
        self.out.push_back(Output::Acd(AcdRecord::LegCdr(rec)));
    }
}

/// How an agent's time on an interaction ended, as stored (HIST-3).
fn handling_end_name(e: HandlingEnd) -> &'static str {
    match e {
        HandlingEnd::Transferred => "transferred",
        HandlingEnd::Ended => "ended",
        HandlingEnd::Left => "left",
        HandlingEnd::Supervisor => "supervisor",
    }
}

impl From<Outcome> for InteractionOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Answered => InteractionOutcome::Answered,
            Outcome::Abandoned => InteractionOutcome::Abandoned,
            Outcome::Overflowed => InteractionOutcome::Overflowed,
            Outcome::Transferred => InteractionOutcome::Transferred,
            Outcome::Closed => InteractionOutcome::Closed,
        }
    }
}
