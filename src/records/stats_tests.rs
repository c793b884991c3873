use super::*;
use crate::records::{HandlerRecord, InteractionOutcome};

const T0: u64 = 1_796_601_600_000; // 2026-12-07T00:00:00Z
const S: u64 = 1000;

fn visit(queue: &str, entered: u64, left: Option<u64>, end: &str, ronas: u32) -> VisitRecord {
    VisitRecord {
        queue: queue.into(),
        entered_ms: entered,
        left_ms: left,
        end: left.map(|_| end.to_owned()),
        agent: (end == "answered").then(|| "alice".to_owned()),
        offers: ronas + u32::from(end == "answered"),
        ronas,
    }
}

fn interaction(
    uid: &str,
    visits: Vec<VisitRecord>,
    outcome: Option<InteractionOutcome>,
    talk_s: u64,
    wrap_s: u64,
) -> InteractionRecord {
    InteractionRecord {
        uid: uid.into(),
        queue: visits.last().map(|v| v.queue.clone()).unwrap_or_default(),
        caller: "+15550001".into(),
        dnis: "8000".into(),
        agent: None,
        outcome,
        arrived_ms: visits.first().map_or(T0, |v| v.entered_ms),
        answered_ms: None,
        ended_ms: None,
        queue_ms: 0,
        ring_ms: 0,
        talk_ms: talk_s * S,
        hold_ms: 0,
        wrap_up_ms: wrap_s * S,
        consult_ms: 0,
        conference_ms: 0,
        post_call_ms: 0,
        wrap_up_reasons: Vec::new(),
        notes: String::new(),
        variables: Vec::new(),
        recordings: Vec::new(),
        handlers: Vec::new(),
        visits,
    }
}

fn day(now: u64) -> Window {
    Window {
        from_ms: T0,
        to_ms: T0 + 86_400 * S,
        interval: Interval::Day,
        now_ms: now,
    }
}

#[test]
fn intervals_start_at_from_and_cut_spans_at_their_edges() {
    let w = Window {
        from_ms: T0,
        to_ms: T0 + 3600 * S,
        interval: Interval::Quarter,
        now_ms: T0,
    };
    assert_eq!(w.interval_of(T0 - 1), None);
    assert_eq!(w.interval_of(T0 + 899_999), Some(T0));
    assert_eq!(w.interval_of(T0 + 900_000), Some(T0 + 900_000));
    assert_eq!(w.interval_of(T0 + 3600 * S), None);
    let parts: Vec<_> = w.split(T0 - 60 * S, T0 + 1000 * S).collect();
    assert_eq!(parts, vec![(T0, 900 * S), (T0 + 900 * S, 100 * S)]);
    assert_eq!(Interval::from_name("15m"), Some(Interval::Quarter));
    assert_eq!(Interval::from_name("1h"), None);
}

#[test]
fn queue_day_counts_offers_answers_abandons_service_level_and_asa() {
    let recs = vec![
        // Answered after 10 s (in threshold), talked 100 s, wrapped 20 s.
        interaction(
            "a",
            vec![visit("support", T0 + 100 * S, Some(T0 + 110 * S), "answered", 0)],
            Some(InteractionOutcome::Answered),
            100,
            20,
        ),
        // Answered after 30 s (over 20 s), one RONA on the way; 200 s + 40 s.
        interaction(
            "b",
            vec![visit("support", T0 + 200 * S, Some(T0 + 230 * S), "answered", 1)],
            Some(InteractionOutcome::Answered),
            200,
            40,
        ),
        // Abandoned after 3 s: short.
        interaction(
            "c",
            vec![visit("support", T0 + 300 * S, Some(T0 + 303 * S), "abandoned", 0)],
            Some(InteractionOutcome::Abandoned),
            0,
            0,
        ),
        // Abandoned after 40 s.
        interaction(
            "d",
            vec![visit("support", T0 + 400 * S, Some(T0 + 440 * S), "abandoned", 0)],
            Some(InteractionOutcome::Abandoned),
            0,
            0,
        ),
        // Overflowed to sales after 60 s, answered there after 5 s.
        interaction(
            "e",
            vec![
                visit("support", T0 + 500 * S, Some(T0 + 560 * S), "overflowed", 0),
                visit("sales", T0 + 560 * S, Some(T0 + 565 * S), "answered", 0),
            ],
            Some(InteractionOutcome::Answered),
            50,
            10,
        ),
        // Still waiting, 90 s so far.
        interaction("f", vec![visit("support", T0 + 1000 * S, None, "", 0)], None, 0, 0),
        // Yesterday: not counted.
        interaction(
            "g",
            vec![visit("support", T0 - 100 * S, Some(T0 - 90 * S), "answered", 0)],
            Some(InteractionOutcome::Answered),
            10,
            0,
        ),
    ];
    let out = queue_figures(&recs, &|q| (q == "support").then_some(20), &day(T0 + 1090 * S));
    let support = &out[&("support".to_owned(), T0)];
    assert_eq!(support.offered, 6);
    assert_eq!(
        (
            support.answered,
            support.abandoned,
            support.abandoned_short,
            support.overflowed
        ),
        (2, 2, 1, 1)
    );
    assert_eq!(support.answered_in_threshold, 1);
    // Completed 5 (a, b, c, d, e's first visit), minus 1 short abandon.
    assert_eq!(support.service_level, Some(1.0 / 4.0));
    assert_eq!(support.asa_s, Some(20.0));
    assert_eq!(support.aht_s, Some((120.0 + 240.0) / 2.0));
    assert_eq!((support.ronas, support.transfers), (1, 0));
    assert_eq!(support.longest_wait_s, 90.0, "the waiting call's wait so far");
    let sales = &out[&("sales".to_owned(), T0)];
    assert_eq!((sales.offered, sales.answered, sales.answered_in_threshold), (1, 1, 1));
    assert_eq!(
        sales.threshold_s, DEFAULT_SERVICE_LEVEL_S,
        "a queue without a threshold"
    );
    assert_eq!(sales.aht_s, Some(60.0));
    assert_eq!(out.len(), 2);
}

#[test]
fn nothing_to_judge_gives_no_service_level_and_no_averages() {
    let recs = vec![interaction(
        "c",
        vec![visit("support", T0 + S, Some(T0 + 2 * S), "abandoned", 0)],
        Some(InteractionOutcome::Abandoned),
        0,
        0,
    )];
    let f = &queue_figures(&recs, &|_| Some(20), &day(T0 + 10 * S))[&("support".to_owned(), T0)];
    assert_eq!((f.service_level, f.asa_s, f.aht_s), (None, None, None));
}

fn audit(agent: &str, state: &str, reason: Option<&str>, interaction: Option<&str>, at: u64) -> AgentAuditRecord {
    AgentAuditRecord {
        agent: agent.into(),
        state: state.into(),
        reason: reason.map(str::to_owned),
        pending: None,
        interaction: interaction.map(str::to_owned),
        at_ms: at,
    }
}

#[test]
fn agent_occupancy_aht_ronas_and_transfers_by_quarter_hour() {
    let q = 900 * S;
    let rows = vec![
        // Logged in before the window: Available from the start.
        audit("alice", "Available", None, None, T0 - 60 * S),
        audit("alice", "Reserved", None, Some("a"), T0 + 100 * S),
        audit("alice", "Busy", None, Some("a"), T0 + 110 * S),
        audit("alice", "WrapUp", None, Some("a"), T0 + 410 * S),
        audit("alice", "Available", None, None, T0 + 470 * S),
        audit("alice", "Reserved", None, Some("b"), T0 + 800 * S),
        audit("alice", "Idle", Some("RONA"), None, T0 + 815 * S),
        audit("alice", "Idle", Some("Lunch"), None, T0 + 850 * S),
        // Second quarter: a call across nothing, transferred.
        audit("alice", "Available", None, None, T0 + q + 100 * S),
        audit("alice", "Busy", None, Some("c"), T0 + q + 200 * S),
        audit("alice", "Available", None, None, T0 + q + 500 * S),
        audit("alice", "LoggedOut", None, None, T0 + q + 600 * S),
    ];
    let mut c = interaction("c", Vec::new(), Some(InteractionOutcome::Answered), 0, 0);
    c.handlers = vec![HandlerRecord {
        agent: "alice".into(),
        from_ms: T0 + q + 200 * S,
        to_ms: Some(T0 + q + 500 * S),
        end: Some("transferred".into()),
        wrap_up_reasons: Vec::new(),
    }];
    let w = Window {
        from_ms: T0,
        to_ms: T0 + 2 * q,
        interval: Interval::Quarter,
        now_ms: T0 + 3 * q,
    };
    let out = agent_figures(&rows, &[c], &w);
    let first = &out[&("alice".to_owned(), T0)];
    // Available 100 + 330 (470..800) = 430, Reserved 10 + 15 = 25, Busy 300,
    // WrapUp 60, Idle 35 + 50.
    assert_eq!(first.state_s["Available"], 430.0);
    assert_eq!(first.state_s["Reserved"], 25.0);
    assert_eq!(first.state_s["Busy"], 300.0);
    assert_eq!(first.state_s["WrapUp"], 60.0);
    assert_eq!(first.state_s["Idle"], 85.0);
    assert_eq!(first.staffed_s, 900.0);
    assert_eq!(first.occupancy, Some(360.0 / 815.0));
    assert_eq!((first.handled, first.aht_s, first.ronas), (1, Some(360.0), 1));
    let second = &out[&("alice".to_owned(), T0 + q)];
    // Idle (Lunch) 100, Available 100 + 100, Busy 300; logged out after.
    assert_eq!(second.state_s["Idle"], 100.0);
    assert_eq!(second.staffed_s, 600.0);
    assert_eq!(second.occupancy, Some(300.0 / 500.0));
    assert_eq!((second.handled, second.aht_s, second.transfers), (1, Some(300.0), 1));
}
