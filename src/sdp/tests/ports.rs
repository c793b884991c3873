//! The media port pool (RFC 3550 §11: RTP even, RTCP = RTP + 1).

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sdp::{PortError, PortPool};

/// RFC 3550 §11: the range runs from an even port to an odd one.
#[test]
fn rfc3550_s11_range_must_be_even_to_odd() {
    assert!(PortPool::new(10001, 10009).is_err());
    assert!(PortPool::new(10000, 10008).is_err());
    assert_eq!(
        PortPool::new(10002, 10001).unwrap_err(),
        PortError::BadRange {
            first: 10002,
            last: 10001
        }
    );
    assert_eq!(PortPool::new(10000, 10001).unwrap().capacity(), 1);
    assert_eq!(PortPool::new(16384, 32767).unwrap().capacity(), 8192);
    assert_eq!(PortPool::new(65534, 65535).unwrap().capacity(), 1);
}

/// RFC 3550 §11: only even RTP ports are handed out; exhaustion gives `None`, a release makes room.
#[test]
fn rfc3550_s11_exhaustion_and_reuse() {
    let mut pool = PortPool::new(10000, 10009).unwrap();
    let got: Vec<u16> = std::iter::from_fn(|| pool.allocate()).collect();
    assert_eq!(got, vec![10000, 10002, 10004, 10006, 10008]);
    assert_eq!(pool.allocate(), None);
    assert_eq!((pool.in_use(), pool.available()), (5, 0));
    pool.release(10004).unwrap();
    assert_eq!(pool.allocate(), Some(10004));
    assert_eq!(pool.allocate(), None);
}

/// Least recently released first, so stale packets of an ended call die out before reuse.
#[test]
fn recycles_least_recently_released_first() {
    let mut pool = PortPool::new(20000, 20007).unwrap();
    let a: Vec<u16> = (0..4).filter_map(|_| pool.allocate()).collect();
    for p in [a[2], a[0], a[3]] {
        pool.release(p).unwrap();
    }
    assert_eq!(pool.allocate(), Some(a[2]));
    pool.release(a[1]).unwrap();
    assert_eq!(pool.allocate(), Some(a[0]));
    assert_eq!(pool.allocate(), Some(a[3]));
    assert_eq!(pool.allocate(), Some(a[1]));
    assert_eq!(pool.allocate(), None);
}

/// Releases of odd, foreign or free ports are refused and change nothing.
#[test]
fn bad_releases_are_refused() {
    let mut pool = PortPool::new(30000, 30003).unwrap();
    let p = pool.allocate().unwrap();
    assert_eq!(pool.release(p + 1), Err(PortError::NotInPool(p + 1)));
    assert_eq!(pool.release(29998), Err(PortError::NotInPool(29998)));
    assert_eq!(pool.release(30004), Err(PortError::NotInPool(30004)));
    assert_eq!(pool.release(30002), Err(PortError::NotAllocated(30002)));
    pool.release(p).unwrap();
    assert_eq!(pool.release(p), Err(PortError::NotAllocated(p)));
    assert_eq!((pool.in_use(), pool.available()), (0, 2));
}

/// Issue 3 item 1: 100,000 calls allocate and release with no leak and no port handed out twice.
#[test]
fn no_leak_after_100k_cycles() {
    let mut pool = PortPool::new(16384, 16483).unwrap(); // 50 pairs
    let mut rng = StdRng::seed_from_u64(3264);
    let mut live: Vec<u16> = Vec::new();
    let mut set = HashSet::new();
    let mut allocations = 0;
    while allocations < 100_000 {
        if live.len() < 50 && (live.is_empty() || rng.random_bool(0.55)) {
            let p = pool.allocate().expect("a free pair while fewer than capacity are live");
            assert!(p % 2 == 0 && (16384..=16482).contains(&p));
            assert!(set.insert(p), "port {p} handed out twice");
            assert!(pool.is_allocated(p));
            live.push(p);
            allocations += 1;
        } else if live.len() == 50 {
            assert_eq!(pool.allocate(), None);
            let p = live.swap_remove(rng.random_range(0..live.len()));
            set.remove(&p);
            pool.release(p).unwrap();
        } else {
            let p = live.swap_remove(rng.random_range(0..live.len()));
            set.remove(&p);
            pool.release(p).unwrap();
        }
        assert_eq!(pool.in_use() + pool.available(), pool.capacity());
    }
    for p in live.drain(..) {
        pool.release(p).unwrap();
    }
    assert_eq!((pool.in_use(), pool.available()), (0, 50));
}
