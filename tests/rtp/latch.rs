//! Symmetric RTP latching and its anti-hijack rule (`src/rtp/latch.rs`),
//! in virtual time: the base instant is read once, then only advanced.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchboard::rtp::latch::*;

fn a(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// Rule 1: the signalled address is always accepted.
#[test]
fn signalled_address_is_accepted() {
    let t0 = Instant::now();
    let mut l = Latch::new(Some(a("203.0.113.5:4000")), t0);
    assert_eq!(
        l.on_packet(a("203.0.113.5:4000"), t0 + Duration::from_secs(60)),
        Verdict::Accept
    );
    assert_eq!(l.target(), Some(a("203.0.113.5:4000")));
}

/// Rule 2: same IP, remapped port, within the window: latch and send there.
#[test]
fn same_ip_other_port_latches_within_window() {
    let t0 = Instant::now();
    let mut l = Latch::new(Some(a("203.0.113.5:4000")), t0);
    assert_eq!(
        l.on_packet(a("203.0.113.5:61000"), t0 + Duration::from_millis(300)),
        Verdict::Accept
    );
    assert_eq!(l.target(), Some(a("203.0.113.5:61000")));
    // Rule 4: once latched, a third party is refused.
    assert_eq!(
        l.on_packet(a("198.51.100.9:5000"), t0 + Duration::from_millis(400)),
        Verdict::Drop
    );
    assert_eq!(l.target(), Some(a("203.0.113.5:61000")));
    assert_eq!(l.dropped(), 1);
}

/// Rule 3: a private signalled address (phone behind NAT) latches to the
/// first source within the window, whatever its IP.
#[test]
fn private_signalled_address_latches_to_first_source() {
    let t0 = Instant::now();
    let mut l = Latch::new(Some(a("192.168.1.20:4000")), t0);
    assert_eq!(
        l.on_packet(a("198.51.100.7:33000"), t0 + Duration::from_millis(100)),
        Verdict::Accept
    );
    assert_eq!(l.target(), Some(a("198.51.100.7:33000")));
    assert_eq!(
        l.on_packet(a("198.51.100.66:33000"), t0 + Duration::from_millis(150)),
        Verdict::Drop
    );
}

/// Hijack: a public signalled address never latches to a foreign IP,
/// and nothing foreign latches after the window.
#[test]
fn foreign_source_cannot_hijack() {
    let t0 = Instant::now();
    let mut l = Latch::new(Some(a("203.0.113.5:4000")), t0);
    assert_eq!(
        l.on_packet(a("198.51.100.9:4000"), t0 + Duration::from_millis(10)),
        Verdict::Drop
    );
    let mut late = Latch::new(Some(a("192.168.1.20:4000")), t0);
    assert_eq!(
        late.on_packet(a("198.51.100.9:4000"), t0 + LATCH_WINDOW + Duration::from_millis(1)),
        Verdict::Drop
    );
    assert_eq!(late.target(), Some(a("192.168.1.20:4000")));
}

/// A re-INVITE with a new address releases the latch and reopens the window.
#[test]
fn resignal_releases_the_latch() {
    let t0 = Instant::now();
    let mut l = Latch::new(Some(a("10.0.0.5:4000")), t0);
    assert_eq!(l.on_packet(a("198.51.100.7:33000"), t0), Verdict::Accept);
    let t1 = t0 + Duration::from_secs(30);
    l.resignal(Some(a("10.0.0.5:4002")), t1);
    assert_eq!(l.latched(), None);
    assert_eq!(
        l.on_packet(a("198.51.100.7:33002"), t1 + Duration::from_millis(50)),
        Verdict::Accept
    );
    assert_eq!(l.target(), Some(a("198.51.100.7:33002")));
}

#[test]
fn routability_classes() {
    for (ip, public) in [
        ("10.1.2.3", false),
        ("172.16.0.1", false),
        ("192.168.0.1", false),
        ("100.64.0.1", false),
        ("169.254.1.1", false),
        ("0.0.0.0", false),
        ("127.0.0.1", true),
        ("203.0.113.5", true),
        ("fd00::1", false),
        ("fe80::1", false),
        ("::1", true),
        ("2001:db8::1", true),
    ] {
        assert_eq!(is_publicly_routable(ip.parse().expect("ip")), public, "{ip}");
    }
}
