//! Serialisation (RFC 3261 §7): start line, headers in order with their
//! canonical names, a Content-Length that always matches the body, CRLF,
//! body.

use super::{HeaderName, Message, StartLine};
use bytes::{BufMut, Bytes, BytesMut};

/// Prints `msg`; the result is what goes on the wire (RFC 3261 §7).
pub fn print(msg: &Message) -> Bytes {
    let size = 64
        + msg.body.len()
        + msg
            .headers
            .iter()
            .map(|h| h.name.as_bytes().len() + h.value.len() + 4)
            .sum::<usize>();
    let mut out = BytesMut::with_capacity(size);
    match &msg.start {
        StartLine::Request { method, uri } => {
            out.put_slice(method.as_bytes());
            out.put_u8(b' ');
            uri.write(&mut out);
            out.put_slice(b" SIP/2.0\r\n");
        }
        StartLine::Response { code, reason } => {
            out.put_slice(b"SIP/2.0 ");
            put_decimal(&mut out, u64::from(code.as_u16()));
            out.put_u8(b' ');
            out.put_slice(reason);
            out.put_slice(b"\r\n");
        }
    }
    for h in msg.headers.iter() {
        if h.name == HeaderName::ContentLength {
            continue;
        }
        out.put_slice(h.name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(&h.value);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"Content-Length: ");
    put_decimal(&mut out, msg.body.len() as u64);
    out.put_slice(b"\r\n\r\n");
    out.put_slice(&msg.body);
    out.freeze()
}

/// Writes `n` in decimal without allocating (ports, status codes and
/// Content-Length, §7.2, §19.1.1, §20.14).
pub(crate) fn put_decimal(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}
