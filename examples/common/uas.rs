//! The callee side of the load generators on a trunk (RFC 3261 UAS on one
//! UDP socket): answers every INVITE whose Request-URI is `<prefix><call
//! index>` with 200 and a fixed SDP answer, re-sends that 200 for a
//! retransmitted INVITE, answers BYE (and anything else) 200, and reports
//! each new call's index with the switch's media address from its offer.

use super::uac::sdp_rtp;
use bytes::Bytes;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message, Method, StatusCode};

/// What the callee side answered.
#[derive(Default)]
pub struct UasStats {
    /// New INVITEs answered 200.
    pub invites: usize,
    /// BYEs answered.
    pub byes: usize,
}

/// An SDP answer with PCMU and telephone-event on `rtp_port` of 127.0.0.1.
pub fn pcmu_answer(rtp_port: u16) -> Bytes {
    Bytes::from(format!(
        "v=0\r\no=load-uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    ))
}

/// Serves `sock` until `stop`: answers INVITEs for `sip:<prefix><index>`
/// with `sdp` and a Contact at `contact`, reports (index, the switch's
/// media address) for each new call on `report`.
pub fn uas_loop(
    sock: &UdpSocket,
    contact: SocketAddr,
    prefix: &str,
    sdp: &Bytes,
    stop: &AtomicBool,
    report: &mpsc::Sender<(usize, SocketAddr)>,
) -> UasStats {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    let limits = Limits::default();
    let mut answered: HashMap<Bytes, Bytes> = HashMap::new();
    let mut stats = UasStats::default();
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        let (len, src) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
            Err(e) => {
                eprintln!("UAS recv: {e}");
                break;
            }
        };
        let Ok(req) = parse_datagram(Bytes::copy_from_slice(&buf[..len]), &limits) else {
            continue;
        };
        let Some(method) = req.method().cloned() else { continue };
        if method == Method::ACK {
            continue;
        }
        let call_id = req.headers.get(&HeaderName::CallId).cloned().unwrap_or_default();
        if method == Method::INVITE {
            if let Some(resp) = answered.get(&call_id) {
                let _ = sock.send_to(resp, src);
                continue;
            }
            let idx = req
                .uri()
                .and_then(|u| u.user.clone())
                .and_then(|u| std::str::from_utf8(&u).ok()?.strip_prefix(prefix)?.parse().ok());
            let (Some(idx), Some(b_media)) = (idx, sdp_rtp(&req.body)) else {
                let resp = Message::response_to(&req, StatusCode::NOT_ACCEPTABLE_HERE, None, Some("load-uas"));
                let _ = sock.send_to(&resp.to_bytes(), src);
                continue;
            };
            let mut resp = Message::response_to(&req, StatusCode::OK, None, Some(&format!("load-uas-{idx}")));
            resp.headers
                .push(HeaderName::Contact, format!("<sip:{prefix}{idx:07}@{contact}>"));
            resp.headers.push(HeaderName::ContentType, "application/sdp");
            resp.body = sdp.clone();
            let bytes = resp.to_bytes();
            let _ = sock.send_to(&bytes, src);
            answered.insert(call_id, bytes);
            stats.invites += 1;
            let _ = report.send((idx, b_media));
        } else {
            if method == Method::BYE {
                stats.byes += 1;
                answered.remove(&call_id);
            }
            let resp = Message::response_to(&req, StatusCode::OK, None, Some("load-uas"));
            let _ = sock.send_to(&resp.to_bytes(), src);
        }
    }
    stats
}
