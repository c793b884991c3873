//! Voicemail messages (issue 14 item 5): one row per message left, written
//! once its WAV is complete, read back at start so the engine lists them
//! after a restart. The audio stays in the recordings directory; the row
//! names its file.

use super::StoreError;
use crate::records::VoicemailRecord;
use rusqlite::{params, Connection};

/// The table (created by the schema batch on any version: a new table
/// needs no upgrade step).
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
    duration_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS voicemails_start ON voicemails (start_ms);
";

/// Inserts a message; the same id again changes nothing (a retried write).
pub(super) fn insert(conn: &Connection, v: &VoicemailRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO voicemails
            (id, file, queue, user, caller_number, caller_name, dnis, start_ms, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            v.id,
            v.file,
            v.queue,
            v.user,
            v.caller_number,
            v.caller_name,
            v.dnis,
            v.start_ms as i64,
            v.duration_ms as i64
        ],
    )?;
    Ok(())
}

/// Every message, oldest first.
pub(super) fn load(conn: &Connection) -> Result<Vec<VoicemailRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, file, queue, user, caller_number, caller_name, dnis, start_ms, duration_ms
         FROM voicemails ORDER BY start_ms, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(VoicemailRecord {
            id: r.get(0)?,
            file: r.get(1)?,
            queue: r.get(2)?,
            user: r.get(3)?,
            caller_number: r.get(4)?,
            caller_name: r.get(5)?,
            dnis: r.get(6)?,
            start_ms: r.get::<_, i64>(7)?.max(0) as u64,
            duration_ms: r.get::<_, i64>(8)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use crate::records::VoicemailRecord;
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
        }
    }

    #[test]
    fn messages_are_kept_once_and_read_back_in_order() {
        let store = Store::open_in_memory().unwrap();
        store.insert_voicemail(&message("voicemail-2-7", 2)).unwrap();
        store.insert_voicemail(&message("voicemail-1-3", 1)).unwrap();
        store.insert_voicemail(&message("voicemail-1-3", 1)).unwrap();
        let all = store.load_voicemails().unwrap();
        assert_eq!(all, vec![message("voicemail-1-3", 1), message("voicemail-2-7", 2)]);
    }

    #[test]
    fn messages_survive_reopening_the_database() {
        let dir = std::env::temp_dir().join(format!("sb-vm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("switchboard.db");
        {
            let store = Store::open(&db).unwrap();
            store.insert_voicemail(&message("voicemail-5-1", 5)).unwrap();
        }
        let store = Store::open(&db).unwrap();
        assert_eq!(store.load_voicemails().unwrap(), vec![message("voicemail-5-1", 5)]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
