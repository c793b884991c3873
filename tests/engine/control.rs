//! Call control on anchored calls in virtual time (issue 3 items 4, 5, 6
//! and 7): hold/resume from the control API (CALL-HOLD-1), recording with
//! pause and its automatic end (CALL-REC-1), routes and users that switch
//! on recording and noise removal (CALL-NOISE-1), and transcoding plans when
//! the callee picks another codec.

use crate::calls::{answer_call, two_phones, two_phones_pass_through, Answered, CALLEE_TAG};
use crate::sim::*;
use std::time::Duration;
use switchboard::call::media::{MediaCommand, MediaLeg, RecordAction};
use switchboard::config::embedded_sources;
use switchboard::engine::{CallControl, ControlError, Party};
use switchboard::sdp::CodecKind;

fn embedded(name: &str) -> String {
    embedded_sources()
        .iter()
        .find(|(n, _)| n.rsplit('/').next() == Some(name))
        .map(|(_, t)| t.to_string())
        .expect("embedded file")
}

/// A switch whose local-extension rule carries `extra` (e.g. `record = true`)
/// and whose `[recording] max_pause_s` is `max_pause_s`.
fn harness_with_rule(extra: &str, max_pause_s: u64) -> Harness {
    let plan = embedded("dialplan.toml").replacen(
        "match = { regex = \"^100[0-9]$\" }\naction = \"user\"\n",
        &format!("match = {{ regex = \"^100[0-9]$\" }}\naction = \"user\"\n{extra}\n"),
        1,
    );
    let top = embedded("switchboard.toml").replace("max_pause_s = 180", &format!("max_pause_s = {max_pause_s}"));
    Harness::with_files(&[("dialplan.toml", plan.as_str()), ("switchboard.toml", top.as_str())])
}

fn answered_on(h: Harness) -> (Harness, Ua, Ua, Answered) {
    let mut h = h;
    let caller = Ua::phone("1000", "192.0.2.10");
    let mut callee = Ua::phone("1001", "192.0.2.11");
    h.register(&mut callee, 3600);
    let mut caller = caller;
    let c = answer_call(&mut h, &mut caller, &mut callee);
    (h, caller, callee, c)
}

fn only_call(h: &Harness) -> u64 {
    let calls = h.engine.calls_snapshot();
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls[0].id
}

fn records(h: &Harness) -> Vec<RecordAction> {
    h.media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Record { action, .. } => Some(action.clone()),
            _ => None,
        })
        .collect()
}

/// spec: CALL-HOLD-1 — hold from the desktop: the caller hears music
/// (the workers are told who is held), resume ends it; repeating either is
/// a conflict, not a silent no-op.
#[test]
fn api_hold_and_resume() {
    let (mut h, mut caller, mut callee) = two_phones();
    let _c = answer_call(&mut h, &mut caller, &mut callee);
    let id = only_call(&h);
    h.media.clear();
    let s = h.control(id, CallControl::Hold(Party::Caller)).expect("hold");
    assert_eq!(s.held, Some("caller"));
    assert_eq!(
        h.media,
        vec![MediaCommand::Hold {
            call: id,
            held: Some(MediaLeg::A)
        }]
    );
    assert!(matches!(
        h.control(id, CallControl::Hold(Party::Callee)),
        Err(ControlError::Conflict(_))
    ));
    h.media.clear();
    let s = h.control(id, CallControl::Resume).expect("resume");
    assert_eq!(s.held, None);
    assert_eq!(h.media, vec![MediaCommand::Hold { call: id, held: None }]);
    assert!(matches!(
        h.control(id, CallControl::Resume),
        Err(ControlError::Conflict(_))
    ));
}

/// Hold of the callee from the API puts music on the B leg.
#[test]
fn api_hold_of_the_callee() {
    let (mut h, mut caller, mut callee) = two_phones();
    let _c = answer_call(&mut h, &mut caller, &mut callee);
    let id = only_call(&h);
    h.media.clear();
    let s = h.control(id, CallControl::Hold(Party::Callee)).expect("hold");
    assert_eq!(s.held, Some("callee"));
    assert_eq!(
        h.media,
        vec![MediaCommand::Hold {
            call: id,
            held: Some(MediaLeg::B)
        }]
    );
}

/// Unknown calls are not found; ringing calls and calls whose media is not
/// anchored cannot be held or recorded.
#[test]
fn control_refuses_unknown_unanswered_and_unanchored_calls() {
    let (mut h, mut caller, callee) = two_phones();
    assert_eq!(
        h.control(999, CallControl::RecordStart).unwrap_err(),
        ControlError::NoSuchCall(999)
    );
    let _out = h.place_call(&mut caller, "1001");
    let _b = h.expect_request(callee.addr, "INVITE");
    let id = only_call(&h);
    assert_eq!(
        h.control(id, CallControl::Hold(Party::Caller)).unwrap_err(),
        ControlError::NotAnswered(id)
    );

    let (mut h, mut caller, mut callee) = two_phones_pass_through();
    let _c = answer_call(&mut h, &mut caller, &mut callee);
    let id = only_call(&h);
    assert_eq!(
        h.control(id, CallControl::RecordStart).unwrap_err(),
        ControlError::NotAnchored(id)
    );
}

/// spec: CALL-REC-1 — a pause ends by itself after `[recording]
/// max_pause_s`, exactly then; the CDR lists the pause span.
#[test]
fn recording_pause_ends_by_itself() {
    let (mut h, mut caller, callee, c) = answered_on(harness_with_rule("", 30));
    let id = only_call(&h);
    h.control(id, CallControl::RecordStart).expect("start");
    h.advance(Duration::from_secs(5));
    let paused_at = h.unix_ms();
    let s = h.control(id, CallControl::RecordPause).expect("pause");
    assert_eq!(s.recording, Some("paused"));
    h.advance(Duration::from_millis(29_999));
    assert!(!records(&h).contains(&RecordAction::Resume), "not before 30 s");
    h.advance(Duration::from_millis(1));
    assert!(
        records(&h).contains(&RecordAction::Resume),
        "resumed at 30 s: {:?}",
        records(&h)
    );
    assert_eq!(h.engine.calls_snapshot()[0].recording, Some("recording"));
    let mut a_dlg = c.a_dlg;
    let bye = caller.in_dialog(&mut a_dlg, "BYE").text();
    h.send(&caller, &bye);
    h.expect_request(callee.addr, "BYE");
    let rec = &h.cdrs[0].recordings;
    assert_eq!(rec.len(), 1, "{rec:?}");
    assert_eq!(rec[0].pauses.len(), 1);
    assert_eq!(rec[0].pauses[0].start_ms, paused_at);
    assert_eq!(rec[0].pauses[0].end_ms, paused_at + 30_000);
    assert!(rec[0].file.ends_with(".wav"));
}

/// spec: CALL-REC-1 — pause/resume by hand; a call ending while paused
/// closes the span at the end; the recording is stopped before the media
/// is closed; a second start while recording is a conflict.
#[test]
fn recording_pauses_reach_the_cdr() {
    let (mut h, mut caller, callee, c) = answered_on(harness_with_rule("", 180));
    let id = only_call(&h);
    let start = h.unix_ms();
    h.control(id, CallControl::RecordStart).expect("start");
    assert!(matches!(
        h.control(id, CallControl::RecordStart),
        Err(ControlError::Conflict(_))
    ));
    assert!(matches!(
        h.control(id, CallControl::RecordResume),
        Err(ControlError::Conflict(_))
    ));
    h.advance(Duration::from_secs(2));
    h.control(id, CallControl::RecordPause).expect("pause");
    h.advance(Duration::from_secs(10));
    h.control(id, CallControl::RecordResume).expect("resume");
    h.advance(Duration::from_secs(3));
    h.control(id, CallControl::RecordPause).expect("pause again");
    h.advance(Duration::from_secs(4));
    h.media.clear();
    let mut a_dlg = c.a_dlg;
    let bye = caller.in_dialog(&mut a_dlg, "BYE").text();
    h.send(&caller, &bye);
    h.expect_request(callee.addr, "BYE");
    let stop = h.media.iter().position(|m| {
        matches!(
            m,
            MediaCommand::Record {
                action: RecordAction::Stop,
                ..
            }
        )
    });
    let close = h.media.iter().position(|m| matches!(m, MediaCommand::Close { .. }));
    assert!(stop.is_some() && (close.is_none() || stop < close), "{:?}", h.media);
    let rec = &h.cdrs[0].recordings[0];
    assert_eq!(rec.start_ms, start);
    let spans: Vec<(u64, u64)> = rec
        .pauses
        .iter()
        .map(|p| (p.start_ms - start, p.end_ms - start))
        .collect();
    assert_eq!(spans, vec![(2_000, 12_000), (15_000, 19_000)]);
    assert_eq!(rec.end_ms - start, 19_000);
}

/// spec: CALL-REC-1 — a route with `record = true` records from the answer.
#[test]
fn route_with_record_starts_recording_at_answer() {
    let (h, _caller, _callee, _c) = answered_on(harness_with_rule("record = true", 180));
    let id = only_call(&h);
    let relay = h.media.iter().position(|m| matches!(m, MediaCommand::Relay { .. }));
    let start = h.media.iter().position(|m| {
        matches!(m, MediaCommand::Record { action: RecordAction::Start { name, .. }, .. } if name.contains(&format!("-{id}-1")))
    });
    assert!(relay.is_some() && start > relay, "{:?}", h.media);
    assert_eq!(h.engine.calls_snapshot()[0].recording, Some("recording"));
}

/// spec: CALL-NOISE-1 — a route with `noise_removal = true` cleans both legs.
#[test]
fn route_with_noise_removal_cleans_both_legs() {
    let (h, _caller, _callee, _c) = answered_on(harness_with_rule("noise_removal = true", 180));
    match h.media.iter().find(|m| matches!(m, MediaCommand::Relay { .. })) {
        Some(MediaCommand::Relay { a, b, .. }) => assert!(a.denoise && b.denoise),
        other => panic!("no relay plan: {other:?}"),
    }
}

/// spec: CALL-NOISE-1 — an agent (directory user) with `noise_removal =
/// true` gets it on calls to them; other users' calls do not.
#[test]
fn user_with_noise_removal_cleans_their_calls() {
    let dir = embedded("directory.toml").replacen(
        "extension = \"1001\"\n",
        "extension = \"1001\"\nnoise_removal = true\n",
        1,
    );
    assert!(dir.contains("noise_removal = true"), "directory has user 1001");
    let (h, ..) = answered_on(Harness::with_files(&[("directory.toml", dir.as_str())]));
    match h.media.iter().find(|m| matches!(m, MediaCommand::Relay { .. })) {
        Some(MediaCommand::Relay { a, b, .. }) => assert!(a.denoise && b.denoise),
        other => panic!("no relay plan: {other:?}"),
    }
    let (h, ..) = answered_on(Harness::new());
    match h.media.iter().find(|m| matches!(m, MediaCommand::Relay { .. })) {
        Some(MediaCommand::Relay { a, b, .. }) => assert!(!a.denoise && !b.denoise),
        other => panic!("no relay plan: {other:?}"),
    }
}

/// Issue 3 item 3: the callee is offered every codec (the caller's first);
/// answering Opus makes a transcoded plan: each leg keeps its own format,
/// no fast-path payload-type map, and telephone-event numbers per leg.
#[test]
fn callee_answering_another_codec_is_transcoded() {
    let (mut h, mut caller, callee) = two_phones();
    let _out = h.place_call(&mut caller, "1001");
    let b_invite = h.expect_request(callee.addr, "INVITE");
    let offer = body_str(&b_invite);
    let m_line = offer
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .expect("m line")
        .to_string();
    assert!(
        m_line.ends_with(" 0 8 111 101 110"),
        "caller's PCMU first, then PCMA, Opus, events: {m_line}"
    );
    let answer = "v=0\r\no=- 7 7 IN IP4 192.0.2.11\r\ns=-\r\nc=IN IP4 192.0.2.11\r\nt=0 0\r\n\
                  m=audio 50000 RTP/AVP 111 96\r\na=rtpmap:111 opus/48000/2\r\n\
                  a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n";
    let ok = response(
        &b_invite,
        200,
        "OK",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        Some(("application/sdp", answer)),
    );
    h.send(&callee, &ok);
    let a200 = h.expect_response(caller.addr, 200);
    assert!(
        body_str(&a200).contains("RTP/AVP 0"),
        "the caller keeps PCMU: {}",
        body_str(&a200)
    );
    match h.media.iter().find(|m| matches!(m, MediaCommand::Relay { .. })) {
        Some(MediaCommand::Relay { a, b, .. }) => {
            assert_eq!(a.audio.codec, CodecKind::Pcmu);
            assert_eq!(b.audio.codec, CodecKind::Opus);
            assert_eq!(b.audio.clock_rate, 48_000);
            assert_eq!(b.audio.send_pt, 111);
            assert_eq!(b.audio.event_send_pt, Some(96), "the callee's own event number");
            assert!(a.pt_map.is_empty() && b.pt_map.is_empty(), "no fast path");
        }
        other => panic!("no relay plan: {other:?}"),
    }
}
