//! URIs (RFC 3261 §19.1, RFC 3966 `tel:`): SIP/SIPS URIs are split into
//! user, password, host, port, parameters and headers; `tel:` keeps the
//! number as its user part; any other scheme is kept raw so that a UAS can
//! answer 416 (§8.2.2.1).

use super::params::Params;
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;
use std::net::IpAddr;

/// A URI scheme (RFC 3261 §19.1, §8.2.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:`
    Tel,
    /// Anything else (kept so the error can name it).
    Other(Bytes),
}

/// The host part: a domain name, an IPv4 address or a bracketed IPv6 reference (RFC 3261 §19.1.1, §25.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host(pub Bytes);

impl Host {
    /// The host as an IP address, if it is one (brackets removed) (RFC 3261 §19.1.1).
    pub fn ip(&self) -> Option<IpAddr> {
        let s = std::str::from_utf8(&self.0).ok()?;
        let s = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(s);
        s.parse().ok()
    }

    /// The host text (RFC 3261 §19.1.1).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// A host for an address: IPv6 is bracketed (§19.1.1 IPv6reference).
    pub fn from_ip(ip: IpAddr) -> Host {
        match ip {
            IpAddr::V4(a) => Host(Bytes::from(a.to_string())),
            IpAddr::V6(a) => Host(Bytes::from(format!("[{a}]"))),
        }
    }
}

/// A parsed URI. For `Scheme::Other` only `raw` is meaningful (RFC 3261 §19.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part, still %-escaped (RFC 4475 `escnull`: never truncated).
    pub user: Option<Bytes>,
    /// The password part, if any.
    pub password: Option<Bytes>,
    /// The host (empty for `tel:` and unknown schemes).
    pub host: Host,
    /// The port, if given.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params,
    /// URI headers after `?`, raw (never turned into message headers).
    pub headers: Option<Bytes>,
    /// The text after the scheme's colon, for unknown schemes.
    pub opaque: Bytes,
}

impl Uri {
    /// Parses a URI; `None` if it is malformed (RFC 3261 §19.1).
    pub fn parse(raw: &Bytes) -> Option<Uri> {
        let colon = raw.iter().position(|&c| c == b':')?;
        let scheme_raw = &raw[..colon];
        if scheme_raw.is_empty()
            || !scheme_raw[0].is_ascii_alphabetic()
            || !scheme_raw
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
        {
            return None;
        }
        let rest = raw.slice(colon + 1..);
        if rest.is_empty() || rest.iter().any(|c| c.is_ascii_whitespace() || c.is_ascii_control()) {
            return None;
        }
        let scheme = if scheme_raw.eq_ignore_ascii_case(b"sip") {
            Scheme::Sip
        } else if scheme_raw.eq_ignore_ascii_case(b"sips") {
            Scheme::Sips
        } else if scheme_raw.eq_ignore_ascii_case(b"tel") {
            Scheme::Tel
        } else {
            return Some(Uri {
                scheme: Scheme::Other(raw.slice(..colon)),
                user: None,
                password: None,
                host: Host(Bytes::new()),
                port: None,
                params: Params::default(),
                headers: None,
                opaque: rest,
            });
        };
        if scheme == Scheme::Tel {
            let end = rest.iter().position(|&c| c == b';').unwrap_or(rest.len());
            let params = Params::parse(&rest.slice(end..), false)?;
            if end == 0 {
                return None;
            }
            return Some(Uri {
                scheme,
                user: Some(rest.slice(..end)),
                password: None,
                host: Host(Bytes::new()),
                port: None,
                params,
                headers: None,
                opaque: Bytes::new(),
            });
        }
        // sip / sips: [userinfo@]hostport[;params][?headers]
        let (user, password, hp_start) = match rest.iter().position(|&c| c == b'@') {
            Some(at) => {
                let userinfo = &rest[..at];
                if userinfo.is_empty() {
                    return None;
                }
                match userinfo.iter().position(|&c| c == b':') {
                    Some(pc) => (Some(rest.slice(..pc)), Some(rest.slice(pc + 1..at)), at + 1),
                    None => (Some(rest.slice(..at)), None, at + 1),
                }
            }
            None => (None, None, 0),
        };
        let tail = rest.slice(hp_start..);
        let (host, after_host) = if tail.first() == Some(&b'[') {
            let close = tail.iter().position(|&c| c == b']')?;
            let h = tail.slice(..close + 1);
            let inner = std::str::from_utf8(&h[1..h.len() - 1]).ok()?;
            if !is_ipv6_reference(inner) {
                return None;
            }
            (h, close + 1)
        } else {
            let end = tail
                .iter()
                .position(|&c| c == b':' || c == b';' || c == b'?')
                .unwrap_or(tail.len());
            let h = tail.slice(..end);
            if h.is_empty() || !h.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.') {
                return None;
            }
            (h, end)
        };
        let mut i = after_host;
        let mut port = None;
        if tail.get(i) == Some(&b':') {
            let ps = i + 1;
            i = ps;
            while i < tail.len() && tail[i].is_ascii_digit() {
                i += 1;
            }
            let digits = std::str::from_utf8(&tail[ps..i]).ok()?;
            port = Some(digits.parse::<u16>().ok()?);
        }
        let qpos = tail[i..].iter().position(|&c| c == b'?').map(|p| p + i);
        let params_end = qpos.unwrap_or(tail.len());
        let params = Params::parse(&tail.slice(i..params_end), false)?;
        let headers = qpos.map(|q| tail.slice(q + 1..));
        if let Some(user) = &user {
            if !valid_escapes(user) {
                return None;
            }
        }
        Some(Uri {
            scheme,
            user,
            password,
            host: Host(host),
            port,
            params,
            headers,
            opaque: Bytes::new(),
        })
    }

    /// A `sip:` URI for `user@host:port` (RFC 3261 §19.1).
    pub fn sip(user: Option<&str>, host: Host, port: Option<u16>) -> Uri {
        Uri {
            scheme: Scheme::Sip,
            user: user.map(|u| Bytes::copy_from_slice(u.as_bytes())),
            password: None,
            host,
            port,
            params: Params::default(),
            headers: None,
            opaque: Bytes::new(),
        }
    }

    /// The user part with %-escapes decoded (lossy UTF-8) (RFC 3261 §19.1.2, RFC 4475 §3.1.1.4).
    pub fn user_unescaped(&self) -> Option<String> {
        self.user.as_ref().map(|u| {
            let mut out = Vec::with_capacity(u.len());
            let mut i = 0;
            while i < u.len() {
                if u[i] == b'%' && i + 2 < u.len() {
                    if let Some(v) = hex_pair(u[i + 1], u[i + 2]) {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                }
                out.push(u[i]);
                i += 1;
            }
            String::from_utf8_lossy(&out).into_owned()
        })
    }

    /// True for `sip:` and `sips:` (RFC 3261 §19.1).
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// Writes the URI (RFC 3261 §19.1).
    pub fn write(&self, out: &mut BytesMut) {
        match &self.scheme {
            Scheme::Sip => out.put_slice(b"sip:"),
            Scheme::Sips => out.put_slice(b"sips:"),
            Scheme::Tel => out.put_slice(b"tel:"),
            Scheme::Other(s) => {
                out.put_slice(s);
                out.put_u8(b':');
                out.put_slice(&self.opaque);
                return;
            }
        }
        if let Some(u) = &self.user {
            out.put_slice(u);
            if let Some(p) = &self.password {
                out.put_u8(b':');
                out.put_slice(p);
            }
            if self.scheme != Scheme::Tel {
                out.put_u8(b'@');
            }
        }
        out.put_slice(&self.host.0);
        if let Some(p) = self.port {
            out.put_u8(b':');
            super::print::put_decimal(out, u64::from(p));
        }
        self.params.write(out);
        if let Some(h) = &self.headers {
            out.put_u8(b'?');
            out.put_slice(h);
        }
    }

    /// The URI as bytes (RFC 3261 §19.1).
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(64);
        self.write(&mut b);
        b.freeze()
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// The text inside an IPv6reference's brackets (RFC 3261 §19.1.1, §25.1):
/// an RFC 4291 §2.2 address, or the one form RFC 3261's own ABNF (taken from
/// the obsoleted RFC 2373) also derives, `hexseq "::" ":" IPv4address`: an
/// extra colon before an embedded IPv4 address (`2001:db8:::192.0.2.1`).
/// RFC 5118 §4.10 asks a parser to tolerate it (it may ignore the extra
/// colon), so it is accepted exactly when dropping that colon gives an
/// RFC 4291 address; the host keeps its text as received, and [`Host::ip`]
/// does not read it.
fn is_ipv6_reference(inner: &str) -> bool {
    if inner.parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    let Some(at) = inner.find(":::") else {
        return false;
    };
    let (hex, v4) = (&inner[..at], &inner[at + 3..]);
    v4.parse::<std::net::Ipv4Addr>().is_ok() && format!("{hex}::{v4}").parse::<std::net::Ipv6Addr>().is_ok()
}

fn valid_escapes(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if i + 2 >= s.len() {
                return false;
            }
            if !(s[i + 1].is_ascii_hexdigit() && s[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn hex_pair(a: u8, b: u8) -> Option<u8> {
    let d = |c: u8| (c as char).to_digit(16);
    Some((d(a)? * 16 + d(b)?) as u8)
}
