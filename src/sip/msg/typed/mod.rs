//! Typed views of the headers a softswitch reads (RFC 3261 §20 and the
//! extension RFCs named per type). Each type has a `const NAME` and parses
//! from the raw value on demand; nothing here copies unless it must.

mod auth;
mod contact;
mod content_type;
mod cseq;
mod name_addr;
mod scalar;
mod session;
mod tokens;
mod via;

pub use auth::{AuthParams, Challenge, Credentials};
pub use contact::{Contact, ContactList};
pub use content_type::ContentType;
pub use cseq::CSeq;
pub use name_addr::{CallId, From, NameAddr, RecordRoute, ReferTo, Route, To};
pub use scalar::{ContentLength, Expires, MaxForwards, MinExpires};
pub use session::{MinSe, RefresherParam, Replaces, SessionExpires};
pub use tokens::{Allow, ProxyRequire, Require, Supported, Unsupported};
pub use via::{Transport, Via};

use super::{Header, HeaderName, ParseError};
use bytes::Bytes;

/// A header with a typed value (RFC 3261 §20).
pub trait TypedHeader: Sized {
    /// The header's name.
    const NAME: HeaderName;
    /// Parses the raw value of one header line.
    fn parse(value: &Bytes) -> Result<Self, ParseError>;
}

/// Parses a decimal u32 (leading zeros allowed, RFC 4475 `wsinv`); `None`
/// for anything else, including overflow (RFC 4475 `scalar02`).
pub fn parse_u32(v: &[u8]) -> Option<u32> {
    let v = trim_ws(v);
    if v.is_empty() || v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v)
        .ok()?
        .parse::<u64>()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
}

/// Trims SP/HT on both sides.
pub(crate) fn trim_ws(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Trims SP/HT around a `Bytes` slice without copying.
pub(crate) fn trim_bytes(v: &Bytes) -> Bytes {
    let t = trim_ws(v);
    if t.is_empty() {
        return Bytes::new();
    }
    v.slice_ref(t)
}

/// Runs the typed parser for any known header (fuzzing, diagnostics) (RFC 3261 §20).
pub fn parse_any(h: &Header) -> Result<(), ParseError> {
    match h.name {
        HeaderName::Via => {
            for v in super::split_list(&h.value) {
                Via::parse(&v)?;
            }
        }
        HeaderName::From | HeaderName::To => {
            NameAddr::parse_header(&h.value, "From")?;
        }
        HeaderName::Contact => {
            ContactList::parse(&h.value)?;
        }
        HeaderName::CSeq => {
            CSeq::parse(&h.value)?;
        }
        HeaderName::WwwAuthenticate | HeaderName::ProxyAuthenticate => {
            Challenge::parse(&h.value)?;
        }
        HeaderName::Authorization | HeaderName::ProxyAuthorization => {
            Credentials::parse(&h.value)?;
        }
        HeaderName::ContentType => {
            ContentType::parse(&h.value)?;
        }
        HeaderName::SessionExpires => {
            SessionExpires::parse(&h.value)?;
        }
        HeaderName::MinSe => {
            MinSe::parse(&h.value)?;
        }
        HeaderName::Replaces => {
            Replaces::parse(&h.value)?;
        }
        _ => {}
    }
    Ok(())
}
