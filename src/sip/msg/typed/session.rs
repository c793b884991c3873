//! Session timer and dialog-replacement headers: Session-Expires
//! (RFC 4028 §4) and Replaces (RFC 3891 §6.1).

use super::TypedHeader;
use crate::sip::msg::params::Params;
use crate::sip::msg::{HeaderName, ParseError};
use bytes::Bytes;

/// `Session-Expires: 1800;refresher=uac` (RFC 4028 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionExpires {
    /// Interval in seconds.
    pub seconds: u32,
    /// Parameters (`refresher`).
    pub params: Params,
}

impl TypedHeader for SessionExpires {
    const NAME: HeaderName = HeaderName::SessionExpires;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        let bad = ParseError::BadHeader("Session-Expires");
        let end = value.iter().position(|c| *c == b';').unwrap_or(value.len());
        let seconds = super::parse_u32(&value[..end]).ok_or(bad.clone())?;
        let params = Params::parse(&value.slice(end..), true).ok_or(bad)?;
        Ok(SessionExpires { seconds, params })
    }
}

/// `Replaces: call-id;to-tag=a;from-tag=b[;early-only]` (RFC 3891 §6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replaces {
    /// The Call-ID of the dialog to replace.
    pub call_id: Bytes,
    /// Its to-tag and from-tag.
    pub to_tag: Bytes,
    /// From-tag.
    pub from_tag: Bytes,
    /// `early-only` flag.
    pub early_only: bool,
}

impl TypedHeader for Replaces {
    const NAME: HeaderName = HeaderName::Replaces;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        let bad = ParseError::BadHeader("Replaces");
        let v = super::trim_bytes(value);
        let end = v.iter().position(|c| *c == b';').unwrap_or(v.len());
        let call_id = super::trim_bytes(&v.slice(..end));
        let params = Params::parse(&v.slice(end..), true).ok_or(bad.clone())?;
        let to_tag = params.value("to-tag").ok_or(bad.clone())?;
        let from_tag = params.value("from-tag").ok_or(bad.clone())?;
        if call_id.is_empty() {
            return Err(bad);
        }
        Ok(Replaces {
            call_id,
            to_tag,
            from_tag,
            early_only: params.has("early-only"),
        })
    }
}
