//! The session's SRTP edge (RFC 3711, keys by SDES RFC 4568): per peer whose
//! SDP agreed keys, an [`SrtpStream`]. What such a peer sends is checked
//! and decrypted before anything else in the core sees it (the latch moves
//! only on authenticated packets); what the core queues for it is
//! encrypted as it leaves [`super::SessionCore::poll_transmit`]. Everything
//! in between (relay, pipelines, bridge, recorder) works on plain RTP, so
//! one leg can be SRTP and the other plain RTP (issue 11 item 2).

use super::{Peer, SocketKind};
use crate::rtp::srtp::{SrtpKeys, SrtpStream};
use bytes::BytesMut;

/// The SRTP streams of a session's peers.
#[derive(Default)]
pub(super) struct SecurePeers {
    streams: Vec<(Peer, SrtpStream)>,
}

/// What became of a received datagram.
pub(super) enum Opened {
    /// The peer is plain RTP: use the datagram as it is.
    Plain,
    /// Decrypted.
    Decrypted(BytesMut),
    /// Refused: forged, replayed, or not SRTP (counted, dropped).
    Refused,
}

impl SecurePeers {
    /// Sets `peer`'s keys (`None`: plain RTP). Unchanged keys keep the
    /// stream, so a re-INVITE that repeats them keeps the rollover counters
    /// and replay windows (RFC 3711 §3.3.1).
    pub fn set(&mut self, peer: Peer, keys: Option<&SrtpKeys>) {
        let at = self.streams.iter().position(|(p, _)| *p == peer);
        match (at, keys) {
            (Some(i), Some(k)) if self.streams[i].1.keys() == k => {}
            (at, Some(k)) => {
                if let Some(i) = at {
                    self.streams.swap_remove(i);
                }
                match SrtpStream::new(k) {
                    Ok(s) => self.streams.push((peer, s)),
                    // Cannot happen: the keys are 30 bytes and ring has both
                    // suites' algorithms. Logged, not hidden.
                    Err(e) => tracing::warn!(error = %e, "SRTP keys refused: media to this leg stops"),
                }
            }
            (Some(i), None) => {
                self.streams.swap_remove(i);
            }
            (None, None) => {}
        }
    }

    /// Forgets `peer` (it left the call).
    pub fn remove(&mut self, peer: Peer) {
        self.streams.retain(|(p, _)| *p != peer);
    }

    fn get(&mut self, peer: Peer) -> Option<&mut SrtpStream> {
        self.streams.iter_mut().find(|(p, _)| *p == peer).map(|(_, s)| s)
    }

    /// True when `peer` is SRTP.
    pub fn is_secure(&self, peer: Peer) -> bool {
        self.streams.iter().any(|(p, _)| *p == peer)
    }

    /// Checks and decrypts what `peer` sent on `socket`.
    pub fn open(&mut self, peer: Peer, socket: SocketKind, datagram: &[u8]) -> Opened {
        let Some(s) = self.get(peer) else {
            return Opened::Plain;
        };
        let r = match socket {
            SocketKind::Rtp => s.unprotect_rtp(datagram),
            SocketKind::Rtcp => s.unprotect_rtcp(datagram),
        };
        match r {
            Ok(plain) => Opened::Decrypted(plain),
            Err(_) => Opened::Refused,
        }
    }

    /// Encrypts what the core sends `peer` on `socket`; `None` when the
    /// peer is plain RTP (send as is). `Some(Err(..))`: drop it.
    pub fn seal(&mut self, peer: Peer, socket: SocketKind, datagram: &[u8]) -> Option<Result<BytesMut, ()>> {
        let s = self.get(peer)?;
        let r = match socket {
            SocketKind::Rtp => s.protect_rtp(datagram),
            SocketKind::Rtcp => s.protect_rtcp(datagram),
        };
        Some(r.map_err(|_| ()))
    }
}
