//! Session timer and dialog-replacement headers: Session-Expires
//! (RFC 4028 §4), Min-SE (RFC 4028 §5) and Replaces (RFC 3891 §6.1).

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

impl SessionExpires {
    /// The `refresher` parameter (`uac` or `uas`, case-insensitive;
    /// RFC 4028 §4), `None` when absent or another value.
    pub fn refresher(&self) -> Option<RefresherParam> {
        let v = self.params.value("refresher")?;
        if v.eq_ignore_ascii_case(b"uac") {
            Some(RefresherParam::Uac)
        } else if v.eq_ignore_ascii_case(b"uas") {
            Some(RefresherParam::Uas)
        } else {
            None
        }
    }
}

/// The `refresher` parameter of Session-Expires (RFC 4028 §4): which side
/// of the dialog's initial INVITE refreshes the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefresherParam {
    /// The UAC of the initial INVITE.
    Uac,
    /// The UAS of the initial INVITE.
    Uas,
}

impl RefresherParam {
    /// The parameter's value as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            RefresherParam::Uac => "uac",
            RefresherParam::Uas => "uas",
        }
    }
}

/// `Min-SE: 90` (RFC 4028 §5): the smallest session interval the sender
/// accepts, in seconds (generic parameters are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinSe(pub u32);

impl TypedHeader for MinSe {
    const NAME: HeaderName = HeaderName::MinSe;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        let end = value.iter().position(|c| *c == b';').unwrap_or(value.len());
        super::parse_u32(&value[..end])
            .map(MinSe)
            .ok_or(ParseError::BadHeader("Min-SE"))
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
