//! The `callbacks` table (schema version 7, spec CB-8): every callback
//! request, inserted or replaced by id as the engine changes it, with the
//! create request's idempotency key (unique) and fingerprint, so a retry
//! after a restart still finds the callback it made. The engine reads
//! them all back at startup ([`load`]).

use super::{to_i64, to_u64, StoreError};
use crate::records::CallbackRecord;
use rusqlite::{params, Connection};

/// Inserts or replaces `c` by id.
pub(super) fn save(conn: &Connection, c: &CallbackRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO callbacks (id, kind, state, number, name, queue, zone, window_start_ms, window_end_ms, reason,
                                agent, priority, attempts, created_ms, updated_ms, idempotency_key, request)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, state = excluded.state, number = excluded.number,
             name = excluded.name, queue = excluded.queue, zone = excluded.zone,
             window_start_ms = excluded.window_start_ms, window_end_ms = excluded.window_end_ms,
             reason = excluded.reason, agent = excluded.agent, priority = excluded.priority,
             attempts = excluded.attempts, updated_ms = excluded.updated_ms",
        params![
            c.id,
            c.kind,
            c.state,
            c.number,
            c.name,
            c.queue,
            c.zone,
            to_i64(c.window_start_ms, "window_start_ms")?,
            to_i64(c.window_end_ms, "window_end_ms")?,
            c.reason,
            c.agent,
            c.priority,
            c.attempts,
            to_i64(c.created_ms, "created_ms")?,
            to_i64(c.updated_ms, "updated_ms")?,
            c.idempotency_key,
            c.request,
        ],
    )?;
    Ok(())
}

/// Every stored callback, by creation.
pub(super) fn load(conn: &Connection) -> Result<Vec<CallbackRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, state, number, name, queue, zone, window_start_ms, window_end_ms, reason, agent, priority,
                attempts, created_ms, updated_ms, idempotency_key, request
         FROM callbacks ORDER BY created_ms, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ),
            (
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
            ),
            (r.get::<_, i64>(13)?, r.get::<_, i64>(14)?, r.get(15)?, r.get(16)?),
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            (id, kind, state, number, name, queue, zone),
            (start, end, reason, agent, priority, attempts),
            (created, updated, idempotency_key, request),
        ) = row?;
        out.push(CallbackRecord {
            id,
            kind,
            state,
            number,
            name,
            queue,
            zone,
            window_start_ms: to_u64(start, "window_start_ms")?,
            window_end_ms: to_u64(end, "window_end_ms")?,
            reason,
            agent,
            priority,
            attempts,
            created_ms: to_u64(created, "created_ms")?,
            updated_ms: to_u64(updated, "updated_ms")?,
            idempotency_key,
            request,
        });
    }
    Ok(out)
}
