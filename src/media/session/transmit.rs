//! The session core's outgoing datagrams: a FIFO of reusable buffers, so
//! that queueing a packet (the relay fast path, a pipeline's or the music's
//! 20 ms frame, an RTCP report) allocates nothing once the queue has been as
//! deep as it gets. Buffers are only allocated when the queue is deeper than
//! ever before (a tick catching up after a starved worker, say). A copied
//! datagram (the relay's) goes into one dedicated buffer when nothing else
//! waits, which is the fast path's usual case: one copy, no queue work.

use super::{Peer, SocketKind, Transmit};
use crate::media::pipeline::MAX_OUT_PACKET;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Size of each buffer: the largest datagram the pump reads (a relayed
/// packet) or a pipeline writes.
pub(super) const SLOT_LEN: usize = 2048;
const _: () = assert!(MAX_OUT_PACKET <= SLOT_LEN);

/// Where a queued datagram goes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Route {
    pub to: Peer,
    pub socket: SocketKind,
    pub dest: SocketAddr,
}

/// Queued datagrams and the pool of free buffers.
pub(super) struct TxQueue {
    /// A copied datagram sent before anything in `queued` (set only when
    /// `queued` was empty), in `direct_buf`.
    direct: Option<(Route, usize)>,
    direct_buf: Vec<u8>,
    queued: VecDeque<(Route, Vec<u8>, usize)>,
    free: Vec<Vec<u8>>,
    /// The buffer lent out by the last [`TxQueue::pop`].
    lent: Option<Vec<u8>>,
}

impl Default for TxQueue {
    fn default() -> Self {
        TxQueue {
            direct: None,
            direct_buf: vec![0; SLOT_LEN],
            queued: VecDeque::new(),
            free: Vec::new(),
            lent: None,
        }
    }
}

impl TxQueue {
    /// A buffer of [`SLOT_LEN`] bytes to write a datagram into; give it back
    /// with [`TxQueue::push`] or [`TxQueue::put_back`].
    pub fn take(&mut self) -> Vec<u8> {
        self.free.pop().unwrap_or_else(|| vec![0; SLOT_LEN])
    }

    /// Queues `buf[..len]` for `route`.
    pub fn push(&mut self, route: Route, buf: Vec<u8>, len: usize) {
        self.queued.push_back((route, buf, len));
    }

    /// Returns an unused buffer to the pool.
    pub fn put_back(&mut self, buf: Vec<u8>) {
        self.free.push(buf);
    }

    /// Queues a copy of `payload` (too long for a buffer: dropped, false).
    pub fn push_copy(&mut self, route: Route, payload: &[u8]) -> bool {
        if self.direct.is_none() && self.queued.is_empty() {
            let Some(dst) = self.direct_buf.get_mut(..payload.len()) else {
                return false;
            };
            dst.copy_from_slice(payload);
            self.direct = Some((route, payload.len()));
            return true;
        }
        let mut buf = self.take();
        match buf.get_mut(..payload.len()) {
            Some(dst) => {
                dst.copy_from_slice(payload);
                self.push(route, buf, payload.len());
                true
            }
            None => {
                self.put_back(buf);
                false
            }
        }
    }

    /// Whose socket the oldest queued datagram leaves from, without taking it.
    pub fn peek(&self) -> Option<(Peer, SocketKind)> {
        match (&self.direct, self.queued.front()) {
            (Some((route, _)), _) | (None, Some((route, _, _))) => Some((route.to, route.socket)),
            (None, None) => None,
        }
    }

    /// The oldest queued datagram; its buffer returns to the pool at the next call.
    pub fn pop(&mut self) -> Option<Transmit<'_>> {
        if let Some(buf) = self.lent.take() {
            self.free.push(buf);
        }
        if let Some((route, len)) = self.direct.take() {
            return Some(Transmit {
                to: route.to,
                socket: route.socket,
                dest: route.dest,
                payload: self.direct_buf.get(..len).unwrap_or_default(),
            });
        }
        let (route, buf, len) = self.queued.pop_front()?;
        let buf = self.lent.insert(buf);
        Some(Transmit {
            to: route.to,
            socket: route.socket,
            dest: route.dest,
            payload: buf.get(..len).unwrap_or_default(),
        })
    }
}
