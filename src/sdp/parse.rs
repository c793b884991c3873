//! The SDP parser (RFC 8866 §5, §9 grammar; RFC 4566 §5 before it).
//!
//! Strict where a mistake would change the call (`v=`, `o=`, `s=` first and in
//! that order §5; only known type letters §5; only `i= c= b= k= a=` inside a
//! media section §5; well-formed `c=` §5.7, `m=` §5.14 and the typed attributes
//! `rtpmap` §6.6, `fmtp` §6.15, `ptime` §6.4, `maxptime` §6.5, directions §6.7,
//! `rtcp` RFC 3605 §2.1, `crypto` RFC 4568 §9.1), lenient where it costs
//! nothing (LF alone as a line end, trailing blank lines, unknown attributes
//! kept verbatim). Every fault is a [`ParseError`] naming the 1-based line.

use super::model::{
    AddrType, Attribute, Connection, Crypto, Direction, Fmt, Fmtp, Line, LineEnding, Media, MediaKind, Origin, Proto,
    Rtcp, Rtpmap, Sdp,
};

/// A malformed session description: the 1-based line number and the fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("SDP line {line}: {fault}")]
pub struct ParseError {
    /// The 1-based line number (one past the last line for a missing line).
    pub line: usize,
    /// What is wrong with it.
    pub fault: Fault,
}

/// What is wrong with an SDP line (RFC 8866 §5, §9).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// The body is empty.
    #[error("empty session description")]
    Empty,
    /// The line is not UTF-8 (§5: the default charset).
    #[error("not UTF-8")]
    NotUtf8,
    /// The line is not `<type>=<value>` with a lowercase type letter (§5).
    #[error("expected `<type>=<value>`")]
    Syntax,
    /// A CR inside a line (§9: CR and LF only end lines; no field holds one).
    #[error("a CR inside a line")]
    BareCr,
    /// A type letter RFC 8866 does not define (§5: the whole description must be rejected).
    #[error("unknown line type `{0}=`")]
    UnknownType(char),
    /// A mandatory line is missing or out of order (`v=`, `o=`, `s=`).
    #[error("expected `{0}=` here")]
    Expected(char),
    /// `v=` is not `0` (§5.1).
    #[error("unsupported protocol version")]
    Version,
    /// A line that may appear once per level appears again.
    #[error("`{0}=` repeated")]
    Duplicate(char),
    /// A session-level line inside a media section (§5).
    #[error("`{0}=` is not allowed in a media section")]
    NotInMedia(char),
    /// A typed line or attribute is malformed.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// Which line or attribute (`o=`, `m=`, `a=rtpmap`...).
        what: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

/// Parses a session description (RFC 8866 §5). Never panics.
pub fn parse(input: &[u8]) -> Result<Sdp, ParseError> {
    let mut end = input.len();
    while end > 0 && matches!(input[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    let body = &input[..end];
    if body.is_empty() {
        return Err(ParseError {
            line: 1,
            fault: Fault::Empty,
        });
    }
    let mut p = Parser::default();
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        if i == 0 && raw.last() != Some(&b'\r') && body.len() > raw.len() {
            p.line_ending = LineEnding::Lf;
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.contains(&b'\r') {
            return Err(ParseError {
                line,
                fault: Fault::BareCr,
            });
        }
        p.line = line;
        p.line(raw).map_err(|fault| ParseError { line, fault })?;
    }
    p.finish()
}

#[derive(Default)]
struct Parser {
    line: usize,
    line_ending: LineEnding,
    seen_v: bool,
    origin: Option<Origin>,
    session_name: Option<String>,
    lines: Vec<Line>,
    media: Vec<Media>,
}

type R<T> = Result<T, Fault>;

fn bad(what: &'static str, why: &'static str) -> Fault {
    Fault::Malformed { what, why }
}

/// A decimal number: ASCII digits only (no sign, no spaces), within range.
fn num<T: std::str::FromStr>(s: &str, what: &'static str) -> R<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(what, "expected a decimal number"));
    }
    s.parse().map_err(|_| bad(what, "number out of range"))
}

/// A token: non-empty, no whitespace.
fn token<'a>(s: Option<&'a str>, what: &'static str, why: &'static str) -> R<&'a str> {
    match s {
        Some(t) if !t.is_empty() && !t.bytes().any(|b| b.is_ascii_whitespace()) => Ok(t),
        _ => Err(bad(what, why)),
    }
}

fn parse_connection(v: &str, what: &'static str) -> R<Connection> {
    let mut it = v.split(' ');
    if it.next() != Some("IN") {
        return Err(bad(what, "network type must be `IN`"));
    }
    let addr_type = AddrType::parse(token(it.next(), what, "missing address type")?);
    let address = token(it.next(), what, "missing address")?.to_owned();
    if it.next().is_some() {
        return Err(bad(what, "extra fields"));
    }
    Ok(Connection { addr_type, address })
}

fn parse_origin(v: &str) -> R<Origin> {
    const W: &str = "o=";
    let mut it = v.split(' ');
    let username = token(it.next(), W, "missing username")?.to_owned();
    let session_id = token(it.next(), W, "missing session id")?;
    num::<u128>(session_id, W).map_err(|_| bad(W, "session id must be digits"))?;
    let session_version = num(token(it.next(), W, "missing session version")?, W)?;
    if it.next() != Some("IN") {
        return Err(bad(W, "network type must be `IN`"));
    }
    let addr_type = AddrType::parse(token(it.next(), W, "missing address type")?);
    let address = token(it.next(), W, "missing address")?.to_owned();
    if it.next().is_some() {
        return Err(bad(W, "extra fields"));
    }
    Ok(Origin {
        username,
        session_id: session_id.to_owned(),
        session_version,
        addr_type,
        address,
    })
}

fn parse_media(v: &str) -> R<Media> {
    const W: &str = "m=";
    let mut it = v.split(' ');
    let kind = MediaKind::parse(token(it.next(), W, "missing media type")?);
    let port_field = token(it.next(), W, "missing port")?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, n)) => (num(p, W)?, Some(num(n, W)?)),
        None => (num(port_field, W)?, None),
    };
    let proto = Proto::parse(token(it.next(), W, "missing protocol")?);
    let rtp = proto.is_rtp();
    let mut formats = Vec::with_capacity(4);
    for f in it {
        let f = token(Some(f), W, "empty format")?;
        if rtp {
            let pt: u8 = num(f, W).map_err(|_| bad(W, "RTP format must be a payload type number"))?;
            if pt > 127 {
                return Err(bad(W, "payload type above 127"));
            }
            formats.push(Fmt::Pt(pt));
        } else {
            formats.push(Fmt::Token(f.to_owned()));
        }
    }
    Ok(Media {
        kind,
        port,
        port_count,
        proto,
        formats,
        lines: Vec::with_capacity(8),
    })
}

fn parse_attribute(v: &str) -> R<Attribute> {
    let (name, value) = match v.split_once(':') {
        Some((n, val)) => (n, Some(val)),
        None => (v, None),
    };
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(bad("a=", "attribute name must be a token"));
    }
    let dir = match name {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    };
    if let Some(d) = dir {
        return match value {
            None => Ok(Attribute::Direction(d)),
            Some(_) => Err(bad("a= direction", "takes no value")),
        };
    }
    let Some(value) = value else {
        return match name {
            "rtpmap" | "fmtp" | "ptime" | "maxptime" | "rtcp" | "crypto" => Err(bad("a=", "value missing")),
            _ => Ok(Attribute::Other {
                name: name.to_owned(),
                value: None,
            }),
        };
    };
    match name {
        "rtpmap" => parse_rtpmap(value).map(Attribute::Rtpmap),
        "fmtp" => {
            const W: &str = "a=fmtp";
            let (f, params) = value
                .split_once(' ')
                .ok_or(bad(W, "expected `<format> <parameters>`"))?;
            let format = token(Some(f), W, "empty format")?.to_owned();
            Ok(Attribute::Fmtp(Fmtp {
                format,
                params: params.to_owned(),
            }))
        }
        "ptime" => num(value, "a=ptime").map(Attribute::Ptime),
        "maxptime" => num(value, "a=maxptime").map(Attribute::MaxPtime),
        "rtcp" => {
            const W: &str = "a=rtcp";
            let (port, conn) = match value.split_once(' ') {
                Some((p, c)) => (num(p, W)?, Some(parse_connection(c, W)?)),
                None => (num(value, W)?, None),
            };
            Ok(Attribute::Rtcp(Rtcp { port, connection: conn }))
        }
        "crypto" => {
            const W: &str = "a=crypto";
            let mut it = value.splitn(4, ' ');
            let tag = num(token(it.next(), W, "missing tag")?, W)?;
            let suite = token(it.next(), W, "missing crypto suite")?.to_owned();
            let key_params = token(it.next(), W, "missing key parameters")?.to_owned();
            let session_params = match it.next() {
                Some("") => return Err(bad(W, "empty session parameters")),
                Some(s) => Some(s.to_owned()),
                None => None,
            };
            Ok(Attribute::Crypto(Crypto {
                tag,
                suite,
                key_params,
                session_params,
            }))
        }
        _ => Ok(Attribute::Other {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        }),
    }
}

fn parse_rtpmap(v: &str) -> R<Rtpmap> {
    const W: &str = "a=rtpmap";
    let (pt, rest) = v
        .split_once(' ')
        .ok_or(bad(W, "expected `<pt> <encoding>/<clock rate>`"))?;
    let pt: u8 = num(pt, W)?;
    if pt > 127 {
        return Err(bad(W, "payload type above 127"));
    }
    let mut it = rest.splitn(3, '/');
    let encoding = token(it.next(), W, "missing encoding name")?.to_owned();
    let clock_rate = num(it.next().ok_or(bad(W, "missing clock rate"))?, W)?;
    let params = match it.next() {
        Some(p) => Some(token(Some(p), W, "empty encoding parameters")?.to_owned()),
        None => None,
    };
    Ok(Rtpmap {
        pt,
        encoding,
        clock_rate,
        params,
    })
}

impl Parser {
    fn line(&mut self, raw: &[u8]) -> R<()> {
        let text = std::str::from_utf8(raw).map_err(|_| Fault::NotUtf8)?;
        let b = text.as_bytes();
        if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
            return Err(Fault::Syntax);
        }
        let kind = b[0] as char;
        let value = &text[2..];
        if !self.seen_v {
            if kind != 'v' {
                return Err(Fault::Expected('v'));
            }
            if value != "0" {
                return Err(Fault::Version);
            }
            self.seen_v = true;
            return Ok(());
        }
        if self.origin.is_none() {
            if kind != 'o' {
                return Err(Fault::Expected('o'));
            }
            self.origin = Some(parse_origin(value)?);
            return Ok(());
        }
        if self.session_name.is_none() {
            if kind != 's' {
                return Err(Fault::Expected('s'));
            }
            self.session_name = Some(value.to_owned());
            return Ok(());
        }
        let in_media = !self.media.is_empty();
        let line = match kind {
            'v' | 'o' | 's' => return Err(Fault::Duplicate(kind)),
            'm' => {
                self.media.push(parse_media(value)?);
                return Ok(());
            }
            'c' => {
                let lines = self.current();
                if lines.iter().any(|l| matches!(l, Line::Connection(_))) {
                    return Err(Fault::Duplicate('c'));
                }
                Line::Connection(parse_connection(value, "c=")?)
            }
            'a' => Line::Attribute(parse_attribute(value)?),
            'i' | 'b' | 'k' => Line::Other {
                kind,
                value: value.to_owned(),
            },
            'u' | 'e' | 'p' | 't' | 'r' | 'z' => {
                if in_media {
                    return Err(Fault::NotInMedia(kind));
                }
                Line::Other {
                    kind,
                    value: value.to_owned(),
                }
            }
            other => return Err(Fault::UnknownType(other)),
        };
        self.current().push(line);
        Ok(())
    }

    fn current(&mut self) -> &mut Vec<Line> {
        match self.media.last_mut() {
            Some(m) => &mut m.lines,
            None => &mut self.lines,
        }
    }

    fn finish(self) -> Result<Sdp, ParseError> {
        let line = self.line + 1;
        let origin = self.origin.ok_or(ParseError {
            line,
            fault: Fault::Expected('o'),
        })?;
        let session_name = self.session_name.ok_or(ParseError {
            line,
            fault: Fault::Expected('s'),
        })?;
        Ok(Sdp {
            origin,
            session_name,
            lines: self.lines,
            media: self.media,
            line_ending: self.line_ending,
        })
    }
}
