//! The engine's voicemail messages (issue 14 item 5) in virtual time: who
//! gets the `voicemail` events (the mailbox's logged-in agents, masked per
//! OFFER-3, and the supervisors' own copy), who sees what, filters and
//! order, `heard` by the first listener, `done` once, and messages taken
//! back from the store with their states.

use crate::engine::desk::{DeskCommand, DeskEvent};
use crate::engine::{Engine, Now, Output, Requester, VoicemailCommand, VoicemailError, VoicemailReply, VoicemailView};
use crate::records::{AcdRecord, VoicemailRecord, VoicemailState};
use std::sync::Arc;
use std::time::Instant;

const T0: u64 = 1_800_000_000_000;

fn engine() -> Engine {
    Engine::new(Arc::new(crate::config::load_embedded().expect("embedded config")), 7)
}

fn now(ms: u64) -> Now {
    Now {
        mono: Instant::now(),
        unix_ms: ms,
    }
}

fn message(id: &str, queue: Option<&str>, user: Option<&str>, start_ms: u64) -> VoicemailRecord {
    VoicemailRecord {
        id: id.into(),
        file: format!("{id}.wav"),
        queue: queue.map(Into::into),
        user: user.map(Into::into),
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

fn drain(e: &mut Engine) -> (Vec<DeskEvent>, Vec<VoicemailRecord>) {
    let (mut events, mut records) = (Vec::new(), Vec::new());
    while let Some(out) = e.poll_output() {
        match out {
            Output::Desk(ev) => events.push(ev),
            Output::Acd(AcdRecord::Voicemail(v)) => records.push(*v),
            _ => {}
        }
    }
    (events, records)
}

fn login(e: &mut Engine, token: &str) {
    e.desk(now(T0), token, DeskCommand::Login { state: None })
        .expect("login");
}

fn agent(login: &str) -> Requester {
    Requester::Agent(login.into())
}

fn sam() -> Requester {
    Requester::Supervisor("sam".into())
}

fn list(e: &mut Engine, who: &Requester, state: Option<VoicemailState>, queue: Option<&str>) -> Vec<VoicemailView> {
    match e.voicemail_request(
        now(T0),
        who,
        VoicemailCommand::List {
            state,
            queue: queue.map(Into::into),
        },
    ) {
        Ok(VoicemailReply::List(l)) => l,
        other => panic!("a list: {other:?}"),
    }
}

/// Who each copy of an event is for, with the number it shows.
fn copies(events: &[DeskEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|ev| match ev {
            DeskEvent::Voicemail { agent, message } => Some((agent.clone(), message.caller_number.clone())),
            _ => None,
        })
        .collect()
}

/// Issue 14 item 5, OFFER-3 — a message in `sales` (masking numbers) goes
/// to its logged-in agents masked and to the supervisors in full; bob
/// (support only) and logged-out carol get none; it is stored.
#[test]
fn a_queue_message_is_offered_to_its_logged_in_agents_and_the_supervisors() {
    let mut e = engine();
    login(&mut e, "demo-token-alice");
    login(&mut e, "demo-token-bob-0");
    drain(&mut e);
    let m = message("voicemail-1-1", Some("sales"), None, T0);
    e.voicemail_message_left(m.clone());
    let (events, records) = drain(&mut e);
    assert_eq!(records, vec![m]);
    assert_eq!(
        copies(&events),
        vec![
            ("alice".to_string(), "+********4567".to_string()),
            (String::new(), "+442071234567".to_string())
        ]
    );
    assert!(events.iter().all(|ev| ev.agent() != "bob" && ev.agent() != "carol"));
    assert!(!events[0].for_supervisors() && events[1].for_supervisors());
}

/// A user's mailbox is the agent's whose extension it is (bob, 1002):
/// he sees it and gets its event; alice does not (403 naming no queue).
#[test]
fn a_users_message_is_for_the_agent_with_that_extension() {
    let mut e = engine();
    login(&mut e, "demo-token-alice");
    login(&mut e, "demo-token-bob-0");
    drain(&mut e);
    e.voicemail_message_left(message("voicemail-2-1", None, Some("1002"), T0));
    let (events, _) = drain(&mut e);
    assert_eq!(
        copies(&events),
        vec![
            ("bob".to_string(), "+442071234567".to_string()),
            (String::new(), "+442071234567".to_string())
        ]
    );
    assert_eq!(list(&mut e, &agent("bob"), None, None).len(), 1);
    assert!(list(&mut e, &agent("alice"), None, None).is_empty());
    let refused = e.voicemail_request(
        now(T0),
        &agent("alice"),
        VoicemailCommand::Audio {
            id: "voicemail-2-1".into(),
        },
    );
    assert!(
        matches!(refused, Err(VoicemailError::Forbidden(ref m)) if m.contains("another user")),
        "{refused:?}"
    );
}

/// Lists are newest first, filtered by state and queue, masked for agents
/// only; an unknown queue is refused; an admin token sees nothing.
#[test]
fn lists_filter_order_and_mask() {
    let mut e = engine();
    e.load_voicemails(vec![
        message("voicemail-1-1", Some("sales"), None, T0),
        message("voicemail-3-1", Some("support"), None, T0 + 2),
        message("voicemail-2-1", Some("sales"), None, T0 + 1),
    ]);
    let ids = |l: Vec<VoicemailView>| l.into_iter().map(|v| v.id).collect::<Vec<_>>();
    assert_eq!(
        ids(list(&mut e, &sam(), None, None)),
        ["voicemail-3-1", "voicemail-2-1", "voicemail-1-1"]
    );
    assert_eq!(
        ids(list(&mut e, &sam(), None, Some("sales"))),
        ["voicemail-2-1", "voicemail-1-1"]
    );
    assert_eq!(ids(list(&mut e, &agent("bob"), None, None)), ["voicemail-3-1"]);
    let carol = list(&mut e, &agent("carol"), None, None);
    assert_eq!(
        carol[1].caller_number, "+********4567",
        "sales masks numbers for agents"
    );
    assert_eq!(carol[0].caller_number, "+442071234567", "support does not");
    assert_eq!(
        list(&mut e, &sam(), None, Some("sales"))[0].caller_number,
        "+442071234567"
    );
    assert!(list(&mut e, &sam(), Some(VoicemailState::Heard), None).is_empty());
    assert_eq!(
        e.voicemail_request(
            now(T0),
            &sam(),
            VoicemailCommand::List {
                state: None,
                queue: Some("billing".into())
            }
        ),
        Err(VoicemailError::UnknownQueue("billing".into()))
    );
    assert!(matches!(
        e.voicemail_request(
            now(T0),
            &Requester::Admin,
            VoicemailCommand::List {
                state: None,
                queue: None
            }
        ),
        Err(VoicemailError::Forbidden(_))
    ));
    let v = &list(&mut e, &sam(), None, Some("support"))[0];
    assert_eq!(v.start, "2027-01-15T08:00:00.002Z");
    assert_eq!(v.audio_url, "/voicemails/voicemail-3-1/audio");
}

/// `heard` keeps its first listener; `done` once, with who and when, then
/// 409 naming who; each change is stored; `voicemail_done` goes to the
/// mailbox's logged-in agents and the supervisors.
#[test]
fn heard_by_the_first_listener_done_once() {
    let mut e = engine();
    login(&mut e, "demo-token-bob-0");
    e.load_voicemails(vec![message("voicemail-1-1", Some("support"), None, T0)]);
    drain(&mut e);
    let id = || "voicemail-1-1".to_string();
    let Ok(VoicemailReply::Audio { path, .. }) =
        e.voicemail_request(now(T0 + 5), &agent("bob"), VoicemailCommand::Audio { id: id() })
    else {
        panic!("the audio's file")
    };
    assert_eq!(path, std::path::PathBuf::from("voicemail-1-1.wav"));
    assert!(drain(&mut e).1.is_empty(), "asking where the audio is changes nothing");
    e.voicemail_request(now(T0 + 10), &agent("bob"), VoicemailCommand::Heard { id: id() })
        .expect("heard");
    e.voicemail_request(now(T0 + 20), &agent("alice"), VoicemailCommand::Heard { id: id() })
        .expect("heard again");
    let (_, stored) = drain(&mut e);
    assert_eq!(stored.len(), 1, "one change: {stored:?}");
    assert_eq!(stored[0].heard, Some((T0 + 10, "bob".into())));
    let Ok(VoicemailReply::One(v)) =
        e.voicemail_request(now(T0 + 30), &agent("alice"), VoicemailCommand::Done { id: id() })
    else {
        panic!("done")
    };
    assert_eq!(
        (v.state, v.done_by.as_deref(), v.done_ms),
        (VoicemailState::Done, Some("alice"), Some(T0 + 30))
    );
    let (events, stored) = drain(&mut e);
    assert_eq!(stored[0].done, Some((T0 + 30, "alice".into())));
    assert_eq!(stored[0].heard, Some((T0 + 10, "bob".into())));
    let to: Vec<&str> = events.iter().map(DeskEvent::agent).collect();
    assert_eq!(to, ["bob", ""], "bob is logged in, alice is not; then the supervisors");
    let again = e.voicemail_request(now(T0 + 40), &sam(), VoicemailCommand::Done { id: id() });
    assert!(
        matches!(&again, Err(e @ VoicemailError::AlreadyDone { .. }) if e.to_string().contains("alice")),
        "{again:?}"
    );
    e.voicemail_request(now(T0 + 50), &sam(), VoicemailCommand::Heard { id: id() })
        .expect("listening again");
    assert!(drain(&mut e).1.is_empty(), "a done message stays done");
    assert_eq!(
        e.voicemail_request(
            now(T0),
            &sam(),
            VoicemailCommand::Done {
                id: "voicemail-9-9".into()
            }
        ),
        Err(VoicemailError::NotFound("voicemail-9-9".into()))
    );
}

/// A stored row naming a path (not a bare file name) is never served.
#[test]
fn a_stored_path_is_not_served() {
    let mut e = engine();
    let mut m = message("voicemail-1-1", Some("support"), None, T0);
    m.file = "../switchboard.db".into();
    e.load_voicemails(vec![m]);
    assert_eq!(
        e.voicemail_request(
            now(T0),
            &sam(),
            VoicemailCommand::Audio {
                id: "voicemail-1-1".into()
            }
        ),
        Err(VoicemailError::NotFound("voicemail-1-1".into()))
    );
}
