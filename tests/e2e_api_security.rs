//! Issue 11 item 5: the HTTP API secured, tested against the real binary
//! over loopback sockets: every endpoint needs a token and the control
//! endpoints an admin one; admin tokens from the environment or hashed in
//! the config, rotated by SIGHUP; HTTPS and WSS with the configured
//! certificate (reloaded on SIGHUP); foreign page origins refused; limits
//! per token on requests, WebSocket messages and streams; silent
//! connections dropped; an address guessing tokens refused for a minute.

mod common;

use common::desk::*;
use common::*;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// `(status, JSON body)` of `method path` with `Authorization: Bearer token`.
fn call(api: SocketAddr, method: &str, path: &str, token: Option<&str>) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    http(api, method, path, &headers, None)
}

/// The error kind and message of a JSON error body.
fn error_of(r: &HttpResponse) -> (String, String) {
    let v = r.json();
    (
        v["error"].as_str().unwrap_or_default().to_string(),
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// A served route with sample values for its `{param}`s.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route of the OpenAPI document (the list the router serves)
/// refuses a request without a token, or with an unknown one, with 401
/// JSON; the control endpoints refuse agents' and supervisors' tokens with
/// 403; `/healthz` takes any known token; an admin token cannot act as an
/// agent. Last, an address that presented 30 unknown tokens gets 429 with
/// `Retry-After`, whatever it presents, for the rest of the minute.
#[test]
fn every_endpoint_needs_a_token_and_the_control_endpoints_an_admin_one() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let routes = switchboard::api::routes();
    assert!(routes.len() > 20, "the route list: {routes:?}");
    for (method, path) in &routes {
        let path = concrete(path);
        let r = call(api, &method.to_uppercase(), &path, None);
        assert_eq!(r.status, 401, "{method} {path} without a token: {}", r.text());
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{method} {path}");
        assert_eq!(error_of(&r).0, "unauthorized", "{method} {path}");
    }
    for path in ["/calls", "/calls/1", "/trunks", "/metrics"] {
        let r = call(api, "GET", path, Some(ALICE));
        let (kind, message) = error_of(&r);
        assert_eq!((r.status, kind.as_str()), (403, "forbidden"), "{path}: {message}");
        assert!(
            message.contains("agent `alice`") && message.contains("admin token"),
            "{message}"
        );
        assert_eq!(call(api, "GET", path, Some(SAM)).status, 403, "{path} as supervisor");
    }
    let r = call(api, "GET", "/calls", Some(ADMIN));
    assert_eq!((r.status, r.json()["calls"].is_array()), (200, true), "{}", r.text());
    assert_eq!(call(api, "GET", "/trunks", Some(ADMIN)).status, 200);
    assert_eq!(call(api, "GET", "/metrics", Some(ADMIN)).status, 200);
    assert_eq!(call(api, "GET", "/healthz", Some(ALICE)).json()["status"], "ok");
    assert_eq!(call(api, "GET", "/openapi.yaml", Some(SAM)).status, 200);
    let r = call(api, "GET", "/agent/me", Some(ADMIN));
    assert_eq!(r.status, 403, "{}", r.text());
    // An agent's stream with an admin token: 403 too.
    let refused = ws_connect(api, "/agent/events", WsAuth::Query(ADMIN)).err();
    assert_eq!(refused.map(|(s, _)| s), Some(403));

    // Guessing: 30 unknown tokens from 127.0.0.1 within the minute...
    for i in 0..30 {
        let r = call(api, "GET", "/calls", Some(&format!("guess-{i:04}-0123456789")));
        assert_eq!(r.status, 401, "guess {i}: {}", r.text());
    }
    // ...and the address is refused, even with a good token.
    for token in ["guess-0031-0123456789", ADMIN] {
        let r = call(api, "GET", "/calls", Some(token));
        assert_eq!(r.status, 429, "{}", r.text());
        assert_eq!(error_of(&r).0, "rate_limited");
        let retry: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
    assert!(sw.log().contains("API request with an unknown token"), "logged");
}

/// Admin tokens from the environment (`env:VAR`) and hashed in the config
/// (`sha256:…`, as `switchboard hash-token` prints it) open the control
/// endpoints; the demo token no longer does; a SIGHUP with a new list
/// rotates them without a restart.
#[test]
fn admin_tokens_from_the_environment_or_hashed_and_rotated_by_sighup() {
    let hashed = hash_token("hashed-admin-token-0001");
    let cfg = ConfigDir::from_default();
    cfg.patch(
        "switchboard.toml",
        "admin_tokens = [\"demo-token-admin\"]",
        &format!("admin_tokens = [\"env:SB_E2E_ADMIN\", \"{hashed}\"]"),
    );
    assert!(
        !std::fs::read_to_string(cfg.path().join("switchboard.toml"))
            .expect("read")
            .contains("hashed-admin-token-0001"),
        "the config holds only the digest"
    );
    let sw = Switch::builder()
        .config(cfg.path())
        .env("SB_E2E_ADMIN", "env-admin-token-0001")
        .start();
    let api = sw.api_addr();
    for token in ["env-admin-token-0001", "hashed-admin-token-0001"] {
        assert_eq!(call(api, "GET", "/calls", Some(token)).status, 200, "{token}");
    }
    assert_eq!(call(api, "GET", "/calls", Some(ADMIN)).status, 401);

    cfg.patch(
        "switchboard.toml",
        &format!("admin_tokens = [\"env:SB_E2E_ADMIN\", \"{hashed}\"]"),
        "admin_tokens = [\"rotated-admin-token-01\"]",
    );
    sw.reload();
    assert!(
        wait_until(Duration::from_secs(10), || call(
            api,
            "GET",
            "/calls",
            Some("rotated-admin-token-01")
        )
        .status
            == 200),
        "the rotated token works after SIGHUP: {}",
        sw.log()
    );
    assert_eq!(call(api, "GET", "/calls", Some("hashed-admin-token-0001")).status, 401);
    // Agents' tokens are untouched by the rotation.
    assert_eq!(call(api, "GET", "/agent/me", Some(ALICE)).status, 200);
}

/// `switchboard hash-token` on `token`.
fn hash_token(token: &str) -> String {
    let mut child = std::process::Command::new(switch_binary())
        .arg("hash-token")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run hash-token");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{token}\n").as_bytes())
        .expect("write the token");
    let out = child.wait_with_output().expect("hash-token output");
    assert!(out.status.success(), "hash-token failed");
    let text = String::from_utf8(out.stdout).expect("UTF-8").trim().to_string();
    assert!(text.starts_with("sha256:") && text.len() == 71, "{text}");
    text
}

/// A fresh self-signed pair for `localhost` written to `dir`; the DER of
/// the certificate.
fn write_cert(dir: &Path) -> Vec<u8> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("cert");
    // Written to temp names, then renamed: the switch never reads half a file.
    std::fs::write(dir.join("api.pem.tmp"), ck.cert.pem()).expect("cert");
    std::fs::write(dir.join("api.key.tmp"), ck.signing_key.serialize_pem()).expect("key");
    std::fs::rename(dir.join("api.pem.tmp"), dir.join("api.pem")).expect("rename");
    std::fs::rename(dir.join("api.key.tmp"), dir.join("api.key")).expect("rename");
    ck.cert.der().to_vec()
}

/// A TLS connection to `api` trusting only `cert`; the certificate the
/// server presented.
fn tls_connect(api: SocketAddr, cert: &[u8]) -> (rustls::StreamOwned<rustls::ClientConnection, TcpStream>, Vec<u8>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(cert.to_vec())).expect("root");
    let cfg = rustls::ClientConfig::builder_with_provider(switchboard::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).expect("client");
    let tcp = TcpStream::connect(api).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
    }
    let presented = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .expect("a certificate");
    (tls, presented)
}

/// Sends `head` over TLS and reads the response until the server closes.
fn tls_exchange(api: SocketAddr, cert: &[u8], head: &str) -> String {
    let (mut tls, _) = tls_connect(api, cert);
    tls.write_all(head.as_bytes()).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                // An upgrade (or an answer to one) keeps the connection:
                // stop at the end of the response.
                if response_complete(&out) {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("TLS read: {e} (so far {})", String::from_utf8_lossy(&out)),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True once `raw` holds a whole response: a 101 head, or a head and its
/// Content-Length body.
fn response_complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    if head.starts_with("http/1.1 101") {
        return true;
    }
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    len.is_some_and(|n| raw.len() >= end + 4 + n)
}

fn upgrade_head(api: SocketAddr, path: &str, origin: Option<&str>) -> String {
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    format!(
        "GET {path} HTTP/1.1\r\nHost: {api}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{origin}\r\n"
    )
}

/// With `tls_certificate` and `tls_key`, the API speaks HTTPS and WSS only
/// (TLS 1.2/1.3 with the configured certificate); a plain HTTP request gets
/// no HTTP answer; a page from a foreign origin cannot open an event
/// stream, an allowed one can; a SIGHUP after the files were replaced
/// presents the new certificate to new connections.
#[test]
fn the_api_speaks_https_and_wss_with_the_configured_certificate() {
    let cfg = ConfigDir::from_default();
    let first = write_cert(cfg.path());
    cfg.patch(
        "switchboard.toml",
        "# tls_certificate = \"tls/api.pem\"\n# tls_key = \"tls/api.key\"",
        "tls_certificate = \"api.pem\"\ntls_key = \"api.key\"",
    );
    cfg.patch(
        "switchboard.toml",
        "allowed_origins = []",
        "allowed_origins = [\"https://desk.example.com\"]",
    );
    let sw = Switch::builder().config(cfg.path()).start();
    let api = sw.api_addr();
    assert!(sw.log().contains("scheme=\"https\""), "{}", sw.log());

    let get = |token: &str| {
        format!("GET /calls HTTP/1.1\r\nHost: {api}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
    };
    let answer = tls_exchange(api, &first, &get(ADMIN));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"calls\":[]"), "{answer}");
    let answer = tls_exchange(api, &first, &get("not-a-known-token-0000"));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    // Plain HTTP to the TLS port: the handshake fails, nothing HTTP comes back.
    let mut plain = TcpStream::connect(api).expect("connect");
    plain.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    plain.write_all(get(ADMIN).as_bytes()).expect("write");
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "plain HTTP answered: {}",
        String::from_utf8_lossy(&got)
    );

    // WSS: alice's stream; a foreign page's origin is refused, the allowed
    // desk page's accepted.
    let path = format!("/agent/events?token={ALICE}");
    let answer = tls_exchange(api, &first, &upgrade_head(api, &path, None));
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    let answer = tls_exchange(api, &first, &upgrade_head(api, &path, Some("https://evil.example")));
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("allowed_origins"), "{answer}");
    let answer = tls_exchange(api, &first, &upgrade_head(api, &path, Some("https://desk.example.com")));
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");

    // New files and SIGHUP: new connections get the new certificate.
    let second = write_cert(cfg.path());
    assert_ne!(first, second);
    sw.reload();
    assert!(
        sw.wait_for_log("API certificate reloaded", Duration::from_secs(10)),
        "{}",
        sw.log()
    );
    let (_, presented) = tls_connect(api, &second);
    assert_eq!(presented, second);
}

/// Per token: 1 request a second (bursts of 2) leaves some of 10 quick
/// requests refused with 429 naming the agent, while another agent is
/// served; 1 event stream at a time (the place frees when it closes);
/// WebSocket messages count against the rate and a flood closes the
/// stream with 1008. A client that sends nothing loses its connection
/// after the header timeout, so two silent clients cannot hold
/// `max_connections = 2` for long.
#[test]
fn limits_per_token_and_connections() {
    let cfg = ConfigDir::from_default();
    cfg.patch(
        "switchboard.toml",
        "max_requests_per_second = 20",
        "max_requests_per_second = 1",
    );
    cfg.patch(
        "switchboard.toml",
        "max_streams_per_token = 4",
        "max_streams_per_token = 1",
    );
    cfg.patch("switchboard.toml", "max_connections = 1024", "max_connections = 2");
    let sw = Switch::builder().config(cfg.path()).start();
    let api = sw.api_addr();

    let statuses: Vec<HttpResponse> = (0..10).map(|_| call(api, "GET", "/agent/me", Some(ALICE))).collect();
    let limited: Vec<&HttpResponse> = statuses.iter().filter(|r| r.status == 429).collect();
    assert!(
        !limited.is_empty(),
        "10 quick requests at 1/s: {:?}",
        statuses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(statuses.iter().all(|r| r.status == 200 || r.status == 429));
    let (kind, message) = error_of(limited[0]);
    assert_eq!(kind, "rate_limited");
    assert!(message.contains("agent `alice`"), "{message}");
    assert_eq!(limited[0].header("retry-after"), Some("1"));
    assert_eq!(
        call(api, "GET", "/agent/me", Some(BOB)).status,
        200,
        "bob is not slowed by alice"
    );

    // One stream per token.
    let first = ws_connect(api, "/supervisor/events", WsAuth::Header(SAM)).expect("first stream");
    let refused = wait_for_refusal(api);
    assert!(
        refused.1["message"]
            .as_str()
            .unwrap_or("")
            .contains("event streams open"),
        "{}",
        refused.1
    );
    assert!(ws_close(first));
    assert!(
        wait_until(Duration::from_secs(10), || ws_connect(
            api,
            "/supervisor/events",
            WsAuth::Header(SAM)
        )
        .is_ok()),
        "the place frees when the stream closes"
    );

    // A flood of client messages closes carol's stream with 1008.
    let mut ws = ws_connect(api, "/agent/events", WsAuth::Header(CAROL)).expect("carol's stream");
    for i in 0..10 {
        if ws
            .send(tungstenite::Message::Text(format!("hello {i}").into()))
            .is_err()
        {
            break;
        }
    }
    let mut code = None;
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    for _ in 0..50 {
        match ws.read() {
            Ok(tungstenite::Message::Close(Some(f))) => {
                code = Some(u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(code, Some(1008), "closed for policy");
    drop(ws);

    // Two silent connections fill max_connections = 2; a third client is
    // served once the header timeout has dropped them.
    let silent: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(api).expect("connect")).collect();
    let mut third = TcpStream::connect(api).expect("connect (backlog)");
    third.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    third
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {api}\r\nAuthorization: Bearer {BOB}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .expect("write");
    let mut answer = String::new();
    let _ = third.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "served after the silent ones were dropped: {answer:?}"
    );
    for mut s in silent {
        let mut buf = [0u8; 16];
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        assert!(
            matches!(s.read(&mut buf), Ok(0) | Err(_)),
            "a silent connection was closed"
        );
    }
}

/// Sam's second stream, retried while the refusal is the rate limit (the
/// upgrade requests count against sam's 1 request a second); the
/// stream-count refusal.
fn wait_for_refusal(api: SocketAddr) -> (u16, Value) {
    for _ in 0..20 {
        match ws_connect(api, "/supervisor/events", WsAuth::Header(SAM)) {
            Ok(_) => panic!("a second stream for one token"),
            Err((429, v)) if v["message"].as_str().unwrap_or("").contains("requests a second") => {
                std::thread::sleep(Duration::from_millis(600));
            }
            Err(other) => return other,
        }
    }
    panic!("sam's second stream was never refused for its count");
}

/// Issue 13 item 4 (first step): `GET /metrics` on the running switch, as
/// Prometheus scrapes it with the admin token: the text format 0.0.4 with
/// the live numbers (a phone's registration, and its REGISTERs and their
/// answers by class), or OpenMetrics when
/// the scraper asks for it.
#[test]
fn metrics_are_scraped_in_the_prometheus_text_format_with_live_values() {
    use switchboard::sip::msg::StatusCode;
    let sw = Switch::start();
    let api = sw.api_addr();
    let mut phone = common::ua::Ua::udp(sw.internal_addr());
    assert_eq!(phone.register("1001", "demo-1001"), StatusCode::OK);
    let r = call(api, "GET", "/metrics", Some(ADMIN));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let body = r.text();
    for line in [
        "# TYPE switchboard_registrations gauge",
        "switchboard_registrations 1",
        "switchboard_calls_active 0",
        "# TYPE switchboard_calls_started_total counter",
        "switchboard_calls_started_total 0",
        "switchboard_media_sessions 0",
        // The phone's REGISTER, challenged, then registered.
        "switchboard_sip_requests_total{direction=\"in\",method=\"REGISTER\"} 2",
        "switchboard_sip_responses_total{direction=\"out\",method=\"REGISTER\",class=\"4xx\"} 1",
        "switchboard_sip_responses_total{direction=\"out\",method=\"REGISTER\",class=\"2xx\"} 1",
        // The embedded acd.toml: two queues, nobody waiting; three agents
        // logged out.
        "switchboard_queue_waiting{queue=\"support\"} 0",
        "switchboard_queue_waiting{queue=\"sales\"} 0",
        "switchboard_queue_longest_wait_seconds{queue=\"support\"} 0.0",
        "switchboard_agents{state=\"LoggedOut\"} 3",
        "switchboard_agents{state=\"Available\"} 0",
    ] {
        assert!(body.lines().any(|l| l == line), "{line} in\n{body}");
    }
    let auth = format!("Bearer {ADMIN}");
    let om = http(
        api,
        "GET",
        "/metrics",
        &[
            ("Authorization", auth.as_str()),
            (
                "Accept",
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            ),
        ],
        None,
    );
    assert_eq!(om.status, 200);
    assert!(
        om.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        om.header("content-type")
    );
    assert_eq!(om.text().lines().last(), Some("# EOF"));
}
