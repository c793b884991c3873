//! `TimerTable` (src/time.rs): set/cancel/get, next_expiry, expired order.

use super::ms;
use std::time::Instant;
use switchboard::time::TimerTable;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum T {
    A,
    B,
    C,
}

fn t0() -> Instant {
    super::origin()
}

#[test]
fn empty_table_has_no_expiry() {
    let t: TimerTable<T> = TimerTable::new();
    assert!(t.is_empty());
    assert_eq!(t.next_expiry(), None);
}

#[test]
fn set_get_cancel() {
    let t0 = t0();
    let mut t = TimerTable::new();
    assert_eq!(t.set(T::A, t0 + ms(10)), None);
    assert_eq!(t.get(T::A), Some(t0 + ms(10)));
    assert!(t.is_set(T::A));
    assert_eq!(t.cancel(T::A), Some(t0 + ms(10)));
    assert_eq!(t.cancel(T::A), None);
    assert_eq!(t.get(T::A), None);
    assert_eq!(t.next_expiry(), None);
    assert_eq!(t.len(), 0);
}

#[test]
fn reset_replaces_deadline() {
    let t0 = t0();
    let mut t = TimerTable::new();
    t.set(T::A, t0 + ms(10));
    assert_eq!(t.set(T::A, t0 + ms(50)), Some(t0 + ms(10)));
    assert_eq!(t.len(), 1);
    assert_eq!(t.next_expiry(), Some(t0 + ms(50)));
    assert!(t.expired(t0 + ms(10)).is_empty());
    assert_eq!(t.expired(t0 + ms(50)), vec![T::A]);
}

#[test]
fn next_expiry_is_minimum() {
    let t0 = t0();
    let mut t = TimerTable::new();
    t.set(T::A, t0 + ms(30));
    t.set(T::B, t0 + ms(10));
    t.set(T::C, t0 + ms(20));
    assert_eq!(t.next_expiry(), Some(t0 + ms(10)));
    t.cancel(T::B);
    assert_eq!(t.next_expiry(), Some(t0 + ms(20)));
}

#[test]
fn expired_removes_due_keys_in_order() {
    let t0 = t0();
    let mut t = TimerTable::new();
    t.set(T::C, t0 + ms(5));
    t.set(T::A, t0 + ms(20));
    t.set(T::B, t0 + ms(5));
    assert_eq!(t.expired(t0 + ms(4)), Vec::<T>::new());
    // Same deadline: key order; a deadline equal to now counts as expired.
    assert_eq!(t.expired(t0 + ms(5)), vec![T::B, T::C]);
    assert_eq!(t.len(), 1);
    assert_eq!(t.next_expiry(), Some(t0 + ms(20)));
    assert_eq!(t.expired(t0 + ms(100)), vec![T::A]);
    assert!(t.is_empty());
}

#[test]
fn pop_expired_allows_rearming() {
    let t0 = t0();
    let mut t = TimerTable::new();
    t.set(T::A, t0 + ms(1));
    let mut fired = 0;
    let now = t0 + ms(10);
    while let Some((k, at)) = t.pop_expired(now) {
        fired += 1;
        // Re-armed in the future: must not fire again in this drain.
        t.set(k, at + ms(100));
    }
    assert_eq!(fired, 1);
    assert_eq!(t.get(T::A), Some(t0 + ms(101)));
}

#[test]
fn composite_keys_clear_and_iter() {
    let t0 = t0();
    let mut t = TimerTable::new();
    t.set((1u32, T::A), t0 + ms(2));
    t.set((0u32, T::B), t0 + ms(1));
    let v: Vec<_> = t.iter().map(|(k, _)| k).collect();
    assert_eq!(v, vec![(0, T::B), (1, T::A)]);
    t.clear();
    assert!(t.is_empty());
    assert_eq!(t.next_expiry(), None);
}
