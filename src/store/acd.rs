//! The ACD's durable records, on the I/O edge next to the registrar's
//! bindings and the call CDRs:
//!
//! - the agent state audit log (spec AGENT-6: every state change with its
//!   reason and timestamp), [`AgentAuditRecord`];
//! - interactions with their phase durations, wrap-up reasons and notes
//!   (spec HIST-3, WRAP-1), [`InteractionRecord`];
//! - a call-detail record per call leg (spec HIST-3), [`LegCdrRecord`];
//! - restart recovery ([`Store::recover_after_restart`]): a restart during
//!   calls logs the agents out cleanly and records the interrupted
//!   interactions.
//!
//! The records are plain data (strings, unix milliseconds) so the store knows
//! nothing of the ACD core's types; the driver converts the engine's outputs.
//! Nothing here reads the clock: callers pass unix milliseconds.
//!
//! Order: "latest" for an agent means the last audit record written (the
//! store thread is the only writer, so insertion order is the order of the
//! changes), never the largest timestamp, so a clock stepped backwards cannot
//! make an old state look current. Listings are ordered by timestamp, ties by
//! insertion order.

use super::{to_i64, to_u64, Store, StoreError};
use crate::records::{AgentAuditRecord, InteractionOutcome, InteractionRecord, LegCdrRecord};
use rusqlite::{params, Connection, Row};
use serde::de::DeserializeOwned;

/// The audit state of a logged-out agent (spec AGENT-1, AGENT-6).
pub const LOGGED_OUT: &str = "LoggedOut";

/// The audit reason of the logout written by restart recovery (spec AGENT-6).
pub const RESTART_REASON: &str = "restart";

/// What [`Store::recover_after_restart`] closed (spec HIST-3, AGENT-6), for
/// the driver's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The uids of the interactions now `Interrupted`, in arrival order.
    pub interrupted: Vec<String>,
    /// The logins of the agents now `LoggedOut`, in name order.
    pub logged_out: Vec<String>,
}

impl Recovery {
    /// True when the restart left nothing open.
    pub fn is_empty(&self) -> bool {
        self.interrupted.is_empty() && self.logged_out.is_empty()
    }
}

const INTERACTION_COLUMNS: &str =
    "uid, queue, caller, dnis, agent, outcome, arrived_ms, answered_ms, ended_ms, queue_ms,
     ring_ms, talk_ms, hold_ms, wrap_up_ms, wrap_up_reasons, notes, variables, recordings,
     consult_ms, conference_ms, post_call_ms, handlers, visits";

const AUDIT_COLUMNS: &str = "agent, state, reason, pending, interaction, at_ms";

const LEG_COLUMNS: &str = "interaction, call_id, leg, party, started_ms, answered_ms, ended_ms, hold_ms, talk_ms,
     post_call_ms, final_code, cause";

impl Store {
    /// Appends one agent state change to the audit log (spec AGENT-6) and
    /// records it as the agent's latest state; returns its row id.
    pub fn insert_agent_audit(&mut self, rec: &AgentAuditRecord) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        let id = insert_audit(&tx, rec)?;
        tx.commit()?;
        Ok(id)
    }

    /// One agent's audit log in time order (spec AGENT-6).
    pub fn list_agent_audit(&self, agent: &str) -> Result<Vec<AgentAuditRecord>, StoreError> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM agent_audit WHERE agent = ?1 ORDER BY at_ms, id");
        collect(&self.conn, &sql, params![agent], audit_from_row)
    }

    /// Every agent's state changes at or after `since_ms`, in time order, at
    /// most `limit` of them (spec AGENT-6).
    pub fn list_agent_audit_since(&self, since_ms: u64, limit: u32) -> Result<Vec<AgentAuditRecord>, StoreError> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM agent_audit WHERE at_ms >= ?1 ORDER BY at_ms, id LIMIT ?2");
        collect(
            &self.conn,
            &sql,
            params![to_i64(since_ms, "at_ms")?, limit],
            audit_from_row,
        )
    }

    /// Stores a new interaction as it enters a queue (spec HIST-3). It must
    /// be open (`outcome` is `None`, else [`StoreError::BadValue`]) and its
    /// uid new (else [`StoreError::InteractionExists`]).
    pub fn open_interaction(&self, rec: &InteractionRecord) -> Result<(), StoreError> {
        if rec.outcome.is_some() {
            return Err(StoreError::BadValue {
                column: "outcome",
                reason: format!("interaction {} is opened with an outcome", rec.uid),
            });
        }
        let sql = format!(
            "INSERT INTO interactions ({INTERACTION_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)
             ON CONFLICT (uid) DO NOTHING"
        );
        if write_interaction(&self.conn, &sql, rec)? == 0 {
            return Err(StoreError::InteractionExists { uid: rec.uid.clone() });
        }
        Ok(())
    }

    /// Writes the whole interaction, inserting it if its uid is new (spec
    /// HIST-3, WRAP-1). Set `outcome` when the call ends; until then the
    /// interaction stays open.
    pub fn update_interaction(&self, rec: &InteractionRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT OR REPLACE INTO interactions ({INTERACTION_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
        );
        write_interaction(&self.conn, &sql, rec)?;
        Ok(())
    }

    /// The interaction with this uid (spec HIST-3).
    pub fn get_interaction(&self, uid: &str) -> Result<Option<InteractionRecord>, StoreError> {
        let sql = format!("SELECT {INTERACTION_COLUMNS} FROM interactions WHERE uid = ?1");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params![uid])?;
        rows.next()?.map(interaction_from_row).transpose()
    }

    /// Interactions that arrived at or after `since_ms`, in arrival order, at
    /// most `limit` of them (spec HIST-3).
    pub fn list_interactions(&self, since_ms: u64, limit: u32) -> Result<Vec<InteractionRecord>, StoreError> {
        let sql = format!(
            "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE arrived_ms >= ?1 ORDER BY arrived_ms, uid LIMIT ?2"
        );
        collect(
            &self.conn,
            &sql,
            params![to_i64(since_ms, "arrived_ms")?, limit],
            interaction_from_row,
        )
    }

    /// The rows the statistics of `[from_ms, to_ms)` are folded from
    /// (issue 13, `crate::records::stats`): the interactions that arrived
    /// from a day before `from_ms` (a call's later visits may fall in the
    /// window) until `to_ms`, and the agents' state changes in the window
    /// with, before it, each agent's last one (the state it started the
    /// window in), in the order they happened.
    pub fn stats_rows(
        &self,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<(Vec<InteractionRecord>, Vec<AgentAuditRecord>), StoreError> {
        let (from, to) = (to_i64(from_ms, "from")?, to_i64(to_ms, "to")?);
        let sql = format!(
            "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE arrived_ms >= ?1 AND arrived_ms < ?2
             ORDER BY arrived_ms, uid"
        );
        let interactions = collect(
            &self.conn,
            &sql,
            params![from.saturating_sub(86_400_000), to],
            interaction_from_row,
        )?;
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM agent_audit WHERE id IN (
                 SELECT (SELECT b.id FROM agent_audit b WHERE b.agent = a.agent AND b.at_ms < ?1
                         ORDER BY b.at_ms DESC, b.id DESC LIMIT 1)
                 FROM (SELECT DISTINCT agent FROM agent_audit) a)
             OR (at_ms >= ?1 AND at_ms < ?2)
             ORDER BY at_ms, id"
        );
        let audit = collect(&self.conn, &sql, params![from, to], audit_from_row)?;
        Ok((interactions, audit))
    }

    /// Appends the CDR of one call leg (spec HIST-3); returns its row id.
    pub fn insert_leg_cdr(&self, rec: &LegCdrRecord) -> Result<i64, StoreError> {
        self.conn.execute(
            &format!("INSERT INTO leg_cdrs ({LEG_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                rec.interaction,
                rec.call_id,
                rec.leg,
                rec.party,
                to_i64(rec.started_ms, "started_ms")?,
                opt_i64(rec.answered_ms, "answered_ms")?,
                to_i64(rec.ended_ms, "ended_ms")?,
                to_i64(rec.hold_ms, "hold_ms")?,
                to_i64(rec.talk_ms, "talk_ms")?,
                to_i64(rec.post_call_ms, "post_call_ms")?,
                rec.final_code,
                rec.cause,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The leg CDRs of one interaction, in the order the legs started (spec
    /// HIST-3).
    pub fn list_leg_cdrs(&self, interaction: &str) -> Result<Vec<LegCdrRecord>, StoreError> {
        let sql = format!("SELECT {LEG_COLUMNS} FROM leg_cdrs WHERE interaction = ?1 ORDER BY started_ms, id");
        collect(&self.conn, &sql, params![interaction], leg_from_row)
    }

    /// Closes what a restart left open, in one transaction (spec HIST-3,
    /// AGENT-6: "a restart during calls logs the agents out cleanly and
    /// records the interrupted interactions"):
    ///
    /// - every open interaction becomes [`InteractionOutcome::Interrupted`]
    ///   with `ended_ms` set to `now_ms` (kept if already written); its phase
    ///   durations stay as last written;
    /// - every agent whose latest audit record is not [`LOGGED_OUT`] gets a
    ///   `LoggedOut` record with reason [`RESTART_REASON`] at `now_ms`.
    ///
    /// Idempotent: a second call finds nothing open and changes nothing.
    pub fn recover_after_restart(&mut self, now_ms: u64) -> Result<Recovery, StoreError> {
        let now = to_i64(now_ms, "now_ms")?;
        let tx = self.conn.transaction()?;
        let interrupted: Vec<String> = {
            let mut stmt = tx.prepare("SELECT uid FROM interactions WHERE outcome IS NULL ORDER BY arrived_ms, uid")?;
            let uids = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            uids
        };
        tx.execute(
            "UPDATE interactions SET outcome = ?1, ended_ms = COALESCE(ended_ms, ?2) WHERE outcome IS NULL",
            params![InteractionOutcome::Interrupted.as_str(), now],
        )?;
        let logged_out: Vec<String> = {
            let mut stmt = tx.prepare("SELECT agent FROM agent_latest WHERE state <> ?1 ORDER BY agent")?;
            let agents = stmt.query_map([LOGGED_OUT], |r| r.get(0))?.collect::<Result<_, _>>()?;
            agents
        };
        for agent in &logged_out {
            insert_audit(
                &tx,
                &AgentAuditRecord {
                    agent: agent.clone(),
                    state: LOGGED_OUT.to_owned(),
                    reason: Some(RESTART_REASON.to_owned()),
                    pending: None,
                    interaction: None,
                    at_ms: now_ms,
                },
            )?;
        }
        tx.commit()?;
        Ok(Recovery {
            interrupted,
            logged_out,
        })
    }
}

/// Inserts an audit record and makes it the agent's latest (call inside a
/// transaction so both land or neither).
fn insert_audit(conn: &Connection, rec: &AgentAuditRecord) -> Result<i64, StoreError> {
    conn.execute(
        &format!("INSERT INTO agent_audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            rec.agent,
            rec.state,
            rec.reason,
            rec.pending,
            rec.interaction,
            to_i64(rec.at_ms, "at_ms")?,
        ],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute(
        "INSERT OR REPLACE INTO agent_latest (agent, state, audit_id) VALUES (?1, ?2, ?3)",
        params![rec.agent, rec.state, id],
    )?;
    Ok(id)
}

fn write_interaction(conn: &Connection, sql: &str, rec: &InteractionRecord) -> Result<usize, StoreError> {
    Ok(conn.execute(
        sql,
        params![
            rec.uid,
            rec.queue,
            rec.caller,
            rec.dnis,
            rec.agent,
            rec.outcome.map(InteractionOutcome::as_str),
            to_i64(rec.arrived_ms, "arrived_ms")?,
            opt_i64(rec.answered_ms, "answered_ms")?,
            opt_i64(rec.ended_ms, "ended_ms")?,
            to_i64(rec.queue_ms, "queue_ms")?,
            to_i64(rec.ring_ms, "ring_ms")?,
            to_i64(rec.talk_ms, "talk_ms")?,
            to_i64(rec.hold_ms, "hold_ms")?,
            to_i64(rec.wrap_up_ms, "wrap_up_ms")?,
            serde_json::to_string(&rec.wrap_up_reasons)?,
            rec.notes,
            serde_json::to_string(&rec.variables)?,
            serde_json::to_string(&rec.recordings)?,
            to_i64(rec.consult_ms, "consult_ms")?,
            to_i64(rec.conference_ms, "conference_ms")?,
            to_i64(rec.post_call_ms, "post_call_ms")?,
            serde_json::to_string(&rec.handlers)?,
            serde_json::to_string(&rec.visits)?,
        ],
    )?)
}

fn collect<P: rusqlite::Params, T>(
    conn: &Connection,
    sql: &str,
    params: P,
    from_row: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

fn audit_from_row(r: &Row<'_>) -> Result<AgentAuditRecord, StoreError> {
    Ok(AgentAuditRecord {
        agent: r.get(0)?,
        state: r.get(1)?,
        reason: r.get(2)?,
        pending: r.get(3)?,
        interaction: r.get(4)?,
        at_ms: u64_at(r, 5, "at_ms")?,
    })
}

fn interaction_from_row(r: &Row<'_>) -> Result<InteractionRecord, StoreError> {
    let outcome = match r.get::<_, Option<String>>(5)? {
        None => None,
        Some(name) => Some(InteractionOutcome::from_name(&name).ok_or(StoreError::BadValue {
            column: "outcome",
            reason: name,
        })?),
    };
    Ok(InteractionRecord {
        uid: r.get(0)?,
        queue: r.get(1)?,
        caller: r.get(2)?,
        dnis: r.get(3)?,
        agent: r.get(4)?,
        outcome,
        arrived_ms: u64_at(r, 6, "arrived_ms")?,
        answered_ms: opt_u64_at(r, 7, "answered_ms")?,
        ended_ms: opt_u64_at(r, 8, "ended_ms")?,
        queue_ms: u64_at(r, 9, "queue_ms")?,
        ring_ms: u64_at(r, 10, "ring_ms")?,
        talk_ms: u64_at(r, 11, "talk_ms")?,
        hold_ms: u64_at(r, 12, "hold_ms")?,
        wrap_up_ms: u64_at(r, 13, "wrap_up_ms")?,
        wrap_up_reasons: json_at(r, 14, "wrap_up_reasons")?,
        notes: r.get(15)?,
        variables: json_at(r, 16, "variables")?,
        recordings: json_at(r, 17, "recordings")?,
        consult_ms: u64_at(r, 18, "consult_ms")?,
        conference_ms: u64_at(r, 19, "conference_ms")?,
        post_call_ms: u64_at(r, 20, "post_call_ms")?,
        handlers: json_at(r, 21, "handlers")?,
        visits: json_at(r, 22, "visits")?,
    })
}

fn leg_from_row(r: &Row<'_>) -> Result<LegCdrRecord, StoreError> {
    Ok(LegCdrRecord {
        interaction: r.get(0)?,
        call_id: r.get(1)?,
        leg: r.get(2)?,
        party: r.get(3)?,
        started_ms: u64_at(r, 4, "started_ms")?,
        answered_ms: opt_u64_at(r, 5, "answered_ms")?,
        ended_ms: u64_at(r, 6, "ended_ms")?,
        hold_ms: u64_at(r, 7, "hold_ms")?,
        talk_ms: u64_at(r, 8, "talk_ms")?,
        post_call_ms: u64_at(r, 9, "post_call_ms")?,
        final_code: r.get(10)?,
        cause: r.get(11)?,
    })
}

fn opt_i64(v: Option<u64>, column: &'static str) -> Result<Option<i64>, StoreError> {
    v.map(|v| to_i64(v, column)).transpose()
}

fn u64_at(r: &Row<'_>, idx: usize, column: &'static str) -> Result<u64, StoreError> {
    to_u64(r.get(idx)?, column)
}

fn opt_u64_at(r: &Row<'_>, idx: usize, column: &'static str) -> Result<Option<u64>, StoreError> {
    r.get::<_, Option<i64>>(idx)?.map(|v| to_u64(v, column)).transpose()
}

/// A JSON list column; NULL reads as empty.
fn json_at<T: DeserializeOwned + Default>(r: &Row<'_>, idx: usize, column: &'static str) -> Result<T, StoreError> {
    match r.get::<_, Option<String>>(idx)? {
        None => Ok(T::default()),
        Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::BadValue {
            column,
            reason: e.to_string(),
        }),
    }
}
