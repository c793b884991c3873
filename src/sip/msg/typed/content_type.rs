//! Content-Type (RFC 3261 §20.15): `type/subtype;params`.

use super::TypedHeader;
use crate::sip::msg::params::Params;
use crate::sip::msg::parse::is_token_char;
use crate::sip::msg::{HeaderName, ParseError};
use bytes::Bytes;

/// A media type (RFC 3261 §20.15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    /// Type, e.g. `application`.
    pub kind: Bytes,
    /// Subtype, e.g. `sdp`.
    pub subtype: Bytes,
    /// Parameters.
    pub params: Params,
}

impl ContentType {
    /// True for `application/sdp` (case-insensitive) (RFC 3261 §13.2.1, RFC 4566).
    pub fn is_sdp(&self) -> bool {
        self.kind.eq_ignore_ascii_case(b"application") && self.subtype.eq_ignore_ascii_case(b"sdp")
    }
}

impl TypedHeader for ContentType {
    const NAME: HeaderName = HeaderName::ContentType;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        let bad = ParseError::BadHeader("Content-Type");
        let v = super::trim_bytes(value);
        let slash = v.iter().position(|c| *c == b'/').ok_or(bad.clone())?;
        let end = v.iter().position(|c| *c == b';').unwrap_or(v.len());
        if end < slash {
            return Err(bad);
        }
        let kind = super::trim_bytes(&v.slice(..slash));
        let subtype = super::trim_bytes(&v.slice(slash + 1..end));
        for t in [&kind, &subtype] {
            if t.is_empty() || !t.iter().all(|c| is_token_char(*c)) {
                return Err(bad);
            }
        }
        let params = Params::parse(&v.slice(end..), true).ok_or(bad)?;
        Ok(ContentType { kind, subtype, params })
    }
}
