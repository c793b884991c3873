//! Framing (RFC 3261 §7, §18.3): start line, header lines (folded lines
//! joined, §7.3.1), blank line, then exactly Content-Length body octets.
//!
//! Datagrams: octets after the body are ignored (§18.3, RFC 4475 `dblreq`);
//! a Content-Length larger than what arrived is an error (`clerr`). Streams:
//! [`frame_stream`] finds where one message ends so the connection can read
//! the next; a length that cannot be trusted there (bad, negative, repeated,
//! too large) closes the connection, after a `400` to the head that came
//! with it (RFC 4475 `ncl`, `mcl01` over TCP).

use super::{FrameError, HeaderName, Headers, Message, Method, ParseError, StartLine, StatusCode, Uri};
use bytes::Bytes;

/// Size limits applied while framing (defaults: 64 KiB, 256 headers) (RFC 3261 §18.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (start line + headers + body) in octets.
    pub max_message: usize,
    /// Most header lines.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 64 * 1024,
            max_headers: 256,
        }
    }
}

/// What [`frame_stream`] found at the front of a stream buffer (RFC 3261 §18.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFrame {
    /// This many octets of CRLF keep-alive (RFC 5626 §3.5.1) to discard.
    KeepAlive(usize),
    /// A complete message of this many octets.
    Message(usize),
}

/// A message that could not be accepted. When the header section framed
/// and the message looked like a request, `headers` holds them, so a UAS
/// can still answer `400` (§8.2) to the right Via; responses are dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// What is wrong.
    pub error: ParseError,
    /// The request's headers, if they framed.
    pub headers: Option<Headers>,
}

/// token (§25.1).
#[inline]
pub fn is_token_char(c: u8) -> bool {
    TOKEN[usize::from(c)]
}

const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~');
        c += 1;
    }
    t
};

/// The index of the first `needle` in `hay`, eight octets at a time (the
/// framer's inner loop: every line end of every message goes through it).
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // A zero byte in `x` is a match (exact: no false positives below the
        // first real one, and we locate it byte-wise anyway).
        if (x.wrapping_sub(LO) & !x & HI) != 0 {
            return chunk.iter().position(|c| *c == needle).map(|p| base + p);
        }
        base += 8;
    }
    chunks.remainder().iter().position(|c| *c == needle).map(|p| base + p)
}

/// Finds the end of the header section: the index just past the blank line.
fn header_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = find_byte(&buf[i..], b'\n') {
        let nl = i + p;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// Frames the next message on a stream (§18.3): `Err(Incomplete)` means read
/// more; `Err(Unframeable)` means the stream cannot be resynchronised and the
/// connection must be closed, after answering the head it carries, if any.
pub fn frame_stream(buf: &[u8], limits: &Limits) -> Result<StreamFrame, FrameError> {
    let ka = buf.iter().take_while(|c| **c == b'\r' || **c == b'\n').count();
    if ka > 0 {
        return Ok(StreamFrame::KeepAlive(ka));
    }
    let Some(end) = header_end(buf) else {
        return if buf.len() > limits.max_message {
            Err(FrameError::Unframeable {
                error: ParseError::TooLarge,
                head: None,
            })
        } else {
            Err(FrameError::Incomplete)
        };
    };
    let unframeable = |error| FrameError::Unframeable { error, head: Some(end) };
    let cl = stream_content_length(&buf[..end]).map_err(unframeable)?;
    let total = end + cl.unwrap_or(0);
    if total > limits.max_message {
        return Err(unframeable(ParseError::TooLarge));
    }
    if buf.len() < total {
        return Err(FrameError::Incomplete);
    }
    Ok(StreamFrame::Message(total))
}

/// Content-Length in a stream message's header section, found the way
/// `parse_message` finds it: a header line (not a continuation) named
/// `Content-Length` or `l`, whose value may be folded onto the following
/// lines (§7.3.1). At most one, a non-negative integer (§20.14).
fn stream_content_length(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let value = |v: &[u8]| {
        super::typed::parse_u32(super::typed::trim_ws(v))
            .map(|n| n as usize)
            .ok_or(ParseError::BadContentLength)
    };
    let mut cl: Option<usize> = None;
    let mut pending: Option<Vec<u8>> = None;
    for line in head.split(|c| *c == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let (Some(v), Some(b' ' | b'\t')) = (pending.as_mut(), line.first()) {
            v.push(b' ');
            v.extend_from_slice(line);
            continue;
        }
        if let Some(v) = pending.take() {
            cl = Some(value(&v)?);
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            continue;
        }
        let Some(colon) = line.iter().position(|c| *c == b':') else {
            continue;
        };
        let name = super::typed::trim_ws(&line[..colon]);
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            if cl.is_some() {
                return Err(ParseError::DuplicateHeader("Content-Length"));
            }
            pending = Some(line[colon + 1..].to_vec());
        }
    }
    if let Some(v) = pending {
        cl = Some(value(&v)?);
    }
    Ok(cl)
}

/// Parses one UDP datagram (octets after the body are ignored, §18.3).
pub fn parse_datagram(buf: Bytes, limits: &Limits) -> Result<Message, Malformed> {
    parse_message(buf, limits, false)
}

/// Parses one message (RFC 3261 §7, §18.3). `stream` says the buffer is
/// exactly one framed message from [`frame_stream`]; otherwise it is a
/// datagram.
///
/// Faults are reported in wire order: the start line first (so that
/// `SIP/7.0` yields [`ParseError::BadVersion`] and a 505), then the first
/// malformed header line, then Content-Length. For anything that is not a
/// response, [`Malformed::headers`] carries every well-formed header line so
/// that a UAS can still answer `400` (§8.2, §21.4.1) to the right Via.
pub fn parse_message(buf: Bytes, limits: &Limits, stream: bool) -> Result<Message, Malformed> {
    let fail = |error| Malformed { error, headers: None };
    if buf.len() > limits.max_message {
        return Err(fail(ParseError::TooLarge));
    }
    let s = &buf[..];
    let first_nl = find_byte(s, b'\n').ok_or(fail(ParseError::BadStartLine))?;
    let line_end = if first_nl > 0 && s[first_nl - 1] == b'\r' {
        first_nl - 1
    } else {
        first_nl
    };
    let start_raw = buf.slice(..line_end);
    let is_response = start_raw.len() >= 4 && start_raw[..4].eq_ignore_ascii_case(b"SIP/");
    let hdr_end = header_end(s).unwrap_or(s.len());
    let (headers, line_error) = parse_headers(&buf, first_nl + 1, hdr_end, limits).map_err(fail)?;
    let with_headers = |error: ParseError| Malformed {
        error,
        headers: if is_response { None } else { Some(headers.clone()) },
    };
    let start = if is_response {
        parse_status_line(&start_raw).map_err(fail)?
    } else {
        parse_request_line(&start_raw).map_err(with_headers)?
    };
    if let Some(e) = line_error {
        return Err(with_headers(e));
    }
    // Content-Length (§20.14): at most one, a non-negative integer that
    // fits in what arrived (RFC 4475 `mcl01`, `ncl`, `clerr`).
    let mut cl_values = headers
        .iter()
        .filter(|h| h.name == HeaderName::ContentLength)
        .map(|h| &h.value);
    let cl = match (cl_values.next(), cl_values.next()) {
        (None, _) => None,
        (Some(v), None) => {
            Some(super::typed::parse_u32(v).ok_or_else(|| with_headers(ParseError::BadContentLength))? as usize)
        }
        (Some(_), Some(_)) => return Err(with_headers(ParseError::DuplicateHeader("Content-Length"))),
    };
    let available = s.len().saturating_sub(hdr_end);
    let body = match cl {
        Some(n) if n > available => return Err(with_headers(ParseError::ContentLengthTooLarge)),
        Some(n) => buf.slice(hdr_end..hdr_end + n),
        None if stream => Bytes::new(),
        None => buf.slice(hdr_end..),
    };
    Ok(Message { start, headers, body })
}

type Pending = Option<(HeaderName, usize, usize, Option<Vec<u8>>)>;

/// Splits the header section into lines, joining folded ones (§7.3.1).
/// A malformed line is skipped and the first such fault returned beside the
/// headers that did parse; only exceeding `max_headers` stops the scan.
fn parse_headers(
    buf: &Bytes,
    from: usize,
    to: usize,
    limits: &Limits,
) -> Result<(Headers, Option<ParseError>), ParseError> {
    let s = &buf[..to];
    let mut headers = Headers::with_capacity(16);
    let mut first_error = None;
    // (name, value start, value end, folded copy)
    let mut cur: Pending = None;
    let mut i = from;
    let flush = |headers: &mut Headers, cur: Pending| {
        if let Some((name, a, b, folded)) = cur {
            let value = match folded {
                Some(v) => super::typed::trim_bytes(&Bytes::from(v)),
                None => super::typed::trim_bytes(&buf.slice(a..b)),
            };
            headers.push(name, value);
        }
    };
    while i < s.len() {
        let nl = find_byte(&s[i..], b'\n').map(|p| p + i).unwrap_or(s.len());
        let end = if nl > i && s[nl - 1] == b'\r' { nl - 1 } else { nl };
        let line = &s[i..end];
        i = nl + 1;
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // Continuation (§7.3.1): the line break and the LWS around it
            // become one SP.
            match cur.as_mut() {
                Some((_, a, b, folded)) => {
                    let v = folded.get_or_insert_with(|| super::typed::trim_ws(&buf[*a..*b]).to_vec());
                    v.push(b' ');
                    v.extend_from_slice(super::typed::trim_ws(line));
                }
                None => {
                    first_error.get_or_insert(ParseError::BadHeaderLine);
                }
            }
            continue;
        }
        flush(&mut headers, cur.take());
        let Some(colon) = line.iter().position(|c| *c == b':') else {
            first_error.get_or_insert(ParseError::BadHeaderLine);
            continue;
        };
        let name = super::typed::trim_ws(&line[..colon]);
        if name.is_empty() || !name.iter().all(|c| is_token_char(*c)) {
            first_error.get_or_insert(ParseError::BadHeaderLine);
            continue;
        }
        if headers.len() >= limits.max_headers {
            return Err(ParseError::TooManyHeaders);
        }
        let line_start = end - line.len();
        let name = HeaderName::from_bytes(buf.slice_ref(name));
        cur = Some((name, line_start + colon + 1, end, None));
    }
    flush(&mut headers, cur);
    Ok((headers, first_error))
}

fn parse_version(v: &[u8]) -> Result<(), ParseError> {
    if v.len() >= 4 && v[..4].eq_ignore_ascii_case(b"SIP/") {
        if &v[4..] == b"2.0" {
            return Ok(());
        }
        let rest = &v[4..];
        if let Some(dot) = rest.iter().position(|c| *c == b'.') {
            if dot > 0
                && rest[..dot].iter().all(u8::is_ascii_digit)
                && rest.len() > dot + 1
                && rest[dot + 1..].iter().all(u8::is_ascii_digit)
            {
                return Err(ParseError::BadVersion);
            }
        }
    }
    Err(ParseError::BadStartLine)
}

fn parse_request_line(line: &Bytes) -> Result<StartLine, ParseError> {
    if line.ends_with(b" ") || line.ends_with(b"\t") {
        return Err(ParseError::BadStartLine); // RFC 4475 trws
    }
    let sp1 = line.iter().position(|c| *c == b' ').ok_or(ParseError::BadStartLine)?;
    let sp2 = line.iter().rposition(|c| *c == b' ').ok_or(ParseError::BadStartLine)?;
    if sp2 <= sp1 {
        return Err(ParseError::BadStartLine);
    }
    let method = &line[..sp1];
    if method.is_empty() || !method.iter().all(|c| is_token_char(*c)) {
        return Err(ParseError::BadStartLine);
    }
    parse_version(&line[sp2 + 1..])?;
    let uri_raw = line.slice(sp1 + 1..sp2);
    if uri_raw.is_empty() || uri_raw.iter().any(|c| c.is_ascii_whitespace()) {
        return Err(ParseError::BadRequestUri); // lwsstart, lwsruri
    }
    let uri = Uri::parse(&uri_raw).ok_or(ParseError::BadRequestUri)?;
    if uri.headers.is_some() {
        return Err(ParseError::BadRequestUri); // escruri
    }
    Ok(StartLine::Request {
        method: Method::from_bytes(line.slice(..sp1)),
        uri,
    })
}

fn parse_status_line(line: &Bytes) -> Result<StartLine, ParseError> {
    let sp1 = line.iter().position(|c| *c == b' ').ok_or(ParseError::BadStartLine)?;
    parse_version(&line[..sp1])?;
    let rest = &line[sp1 + 1..];
    let code_end = rest.iter().position(|c| *c == b' ').unwrap_or(rest.len());
    let digits = &rest[..code_end];
    if digits.len() != 3 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadStatusCode);
    }
    let n = digits.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
    let code = StatusCode::new(n).ok_or(ParseError::BadStatusCode)?;
    let reason = if code_end < rest.len() {
        line.slice(sp1 + 1 + code_end + 1..)
    } else {
        Bytes::new()
    };
    Ok(StartLine::Response { code, reason })
}
