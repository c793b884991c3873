//! The `callbacks` table (schema 7, spec CB-8): saved and replaced by id,
//! read back after a reopen, idempotency keys unique, and a version 6
//! database upgraded in place.

use super::*;

fn cb(id: &str, key: Option<&str>) -> CallbackRecord {
    CallbackRecord {
        id: id.into(),
        kind: "scheduled".into(),
        state: "pending".into(),
        number: "+33 1 23 45 67".into(),
        name: "Zoé Durand".into(),
        queue: "support".into(),
        zone: "Europe/Paris".into(),
        window_start_ms: 1_800_000_000_000,
        window_end_ms: 1_800_003_600_000,
        reason: "Invoice".into(),
        agent: None,
        priority: 0,
        attempts: 0,
        created_ms: 1_799_000_000_000,
        updated_ms: 1_799_000_000_000,
        idempotency_key: key.map(Into::into),
        request: key.map(|_| "{\"name\":\"Zoé Durand\"}".into()),
    }
}

// spec: CB-8 — callbacks survive a reopen; a change replaces the row by id.
#[test]
fn callbacks_are_saved_replaced_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    {
        let store = Store::open(&path).unwrap();
        store.save_callback(&cb("cb-1", Some("k-1"))).unwrap();
        store.save_callback(&cb("cb-2", None)).unwrap();
        let mut deleted = cb("cb-1", Some("k-1"));
        deleted.state = "deleted".into();
        deleted.updated_ms += 5;
        store.save_callback(&deleted).unwrap();
    }
    let store = Store::open(&path).unwrap();
    let all = store.load_callbacks().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].state, "deleted");
    assert_eq!(all[0].idempotency_key.as_deref(), Some("k-1"));
    assert_eq!(all[0].request.as_deref(), Some("{\"name\":\"Zoé Durand\"}"));
    assert_eq!(all[1], cb("cb-2", None));
}

// spec: CB-8 — an idempotency key names one callback only.
#[test]
fn an_idempotency_key_is_unique() {
    let store = Store::open_in_memory().unwrap();
    store.save_callback(&cb("cb-1", Some("k-1"))).unwrap();
    assert!(store.save_callback(&cb("cb-2", Some("k-1"))).is_err());
    store.save_callback(&cb("cb-3", None)).unwrap();
    store.save_callback(&cb("cb-4", None)).unwrap();
    assert_eq!(store.load_callbacks().unwrap().len(), 2 + 1);
}

/// A version 6 database (no `callbacks` table) gains it and keeps its rows.
#[test]
fn schema_v6_database_gains_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    {
        let store = Store::open(&path).unwrap();
        store
            .insert_cdr(&CdrRecord {
                call_id: "old".into(),
                a_leg: "a".into(),
                b_leg: None,
                caller: "x".into(),
                callee: "y".into(),
                route: "r".into(),
                start_ms: 1,
                answer_ms: None,
                end_ms: 2,
                end_cause: "caller-bye".into(),
                sip_code: None,
                recordings: Vec::new(),
            })
            .unwrap();
        store
            .conn
            .execute_batch("DROP TABLE callbacks; PRAGMA user_version = 6;")
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    assert_eq!(store.cdr_count().unwrap(), 1);
    assert!(store.load_callbacks().unwrap().is_empty());
    store.save_callback(&cb("cb-1", Some("k"))).unwrap();
    drop(store);
    let reader = Store::open_reader(&path).unwrap();
    assert_eq!(reader.load_callbacks().unwrap().len(), 1);
}
