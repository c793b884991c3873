//! The bounded queues between the switch's tasks (issue 11 item 3): socket
//! readers → engine, engine → store, engine → media control → media
//! sessions, media sessions → engine, engine → TCP connections. Each has a
//! capacity and a [`QueueWatch`] that counts the times it was found full and
//! logs it (the 1st, 2nd, 4th, 8th… time, so no clock is read and a queue
//! that stays full cannot flood the log), so an operator sees which stage
//! is behind. What a full queue does depends on what it carries and is
//! written where it is used: waiting (backpressure) for what must not be
//! lost, dropping for what the peer retransmits anyway.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts and logs the times one queue was full; for the queues whose
/// ends call [`QueueWatch::enqueued`] and [`QueueWatch::dequeued`], also
/// how many items wait in it and the most since the last stats line.
#[derive(Debug)]
pub struct QueueWatch {
    name: &'static str,
    capacity: usize,
    full: AtomicU64,
    depth: AtomicUsize,
    high: AtomicUsize,
}

impl QueueWatch {
    /// A watch for the queue `name` of `capacity` items.
    pub const fn new(name: &'static str, capacity: usize) -> Self {
        Self {
            name,
            capacity,
            full: AtomicU64::new(0),
            depth: AtomicUsize::new(0),
            high: AtomicUsize::new(0),
        }
    }

    /// Records that one item went into the queue.
    pub fn enqueued(&self) {
        let d = self.depth.fetch_add(1, Ordering::Relaxed) + 1;
        self.high.fetch_max(d, Ordering::Relaxed);
    }

    /// Records that one item was taken out of the queue.
    pub fn dequeued(&self) {
        // Never below zero, even if a take is counted before its put.
        let _ = self
            .depth
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| Some(d.saturating_sub(1)));
    }

    /// The most items that waited at once since the last call (the
    /// stats line's `store_backlog_peak`); restarts from the depth now.
    pub fn take_high(&self) -> usize {
        self.high.swap(self.depth.load(Ordering::Relaxed), Ordering::Relaxed)
    }

    /// The queue's capacity.
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records that the queue was full; `action` says what happens to the
    /// item (`"waiting"`, `"dropped"`), for the log.
    pub fn full(&self, action: &str) {
        let n = self.full.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(
                queue = self.name,
                capacity = self.capacity,
                times_full = n,
                "queue full ({action}): the next stage is behind"
            );
        }
    }

    /// Times the queue was found full since start.
    pub fn times_full(&self) -> u64 {
        self.full.load(Ordering::Relaxed)
    }

    /// The queue's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// SIP messages from the socket readers to the engine.
pub static ENGINE_INPUT: QueueWatch = QueueWatch::new("sip to engine", 8192);
/// Writes from the engine to the store thread.
pub static STORE: QueueWatch = QueueWatch::new("engine to store", 16_384);
/// Commands from the engine to the media control thread.
pub static MEDIA_CONTROL: QueueWatch = QueueWatch::new("engine to media", 8192);
/// Commands from the media control thread to one media session.
pub static MEDIA_SESSION: QueueWatch = QueueWatch::new("media control to session", 256);
/// Reports (key presses) from media sessions to the engine.
pub static MEDIA_REPORTS: QueueWatch = QueueWatch::new("media to engine", 4096);
/// Messages waiting to be written on one TCP connection.
pub static TCP_WRITE: QueueWatch = QueueWatch::new("tcp connection writes", 1024);

/// Every queue's watch, for the stats line.
pub fn all() -> [&'static QueueWatch; 6] {
    [
        &ENGINE_INPUT,
        &STORE,
        &MEDIA_CONTROL,
        &MEDIA_SESSION,
        &MEDIA_REPORTS,
        &TCP_WRITE,
    ]
}

/// Sends `item` on a bounded tokio channel from synchronous code: at once
/// when there is room, else (counted in `watch`) waiting for room: inside
/// a multi-threaded runtime the worker is handed over while it waits,
/// outside any runtime the thread blocks. `Err(item)` when the receiver is
/// gone (or, in a single-threaded runtime, where waiting would deadlock,
/// when the queue is full).
pub fn send_or_wait<T>(tx: &tokio::sync::mpsc::Sender<T>, item: T, watch: &QueueWatch) -> Result<(), T> {
    use tokio::sync::mpsc::error::TrySendError;
    match tx.try_send(item) {
        Ok(()) => Ok(()),
        Err(TrySendError::Closed(item)) => Err(item),
        Err(TrySendError::Full(item)) => {
            watch.full("waiting");
            match tokio::runtime::Handle::try_current() {
                Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(|| tx.blocking_send(item)).map_err(|e| e.0)
                }
                Ok(_) => Err(item),
                Err(_) => tx.blocking_send(item).map_err(|e| e.0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_is_counted_and_waited_for_outside_a_runtime() {
        static W: QueueWatch = QueueWatch::new("test", 1);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
        assert!(send_or_wait(&tx, 1, &W).is_ok());
        assert_eq!(W.times_full(), 0);
        let producer = std::thread::spawn(move || send_or_wait(&tx, 2, &W).is_ok());
        // The producer finds the queue full (counted) and waits for room.
        while W.times_full() == 0 {
            std::thread::yield_now();
        }
        assert_eq!(rx.blocking_recv(), Some(1));
        assert!(producer.join().expect("producer"), "nothing lost");
        assert_eq!(rx.blocking_recv(), Some(2));
        assert_eq!(W.times_full(), 1);
    }

    #[test]
    fn the_backlog_peak_is_the_most_items_waiting_since_the_last_reading() {
        static W: QueueWatch = QueueWatch::new("test depth", 8);
        for _ in 0..3 {
            W.enqueued();
        }
        W.dequeued();
        W.dequeued();
        assert_eq!(W.take_high(), 3, "three waited at once");
        assert_eq!(W.take_high(), 1, "one still waits");
        W.dequeued();
        W.dequeued(); // a stray take does not wrap
        assert_eq!(W.take_high(), 1, "one waited when this interval began");
        assert_eq!(W.take_high(), 0, "none since");
    }

    #[test]
    fn a_closed_queue_gives_the_item_back() {
        static W: QueueWatch = QueueWatch::new("test closed", 1);
        let (tx, rx) = tokio::sync::mpsc::channel::<u32>(1);
        drop(rx);
        assert_eq!(send_or_wait(&tx, 7, &W), Err(7));
    }
}
