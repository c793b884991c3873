//! The SDP data model and its printer (RFC 8866 §5, which obsoletes RFC 4566 §5).
//!
//! A session description is `v=`, `o=` (§5.2), `s=` (§5.3), then session-level
//! lines, then media sections opened by `m=` (§5.14). Lines this model types
//! (`c=` §5.7, and the attributes `rtpmap`/`fmtp`/`ptime`/`maxptime` §6.4–§6.6,
//! §6.15, the direction attributes §6.7, `rtcp` RFC 3605 §2.1, `crypto`
//! RFC 4568 §9.1) are parsed into structs; every other line (`i=`, `b=`, `t=`,
//! `k=`, unknown `a=`...) is kept verbatim as text. Lines keep their input
//! order at each level, so printing a parsed, well-formed description gives
//! back the input byte for byte (numbers are printed in canonical decimal:
//! an input number with leading zeros is the one exception).

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use super::codec::{Codec, PayloadFormat};

/// A whole session description (RFC 8866 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sdp {
    /// The `o=` line (§5.2).
    pub origin: Origin,
    /// The `s=` value (§5.3), possibly empty or `-`.
    pub session_name: String,
    /// Session-level lines after `s=` and before the first `m=`, in order (§5).
    pub lines: Vec<Line>,
    /// Media sections in order (§5.14).
    pub media: Vec<Media>,
    /// Line terminator used when printing (detected from the first input line).
    pub line_ending: LineEnding,
}

/// The line terminator (RFC 8866 §5: CRLF, but LF alone is accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LineEnding {
    /// `\r\n`, the standard terminator.
    #[default]
    Crlf,
    /// `\n` alone, as some implementations send.
    Lf,
}

impl LineEnding {
    fn as_str(self) -> &'static str {
        match self {
            LineEnding::Crlf => "\r\n",
            LineEnding::Lf => "\n",
        }
    }
}

/// The `o=` line: `<username> <sess-id> <sess-version> IN <addrtype> <address>` (RFC 8866 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The user name, `-` when none.
    pub username: String,
    /// The session id, an opaque string of digits (kept verbatim).
    pub session_id: String,
    /// The session version, incremented on each modification (RFC 3264 §8).
    pub session_version: u64,
    /// The address type.
    pub addr_type: AddrType,
    /// The originating address (a literal or a host name).
    pub address: String,
}

/// The address type of `o=`/`c=` (RFC 8866 §5.2, §5.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrType {
    /// `IP4`.
    Ip4,
    /// `IP6`.
    Ip6,
    /// Any other token, kept verbatim.
    Other(String),
}

impl AddrType {
    /// The address type matching an IP address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => AddrType::Ip4,
            IpAddr::V6(_) => AddrType::Ip6,
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "IP4" => AddrType::Ip4,
            "IP6" => AddrType::Ip6,
            other => AddrType::Other(other.to_owned()),
        }
    }

    /// The token as printed.
    pub fn as_str(&self) -> &str {
        match self {
            AddrType::Ip4 => "IP4",
            AddrType::Ip6 => "IP6",
            AddrType::Other(s) => s,
        }
    }
}

/// A `c=` line: `IN <addrtype> <connection-address>` (RFC 8866 §5.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The address type.
    pub addr_type: AddrType,
    /// The address, verbatim, including any multicast `/ttl/count` suffix.
    pub address: String,
}

impl Connection {
    /// A connection line for a unicast IP address.
    pub fn ip(ip: IpAddr) -> Self {
        Connection {
            addr_type: AddrType::of(ip),
            address: ip.to_string(),
        }
    }

    /// The address as an IP literal, if it is one (any `/ttl` suffix removed).
    pub fn ip_addr(&self) -> Option<IpAddr> {
        let a = self.address.split('/').next().unwrap_or("");
        a.parse().ok()
    }

    /// True for `0.0.0.0`, the RFC 2543 way to put a stream on hold (RFC 3264 §8.4).
    pub fn is_unspecified(&self) -> bool {
        self.ip_addr().is_some_and(|ip| ip.is_unspecified())
    }
}

/// One line after `s=` at either level (RFC 8866 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// `c=` (§5.7).
    Connection(Connection),
    /// `a=` (§5.13).
    Attribute(Attribute),
    /// Any other line (`i= u= e= p= b= t= r= z= k=`), kept verbatim.
    Other {
        /// The type letter.
        kind: char,
        /// The text after `=`.
        value: String,
    },
}

/// Media direction attributes (RFC 8866 §6.7, RFC 3264 §5.1), from the point
/// of view of the side whose description carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    #[default]
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// Builds a direction from whether it sends and whether it receives.
    pub fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// True if this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// True if this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other side: sendonly ↔ recvonly (RFC 3264 §6.1).
    pub fn reversed(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both allow: sends only if both send, receives only if both receive.
    pub fn intersect(self, other: Direction) -> Self {
        Direction::from_flags(self.sends() && other.sends(), self.receives() && other.receives())
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<params>]` (RFC 8866 §6.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rtpmap {
    /// The payload type number.
    pub pt: u8,
    /// The encoding name as written (compared case-insensitively).
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters (the channel count for audio), verbatim.
    pub params: Option<String>,
}

impl Rtpmap {
    /// The codec this mapping names.
    pub fn codec(&self) -> Codec {
        Codec::from_rtpmap(&self.encoding, self.clock_rate, self.params.as_deref())
    }
}

/// `a=fmtp:<format> <parameters>` (RFC 8866 §6.15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (a payload type number for RTP), verbatim.
    pub format: String,
    /// The format-specific parameters, verbatim.
    pub params: String,
}

/// `a=rtcp:<port> [IN <addrtype> <address>]` (RFC 3605 §2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rtcp {
    /// The RTCP port.
    pub port: u16,
    /// The RTCP address, when it differs from the RTP one.
    pub connection: Option<Connection>,
}

/// `a=crypto:<tag> <suite> <key-params> [<session-params>]` (RFC 4568 §9.1).
/// `Debug` leaves the key parameters out: keys never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    /// The tag (a decimal number).
    pub tag: u32,
    /// The crypto suite, e.g. `AES_CM_128_HMAC_SHA1_80`.
    pub suite: String,
    /// The key parameters, e.g. `inline:<key>|2^20|1:32`, verbatim.
    pub key_params: String,
    /// Session parameters, verbatim, if any.
    pub session_params: Option<String>,
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crypto")
            .field("tag", &self.tag)
            .field("suite", &self.suite)
            .field("key_params", &"..")
            .field("session_params", &self.session_params)
            .finish()
    }
}

/// An `a=` line (RFC 8866 §5.13, §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// `a=rtpmap` (§6.6).
    Rtpmap(Rtpmap),
    /// `a=fmtp` (§6.15).
    Fmtp(Fmtp),
    /// `a=ptime:<ms>` (§6.4).
    Ptime(u32),
    /// `a=maxptime:<ms>` (§6.5).
    MaxPtime(u32),
    /// `a=sendrecv` / `sendonly` / `recvonly` / `inactive` (§6.7).
    Direction(Direction),
    /// `a=rtcp` (RFC 3605).
    Rtcp(Rtcp),
    /// `a=crypto` (RFC 4568).
    Crypto(Crypto),
    /// Any other attribute, verbatim.
    Other {
        /// The attribute name.
        name: String,
        /// The value after `:`, if there was a colon.
        value: Option<String>,
    },
}

/// The media type of an `m=` line (RFC 8866 §5.14, §8.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `text`.
    Text,
    /// `application`.
    Application,
    /// `message`.
    Message,
    /// `image` (e.g. T.38 fax).
    Image,
    /// Anything else, verbatim.
    Other(String),
}

impl MediaKind {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "text" => MediaKind::Text,
            "application" => MediaKind::Application,
            "message" => MediaKind::Message,
            "image" => MediaKind::Image,
            other => MediaKind::Other(other.to_owned()),
        }
    }

    /// The token as printed.
    pub fn as_str(&self) -> &str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Text => "text",
            MediaKind::Application => "application",
            MediaKind::Message => "message",
            MediaKind::Image => "image",
            MediaKind::Other(s) => s,
        }
    }
}

/// The transport protocol of an `m=` line (RFC 8866 §5.14, RFC 3551, RFC 3711, RFC 5124, RFC 5764).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proto {
    /// `RTP/AVP` (RFC 3551).
    RtpAvp,
    /// `RTP/AVPF` (RFC 4585).
    RtpAvpf,
    /// `RTP/SAVP` (RFC 3711).
    RtpSavp,
    /// `RTP/SAVPF` (RFC 5124).
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP` (RFC 5764).
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF` (RFC 5764).
    UdpTlsRtpSavpf,
    /// `udptl` (T.38).
    Udptl,
    /// Anything else, verbatim.
    Other(String),
}

impl Proto {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "RTP/AVP" => Proto::RtpAvp,
            "RTP/AVPF" => Proto::RtpAvpf,
            "RTP/SAVP" => Proto::RtpSavp,
            "RTP/SAVPF" => Proto::RtpSavpf,
            "UDP/TLS/RTP/SAVP" => Proto::UdpTlsRtpSavp,
            "UDP/TLS/RTP/SAVPF" => Proto::UdpTlsRtpSavpf,
            "udptl" => Proto::Udptl,
            other => Proto::Other(other.to_owned()),
        }
    }

    /// True for the RTP profiles, whose formats are payload type numbers.
    pub fn is_rtp(&self) -> bool {
        !matches!(self, Proto::Udptl | Proto::Other(_))
    }

    /// True for the plain (unencrypted) RTP profiles `RTP/AVP` and `RTP/AVPF`.
    pub fn is_plain_rtp(&self) -> bool {
        matches!(self, Proto::RtpAvp | Proto::RtpAvpf)
    }

    /// The token as printed.
    pub fn as_str(&self) -> &str {
        match self {
            Proto::RtpAvp => "RTP/AVP",
            Proto::RtpAvpf => "RTP/AVPF",
            Proto::RtpSavp => "RTP/SAVP",
            Proto::RtpSavpf => "RTP/SAVPF",
            Proto::UdpTlsRtpSavp => "UDP/TLS/RTP/SAVP",
            Proto::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Proto::Udptl => "udptl",
            Proto::Other(s) => s,
        }
    }
}

/// One format of an `m=` line (RFC 8866 §5.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fmt {
    /// An RTP payload type number (0–127), for RTP profiles.
    Pt(u8),
    /// Any other format token, verbatim (non-RTP profiles).
    Token(String),
}

impl fmt::Display for Fmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fmt::Pt(n) => write!(f, "{n}"),
            Fmt::Token(s) => f.write_str(s),
        }
    }
}

/// A media section: the `m=` line and the lines under it (RFC 8866 §5.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// The media type.
    pub kind: MediaKind,
    /// The transport port; 0 means the stream is disabled or rejected (RFC 3264 §5.1, §6).
    pub port: u16,
    /// The `/<number of ports>` suffix, if present.
    pub port_count: Option<u16>,
    /// The transport protocol.
    pub proto: Proto,
    /// The formats, in preference order.
    pub formats: Vec<Fmt>,
    /// The lines of this section after `m=`, in order.
    pub lines: Vec<Line>,
}

fn connection_of(lines: &[Line]) -> Option<&Connection> {
    lines.iter().find_map(|l| match l {
        Line::Connection(c) => Some(c),
        _ => None,
    })
}

fn attributes_of(lines: &[Line]) -> impl Iterator<Item = &Attribute> {
    lines.iter().filter_map(|l| match l {
        Line::Attribute(a) => Some(a),
        _ => None,
    })
}

fn direction_in(lines: &[Line]) -> Option<Direction> {
    attributes_of(lines).find_map(|a| match a {
        Attribute::Direction(d) => Some(*d),
        _ => None,
    })
}

fn ptime_in(lines: &[Line]) -> Option<u32> {
    attributes_of(lines).find_map(|a| match a {
        Attribute::Ptime(p) => Some(*p),
        _ => None,
    })
}

fn maxptime_in(lines: &[Line]) -> Option<u32> {
    attributes_of(lines).find_map(|a| match a {
        Attribute::MaxPtime(p) => Some(*p),
        _ => None,
    })
}

impl Sdp {
    /// Parses a session description (RFC 8866 §5); see [`super::parse()`].
    pub fn parse(input: &[u8]) -> Result<Sdp, super::ParseError> {
        super::parse::parse(input)
    }

    /// The session-level `c=` line (§5.7).
    pub fn connection(&self) -> Option<&Connection> {
        connection_of(&self.lines)
    }

    /// Session-level attributes in order (§5.13).
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        attributes_of(&self.lines)
    }

    /// The session-level direction attribute, if any (§6.7).
    pub fn direction(&self) -> Option<Direction> {
        direction_in(&self.lines)
    }

    /// The connection that applies to media section `index`: its own `c=`, else the session's (§5.7).
    pub fn media_connection(&self, index: usize) -> Option<&Connection> {
        self.media
            .get(index)
            .and_then(|m| m.connection())
            .or_else(|| self.connection())
    }

    /// The direction of media section `index`: its own attribute, else the session's, else sendrecv (§6.7).
    pub fn media_direction(&self, index: usize) -> Direction {
        self.media
            .get(index)
            .and_then(|m| m.direction())
            .or_else(|| self.direction())
            .unwrap_or_default()
    }

    /// The `a=ptime` of media section `index`, else the session-level one (§6.4).
    pub fn media_ptime(&self, index: usize) -> Option<u32> {
        self.media
            .get(index)
            .and_then(|m| m.ptime())
            .or_else(|| ptime_in(&self.lines))
    }

    /// The `a=maxptime` of media section `index`, else the session-level one (§6.5).
    pub fn media_maxptime(&self, index: usize) -> Option<u32> {
        self.media
            .get(index)
            .and_then(|m| m.maxptime())
            .or_else(|| maxptime_in(&self.lines))
    }

    /// Prints the description (§5), with [`Sdp::line_ending`] after every line.
    pub fn print(&self) -> String {
        let mut s = String::with_capacity(64 + 48 * (self.lines.len() + self.media.len() * 6));
        let _ = write!(s, "{self}");
        s
    }
}

impl Media {
    /// The media-level `c=` line (§5.7).
    pub fn connection(&self) -> Option<&Connection> {
        connection_of(&self.lines)
    }

    /// Media-level attributes in order (§5.13).
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        attributes_of(&self.lines)
    }

    /// The media-level direction attribute, if any (§6.7).
    pub fn direction(&self) -> Option<Direction> {
        direction_in(&self.lines)
    }

    /// The media-level `a=ptime` (§6.4).
    pub fn ptime(&self) -> Option<u32> {
        ptime_in(&self.lines)
    }

    /// The media-level `a=maxptime` (§6.5).
    pub fn maxptime(&self) -> Option<u32> {
        maxptime_in(&self.lines)
    }

    /// The `a=rtcp` attribute (RFC 3605).
    pub fn rtcp(&self) -> Option<&Rtcp> {
        self.attributes().find_map(|a| match a {
            Attribute::Rtcp(r) => Some(r),
            _ => None,
        })
    }

    /// The `a=crypto` attributes (RFC 4568).
    pub fn crypto(&self) -> impl Iterator<Item = &Crypto> {
        self.attributes().filter_map(|a| match a {
            Attribute::Crypto(c) => Some(c),
            _ => None,
        })
    }

    /// The `a=rtpmap` for payload type `pt` (§6.6).
    pub fn rtpmap(&self, pt: u8) -> Option<&Rtpmap> {
        self.attributes().find_map(|a| match a {
            Attribute::Rtpmap(r) if r.pt == pt => Some(r),
            _ => None,
        })
    }

    /// The `a=fmtp` parameters for payload type `pt` (§6.15).
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes().find_map(|a| match a {
            Attribute::Fmtp(f) if f.format.parse::<u8>().ok() == Some(pt) => Some(f.params.as_str()),
            _ => None,
        })
    }

    /// The payload type numbers of the formats, in order (RTP profiles).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| match f {
            Fmt::Pt(n) => Some(*n),
            Fmt::Token(_) => None,
        })
    }

    /// The formats resolved to codecs: by `a=rtpmap`, else by the static
    /// payload type table (RFC 3551 §6); unknown dynamic types are skipped.
    pub fn payload_formats(&self) -> Vec<PayloadFormat> {
        self.payload_types()
            .filter_map(|pt| {
                let codec = match self.rtpmap(pt) {
                    Some(r) => r.codec(),
                    None => Codec::from_static(pt)?,
                };
                Some(PayloadFormat {
                    pt,
                    codec,
                    fmtp: self.fmtp(pt).map(str::to_owned),
                })
            })
            .collect()
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", self.addr_type.as_str(), self.address)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Rtpmap(r) => {
                write!(f, "rtpmap:{} {}/{}", r.pt, r.encoding, r.clock_rate)?;
                if let Some(p) = &r.params {
                    write!(f, "/{p}")?;
                }
                Ok(())
            }
            Attribute::Fmtp(x) => write!(f, "fmtp:{} {}", x.format, x.params),
            Attribute::Ptime(p) => write!(f, "ptime:{p}"),
            Attribute::MaxPtime(p) => write!(f, "maxptime:{p}"),
            Attribute::Direction(d) => f.write_str(d.as_str()),
            Attribute::Rtcp(r) => {
                write!(f, "rtcp:{}", r.port)?;
                if let Some(c) = &r.connection {
                    write!(f, " {c}")?;
                }
                Ok(())
            }
            Attribute::Crypto(c) => {
                write!(f, "crypto:{} {} {}", c.tag, c.suite, c.key_params)?;
                if let Some(s) = &c.session_params {
                    write!(f, " {s}")?;
                }
                Ok(())
            }
            Attribute::Other { name, value: Some(v) } => write!(f, "{name}:{v}"),
            Attribute::Other { name, value: None } => f.write_str(name),
        }
    }
}

fn write_lines(f: &mut fmt::Formatter<'_>, lines: &[Line], eol: &str) -> fmt::Result {
    for l in lines {
        match l {
            Line::Connection(c) => write!(f, "c={c}{eol}")?,
            Line::Attribute(a) => write!(f, "a={a}{eol}")?,
            Line::Other { kind, value } => write!(f, "{kind}={value}{eol}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Sdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let eol = self.line_ending.as_str();
        let o = &self.origin;
        write!(f, "v=0{eol}")?;
        write!(
            f,
            "o={} {} {} IN {} {}{eol}",
            o.username,
            o.session_id,
            o.session_version,
            o.addr_type.as_str(),
            o.address
        )?;
        write!(f, "s={}{eol}", self.session_name)?;
        write_lines(f, &self.lines, eol)?;
        for m in &self.media {
            write!(f, "m={} {}", m.kind.as_str(), m.port)?;
            if let Some(n) = m.port_count {
                write!(f, "/{n}")?;
            }
            write!(f, " {}", m.proto.as_str())?;
            for fmt in &m.formats {
                write!(f, " {fmt}")?;
            }
            f.write_str(eol)?;
            write_lines(f, &m.lines, eol)?;
        }
        Ok(())
    }
}
