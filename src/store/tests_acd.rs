//! Tests of the ACD records: the audit log (AGENT-6), interactions (HIST-3,
//! WRAP-1), leg CDRs (HIST-3), restart recovery and the upgrade to schema 3.

use super::*;

const T: u64 = 1_700_000_000_000;

fn audit(agent: &str, state: &str, reason: Option<&str>, at_ms: u64) -> AgentAuditRecord {
    AgentAuditRecord {
        agent: agent.into(),
        state: state.into(),
        reason: reason.map(Into::into),
        pending: None,
        interaction: None,
        at_ms,
    }
}

fn interaction(uid: &str, arrived_ms: u64) -> InteractionRecord {
    InteractionRecord {
        uid: uid.into(),
        queue: "support".into(),
        caller: "+15551230001".into(),
        dnis: "+18005550100".into(),
        agent: None,
        outcome: None,
        arrived_ms,
        answered_ms: None,
        ended_ms: None,
        queue_ms: 0,
        ring_ms: 0,
        talk_ms: 0,
        hold_ms: 0,
        wrap_up_ms: 0,
        consult_ms: 0,
        conference_ms: 0,
        post_call_ms: 0,
        wrap_up_reasons: Vec::new(),
        notes: String::new(),
        variables: vec![("account".into(), "42".into())],
        recordings: Vec::new(),
        handlers: Vec::new(),
        visits: Vec::new(),
    }
}

fn leg(interaction: Option<&str>, call_id: &str, leg: &str, started_ms: u64) -> LegCdrRecord {
    LegCdrRecord {
        interaction: interaction.map(Into::into),
        call_id: call_id.into(),
        leg: leg.into(),
        party: "alice".into(),
        started_ms,
        answered_ms: Some(started_ms + 1_000),
        ended_ms: started_ms + 61_000,
        hold_ms: 5_000,
        talk_ms: 55_000,
        post_call_ms: 0,
        final_code: Some(200),
        cause: "caller-bye".into(),
    }
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

// spec: AGENT-6
#[test]
fn audit_log_lists_per_agent_and_since_in_time_order() {
    let mut store = Store::open_in_memory().unwrap();
    let mut busy = audit("alice", "Busy", None, T + 20);
    busy.interaction = Some("b-1".into());
    busy.pending = Some("Idle(Lunch)".into());
    let recs = [
        audit("alice", "Available", None, T),
        audit("bob", "Idle", Some("Login"), T + 5),
        busy.clone(),
        audit("alice", "Idle", Some("RONA"), T + 10),
        audit("bob", "Available", None, T + 30),
    ];
    let mut ids = Vec::new();
    for r in &recs {
        ids.push(store.insert_agent_audit(r).unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let alice = store.list_agent_audit("alice").unwrap();
    assert_eq!(alice, vec![recs[0].clone(), recs[3].clone(), busy]);
    assert!(store.list_agent_audit("carol").unwrap().is_empty());
    let since = store.list_agent_audit_since(T + 10, 100).unwrap();
    let order: Vec<(&str, u64)> = since.iter().map(|r| (r.agent.as_str(), r.at_ms)).collect();
    assert_eq!(order, vec![("alice", T + 10), ("alice", T + 20), ("bob", T + 30)]);
    assert_eq!(store.list_agent_audit_since(T, 2).unwrap().len(), 2);
    assert!(matches!(
        store.insert_agent_audit(&audit("x", "Available", None, u64::MAX)),
        Err(StoreError::BadValue { column: "at_ms", .. })
    ));
    assert_eq!(count(&store, "agent_audit"), 5, "a failed insert writes nothing");
}

// spec: HIST-3, WRAP-1
#[test]
fn interaction_open_update_round_trip() {
    let store = Store::open_in_memory().unwrap();
    let open = interaction("1700000000000-1", T);
    store.open_interaction(&open).unwrap();
    assert_eq!(store.get_interaction(&open.uid).unwrap(), Some(open.clone()));
    assert!(store.get_interaction(&open.uid).unwrap().unwrap().is_open());
    assert!(matches!(
        store.open_interaction(&open),
        Err(StoreError::InteractionExists { uid }) if uid == open.uid
    ));
    let mut closed = interaction("1700000000000-2", T);
    closed.outcome = Some(InteractionOutcome::Abandoned);
    assert!(matches!(
        store.open_interaction(&closed),
        Err(StoreError::BadValue { column: "outcome", .. })
    ));

    let done = InteractionRecord {
        agent: Some("alice".into()),
        outcome: Some(InteractionOutcome::Answered),
        answered_ms: Some(T + 12_000),
        ended_ms: Some(T + 192_000),
        queue_ms: 9_000,
        ring_ms: 3_000,
        talk_ms: 150_000,
        hold_ms: 30_000,
        wrap_up_ms: 20_000,
        consult_ms: 0,
        conference_ms: 0,
        post_call_ms: 0,
        wrap_up_reasons: vec!["Billing".into(), "Refund \"partial\"".into()],
        notes: "Called back about the invoice; line 2\nnext step: email".into(),
        variables: vec![
            ("account".into(), "42".into()),
            ("name".into(), "Zoë, \"VIP\"".into()),
            ("empty".into(), String::new()),
        ],
        recordings: vec!["r-1.wav".into(), "r-2.wav".into()],
        ..open.clone()
    };
    store.update_interaction(&done).unwrap();
    let back = store.get_interaction(&open.uid).unwrap().unwrap();
    assert_eq!(back, done);
    assert_eq!(back.handling_ms(), 200_000, "talk + hold + wrap-up");
    assert!(!back.is_open());
    assert_eq!(count(&store, "interactions"), 1, "upsert replaces by uid");

    // Upsert inserts an unknown uid; list by arrival, since and limit.
    store.update_interaction(&interaction("b", T + 5)).unwrap();
    store.update_interaction(&interaction("c", T - 5)).unwrap();
    let uids = |v: Vec<InteractionRecord>| v.into_iter().map(|r| r.uid).collect::<Vec<_>>();
    assert_eq!(
        uids(store.list_interactions(0, 10).unwrap()),
        vec!["c", "1700000000000-1", "b"]
    );
    assert_eq!(
        uids(store.list_interactions(T, 10).unwrap()),
        vec!["1700000000000-1", "b"]
    );
    assert_eq!(uids(store.list_interactions(T, 1).unwrap()), vec!["1700000000000-1"]);
    assert_eq!(store.get_interaction("nope").unwrap(), None);
}

#[test]
fn corrupt_interaction_rows_are_reported() {
    let store = Store::open_in_memory().unwrap();
    store.open_interaction(&interaction("u", T)).unwrap();
    store
        .conn
        .execute("UPDATE interactions SET outcome = 'Exploded'", [])
        .unwrap();
    assert!(matches!(
        store.get_interaction("u"),
        Err(StoreError::BadValue { column: "outcome", .. })
    ));
    store
        .conn
        .execute("UPDATE interactions SET outcome = NULL, variables = '{'", [])
        .unwrap();
    assert!(matches!(
        store.list_interactions(0, 1),
        Err(StoreError::BadValue {
            column: "variables",
            ..
        })
    ));
}

// spec: HIST-3
#[test]
fn leg_cdrs_are_listed_by_interaction_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let mut agent_leg = leg(Some("i-1"), "agent-leg@sb", "agent", T + 10_000);
    agent_leg.party = "alice".into();
    agent_leg.post_call_ms = 4_000;
    let mut caller_leg = leg(Some("i-1"), "caller-leg@pbx", "caller", T);
    caller_leg.party = "trunk1".into();
    caller_leg.final_code = None;
    let mut monitor = leg(Some("i-1"), "mon@sb", "monitor", T + 20_000);
    monitor.answered_ms = None;
    {
        let store = Store::open(&path).unwrap();
        for l in [&agent_leg, &monitor, &caller_leg] {
            store.insert_leg_cdr(l).unwrap();
        }
        store.insert_leg_cdr(&leg(Some("i-2"), "x", "caller", T)).unwrap();
        store.insert_leg_cdr(&leg(None, "y", "caller", T)).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.list_leg_cdrs("i-1").unwrap(),
        vec![caller_leg, agent_leg, monitor],
        "in the order the legs started"
    );
    assert_eq!(store.list_leg_cdrs("i-2").unwrap().len(), 1);
    assert!(store.list_leg_cdrs("i-3").unwrap().is_empty());
    assert_eq!(count(&store, "leg_cdrs"), 5);
}

// spec: HIST-3, AGENT-6 ("a restart during calls logs the agents out
// cleanly and records the interrupted interactions")
#[test]
fn recovery_interrupts_open_interactions_and_logs_out_agents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let now = T + 600_000;
    let talking = InteractionRecord {
        agent: Some("alice".into()),
        answered_ms: Some(T + 8_000),
        queue_ms: 6_000,
        ring_ms: 2_000,
        talk_ms: 40_000,
        hold_ms: 10_000,
        ..interaction("talking", T)
    };
    let answered = InteractionRecord {
        agent: Some("bob".into()),
        outcome: Some(InteractionOutcome::Answered),
        answered_ms: Some(T + 1_000),
        ended_ms: Some(T + 90_000),
        talk_ms: 89_000,
        ..interaction("answered", T - 100_000)
    };
    let abandoned = InteractionRecord {
        outcome: Some(InteractionOutcome::Abandoned),
        ended_ms: Some(T + 3_000),
        queue_ms: 3_000,
        ..interaction("abandoned", T + 1)
    };
    {
        let mut store = Store::open(&path).unwrap();
        store.open_interaction(&interaction("queued", T + 2)).unwrap();
        store.open_interaction(&interaction("talking", T)).unwrap();
        store.update_interaction(&talking).unwrap();
        store.update_interaction(&answered).unwrap();
        store.update_interaction(&abandoned).unwrap();
        // alice busy on a call, bob already logged out, carol idle after a
        // RONA, dave in wrap-up; erin logged out after her clock stepped
        // back (latest is the last written, not the largest timestamp).
        for r in [
            audit("alice", "Available", None, T),
            audit("bob", "Available", None, T),
            audit("alice", "Busy", None, T + 8_000),
            audit("bob", "LoggedOut", None, T + 100_000),
            audit("carol", "Idle", Some("RONA"), T + 50),
            audit("dave", "WrapUp", None, T + 60),
            audit("erin", "Busy", None, T + 500),
            audit("erin", "LoggedOut", None, T + 400),
        ] {
            store.insert_agent_audit(&r).unwrap();
        }
    }
    let mut store = Store::open(&path).unwrap();
    let rec = store.recover_after_restart(now).unwrap();
    assert_eq!(rec.interrupted, vec!["talking", "queued"], "in arrival order");
    assert_eq!(rec.logged_out, vec!["alice", "carol", "dave"]);
    assert!(!rec.is_empty());

    let t = store.get_interaction("talking").unwrap().unwrap();
    assert_eq!(
        t,
        InteractionRecord {
            outcome: Some(InteractionOutcome::Interrupted),
            ended_ms: Some(now),
            ..talking
        },
        "phase durations kept as last written"
    );
    let q = store.get_interaction("queued").unwrap().unwrap();
    assert_eq!(q.outcome, Some(InteractionOutcome::Interrupted));
    assert_eq!(q.ended_ms, Some(now));
    assert_eq!(store.get_interaction("answered").unwrap(), Some(answered));
    assert_eq!(store.get_interaction("abandoned").unwrap(), Some(abandoned));

    let alice = store.list_agent_audit("alice").unwrap();
    assert_eq!(
        alice.last(),
        Some(&audit("alice", LOGGED_OUT, Some(RESTART_REASON), now))
    );
    assert_eq!(alice.len(), 3);
    assert_eq!(store.list_agent_audit("bob").unwrap().len(), 2, "bob was logged out");
    assert_eq!(store.list_agent_audit("erin").unwrap().len(), 2, "erin was logged out");
    assert_eq!(count(&store, "agent_audit"), 11);

    // Idempotent: a second recovery (another restart) changes nothing.
    let before: Vec<InteractionRecord> = store.list_interactions(0, 100).unwrap();
    let again = store.recover_after_restart(now + 1_000).unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(store.list_interactions(0, 100).unwrap(), before);
    assert_eq!(count(&store, "agent_audit"), 11);

    // An agent who logs in after the restart is logged out by the next one.
    store
        .insert_agent_audit(&audit("alice", "Available", None, now + 5))
        .unwrap();
    let next = store.recover_after_restart(now + 10).unwrap();
    assert_eq!(next.logged_out, vec!["alice"]);
    assert!(next.interrupted.is_empty());
}

#[test]
fn recovery_of_an_empty_store_is_empty() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(store.recover_after_restart(T).unwrap(), Recovery::default());
    assert!(matches!(
        store.recover_after_restart(u64::MAX),
        Err(StoreError::BadValue { column: "now_ms", .. })
    ));
}

/// A database written by schema version 2 gains the ACD tables in place and
/// keeps its bindings and CDRs.
#[test]
fn schema_v2_database_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE bindings (aor TEXT NOT NULL, uri BLOB NOT NULL, contact BLOB NOT NULL,
             expires_at INTEGER NOT NULL, call_id BLOB NOT NULL, cseq INTEGER NOT NULL, source TEXT NOT NULL,
             transport TEXT NOT NULL, q INTEGER NOT NULL, PRIMARY KEY (aor, uri)) WITHOUT ROWID;
             CREATE INDEX bindings_expires_at ON bindings (expires_at);
             CREATE TABLE cdrs (id INTEGER PRIMARY KEY, call_id TEXT NOT NULL, a_leg TEXT NOT NULL, b_leg TEXT,
             caller TEXT NOT NULL, callee TEXT NOT NULL, route TEXT NOT NULL, start_ms INTEGER NOT NULL,
             answer_ms INTEGER, end_ms INTEGER NOT NULL, end_cause TEXT NOT NULL, sip_code INTEGER,
             recordings TEXT);
             CREATE INDEX cdrs_start_ms ON cdrs (start_ms);
             INSERT INTO bindings VALUES ('sip:a@example.com', X'7369703a614068', X'3c7369703a6140683e', 5,
             X'63', 1, '192.0.2.1:5060', 'UDP', 1000);
             INSERT INTO cdrs (call_id, a_leg, caller, callee, route, start_ms, end_ms, end_cause, recordings)
             VALUES ('old', 'a', 'x', 'y', 'r', 1, 2, 'caller_hangup',
             '[{\"file\":\"f.wav\",\"start_ms\":1,\"end_ms\":2,\"pauses\":[]}]');
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, super::SCHEMA_VERSION);
    let old = store.cdr(1).unwrap().unwrap();
    assert_eq!(old.call_id, "old");
    assert_eq!(old.recordings[0].file, "f.wav");
    assert_eq!(store.load_bindings().unwrap()[0].aor, "sip:a@example.com");
    // The new tables work, and the upgraded database opens again unchanged.
    store.open_interaction(&interaction("u", T)).unwrap();
    store.insert_agent_audit(&audit("alice", "Available", None, T)).unwrap();
    store.insert_leg_cdr(&leg(Some("u"), "c", "caller", T)).unwrap();
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.cdr_count().unwrap(), 1);
    let rec = store.recover_after_restart(T + 1).unwrap();
    assert_eq!(
        (rec.interrupted, rec.logged_out),
        (vec!["u".into()], vec!["alice".into()])
    );
}

/// Version 1 goes through 2 and 3 to 4 in one open.
#[test]
fn schema_v1_database_is_upgraded_to_v4() {
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
    let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, super::SCHEMA_VERSION);
    assert!(store.cdr(1).unwrap().unwrap().recordings.is_empty());
    store.open_interaction(&interaction("u", T)).unwrap();
    assert_eq!(store.list_interactions(0, 10).unwrap().len(), 1);
}

/// A version 3 database (interactions without the consult, conference and
/// post-call times) gains the three columns, its rows reading 0 (HIST-3).
#[test]
fn schema_v3_database_gains_the_post_call_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    {
        let store = Store::open(&path).unwrap();
        store.open_interaction(&interaction("old", T)).unwrap();
        store
            .conn
            .execute_batch(
                "CREATE TABLE i3 AS SELECT uid, queue, caller, dnis, agent, outcome, arrived_ms, answered_ms,
                 ended_ms, queue_ms, ring_ms, talk_ms, hold_ms, wrap_up_ms, wrap_up_reasons, notes, variables,
                 recordings FROM interactions;
                 DROP TABLE interactions; ALTER TABLE i3 RENAME TO interactions;
                 PRAGMA user_version = 3;",
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, super::SCHEMA_VERSION);
    let old = store.get_interaction("old").unwrap().expect("kept");
    assert_eq!((old.consult_ms, old.conference_ms, old.post_call_ms), (0, 0, 0));
    let new = InteractionRecord {
        consult_ms: 5,
        conference_ms: 6,
        post_call_ms: 7,
        ..interaction("new", T)
    };
    store.update_interaction(&new).unwrap();
    let back = store.get_interaction("new").unwrap().expect("written");
    assert_eq!((back.consult_ms, back.conference_ms, back.post_call_ms), (5, 6, 7));
    assert_eq!(back.handling_ms(), new.talk_ms + new.hold_ms + new.wrap_up_ms + 18);
    assert!(old.handlers.is_empty(), "old rows list nobody");
}

/// A version 4 database gains who held each interaction (HIST-3 across
/// transfers): old rows list nobody, new rows keep every handler.
#[test]
fn schema_v4_database_gains_the_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    {
        let store = Store::open(&path).unwrap();
        store.open_interaction(&interaction("old", T)).unwrap();
        store
            .conn
            .execute_batch(
                "ALTER TABLE interactions DROP COLUMN handlers;
                 ALTER TABLE interactions DROP COLUMN visits;
                 PRAGMA user_version = 4;",
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, super::SCHEMA_VERSION);
    assert!(store.get_interaction("old").unwrap().expect("kept").handlers.is_empty());
    let handlers = vec![
        crate::records::HandlerRecord {
            agent: "alice".into(),
            from_ms: T + 1,
            to_ms: Some(T + 2),
            end: Some("transferred".into()),
            wrap_up_reasons: vec!["Sale".into()],
        },
        crate::records::HandlerRecord {
            agent: "bob".into(),
            from_ms: T + 3,
            to_ms: None,
            end: None,
            wrap_up_reasons: Vec::new(),
        },
    ];
    let new = InteractionRecord {
        handlers: handlers.clone(),
        ..interaction("new", T)
    };
    store.update_interaction(&new).unwrap();
    assert_eq!(
        store.get_interaction("new").unwrap().expect("written").handlers,
        handlers
    );
}

/// A version 5 database gains the stays in queues (issue 13's
/// statistics): old rows have none, new rows keep every visit.
#[test]
fn schema_v5_database_gains_the_queue_visits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    {
        let store = Store::open(&path).unwrap();
        store.open_interaction(&interaction("old", T)).unwrap();
        store
            .conn
            .execute_batch("ALTER TABLE interactions DROP COLUMN visits; PRAGMA user_version = 5;")
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, super::SCHEMA_VERSION);
    assert!(store.get_interaction("old").unwrap().expect("kept").visits.is_empty());
    let visits = vec![
        crate::records::VisitRecord {
            queue: "support".into(),
            entered_ms: T,
            left_ms: Some(T + 60_000),
            end: Some("overflowed".into()),
            agent: None,
            offers: 2,
            ronas: 2,
        },
        crate::records::VisitRecord {
            queue: "sales".into(),
            entered_ms: T + 60_000,
            left_ms: None,
            end: None,
            agent: None,
            offers: 0,
            ronas: 0,
        },
    ];
    let new = InteractionRecord {
        visits: visits.clone(),
        ..interaction("new", T)
    };
    store.update_interaction(&new).unwrap();
    assert_eq!(store.get_interaction("new").unwrap().expect("written").visits, visits);
}

/// The lookups use their indexes, not table scans.
#[test]
fn lookups_use_indexes() {
    let store = Store::open_in_memory().unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
        rows.collect::<Result<Vec<_>, _>>().unwrap().join("; ")
    };
    for (sql, index) in [
        (
            "SELECT * FROM agent_audit WHERE agent = 'a' ORDER BY at_ms, id",
            "agent_audit_agent_at",
        ),
        (
            "SELECT * FROM agent_audit WHERE at_ms >= 1 ORDER BY at_ms, id",
            "agent_audit_at",
        ),
        (
            "SELECT * FROM interactions WHERE arrived_ms >= 1 ORDER BY arrived_ms, uid",
            "interactions_arrived_ms",
        ),
        (
            "SELECT uid FROM interactions WHERE outcome IS NULL ORDER BY arrived_ms, uid",
            "interactions_open",
        ),
        (
            "SELECT * FROM leg_cdrs WHERE interaction = 'i' ORDER BY started_ms, id",
            "leg_cdrs_interaction",
        ),
    ] {
        let p = plan(sql);
        assert!(p.contains(index), "{sql}: {p}");
    }
}
