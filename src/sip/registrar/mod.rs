//! The registrar (RFC 3261 §10.3): REGISTER processing over an in-memory
//! location service, sans-IO. Time is unix seconds (`u64`), because
//! bindings outlive the process (they are persisted by `store` and
//! restored with [`Registrar::load`]).
//!
//! Authentication (§10.3 steps 1–3, §22) is done before: the engine calls
//! [`Registrar::handle_register`] with the address-of-record it has
//! authorised. This module implements steps 5–8: Contact / `*` validation,
//! expiry per contact (`expires` parameter over the Expires header over the
//! default, §10.2.1.1), 423 with Min-Expires (§10.3 step 6, §21.4.17),
//! Call-ID/CSeq ordering per binding (step 7), atomic commit, and the 200
//! listing every current binding with its remaining `expires` (step 8).
//! Contact parameters stay header parameters and URI parameters and escaped
//! URI headers stay in the URI (RFC 4475 §3.3.12–§3.3.14).
//!
//! The 200 carries a To tag (§8.2.6.2) derived from Call-ID, CSeq and the
//! From tag, so a retransmitted REGISTER gets the same tag without state.

#[cfg(test)]
mod tests;
mod uri_eq;

pub use uri_eq::uri_equivalent;

use crate::sip::msg::typed::{parse_u32, Contact, ContactList, NameAddr, Transport};
use crate::sip::msg::{HeaderName, Message, Method, ParseError, StatusCode, Uri};
use crate::sip::transaction::{Destination, TransportKind};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

/// Default bound on bindings per address-of-record.
const DEFAULT_MAX_BINDINGS_PER_AOR: usize = 32;

/// Registrar limits, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shortest accepted non-zero expiry; shorter gets 423 (§10.3 step 6).
    pub min_expires: u32,
    /// Longest granted expiry; longer is shortened to this.
    pub max_expires: u32,
    /// Expiry when the request names none (RFC 3261 suggests 3600).
    pub default_expires: u32,
}

impl Default for RegistrarConfig {
    /// 60 s minimum, 3600 s default, 86,400 s maximum.
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 86_400,
            default_expires: 3600,
        }
    }
}

/// A profile's local addresses requests to registered phones leave from:
/// its first listen address (UDP and TCP), its first TLS listener and its
/// first WebSocket listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locals {
    /// The first `listen` address.
    pub plain: SocketAddr,
    /// The first `tls_listen` address, if the profile speaks TLS.
    pub tls: Option<SocketAddr>,
    /// The first `ws_listen` address, if the profile speaks SIP over
    /// WebSocket (RFC 7118).
    pub ws: Option<SocketAddr>,
    /// The first `wss_listen` address, if the profile speaks SIP over
    /// secure WebSocket.
    pub wss: Option<SocketAddr>,
}

/// One contact bound to an address-of-record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The address-of-record.
    pub aor: String,
    /// The Contact value as stored: `name-addr` form with its contact
    /// parameters, without `expires` (added fresh in each 200).
    pub contact: Bytes,
    /// The contact URI (what an INVITE is sent to).
    pub uri: Uri,
    /// Expiry, unix seconds.
    pub expires_at: u64,
    /// Call-ID of the REGISTER that last set this binding.
    pub call_id: Bytes,
    /// Its CSeq number.
    pub cseq: u32,
    /// Where that REGISTER came from (for NAT traversal: the driver sends
    /// to this address when the contact is private or unreachable).
    pub source: SocketAddr,
    /// The transport it came over.
    pub transport: Transport,
    /// The `q` preference in thousandths (1000 when absent).
    pub q: u16,
}

impl Binding {
    /// The key this binding is stored under with its AOR: the printed
    /// contact URI.
    pub fn key(&self) -> Bytes {
        self.uri.to_bytes()
    }

    /// Seconds left at `now` (0 once expired).
    pub fn remaining(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// Where a request to this contact goes from the profile's sockets
    /// `local`: back to the address and transport the REGISTER came from
    /// (RFC 5626-style reuse of the flow, which also reaches phones behind
    /// NAT); a TLS binding rides its TLS connection, from the TLS listener,
    /// and a WebSocket binding its WebSocket connection (RFC 7118 §5: the
    /// contact's `.invalid` host is never resolved; the driver finds the
    /// connection by the registration's source).
    pub fn destination(&self, local: Locals) -> Destination {
        let (transport, local) = match self.transport {
            Transport::Tls => (TransportKind::Tls, local.tls.unwrap_or(local.plain)),
            Transport::Ws => (TransportKind::Ws, local.ws.unwrap_or(local.plain)),
            Transport::Wss => (TransportKind::Wss, local.wss.unwrap_or(local.plain)),
            Transport::Tcp | Transport::Sctp => (TransportKind::Tcp, local.plain),
            _ => (TransportKind::Udp, local.plain),
        };
        Destination {
            addr: self.source,
            transport,
            local,
        }
    }
}

/// A change to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindingChange {
    /// A new binding (store: insert).
    Added(Binding),
    /// An existing binding with new expiry or data (store: upsert by key).
    Refreshed(Binding),
    /// A binding that is gone (store: delete by AOR and key).
    Removed(Binding),
}

/// What to do after a REGISTER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterOutcome {
    /// The response to send (200, 400, 403 or 423).
    pub response: Message,
    /// The binding changes to persist (empty unless the response is 200).
    pub changes: Vec<BindingChange>,
}

/// Requests the registrar cannot answer itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The message is not a REGISTER request.
    #[error("not a REGISTER request")]
    NotRegister,
    /// The mandatory headers are missing or malformed (answer 400 upstream).
    #[error("invalid REGISTER: {0}")]
    Envelope(#[from] ParseError),
}

/// The location service and REGISTER logic.
#[derive(Debug)]
pub struct Registrar {
    cfg: RegistrarConfig,
    max_per_aor: usize,
    by_aor: HashMap<String, Vec<Binding>>,
    /// (expires_at, aor, key) for every binding: drives expiry.
    by_expiry: BTreeSet<(u64, String, Bytes)>,
}

impl Registrar {
    /// An empty registrar. `min_expires` is raised to at least 1 and
    /// `max_expires`/`default_expires` to at least `min_expires`.
    pub fn new(mut cfg: RegistrarConfig) -> Registrar {
        cfg.min_expires = cfg.min_expires.max(1);
        cfg.max_expires = cfg.max_expires.max(cfg.min_expires);
        cfg.default_expires = cfg.default_expires.clamp(cfg.min_expires, cfg.max_expires);
        Registrar {
            cfg,
            max_per_aor: DEFAULT_MAX_BINDINGS_PER_AOR,
            by_aor: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Bounds the bindings per AOR (default 32); more are refused with 403.
    pub fn with_max_bindings_per_aor(mut self, n: usize) -> Registrar {
        self.max_per_aor = n.max(1);
        self
    }

    /// Restores persisted bindings (after a restart). A binding equal in
    /// AOR and key to one already held replaces it.
    pub fn load(&mut self, bindings: impl IntoIterator<Item = Binding>) {
        for b in bindings {
            let mut list = self.by_aor.remove(&b.aor).unwrap_or_default();
            let aor = b.aor.clone();
            self.unindex(&aor, &list);
            match list.iter_mut().find(|x| x.key() == b.key()) {
                Some(slot) => *slot = b,
                None => list.push(b),
            }
            self.index(&aor, &list);
            self.by_aor.insert(aor, list);
        }
    }

    /// Processes a REGISTER for `aor` received at `now` (unix seconds) from
    /// `source` over `transport` (§10.3 steps 5–8).
    pub fn handle_register(
        &mut self,
        now: u64,
        aor: &str,
        msg: &Message,
        source: SocketAddr,
        transport: Transport,
    ) -> Result<RegisterOutcome, RegisterError> {
        if msg.method() != Some(&Method::REGISTER) {
            return Err(RegisterError::NotRegister);
        }
        let env = msg.envelope()?;
        let tag = to_tag(&env.call_id, env.cseq.seq, env.from.tag().as_deref());
        let reply = |code, reason: Option<&str>| Message::response_to(msg, code, reason, Some(&tag));
        let fail = |code, reason: &str| {
            Ok(RegisterOutcome {
                response: reply(code, Some(reason)),
                changes: Vec::new(),
            })
        };

        let header_expires = msg
            .headers
            .get(&HeaderName::Expires)
            .map(|v| parse_u32(v).unwrap_or(self.cfg.default_expires));
        let mut star = false;
        let mut contacts: Vec<Contact> = Vec::new();
        for v in msg.headers.get_all(&HeaderName::Contact) {
            match ContactList::parse(v) {
                Ok(ContactList::Star) => star = true,
                Ok(ContactList::List(list)) => contacts.extend(list),
                Err(e) => return fail(StatusCode::BAD_REQUEST, &e.reason()),
            }
        }

        let old = self.current(now, aor);
        let mut next = old.clone();
        if star {
            // §10.3 step 6: `*` only alone and only with Expires: 0.
            if !contacts.is_empty() || header_expires != Some(0) {
                return fail(StatusCode::BAD_REQUEST, "Invalid Wildcard Contact");
            }
            if next.iter().any(|b| b.call_id == env.call_id && env.cseq.seq <= b.cseq) {
                return fail(StatusCode::BAD_REQUEST, "Out Of Order CSeq");
            }
            next.clear();
        }

        let mut touched: Vec<Bytes> = Vec::new();
        for c in &contacts {
            if !matches!(
                c.0.uri.scheme,
                crate::sip::msg::Scheme::Sip | crate::sip::msg::Scheme::Sips
            ) {
                return fail(StatusCode::BAD_REQUEST, "Unsupported Contact URI Scheme");
            }
            let requested = match c.0.params.get("expires") {
                Some(v) => v.and_then(|v| parse_u32(v)).unwrap_or(self.cfg.default_expires),
                None => header_expires.unwrap_or(self.cfg.default_expires),
            };
            if requested != 0 && requested < self.cfg.min_expires {
                let mut r = reply(StatusCode::INTERVAL_TOO_BRIEF, None);
                r.headers.push(HeaderName::MinExpires, self.cfg.min_expires.to_string());
                return Ok(RegisterOutcome {
                    response: r,
                    changes: Vec::new(),
                });
            }
            let granted = requested.min(self.cfg.max_expires);
            let existing = next.iter().position(|b| uri_equivalent(&b.uri, &c.0.uri));
            if let Some(i) = existing {
                let b = &next[i];
                let same_request = touched.contains(&b.key());
                if !same_request && b.call_id == env.call_id && env.cseq.seq <= b.cseq {
                    return fail(StatusCode::BAD_REQUEST, "Out Of Order CSeq");
                }
                next.remove(i);
            }
            if granted == 0 {
                continue;
            }
            let binding = Binding {
                aor: aor.to_owned(),
                contact: stored_contact(&c.0),
                uri: c.0.uri.clone(),
                expires_at: now.saturating_add(u64::from(granted)),
                call_id: env.call_id.clone(),
                cseq: env.cseq.seq,
                source,
                transport: transport.clone(),
                q: c.0.params.get("q").flatten().and_then(|v| parse_q(v)).unwrap_or(1000),
            };
            touched.push(binding.key());
            next.push(binding);
        }
        if next.len() > self.max_per_aor && next.len() > old.len() {
            return fail(StatusCode::FORBIDDEN, "Too Many Contacts");
        }

        let changes = self.commit(aor, next);
        let mut response = reply(StatusCode::OK, None);
        for b in self.current(now, aor) {
            response
                .headers
                .push(HeaderName::Contact, contact_with_expires(&b, now));
        }
        Ok(RegisterOutcome { response, changes })
    }

    /// The live bindings of `aor` at `now`, highest `q` first (ties keep
    /// registration order), for the B2BUA to fork to.
    pub fn lookup(&self, now: u64, aor: &str) -> Vec<Binding> {
        let mut v = self.current(now, aor);
        v.sort_by_key(|b| std::cmp::Reverse(b.q));
        v
    }

    /// Removes every binding expired at `now` and returns them (to delete
    /// from the store).
    pub fn expire(&mut self, now: u64) -> Vec<Binding> {
        let mut gone = Vec::new();
        while let Some((at, aor, key)) = self.by_expiry.first().cloned() {
            if at > now {
                break;
            }
            self.by_expiry.pop_first();
            if let Some(list) = self.by_aor.get_mut(&aor) {
                if let Some(i) = list.iter().position(|b| b.key() == key && b.expires_at == at) {
                    gone.push(list.remove(i));
                }
                if list.is_empty() {
                    self.by_aor.remove(&aor);
                }
            }
        }
        gone
    }

    /// The next expiry (unix seconds) at which [`Self::expire`] has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.by_expiry.first().map(|(at, _, _)| *at)
    }

    /// Number of bindings held (expired ones included until [`Self::expire`]).
    pub fn len(&self) -> usize {
        self.by_expiry.len()
    }

    /// True when no binding is held.
    pub fn is_empty(&self) -> bool {
        self.by_expiry.is_empty()
    }

    fn current(&self, now: u64, aor: &str) -> Vec<Binding> {
        self.by_aor
            .get(aor)
            .map(|l| l.iter().filter(|b| b.expires_at > now).cloned().collect())
            .unwrap_or_default()
    }

    /// Replaces the bindings of `aor` (expired ones included) by `next`
    /// and returns the difference.
    fn commit(&mut self, aor: &str, next: Vec<Binding>) -> Vec<BindingChange> {
        let prev = self.by_aor.remove(aor).unwrap_or_default();
        self.unindex(aor, &prev);
        let mut changes = Vec::new();
        for p in &prev {
            if !next.iter().any(|n| n.key() == p.key()) {
                changes.push(BindingChange::Removed(p.clone()));
            }
        }
        for n in &next {
            match prev.iter().find(|p| p.key() == n.key()) {
                None => changes.push(BindingChange::Added(n.clone())),
                Some(p) if p != n => changes.push(BindingChange::Refreshed(n.clone())),
                Some(_) => {}
            }
        }
        if !next.is_empty() {
            self.index(aor, &next);
            self.by_aor.insert(aor.to_owned(), next);
        }
        changes
    }

    fn index(&mut self, aor: &str, list: &[Binding]) {
        for b in list {
            self.by_expiry.insert((b.expires_at, aor.to_owned(), b.key()));
        }
    }

    fn unindex(&mut self, aor: &str, list: &[Binding]) {
        for b in list {
            self.by_expiry.remove(&(b.expires_at, aor.to_owned(), b.key()));
        }
    }
}

/// The contact as stored: its name-addr without the `expires` parameter.
fn stored_contact(c: &NameAddr) -> Bytes {
    let mut c = c.clone();
    c.params.remove("expires");
    c.to_bytes()
}

/// The stored contact with the time left appended (§10.3 step 8).
fn contact_with_expires(b: &Binding, now: u64) -> Bytes {
    let mut v = b.contact.to_vec();
    v.extend_from_slice(format!(";expires={}", b.remaining(now)).as_bytes());
    Bytes::from(v)
}

/// Parses a `q` value (§20.10: `0[.ddd]` or `1[.000]`) into thousandths.
fn parse_q(v: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(v).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let mut milli = 0u16;
    for (i, c) in frac.bytes().enumerate() {
        milli += u16::from(c - b'0') * [100, 10, 1][i];
    }
    let q = int * 1000 + milli;
    (q <= 1000).then_some(q)
}

/// A To tag stable across retransmissions of one REGISTER.
fn to_tag(call_id: &[u8], cseq: u32, from_tag: Option<&[u8]>) -> String {
    let mut h = Sha256::new();
    h.update(call_id);
    h.update(cseq.to_be_bytes());
    h.update(from_tag.unwrap_or_default());
    h.finalize()[..6].iter().map(|b| format!("{b:02x}")).collect()
}
