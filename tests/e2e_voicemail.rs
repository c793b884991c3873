//! End-to-end: voicemail messages on the API and the desktops (issue 14
//! item 5, part 2), on the real switch over loopback. Outside business
//! hours a caller (the test's UA on the trusted trunk) is answered by the
//! `sales` queue's voicemail and leaves a message (a 440 Hz tone, ended
//! with `#` by SIP INFO). The sales agent's desktop is told (`voicemail`
//! event, the number masked as the queue says, OFFER-3), lists it,
//! downloads a valid WAV holding the caller's tone (which marks it
//! `heard`) and marks it done; the message is also an ACD work item:
//! offered to carol alone (sales accepts by itself), and marking it done
//! ends it (wrap-up follows); bob, who serves only `support`, sees
//! nothing of it; after a restart on the same data directory the message
//! is listed with its state.

mod common;

use common::caller::{assert_callers_tone, Caller};
use common::desk::*;
use common::*;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a desktop event or a SIP message may take to arrive.
const EVENT: Duration = Duration::from_secs(15);

/// Closed all week: the flow plays the closed message, then the sales
/// queue's voicemail.
const CLOSED_TO_SALES_VOICEMAIL: &str = r#"[[schedule]]
name = "never"
zone = "Europe/London"

[[entry_point]]
name = "main"

[[entry_point.step]]
name = "hours"
kind = "hours"
schedule = "never"
open = "sales"
closed = "closed"

[[entry_point.step]]
name = "closed"
kind = "play"
prompt = "closed"
next = "voicemail"

[[entry_point.step]]
name = "voicemail"
kind = "voicemail"
queue = "sales"

[[entry_point.step]]
name = "sales"
kind = "queue"
queue = "sales"
"#;

/// The caller's number as the trunk sends it, and as an agent of `sales`
/// (which masks numbers) sees it.
const CALLER: &str = "15550188";
const CALLER_MASKED: &str = "****0188";

/// The agent logs in `Available` and returns its event stream.
fn available(api: SocketAddr, token: &str) -> Stream {
    let mut ws = ws_connect(api, "/agent/events", WsAuth::Header(token)).expect("agent stream");
    Desk::new(api, token).ok("POST", "/agent/login", Some(r#"{"state": "available"}"#));
    ws_wait_for(&mut ws, EVENT, |e| {
        e["type"] == "agent_state" && e["state"] == "Available"
    })
    .expect("available");
    ws
}

/// The ids of a `{"voicemails": [...]}` list.
fn ids(list: &Value) -> Vec<String> {
    list["voicemails"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect()
}

/// `GET path` with `token` as a bearer (`None`: no header).
fn get_raw(api: SocketAddr, path: &str, token: Option<&str>) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    http(api, "GET", path, &headers, None)
}

/// The message's audio as `token` gets it, waiting out the 409s of a file
/// still being completed by the media thread.
fn audio(api: SocketAddr, path: &str, token: Option<&str>) -> HttpResponse {
    let deadline = Instant::now() + EVENT;
    loop {
        let r = get_raw(api, path, token);
        if r.status != 409 || Instant::now() >= deadline {
            return r;
        }
        assert!(r.text().contains("still being written"), "{}", r.text());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 14 item 5, OFFER-3 — a message left in the sales mailbox is
/// offered to carol (sales) with the number masked and to the supervisor
/// in full, never to bob (support only); carol lists it, downloads its WAV
/// (the caller's tone; the message becomes `heard`), marks it done (sam
/// marking it again is 409 naming carol); after a restart the message is
/// still listed, done by carol.
#[test]
fn a_message_is_offered_heard_done_and_kept_across_a_restart() {
    let cfg = ConfigDir::from_default();
    cfg.write("entrypoints.toml", CLOSED_TO_SALES_VOICEMAIL);
    let data = tempfile::tempdir().expect("data dir");
    let mut sw = Switch::builder().config(cfg.path()).data_dir(data.path()).start();
    let api = sw.api_addr();
    let mut carol_ws = available(api, CAROL);
    let mut bob_ws = available(api, BOB);
    let mut sam_ws = ws_connect(api, "/supervisor/events", WsAuth::Header(SAM)).expect("supervisor stream");
    let carol = Desk::new(api, CAROL);
    let bob = Desk::new(api, BOB);
    let sam = Desk::new(api, SAM);

    let mut caller = Caller::call_to(&sw, CALLER, "5100");
    caller.leaves_a_message(&sw);

    // The work item on carol's desktop, masked; the supervisors' in full.
    let ev = ws_wait_for(&mut carol_ws, EVENT, |e| e["type"] == "voicemail").expect("carol's voicemail event");
    assert_eq!(
        (ev["agent"].as_str(), ev["queue"].as_str(), ev["caller_number"].as_str()),
        (Some("carol"), Some("sales"), Some(CALLER_MASKED)),
        "{ev}"
    );
    assert_eq!(ev["state"], "new", "{ev}");
    assert!(ev["duration_ms"].as_u64().expect("duration") >= 1500, "{ev}");
    let id = ev["id"].as_str().expect("id").to_string();
    let url = ev["audio_url"].as_str().expect("audio_url").to_string();
    assert_eq!(url, format!("/voicemails/{id}/audio"));
    // The work item: offered to carol alone through the ACD (sales
    // accepts by itself, OFFER-1), with the message and its audio.
    let offer = ws_wait_for(&mut carol_ws, EVENT, |e| e["type"] == "offer").expect("carol's work item");
    assert_eq!(
        (offer["channel"].as_str(), offer["voicemail"]["id"].as_str()),
        (Some("voicemail"), Some(id.as_str())),
        "{offer}"
    );
    ws_wait_for(&mut carol_ws, EVENT, |e| e["type"] == "connected").expect("taken by carol");
    let sv = ws_wait_for(&mut sam_ws, EVENT, |e| e["type"] == "voicemail").expect("the supervisors' copy");
    assert_eq!(
        (sv["agent"].as_str(), sv["id"].as_str(), sv["caller_number"].as_str()),
        (Some(""), Some(id.as_str()), Some(CALLER)),
        "{sv}"
    );
    // Bob serves only support: his stream carries nothing of it before his
    // own next event (one broadcast channel, in order).
    bob.ok("POST", "/agent/state", Some(r#"{"state": "idle", "reason": "Lunch"}"#));
    let next = ws_wait_for(&mut bob_ws, EVENT, |e| e["type"] != "controls").expect("bob's next event");
    assert_eq!(
        (next["type"].as_str(), next["state"].as_str()),
        (Some("agent_state"), Some("Idle")),
        "bob got another event first: {next}"
    );

    // Listed for carol (masked, new) and sam; bob and an admin token get nothing.
    let (status, list) = carol.get("/voicemails");
    assert_eq!((status, ids(&list)), (200, vec![id.clone()]), "{list}");
    let mine = &list["voicemails"][0];
    assert_eq!(
        (
            mine["caller_number"].as_str(),
            mine["state"].as_str(),
            mine["dnis"].as_str()
        ),
        (Some(CALLER_MASKED), Some("new"), Some("5100")),
        "{mine}"
    );
    assert!(mine["start"].as_str().is_some_and(|s| s.ends_with('Z')), "{mine}");
    assert_eq!(ids(&carol.get("/voicemails?state=new&queue=sales").1), vec![id.clone()]);
    assert!(ids(&carol.get("/voicemails?state=heard").1).is_empty());
    assert!(ids(&carol.get("/voicemails?queue=support").1).is_empty());
    let (status, e) = carol.get("/voicemails?state=listened");
    assert_eq!((status, e["field"].as_str()), (400, Some("state")), "{e}");
    let (status, e) = carol.get("/voicemails?queue=nowhere");
    assert_eq!((status, e["field"].as_str()), (400, Some("queue")), "{e}");
    let (status, list) = sam.get("/voicemails");
    assert_eq!((status, ids(&list)), (200, vec![id.clone()]), "{list}");
    assert_eq!(list["voicemails"][0]["caller_number"], CALLER);
    let (status, list) = bob.get("/voicemails");
    assert_eq!((status, ids(&list)), (200, vec![]), "bob serves only support: {list}");
    let r = get_raw(api, &url, Some(BOB));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("sales"), "names the queue: {}", r.text());
    let (status, _) = bob.post(&format!("/voicemails/{id}/done"), None);
    assert_eq!(status, 403);
    assert_eq!(get_raw(api, "/voicemails", Some(ADMIN)).status, 403);
    assert_eq!(get_raw(api, &url, None).status, 401);
    let (status, e) = carol.get("/voicemails/voicemail-1-1/audio");
    assert_eq!((status, e["field"].as_str()), (404, Some("id")), "{e}");

    // Carol downloads it: a WAV of the caller's tone; now heard, by her.
    let r = audio(api, &url, Some(CAROL));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("audio/wav"));
    assert_eq!(r.header("content-length"), Some(r.body.len().to_string().as_str()));
    assert_callers_tone(&r.body);
    let (_, list) = carol.get("/voicemails?state=heard");
    assert_eq!(ids(&list), vec![id.clone()], "{list}");
    assert_eq!(list["voicemails"][0]["heard_by"], "carol");
    // The supervisor's page plays it with `?token=` (an <audio> element).
    let r = get_raw(api, &format!("{url}?token={SAM}"), None);
    assert_eq!((r.status, r.header("content-type")), (200, Some("audio/wav")));
    assert_eq!(
        sam.get("/voicemails").1["voicemails"][0]["heard_by"],
        "carol",
        "the first listener stays"
    );

    // Carol marks it done: her desktop and the supervisors' are told.
    let (status, v) = carol.post(&format!("/voicemails/{id}/done"), None);
    assert_eq!(
        (status, v["state"].as_str(), v["done_by"].as_str()),
        (200, Some("done"), Some("carol")),
        "{v}"
    );
    let ev = ws_wait_for(&mut carol_ws, EVENT, |e| e["type"] == "voicemail_done").expect("carol's voicemail_done");
    assert_eq!(
        (ev["id"].as_str(), ev["by"].as_str()),
        (Some(id.as_str()), Some("carol")),
        "{ev}"
    );
    // Her work item ends with it: wrap-up follows.
    ws_wait_for(&mut carol_ws, EVENT, |e| e["type"] == "wrap_up").expect("carol wraps up the work item");
    ws_wait_for(&mut sam_ws, EVENT, |e| {
        e["type"] == "voicemail_done" && e["id"] == id.as_str()
    })
    .expect("the supervisors' voicemail_done");
    let (status, e) = sam.post(&format!("/voicemails/{id}/done"), None);
    assert_eq!(status, 409, "{e}");
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("carol")),
        "names who: {e}"
    );
    let (_, done) = sam.get("/voicemails?state=done");
    let before = done["voicemails"][0].clone();
    assert_eq!(ids(&done), vec![id.clone()]);

    // A restart on the same data directory keeps the message and its state.
    drop(caller);
    assert!(sw.terminate(Duration::from_secs(10)).is_some(), "stops on SIGTERM");
    drop(sw);
    let sw = Switch::builder().config(cfg.path()).data_dir(data.path()).start();
    let (status, after) = Desk::new(sw.api_addr(), SAM).get("/voicemails");
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["voicemails"].as_array().map(Vec::len), Some(1), "{after}");
    assert_eq!(after["voicemails"][0], before, "restored as it was");
    let (_, mine) = Desk::new(sw.api_addr(), CAROL).get("/voicemails?state=done");
    assert_eq!(mine["voicemails"][0]["caller_number"], CALLER_MASKED, "{mine}");
    let r = audio(sw.api_addr(), &url, Some(CAROL));
    assert_eq!(r.status, 200, "the audio is still there: {}", r.text());
    assert_callers_tone(&r.body);
    assert_eq!(
        Desk::new(sw.api_addr(), CAROL).get("/voicemails").1["voicemails"][0]["state"],
        "done",
        "listening again leaves it done"
    );
}

/// Issue 14 item 5 — the agent desktop in a real headless Chromium: carol
/// logged in, a message lands in the sales mailbox and the page lists it
/// (number masked) from its event stream; Play loads the WAV in the page's
/// `<audio>` (`?token=`, the switch then has it heard by carol); Done takes
/// it off the list and the switch has it done by carol. The page before
/// Done is saved as `target/screenshots/desk-voicemail.png`.
#[test]
fn the_desk_page_lists_plays_and_marks_a_message_done() {
    use common::chromium::{require_chromium, Chromium};
    require_chromium();
    let cfg = ConfigDir::from_default();
    cfg.write("entrypoints.toml", CLOSED_TO_SALES_VOICEMAIL);
    let sw = Switch::builder().config(cfg.path()).start();
    let api = sw.api_addr();
    let mut b = Chromium::launch(None, &[]);
    b.call(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
    );
    b.open(&format!("http://{api}/desk/"));
    b.eval(&format!(
        "window.desk.login({}); true",
        serde_json::to_string(CAROL).expect("quote")
    ));
    b.wait_for(
        "window.deskState.reads > 0 && deskState.connection === 'connected'",
        EVENT,
    );
    assert_eq!(b.eval("document.getElementById('vm-empty').hidden"), Value::Bool(false));

    let mut caller = Caller::call_to(&sw, CALLER, "5100");
    caller.leaves_a_message(&sw);
    b.wait_for("document.querySelectorAll('#vm-list li').length === 1", EVENT);
    let line = b.eval("document.querySelector('#vm-list li').textContent");
    let line = line.as_str().expect("text");
    assert!(line.contains(CALLER_MASKED) && line.contains("queue sales"), "{line}");
    assert!(!line.contains(CALLER), "masked on the page: {line}");
    let id = b.eval("document.querySelector('#vm-list li').dataset.id");
    let id = id.as_str().expect("id").to_string();
    // The media thread completes the file just after the call.
    let wav = sw.data_dir().join("recordings").join(format!("{id}.wav"));
    assert!(wait_until(EVENT, || wav.exists()), "{}", wav.display());

    b.eval("document.querySelector('#vm-list .vm-play').click(); true");
    b.wait_for(
        "(() => { const a = document.getElementById('vm-audio'); return !a.hidden && a.readyState >= 1 && a.duration > 1.5; })()",
        EVENT,
    );
    let carol = Desk::new(api, CAROL);
    assert!(
        wait_until(EVENT, || carol.get("/voicemails?state=heard").1["voicemails"][0]
            ["heard_by"]
            == "carol"),
        "heard by carol once the page loaded it"
    );
    screenshot(&mut b, "desk-voicemail");
    b.eval("document.querySelector('#vm-list .vm-done').click(); true");
    b.wait_for(
        "document.querySelectorAll('#vm-list li').length === 0 && !document.getElementById('vm-empty').hidden",
        EVENT,
    );
    let (_, done) = carol.get("/voicemails?state=done");
    assert_eq!(ids(&done), vec![id], "{done}");
    assert_eq!(done["voicemails"][0]["done_by"], "carol");
    drop(caller);
}

/// Saves the page as `target/screenshots/<name>.png` and prints the path.
fn screenshot(b: &mut common::chromium::Chromium, name: &str) {
    use base64::Engine;
    let shot = b.call("Page.captureScreenshot", serde_json::json!({"format": "png"}));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("screenshot data"))
        .expect("screenshot base64");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    println!("screenshot: {}", path.display());
}
