//! CSeq (RFC 3261 §20.16): sequence number (< 2**31, §8.1.1.5) and method.

use super::{trim_ws, TypedHeader};
use crate::sip::msg::{HeaderName, Method, ParseError};
use bytes::Bytes;

/// `CSeq: 4711 INVITE` (RFC 3261 §20.16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number.
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses the value; the number must be below 2**31 (RFC 3261 §8.1.1.5).
    pub fn parse(value: &Bytes) -> Result<CSeq, ParseError> {
        let bad = ParseError::BadHeader("CSeq");
        let v = trim_ws(value);
        let sp = v.iter().position(|c| *c == b' ' || *c == b'\t').ok_or(bad.clone())?;
        let num = &v[..sp];
        let seq = super::parse_u32(num).filter(|n| *n < 1 << 31).ok_or(bad.clone())?;
        let m = trim_ws(&v[sp..]);
        if m.is_empty() || !m.iter().all(|c| crate::sip::msg::parse::is_token_char(*c)) {
            return Err(bad);
        }
        Ok(CSeq {
            seq,
            method: Method::from_bytes(value.slice_ref(m)),
        })
    }

    /// The printed value (RFC 3261 §20.16).
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(format!("{} {}", self.seq, self.method))
    }
}

impl TypedHeader for CSeq {
    const NAME: HeaderName = HeaderName::CSeq;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        CSeq::parse(value)
    }
}
