//! [`OutQueue`]: the outgoing RTP packets (RFC 3550 §5.1) a media path holds
//! between its tick and the session draining them, in a fixed ring so that
//! steady operation allocates nothing. Shared by the transcoding
//! [`super::Pipeline`] and the conference bridge's listeners.

/// A fixed ring of outgoing packets, each at most `packet_len` bytes; when
/// full, the oldest packet is dropped to make room.
pub(crate) struct OutQueue {
    slots: Vec<Vec<u8>>,
    lens: Vec<usize>,
    head: usize,
    count: usize,
}

impl OutQueue {
    /// A ring of `slots` packets of up to `packet_len` bytes.
    pub(crate) fn new(slots: usize, packet_len: usize) -> Self {
        let slots = slots.max(1);
        OutQueue {
            slots: (0..slots).map(|_| vec![0; packet_len]).collect(),
            lens: vec![0; slots],
            head: 0,
            count: 0,
        }
    }

    /// The next free slot, dropping the oldest packet when full (returns whether it did).
    pub(crate) fn begin(&mut self) -> (&mut [u8], bool) {
        let n = self.slots.len();
        let overflow = self.count == n;
        if overflow {
            self.head = (self.head + 1) % n;
            self.count -= 1;
        }
        let i = (self.head + self.count) % n;
        (&mut self.slots[i], overflow)
    }

    /// Queues the slot [`begin`](Self::begin) returned, holding `len` bytes.
    pub(crate) fn commit(&mut self, len: usize) {
        let i = (self.head + self.count) % self.slots.len();
        self.lens[i] = len;
        self.count += 1;
    }

    /// The oldest queued packet.
    pub(crate) fn pop(&mut self) -> Option<&[u8]> {
        if self.count == 0 {
            return None;
        }
        let i = self.head;
        self.head = (self.head + 1) % self.slots.len();
        self.count -= 1;
        self.slots[i].get(..self.lens[i])
    }

    /// Copies the oldest queued packet into `out` and returns its length;
    /// packets longer than `out` are dropped and counted in `dropped`.
    pub(crate) fn pop_into(&mut self, out: &mut [u8], dropped: &mut u64) -> Option<usize> {
        while let Some(pkt) = self.pop() {
            if let Some(dst) = out.get_mut(..pkt.len()) {
                dst.copy_from_slice(pkt);
                return Some(pkt.len());
            }
            *dropped += 1;
        }
        None
    }
}
