//! Fuzzing entry point of the WebRTC transport (DESIGN.md convention 8):
//! what arrives on a WebRTC leg's port from anyone (RFC 7983 demux, STUN
//! checks for the ICE-lite responder, DTLS records for the DTLS server).
//!
//! Besides "never panics": a STUN answer always decodes as STUN, an
//! unauthenticated input never selects an address, and a DTLS handshake
//! that no real client drives never yields keys. The first input octet
//! picks how the rest is fed: as one datagram, or as records `len,
//! bytes[len]` from the same source (a short exchange).

use super::demux::{classify, Datagram};
use super::dtls::{DtlsIdentity, DtlsRole, DtlsTransport};
use super::ice_lite::{IceCredentials, IceLite};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn identity() -> Option<&'static DtlsIdentity> {
    static ID: OnceLock<Option<DtlsIdentity>> = OnceLock::new();
    ID.get_or_init(|| DtlsIdentity::generate().ok()).as_ref()
}

/// Feeds `data` to a leg's demux, ICE-lite responder and DTLS server
/// (RFC 7983 §7, RFC 8445 §7.3, RFC 5764 §4), from `now`.
pub fn datagrams(data: &[u8], now: Instant) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let creds = IceCredentials {
        ufrag: "fz01".into(),
        pwd: "fuzzpasswordfuzzpassword".into(),
    };
    let mut ice = IceLite::new(creds, Some("peer".into()));
    let Some(id) = identity() else { return };
    let Ok(mut dtls) = DtlsTransport::new(id, DtlsRole::Server, vec![id.fingerprint().clone()]) else {
        return;
    };
    let from: SocketAddr = SocketAddr::from(([192, 0, 2, 7], 4000));
    let mut feed = |t: Instant, d: &[u8]| {
        match classify(d) {
            Datagram::Stun => {
                let out = ice.handle_stun(t, from, d);
                if let Some(reply) = out.reply {
                    assert_eq!(classify(&reply), Datagram::Stun, "a STUN answer is STUN");
                }
                // Random bytes cannot carry our password's HMAC.
                assert!(out.refused.is_some() || ice.selected() == Some(from));
            }
            // The DTLS server takes anything here (the leg would take it
            // only from a checked address).
            Datagram::Dtls => dtls.handle_datagram(t, d),
            _ => {}
        }
        while dtls.poll_transmit().is_some() {}
        if let Some(at) = dtls.poll_timeout().filter(|at| *at <= t + Duration::from_secs(60)) {
            dtls.handle_timeout(at);
        }
        assert!(!dtls.is_connected(), "no keys without a real client");
    };
    if mode & 1 == 0 {
        feed(now, rest);
        return;
    }
    let mut at = now;
    let mut rest = rest;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (d, more) = tail.split_at(n);
        feed(at, d);
        at += Duration::from_millis(100);
        rest = more;
    }
}
