//! Persistence on the I/O edge (DESIGN.md: only `store`, `driver`, `media`,
//! `api` and `main.rs` touch the disk): an embedded SQLite database for
//! registrar bindings (so registrations survive a restart, RFC 3261 §10.3
//! location service) and call detail records, plus a JSON Lines CDR writer;
//! and the ACD's durable records (`acd.rs`): the agent state audit log
//! (spec AGENT-6), interactions with their wrap-up (HIST-3, WRAP-1), a CDR
//! per call leg (HIST-3), and the restart recovery that closes what a
//! restart left open.
//!
//! The driver owns one [`Store`] on a blocking thread (rusqlite is
//! synchronous). Nothing here reads the clock: callers pass unix times.
//!
//! Durability: WAL journal with `synchronous=NORMAL`. In WAL mode NORMAL
//! never corrupts the database and loses nothing on a process crash; only
//! an OS crash or power loss can drop the last commits before the next
//! checkpoint. Bindings are soft state (user agents re-register within one
//! interval) and CDRs are also written as JSON Lines, so the one fsync per
//! commit that FULL costs would buy little on the signalling-driven write
//! rate. The ACD records share that trade: a process crash loses none of
//! them, and what an OS crash could drop is repaired the next time by
//! [`Store::recover_after_restart`] (an interaction still open is closed as
//! interrupted, an agent still logged in is logged out). Deployments that
//! need FULL can run `PRAGMA synchronous=FULL` through
//! [`Store::set_synchronous_full`].
//!
//! Schema versions (`PRAGMA user_version`): 1 bindings and CDRs; 2 adds the
//! CDR's recordings; 3 adds `agent_audit`, `agent_latest`, `interactions`
//! and `leg_cdrs`; 4 adds the interactions' consult, conference and
//! post-call times; 5 adds who held each interaction (`handlers`, JSON); 6
//! adds each interaction's stays in queues (`visits`, JSON, for the
//! statistics); 7 adds `callbacks` (spec CB-8, with each create request's
//! unique idempotency key, `callbacks.rs`); 8 adds each voicemail message's
//! state (`new`, `heard`, `done`, with who and when; `voicemail.rs`). Older
//! databases are upgraded in
//! place, in one transaction.

mod acd;
mod bindings;
mod callbacks;
mod cdr;
mod voicemail;

/// The records' types live in the pure [`crate::records`]; re-exported here
/// for the store's callers.
pub use crate::records::{
    AcdRecord, AgentAuditRecord, CallbackRecord, CdrRecord, InteractionOutcome, InteractionRecord, LegCdrRecord,
    PauseSpan, RecordingRecord,
};
pub use acd::{Recovery, LOGGED_OUT, RESTART_REASON};
pub use bindings::BindingRow;
pub use cdr::CdrJsonlWriter;

use crate::sip::registrar::BindingChange;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 8;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bindings (
    aor         TEXT    NOT NULL,
    uri         BLOB    NOT NULL,
    contact     BLOB    NOT NULL,
    expires_at  INTEGER NOT NULL,
    call_id     BLOB    NOT NULL,
    cseq        INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    transport   TEXT    NOT NULL,
    q           INTEGER NOT NULL,
    PRIMARY KEY (aor, uri)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bindings_expires_at ON bindings (expires_at);
CREATE TABLE IF NOT EXISTS cdrs (
    id          INTEGER PRIMARY KEY,
    call_id     TEXT    NOT NULL,
    a_leg       TEXT    NOT NULL,
    b_leg       TEXT,
    caller      TEXT    NOT NULL,
    callee      TEXT    NOT NULL,
    route       TEXT    NOT NULL,
    start_ms    INTEGER NOT NULL,
    answer_ms   INTEGER,
    end_ms      INTEGER NOT NULL,
    end_cause   TEXT    NOT NULL,
    sip_code    INTEGER,
    recordings  TEXT
);
CREATE INDEX IF NOT EXISTS cdrs_start_ms ON cdrs (start_ms);
-- Version 3: the ACD's durable records (spec AGENT-6, HIST-3, WRAP-1).
CREATE TABLE IF NOT EXISTS agent_audit (
    id          INTEGER PRIMARY KEY,
    agent       TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    reason      TEXT,
    pending     TEXT,
    interaction TEXT,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_audit_agent_at ON agent_audit (agent, at_ms);
CREATE INDEX IF NOT EXISTS agent_audit_at ON agent_audit (at_ms);
-- Each agent's latest audit record, kept with every insert (restart recovery).
CREATE TABLE IF NOT EXISTS agent_latest (
    agent       TEXT    PRIMARY KEY,
    state       TEXT    NOT NULL,
    audit_id    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS interactions (
    uid             TEXT    PRIMARY KEY,
    queue           TEXT    NOT NULL,
    caller          TEXT    NOT NULL,
    dnis            TEXT    NOT NULL,
    agent           TEXT,
    outcome         TEXT,
    arrived_ms      INTEGER NOT NULL,
    answered_ms     INTEGER,
    ended_ms        INTEGER,
    queue_ms        INTEGER NOT NULL,
    ring_ms         INTEGER NOT NULL,
    talk_ms         INTEGER NOT NULL,
    hold_ms         INTEGER NOT NULL,
    wrap_up_ms      INTEGER NOT NULL,
    wrap_up_reasons TEXT    NOT NULL DEFAULT '[]',
    notes           TEXT    NOT NULL DEFAULT '',
    variables       TEXT    NOT NULL DEFAULT '[]',
    recordings      TEXT    NOT NULL DEFAULT '[]',
    consult_ms      INTEGER NOT NULL DEFAULT 0,
    conference_ms   INTEGER NOT NULL DEFAULT 0,
    post_call_ms    INTEGER NOT NULL DEFAULT 0,
    handlers        TEXT    NOT NULL DEFAULT '[]',
    visits          TEXT    NOT NULL DEFAULT '[]'
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS interactions_arrived_ms ON interactions (arrived_ms);
CREATE INDEX IF NOT EXISTS interactions_open ON interactions (arrived_ms) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS leg_cdrs (
    id           INTEGER PRIMARY KEY,
    interaction  TEXT,
    call_id      TEXT    NOT NULL,
    leg          TEXT    NOT NULL,
    party        TEXT    NOT NULL,
    started_ms   INTEGER NOT NULL,
    answered_ms  INTEGER,
    ended_ms     INTEGER NOT NULL,
    hold_ms      INTEGER NOT NULL,
    talk_ms      INTEGER NOT NULL,
    post_call_ms INTEGER NOT NULL,
    final_code   INTEGER,
    cause        TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS leg_cdrs_interaction ON leg_cdrs (interaction, started_ms);
CREATE INDEX IF NOT EXISTS leg_cdrs_call_id ON leg_cdrs (call_id);
-- Version 7: callback requests (spec CB-1..CB-8).
CREATE TABLE IF NOT EXISTS callbacks (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    number          TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    queue           TEXT    NOT NULL,
    zone            TEXT    NOT NULL,
    window_start_ms INTEGER NOT NULL,
    window_end_ms   INTEGER NOT NULL,
    reason          TEXT    NOT NULL,
    agent           TEXT,
    priority        INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    idempotency_key TEXT    UNIQUE,
    request         TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS callbacks_open ON callbacks (window_start_ms) WHERE state IN ('pending', 'offered', 'dialing');
";

/// Storage failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be opened or written.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A record could not be encoded as JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The database was written by a newer version of this program.
    #[error("database schema version {found} is newer than supported {supported}")]
    SchemaTooNew {
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A reader found another schema version than this build writes (the
    /// writer opens, and upgrades, the database first).
    #[error("database schema version {found}, this build reads {expected}")]
    SchemaMismatch {
        /// The version found.
        found: i64,
        /// The version this build writes.
        expected: i64,
    },
    /// An interaction with this uid is already stored (spec HIST-3: uids
    /// are unique across restarts).
    #[error("interaction {uid} already exists")]
    InteractionExists {
        /// The uid.
        uid: String,
    },
    /// A stored value does not fit its type (corrupt or hand-edited row).
    #[error("bad stored value in {column}: {reason}")]
    BadValue {
        /// The column.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The SQLite database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens or creates the database at `path`: WAL journal,
    /// `synchronous=NORMAL`, a 5 s busy timeout, schema created or checked.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        // The busy timeout first: switching the journal mode needs a lock,
        // and another connection (the running switch's writer, when a
        // tool or a test opens the same file) may hold it for a moment.
        conn.busy_timeout(Duration::from_secs(5))?;
        // journal_mode returns the resulting mode as a row.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        Store::init(conn)
    }

    /// A second, read-only connection to the database at `path`, which
    /// [`Store::open`] created and upgraded: queries run beside the writer
    /// (WAL lets readers and one writer work at once) and see what it
    /// committed. Refused if the schema is not the one this build writes.
    pub fn open_reader(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::SchemaMismatch {
                found: version,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(Store { conn })
    }

    /// A private in-memory database (tests, `switchboard check`).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // One transaction: a crash mid-upgrade leaves the old version whole,
        // never a half-upgraded schema that would fail the next open.
        let tx = conn.transaction()?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        // Creates what is missing: a new database, or version 3's tables on
        // a version 1 or 2 database.
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(voicemail::SCHEMA)?;
        // Version 8 added the messages' state (a table made by version 7
        // lacks the columns; any older version had no table until now).
        voicemail::upgrade(&tx)?;
        if version == 1 {
            // Version 2 added the CDR's recordings (JSON array, spec CALL-REC-1).
            tx.execute_batch("ALTER TABLE cdrs ADD COLUMN recordings TEXT")?;
        }
        if version == 3 {
            // Version 4 added the consult, conference and post-call times
            // (spec HIST-3, CALL-CONF-4); older rows had none.
            tx.execute_batch(
                "ALTER TABLE interactions ADD COLUMN consult_ms INTEGER NOT NULL DEFAULT 0;
                 ALTER TABLE interactions ADD COLUMN conference_ms INTEGER NOT NULL DEFAULT 0;
                 ALTER TABLE interactions ADD COLUMN post_call_ms INTEGER NOT NULL DEFAULT 0;",
            )?;
        }
        if (3..5).contains(&version) {
            // Version 5 added who held each interaction (spec HIST-3 across
            // transfers, CALL-XFER-1..6); older rows list nobody.
            tx.execute_batch("ALTER TABLE interactions ADD COLUMN handlers TEXT NOT NULL DEFAULT '[]'")?;
        }
        if (3..6).contains(&version) {
            // Version 6 added the stays in queues (issue 13's statistics);
            // older rows have none and count in no queue's figures.
            tx.execute_batch("ALTER TABLE interactions ADD COLUMN visits TEXT NOT NULL DEFAULT '[]'")?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(Store { conn })
    }

    /// Keeps a voicemail message (issue 14 item 5), or updates its state
    /// when its id is there already.
    pub fn save_voicemail(&self, v: &crate::records::VoicemailRecord) -> Result<(), StoreError> {
        voicemail::save(&self.conn, v)
    }

    /// Every voicemail message, oldest first.
    pub fn load_voicemails(&self) -> Result<Vec<crate::records::VoicemailRecord>, StoreError> {
        voicemail::load(&self.conn)
    }

    /// Switches to `synchronous=FULL` (an fsync per commit).
    pub fn set_synchronous_full(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }

    /// Inserts or replaces the binding keyed by `(aor, uri)`.
    pub fn save_binding(&self, row: &BindingRow) -> Result<(), StoreError> {
        bindings::save(&self.conn, row)
    }

    /// Deletes the binding keyed by `(aor, uri)` (`uri` as in
    /// [`BindingRow::uri`]); true if one existed.
    pub fn delete_binding(&self, aor: &str, uri: &[u8]) -> Result<bool, StoreError> {
        bindings::delete(&self.conn, aor, uri)
    }

    /// Persists one REGISTER's [`BindingChange`]s in a single transaction
    /// (they are atomic, RFC 3261 §10.3 step 7); deletions run first so a
    /// re-keyed contact ends up saved.
    pub fn apply_changes(&mut self, changes: &[BindingChange]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for c in changes {
            if let BindingChange::Removed(b) = c {
                bindings::delete(&tx, &b.aor, &b.key())?;
            }
        }
        for c in changes {
            if let BindingChange::Added(b) | BindingChange::Refreshed(b) = c {
                bindings::save(&tx, &BindingRow::from(b))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every stored binding, ordered by AOR and URI. Convert each with
    /// `Binding::try_from` and hand them to `Registrar::load`.
    pub fn load_bindings(&self) -> Result<Vec<BindingRow>, StoreError> {
        bindings::load(&self.conn)
    }

    /// Deletes bindings with `expires_at <= now` (unix seconds); returns how many.
    pub fn delete_expired_bindings(&self, now: u64) -> Result<usize, StoreError> {
        let now = to_i64(now, "expires_at")?;
        Ok(self
            .conn
            .execute("DELETE FROM bindings WHERE expires_at <= ?1", params![now])?)
    }

    /// Appends a CDR; returns its row id.
    pub fn insert_cdr(&self, cdr: &CdrRecord) -> Result<i64, StoreError> {
        let opt = |v: Option<u64>, c| v.map(|v| to_i64(v, c)).transpose();
        let recordings = match cdr.recordings.as_slice() {
            [] => None,
            r => Some(serde_json::to_string(r)?),
        };
        self.conn.execute(
            "INSERT INTO cdrs (call_id, a_leg, b_leg, caller, callee, route, start_ms, answer_ms, end_ms, end_cause, sip_code,
                               recordings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                cdr.call_id,
                cdr.a_leg,
                cdr.b_leg,
                cdr.caller,
                cdr.callee,
                cdr.route,
                to_i64(cdr.start_ms, "start_ms")?,
                opt(cdr.answer_ms, "answer_ms")?,
                to_i64(cdr.end_ms, "end_ms")?,
                cdr.end_cause,
                cdr.sip_code,
                recordings,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The CDR with row id `id`.
    pub fn cdr(&self, id: i64) -> Result<Option<CdrRecord>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT call_id, a_leg, b_leg, caller, callee, route, start_ms, answer_ms, end_ms, end_cause, sip_code,
                        recordings
                 FROM cdrs WHERE id = ?1",
                params![id],
                |r| {
                    Ok((
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
                        (r.get::<_, i64>(6)?, r.get::<_, Option<i64>>(7)?, r.get::<_, i64>(8)?),
                        (r.get(9)?, r.get(10)?, r.get::<_, Option<String>>(11)?),
                    ))
                },
            )
            .optional()?;
        let Some((
            (call_id, a_leg, b_leg, caller, callee, route),
            (start, answer, end),
            (end_cause, sip_code, recordings),
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(CdrRecord {
            call_id,
            a_leg,
            b_leg,
            caller,
            callee,
            route,
            start_ms: to_u64(start, "start_ms")?,
            answer_ms: answer.map(|a| to_u64(a, "answer_ms")).transpose()?,
            end_ms: to_u64(end, "end_ms")?,
            end_cause,
            sip_code,
            recordings: match recordings {
                Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::BadValue {
                    column: "recordings",
                    reason: e.to_string(),
                })?,
                None => Vec::new(),
            },
        }))
    }

    /// Inserts or replaces a callback by id (spec CB-8); a second callback
    /// with an idempotency key already stored is refused.
    pub fn save_callback(&self, c: &crate::records::CallbackRecord) -> Result<(), StoreError> {
        callbacks::save(&self.conn, c)
    }

    /// Every stored callback, by creation (spec CB-8: read back at startup).
    pub fn load_callbacks(&self) -> Result<Vec<crate::records::CallbackRecord>, StoreError> {
        callbacks::load(&self.conn)
    }

    /// Number of stored CDRs.
    pub fn cdr_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row("SELECT COUNT(*) FROM cdrs", [], |r| r.get(0))?;
        to_u64(n, "count")
    }
}

pub(crate) fn to_i64(v: u64, column: &'static str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::BadValue {
        column,
        reason: format!("{v} out of range"),
    })
}

pub(crate) fn to_u64(v: i64, column: &'static str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::BadValue {
        column,
        reason: format!("{v} is negative"),
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_acd;
#[cfg(test)]
mod tests_callbacks;
