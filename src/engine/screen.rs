//! Request screening a UAS does before any routing (RFC 3261 §8.2.1–§8.2.3,
//! RFC 4475 §3.3): method, Request-URI scheme, Require, body type, Accept,
//! Max-Forwards. Each check names the response it calls for.

use crate::sip::msg::typed::{ContentType, Require, TypedHeader};
use crate::sip::msg::{HeaderName, Message, Method, Scheme, StatusCode};
use bytes::Bytes;

pub use crate::sip::ALLOW;

/// Option tags we support (sent in `Supported`); everything else in a
/// `Require` gets 420 (§8.2.2.3).
pub const SUPPORTED: &[&str] = &["100rel", "replaces", "timer"];

/// A rejection decided by screening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Status to send.
    pub code: StatusCode,
    /// Reason phrase.
    pub reason: String,
    /// Extra headers (Allow, Unsupported, Accept, Warning).
    pub headers: Vec<(HeaderName, Bytes)>,
}

impl Rejection {
    fn new(code: StatusCode, reason: &str) -> Self {
        Rejection {
            code,
            reason: reason.to_string(),
            headers: Vec::new(),
        }
    }

    fn with(mut self, name: HeaderName, value: impl Into<Bytes>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The response to `req` carrying this rejection.
    pub fn response(&self, req: &Message, to_tag: Option<&str>) -> Message {
        let mut resp = Message::response_to(req, self.code, Some(&self.reason), to_tag);
        for (n, v) in &self.headers {
            resp.headers.push(n.clone(), v.clone());
        }
        resp
    }
}

fn is_allowed(method: &Method) -> bool {
    [
        Method::INVITE,
        Method::ACK,
        Method::BYE,
        Method::CANCEL,
        Method::OPTIONS,
        Method::REGISTER,
        Method::UPDATE,
        Method::INFO,
        Method::REFER,
        Method::PRACK,
    ]
    .contains(method)
}

/// Screens a request in the order of §8.2: method (501/405), URI scheme
/// (416), Require (420), body type (415), Accept (406). ACK and CANCEL are
/// only checked for method.
pub fn screen(req: &Message) -> Result<(), Rejection> {
    let Some(method) = req.method() else { return Ok(()) };
    if !method.is_known() {
        return Err(Rejection::new(StatusCode::NOT_IMPLEMENTED, "Not Implemented").with(HeaderName::Allow, ALLOW));
    }
    if !is_allowed(method) {
        return Err(Rejection::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").with(HeaderName::Allow, ALLOW));
    }
    if *method == Method::ACK || *method == Method::CANCEL {
        return Ok(());
    }
    if let Some(uri) = req.uri() {
        if let Scheme::Other(s) = &uri.scheme {
            let reason = format!("Unsupported URI Scheme {}", String::from_utf8_lossy(s));
            return Err(Rejection::new(StatusCode::UNSUPPORTED_URI_SCHEME, &reason));
        }
    }
    let mut unsupported: Vec<Bytes> = Vec::new();
    for v in req.headers.get_all(&HeaderName::Require) {
        match Require::parse(v) {
            Ok(Require(tags)) => unsupported.extend(
                tags.into_iter()
                    .filter(|t| !SUPPORTED.iter().any(|s| t.eq_ignore_ascii_case(s.as_bytes()))),
            ),
            Err(e) => return Err(Rejection::new(StatusCode::BAD_REQUEST, &e.reason())),
        }
    }
    if !unsupported.is_empty() {
        let list = unsupported
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Rejection::new(StatusCode::BAD_EXTENSION, "Bad Extension").with(HeaderName::Unsupported, list));
    }
    if *method == Method::INVITE || *method == Method::UPDATE {
        if !req.body.is_empty() {
            let ok = match req.headers.get(&HeaderName::ContentType).map(ContentType::parse) {
                Some(Ok(ct)) => ct.is_sdp(),
                Some(Err(e)) => return Err(Rejection::new(StatusCode::BAD_REQUEST, &e.reason())),
                None => false,
            };
            if !ok {
                return Err(
                    Rejection::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
                        .with(HeaderName::Accept, "application/sdp"),
                );
            }
        }
        if let Some(accept) = req.headers.get(&HeaderName::Accept) {
            let takes_sdp = crate::sip::msg::split_list(accept).iter().any(|a| {
                let a = a.split(|c| *c == b';').next().unwrap_or(&[]).trim_ascii();
                a.eq_ignore_ascii_case(b"application/sdp") || a == b"*/*" || a.eq_ignore_ascii_case(b"application/*")
            });
            if !takes_sdp && !accept.trim_ascii().is_empty() {
                return Err(Rejection::new(StatusCode::NOT_ACCEPTABLE, "Not Acceptable")
                    .with(HeaderName::Accept, "application/sdp")
                    .with(
                        HeaderName::Warning,
                        "399 switchboard \"Only application/sdp bodies are supported\"",
                    ));
            }
        }
    }
    Ok(())
}
