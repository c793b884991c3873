//! The UAS/registrar side of Digest (RFC 3261 §22.1–§22.4, RFC 7616 §3.3,
//! §3.4, §3.5, RFC 8760 §2.4): challenges and stateless-nonce verification
//! with per-nonce nonce-count replay protection.
//!
//! Legacy RFC 2069 credentials (no `qop`, hence no `nc`/`cnonce`) are
//! refused by default: every challenge we send offers `qop="auth"`, which
//! RFC 3261 §22.4 and RFC 7616 §3.4 require clients to honour, and without
//! `nc` a captured request could be replayed for the nonce's whole life.
//! [`DigestServer::allow_rfc2069`] opts in for old devices; such a nonce is
//! then single-use (a second use is answered `Stale`), which keeps replay
//! protection at the cost of one extra round trip per request.

use super::digest::{compute_response, ct_eq, hex, hmac_sha256, Algorithm, DigestInput};
use super::nonce::{NonceId, NonceKey};
use super::AuthError;
use crate::sip::msg::typed::Credentials;
use crate::sip::msg::{HeaderName, Message, Method, StartLine, StatusCode, Uri};
use crate::sip::registrar::uri_equivalent;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::time::Duration;

/// Default bound on the number of nonces whose nonce-count is tracked.
const DEFAULT_MAX_TRACKED: usize = 65_536;

/// Which pair of headers a challenge uses (RFC 3261 §22.2 vs §22.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// UAS / registrar: 401, `WWW-Authenticate`, `Authorization`.
    Www,
    /// Proxy: 407, `Proxy-Authenticate`, `Proxy-Authorization`.
    Proxy,
}

impl AuthKind {
    /// The header carrying the challenge.
    pub fn challenge_header(&self) -> HeaderName {
        match self {
            AuthKind::Www => HeaderName::WwwAuthenticate,
            AuthKind::Proxy => HeaderName::ProxyAuthenticate,
        }
    }

    /// The header carrying the credentials.
    pub fn credentials_header(&self) -> HeaderName {
        match self {
            AuthKind::Www => HeaderName::Authorization,
            AuthKind::Proxy => HeaderName::ProxyAuthorization,
        }
    }

    /// The status code of the challenge response.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthKind::Www => StatusCode::UNAUTHORIZED,
            AuthKind::Proxy => StatusCode::PROXY_AUTH_REQUIRED,
        }
    }
}

/// The result of checking credentials. How the engine answers:
/// `Ok` → proceed; `Stale` → re-challenge with `stale=true`; `Failed` →
/// record in [`super::AuthThrottle`], then a fresh challenge;
/// `Malformed` → 400 with the reason; `NoCredentials` → challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The digest is correct, the nonce fresh and the nonce-count new.
    Ok {
        /// The authenticated user name.
        user: String,
    },
    /// The digest is correct but the nonce is expired, unknown to this
    /// server (e.g. minted before a restart with a new secret) or spent:
    /// challenge again with `stale=true` (RFC 7616 §3.3).
    Stale,
    /// Wrong password, unknown user (indistinguishable on purpose) or a
    /// replayed nonce-count.
    Failed,
    /// The credentials cannot be checked; the reason says why.
    Malformed(AuthError),
    /// No credentials for this realm.
    NoCredentials,
}

/// Digest verifier for one realm.
#[derive(Debug)]
pub struct DigestServer {
    realm: String,
    key: NonceKey,
    dummy_password: String,
    opaque: String,
    nonce_ttl: u64,
    next_seq: u64,
    /// Highest nonce-count seen per nonce (`u32::MAX` marks a spent RFC 2069 nonce).
    seen: BTreeMap<NonceId, u32>,
    /// Every nonce at or below this id was evicted from `seen` while still
    /// alive; such nonces are answered `Stale`, never trusted again.
    forgotten_up_to: Option<NonceId>,
    max_tracked: usize,
    allow_rfc2069: bool,
    /// Algorithms offered, in the order the challenges are sent.
    offered: Vec<Algorithm>,
}

impl DigestServer {
    /// A verifier for `realm`. `secret` keys the nonce HMAC: a fresh random
    /// value per process is best (nonces from before a restart then come
    /// back `Stale` and clients retry transparently). `nonce_ttl` is how
    /// long a nonce may be used (at least one second).
    pub fn new(realm: impl Into<String>, secret: [u8; 32], nonce_ttl: Duration) -> DigestServer {
        let realm = realm.into();
        let key = NonceKey::new(secret, &realm);
        let dummy_password = hex(&hmac_sha256(&secret, &[b"dummy-password|", realm.as_bytes()]));
        DigestServer {
            opaque: key.opaque(),
            key,
            dummy_password,
            realm,
            nonce_ttl: nonce_ttl.as_secs().max(1),
            next_seq: 0,
            seen: BTreeMap::new(),
            forgotten_up_to: None,
            max_tracked: DEFAULT_MAX_TRACKED,
            allow_rfc2069: false,
            offered: vec![Algorithm::Sha256, Algorithm::Md5],
        }
    }

    /// Sets the algorithms offered and their order (RFC 8760 §2.4: most
    /// preferred first). Many deployed UAs (SIPp 3.6, older desk phones)
    /// answer only the first challenge, so an operator may put MD5 first.
    /// An empty list keeps the default (SHA-256, MD5).
    pub fn with_algorithms(mut self, algorithms: Vec<Algorithm>) -> DigestServer {
        if !algorithms.is_empty() {
            self.offered = algorithms;
        }
        self
    }

    /// Bounds the nonce-count table (default 65,536 nonces).
    pub fn with_max_tracked_nonces(mut self, n: usize) -> DigestServer {
        self.max_tracked = n.max(1);
        self
    }

    /// Accepts RFC 2069 credentials (no `qop`) with single-use nonces; off by default.
    pub fn allow_rfc2069(mut self, allow: bool) -> DigestServer {
        self.allow_rfc2069 = allow;
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Challenge header values, one per offered algorithm (by default
    /// SHA-256 first then MD5, RFC 8760 §2.4), sharing one fresh nonce;
    /// `now` is unix seconds.
    pub fn challenge(&mut self, now: u64, stale: bool) -> Vec<Bytes> {
        let id = NonceId {
            issued: now,
            seq: self.next_seq,
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        let nonce = self.key.mint(id);
        self.offered
            .iter()
            .map(|alg| {
                let mut v = format!(
                    "Digest realm={}, nonce=\"{nonce}\", opaque=\"{}\", algorithm={}, qop=\"auth\"",
                    quote(&self.realm),
                    self.opaque,
                    alg.as_str()
                );
                if stale {
                    v.push_str(", stale=true");
                }
                Bytes::from(v)
            })
            .collect()
    }

    /// A complete 401/407 for `req` (RFC 3261 §8.2.6 copy rules) carrying
    /// [`Self::challenge`].
    pub fn challenge_response(
        &mut self,
        now: u64,
        req: &Message,
        kind: AuthKind,
        stale: bool,
        to_tag: Option<&str>,
    ) -> Message {
        let mut resp = Message::response_to(req, kind.status(), None, to_tag);
        for v in self.challenge(now, stale) {
            resp.headers.push(kind.challenge_header(), v);
        }
        resp
    }

    /// The user name of `req`'s credentials for this realm, if it carries
    /// any (unverified: for throttling and logs only).
    pub fn credential_user(&self, req: &Message, kind: AuthKind) -> Option<String> {
        req.headers.get_all(&kind.credentials_header()).find_map(|value| {
            let c = Credentials::parse(value).ok()?;
            if !c.0.is_digest() || c.0.get("realm").is_none_or(|r| r != self.realm.as_bytes()) {
                return None;
            }
            c.0.get("username").map(|u| String::from_utf8_lossy(u).into_owned())
        })
    }

    /// Finds the credentials for this realm in `req` (RFC 3261 §22.3: one
    /// header per realm) and verifies them with [`Self::verify`].
    pub fn verify_request<P: AsRef<[u8]>>(
        &mut self,
        now: u64,
        req: &Message,
        kind: AuthKind,
        lookup: impl FnOnce(&str) -> Option<P>,
    ) -> AuthOutcome {
        let StartLine::Request { method, uri } = &req.start else {
            return AuthOutcome::Malformed(AuthError::NotRequest);
        };
        let mut bad = None;
        for value in req.headers.get_all(&kind.credentials_header()) {
            match Credentials::parse(value) {
                Ok(c) if c.0.is_digest() && c.0.get("realm").is_some_and(|r| r == self.realm.as_bytes()) => {
                    return self.verify(now, method, uri, &c, lookup);
                }
                Ok(_) => {}
                Err(_) if is_digest_scheme(value) => bad = Some(AuthError::Syntax),
                Err(_) => {} // another scheme (e.g. Basic token68): not ours
            }
        }
        bad.map_or(AuthOutcome::NoCredentials, AuthOutcome::Malformed)
    }

    /// Verifies one set of credentials for a request with `method` and
    /// `request_uri`; `lookup` gives the password of a user (`None` for an
    /// unknown user, which is answered exactly like a wrong password).
    pub fn verify<P: AsRef<[u8]>>(
        &mut self,
        now: u64,
        method: &Method,
        request_uri: &Uri,
        credentials: &Credentials,
        lookup: impl FnOnce(&str) -> Option<P>,
    ) -> AuthOutcome {
        self.prune(now);
        let p = &credentials.0;
        if !p.is_digest() {
            return AuthOutcome::Malformed(AuthError::NotDigest);
        }
        match p.get("realm") {
            None => return AuthOutcome::Malformed(AuthError::MissingParam("realm")),
            Some(r) if r != self.realm.as_bytes() => return AuthOutcome::NoCredentials,
            Some(_) => {}
        }
        let parsed = match Parsed::from(p, self.allow_rfc2069) {
            Ok(x) => x,
            Err(e) => return AuthOutcome::Malformed(e),
        };
        if !uri_matches(parsed.uri, request_uri) {
            return AuthOutcome::Malformed(AuthError::UriMismatch);
        }
        let password = lookup(parsed.username);
        let known = password.is_some();
        let expected = compute_response(&DigestInput {
            algorithm: parsed.algorithm,
            username: parsed.username.as_bytes(),
            realm: self.realm.as_bytes(),
            password: password.as_ref().map_or(self.dummy_password.as_bytes(), |p| p.as_ref()),
            nonce: parsed.nonce,
            cnonce: parsed.cnonce,
            nc: parsed.nc.map(|(raw, _)| raw),
            qop: parsed.qop.then_some(b"auth".as_slice()),
            method: method.as_bytes(),
            uri: parsed.uri,
        });
        let matches = ct_eq(expected.as_bytes(), &parsed.response.to_ascii_lowercase());
        if !(known && matches) {
            return AuthOutcome::Failed;
        }
        // The client knows the password; now judge the nonce.
        let Some(id) = self.key.open(parsed.nonce) else {
            return AuthOutcome::Stale;
        };
        let opaque_ok = parsed.opaque.is_none_or(|o| o == self.opaque.as_bytes());
        if !opaque_ok || self.expired(id, now) || id.issued > now.saturating_add(self.nonce_ttl) {
            return AuthOutcome::Stale;
        }
        if self.forgotten_up_to.is_some_and(|f| id <= f) {
            return AuthOutcome::Stale;
        }
        match (parsed.nc, self.seen.get(&id).copied()) {
            (Some((_, nc)), Some(prev)) if nc <= prev => return AuthOutcome::Failed,
            (None, Some(_)) => return AuthOutcome::Stale,
            (Some((_, nc)), _) => {
                self.seen.insert(id, nc);
            }
            (None, None) => {
                self.seen.insert(id, u32::MAX);
            }
        }
        self.bound(now);
        AuthOutcome::Ok {
            user: parsed.username.to_owned(),
        }
    }

    /// Forgets nonces that have expired (also done by every `verify`).
    pub fn prune(&mut self, now: u64) {
        let ttl = self.nonce_ttl;
        while let Some(entry) = self.seen.first_entry() {
            if entry.key().issued.saturating_add(ttl) > now {
                break;
            }
            entry.remove();
        }
    }

    /// When the oldest tracked nonce expires (unix seconds), for a driver
    /// that prefers a timer to pruning on use.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.seen
            .keys()
            .next()
            .map(|id| id.issued.saturating_add(self.nonce_ttl))
    }

    /// Number of nonces whose nonce-count is being tracked.
    pub fn tracked_nonces(&self) -> usize {
        self.seen.len()
    }

    fn expired(&self, id: NonceId, now: u64) -> bool {
        id.issued.saturating_add(self.nonce_ttl) <= now
    }

    fn bound(&mut self, now: u64) {
        if self.seen.len() <= self.max_tracked {
            return;
        }
        self.prune(now);
        while self.seen.len() > self.max_tracked {
            if let Some((id, _)) = self.seen.pop_first() {
                self.forgotten_up_to = Some(self.forgotten_up_to.map_or(id, |f| f.max(id)));
            }
        }
    }
}

/// The credential parameters, checked for shape.
struct Parsed<'a> {
    username: &'a str,
    nonce: &'a [u8],
    uri: &'a [u8],
    response: &'a [u8],
    algorithm: Algorithm,
    qop: bool,
    cnonce: Option<&'a [u8]>,
    nc: Option<(&'a [u8], u32)>,
    opaque: Option<&'a [u8]>,
}

impl<'a> Parsed<'a> {
    fn from(p: &'a crate::sip::msg::typed::AuthParams, allow_rfc2069: bool) -> Result<Parsed<'a>, AuthError> {
        let need = |name: &'static str| p.get(name).map(|b| &b[..]).ok_or(AuthError::MissingParam(name));
        let username = p.get_str("username").ok_or(AuthError::MissingParam("username"))?;
        if username.is_empty() {
            return Err(AuthError::BadParam("username"));
        }
        if p.get("userhash").is_some_and(|v| v.eq_ignore_ascii_case(b"true")) {
            return Err(AuthError::UserhashUnsupported);
        }
        let nonce = need("nonce")?;
        let uri = need("uri")?;
        let response = need("response")?;
        let algorithm = match p.get_str("algorithm") {
            None if p.get("algorithm").is_some() => return Err(AuthError::BadParam("algorithm")),
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(a).ok_or_else(|| AuthError::UnsupportedAlgorithm(a.to_owned()))?,
        };
        let hex_len = algorithm.hex_len();
        if response.len() != hex_len || !response.iter().all(u8::is_ascii_hexdigit) {
            return Err(AuthError::BadParam("response"));
        }
        let qop = match p.get("qop") {
            Some(q) if q.eq_ignore_ascii_case(b"auth") => true,
            Some(q) => return Err(AuthError::UnsupportedQop(String::from_utf8_lossy(q).into_owned())),
            None if allow_rfc2069 => false,
            None => return Err(AuthError::QopRequired),
        };
        let cnonce = p.get("cnonce").map(|b| &b[..]);
        let nc = match p.get("nc") {
            Some(raw) => {
                let n = super::digest::unhex::<4>(raw)
                    .map(u32::from_be_bytes)
                    .filter(|n| *n > 0);
                Some((&raw[..], n.ok_or(AuthError::BadParam("nc"))?))
            }
            None => None,
        };
        if qop {
            if cnonce.is_none_or(|c| c.is_empty()) {
                return Err(AuthError::MissingParam("cnonce"));
            }
            if nc.is_none() {
                return Err(AuthError::MissingParam("nc"));
            }
        } else if algorithm.is_sess() && cnonce.is_none() {
            return Err(AuthError::MissingParam("cnonce"));
        }
        Ok(Parsed {
            username,
            nonce,
            uri,
            response,
            algorithm,
            qop,
            cnonce,
            nc: if qop { nc } else { None },
            opaque: p.get("opaque").map(|b| &b[..]),
        })
    }
}

fn is_digest_scheme(value: &[u8]) -> bool {
    let v = value.trim_ascii_start();
    v.len() >= 6 && v[..6].eq_ignore_ascii_case(b"Digest") && v.get(6).is_none_or(|c| c.is_ascii_whitespace())
}

/// True when the `uri` parameter names the Request-URI: byte-equal, or an
/// equivalent SIP URI (RFC 3261 §19.1.4, RFC 7616 §3.4.6), or a bare SIP
/// URI (no user part, no parameters) naming the same host and port. The last form is what
/// SIPp 3.6 (and some desk phones) send for every request; it still binds
/// the response to this server, and nonce-count replay protection holds,
/// so accepting it costs no security while keeping those UAs working.
fn uri_matches(digest_uri: &[u8], req: &Uri) -> bool {
    if digest_uri == &req.to_bytes()[..] {
        return true;
    }
    let Some(d) = Uri::parse(&Bytes::copy_from_slice(digest_uri)) else {
        return false;
    };
    d.is_sip()
        && (uri_equivalent(&d, req)
            || (d.user.is_none()
                && d.params.is_empty()
                && d.headers.is_none()
                && d.host.0.eq_ignore_ascii_case(&req.host.0)
                && d.port.unwrap_or(5060) == req.port.unwrap_or(5060)))
}

/// A quoted-string (RFC 3261 §25.1) with `"` and `\` escaped.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
