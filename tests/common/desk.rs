//! Clients for the desktop API tests (issue 4 items 4 and 5): raw HTTP/1.1
//! requests with headers and a body over a real loopback socket, and
//! WebSocket event streams through `tungstenite` (the version axum uses).
//!
//! The tokens are those of `sip-profiles/acd.toml` (the embedded config).

use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

/// Alice's desktop token (agent `alice`, extension 1001).
pub const ALICE: &str = "demo-token-alice";
/// Bob's desktop token (agent `bob`, extension 1002).
pub const BOB: &str = "demo-token-bob-0";
/// Carol's desktop token (agent `carol`, extension 1003).
pub const CAROL: &str = "demo-token-carol";
/// Supervisor `sam`'s token.
pub const SAM: &str = "demo-token-sam-supervisor";
/// The demo admin token of `[api] admin_tokens` (control endpoints).
pub const ADMIN: &str = "demo-token-admin";

/// How long one HTTP exchange may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as JSON; panics with the response when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to `addr` with extra `headers` and an optional body.
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> HttpResponse {
    let mut s = TcpStream::connect(addr).expect("connect to the API");
    s.set_read_timeout(Some(HTTP_TIMEOUT)).expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write the head");
    if let Some(b) = body {
        // The server may answer (413) and close before reading it all.
        if let Err(e) = s.write_all(b) {
            assert!(
                matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                "write the body: {e}"
            );
        }
    }
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after the whole response arrived (unread body bytes).
            Err(e) if e.kind() == ErrorKind::ConnectionReset && complete(&raw) => break,
            Err(e) => panic!("read the response to {method} {path}: {e} (so far: {raw:?})"),
        }
    }
    parse_response(&raw).unwrap_or_else(|| panic!("bad HTTP response: {}", String::from_utf8_lossy(&raw)))
}

/// A request with the demo admin token, as a well-behaved operator's tool
/// makes it: a 429 is waited out (its `Retry-After`) and retried, so tests
/// that poll `/calls` or `/trunks` in a loop are not cut off by the
/// per-token rate limit (e2e_api_security tests the limit itself).
pub fn admin_http(addr: SocketAddr, method: &str, path: &str, body: Option<&[u8]>) -> HttpResponse {
    let auth = format!("Bearer {ADMIN}");
    let mut tries = 0;
    loop {
        let r = http(addr, method, path, &[("Authorization", &auth)], body);
        tries += 1;
        if r.status != 429 || tries >= 10 {
            return r;
        }
        let wait = r.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or(1);
        std::thread::sleep(Duration::from_secs(wait));
    }
}

/// True once `raw` holds a head and a Content-Length body.
fn complete(raw: &[u8]) -> bool {
    parse_response(raw).is_some_and(|r| {
        r.header("content-length")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| r.body.len() >= n)
    })
}

fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(HttpResponse { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A desktop: requests with `Authorization: Bearer <token>`.
pub struct Desk {
    addr: SocketAddr,
    token: String,
}

impl Desk {
    /// A desktop of the API at `addr` using `token`.
    pub fn new(addr: SocketAddr, token: &str) -> Desk {
        Desk {
            addr,
            token: token.to_string(),
        }
    }

    /// One request with the token and an optional JSON body: (status, JSON).
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        let r = http(
            self.addr,
            method,
            path,
            &[("Authorization", &auth)],
            body.map(str::as_bytes),
        );
        (r.status, r.json())
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None)
    }

    /// `POST path` with an optional body.
    pub fn post(&self, path: &str, body: Option<&str>) -> (u16, Value) {
        self.call("POST", path, body)
    }

    /// `PUT path` with a body.
    pub fn put(&self, path: &str, body: &str) -> (u16, Value) {
        self.call("PUT", path, Some(body))
    }

    /// `call`, asserting 200.
    pub fn ok(&self, method: &str, path: &str, body: Option<&str>) -> Value {
        let (status, json) = self.call(method, path, body);
        assert_eq!(status, 200, "{method} {path}: {json}");
        json
    }
}

/// How an event stream presents its token.
#[derive(Clone, Copy, Debug)]
pub enum WsAuth<'a> {
    /// No token.
    None,
    /// `Authorization: Bearer <token>`.
    Header(&'a str),
    /// `?token=<token>` (browsers).
    Query(&'a str),
}

/// An open event stream.
pub type Stream = WebSocket<TcpStream>;

/// Opens the WebSocket `path` (`/agent/events`, `/supervisor/events`).
/// On a refused upgrade, the error holds the HTTP status and body.
pub fn ws_connect(addr: SocketAddr, path: &str, auth: WsAuth<'_>) -> Result<Stream, (u16, Value)> {
    let url = match auth {
        WsAuth::Query(t) => format!("ws://{addr}{path}?token={t}"),
        _ => format!("ws://{addr}{path}"),
    };
    let mut req = url.into_client_request().expect("a WebSocket request");
    if let WsAuth::Header(t) = auth {
        let value = HeaderValue::from_str(&format!("Bearer {t}")).expect("a header value");
        req.headers_mut().insert("Authorization", value);
    }
    let tcp = TcpStream::connect(addr).expect("connect to the API");
    tcp.set_read_timeout(Some(HTTP_TIMEOUT)).expect("timeout");
    match tungstenite::client(req, tcp) {
        Ok((ws, resp)) => {
            assert_eq!(resp.status().as_u16(), 101);
            Ok(ws)
        }
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            let status = resp.status().as_u16();
            let body = resp.body().clone().unwrap_or_default();
            let json = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("refusal not JSON ({e}): {status} {}", String::from_utf8_lossy(&body)));
            Err((status, json))
        }
        Err(e) => panic!("WebSocket handshake to {path}: {e}"),
    }
}

/// The next JSON text frame within `timeout` (`None` on timeout or close).
pub fn ws_next(ws: &mut Stream, timeout: Duration) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        ws.get_mut()
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("timeout");
        match ws.read() {
            Ok(Message::Text(t)) => {
                return Some(serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("frame not JSON ({e}): {t}")))
            }
            Ok(Message::Close(_)) => return None,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            Err(_) => return None,
        }
    }
}

/// Reads frames until one satisfies `pred` (within `timeout`), returning it.
pub fn ws_wait_for(ws: &mut Stream, timeout: Duration, mut pred: impl FnMut(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let v = ws_next(ws, left)?;
        if pred(&v) {
            return Some(v);
        }
    }
}

/// Closes the stream cleanly: sends a close frame and reads until the
/// server's close reply ends the stream. True when it did.
pub fn ws_close(mut ws: Stream) -> bool {
    if ws.close(None).is_err() {
        return false;
    }
    let deadline = Instant::now() + HTTP_TIMEOUT;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => return true,
            Err(_) => return false,
        }
    }
    false
}
