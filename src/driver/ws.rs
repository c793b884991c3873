//! SIP over WebSocket (RFC 7118; issue 12 item 1): the `ws_listen` and
//! `wss_listen` listeners of a profile, for browsers' SIP stacks (JsSIP,
//! SIP.js).
//!
//! * The handshake (RFC 6455 §4.2) must offer the `sip` subprotocol, and
//!   is answered `Sec-WebSocket-Protocol: sip` (RFC 7118 §4.1); one that
//!   does not gets HTTP 400. With `ws_origins` set, a handshake whose
//!   `Origin` is not listed gets 403 (RFC 6455 §10.2; a client that sends
//!   no `Origin` is not a browser and is let in). `wss` runs the TLS
//!   handshake first, with the profile's certificate; both handshakes
//!   together are bounded like the TLS one.
//! * One SIP message per WebSocket message, text or binary (RFC 7118
//!   §5.1): no Content-Length framing; the engine parses it like a UDP
//!   datagram, so a Content-Length larger than the body gets a 400.
//!   Messages and frames over the SIP parser's limit (64 KiB) close the
//!   connection with 1009 before they are read into memory. Our messages
//!   go out as text frames (binary when not UTF-8).
//! * The connection joins the connection table of TCP and TLS under
//!   (listener address, peer address), so responses, and requests to a
//!   phone registered over it, ride it (RFC 7118 §5: the `.invalid` hosts
//!   of the browser's Via and Contact are never resolved). When it is gone,
//!   a send fails the transaction as a failed TCP send does.
//! * A ping every [`PING_INTERVAL`]; a peer that has not answered (or sent
//!   anything) by the next one is dead and its connection is dropped.
//!   Pings from the peer are answered by tungstenite; a peer that reads
//!   nothing for 10 s while we write is dropped too. The TCP idle timeout
//!   does not apply (the browser's registration rides the connection
//!   between its re-REGISTERs), but a connection that sends no SIP message
//!   within `[sip] tcp_idle_timeout_s` of its handshake is closed.

use super::net::{queue, verdict, ConnCtx, ConnKey, TLS_HANDSHAKE};
use super::{DriverError, Event};
use crate::sip::msg::Limits;
use crate::sip::overload::Verdict;
use crate::sip::transaction::TransportKind;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// How often each WebSocket peer is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// The longest a write to a peer may wait for it to read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Read buffer of each connection (tungstenite's default is 128 KiB, eagerly
/// allocated: too much for thousands of idle browsers).
const READ_BUFFER: usize = 16 * 1024;
/// The subprotocol of RFC 7118 §4.1.
const SUBPROTOCOL: &str = "sip";

/// What a WebSocket listener checks at the handshake.
#[derive(Debug)]
pub(super) struct Policy {
    /// The profile, for logs.
    profile: String,
    /// `ws_origins` (lowercased); `None`: any origin.
    origins: Option<Vec<String>>,
    /// The SIP parser's limits: the most a message or frame may hold.
    limits: Limits,
}

/// Why a handshake was refused: the HTTP status and the reason in its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    /// 400 or 403.
    pub status: StatusCode,
    /// Said in the body and the log.
    pub reason: String,
}

impl Refusal {
    fn response(&self) -> ErrorResponse {
        let mut r = ErrorResponse::new(Some(self.reason.clone()));
        *r.status_mut() = self.status;
        r
    }
}

/// The checks of an upgrade request (RFC 7118 §4.1, RFC 6455 §10.2): its
/// `Origin`, when present and `origins` is set, must be listed; it must
/// offer the `sip` subprotocol.
pub(super) fn check_handshake(req: &Request, origins: Option<&[String]>) -> Result<(), Refusal> {
    if let (Some(allowed), Some(origin)) = (origins, req.headers().get(header::ORIGIN)) {
        let origin = origin.to_str().unwrap_or("").trim().trim_end_matches('/');
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
            return Err(Refusal {
                status: StatusCode::FORBIDDEN,
                reason: format!("origin {} is not in ws_origins", printable(origin)),
            });
        }
    }
    let offers_sip = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if !offers_sip {
        return Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            reason: "the WebSocket subprotocol \"sip\" (RFC 7118) is required".into(),
        });
    }
    Ok(())
}

/// At most 80 printable ASCII characters of `s`, for a log line.
fn printable(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// The SIP bytes of a received WebSocket message: a text or binary message
/// is one SIP message (RFC 7118 §5.1); control frames carry none.
pub(super) fn sip_payload(msg: Message) -> Option<Bytes> {
    match msg {
        Message::Text(t) => Some(Bytes::from(t)),
        Message::Binary(b) => Some(b),
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => None,
    }
}

/// The WebSocket message carrying one of our SIP messages: text, as browser
/// stacks expect, unless it is not UTF-8 (a body or a relayed header in
/// another charset), then binary (RFC 7118 §5.1 allows both).
fn frame_for(bytes: Bytes) -> Message {
    match Utf8Bytes::try_from(bytes.clone()) {
        Ok(text) => Message::Text(text),
        Err(_) => Message::Binary(bytes),
    }
}

/// The WebSocket limits: no message or frame over the SIP parser's limit
/// (tungstenite refuses it from the frame header, before reading it).
pub(super) fn ws_config(limits: &Limits) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(limits.max_message))
        .max_frame_size(Some(limits.max_message))
}

/// Binds the WebSocket listeners of `profile` and starts their acceptors;
/// `slot` is the profile's certificate (the config guarantees one when
/// there are wss listeners). Returns each bound address with its transport.
pub(super) async fn bind(
    profile: &crate::config::Profile,
    slot: Option<Arc<crate::tls::CertSlot>>,
    ctx: &ConnCtx,
) -> Result<Vec<(SocketAddr, TransportKind)>, DriverError> {
    let Some(ws) = &profile.ws else { return Ok(Vec::new()) };
    let policy = Arc::new(Policy {
        profile: profile.name.clone(),
        origins: ws.origins.clone(),
        limits: ctx.limits,
    });
    let mut bound = Vec::new();
    for (addr, secure) in ws.listeners() {
        let (kind, name) = if secure {
            (TransportKind::Wss, "wss")
        } else {
            (TransportKind::Ws, "ws")
        };
        let tls = match (secure, &slot) {
            (false, _) => None,
            (true, Some(slot)) => Some(tokio_rustls::TlsAcceptor::from(crate::tls::server_config(
                slot.clone(),
                &[b"http/1.1"],
            )?)),
            (true, None) => {
                return Err(DriverError::Tls(crate::tls::TlsError::Config(format!(
                    "profile `{}`: wss_listen without a certificate",
                    profile.name
                ))))
            }
        };
        let l = TcpListener::bind(addr).await.map_err(|e| DriverError::Bind {
            addr,
            transport: name,
            source: e,
        })?;
        tokio::spawn(acceptor(l, addr, kind, ctx.clone(), tls, policy.clone()));
        tracing::info!(
            profile = %profile.name,
            %addr,
            origins = ws.origins.as_ref().map_or(0, Vec::len),
            "listening on {name}"
        );
        bound.push((addr, kind));
    }
    Ok(bound)
}

/// Accepts connections on a ws or wss listener; each handshake runs in its
/// own task.
async fn acceptor(
    l: TcpListener,
    local: SocketAddr,
    kind: TransportKind,
    ctx: ConnCtx,
    tls: Option<tokio_rustls::TlsAcceptor>,
    policy: Arc<Policy>,
) {
    loop {
        let Ok((stream, peer)) = l.accept().await else { continue };
        if ctx.conns.len() >= super::net::MAX_TCP_CONNECTIONS {
            continue; // dropped: the connection limit protects the engine
        }
        let _ = stream.set_nodelay(true);
        let (ctx, tls, policy) = (ctx.clone(), tls.clone(), policy.clone());
        tokio::spawn(async move {
            let conn = Conn {
                key: (local, peer),
                kind,
                ctx,
                policy,
            };
            conn.accept(stream, tls).await;
        });
    }
}

/// One accepted connection on its way to serving SIP.
struct Conn {
    key: ConnKey,
    kind: TransportKind,
    ctx: ConnCtx,
    policy: Arc<Policy>,
}

impl Conn {
    /// The TLS handshake (wss), then the WebSocket one, together within
    /// [`TLS_HANDSHAKE`]; then serves the connection.
    async fn accept(self, stream: TcpStream, tls: Option<tokio_rustls::TlsAcceptor>) {
        let deadline = tokio::time::Instant::now() + TLS_HANDSHAKE;
        let peer = self.key.1;
        match tls {
            None => self.upgrade(stream, deadline).await,
            Some(acceptor) => match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => self.upgrade(tls, deadline).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "SIP WSS: TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "SIP WSS: TLS handshake timed out"),
            },
        }
    }

    /// The WebSocket handshake with the checks of [`check_handshake`].
    async fn upgrade<S>(self, stream: S, deadline: tokio::time::Instant)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let peer = self.key.1;
        let mut refused: Option<Refusal> = None;
        let policy = self.policy.clone();
        // tungstenite's callback signature: its error is the HTTP answer.
        #[allow(clippy::result_large_err)]
        let callback = |req: &Request, mut resp: Response| match check_handshake(req, policy.origins.as_deref()) {
            Ok(()) => {
                resp.headers_mut()
                    .insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(SUBPROTOCOL));
                Ok(resp)
            }
            Err(r) => {
                let answer = r.response();
                refused = Some(r);
                Err(answer)
            }
        };
        let config = ws_config(&policy.limits);
        let handshake = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
        let outcome = tokio::time::timeout_at(deadline, handshake).await;
        match outcome {
            Ok(Ok(ws)) => self.serve(ws).await,
            Ok(Err(e)) => match refused {
                Some(r) => tracing::debug!(
                    %peer,
                    profile = %policy.profile,
                    status = r.status.as_u16(),
                    reason = %r.reason,
                    "SIP WebSocket handshake refused"
                ),
                None => tracing::debug!(%peer, error = %e, "SIP WebSocket handshake failed"),
            },
            Err(_) => tracing::debug!(%peer, "SIP WebSocket handshake timed out"),
        }
    }

    /// Serves SIP on an open WebSocket until it closes, fails, or its peer
    /// stops answering pings.
    async fn serve<S>(self, mut ws: WebSocketStream<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let Conn { key, kind, ctx, policy } = self;
        let (local, peer) = key;
        let (wtx, mut out) = mpsc::channel::<Bytes>(crate::bounded::TCP_WRITE.capacity());
        ctx.conns.insert(key, wtx);
        tracing::debug!(%peer, %local, profile = %policy.profile, "SIP WebSocket connection open");
        let start = tokio::time::Instant::now();
        let mut ping = tokio::time::interval_at(start + PING_INTERVAL, PING_INTERVAL);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Anything heard from the peer since the last ping.
        let mut heard = true;
        // A connection must bring a SIP message by then.
        let mut first_due = Some(start + ctx.idle);
        let why: String = loop {
            let silent = async {
                match first_due {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                m = ws.next() => {
                    let msg = match m {
                        None => break "closed".into(),
                        Some(Ok(msg)) => msg,
                        Some(Err(WsError::Capacity(e))) => {
                            let close = CloseFrame {
                                code: CloseCode::Size,
                                reason: Utf8Bytes::from_static("SIP message over the size limit"),
                            };
                            let _ = write(&mut ws, Message::Close(Some(close))).await;
                            break format!("refused: {e}");
                        }
                        Some(Err(e)) => break format!("error: {e}"),
                    };
                    heard = true;
                    let Some(data) = sip_payload(msg) else { continue };
                    first_due = None;
                    match verdict(&ctx.gate, &ctx.events, &data, peer) {
                        Verdict::Admit => {
                            let ev = Event::Packet { local, peer, transport: kind, data };
                            if !queue(&ctx.events, ev).await {
                                break "the switch is stopping".into();
                            }
                        }
                        Verdict::Shed { response, .. } => {
                            if let Err(e) = write(&mut ws, frame_for(response)).await {
                                break e;
                            }
                        }
                        Verdict::Drop => {}
                    }
                }
                msg = out.recv() => {
                    let Some(bytes) = msg else { break "replaced".into() };
                    if let Err(e) = write(&mut ws, frame_for(bytes)).await {
                        break e;
                    }
                }
                _ = ping.tick() => {
                    if !heard {
                        break format!("no answer to a ping in {} s", PING_INTERVAL.as_secs());
                    }
                    heard = false;
                    if let Err(e) = write(&mut ws, Message::Ping(Bytes::new())).await {
                        break e;
                    }
                }
                _ = silent => {
                    break format!("no SIP message within {} s", ctx.idle.as_secs());
                }
            }
        };
        ctx.conns.remove(&key);
        tracing::debug!(%peer, %local, profile = %policy.profile, reason = %why, "SIP WebSocket connection closed");
    }
}

/// Writes and flushes `msg`, within [`WRITE_TIMEOUT`]: a peer that stops
/// reading must not hold its connection task (and its pings) forever.
async fn write<S>(ws: &mut WebSocketStream<S>, msg: Message) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(WRITE_TIMEOUT, ws.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("write failed: {e}")),
        Err(_) => Err(format!("the peer read nothing for {} s", WRITE_TIMEOUT.as_secs())),
    }
}

#[cfg(feature = "fuzzing")]
/// Fuzzing entry point for WebSocket input (DESIGN.md convention 8; the
/// hardening issue's "WebSocket frames"): RFC 6455 frames and handshakes
/// as the listener reads them, then RFC 3261 §7 for the SIP they carry.
pub mod fuzz {
    use super::*;
    use std::io::{Cursor, Read, Write};
    use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket};

    /// Reads from the fuzzer's bytes, writes to nowhere.
    struct Peer(Cursor<Vec<u8>>);

    impl Read for Peer {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for Peer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `data[0]` even: the rest is a client's frame stream on an open
    /// connection with the listener's limits; every message it yields is
    /// turned into SIP bytes and parsed as the engine parses them (the
    /// datagram parser), envelope and print included. Odd: the rest is an
    /// upgrade request, checked as the listener checks it (with an origin
    /// list when `data[0] & 2`). Never panics; a refused handshake never
    /// yields a connection, and no message exceeds the limit.
    pub fn ws_frame(data: &[u8]) {
        let Some((&selector, rest)) = data.split_first() else {
            return;
        };
        let limits = Limits::default();
        if selector & 1 == 0 {
            let mut ws =
                WebSocket::from_raw_socket(Peer(Cursor::new(rest.to_vec())), Role::Server, Some(ws_config(&limits)));
            while let Ok(msg) = ws.read() {
                let Some(bytes) = sip_payload(msg) else { continue };
                assert!(bytes.len() <= limits.max_message, "a message over the limit was read");
                crate::sip::msg::fuzz::datagram(&bytes);
            }
            return;
        }
        let origins = ["https://desk.example.com".to_string()];
        let origins = (selector & 2 != 0).then_some(&origins[..]);
        let mut verdict = None;
        #[allow(clippy::result_large_err)]
        let callback = |req: &Request, resp: Response| match check_handshake(req, origins) {
            Ok(()) => {
                verdict = Some(true);
                Ok(resp)
            }
            Err(r) => {
                verdict = Some(false);
                Err(r.response())
            }
        };
        let accepted = tokio_tungstenite::tungstenite::accept_hdr_with_config(
            Peer(Cursor::new(rest.to_vec())),
            callback,
            Some(ws_config(&limits)),
        )
        .is_ok();
        assert!(!accepted || verdict == Some(true), "a refused handshake was accepted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method("GET").uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("a request")
    }

    #[test]
    fn the_sip_subprotocol_is_required() {
        assert!(check_handshake(&request(&[("Sec-WebSocket-Protocol", "sip")]), None).is_ok());
        assert!(check_handshake(&request(&[("Sec-WebSocket-Protocol", "chat, sip")]), None).is_ok());
        for offered in [
            &[][..],
            &[("Sec-WebSocket-Protocol", "chat")][..],
            &[("Sec-WebSocket-Protocol", "sips")][..],
        ] {
            let r = check_handshake(&request(offered), None).expect_err("refused");
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn origins_when_listed_must_match_and_a_client_without_origin_is_let_in() {
        let allowed = vec!["https://desk.example.com".to_string()];
        let sip = ("Sec-WebSocket-Protocol", "sip");
        let ok = request(&[sip, ("Origin", "https://Desk.Example.com")]);
        assert!(check_handshake(&ok, Some(&allowed)).is_ok());
        let evil = request(&[sip, ("Origin", "https://evil.example")]);
        let r = check_handshake(&evil, Some(&allowed)).expect_err("refused");
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.reason.contains("https://evil.example"), "{}", r.reason);
        assert!(check_handshake(&evil, None).is_ok(), "no ws_origins: any origin");
        assert!(check_handshake(&request(&[sip]), Some(&allowed)).is_ok());
    }

    #[test]
    fn messages_carry_sip_both_ways() {
        assert_eq!(
            sip_payload(Message::text("OPTIONS")),
            Some(Bytes::from_static(b"OPTIONS"))
        );
        assert_eq!(
            sip_payload(Message::binary(vec![1, 2])),
            Some(Bytes::from_static(&[1, 2]))
        );
        assert_eq!(sip_payload(Message::Ping(Bytes::new())), None);
        assert!(matches!(
            frame_for(Bytes::from_static(b"SIP/2.0 200 OK\r\n")),
            Message::Text(_)
        ));
        assert!(matches!(frame_for(Bytes::from_static(b"\xff\xfe")), Message::Binary(_)));
    }
}
