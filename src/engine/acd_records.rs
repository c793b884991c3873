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
//!   wrap-up time). Per-phase times are those booked by
//!   [`QueueCall::account`]. Only non-secure variables are stored (CAD-1).
//!   A restart before the call ended leaves the row without outcome, and the
//!   next start marks it `Interrupted`; a restart during wrap-up keeps the
//!   call's outcome and loses only the unsubmitted wrap-up.
//! - **Leg CDRs** (HIST-3): the caller's leg when the interaction's call
//!   ends, each agent phone leg when it ends: declined or failed (its final
//!   status), cancelled (`rona`, `declined`, `answered_elsewhere`,
//!   `abandoned`), or hung up after talking.

use super::queue::{interaction_of, QueueCall};
use super::{Engine, Now, Output};
use crate::acd::{AgentId, AgentState, InteractionId};
use crate::ids::CallRef;
use crate::store::{AcdRecord, AgentAuditRecord, InteractionOutcome, InteractionRecord, LegCdrRecord};

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
    pub(crate) fn record_interaction(&mut self, interaction: InteractionId, outcome: Option<InteractionOutcome>) {
        let Some(qc) = self.queues.calls.get(&interaction) else {
            return;
        };
        let rec = self.interaction_record(qc, outcome);
        self.out.push_back(Output::Acd(AcdRecord::Interaction(Box::new(rec))));
    }

    fn interaction_record(&self, qc: &QueueCall, outcome: Option<InteractionOutcome>) -> InteractionRecord {
        let (reasons, notes) = qc.wrap_up.clone().unwrap_or_default();
        let recordings = self
            .calls
            .get(&qc.call)
            .and_then(|c| c.media.as_ref())
            .map(|m| m.recordings.iter().map(|r| r.file.clone()).collect())
            .unwrap_or_default();
        InteractionRecord {
            uid: qc.uid.clone(),
            queue: self
                .cfg
                .acd()
                .queue(qc.queue)
                .map(|q| q.name.clone())
                .unwrap_or_default(),
            caller: qc.caller_number.clone(),
            dnis: qc.dnis.clone(),
            agent: qc.agent.map(|a| self.login_of(a)),
            outcome,
            arrived_ms: qc.arrived_ms,
            answered_ms: qc.answered_ms,
            ended_ms: qc.ended_ms,
            queue_ms: qc.durations.queue_ms,
            ring_ms: qc.durations.ring_ms,
            talk_ms: qc.durations.talk_ms,
            hold_ms: qc.durations.hold_ms,
            wrap_up_ms: qc.durations.wrap_up_ms,
            wrap_up_reasons: reasons,
            notes,
            variables: qc
                .data
                .acd_variables(false)
                .into_iter()
                .filter(|v| !v.secure)
                .map(|v| (v.name, v.value))
                .collect(),
            recordings,
        }
    }

    /// HIST-3: agent phone leg `idx` of call `id` ended (`cause`, and the
    /// final status when the phone sent one). Written once per leg.
    pub(crate) fn record_agent_leg(&mut self, now: Now, id: CallRef, idx: usize, cause: &str, final_code: Option<u16>) {
        let Some(qc) = self.queues.calls.get_mut(&interaction_of(id)) else {
            return;
        };
        let Some((agent, started_ms)) = qc.agent_legs.remove(&idx) else {
            return;
        };
        let answered = qc.agent == Some(agent) && qc.answered_leg == Some(idx);
        let (uid, answered_ms, talk_ms, hold_ms) = (
            qc.uid.clone(),
            qc.answered_ms.filter(|_| answered),
            if answered { qc.durations.talk_ms } else { 0 },
            if answered { qc.durations.hold_ms } else { 0 },
        );
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
            post_call_ms: 0,
            final_code,
            cause: cause.to_owned(),
        };
        self.out.push_back(Output::Acd(AcdRecord::LegCdr(rec)));
    }

    /// HIST-3: the caller's leg of an interaction ended (`cause` as in the CDR).
    pub(crate) fn record_caller_leg(&mut self, now: Now, interaction: InteractionId, cause: &str) {
        let Some(qc) = self.queues.calls.get(&interaction) else {
            return;
        };
        let call_id = self
            .calls
            .get(&qc.call)
            .map(|c| String::from_utf8_lossy(&c.a.call_id).into_owned())
            .unwrap_or_default();
        let rec = LegCdrRecord {
            interaction: Some(qc.uid.clone()),
            call_id,
            leg: "caller".into(),
            party: qc.caller_number.clone(),
            started_ms: qc.arrived_ms,
            answered_ms: qc.answered_ms,
            ended_ms: now.unix_ms,
            hold_ms: qc.durations.hold_ms,
            talk_ms: qc.durations.talk_ms,
            post_call_ms: 0,
            final_code: qc.answered_ms.map(|_| 200),
            cause: cause.to_owned(),
        };
        self.out.push_back(Output::Acd(AcdRecord::LegCdr(rec)));
    }
}
