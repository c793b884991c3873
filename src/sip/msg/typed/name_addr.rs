//! name-addr / addr-spec with header parameters (RFC 3261 §20.10, §20.20,
//! §20.39, §25.1): the shape of From, To, Contact, Route, Record-Route and
//! Refer-To values.

use super::TypedHeader;
use crate::sip::msg::params::Params;
use crate::sip::msg::parse::is_token_char;
use crate::sip::msg::{HeaderName, ParseError, Uri};
use bytes::{BufMut, Bytes, BytesMut};

/// `"Display" <uri>;tag=x` or `uri;tag=x` (RFC 3261 §25.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, raw (quotes kept if it was quoted).
    pub display: Option<Bytes>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (after the URI, outside `<>`).
    pub params: Params,
}

impl NameAddr {
    /// Parses one value; `header` names the header in the error (RFC 3261 §25.1).
    pub fn parse_header(value: &Bytes, header: &'static str) -> Result<NameAddr, ParseError> {
        let bad = ParseError::BadHeader(header);
        let s = &value[..];
        let mut i = 0;
        while i < s.len() && is_lws(s[i]) {
            i += 1;
        }
        let mut display = None;
        if s.get(i) == Some(&b'"') {
            let ds = i;
            i += 1;
            let mut closed = false;
            while i < s.len() {
                match s[i] {
                    b'\\' => i += 2,
                    b'"' => {
                        i += 1;
                        closed = true;
                        break;
                    }
                    _ => i += 1,
                }
            }
            if !closed {
                return Err(bad);
            }
            display = Some(value.slice(ds..i));
            while i < s.len() && is_lws(s[i]) {
                i += 1;
            }
            if s.get(i) != Some(&b'<') {
                return Err(bad);
            }
        } else if let Some(lt) = s[i..].iter().position(|c| *c == b'<') {
            let d = &s[i..i + lt];
            if !d.iter().all(|c| is_token_char(*c) || is_lws(*c)) {
                return Err(bad);
            }
            let dt = super::trim_ws(d);
            if !dt.is_empty() {
                display = Some(value.slice_ref(dt));
            }
            i += lt;
        }
        let (uri_raw, rest_start) = if s.get(i) == Some(&b'<') {
            let close = s[i..].iter().position(|c| *c == b'>').ok_or(bad.clone())? + i;
            (value.slice(i + 1..close), close + 1)
        } else {
            let end = s[i..]
                .iter()
                .position(|c| *c == b';' || is_lws(*c))
                .map(|p| p + i)
                .unwrap_or(s.len());
            let raw = value.slice(i..end);
            if raw.contains(&b'?') || raw.contains(&b',') {
                return Err(bad);
            }
            (raw, end)
        };
        let uri = Uri::parse(&uri_raw).ok_or(bad.clone())?;
        let params = Params::parse(&value.slice(rest_start..), true).ok_or(bad)?;
        Ok(NameAddr { display, uri, params })
    }

    /// A name-addr for `uri` with no display name or parameters (RFC 3261 §25.1).
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    /// The `tag` parameter (§19.3).
    pub fn tag(&self) -> Option<Bytes> {
        self.params.value("tag")
    }

    /// The printed value, always in `<uri>` form (RFC 3261 §25.1).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(96);
        if let Some(d) = &self.display {
            out.put_slice(d);
            out.put_u8(b' ');
        }
        out.put_u8(b'<');
        self.uri.write(&mut out);
        out.put_u8(b'>');
        self.params.write(&mut out);
        out.freeze()
    }
}

/// From (§20.20).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct From(pub NameAddr);

impl TypedHeader for From {
    const NAME: HeaderName = HeaderName::From;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        NameAddr::parse_header(value, "From").map(From)
    }
}

/// To (§20.39).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct To(pub NameAddr);

impl TypedHeader for To {
    const NAME: HeaderName = HeaderName::To;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        NameAddr::parse_header(value, "To").map(To)
    }
}

fn is_lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Refer-To (RFC 3515 §2.1): the target of a REFER, one name-addr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferTo(pub NameAddr);

impl TypedHeader for ReferTo {
    const NAME: HeaderName = HeaderName::ReferTo;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        NameAddr::parse_header(value, "Refer-To").map(ReferTo)
    }
}

/// Route (§20.34): one header line's route values, in order. A message's
/// full route set is every Route line's values ([`crate::sip::msg::Headers::values`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route(pub Vec<NameAddr>);

impl TypedHeader for Route {
    const NAME: HeaderName = HeaderName::Route;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        parse_list(value, "Route").map(Route)
    }
}

/// Record-Route (§20.30): one header line's values, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRoute(pub Vec<NameAddr>);

impl TypedHeader for RecordRoute {
    const NAME: HeaderName = HeaderName::RecordRoute;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        parse_list(value, "Record-Route").map(RecordRoute)
    }
}

/// Call-ID (§20.8): a word, compared byte for byte; empty or containing
/// whitespace is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallId(pub Bytes);

impl TypedHeader for CallId {
    const NAME: HeaderName = HeaderName::CallId;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        let v = super::trim_bytes(value);
        if v.is_empty() || v.iter().any(|c| c.is_ascii_whitespace()) {
            return Err(ParseError::BadHeader("Call-ID"));
        }
        Ok(CallId(v))
    }
}

/// Every comma-separated name-addr of one header line (Route, Record-Route).
fn parse_list(value: &Bytes, header: &'static str) -> Result<Vec<NameAddr>, ParseError> {
    crate::sip::msg::split_list(value)
        .iter()
        .map(|item| NameAddr::parse_header(item, header))
        .collect()
}
