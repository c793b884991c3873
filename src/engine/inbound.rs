//! From bytes to the right handler: framing and validation (400/505 with a
//! reason naming the fault, RFC 3261 §8.2, §21.4.1), Via `received`/`rport`
//! (§18.2.1, RFC 3581 §4), transaction matching (§17), screening, then
//! REGISTER, OPTIONS, INVITE, CANCEL, ACK and in-dialog requests.

use super::screen::{screen, ALLOW};
use super::{Engine, Now};
use crate::sip::msg::typed::Via;
use crate::sip::msg::{parse_datagram, parse_message, HeaderName, Message, Method, ParseError, StatusCode};
use crate::sip::transaction::{Destination, Incoming};
use bytes::Bytes;

impl Engine {
    pub(crate) fn on_packet(&mut self, now: Now, src: Destination, data: Bytes) {
        if data.iter().all(|c| c.is_ascii_whitespace()) {
            return; // CRLF keep-alive (RFC 5626 §3.5.1)
        }
        // An ACK is never answered (§17.1.1.3, §17.2.1), malformed or not.
        let is_ack = data.starts_with(b"ACK ");
        // A stream message arrives framed by its Content-Length; a datagram
        // and a WebSocket message (RFC 7118 §5.1: one SIP message per
        // WebSocket message) are whole, so their Content-Length is checked
        // against the body like UDP's.
        let parsed = if src.transport.is_reliable() && !is_websocket(src.transport) {
            parse_message(data, &self.limits, true)
        } else {
            parse_datagram(data, &self.limits)
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(bad) => {
                if is_ack {
                    tracing::debug!(peer = %src.addr, error = %bad.error, "dropped malformed ACK");
                } else if let Some(headers) = bad.headers {
                    self.reply_malformed(src, headers, &bad.error);
                } else {
                    tracing::debug!(peer = %src.addr, error = %bad.error, "dropped unparseable message");
                }
                return;
            }
        };
        let env = match msg.envelope() {
            Ok(e) => e,
            Err(e) => {
                if is_ack {
                    tracing::debug!(peer = %src.addr, error = %e, "dropped malformed ACK");
                } else if msg.method().is_some_and(|m| !m.is_known()) {
                    // RFC 4475 mismatch02: an unknown method is answered 501
                    // (with Allow) even when other fields are broken.
                    let mut resp = Message::response(StatusCode::NOT_IMPLEMENTED, None);
                    copy_reply_headers(&msg.headers, &mut resp);
                    resp.headers.push(HeaderName::Allow, ALLOW);
                    if resp.headers.get(&HeaderName::Via).is_some() {
                        let dest = stateless_destination(&resp, src);
                        self.txl.send_stateless(dest, &resp);
                    }
                } else if msg.is_request() {
                    self.reply_malformed(src, msg.headers.clone(), &e);
                } else {
                    tracing::debug!(peer = %src.addr, error = %e, "dropped malformed response");
                }
                return;
            }
        };
        match msg.status() {
            Some(s) => self
                .sip_counters
                .response(crate::sip::counters::Direction::In, &env.cseq.method, s.as_u16()),
            None => {
                if let Some(m) = msg.method() {
                    self.sip_counters.request(crate::sip::counters::Direction::In, m);
                }
            }
        }
        let (msg, env, reply_to) = if msg.is_request() {
            let (m, e) = stamp_via(msg, env, src);
            let d = via_destination(&e.via, src);
            (m, e, d)
        } else {
            (msg, env, src)
        };
        let src = reply_to;
        match self.txl.handle_incoming(now.mono, msg, env, src) {
            Incoming::Request { tx, request } => self.on_request(now, tx, request, src),
            Incoming::Cancel { tx, request, invite } => self.on_cancel(now, tx, request, invite),
            Incoming::Response { tx, response } => self.on_response(now, tx, response),
            Incoming::Ack { request, .. } => self.on_ack(now, request),
            Incoming::Absorbed { .. } | Incoming::Stray { .. } => {}
            Incoming::Rfc2543 { request } => {
                let mut resp = Message::response_to(
                    &request,
                    StatusCode::BAD_REQUEST,
                    Some("Missing Transaction Identifier"),
                    None,
                );
                resp.headers.push(HeaderName::Server, self.cfg.sip().user_agent.clone());
                self.txl.send_stateless(src, &resp);
            }
        }
    }

    /// The head of a message whose length a stream could not frame (§18.3;
    /// RFC 4475 §3.1.2.3 `ncl`, §3.3.9 `mcl01` over TCP): a request other
    /// than ACK gets a stateless `400 <error>` on its connection, which the
    /// driver closes next; a response is dropped.
    pub(crate) fn on_unframeable(&mut self, src: Destination, head: Bytes, error: &ParseError) {
        if head.starts_with(b"ACK ") {
            tracing::debug!(peer = %src.addr, %error, "dropped unframeable ACK");
            return;
        }
        let headers = match parse_message(head, &self.limits, true) {
            Ok(m) if m.is_request() => Some(m.headers),
            Ok(_) => None,
            Err(bad) => bad.headers,
        };
        match headers {
            Some(h) => self.reply_malformed(src, h, error),
            None => tracing::debug!(peer = %src.addr, %error, "dropped unframeable message"),
        }
    }

    /// A stateless 400 (or 505) to a request that did not parse (§8.2);
    /// sent only if its Via can be read, to the address §18.2.2 gives.
    fn reply_malformed(&mut self, src: Destination, headers: crate::sip::msg::Headers, err: &ParseError) {
        self.stats.malformed += 1;
        let code = match err {
            ParseError::BadVersion => StatusCode::VERSION_NOT_SUPPORTED,
            ParseError::TooLarge => StatusCode::REQUEST_ENTITY_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut resp = Message::response(code, Some(&err.reason()));
        copy_reply_headers(&headers, &mut resp);
        if resp.headers.get(&HeaderName::Via).is_none() {
            return;
        }
        resp.headers.push(HeaderName::Server, self.cfg.sip().user_agent.clone());
        tracing::debug!(peer = %src.addr, reason = %err, "answered malformed request");
        let dest = stateless_destination(&resp, src);
        self.txl.send_stateless(dest, &resp);
    }

    pub(super) fn on_request(&mut self, now: Now, tx: crate::sip::transaction::TxId, req: Message, src: Destination) {
        if let Err(rej) = screen(&req) {
            let tag = self.ids.tag();
            let mut resp = rej.response(&req, Some(&tag));
            resp.headers.push(HeaderName::Server, self.cfg.sip().user_agent.clone());
            self.respond(now, tx, resp);
            return;
        }
        let Some(method) = req.method().cloned() else { return };
        let in_dialog = req.envelope().ok().and_then(|e| e.to.tag()).is_some();
        if in_dialog {
            self.on_in_dialog_request(now, tx, req);
            return;
        }
        match method {
            m if m == Method::OPTIONS => {
                let tag = self.ids.tag();
                let mut resp = Message::response_to(&req, StatusCode::OK, None, Some(&tag));
                resp.headers.push(HeaderName::Allow, ALLOW);
                resp.headers.push(HeaderName::Accept, "application/sdp");
                resp.headers.push(HeaderName::Server, self.cfg.sip().user_agent.clone());
                self.respond(now, tx, resp);
            }
            m if m == Method::REGISTER => self.on_register(now, tx, req, src),
            m if m == Method::INVITE => self.on_invite(now, tx, req, src),
            _ => {
                // BYE/UPDATE/INFO outside a dialog (§12.2.2).
                let tag = self.ids.tag();
                let resp = Message::response_to(&req, StatusCode::CALL_DOES_NOT_EXIST, None, Some(&tag));
                self.respond(now, tx, resp);
            }
        }
    }

    /// Sends a response on a server transaction; an unknown transaction
    /// (already terminated) is logged, not fatal.
    pub(crate) fn respond(&mut self, now: Now, tx: crate::sip::transaction::TxId, resp: Message) {
        if let Err(e) = self.txl.send_response(now.mono, tx, resp) {
            tracing::debug!(%tx, error = %e, "response not sent");
        }
    }
}

/// SIP over WebSocket (RFC 7118), secure or not.
fn is_websocket(t: crate::sip::transaction::TransportKind) -> bool {
    use crate::sip::transaction::TransportKind;
    matches!(t, TransportKind::Ws | TransportKind::Wss)
}

/// Copies the headers a response echoes (§8.2.6.2) from a request that
/// may not have passed validation.
fn copy_reply_headers(headers: &crate::sip::msg::Headers, resp: &mut Message) {
    for h in headers.iter() {
        if matches!(
            h.name,
            HeaderName::Via | HeaderName::From | HeaderName::To | HeaderName::CallId | HeaderName::CSeq
        ) {
            resp.headers.push(h.name.clone(), h.value.clone());
        }
    }
}

/// Adds `received` (when the Via host is not the source IP) and fills a
/// bare `rport` (RFC 3581 §4) on the top Via of a received request.
fn stamp_via(
    mut msg: Message,
    mut env: crate::sip::msg::Envelope,
    src: Destination,
) -> (Message, crate::sip::msg::Envelope) {
    let ip = src.addr.ip();
    let mut via = env.via.clone();
    let mut changed = false;
    if via.host.ip() != Some(ip) {
        via.params.set("received", Some(Bytes::from(ip.to_string())));
        changed = true;
    }
    if via.rport() == Some(None) {
        via.params.set("rport", Some(Bytes::from(src.addr.port().to_string())));
        if !changed {
            via.params.set("received", Some(Bytes::from(ip.to_string())));
        }
        changed = true;
    }
    if changed {
        replace_top_via(&mut msg, &via);
        env.via = via;
    }
    (msg, env)
}

fn replace_top_via(msg: &mut Message, via: &Via) {
    let mut headers = crate::sip::msg::Headers::with_capacity(msg.headers.len() + 1);
    let mut done = false;
    for h in msg.headers.iter() {
        if !done && h.name == HeaderName::Via {
            done = true;
            let mut items = crate::sip::msg::split_list(&h.value);
            if !items.is_empty() {
                items.remove(0);
            }
            headers.push(HeaderName::Via, via.to_bytes());
            for rest in items {
                headers.push(HeaderName::Via, rest);
            }
        } else {
            headers.push(h.name.clone(), h.value.clone());
        }
    }
    msg.headers = headers;
}

/// Where a stateless reply to an unvalidated request goes: the Via's
/// `received` is the packet's source (§18.2.1), so the reply reaches the
/// sender, never a third party named in a forged Via; a Via that does not
/// parse means the source address and port.
fn stateless_destination(resp: &Message, src: Destination) -> Destination {
    if src.transport.is_reliable() {
        return src;
    }
    let first = resp
        .headers
        .get(&HeaderName::Via)
        .map(|v| crate::sip::msg::split_list(v).into_iter().next().unwrap_or_default());
    match first.map(|f| Via::parse(&f)) {
        Some(Ok(mut via)) => {
            via.params.set("received", Some(Bytes::from(src.addr.ip().to_string())));
            via_destination(&via, src)
        }
        _ => src,
    }
}

/// §18.2.2 for one (already stamped) Via.
pub(crate) fn via_destination(via: &Via, src: Destination) -> Destination {
    if src.transport.is_reliable() {
        return src;
    }
    let ip = via
        .received()
        .and_then(|r| std::str::from_utf8(&r).ok()?.parse().ok())
        .or_else(|| via.host.ip())
        .unwrap_or(src.addr.ip());
    let port = match via.rport() {
        Some(Some(p)) => p,
        Some(None) => src.addr.port(),
        None => via.port.unwrap_or(5060),
    };
    Destination {
        addr: std::net::SocketAddr::new(ip, port),
        ..src
    }
}
