//! Callback model tests in virtual time (CB-2..CB-5, CB-8): every field's
//! edge, the 30-minute and 31-day edges to the millisecond, local windows
//! across daylight saving changes.

use super::*;

const MIN: u64 = 60 * 1000;
const DAY: u64 = 24 * 60 * MIN;

/// Unix ms of an RFC 3339 instant.
fn ms(s: &str) -> u64 {
    u64::try_from(s.parse::<jiff::Timestamp>().expect("RFC 3339").as_millisecond()).expect("after 1970")
}

/// RFC 3339 (UTC) of unix ms.
fn at(ms: u64) -> String {
    jiff::Timestamp::from_millisecond(i64::try_from(ms).expect("ms"))
        .expect("ms")
        .to_string()
}

/// Created at 2027-03-01T09:00Z.
fn t0() -> u64 {
    ms("2027-03-01T09:00:00Z")
}

fn draft(start: u64, end: u64) -> Draft {
    Draft {
        kind: CallbackKind::Scheduled,
        number: "+33 1 23 45 67".into(),
        name: "Zoé Durand".into(),
        queue: Some(QueueId(0)),
        queue_name: "support".into(),
        zone: Some("Europe/Paris".into()),
        window: Some((at(start), at(end))),
        reason: "Invoice".into(),
        assigned: Assigned::AnyAgent,
    }
}

fn field_of(r: Result<Valid, CallbackError>) -> &'static str {
    match r {
        Err(CallbackError::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// spec: CB-3 — the number's length is counted as typed: 6 and 16 refused, 7 and 15 accepted.
#[test]
fn number_length_edges() {
    for (n, ok) in [
        ("123 456", true),
        ("12-3456", true),
        ("+123456", true),
        ("+12345", false),
        ("123456", false),
        ("+1 234.567,890-1", false),
        ("+1 234.567,890-", true),
        ("123456789012345", true),
        ("1234567890123456", false),
    ] {
        assert_eq!(check_number(n).is_ok(), ok, "{n:?} ({} chars)", n.chars().count());
    }
}

// spec: CB-3 — only digits, spaces, `-`, `,`, `.`, one leading `+`, and a digit at least.
#[test]
fn number_characters() {
    for n in [
        "12+34567",
        "++1234567",
        "1234567a",
        "１２３４５６７",
        "123\t4567",
        "-------",
        " , . - ,",
    ] {
        let e = check_number(n).expect_err(n);
        assert!(
            matches!(e, CallbackError::Invalid { field: "number", .. }),
            "{n:?}: {e:?}"
        );
    }
    assert!(
        check_number("+1 (555) 123").is_err(),
        "parentheses are not in CB-3's set"
    );
}

// spec: CB-3 — a name is 3 to 250 Unicode characters (not bytes), never trimmed, never blank.
#[test]
fn name_length_in_characters() {
    let e = "é"; // 2 bytes
    let emoji = "😀"; // 4 bytes
    assert!(check_name(&e.repeat(2)).is_err(), "2 characters");
    assert!(check_name(&e.repeat(3)).is_ok(), "3 characters, 6 bytes");
    assert!(check_name(&emoji.repeat(250)).is_ok(), "250 characters, 1000 bytes");
    assert!(check_name(&emoji.repeat(251)).is_err(), "251 characters");
    assert!(check_name(&"a".repeat(250)).is_ok());
    assert!(check_name(&"a".repeat(251)).is_err());
    assert!(check_name(" Al").is_ok(), "not trimmed: 3 characters as given");
    assert!(check_name("Al").is_err());
    assert!(check_name("   ").is_err(), "blank");
    assert!(
        check_name("\u{3000}\u{3000}\u{3000}").is_err(),
        "ideographic spaces are blank too"
    );
    assert!(check_name("Ann\nSmith").is_err(), "control character");
}

// spec: CB-3 — a reason has at most 250 characters (multi-byte counted once).
#[test]
fn reason_length() {
    assert!(check_reason("").is_ok());
    assert!(check_reason(&"ß".repeat(250)).is_ok());
    let e = check_reason(&"ß".repeat(251)).expect_err("251");
    assert!(matches!(e, CallbackError::Invalid { field: "reason", .. }));
}

// spec: CB-3 — the window starts at least 30 minutes after creation: exactly 30 min is
// accepted, one millisecond less is not.
#[test]
fn thirty_minutes_to_the_millisecond() {
    let c = t0();
    assert!(validate(&draft(c + 30 * MIN, c + 90 * MIN), c).is_ok());
    assert_eq!(
        field_of(validate(&draft(c + 30 * MIN - 1, c + 90 * MIN), c)),
        "window.start"
    );
    assert_eq!(field_of(validate(&draft(c - MIN, c + 90 * MIN), c)), "window.start");
}

// spec: CB-3 — the window starts at most 31 days after creation: exactly 31 days is
// accepted, one millisecond more is not.
#[test]
fn thirty_one_days_to_the_millisecond() {
    let c = t0();
    assert!(validate(&draft(c + 31 * DAY, c + 31 * DAY + 60 * MIN), c).is_ok());
    assert_eq!(
        field_of(validate(&draft(c + 31 * DAY + 1, c + 31 * DAY + 60 * MIN), c)),
        "window.start"
    );
}

// spec: CB-3 — the window ends after it starts, and lasts at most 24 hours.
#[test]
fn window_end() {
    let c = t0();
    let s = c + DAY;
    assert_eq!(field_of(validate(&draft(s, s), c)), "window.end");
    assert_eq!(field_of(validate(&draft(s, s - 1), c)), "window.end");
    assert!(validate(&draft(s, s + 1), c).is_ok());
    assert!(validate(&draft(s, s + DAY), c).is_ok(), "exactly 24 h");
    assert_eq!(field_of(validate(&draft(s, s + DAY + 1), c)), "window.end");
}

// spec: CB-3 — a local window in the customer's zone; 2027-03-28 02:30 does not exist
// in Europe/Paris (clocks go from 02:00 to 03:00): refused naming the field.
#[test]
fn a_local_time_in_the_spring_gap_is_refused() {
    let c = ms("2027-03-27T09:00:00Z");
    let mut d = draft(0, 0);
    d.window = Some(("2027-03-28T02:30".into(), "2027-03-28T04:00".into()));
    let e = validate(&d, c).expect_err("gap");
    match e {
        CallbackError::Invalid { field, message } => {
            assert_eq!(field, "window.start");
            assert!(message.contains("does not exist in Europe/Paris"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // 01:30 is CET (+01:00), 03:30 CEST (+02:00): only one hour apart on the clock
    // of the world.
    d.window = Some(("2027-03-28T01:30".into(), "2027-03-28T03:30".into()));
    let v = validate(&d, c).expect("around the gap");
    assert_eq!(v.window.start_ms, ms("2027-03-28T00:30:00Z"));
    assert_eq!(v.window.end_ms, ms("2027-03-28T01:30:00Z"));
    assert_eq!(v.window.end_ms - v.window.start_ms, 60 * MIN);
}

// spec: CB-3 — America/New_York's fall-back hour happens twice on 2027-11-07: a local
// 01:30 is the earlier one (EDT, -04:00); an offset picks the later one.
#[test]
fn a_local_time_in_the_fall_back_hour_is_the_earlier() {
    let c = ms("2027-11-06T12:00:00Z");
    let mut d = draft(0, 0);
    d.zone = Some("America/New_York".into());
    d.window = Some(("2027-11-07T01:30".into(), "2027-11-07T03:00".into()));
    let v = validate(&d, c).expect("fold");
    assert_eq!(v.window.start_ms, ms("2027-11-07T01:30:00-04:00"));
    assert_eq!(v.window.end_ms, ms("2027-11-07T03:00:00-05:00"));
    d.window = Some(("2027-11-07T01:30:00-05:00".into(), "2027-11-07T03:00".into()));
    let v = validate(&d, c).expect("offset given");
    assert_eq!(v.window.start_ms, ms("2027-11-07T06:30:00Z"));
}

// spec: CB-3 — a valid IANA zone; the format of window times is named in the refusal.
#[test]
fn zone_and_time_format() {
    let c = t0();
    let mut d = draft(c + DAY, c + DAY + MIN);
    d.zone = Some("Europe/Atlantis".into());
    assert_eq!(field_of(validate(&d, c)), "zone");
    d.zone = Some("+02:00".into());
    assert_eq!(field_of(validate(&d, c)), "zone");
    d.zone = None;
    assert_eq!(field_of(validate(&d, c)), "zone", "a scheduled callback needs one");
    d.zone = Some("Europe/Paris".into());
    d.window = Some(("tomorrow at ten".into(), at(c + DAY)));
    assert_eq!(field_of(validate(&d, c)), "window.start");
    d.window = Some((at(c + DAY), "2027-13-01T10:00".into()));
    assert_eq!(field_of(validate(&d, c)), "window.end");
    d.window = None;
    assert_eq!(field_of(validate(&d, c)), "window");
}

// spec: CB-3 — an active voice queue: an unknown queue is refused naming `queue`.
#[test]
fn unknown_queue() {
    let c = t0();
    let mut d = draft(c + DAY, c + DAY + MIN);
    d.queue = None;
    d.queue_name = "nowhere".into();
    let e = validate(&d, c).expect_err("queue");
    assert_eq!(e.to_string(), "`nowhere` is not an active voice queue");
}

// spec: CB-2 — a web callback is name and number (and queue), due at once; a window is refused.
#[test]
fn web_callback_is_due_now() {
    let c = t0();
    let mut d = draft(c + DAY, c + DAY + MIN);
    d.kind = CallbackKind::Web;
    d.zone = None;
    assert_eq!(field_of(validate(&d, c)), "window");
    d.window = None;
    d.reason = String::new();
    let v = validate(&d, c).expect("web");
    assert_eq!(v.window.start_ms, c);
    assert_eq!(v.window.end_ms, c + MAX_WINDOW_MS);
    assert_eq!(v.zone, "UTC");
    assert_eq!(v.priority, 0);
    let mut book = CallbackBook::new();
    let Ok(Created::New(cb)) = book.create(v, c, None) else {
        panic!("created")
    };
    assert_eq!(book.due(c).first().map(|c| c.id.as_str()), Some(cb.id.as_str()));
    assert!(
        matches!(book.delete(&cb.id, c), Err(CallbackError::Conflict(_))),
        "CB-4: started"
    );
}

// spec: CB-5 — only personal callbacks are assigned; they take priority when due.
#[test]
fn personal_callbacks_come_first() {
    let c = t0();
    let mut d = draft(c + DAY, c + DAY + 60 * MIN);
    d.assigned = Assigned::Agent(AgentId(1));
    assert_eq!(field_of(validate(&d, c)), "agent");
    d.kind = CallbackKind::Personal;
    let personal = validate(&d, c).expect("personal");
    assert_eq!(personal.priority, PERSONAL_PRIORITY);
    let mut book = CallbackBook::new();
    let early = validate(&draft(c + DAY - 10 * MIN, c + DAY + 60 * MIN), c).expect("scheduled");
    let Ok(Created::New(a)) = book.create(early, c, None) else {
        panic!()
    };
    let Ok(Created::New(b)) = book.create(personal, c, None) else {
        panic!()
    };
    assert_eq!(book.next_due_ms(), Some(c + DAY - 10 * MIN));
    assert_eq!(book.due(c + DAY - 10 * MIN - 1).len(), 0, "not yet");
    let due: Vec<&str> = book.due(c + DAY).iter().map(|c| c.id.as_str()).collect();
    assert_eq!(due, [b.id.as_str(), a.id.as_str()], "personal first");
    assert!(book.due(c + DAY + 60 * MIN).is_empty(), "windows ended");
}

// spec: CB-4 — edit and delete until the window starts (one millisecond before is
// the last chance), 409 after; a deleted callback is no longer listed.
#[test]
fn edit_and_delete_until_the_window_starts() {
    let c = t0();
    let start = c + DAY;
    let mut book = CallbackBook::new();
    let v = validate(&draft(start, start + 60 * MIN), c).expect("valid");
    let Ok(Created::New(cb)) = book.create(v, c, None) else {
        panic!()
    };
    let edited = book
        .edit(
            &cb.id,
            Patch {
                name: Some("Zoé Martin".into()),
                ..Patch::default()
            },
            start - 1,
        )
        .expect("before the window");
    assert_eq!(edited.name, "Zoé Martin");
    assert_eq!(edited.window.start_ms, start, "the window is kept");
    let bad = book.edit(
        &cb.id,
        Patch {
            number: Some("12".into()),
            ..Patch::default()
        },
        c,
    );
    assert!(matches!(bad, Err(CallbackError::Invalid { field: "number", .. })));
    assert_eq!(
        book.get(&cb.id).map(|c| c.number.as_str()),
        Some("+33 1 23 45 67"),
        "unchanged"
    );
    // A new window is checked against the time of the edit.
    let moved = book.edit(
        &cb.id,
        Patch {
            window: Some((at(c + 2 * DAY), at(c + 2 * DAY + MIN))),
            ..Patch::default()
        },
        c + MIN,
    );
    assert_eq!(moved.expect("moved").window.start_ms, c + 2 * DAY);
    let too_soon = book.edit(
        &cb.id,
        Patch {
            window: Some((at(c + 20 * MIN), at(c + 60 * MIN))),
            ..Patch::default()
        },
        c,
    );
    assert!(matches!(
        too_soon,
        Err(CallbackError::Invalid {
            field: "window.start",
            ..
        })
    ));
    let start = c + 2 * DAY;
    let e = book.edit(&cb.id, Patch::default(), start).expect_err("window started");
    assert!(
        matches!(e, CallbackError::Conflict(ref m) if m.contains("until its window starts")),
        "{e:?}"
    );
    assert!(matches!(book.delete(&cb.id, start), Err(CallbackError::Conflict(_))));
    assert_eq!(book.by_number("33123 4567").len(), 1, "matched on digits");
    book.delete(&cb.id, start - 1).expect("deleted in time");
    assert!(book.by_number("+33 1 23 45 67").is_empty());
    assert!(
        matches!(book.delete(&cb.id, c), Err(CallbackError::Conflict(_))),
        "already deleted"
    );
    assert!(matches!(book.delete("cb-99", c), Err(CallbackError::NotFound(_))));
}

// spec: CB-8 — the same idempotency key and request replays the callback; another
// request with that key is a conflict; both hold after a restore.
#[test]
fn idempotency_keys_survive_a_restore() {
    let c = t0();
    let v = validate(&draft(c + DAY, c + DAY + MIN), c).expect("valid");
    let mut book = CallbackBook::new();
    let key = |f: &str| Some(("key-1".to_string(), f.to_string()));
    let Ok(Created::New(cb)) = book.create(v.clone(), c, key("body-a")) else {
        panic!()
    };
    assert_eq!(
        book.create(v.clone(), c + 5, key("body-a")),
        Ok(Created::Replayed(cb.clone()))
    );
    assert!(matches!(
        book.create(v.clone(), c + 5, key("body-b")),
        Err(CallbackError::IdempotencyConflict { .. })
    ));
    assert_eq!(book.iter().count(), 1);

    let mut restored = CallbackBook::new();
    restored.restore(cb.clone(), Some("body-a".into()));
    assert_eq!(
        restored.create(v.clone(), c + 9, key("body-a")),
        Ok(Created::Replayed(cb.clone()))
    );
    assert!(restored.create(v.clone(), c + 9, key("body-b")).is_err());
    let Ok(Created::New(next)) = restored.create(v, c + 9, None) else {
        panic!()
    };
    assert_ne!(next.id, cb.id, "ids continue after the restored ones");
}

/// A scheduled callback from `start` to `end`, created at t0, in a book.
fn booked(start: u64, end: u64) -> (CallbackBook, String) {
    let mut book = CallbackBook::new();
    let v = validate(&draft(start, end), t0()).expect("valid");
    let Created::New(cb) = book.create(v, t0(), None).expect("created") else {
        panic!("a new callback")
    };
    (book, cb.id)
}

// spec: CB-6 — each try counts; not answered goes back to pending
// `retry_after` later; the last try, or a retry past the window's end,
// fails it; a dial the agent ends is cancelled.
#[test]
fn unanswered_tries_come_back_then_fail() {
    let start = t0() + 60 * MIN;
    let (mut book, id) = booked(start, start + 60 * MIN);
    book.offered(&id, start).expect("offered");
    assert_eq!(book.dialing(&id, start).map(|c| c.attempts), Some(1));
    let cb = book.unanswered(&id, start, 5 * MIN, 3).expect("unanswered").clone();
    assert_eq!(
        (cb.state, cb.window.start_ms),
        (CallbackState::Pending, start + 5 * MIN)
    );
    assert!(book.due(start + 5 * MIN - 1).is_empty(), "not before its retry");
    assert_eq!(book.due(start + 5 * MIN).len(), 1);
    // The second try: a retry 5 min later would still be in the window.
    book.offered(&id, start + 5 * MIN).expect("offered");
    book.dialing(&id, start + 5 * MIN).expect("dialing");
    let cb = book.unanswered(&id, start + 5 * MIN, 5 * MIN, 2).expect("unanswered");
    assert_eq!(
        (cb.state, cb.attempts),
        (CallbackState::Failed, 2),
        "the last try fails it"
    );
    // A retry that would start after the window ends fails it too.
    let (mut book, id) = booked(start, start + 60 * MIN);
    book.offered(&id, start).expect("offered");
    book.dialing(&id, start + 58 * MIN).expect("dialing");
    let cb = book.unanswered(&id, start + 58 * MIN, 5 * MIN, 3).expect("unanswered");
    assert_eq!(cb.state, CallbackState::Failed);
    // Cancelled only while dialling.
    let (mut book, id) = booked(start, start + 60 * MIN);
    assert!(book.cancelled(&id, start).is_none(), "pending: nothing to cancel");
    book.offered(&id, start).expect("offered");
    book.dialing(&id, start).expect("dialing");
    assert_eq!(
        book.cancelled(&id, start).map(|c| c.state),
        Some(CallbackState::Cancelled)
    );
}

// spec: CB-8 — a restart takes offered callbacks back to pending (nobody
// was called) and dialling ones to interrupted (never redialled by
// itself); a supervisor's retry makes an interrupted one due at once.
#[test]
fn a_restart_never_redials() {
    let start = t0() + 60 * MIN;
    let (mut book, a) = booked(start, start + 60 * MIN);
    let v = validate(&draft(start, start + 60 * MIN), t0()).expect("valid");
    let Created::New(b) = book.create(v, t0(), None).expect("created") else {
        panic!("new")
    };
    book.offered(&a, start).expect("offered");
    book.dialing(&a, start).expect("dialing");
    book.offered(&b.id, start).expect("offered");
    let changed = book.after_restart(start + MIN);
    let states: Vec<(String, CallbackState)> = changed.iter().map(|c| (c.id.clone(), c.state)).collect();
    assert_eq!(
        states,
        [
            (a.clone(), CallbackState::Interrupted),
            (b.id.clone(), CallbackState::Pending)
        ]
    );
    assert_eq!(book.due(start + MIN).len(), 1, "only the one nobody called");
    assert!(book.retry(&b.id, start + MIN).is_err(), "a pending one is not retried");
    let cb = book.retry(&a, start + 2 * MIN).expect("retried");
    assert_eq!(
        (cb.state, cb.window.start_ms),
        (CallbackState::Pending, start + 2 * MIN)
    );
    assert_eq!(book.due(start + 2 * MIN).len(), 2);
}

// A pending callback whose window ended unplaced is failed, not kept forever.
#[test]
fn windows_that_ended_unplaced_fail() {
    let start = t0() + 60 * MIN;
    let (mut book, id) = booked(start, start + 60 * MIN);
    assert!(book.expire(start + 60 * MIN - 1).is_empty());
    let gone = book.expire(start + 60 * MIN);
    assert_eq!(gone.len(), 1);
    assert_eq!(book.get(&id).map(|c| c.state), Some(CallbackState::Failed));
}
