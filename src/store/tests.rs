//! Store tests: schema, bindings across reopen, CDRs in SQLite and JSONL.

use super::*;
use super::{PauseSpan, RecordingRecord};
use crate::sip::msg::typed::Transport;
use crate::sip::msg::{parse_datagram, Limits};
use crate::sip::registrar::{Binding, Registrar, RegistrarConfig};
use bytes::Bytes;

const T0: u64 = 1_700_000_000;

fn register(call_id: &str, cseq: u32, contacts: &[&str]) -> crate::sip::msg::Message {
    let mut t = format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP [2001:db8::9];branch=z9hG4bK{cseq}\r\n\
         From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n"
    );
    for c in contacts {
        t.push_str(&format!("Contact: {c}\r\n"));
    }
    t.push_str("Content-Length: 0\r\n\r\n");
    parse_datagram(Bytes::from(t), &Limits::default()).unwrap()
}

fn cdr(n: u32) -> CdrRecord {
    CdrRecord {
        call_id: format!("call-{n}@example.com"),
        a_leg: format!("leg-a-{n}"),
        b_leg: (n % 2 == 0).then(|| format!("leg-b-{n}")),
        caller: "sip:alice@example.com".into(),
        callee: "sip:+15551234@trunk".into(),
        route: "outbound/trunk1".into(),
        start_ms: 1_700_000_000_000,
        answer_ms: (n % 2 == 0).then_some(1_700_000_005_000),
        end_ms: 1_700_000_065_000,
        end_cause: "caller-bye \"quoted\"".into(),
        sip_code: (n % 2 == 1).then_some(486),
        recordings: if n % 3 == 0 {
            vec![RecordingRecord {
                file: format!("call-{n}.wav"),
                start_ms: 1_700_000_005_000,
                end_ms: 1_700_000_065_000,
                pauses: vec![PauseSpan {
                    start_ms: 1_700_000_010_000,
                    end_ms: 1_700_000_020_000,
                }],
            }]
        } else {
            Vec::new()
        },
    }
}

/// A database written by schema version 1 (no `recordings` column) is
/// upgraded in place and keeps its rows.
#[test]
fn schema_v1_database_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE cdrs (id INTEGER PRIMARY KEY, call_id TEXT NOT NULL, a_leg TEXT NOT NULL, b_leg TEXT,
             caller TEXT NOT NULL, callee TEXT NOT NULL, route TEXT NOT NULL, start_ms INTEGER NOT NULL,
             answer_ms INTEGER, end_ms INTEGER NOT NULL, end_cause TEXT NOT NULL, sip_code INTEGER);
             INSERT INTO cdrs (call_id, a_leg, caller, callee, route, start_ms, end_ms, end_cause)
             VALUES ('old', 'a', 'x', 'y', 'r', 1, 2, 'caller_hangup');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let old = store.cdr(1).unwrap().unwrap();
    assert_eq!(old.call_id, "old");
    assert!(old.recordings.is_empty());
    let id = store.insert_cdr(&cdr(3)).unwrap();
    assert_eq!(store.cdr(id).unwrap().unwrap(), cdr(3), "recordings round-trip");
}

#[test]
fn schema_is_created_with_wal_and_normal_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("sb.db")).unwrap();
    let tables: Vec<String> = store
        .conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        vec![
            "agent_audit",
            "agent_latest",
            "bindings",
            "callbacks",
            "cdrs",
            "interactions",
            "leg_cdrs",
            "voicemails"
        ]
    );
    let mode: String = store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = store.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!(sync, 1, "NORMAL");
    let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    store.set_synchronous_full().unwrap();
    let sync: i64 = store.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!(sync, 2, "FULL");
    assert!(Store::open_in_memory().is_ok());
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let store = Store::open(&path).unwrap();
    store.conn.pragma_update(None, "user_version", 99).unwrap();
    drop(store);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::SchemaTooNew { found: 99, .. })
    ));
}

/// The statistics' reader sees what the writer committed, while the
/// writer keeps its connection, and cannot write.
#[test]
fn a_reader_sees_committed_writes_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let writer = Store::open(&path).unwrap();
    let reader = Store::open_reader(&path).unwrap();
    assert_eq!(reader.cdr_count().unwrap(), 0);
    writer.insert_cdr(&cdr(1)).unwrap();
    assert_eq!(reader.cdr_count().unwrap(), 1, "committed, seen");
    assert!(reader.insert_cdr(&cdr(2)).is_err(), "read-only");
    writer.conn.pragma_update(None, "user_version", 5).unwrap();
    assert!(matches!(
        Store::open_reader(&path),
        Err(StoreError::SchemaMismatch { found: 5, .. })
    ));
}

#[test]
fn bindings_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let aor = "sip:alice@example.com";
    let source = "[2001:db8::9]:5070".parse().unwrap();
    let mut reg = Registrar::new(RegistrarConfig::default());
    {
        let mut store = Store::open(&path).unwrap();
        let m = register(
            "c1",
            1,
            &[
                "\"Alice\" <sip:alice@10.0.0.2;transport=tcp>;q=0.7;+sip.instance=\"<urn:uuid:1>\"",
                "sip:alice@gw;x",
            ],
        );
        let o = reg.handle_register(T0, aor, &m, source, Transport::Tcp).unwrap();
        store.apply_changes(&o.changes).unwrap();
        let m = register("c2", 1, &["<sip:alice@h?Route=%3Csip:p%3E>;expires=120"]);
        let o = reg.handle_register(T0, aor, &m, source, Transport::Tls).unwrap();
        store.apply_changes(&o.changes).unwrap();
    }
    let store = Store::open(&path).unwrap();
    let rows = store.load_bindings().unwrap();
    assert_eq!(rows.len(), 3);
    let restored: Vec<Binding> = rows
        .into_iter()
        .map(Binding::try_from)
        .collect::<Result<_, _>>()
        .unwrap();
    let mut fresh = Registrar::new(RegistrarConfig::default());
    fresh.load(restored);
    let mut want = reg.lookup(T0 + 1, aor);
    let mut got = fresh.lookup(T0 + 1, aor);
    want.sort_by_key(|b| b.key());
    got.sort_by_key(|b| b.key());
    assert_eq!(got, want);
    assert_eq!(fresh.poll_timeout(), Some(T0 + 120));
}

#[test]
fn changes_delete_and_expire() {
    let mut store = Store::open_in_memory().unwrap();
    let aor = "sip:alice@example.com";
    let src = "192.0.2.1:5060".parse().unwrap();
    let mut reg = Registrar::new(RegistrarConfig::default());
    let o = reg
        .handle_register(
            T0,
            aor,
            &register("c1", 1, &["<sip:a@h1>;expires=100", "<sip:a@h2>"]),
            src,
            Transport::Udp,
        )
        .unwrap();
    store.apply_changes(&o.changes).unwrap();
    // Re-keyed contact (host case): Removed + Added lands as one row.
    let o = reg
        .handle_register(T0, aor, &register("c1", 2, &["<sip:a@H2>"]), src, Transport::Udp)
        .unwrap();
    store.apply_changes(&o.changes).unwrap();
    let keys: Vec<Bytes> = store.load_bindings().unwrap().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        keys,
        vec![Bytes::from_static(b"sip:a@H2"), Bytes::from_static(b"sip:a@h1")]
    );
    assert_eq!(store.delete_expired_bindings(T0 + 100).unwrap(), 1);
    assert!(store.delete_binding(aor, b"sip:a@H2").unwrap());
    assert!(!store.delete_binding(aor, b"sip:a@H2").unwrap());
    assert!(store.load_bindings().unwrap().is_empty());
}

#[test]
fn corrupt_rows_are_reported_not_panicked() {
    let store = Store::open_in_memory().unwrap();
    store
        .conn
        .execute(
            "INSERT INTO bindings VALUES ('a', X'6e6f742061207572693a', X'00', 5, X'00', 1, 'not-an-addr', 'UDP', 1000)",
            [],
        )
        .unwrap();
    assert!(matches!(
        store.load_bindings(),
        Err(StoreError::BadValue { column: "source", .. })
    ));
    store
        .conn
        .execute("UPDATE bindings SET source = '192.0.2.1:1', uri = X'2020'", [])
        .unwrap();
    let rows = store.load_bindings().unwrap();
    let back = Binding::try_from(rows[0].clone());
    assert!(matches!(back, Err(StoreError::BadValue { column: "uri", .. })));
    assert!(matches!(
        store.delete_expired_bindings(u64::MAX),
        Err(StoreError::BadValue { .. })
    ));
}

#[test]
fn cdr_insert_and_read_back() {
    let store = Store::open_in_memory().unwrap();
    let a = store.insert_cdr(&cdr(1)).unwrap();
    let b = store.insert_cdr(&cdr(2)).unwrap();
    assert_ne!(a, b);
    assert_eq!(store.cdr_count().unwrap(), 2);
    assert_eq!(store.cdr(a).unwrap(), Some(cdr(1)));
    assert_eq!(store.cdr(b).unwrap(), Some(cdr(2)));
    assert_eq!(store.cdr(999).unwrap(), None);
    assert_eq!(cdr(2).billable_ms(), 60_000);
    assert_eq!(cdr(1).billable_ms(), 0);
}

#[test]
fn cdr_jsonl_lines() {
    let mut w = CdrJsonlWriter::new(Vec::new());
    w.write(&cdr(1)).unwrap();
    w.write(&cdr(2)).unwrap();
    let text = String::from_utf8(w.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(text.ends_with('\n'));
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["call_id"], "call-1@example.com");
    assert_eq!(first["b_leg"], serde_json::Value::Null);
    assert_eq!(first["sip_code"], 486);
    assert_eq!(serde_json::from_str::<CdrRecord>(lines[1]).unwrap(), cdr(2));
}

#[test]
fn cdr_jsonl_file_appends_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdr.jsonl");
    CdrJsonlWriter::open(&path).unwrap().write(&cdr(1)).unwrap();
    let mut w = CdrJsonlWriter::open(&path).unwrap();
    w.write(&cdr(2)).unwrap();
    // Flushed per record: readable without dropping the writer.
    let text = std::fs::read_to_string(&path).unwrap();
    let back: Vec<CdrRecord> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(back, vec![cdr(1), cdr(2)]);
}

/// A reader (`Store::open_reader`: a tool or a test looking while the
/// switch writes) opens and queries beside a writer that holds the write
/// lock, instead of failing with "database is locked".
#[test]
fn a_reader_works_beside_a_writer_holding_the_lock() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("switchboard.sqlite");
    drop(Store::open(&path).expect("created"));
    let writer = rusqlite::Connection::open(&path).expect("writer");
    writer.execute_batch("BEGIN EXCLUSIVE").expect("locked");
    let reader = Store::open_reader(&path).expect("opened beside the writer");
    assert!(reader.list_leg_cdrs("none").expect("queried").is_empty());
    writer.execute_batch("COMMIT").expect("released");
}
