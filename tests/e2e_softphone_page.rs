//! Issue 12 item 3: the switch serves the browser softphone, checked
//! against the real binary over loopback: the page, its script, style
//! sheet and the vendored JsSIP bundle come from the API's address without
//! a token, with their content types, caching and a restrictive
//! Content-Security-Policy; unknown files are JSON 404s. Then a real
//! headless Chromium loads the page: JsSIP runs under that policy, the page
//! exposes `window.testState` and `window.softphone`, opens a SIP WebSocket
//! (subprotocol `sip`) to the server given in the URL and reports a server
//! it cannot reach.
//!
//! SIP over WebSocket in the switch comes on another branch; registering
//! and calling through the switch are tested once both are in. Until then
//! the page's own call handling (register, call, answer, hold, resume,
//! DTMF, hang up, and what `testState` reports: remote tone, RTP counts,
//! digits sent, causes) is checked against a second JsSIP phone in the
//! same page, joined by an in-page SIP hub instead of a WebSocket; the
//! audio is real WebRTC between the two.

mod common;

use common::chromium::Chromium;
use common::desk::{http, HttpResponse};
use common::Switch;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};
use switchboard::web::{JSSIP_PATH, JSSIP_VERSION};

/// `GET path` with no token.
fn get(api: SocketAddr, path: &str) -> HttpResponse {
    http(api, "GET", path, &[], None)
}

/// The response's header `name`, or a failure naming the path.
fn header<'a>(r: &'a HttpResponse, name: &str, path: &str) -> &'a str {
    r.header(name)
        .unwrap_or_else(|| panic!("GET {path}: no {name} header in {:?}", r.headers))
}

/// A loopback TCP port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

#[test]
fn softphone_files_are_served_without_a_token_with_types_caching_and_csp() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let bundle_path = format!("/softphone/{JSSIP_PATH}");
    let files = [
        ("/softphone/", "text/html; charset=utf-8", "no-cache"),
        ("/softphone/index.html", "text/html; charset=utf-8", "no-cache"),
        ("/softphone/softphone.js", "text/javascript; charset=utf-8", "no-cache"),
        ("/softphone/softphone.css", "text/css; charset=utf-8", "no-cache"),
        (
            bundle_path.as_str(),
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
    ];
    for (path, content_type, cache) in files {
        let r = get(api, path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        assert_eq!(header(&r, "content-type", path), content_type, "GET {path}");
        assert_eq!(header(&r, "cache-control", path), cache, "GET {path}");
        assert_eq!(header(&r, "x-content-type-options", path), "nosniff");
        assert_eq!(header(&r, "referrer-policy", path), "no-referrer");
        let csp = header(&r, "content-security-policy", path);
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self' ws: wss:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "GET {path}: CSP `{csp}` lacks `{directive}`");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        assert!(!r.body.is_empty(), "GET {path}: empty body");
    }

    let page = get(api, "/softphone/").text();
    assert!(
        page.contains(&format!("<script src=\"{JSSIP_PATH}\"></script>")),
        "{page}"
    );
    assert!(page.contains("<script src=\"softphone.js\"></script>"));
    assert!(page.contains("<audio id=\"remote-audio\" autoplay>"));

    let bundle = get(api, &bundle_path).text();
    assert!(bundle.starts_with(&format!("/*! JsSIP {JSSIP_VERSION} ")), "banner");
    assert!(bundle.contains("var JsSIP="), "the bundle defines the global JsSIP");
    assert!(
        bundle.contains(&format!("version:\"{JSSIP_VERSION}\"")),
        "the bundle's version string is {JSSIP_VERSION}"
    );
    assert!(bundle.contains("sha512-"), "the banner names the tarball's integrity");

    // `/softphone` sends browsers to the page, query kept.
    let r = get(api, "/softphone");
    assert_eq!(r.status, 308);
    assert_eq!(header(&r, "location", "/softphone"), "/softphone/");
    let r = get(api, "/softphone?user=1001&autoanswer=1");
    assert_eq!(r.status, 308);
    assert_eq!(
        header(&r, "location", "/softphone?..."),
        "/softphone/?user=1001&autoanswer=1"
    );

    // Anything else under /softphone/ is a JSON 404, like the API's errors.
    for path in [
        "/softphone/nope.js",
        "/softphone/vendor/README.md",
        "/softphone/vendor/refresh-jssip.sh",
        "/softphone/../Cargo.toml",
        "/softphone/vendor/jssip-0.0.0.min.js",
    ] {
        let r = get(api, path);
        assert_eq!(r.status, 404, "GET {path}: {}", r.text());
        assert_eq!(r.json()["error"], "not_found", "GET {path}");
    }
    let r = http(api, "POST", "/softphone/", &[], Some(b"{}"));
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"], "method_not_allowed");

    // The API itself still needs its token.
    let r = get(api, "/calls");
    assert_eq!(r.status, 401, "{}", r.text());
}

/// Accepts one connection on `listener` within `timeout` and returns the
/// request head it sent, then closes it without upgrading.
fn accept_head(listener: &TcpListener, timeout: Duration) -> Option<String> {
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + timeout;
    let mut conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return None,
        }
    };
    conn.set_nonblocking(false).expect("blocking");
    conn.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    Some(String::from_utf8_lossy(&head).into_owned())
}

#[test]
fn chromium_runs_the_softphone_and_reports_a_server_it_cannot_reach() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let mut browser = Chromium::launch(None, &[]);

    // Through the redirect, as a person typing the short address would.
    let dead = closed_port();
    let server = format!("ws://127.0.0.1:{dead}");
    browser.open(&format!("http://{api}/softphone?server={server}&user=1001&password=x"));
    browser.wait_for("window.testState && window.testState.ready", Duration::from_secs(10));

    let ok = |b: &mut Chromium, expr: &str| {
        if b.eval(expr) != serde_json::json!(true) {
            b.fail(&format!("not true in the page: {expr}"));
        }
    };
    ok(&mut browser, "location.pathname === '/softphone/'");
    ok(
        &mut browser,
        "typeof JsSIP === 'object' && typeof JsSIP.UA === 'function'",
    );
    ok(&mut browser, "typeof JsSIP.WebSocketInterface === 'function'");
    ok(
        &mut browser,
        &format!("JsSIP.version === '{JSSIP_VERSION}' && testState.jssipVersion === '{JSSIP_VERSION}'"),
    );
    for f in [
        "call",
        "answer",
        "hangup",
        "hold",
        "unhold",
        "dtmf",
        "register",
        "unregister",
    ] {
        ok(&mut browser, &format!("typeof window.softphone.{f} === 'function'"));
    }
    ok(
        &mut browser,
        "['registered','registrationError','callState','cause','remoteToneHz','inboundPackets',\
         'outboundPackets','dtmfSent','log'].every(k => k in testState)",
    );
    ok(
        &mut browser,
        "Array.isArray(testState.log) && testState.dtmfSent === ''",
    );
    ok(
        &mut browser,
        "testState.remoteToneHz === null && testState.inboundPackets === 0",
    );
    // The style sheet loaded under the CSP (main is 28rem wide at most).
    ok(
        &mut browser,
        "getComputedStyle(document.querySelector('main')).maxWidth === '448px'",
    );
    // Every control a person uses has a label, the audio plays by itself.
    ok(
        &mut browser,
        "[...document.querySelectorAll('input')].every(i => i.labels && i.labels.length > 0)",
    );
    ok(
        &mut browser,
        "document.getElementById('remote-audio').autoplay === true",
    );
    ok(
        &mut browser,
        "document.querySelectorAll('#keypad button[data-digit]').length === 12",
    );
    // The form shows the account from the URL; the password left the address bar.
    ok(&mut browser, "document.getElementById('user').value === '1001'");
    ok(&mut browser, "!location.search.includes('password')");

    // The server cannot be reached: not registered, and the page says why.
    browser.wait_for(
        "testState.registrationError !== null && testState.connection === 'disconnected'",
        Duration::from_secs(15),
    );
    ok(
        &mut browser,
        "testState.registered === false && testState.callState === 'idle'",
    );
    ok(
        &mut browser,
        &format!("testState.registrationError.includes('{server}')"),
    );
    ok(
        &mut browser,
        &format!("testState.log.includes('Registering 1001 at {server}')"),
    );
    ok(
        &mut browser,
        "document.getElementById('status').textContent.startsWith('Cannot reach the server')",
    );

    // With a listening server, the page opens a SIP WebSocket to it
    // (RFC 7118 §4.1: subprotocol `sip`); this one refuses the upgrade.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = format!("ws://127.0.0.1:{port}");
    browser.eval(&format!(
        "window.softphone.register({{server: '{server}', user: '1002', password: 'y'}})"
    ));
    let Some(head) = accept_head(&listener, Duration::from_secs(10)) else {
        browser.fail(&format!("the page opened no connection to {server}"));
    };
    let lower = head.to_ascii_lowercase();
    assert!(lower.starts_with("get / http/1.1\r\n"), "{head}");
    assert!(lower.contains("\r\nupgrade: websocket\r\n"), "{head}");
    assert!(lower.contains("\r\nsec-websocket-protocol: sip\r\n"), "{head}");
    browser.wait_for(
        &format!("testState.registrationError !== null && testState.registrationError.includes('{server}')"),
        Duration::from_secs(15),
    );
    ok(&mut browser, "testState.registered === false");
    ok(
        &mut browser,
        "testState.log.some(l => l.startsWith('softphone') === false && l.includes('Registering 1002'))",
    );

    // Nothing the page ran threw, and it logged its states.
    let console = browser.console().to_vec();
    let bad: Vec<&String> = console
        .iter()
        .filter(|l| l.starts_with("[exception]") || l.starts_with("[error]") || l.starts_with("[assert]"))
        .collect();
    if !bad.is_empty() {
        browser.fail(&format!("the page's console has errors: {bad:?}"));
    }
    if !console.iter().any(|l| l.contains("softphone: Softphone ready (JsSIP")) {
        browser.fail("no `softphone: Softphone ready` line in the console");
    }
    if !console
        .iter()
        .any(|l| l.contains("softphone: Cannot reach the server at"))
    {
        browser.fail("no `softphone: Cannot reach the server` line in the console");
    }
}

/// A two-party SIP hub inside the page, standing in for the switch: each
/// phone gets a JsSIP socket from `hub.socket(user)`; REGISTER is answered
/// 200 by the hub, every other message goes to the other phone as it is
/// (JsSIP's own Via, Contact and routing). `hub.log` keeps each message's
/// first line.
const IN_PAGE_HUB: &str = r#"(() => {
  const sockets = [];
  const log = [];
  const header = (msg, name) => {
    const m = msg.match(new RegExp('^' + name + ':\\s*(.*)$', 'mi'));
    return m ? m[1].trim() : '';
  };
  const socket = (user) => {
    const s = {
      url: 'ws://hub.test',
      via_transport: 'WS',
      sip_uri: 'sip:hub.test;transport=ws',
      connect() { setTimeout(() => this.onconnect(), 0); },
      disconnect() {},
      send(data) {
        const first = data.split('\r\n', 1)[0];
        log.push(user + ' > ' + first);
        if (first.startsWith('REGISTER ')) {
          const to = header(data, 'To');
          const ok = ['SIP/2.0 200 OK', 'Via: ' + header(data, 'Via'), 'From: ' + header(data, 'From'),
            'To: ' + to + (to.includes('tag=') ? '' : ';tag=hub'), 'Call-ID: ' + header(data, 'Call-ID'),
            'CSeq: ' + header(data, 'CSeq'), 'Contact: ' + header(data, 'Contact') + ';expires=600',
            'Content-Length: 0', '', ''].join('\r\n');
          setTimeout(() => this.ondata(ok), 0);
        } else {
          const other = sockets.find((o) => o !== this);
          if (other) setTimeout(() => other.ondata(data), 0);
        }
        return true;
      },
    };
    sockets.push(s);
    return s;
  };
  window.hub = { socket, log };
  // The softphone's "WebSocket" is the hub's socket for 1001.
  JsSIP.WebSocketInterface = function () { return socket('1001'); };
  // The other phone, 1002, answers with a 1 kHz tone after 300 ms.
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = 1000;
  const gain = ctx.createGain();
  gain.gain.value = 0.3;
  const out = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(out);
  osc.start();
  window.tone = out.stream;
  window.peer = new JsSIP.UA({ sockets: [socket('1002')], uri: 'sip:1002@hub.test', register: false });
  peer.on('newRTCSession', (e) => {
    window.peerSession = e.session;
    if (e.originator === 'remote') {
      setTimeout(() => e.session.answer({ mediaStream: tone, pcConfig: { iceServers: [] } }), 300);
    }
  });
  peer.start();
  return true;
})()"#;

#[test]
fn chromium_softphone_calls_answers_holds_sends_dtmf_and_hangs_up_with_an_in_page_peer() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let mut browser = Chromium::launch(None, &[]);
    browser.open(&format!("http://{api}/softphone/"));
    browser.wait_for("window.testState && window.testState.ready", Duration::from_secs(10));
    browser.eval(IN_PAGE_HUB);
    let t = Duration::from_secs(15);
    let ok = |b: &mut Chromium, expr: &str| {
        if b.eval(expr) != serde_json::json!(true) {
            b.fail(&format!("not true in the page: {expr}"));
        }
    };

    ok(
        &mut browser,
        "softphone.register({server: 'ws://hub.test', user: '1001', password: 'x'})",
    );
    browser.wait_for("testState.registered === true", t);
    ok(
        &mut browser,
        "document.getElementById('status').textContent === 'Registered as 1001'",
    );

    // 1001 calls 1002, which answers with a 1 kHz tone.
    ok(&mut browser, "softphone.call('1002')");
    browser.wait_for("testState.callState === 'calling'", t);
    browser.wait_for("testState.callState === 'confirmed'", t);
    browser.wait_for("testState.inboundPackets > 25 && testState.outboundPackets > 25", t);
    browser.wait_for(
        "testState.remoteToneHz !== null && Math.abs(testState.remoteToneHz - 1000) <= 10",
        t,
    );
    ok(
        &mut browser,
        "document.getElementById('remote-audio').srcObject !== null",
    );

    // Hold and resume: each a re-INVITE the other side answers. Asked
    // back to back, the resume waits for the hold's re-INVITE.
    ok(&mut browser, "softphone.hold()");
    browser.wait_for("testState.callState === 'held'", t);
    ok(&mut browser, "peerSession.isOnHold().remote === true");
    ok(
        &mut browser,
        "document.getElementById('hold').getAttribute('aria-pressed') === 'true'",
    );
    ok(&mut browser, "softphone.unhold()");
    browser.wait_for("testState.callState === 'confirmed'", t);
    ok(&mut browser, "peerSession.isOnHold().remote === false");
    ok(&mut browser, "softphone.hold() && softphone.unhold()");
    browser.wait_for(
        "testState.log.filter(l => l === 'Call resumed').length === 2 && testState.callState === 'confirmed'",
        t,
    );

    // DTMF as RFC 4733 events: counted as the browser sends each tone.
    ok(&mut browser, "softphone.dtmf('12*#')");
    browser.wait_for("testState.dtmfSent === '12*#'", t);
    ok(
        &mut browser,
        "softphone.dtmf('x') === false && testState.dtmfSent === '12*#'",
    );

    ok(&mut browser, "softphone.hangup()");
    browser.wait_for("testState.callState === 'ended'", t);
    ok(
        &mut browser,
        "testState.cause === 'Terminated' && testState.endedBy === 'local'",
    );
    ok(&mut browser, "testState.remoteToneHz === null");

    // 1002 calls 1001, answered automatically; 1002 hangs up.
    browser.eval("document.getElementById('autoanswer').checked = true");
    browser.eval("peer.call('sip:1001@hub.test', {mediaStream: tone, pcConfig: {iceServers: []}}) && true");
    browser.wait_for("testState.log.includes('Call from 1002')", t);
    browser.wait_for("testState.callState === 'confirmed'", t);
    browser.wait_for(
        "testState.remoteToneHz !== null && Math.abs(testState.remoteToneHz - 1000) <= 10",
        t,
    );
    browser.eval("peerSession.terminate() && true");
    browser.wait_for("testState.callState === 'ended'", t);
    ok(
        &mut browser,
        "testState.endedBy === 'remote' && testState.log.includes('1002 hung up')",
    );

    // 1002 calls again; 1001 does not answer and 1002 gives up.
    browser.eval("document.getElementById('autoanswer').checked = false");
    browser.eval("peer.call('sip:1001@hub.test', {mediaStream: tone, pcConfig: {iceServers: []}}) && true");
    browser.wait_for("testState.callState === 'ringing'", t);
    ok(&mut browser, "document.getElementById('answer').disabled === false");
    browser.eval("peerSession.terminate() && true");
    browser.wait_for("testState.callState === 'failed'", t);
    ok(
        &mut browser,
        "testState.cause === 'Canceled' && testState.log.includes('Missed call from 1002')",
    );

    let log = browser.eval("JSON.stringify(hub.log)");
    let log = log.as_str().unwrap_or_default().to_string();
    for first in [
        "1001 > REGISTER ",
        "1001 > INVITE sip:1002@hub.test",
        "1001 > BYE ",
        "1002 > CANCEL ",
    ] {
        assert!(log.contains(first), "no `{first}` in the hub's log: {log}");
    }
    let console = browser.console().to_vec();
    let bad: Vec<&String> = console
        .iter()
        .filter(|l| l.starts_with("[exception]") || l.starts_with("[error]"))
        .collect();
    if !bad.is_empty() {
        browser.fail(&format!("the page's console has errors: {bad:?}"));
    }
}
