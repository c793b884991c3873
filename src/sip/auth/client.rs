//! The UAC side of Digest (RFC 3261 §22.2, §22.3; RFC 7616 §3.4; RFC 8760
//! §2.4): answering a 401/407 from a trunk or upstream proxy.

use super::digest::{compute_response, Algorithm, DigestInput};
use super::server::quote;
use super::AuthError;
use crate::sip::msg::typed::Challenge;
use crate::sip::msg::{HeaderName, Message, Method, StatusCode};
use bytes::Bytes;

/// Builds `Authorization` / `Proxy-Authorization` values.
#[derive(Clone, Copy, Debug, Default)]
pub struct DigestClient;

impl DigestClient {
    /// The header answering a 401/407 `resp` to `method uri` (§22.2, §22.3):
    /// `Authorization` for a 401's `WWW-Authenticate`, `Proxy-Authorization`
    /// for a 407's `Proxy-Authenticate`, with the strongest usable challenge
    /// and `nc=1`. `None` when no challenge can be answered.
    pub fn authorize(
        resp: &Message,
        method: &Method,
        uri: &str,
        username: &str,
        password: &str,
        cnonce: &str,
    ) -> Option<(HeaderName, Bytes)> {
        let (ch, cr) = if resp.status() == Some(StatusCode::PROXY_AUTH_REQUIRED) {
            (HeaderName::ProxyAuthenticate, HeaderName::ProxyAuthorization)
        } else {
            (HeaderName::WwwAuthenticate, HeaderName::Authorization)
        };
        let challenges: Vec<Challenge> = resp
            .headers
            .get_all(&ch)
            .filter_map(|v| Challenge::parse(v).ok())
            .collect();
        let challenge = Self::pick(challenges.iter())?;
        let value = Self::respond(challenge, method, uri, username, password, cnonce, 1).ok()?;
        Some((cr, value))
    }

    /// The challenge to answer among those of one response: Digest, an
    /// algorithm we implement, `qop` absent or offering `auth`; the
    /// strongest algorithm wins (RFC 8760 §2.4), ties go to the first.
    pub fn pick<'a>(challenges: impl IntoIterator<Item = &'a Challenge>) -> Option<&'a Challenge> {
        let mut best: Option<(&Challenge, u8)> = None;
        for c in challenges {
            let Ok(plan) = Plan::of(c) else { continue };
            let s = plan.algorithm.strength();
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((c, s));
            }
        }
        best.map(|(c, _)| c)
    }

    /// The credentials answering `challenge` for a request `method uri`
    /// (`uri` is the Request-URI as it will be sent). `cnonce` should be
    /// fresh random text; `nc` counts requests made with this nonce, from 1.
    pub fn respond(
        challenge: &Challenge,
        method: &Method,
        uri: &str,
        username: &str,
        password: &str,
        cnonce: &str,
        nc: u32,
    ) -> Result<Bytes, AuthError> {
        let plan = Plan::of(challenge)?;
        let p = &challenge.0;
        let realm = p.get_str("realm").ok_or(AuthError::MissingParam("realm"))?;
        let nonce = p.get_str("nonce").ok_or(AuthError::MissingParam("nonce"))?;
        let nc_text = format!("{nc:08x}");
        let with_cnonce = plan.qop || plan.algorithm.is_sess();
        let response = compute_response(&DigestInput {
            algorithm: plan.algorithm,
            username: username.as_bytes(),
            realm: realm.as_bytes(),
            password: password.as_bytes(),
            nonce: nonce.as_bytes(),
            cnonce: with_cnonce.then_some(cnonce.as_bytes()),
            nc: plan.qop.then_some(nc_text.as_bytes()),
            qop: plan.qop.then_some(b"auth".as_slice()),
            method: method.as_bytes(),
            uri: uri.as_bytes(),
        });
        let mut v = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
            quote(username),
            quote(realm),
            quote(nonce),
            quote(uri),
            plan.algorithm.as_str()
        );
        if with_cnonce {
            v.push_str(&format!(", cnonce={}", quote(cnonce)));
        }
        if let Some(opaque) = p.get_str("opaque") {
            v.push_str(&format!(", opaque={}", quote(opaque)));
        }
        if plan.qop {
            v.push_str(&format!(", qop=auth, nc={nc_text}"));
        }
        Ok(Bytes::from(v))
    }
}

/// What answering a challenge would use.
struct Plan {
    algorithm: Algorithm,
    qop: bool,
}

impl Plan {
    fn of(c: &Challenge) -> Result<Plan, AuthError> {
        let p = &c.0;
        if !p.is_digest() {
            return Err(AuthError::NotDigest);
        }
        let algorithm = match p.get_str("algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(a).ok_or_else(|| AuthError::UnsupportedAlgorithm(a.to_owned()))?,
        };
        let qop = match p.get_str("qop") {
            None => false,
            Some(list) if list.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) => true,
            Some(list) => return Err(AuthError::UnsupportedQop(list.to_owned())),
        };
        Ok(Plan { algorithm, qop })
    }
}
