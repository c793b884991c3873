//! SIP traffic counters for `GET /metrics` (issue 13 item 4): requests by
//! method and responses by method (the CSeq's, RFC 3261 §8.1.1.5) and
//! class (§7.2), received and sent. Fixed arrays indexed by the 13 methods
//! the switch knows and one slot for any other: counting is an index and
//! an add, with no hashing or allocation per message. Sent messages are
//! counted from the bytes the transaction layer hands out (retransmissions
//! included, as on the wire); received ones once parsed.

use super::msg::Method;

/// The methods counted one by one; any other counts as `OTHER`.
pub const METHODS: [&str; 13] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "PRACK",
    "UPDATE",
    "INFO",
    "REFER",
    "NOTIFY",
    "SUBSCRIBE",
    "MESSAGE",
];

/// The slot of a method outside [`METHODS`].
pub const OTHER: usize = METHODS.len();

/// A message's direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received by the switch.
    In = 0,
    /// Sent by the switch.
    Out = 1,
}

/// The counters (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SipCounters {
    /// Requests: `[direction][method]`.
    pub requests: [[u64; OTHER + 1]; 2],
    /// Responses: `[direction][method][class − 1]` for classes 1xx–6xx.
    pub responses: [[[u64; 6]; OTHER + 1]; 2],
}

impl Default for SipCounters {
    fn default() -> Self {
        SipCounters {
            requests: [[0; OTHER + 1]; 2],
            responses: [[[0; 6]; OTHER + 1]; 2],
        }
    }
}

/// The slot of a method given by its name.
pub fn slot(name: &[u8]) -> usize {
    METHODS.iter().position(|m| m.as_bytes() == name).unwrap_or(OTHER)
}

impl SipCounters {
    /// Counts a request.
    pub fn request(&mut self, dir: Direction, method: &Method) {
        self.requests[dir as usize][slot(method.as_bytes())] += 1;
    }

    /// Counts a response with `status` to a `method` request; a status
    /// outside 100–699 is not counted.
    pub fn response(&mut self, dir: Direction, method: &Method, status: u16) {
        self.response_slot(dir, slot(method.as_bytes()), status);
    }

    fn response_slot(&mut self, dir: Direction, method: usize, status: u16) {
        if let Some(class) = (100..700).contains(&status).then(|| usize::from(status / 100) - 1) {
            self.responses[dir as usize][method][class] += 1;
        }
    }

    /// Counts a message the switch sends, from its serialised bytes (our
    /// own, so well formed): the request line's method, or the status
    /// line's code with the CSeq header's method. Bytes that are neither
    /// are not counted.
    pub fn sent(&mut self, bytes: &[u8]) {
        if let Some(rest) = bytes.strip_prefix(b"SIP/2.0 ") {
            let status = rest
                .get(..3)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<u16>().ok());
            if let Some(status) = status {
                self.response_slot(Direction::Out, slot(cseq_method(bytes).unwrap_or_default()), status);
            }
        } else if let Some(sp) = bytes.iter().take(32).position(|&b| b == b' ') {
            self.requests[Direction::Out as usize][slot(&bytes[..sp])] += 1;
        }
    }
}

/// The method of the CSeq header in a message's head (`CSeq: 1 INVITE`;
/// the name is case-insensitive, §7.3.1).
fn cseq_method(bytes: &[u8]) -> Option<&[u8]> {
    for line in bytes.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None; // the end of the head
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if line[..colon].trim_ascii().eq_ignore_ascii_case(b"CSeq") {
            return line[colon + 1..].trim_ascii().split(|b| b.is_ascii_whitespace()).nth(1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_requests_and_responses_are_counted_from_their_bytes() {
        let mut c = SipCounters::default();
        c.sent(b"INVITE sip:1001@192.0.2.1 SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n");
        c.sent(b"SIP/2.0 180 Ringing\r\nVia: x\r\ncseq :  7 INVITE\r\n\r\n");
        c.sent(b"SIP/2.0 401 Unauthorized\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n");
        c.sent(b"FOO sip:x SIP/2.0\r\nCSeq: 1 FOO\r\n\r\n");
        c.sent(b"SIP/2.0 999 Nope\r\nCSeq: 1 BYE\r\n\r\n");
        let out = Direction::Out as usize;
        assert_eq!(c.requests[out][slot(b"INVITE")], 1);
        assert_eq!(c.requests[out][OTHER], 1);
        assert_eq!(c.responses[out][slot(b"INVITE")][0], 1, "180 to INVITE");
        assert_eq!(c.responses[out][slot(b"REGISTER")][3], 1, "401 to REGISTER");
        assert_eq!(c.responses[out][slot(b"BYE")], [0; 6], "999 is no class");
        assert_eq!(c.requests[Direction::In as usize], [0; OTHER + 1]);
    }

    #[test]
    fn received_messages_by_method_and_class() {
        let mut c = SipCounters::default();
        c.request(Direction::In, &Method::REGISTER);
        c.response(Direction::In, &Method::INVITE, 200);
        c.response(Direction::In, &Method::INVITE, 603);
        let i = Direction::In as usize;
        assert_eq!(c.requests[i][slot(b"REGISTER")], 1);
        assert_eq!(c.responses[i][slot(b"INVITE")][1], 1);
        assert_eq!(c.responses[i][slot(b"INVITE")][5], 1);
    }
}
