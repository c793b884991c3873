//! Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44, §22.4;
//! RFC 8760): a scheme and its comma-separated `name=value` parameters.

use super::TypedHeader;
use crate::sip::msg::parse::is_token_char;
use crate::sip::msg::{split_list, HeaderName, ParseError};
use bytes::Bytes;

/// Scheme plus parameters, values unquoted. Shared by challenges and credentials (RFC 3261 §22.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthParams {
    /// `Digest`, or another scheme (RFC 4475 `regaut01`: `NoOneKnowsThisScheme`).
    pub scheme: Bytes,
    /// Parameters, in order.
    pub params: Vec<(Bytes, Bytes)>,
}

impl AuthParams {
    fn parse(value: &Bytes, label: &'static str) -> Result<AuthParams, ParseError> {
        let bad = ParseError::BadHeader(label);
        let v = super::trim_bytes(value);
        let end = v.iter().position(|c| *c == b' ' || *c == b'\t').unwrap_or(v.len());
        let scheme = v.slice(..end);
        if scheme.is_empty() || !scheme.iter().all(|c| is_token_char(*c)) {
            return Err(bad);
        }
        let mut params = Vec::new();
        for item in split_list(&v.slice(end..)) {
            if item.is_empty() {
                continue;
            }
            let eq = item.iter().position(|c| *c == b'=').ok_or(bad.clone())?;
            let name = super::trim_bytes(&item.slice(..eq));
            let val = super::trim_bytes(&item.slice(eq + 1..));
            if name.is_empty() || !name.iter().all(|c| is_token_char(*c)) {
                return Err(bad);
            }
            params.push((name, crate::sip::msg::params::unquote(&val)));
        }
        Ok(AuthParams { scheme, params })
    }

    /// True for the Digest scheme (RFC 3261 §22.4, RFC 8760).
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case(b"Digest")
    }

    /// A parameter's (unquoted) value (RFC 3261 §22.4).
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// A parameter as UTF-8 text (RFC 3261 §22.4).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// WWW-Authenticate / Proxy-Authenticate value (RFC 3261 §20.44, §20.27).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge(pub AuthParams);

impl Challenge {
    /// Parses a challenge (RFC 3261 §22.4).
    pub fn parse(value: &Bytes) -> Result<Challenge, ParseError> {
        AuthParams::parse(value, "WWW-Authenticate").map(Challenge)
    }
}

impl TypedHeader for Challenge {
    const NAME: HeaderName = HeaderName::WwwAuthenticate;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        Challenge::parse(value)
    }
}

/// Authorization / Proxy-Authorization value (RFC 3261 §20.7, §20.28).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials(pub AuthParams);

impl Credentials {
    /// Parses credentials (RFC 3261 §22.4).
    pub fn parse(value: &Bytes) -> Result<Credentials, ParseError> {
        AuthParams::parse(value, "Authorization").map(Credentials)
    }
}

impl TypedHeader for Credentials {
    const NAME: HeaderName = HeaderName::Authorization;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        Credentials::parse(value)
    }
}
