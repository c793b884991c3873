//! SIP messages (RFC 3261 §7, §20, §25): a zero-copy model over [`bytes::Bytes`].
//!
//! [`parse_datagram`] and [`frame_stream`] frame a message (start line, headers with folding and compact
//! forms, Content-Length-delimited body) without interpreting header values:
//! every value stays a slice of the datagram. The headers a softswitch reads
//! are typed on demand (one type per header, each with a `const NAME`), and
//! [`Message::envelope`] validates the fields every request and response must
//! carry, naming the fault so a UAS can answer `400 <reason>`.

mod error;
mod headers;
mod method;
mod name;
mod params;
mod parse;
mod print;
mod status;
#[cfg(test)]
mod tests;
pub mod typed;
mod uri;

pub use error::{FrameError, ParseError};
pub use headers::{split_list, Header, Headers};
pub use method::Method;
pub use name::HeaderName;
pub use params::Params;
pub use parse::{frame_stream, parse_datagram, parse_message, Limits, Malformed, StreamFrame};
pub use status::StatusCode;
pub use uri::{Host, Scheme, Uri};

use bytes::Bytes;
use typed::{CSeq, NameAddr, Via};

/// The first line of a message: a Request-Line or a Status-Line (§7.1, §7.2).
// Most messages are requests, so boxing the Uri would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP/2.0`.
    Request {
        /// The request method.
        method: Method,
        /// The Request-URI.
        uri: Uri,
    },
    /// `SIP/2.0 SP Status-Code SP Reason-Phrase`.
    Response {
        /// The status code (100..=699).
        code: StatusCode,
        /// The reason phrase, raw (may be empty, may be UTF-8).
        reason: Bytes,
    },
}

/// One SIP message: start line, headers in wire order, and body (RFC 3261 §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Request-Line or Status-Line.
    pub start: StartLine,
    /// Headers in the order they arrived (or were added).
    pub headers: Headers,
    /// The body, exactly Content-Length octets (empty when none).
    pub body: Bytes,
}

/// The fields every message must carry, typed once (§8.1.1, §8.2.2).
///
/// Produced by [`Message::envelope`]; the transaction and dialog layers work
/// from this instead of re-parsing headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The topmost Via.
    pub via: Via,
    /// The From header.
    pub from: NameAddr,
    /// The To header.
    pub to: NameAddr,
    /// The Call-ID, raw.
    pub call_id: Bytes,
    /// The CSeq.
    pub cseq: CSeq,
    /// Max-Forwards if present and valid (RFC 4475 §3.1.2.4: an overlarge
    /// value is treated as absent).
    pub max_forwards: Option<u32>,
}

impl Message {
    /// A new request with no headers and an empty body (RFC 3261 §7.1).
    pub fn request(method: Method, uri: Uri) -> Self {
        Message {
            start: StartLine::Request { method, uri },
            headers: Headers::default(),
            body: Bytes::new(),
        }
    }

    /// A new response with no headers and an empty body; the reason phrase (RFC 3261 §7.2, §21)
    /// defaults to the code's canonical one when `reason` is `None`.
    pub fn response(code: StatusCode, reason: Option<&str>) -> Self {
        let reason = match reason {
            Some(r) => Bytes::copy_from_slice(r.as_bytes()),
            None => Bytes::from_static(code.canonical_reason().as_bytes()),
        };
        Message {
            start: StartLine::Response { code, reason },
            headers: Headers::default(),
            body: Bytes::new(),
        }
    }

    /// Builds a response to `req` per §8.2.6: copies Via (all values, in
    /// order), From, To, Call-ID and CSeq; adds `to_tag` to To when To has
    /// no tag yet.
    pub fn response_to(req: &Message, code: StatusCode, reason: Option<&str>, to_tag: Option<&str>) -> Self {
        let mut resp = Message::response(code, reason);
        for h in req.headers.iter() {
            match h.name {
                HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                    resp.headers.push(h.name.clone(), h.value.clone());
                }
                HeaderName::To => {
                    let value = match to_tag {
                        Some(tag) if !has_tag(&h.value) => {
                            let mut v = h.value.to_vec();
                            v.extend_from_slice(b";tag=");
                            v.extend_from_slice(tag.as_bytes());
                            Bytes::from(v)
                        }
                        _ => h.value.clone(),
                    };
                    resp.headers.push(HeaderName::To, value);
                }
                _ => {}
            }
        }
        resp
    }

    /// The method of a request (§7.1); `None` for a response.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response (RFC 3261 §7.2).
    pub fn status(&self) -> Option<StatusCode> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// The Request-URI of a request (RFC 3261 §7.1).
    pub fn uri(&self) -> Option<&Uri> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// True for requests (RFC 3261 §7).
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Parses the typed value of a single-valued header `H`, if present (RFC 3261 §20).
    pub fn typed<H: typed::TypedHeader>(&self) -> Option<Result<H, ParseError>> {
        self.headers.get(&H::NAME).map(H::parse)
    }

    /// Validates and types the mandatory fields (§8.1.1): exactly one
    /// Call-ID, From, To and CSeq, at least one Via, a CSeq whose method
    /// matches a request's method, at most one Max-Forwards.
    pub fn envelope(&self) -> Result<Envelope, ParseError> {
        let one = |name: HeaderName| -> Result<&Bytes, ParseError> {
            let mut it = self.headers.iter().filter(|h| h.name == name).map(|h| &h.value);
            let first = it.next().ok_or(ParseError::MissingHeader(name.as_str()))?;
            if it.next().is_some() {
                return Err(ParseError::DuplicateHeader(name.as_str()));
            }
            Ok(first)
        };
        // From/To with a comma outside quotes and brackets: two values
        // (RFC 4475 `multi01`) only if each half is a name-addr; otherwise a
        // malformed one, e.g. an unquoted `Bell, Alexander` (`baddn`).
        let name_addr = |name: HeaderName, label: &'static str| -> Result<NameAddr, ParseError> {
            let v = one(name)?;
            match NameAddr::parse_header(v, label) {
                Ok(n) => Ok(n),
                Err(e) => {
                    let items = split_list(v);
                    if items.len() > 1 && items.iter().all(|i| NameAddr::parse_header(i, label).is_ok()) {
                        Err(ParseError::DuplicateHeader(label))
                    } else {
                        Err(e)
                    }
                }
            }
        };
        let call_id = one(HeaderName::CallId)?.clone();
        if call_id.is_empty() || call_id.iter().any(|b| b.is_ascii_whitespace()) {
            return Err(ParseError::BadHeader("Call-ID"));
        }
        let from = name_addr(HeaderName::From, "From")?;
        let to = name_addr(HeaderName::To, "To")?;
        let cseq = CSeq::parse(one(HeaderName::CSeq)?)?;
        // Every Via value must parse (RFC 4475 `badinv01`); the top one is kept.
        let mut via = None;
        for v in self.headers.get_all(&HeaderName::Via) {
            for item in split_list(v) {
                let parsed = Via::parse(&item)?;
                via.get_or_insert(parsed);
            }
        }
        let via = via.ok_or(ParseError::MissingHeader("Via"))?;
        let mut mf = self.headers.get_all(&HeaderName::MaxForwards);
        let max_forwards = match (mf.next(), mf.next()) {
            (None, _) => None,
            (Some(_), Some(_)) => return Err(ParseError::DuplicateHeader("Max-Forwards")),
            (Some(v), None) => typed::parse_u32(v).filter(|n| *n <= 255),
        };
        if let StartLine::Request { method, .. } = &self.start {
            // §8.1.1.5: the CSeq method matches the request's (an ACK's
            // CSeq names ACK, §17.1.1.3; RFC 4475 `mismatch01`).
            if cseq.method != *method {
                return Err(ParseError::CSeqMethodMismatch);
            }
        }
        Ok(Envelope {
            via,
            from,
            to,
            call_id,
            cseq,
            max_forwards,
        })
    }

    /// A copy holding only the `keep` headers (and the body if
    /// `keep_body`), in a freshly allocated buffer: long-lived state (a
    /// call's INVITE, a dialog) must not pin the whole received datagram
    /// through zero-copy slices.
    pub fn compact_copy(&self, keep: &[HeaderName], keep_body: bool) -> Message {
        let mut m = Message {
            start: self.start.clone(),
            headers: Headers::with_capacity(keep.len()),
            body: Bytes::new(),
        };
        for h in self.headers.iter() {
            if keep.contains(&h.name) {
                m.headers.push(h.name.clone(), h.value.clone());
            }
        }
        if keep_body {
            m.body = self.body.clone();
        }
        // Re-parse our own serialisation: every slice then points into one
        // small new buffer.
        let limits = Limits {
            max_message: usize::MAX,
            max_headers: usize::MAX,
        };
        parse_message(m.to_bytes(), &limits, true).unwrap_or(m)
    }

    /// Serialises the message; Content-Length is always written and always (RFC 3261 §7)
    /// equals the body length (any stored Content-Length is replaced).
    pub fn to_bytes(&self) -> Bytes {
        print::print(self)
    }
}

fn has_tag(to_value: &Bytes) -> bool {
    NameAddr::parse_header(to_value, "To")
        .map(|n| n.tag().is_some())
        .unwrap_or(false)
}

#[cfg(feature = "fuzzing")]
/// Fuzzing entry points, one per parser (DESIGN.md convention 8) (RFC 3261 §7, §19.1).
pub mod fuzz {
    use super::*;

    /// Frames and validates a datagram, then prints it back: must never panic (RFC 3261 §7, §18.3).
    pub fn datagram(data: &[u8]) {
        if let Ok(m) = parse_datagram(Bytes::copy_from_slice(data), &Limits::default()) {
            let _ = m.envelope();
            let _ = m.to_bytes();
            for h in m.headers.iter() {
                let _ = typed::parse_any(h);
            }
        }
    }

    /// Runs the TCP stream framer on arbitrary bytes (RFC 3261 §18.3).
    pub fn stream(data: &[u8]) {
        let _ = frame_stream(data, &Limits::default());
    }

    /// Parses arbitrary bytes as a URI (RFC 3261 §19.1).
    pub fn uri(data: &[u8]) {
        let _ = Uri::parse(&Bytes::copy_from_slice(data));
    }
}
