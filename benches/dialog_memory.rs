//! Heap bytes per established dialog (issue 2 target: 20,000 concurrent
//! dialogs at under 4 KB of switch memory each), measured in-process with
//! dhat's heap statistics while the engine runs 20,000 calls through the
//! loadtest config in virtual time: INVITE from a carrier → the switch's
//! INVITE to the trunk → 200 → ACK. Reported twice: right after the last
//! call is set up (the INVITE transactions still linger for RFC 6026's
//! 64·T1) and 33 virtual seconds later (dialogs only).
//!
//! Run: `cargo bench --bench dialog_memory`

use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::engine::{Engine, Input, Now, Output};
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message};
use switchboard::sip::transaction::TransportKind;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CALLS: usize = 20_000;

fn loadtest_config() -> switchboard::config::Config {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sip-profiles/loadtest");
    switchboard::config::load_dir(std::path::Path::new(dir)).expect("loadtest config")
}

fn invite(i: usize, caller: SocketAddr) -> String {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    format!(
        "INVITE sip:service@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP {caller};branch=z9hG4bK-a-{i}\r\nFrom: sipp <sip:sipp@127.0.0.1:5070>;tag={i}SIPpTag00\r\nTo: <sip:service@127.0.0.1:5080>\r\nCall-ID: {i}-load@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:sipp@{caller}>\r\nMax-Forwards: 70\r\nSubject: Performance Test\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

fn answer(inv: &Message, i: usize, uas: SocketAddr) -> String {
    let h = |n: HeaderName| String::from_utf8_lossy(inv.headers.get(&n).expect("header")).into_owned();
    let sdp = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    format!(
        "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=uas{i}\r\nCall-ID: {}\r\nCSeq: 1 INVITE\r\nContact: <sip:uas@{uas}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        h(HeaderName::Via),
        h(HeaderName::From),
        h(HeaderName::To),
        h(HeaderName::CallId),
        sdp.len()
    )
}

fn ack(i: usize, caller: SocketAddr, to_tag: &str) -> String {
    format!(
        "ACK sip:service@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP {caller};branch=z9hG4bK-ack-{i}\r\nFrom: sipp <sip:sipp@127.0.0.1:5070>;tag={i}SIPpTag00\r\nTo: <sip:service@127.0.0.1:5080>;tag={to_tag}\r\nCall-ID: {i}-load@127.0.0.1\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let local: SocketAddr = "127.0.0.1:5080".parse().expect("addr");
    let caller: SocketAddr = "127.0.0.1:5070".parse().expect("addr");
    let uas: SocketAddr = "127.0.0.1:5090".parse().expect("addr");
    let base = Instant::now();
    let mut virt = Duration::ZERO;
    let now = |v: Duration| Now {
        mono: base + v,
        unix_ms: 1_800_000_000_000 + v.as_millis() as u64,
    };
    let mut engine = Engine::new(Arc::new(loadtest_config()), 1);
    let packet = |data: String, peer: SocketAddr| Input::Packet {
        local,
        peer,
        transport: TransportKind::Udp,
        data: Bytes::from(data),
    };
    let baseline = dhat::HeapStats::get().curr_bytes;
    for i in 0..CALLS {
        virt += Duration::from_micros(1000); // 1,000 calls/s
        engine.handle_input(now(virt), packet(invite(i, caller), caller));
        let mut b_invite = None;
        while let Some(out) = engine.poll_output() {
            if let Output::Transmit { dest, bytes, .. } = out {
                if dest.addr == uas && bytes.starts_with(b"INVITE") {
                    b_invite = parse_datagram(bytes, &Limits::default()).ok();
                }
            }
        }
        let b_invite = b_invite.expect("the switch sends an INVITE to the trunk");
        engine.handle_input(now(virt), packet(answer(&b_invite, i, uas), uas));
        let mut a_tag = None;
        while let Some(out) = engine.poll_output() {
            if let Output::Transmit { dest, bytes, .. } = out {
                if dest.addr == caller && bytes.starts_with(b"SIP/2.0 200") {
                    let m = parse_datagram(bytes, &Limits::default()).expect("200");
                    a_tag = m.envelope().ok().and_then(|e| e.to.tag());
                }
            }
        }
        let tag = a_tag.expect("the caller gets 200");
        engine.handle_input(
            now(virt),
            packet(ack(i, caller, &String::from_utf8_lossy(&tag)), caller),
        );
        while engine.poll_output().is_some() {}
    }
    let stats = engine.stats();
    assert_eq!(stats.calls_active as usize, CALLS, "every call is up");
    let with_tx = dhat::HeapStats::get().curr_bytes - baseline;
    // Let the INVITE transactions finish their 64·T1 linger (virtual time).
    let end = virt + Duration::from_secs(33);
    while let Some(t) = engine.poll_timeout() {
        if t > base + end {
            break;
        }
        virt = t - base;
        engine.handle_timeout(now(virt));
        while engine.poll_output().is_some() {}
    }
    let stats2 = engine.stats();
    let dialogs_only = dhat::HeapStats::get().curr_bytes - baseline;
    println!(
        "dialog_memory: {CALLS} calls up; transactions lingering: {} ({} B heap per call); after 64*T1: {} transactions, {} B heap per dialog",
        stats.transactions,
        with_tx / CALLS,
        stats2.transactions,
        dialogs_only / CALLS
    );
    println!(
        "RESULT: {} bytes of heap per established dialog (target < 4096)",
        dialogs_only / CALLS
    );
}
