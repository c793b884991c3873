//! The session's WebRTC edge (issue 12): for each peer whose plan carries a
//! [`WebrtcPlan`], the one UDP port of its leg carries ICE checks, DTLS and
//! SRTP/SRTCP together (RFC 7983, RFC 5761 rtcp-mux). This edge sits in
//! front of the SRTP edge (`secure.rs`):
//!
//! - STUN goes to the leg's ICE-lite responder ([`IceLite`]); its answers
//!   go back to the sender.
//! - DTLS from an address that passed an ICE check goes to the leg's
//!   [`DtlsTransport`]; when the handshake completes, its keys become the
//!   peer's SRTP keys (reported as [`EdgeEvent::Keys`]).
//! - SRTP and SRTCP pass on (to be decrypted) only from a checked address
//!   and once keyed; anything else is dropped.
//! - What the core sends such a peer goes out of the RTP socket (RTCP
//!   too: rtcp-mux) to the ICE-selected address, and only once keyed:
//!   nothing is ever sent to a browser in clear.
//!
//! A re-INVITE that repeats the plan keeps the ICE and DTLS state (same
//! credentials, same association); an ICE restart (new ICE credentials,
//! RFC 8839 §4.4.1.1) restarts ICE only and keeps DTLS and its keys, media
//! staying on the old address until a check with the new credentials moves
//! it (RFC 8445 §9); a new fingerprint or DTLS role starts both again.

use super::{Peer, SocketKind};
use crate::call::media::WebrtcPlan;
use crate::webrtc::demux::{classify, Datagram};
use crate::webrtc::dtls::{DtlsEvent, DtlsIdentity, DtlsRole, DtlsTransport, Fingerprint};
use crate::webrtc::ice_lite::{IceCredentials, IceEvent, IceLite};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// What the edge tells the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EdgeEvent {
    /// DTLS completed: the peer's SRTP keys.
    Keys(crate::rtp::SrtpKeys),
    /// Media to the peer now goes to this address (ICE selection).
    Selected(SocketAddr),
    /// The peer lost consent (RFC 7675): nothing is sent to it.
    ConsentLost(SocketAddr),
    /// DTLS failed: the leg has no media.
    Failed(String),
}

/// What became of a datagram from a WebRTC peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Received {
    /// An ICE check or DTLS record: handled here.
    Consumed,
    /// SRTP (`Rtp`) or SRTCP (`Rtcp`) from a checked address, keyed: decrypt it.
    Media(SocketKind),
    /// Not from a checked address, before the keys, or noise: dropped.
    Dropped,
}

struct WebrtcPeer {
    plan: WebrtcPlan,
    ice: IceLite,
    dtls: Option<DtlsTransport>,
    keyed: bool,
}

/// The WebRTC peers of a session.
#[derive(Default)]
pub(super) struct WebrtcPeers {
    identity: Option<Arc<DtlsIdentity>>,
    peers: Vec<(Peer, WebrtcPeer)>,
    out: VecDeque<(Peer, SocketAddr, Vec<u8>)>,
    events: VecDeque<(Peer, EdgeEvent)>,
}

impl WebrtcPeers {
    /// An edge whose DTLS uses `identity` (the switch's certificate).
    pub fn new(identity: Option<Arc<DtlsIdentity>>) -> WebrtcPeers {
        WebrtcPeers {
            identity,
            ..WebrtcPeers::default()
        }
    }

    /// Sets `peer`'s plan (`None`: not WebRTC). The same plan keeps the
    /// running ICE and DTLS state.
    pub fn set(&mut self, peer: Peer, plan: Option<&WebrtcPlan>) {
        let at = self.peers.iter().position(|(p, _)| *p == peer);
        match (at, plan) {
            (Some(i), Some(plan)) if self.peers[i].1.plan == *plan => {}
            (at, Some(plan)) => {
                if let Some(i) = at {
                    self.peers.swap_remove(i);
                }
                let state = self.start(plan);
                self.peers.push((peer, state));
            }
            (Some(i), None) => {
                self.peers.swap_remove(i);
            }
            (None, None) => {}
        }
    }

    fn start(&self, plan: &WebrtcPlan) -> WebrtcPeer {
        let ice = IceLite::new(
            IceCredentials {
                ufrag: plan.local_ufrag.clone(),
                pwd: plan.local_pwd.clone(),
            },
            Some(plan.remote_ufrag.clone()),
        );
        let fingerprints: Vec<Fingerprint> = plan
            .remote_fingerprints
            .iter()
            .filter_map(|f| Fingerprint::parse(f))
            .collect();
        let role = if plan.dtls_server {
            DtlsRole::Server
        } else {
            DtlsRole::Client
        };
        let dtls = match &self.identity {
            Some(id) => match DtlsTransport::new(id, role, fingerprints) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::error!(error = %e, "WebRTC leg without DTLS: it will carry no media");
                    None
                }
            },
            None => {
                tracing::error!("WebRTC leg but no DTLS certificate: it will carry no media");
                None
            }
        };
        WebrtcPeer {
            plan: plan.clone(),
            ice,
            dtls,
            keyed: false,
        }
    }

    /// Takes `peer`'s plan after an SDP exchange: the same plan changes
    /// nothing; new ICE credentials with the same DTLS parameters restart
    /// ICE only ([`IceLite::restart`]: DTLS and its SRTP keys carry on, as
    /// browsers keep their DTLS transport across an ICE restart); anything
    /// else starts ICE and DTLS again ([`WebrtcPeers::set`]).
    pub fn update(&mut self, peer: Peer, plan: &WebrtcPlan) {
        let Some(w) = self.get(peer) else {
            return;
        };
        if w.plan == *plan {
            return;
        }
        if w.plan.same_dtls(plan) {
            w.ice.restart(
                IceCredentials {
                    ufrag: plan.local_ufrag.clone(),
                    pwd: plan.local_pwd.clone(),
                },
                &plan.remote_ufrag,
            );
            w.plan = plan.clone();
            tracing::info!(?peer, "ICE restart: new credentials, DTLS kept");
            return;
        }
        self.set(peer, Some(plan));
    }

    /// Forgets `peer` (it left the call).
    pub fn remove(&mut self, peer: Peer) {
        self.peers.retain(|(p, _)| *p != peer);
    }

    fn get(&mut self, peer: Peer) -> Option<&mut WebrtcPeer> {
        self.peers.iter_mut().find(|(p, _)| *p == peer).map(|(_, w)| w)
    }

    /// True when `peer` is a WebRTC leg.
    pub fn is_webrtc(&self, peer: Peer) -> bool {
        self.peers.iter().any(|(p, _)| *p == peer)
    }

    /// Where media to `peer` goes: its ICE-selected address, once keyed.
    pub fn destination(&self, peer: Peer) -> Option<SocketAddr> {
        self.peers
            .iter()
            .find(|(p, _)| *p == peer)
            .filter(|(_, w)| w.keyed)
            .and_then(|(_, w)| w.ice.selected())
    }

    /// Every WebRTC peer's ICE-selected address.
    pub fn selections(&self) -> Vec<(Peer, SocketAddr)> {
        self.peers
            .iter()
            .filter_map(|(p, w)| w.ice.selected().map(|a| (*p, a)))
            .collect()
    }

    /// Handles a datagram from `src` on `peer`'s RTP port.
    pub fn receive(&mut self, now: Instant, peer: Peer, src: SocketAddr, datagram: &[u8]) -> Received {
        let Some(w) = self.peers.iter_mut().find(|(p, _)| *p == peer).map(|(_, w)| w) else {
            return Received::Dropped;
        };
        let verdict = match classify(datagram) {
            Datagram::Stun => {
                if let Some(reply) = w.ice.handle_stun(now, src, datagram).reply {
                    self.out.push_back((peer, src, reply));
                }
                Received::Consumed
            }
            Datagram::Dtls if w.ice.is_validated(src) => {
                if let Some(d) = w.dtls.as_mut() {
                    d.handle_datagram(now, datagram);
                }
                Received::Consumed
            }
            Datagram::Rtp if w.keyed && w.ice.is_validated(src) => Received::Media(SocketKind::Rtp),
            Datagram::Rtcp if w.keyed && w.ice.is_validated(src) => Received::Media(SocketKind::Rtcp),
            _ => Received::Dropped,
        };
        self.drain(now, peer);
        verdict
    }

    /// Moves `peer`'s ICE and DTLS events and DTLS flights to the queues.
    fn drain(&mut self, now: Instant, peer: Peer) {
        let Some(w) = self.peers.iter_mut().find(|(p, _)| *p == peer).map(|(_, w)| w) else {
            return;
        };
        while let Some(e) = w.ice.poll_event() {
            match e {
                IceEvent::Selected(a) => {
                    if let Some(d) = w.dtls.as_mut() {
                        d.start(now);
                    }
                    self.events.push_back((peer, EdgeEvent::Selected(a)));
                }
                IceEvent::ConsentExpired(a) => self.events.push_back((peer, EdgeEvent::ConsentLost(a))),
            }
        }
        if let Some(d) = w.dtls.as_mut() {
            while let Some(e) = d.poll_event() {
                match e {
                    DtlsEvent::Connected(keys) => {
                        w.keyed = true;
                        self.events.push_back((peer, EdgeEvent::Keys(keys)));
                    }
                    DtlsEvent::Failed(err) => self.events.push_back((peer, EdgeEvent::Failed(err.to_string()))),
                    DtlsEvent::Closed => {
                        w.keyed = false;
                        self.events
                            .push_back((peer, EdgeEvent::Failed("the browser closed DTLS".into())));
                    }
                }
            }
            if let Some(to) = w.ice.selected() {
                while let Some(flight) = d.poll_transmit() {
                    self.out.push_back((peer, to, flight.to_vec()));
                }
            }
        }
    }

    /// The next ICE answer or DTLS flight: (peer, destination, datagram).
    pub fn poll_transmit(&mut self) -> Option<(Peer, SocketAddr, Vec<u8>)> {
        self.out.pop_front()
    }

    /// The next event, until `None`.
    pub fn poll_event(&mut self) -> Option<(Peer, EdgeEvent)> {
        self.events.pop_front()
    }

    /// The earliest consent expiry or DTLS retransmission.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .iter()
            .flat_map(|(_, w)| {
                [
                    w.ice.poll_timeout(),
                    w.dtls.as_ref().and_then(DtlsTransport::poll_timeout),
                ]
            })
            .flatten()
            .min()
    }

    /// Runs what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let peers: Vec<Peer> = self.peers.iter().map(|(p, _)| *p).collect();
        for peer in peers {
            if let Some(w) = self.get(peer) {
                if w.ice.poll_timeout().is_some_and(|t| t <= now) {
                    w.ice.handle_timeout(now);
                }
                if let Some(d) = w.dtls.as_mut().filter(|d| d.poll_timeout().is_some_and(|t| t <= now)) {
                    d.handle_timeout(now);
                }
            }
            self.drain(now, peer);
        }
    }
}
