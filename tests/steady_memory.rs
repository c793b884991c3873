//! The transaction layer's memory follows its live transactions under
//! steady churn (issue 11 item 7, a finding of the 1-hour soak).
//!
//! The soak (`benches/load/soak.sh`, 625 calls/s) holds ~63,000 lingering
//! transactions (Timers J, L and M keep them 64*T1 after they end) while
//! 2,500 a second come and go. Its RSS stepped up by megabytes at random
//! moments after warm-up and stayed there: the layer's hash tables filled
//! with deleted slots and, when they ran out, doubled (a hash table with
//! more than 7/16 of its slots live grows instead of cleaning up in place).
//! The tables are ordered maps now, whose memory follows the live count.
//!
//! This binary counts every byte allocated (its own global allocator, so
//! it runs alone in its process) and drives the layer through 20,000 BYE
//! transactions at a steady ~1,000 live: one arrives every 32 ms, is
//! answered 200 at once, and lingers for Timer J (32 s). After the first
//! ones have ended, the bytes held are sampled every 10 s of virtual time;
//! they must stay within 2 % of the first sample. A hash table at this
//! size (1,000 live in 2,048 slots) doubles within the first few thousand
//! transactions: with the hash tables this test measured 1.20 MB held at
//! 70 s and 1.53 MB from 360 s on (+26.8 %, steps at 300, 330 and 360 s:
//! the three tables and the timers' index doubling one after another).

use bytes::Bytes;
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};
use switchboard::sip::msg::{parse_datagram, Limits, Message, StatusCode};
use switchboard::sip::transaction::{Destination, Incoming, TimerConfig, TransactionLayer, TransportKind};

/// The system allocator, counting the bytes held.
struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only adds and subtracts the sizes it was asked for.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn peer() -> Destination {
    Destination {
        addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 7), 5060)),
        transport: TransportKind::Udp,
        local: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 5060)),
    }
}

/// BYE number `n`, with its own branch and Call-ID.
fn bye(n: u32) -> Message {
    let text = format!(
        "BYE sip:bob@192.0.2.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK{n:08x}steady\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.com>;tag=a{n}\r\n\
         To: <sip:bob@example.com>;tag=b{n}\r\n\
         Call-ID: steady-{n}@192.0.2.7\r\n\
         CSeq: 2 BYE\r\n\
         Content-Length: 0\r\n\r\n"
    );
    parse_datagram(Bytes::from(text), &Limits::default()).expect("test BYE parses")
}

/// Fires the layer's timers up to `now` and drops what it sends and tells.
fn settle(layer: &mut TransactionLayer, now: Instant) {
    while layer.poll_timeout().is_some_and(|at| at <= now) {
        layer.handle_timeout(now);
    }
    while layer.poll_transmit().is_some() {}
    while layer.poll_event().is_some() {}
}

#[test]
fn lingering_transactions_under_steady_churn_hold_steady_memory() {
    const EVERY: Duration = Duration::from_millis(32);
    const TOTAL: u32 = 20_000;
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(TimerConfig::default());
    let mut samples: Vec<(u64, isize, usize)> = Vec::new();
    for n in 0..TOTAL {
        let now = t0 + EVERY * n;
        settle(&mut layer, now);
        let msg = bye(n);
        let env = msg.envelope().expect("test BYE has an envelope");
        let tx = match layer.handle_incoming(now, msg.clone(), env, peer()) {
            Incoming::Request { tx, .. } => tx,
            other => panic!("BYE {n} made no transaction: {other:?}"),
        };
        let ok = Message::response_to(&msg, StatusCode::new(200).expect("200"), None, Some("b"));
        layer.send_response(now, tx, ok).expect("the layer takes the 200");
        settle(&mut layer, now);
        // Every 10 s of virtual time once the first BYEs' Timer J (32 s)
        // has ended them (at 64 s the live count is steady).
        let at_ms = (EVERY * n).as_millis() as u64;
        if at_ms >= 64_000 && (EVERY * n).as_millis() % 10_000 < EVERY.as_millis() {
            samples.push((at_ms / 1000, HELD.load(Ordering::Relaxed), layer.len()));
        }
    }
    assert!(samples.len() >= 50, "sampled {} times", samples.len());
    let live: Vec<usize> = samples.iter().map(|s| s.2).collect();
    assert!(
        live.iter().all(|&l| (990..=1010).contains(&l)),
        "about 1,000 transactions live at every sample: {live:?}"
    );
    let first = samples[0].1;
    let (at, most, _) = *samples.iter().max_by_key(|s| s.1).expect("samples");
    let growth = 100.0 * (most - first) as f64 / first as f64;
    assert!(
        growth < 2.0,
        "the layer held {first} B at {} s and {most} B at {at} s (+{growth:.1} %): {:?}",
        samples[0].0,
        samples.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>()
    );
}
