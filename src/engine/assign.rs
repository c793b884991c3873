//! SUP-5 from the supervisor's desktop: assign an open, unassigned
//! interaction to an agent or a queue (the rule is the ACD core's,
//! `acd/assign.rs`). The answer says how the interaction reaches its
//! target and by how many units the agent's capacity is exceeded; the
//! agent's event stream (and every supervisor's) is told. Errors name the
//! agent, the queue and the interaction as the supervisor knows them.

use super::desk::{AssignTo, AssignView, DeskError, DeskEvent};
use super::{Engine, Now};
use crate::acd::{AcdError, AssignTarget, Delivery};

impl Engine {
    /// `supervisor` assigns interaction `uid` to `to`.
    pub(super) fn assign(
        &mut self,
        now: Now,
        supervisor: &str,
        uid: &str,
        to: AssignTo,
    ) -> Result<AssignView, DeskError> {
        let id = self.interaction_by_uid(uid)?;
        let acd = self.cfg.acd();
        let target =
            match &to {
                AssignTo::Agent(login) => AssignTarget::Agent(acd.agent_by_login(login).map(|a| a.id).ok_or_else(
                    || DeskError::NotFound {
                        field: "agent",
                        message: format!("no agent {login}"),
                    },
                )?),
                AssignTo::Queue(name) => AssignTarget::Queue(acd.queue_by_name(name).map(|q| q.id).ok_or_else(
                    || DeskError::NotFound {
                        field: "queue",
                        message: format!("no queue {name}"),
                    },
                )?),
            };
        let done = self.acd.assign(now.mono, id, target).map_err(|e| match e {
            AcdError::NotAssignable { agent, .. } => DeskError::Conflict(format!(
                "interaction {uid} is already assigned to agent {} (SUP-5: only an open, unassigned interaction can be assigned)",
                self.login_of(agent)
            )),
            AcdError::NotLoggedIn(agent) => DeskError::Conflict(format!(
                "agent {} is logged out: nobody would take the call",
                self.login_of(agent)
            )),
            other => super::desk_ops::desk_error(other),
        })?;
        let delivery = match done.delivery {
            Delivery::Ringing => "ringing",
            Delivery::WhenFree => "when_free",
            Delivery::Queued => "queued",
        };
        let (agent, queue) = match to {
            AssignTo::Agent(a) => (Some(a), None),
            AssignTo::Queue(q) => (None, Some(q)),
        };
        if let Some(agent) = &agent {
            self.desk_event(DeskEvent::Assigned {
                agent: agent.clone(),
                interaction: uid.to_owned(),
                supervisor: supervisor.to_owned(),
                delivery,
            });
        }
        tracing::info!(
            %supervisor,
            interaction = %uid,
            agent = agent.as_deref().unwrap_or(""),
            queue = queue.as_deref().unwrap_or(""),
            delivery,
            capacity_exceeded_by = done.capacity_exceeded_by,
            "interaction assigned by a supervisor (SUP-5)"
        );
        Ok(AssignView {
            interaction: uid.to_owned(),
            agent,
            queue,
            delivery,
            capacity_exceeded_by: done.capacity_exceeded_by,
            presence_overridden: done.presence_overridden,
        })
    }
}
