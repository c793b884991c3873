//! Voicemail messages (issue 14 item 5): one row per message left, written
//! by the store thread when the engine emits it and again (the same id)
//! when its state changes (`new`, `heard`, `done`, with who and when),
//! read back at start so the engine lists them after a restart. The audio
//! stays in the recordings directory; the row names its file.
//!
//! Schema 8 added the state columns; [`upgrade`] adds them to a table a
//! version 7 (or older, opened by a version 7 build) created.

use super::StoreError;
use crate::records::{VoicemailRecord, VoicemailState};
use rusqlite::{params, Connection};

/// The table (created by the schema batch on any version; the state
/// columns of an older table are added by [`upgrade`]).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS voicemails (
    id            TEXT    PRIMARY KEY,
    file          TEXT    NOT NULL,
    queue         TEXT,
    user          TEXT,
    caller_number TEXT    NOT NULL,
    caller_name   TEXT    NOT NULL,
    dnis          TEXT    NOT NULL,
    start_ms      INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'new',
    heard_ms      INTEGER,
    heard_by      TEXT,
    done_ms       INTEGER,
    done_by       TEXT
);
CREATE INDEX IF NOT EXISTS voicemails_start ON voicemails (start_ms);
";

/// The columns schema 8 added, with their definitions.
const STATE_COLUMNS: [(&str, &str); 5] = [
    ("state", "TEXT NOT NULL DEFAULT 'new'"),
    ("heard_ms", "INTEGER"),
    ("heard_by", "TEXT"),
    ("done_ms", "INTEGER"),
    ("done_by", "TEXT"),
];

/// Schema 8: adds the state columns the table lacks (a table made by a
/// version 7 build; rows already there are `new`). Run after [`SCHEMA`],
/// so the table exists; a table that has them is left alone.
pub(super) fn upgrade(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('voicemails')")?;
    let have = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for (name, def) in STATE_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE voicemails ADD COLUMN {name} {def}"))?;
        }
    }
    Ok(())
}

/// Inserts a message, or updates its state when its id is there already
/// (what it was left with never changes).
pub(super) fn save(conn: &Connection, v: &VoicemailRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO voicemails
            (id, file, queue, user, caller_number, caller_name, dnis, start_ms, duration_ms,
             state, heard_ms, heard_by, done_ms, done_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (id) DO UPDATE SET
            state = excluded.state, heard_ms = excluded.heard_ms, heard_by = excluded.heard_by,
            done_ms = excluded.done_ms, done_by = excluded.done_by",
        params![
            v.id,
            v.file,
            v.queue,
            v.user,
            v.caller_number,
            v.caller_name,
            v.dnis,
            v.start_ms as i64,
            v.duration_ms as i64,
            v.state.as_str(),
            v.heard.as_ref().map(|h| h.0 as i64),
            v.heard.as_ref().map(|h| h.1.as_str()),
            v.done.as_ref().map(|d| d.0 as i64),
            v.done.as_ref().map(|d| d.1.as_str()),
        ],
    )?;
    Ok(())
}

/// Every message, oldest first. A row with an unknown state reads as `new`
/// (logged).
pub(super) fn load(conn: &Connection) -> Result<Vec<VoicemailRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, file, queue, user, caller_number, caller_name, dnis, start_ms, duration_ms,
                state, heard_ms, heard_by, done_ms, done_by
         FROM voicemails ORDER BY start_ms, id",
    )?;
    let ms = |v: Option<i64>| v.map(|v| v.max(0) as u64);
    let rows = stmt.query_map([], |r| {
        let state: String = r.get(9)?;
        let id: String = r.get(0)?;
        let state = VoicemailState::parse(&state).unwrap_or_else(|| {
            tracing::warn!(id = %id, state = %state, "stored voicemail of an unknown state: read as new");
            VoicemailState::New
        });
        Ok(VoicemailRecord {
            id,
            file: r.get(1)?,
            queue: r.get(2)?,
            user: r.get(3)?,
            caller_number: r.get(4)?,
            caller_name: r.get(5)?,
            dnis: r.get(6)?,
            start_ms: r.get::<_, i64>(7)?.max(0) as u64,
            duration_ms: r.get::<_, i64>(8)?.max(0) as u64,
            state,
            heard: ms(r.get(10)?).zip(r.get::<_, Option<String>>(11)?),
            done: ms(r.get(12)?).zip(r.get::<_, Option<String>>(13)?),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use crate::records::{VoicemailRecord, VoicemailState};
    use crate::store::Store;

    fn message(id: &str, start_ms: u64) -> VoicemailRecord {
        VoicemailRecord {
            id: id.into(),
            file: format!("{id}.wav"),
            queue: Some("support".into()),
            user: None,
            caller_number: "+442071234567".into(),
            caller_name: "Ann Caller".into(),
            dnis: "5100".into(),
            start_ms,
            duration_ms: 4200,
            state: VoicemailState::New,
            heard: None,
            done: None,
        }
    }

    #[test]
    fn messages_are_kept_once_and_read_back_in_order() {
        let store = Store::open_in_memory().unwrap();
        store.save_voicemail(&message("voicemail-2-7", 2)).unwrap();
        store.save_voicemail(&message("voicemail-1-3", 1)).unwrap();
        store.save_voicemail(&message("voicemail-1-3", 1)).unwrap();
        let all = store.load_voicemails().unwrap();
        assert_eq!(all, vec![message("voicemail-1-3", 1), message("voicemail-2-7", 2)]);
    }

    /// A state change updates the row; what the message was left with stays.
    #[test]
    fn a_state_change_updates_the_row() {
        let store = Store::open_in_memory().unwrap();
        store.save_voicemail(&message("voicemail-1-3", 1)).unwrap();
        let mut heard = message("voicemail-1-3", 1);
        heard.state = VoicemailState::Heard;
        heard.heard = Some((10, "alice".into()));
        store.save_voicemail(&heard).unwrap();
        let mut done = heard.clone();
        done.state = VoicemailState::Done;
        done.done = Some((20, "bob".into()));
        // A changed caller would be a bug upstream: the stored one stays.
        done.caller_name = "Someone Else".into();
        store.save_voicemail(&done).unwrap();
        let all = store.load_voicemails().unwrap();
        done.caller_name = "Ann Caller".into();
        assert_eq!(all, vec![done]);
    }

    #[test]
    fn messages_survive_reopening_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("switchboard.db");
        let mut m = message("voicemail-5-1", 5);
        m.state = VoicemailState::Done;
        m.heard = Some((6, "alice".into()));
        m.done = Some((7, "sam".into()));
        {
            let store = Store::open(&db).unwrap();
            store.save_voicemail(&m).unwrap();
        }
        let store = Store::open(&db).unwrap();
        assert_eq!(store.load_voicemails().unwrap(), vec![m.clone()]);
        drop(store);
        assert_eq!(Store::open_reader(&db).unwrap().load_voicemails().unwrap(), vec![m]);
    }

    /// Schema 8 from 7: a version 7 table (no state columns) with a message
    /// gains the columns; the message is `new` and can be marked done.
    #[test]
    fn schema_v7_voicemails_gain_their_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("v7.db");
        {
            let store = Store::open(&db).unwrap();
            store
                .conn
                .execute_batch(
                    "DROP TABLE voicemails;
                     CREATE TABLE voicemails (
                        id TEXT PRIMARY KEY, file TEXT NOT NULL, queue TEXT, user TEXT,
                        caller_number TEXT NOT NULL, caller_name TEXT NOT NULL, dnis TEXT NOT NULL,
                        start_ms INTEGER NOT NULL, duration_ms INTEGER NOT NULL);
                     INSERT INTO voicemails VALUES
                        ('voicemail-1-3', 'voicemail-1-3.wav', 'support', NULL,
                         '+442071234567', 'Ann Caller', '5100', 1, 4200);
                     PRAGMA user_version = 7;",
                )
                .unwrap();
        }
        let store = Store::open(&db).unwrap();
        let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 8);
        assert_eq!(store.load_voicemails().unwrap(), vec![message("voicemail-1-3", 1)]);
        let mut done = message("voicemail-1-3", 1);
        done.state = VoicemailState::Done;
        done.done = Some((9, "alice".into()));
        store.save_voicemail(&done).unwrap();
        drop(store);
        assert_eq!(Store::open_reader(&db).unwrap().load_voicemails().unwrap(), vec![done]);
    }

    /// Schema 8 from 6 (before voicemail): the table is created whole.
    #[test]
    fn schema_v6_database_gains_voicemails() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("v6.db");
        {
            let store = Store::open(&db).unwrap();
            store
                .conn
                .execute_batch("DROP TABLE voicemails; DROP TABLE callbacks; PRAGMA user_version = 6;")
                .unwrap();
        }
        let store = Store::open(&db).unwrap();
        let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 8);
        assert!(store.load_voicemails().unwrap().is_empty());
        let mut m = message("voicemail-2-1", 2);
        m.state = VoicemailState::Heard;
        m.heard = Some((3, "bob".into()));
        store.save_voicemail(&m).unwrap();
        assert_eq!(store.load_voicemails().unwrap(), vec![m]);
    }
}
