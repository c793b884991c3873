//! Via (RFC 3261 §20.42, §18.2.1; RFC 3581 `rport`): one value of the list.

use super::TypedHeader;
use crate::sip::msg::params::Params;
use crate::sip::msg::{HeaderName, Host, ParseError};
use bytes::{BufMut, Bytes, BytesMut};

/// The transport named in a Via (unknown ones kept, RFC 4475 `transports`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP
    Udp,
    /// TCP
    Tcp,
    /// TLS
    Tls,
    /// SCTP
    Sctp,
    /// WS (RFC 7118)
    Ws,
    /// WSS (RFC 7118)
    Wss,
    /// Anything else.
    Other(Bytes),
}

impl Transport {
    fn parse(b: Bytes) -> Transport {
        const KNOWN: [(&[u8], Transport); 6] = [
            (b"UDP", Transport::Udp),
            (b"TCP", Transport::Tcp),
            (b"TLS", Transport::Tls),
            (b"SCTP", Transport::Sctp),
            (b"WS", Transport::Ws),
            (b"WSS", Transport::Wss),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| b.eq_ignore_ascii_case(name))
            .map(|(_, t)| t)
            .unwrap_or(Transport::Other(b))
    }

    /// The name as printed in a Via (RFC 3261 §20.42).
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(b) => std::str::from_utf8(b).unwrap_or("UDP"),
        }
    }

    /// True for connection-oriented transports (RFC 3261 §18).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp | Transport::Other(_))
    }
}

/// One Via value: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport` (RFC 3261 §20.42).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// The transport.
    pub transport: Transport,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Via parameters (branch, received, rport, maddr, ttl, ...).
    pub params: Params,
}

/// The RFC 3261 magic cookie that starts every compliant branch (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

impl Via {
    /// Parses one Via value (LWS allowed around `/`, RFC 4475 `wsinv`).
    pub fn parse(value: &Bytes) -> Result<Via, ParseError> {
        let bad = ParseError::BadHeader("Via");
        let s = &value[..];
        let mut i = 0;
        let mut parts: Vec<Bytes> = Vec::with_capacity(3);
        for k in 0..3 {
            while i < s.len() && is_lws(s[i]) {
                i += 1;
            }
            let st = i;
            while i < s.len() && super::super::parse::is_token_char(s[i]) {
                i += 1;
            }
            if st == i {
                return Err(bad);
            }
            parts.push(value.slice(st..i));
            while i < s.len() && is_lws(s[i]) {
                i += 1;
            }
            if k < 2 {
                if s.get(i) != Some(&b'/') {
                    return Err(bad);
                }
                i += 1;
            }
        }
        if !parts[0].eq_ignore_ascii_case(b"SIP") || &parts[1][..] != b"2.0" {
            return Err(bad);
        }
        let transport = Transport::parse(parts[2].clone());
        // sent-by
        let hs = i;
        let (host_end, after) = if s.get(i) == Some(&b'[') {
            let close = s[i..].iter().position(|c| *c == b']').ok_or(bad.clone())? + i;
            (close + 1, close + 1)
        } else {
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.' || s[i] == b'-') {
                i += 1;
            }
            (i, i)
        };
        if host_end == hs {
            return Err(bad);
        }
        let host = Host(value.slice(hs..host_end));
        if s[hs] == b'[' && host.ip().is_none() {
            return Err(bad);
        }
        let mut i = after;
        while i < s.len() && is_lws(s[i]) {
            i += 1;
        }
        let mut port = None;
        if s.get(i) == Some(&b':') {
            i += 1;
            while i < s.len() && is_lws(s[i]) {
                i += 1;
            }
            let ps = i;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            port = Some(
                std::str::from_utf8(&s[ps..i])
                    .ok()
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or(bad.clone())?,
            );
        }
        let params = Params::parse(&value.slice(i..), true).ok_or(bad)?;
        Ok(Via {
            transport,
            host,
            port,
            params,
        })
    }

    /// The branch parameter (RFC 3261 §8.1.1.7).
    pub fn branch(&self) -> Option<Bytes> {
        self.params.value("branch")
    }

    /// True when the branch starts with the RFC 3261 magic cookie and has
    /// something after it (RFC 4475 `badbranch` has only the cookie).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .map(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE.as_bytes()))
            .unwrap_or(false)
    }

    /// The `received` parameter (RFC 3261 §18.2.1).
    pub fn received(&self) -> Option<Bytes> {
        self.params.value("received")
    }

    /// `Some(None)` for a bare `rport`, `Some(Some(port))` once filled (RFC 3581 §4).
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| std::str::from_utf8(p).ok()?.parse().ok()))
    }

    /// A new Via for a request we send (RFC 3261 §8.1.1.7, RFC 3581 §3).
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::default();
        params.set("branch", Some(Bytes::copy_from_slice(branch.as_bytes())));
        params.set("rport", None);
        Via {
            transport,
            host,
            port,
            params,
        }
    }

    /// The printed value (RFC 3261 §20.42).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(96);
        out.put_slice(b"SIP/2.0/");
        out.put_slice(self.transport.as_str().as_bytes());
        out.put_u8(b' ');
        out.put_slice(&self.host.0);
        if let Some(p) = self.port {
            out.put_u8(b':');
            crate::sip::msg::print::put_decimal(&mut out, u64::from(p));
        }
        self.params.write(&mut out);
        out.freeze()
    }
}

impl TypedHeader for Via {
    const NAME: HeaderName = HeaderName::Via;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        Via::parse(value)
    }
}

fn is_lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}
