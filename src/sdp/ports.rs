//! The media port pool: RTP on an even port, RTCP on the odd port above it
//! (RFC 3550 §11, RFC 3551 §8, so no `a=rtcp` is needed, RFC 3605 §1), taken
//! from a configured range and given back when a stream ends.
//!
//! Pure: no sockets (the driver binds what it gets and releases what fails to
//! bind). Released ports go to the back of a FIFO, so the port reused next is
//! the one released longest ago, giving stale packets of an ended call the
//! most time to die out before a new call listens there.

use std::collections::VecDeque;

/// Why a port range or a release was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// The range must start on an even port, end on an odd one, and not be empty.
    #[error("media port range {first}..={last} must run from an even port to an odd one above it")]
    BadRange {
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },
    /// The port is odd or outside the pool's range.
    #[error("port {0} is not an RTP port of this pool")]
    NotInPool(u16),
    /// The port is not currently allocated (a double release).
    #[error("port {0} is not allocated")]
    NotAllocated(u16),
}

/// An allocator of RTP/RTCP port pairs over `first..=last` (even..odd).
#[derive(Clone, Debug)]
pub struct PortPool {
    first: u16,
    free: VecDeque<u16>,
    in_use: Vec<u64>,
    allocated: usize,
    pairs: usize,
}

impl PortPool {
    /// A pool over `first..=last`: `first` even, `last` odd and above it (e.g. 16384..=32767).
    pub fn new(first: u16, last: u16) -> Result<Self, PortError> {
        if first % 2 != 0 || last % 2 != 1 || last < first {
            return Err(PortError::BadRange { first, last });
        }
        let pairs = usize::from((last - first) / 2) + 1;
        let free = (0..pairs).map(|i| first + (i as u16) * 2).collect();
        Ok(PortPool {
            first,
            free,
            in_use: vec![0; pairs.div_ceil(64)],
            allocated: 0,
            pairs,
        })
    }

    fn index(&self, port: u16) -> Option<usize> {
        if port < self.first || port % 2 != 0 {
            return None;
        }
        let i = usize::from((port - self.first) / 2);
        (i < self.capacity()).then_some(i)
    }

    /// An even RTP port (RTCP is the next one), the least recently released
    /// first; `None` when every pair is in use.
    pub fn allocate(&mut self) -> Option<u16> {
        let port = self.free.pop_front()?;
        if let Some(i) = self.index(port) {
            self.in_use[i / 64] |= 1 << (i % 64);
            self.allocated += 1;
        }
        Some(port)
    }

    /// Gives an allocated RTP port back; it is reused after every port released before it.
    pub fn release(&mut self, port: u16) -> Result<(), PortError> {
        let i = self.index(port).ok_or(PortError::NotInPool(port))?;
        let bit = 1u64 << (i % 64);
        if self.in_use[i / 64] & bit == 0 {
            return Err(PortError::NotAllocated(port));
        }
        self.in_use[i / 64] &= !bit;
        self.allocated -= 1;
        self.free.push_back(port);
        Ok(())
    }

    /// True if `port` is currently allocated.
    pub fn is_allocated(&self, port: u16) -> bool {
        self.index(port)
            .is_some_and(|i| self.in_use[i / 64] & (1 << (i % 64)) != 0)
    }

    /// How many pairs are allocated.
    pub fn in_use(&self) -> usize {
        self.allocated
    }

    /// How many pairs are free.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// How many pairs the range holds.
    pub fn capacity(&self) -> usize {
        self.pairs
    }
}
