//! Small network value types of the config: RTP port ranges and CIDR blocks.
//!
//! Parsed once at load so the engine never re-parses strings like
//! `"16384-32767"` or `"10.0.0.0/8"` (DESIGN.md convention 5).

use std::fmt;
use std::net::IpAddr;

/// An inclusive UDP port range for RTP/RTCP, never empty and never starting
/// at port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    lo: u16,
    hi: u16,
}

impl PortRange {
    /// The default range, 16384-32767.
    pub const DEFAULT: PortRange = PortRange { lo: 16384, hi: 32767 };

    /// A range `lo..=hi`; it must hold at least two ports (one RTP/RTCP pair)
    /// and not include port 0.
    pub fn new(lo: u16, hi: u16) -> Result<Self, String> {
        if lo == 0 {
            return Err("RTP port range must not include port 0".into());
        }
        if hi < lo {
            return Err(format!("RTP port range {lo}-{hi} is empty (end before start)"));
        }
        if hi - lo < 1 {
            return Err(format!(
                "RTP port range {lo}-{hi} holds one port; it needs at least an RTP/RTCP pair"
            ));
        }
        Ok(Self { lo, hi })
    }

    /// First port.
    pub fn lo(&self) -> u16 {
        self.lo
    }

    /// Last port (inclusive).
    pub fn hi(&self) -> u16 {
        self.hi
    }

    /// Number of ports in the range.
    pub fn len(&self) -> usize {
        usize::from(self.hi - self.lo) + 1
    }

    /// Always false: a `PortRange` holds at least two ports.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// True if `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }
}

impl std::str::FromStr for PortRange {
    type Err = String;

    /// Parses `"lo-hi"`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (lo, hi) = s
            .split_once('-')
            .ok_or_else(|| format!("RTP port range `{s}` must look like \"16384-32767\""))?;
        let port = |p: &str| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| format!("`{}` in RTP port range is not a port (1-65535)", p.trim()))
        };
        Self::new(port(lo)?, port(hi)?)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.lo, self.hi)
    }
}

/// An IP network (`10.0.0.0/8`, `::1/128`) or a single address (`127.0.0.1`,
/// stored with a full-length prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// A network; `prefix_len` must not exceed 32 (IPv4) or 128 (IPv6).
    /// Host bits of `addr` are cleared.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Result<Self, String> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return Err(format!("prefix length /{prefix_len} exceeds {max} for {addr}"));
        }
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask32(prefix_len)).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask128(prefix_len)).into()),
        };
        Ok(Self { addr, prefix_len })
    }

    /// Network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// True if `ip` is inside this network. IPv4-mapped IPv6 addresses
    /// (`::ffff:a.b.c.d`) match IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => u32::from(a) & mask32(self.prefix_len) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(a)) => u128::from(a) & mask128(self.prefix_len) == u128::from(net),
            _ => false,
        }
    }
}

fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

impl std::str::FromStr for Cidr {
    type Err = String;

    /// Parses `addr` or `addr/len`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not an IP address or CIDR block (e.g. \"10.0.0.0/8\")");
        match s.split_once('/') {
            None => {
                let addr: IpAddr = s.parse().map_err(|_| bad())?;
                let len = if addr.is_ipv4() { 32 } else { 128 };
                Self::new(addr, len)
            }
            Some((a, l)) => {
                let addr: IpAddr = a.parse().map_err(|_| bad())?;
                let len: u8 = l.parse().map_err(|_| bad())?;
                Self::new(addr, len)
            }
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// A web origin (RFC 6454 §6.2 serialization) as written in `[api]
/// allowed_origins`: `http://` or `https://`, a host and an optional port,
/// nothing after (a trailing `/` is dropped); lowercased, since the
/// browser's `Origin` header is compared with it.
pub fn web_origin(text: &str) -> Result<String, String> {
    let t = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .ok_or_else(|| format!("origin `{text}` must start with http:// or https://"))?;
    let bad = rest.is_empty()
        || rest
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')));
    if bad {
        return Err(format!(
            "origin `{text}` must be a scheme, a host and an optional port, like https://desk.example.com"
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range_parses_and_rejects_empty() {
        let r: PortRange = "16384-32767".parse().unwrap();
        assert_eq!((r.lo(), r.hi(), r.len()), (16384, 32767, 16384));
        assert!("200-100".parse::<PortRange>().is_err());
        assert!("100-100".parse::<PortRange>().is_err());
        assert!("0-100".parse::<PortRange>().is_err());
        assert!("abc".parse::<PortRange>().is_err());
        assert!("1-70000".parse::<PortRange>().is_err());
    }

    #[test]
    fn cidr_contains() {
        let n: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(n.to_string(), "10.0.0.0/8");
        assert!(n.contains("10.200.0.1".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.0.0.9".parse().unwrap()));
        let h: Cidr = "127.0.0.1".parse().unwrap();
        assert!(h.contains("127.0.0.1".parse().unwrap()));
        assert!(!h.contains("127.0.0.2".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nope".parse::<Cidr>().is_err());
    }
}
