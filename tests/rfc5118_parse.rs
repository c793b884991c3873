//! RFC 5118 (SIP torture messages for IPv6) at the parse level, for the
//! files under `tests/vectors/rfc5118/` (see `EXPECTED.md` there): what the
//! message layer must accept so that the engine answers them normally.

use bytes::Bytes;
use std::path::PathBuf;
use switchboard::sip::msg::{frame_stream, parse_datagram, Limits, Message, StreamFrame};

fn raw(name: &str) -> Bytes {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/vectors/rfc5118/{name}.dat"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Parses as a datagram and as one framed stream message; both must pass
/// `envelope()` (so the request is answered, not refused with 400).
fn accepted(name: &str) -> Message {
    let buf = raw(name);
    assert_eq!(
        frame_stream(&buf, &Limits::default()),
        Ok(StreamFrame::Message(buf.len())),
        "{name}: frames as one message"
    );
    let m = parse_datagram(buf, &Limits::default()).unwrap_or_else(|e| panic!("{name}: refused: {e:?}"));
    m.envelope()
        .unwrap_or_else(|e| panic!("{name}: envelope refused: {e:?}"));
    m
}

/// RFC 5118 §4.10 `ipv6-bug-abnf-3-colons`: the extra colon RFC 3261's ABNF
/// allows before an embedded IPv4 address is tolerated in the Request-URI
/// and in To, and the host is kept as the text that arrived. Issue 11: this
/// OPTIONS used to be refused with `400 Malformed Request-URI`.
#[test]
fn ipv6_bug_abnf_3_colons_is_tolerated() {
    let m = accepted("ipv6-bug-abnf-3-colons");
    let uri = m.uri().expect("a request");
    assert_eq!(uri.user.as_deref(), Some(&b"user"[..]));
    assert_eq!(uri.host.as_str(), "[2001:db8:::192.0.2.1]");
    assert_eq!(uri.port, None);
    assert_eq!(uri.to_string(), "sip:user@[2001:db8:::192.0.2.1]");
    let env = m.envelope().unwrap();
    assert_eq!(env.to.uri.host.as_str(), "[2001:db8:::192.0.2.1]");
}

/// RFC 5118 §4.10 `ipv6-correct-abnf-2-colons`: the same message written
/// correctly, an RFC 4291 address with an embedded IPv4 part.
#[test]
fn ipv6_correct_abnf_2_colons() {
    let m = accepted("ipv6-correct-abnf-2-colons");
    let uri = m.uri().expect("a request");
    assert_eq!(uri.host.ip(), Some("2001:db8::c000:201".parse().unwrap()));
}
