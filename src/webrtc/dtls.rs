//! DTLS-SRTP on a WebRTC leg (RFC 5763, RFC 5764): the DTLS 1.2 handshake
//! (`rtc-dtls`, sans-IO) whose only product is the SRTP master keys, which
//! then feed the same [`SrtpStream`](crate::rtp::srtp::SrtpStream) as
//! SDES-keyed legs.
//!
//! - The peer's certificate is self-signed; it is trusted because its
//!   SHA-256 (or -384/-512) digest equals an `a=fingerprint` of the peer's
//!   SDP (RFC 5763 §5, RFC 8122 §5). Any other certificate fails the
//!   handshake.
//! - The role follows `a=setup` (RFC 5763 §5, RFC 8842): when the switch
//!   answers `passive` it is the DTLS server; when the peer answers
//!   `passive` to our `actpass`, the switch is the client.
//! - Offered protection profiles: `SRTP_AES128_CM_HMAC_SHA1_80`, then
//!   `_32` (RFC 5764 §4.1.2), the suites `SrtpStream` has. Extended master
//!   secret is required (RFC 7627), as browsers send it.
//! - Keys come from the exporter with label `EXTRACTOR-dtls_srtp`
//!   (RFC 5764 §4.2): client key, server key, client salt, server salt.
//! - The association is keyed by one fixed address whatever the source of
//!   a datagram: the ICE layer has already decided which sources are the
//!   peer, and the peer may move between them (RFC 8445 §12).
//! - A handshake that has not completed [`HANDSHAKE_TIMEOUT`] after it
//!   started fails (a browser gives up sooner).

use crate::rtp::srtp::{MasterKey, SrtpKeys, SrtpSuite, MASTER_LEN};
use bytes::BytesMut;
use rtc_dtls::config::{ClientAuthType, ConfigBuilder, ExtendedMasterSecretType, HandshakeConfig};
use rtc_dtls::crypto::Certificate;
use rtc_dtls::endpoint::{Endpoint, EndpointEvent};
use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::VecDeque;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a handshake may take before the leg fails.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The exporter label of RFC 5764 §4.2.
const EXPORTER_LABEL: &str = "EXTRACTOR-dtls_srtp";

/// Key and salt lengths of the AES-128-CM profiles (RFC 5764 §4.1.2).
const KEY_LEN: usize = 16;
const SALT_LEN: usize = 14;

/// The association's fixed key inside the endpoint (see the module docs).
const ASSOCIATION: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 9);

/// Why DTLS could not give keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtlsError {
    /// The certificate or the DTLS configuration could not be made.
    #[error("DTLS setup failed: {0}")]
    Setup(String),
    /// The peer's certificate does not match its SDP `a=fingerprint`.
    #[error("the peer's DTLS certificate does not match the fingerprint in its SDP")]
    FingerprintMismatch,
    /// The peer sent a fatal alert or closed during the handshake.
    #[error("the peer ended the DTLS handshake: {0}")]
    PeerAborted(String),
    /// The handshake did not complete in time, or ran out of retransmissions.
    #[error("the DTLS handshake did not complete")]
    Timeout,
    /// The negotiated SRTP profile is not one we offered, or the exporter failed.
    #[error("DTLS-SRTP key export failed: {0}")]
    Keys(String),
}

/// A hash function of `a=fingerprint` (RFC 8122 §5, the ones we accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFunction {
    /// `sha-256`: what browsers use.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
}

impl HashFunction {
    /// The SDP token (RFC 8122 §5, lower case).
    pub fn name(self) -> &'static str {
        match self {
            HashFunction::Sha256 => "sha-256",
            HashFunction::Sha384 => "sha-384",
            HashFunction::Sha512 => "sha-512",
        }
    }

    fn digest(self, der: &[u8]) -> Vec<u8> {
        match self {
            HashFunction::Sha256 => Sha256::digest(der).to_vec(),
            HashFunction::Sha384 => Sha384::digest(der).to_vec(),
            HashFunction::Sha512 => Sha512::digest(der).to_vec(),
        }
    }
}

/// A certificate fingerprint as SDP's `a=fingerprint` carries it (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash function.
    pub hash: HashFunction,
    /// The digest of the DER certificate.
    pub digest: Vec<u8>,
}

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of(hash: HashFunction, der: &[u8]) -> Fingerprint {
        Fingerprint {
            hash,
            digest: hash.digest(der),
        }
    }

    /// Parses an `a=fingerprint` value: `sha-256 AB:CD:...`. Hash names are
    /// case-insensitive (RFC 8122 §5); unknown ones (`sha-1`, `md5`) and
    /// malformed digests give `None`.
    pub fn parse(value: &str) -> Option<Fingerprint> {
        let (name, hex) = value.trim().split_once(' ')?;
        let hash = match name.to_ascii_lowercase().as_str() {
            "sha-256" => HashFunction::Sha256,
            "sha-384" => HashFunction::Sha384,
            "sha-512" => HashFunction::Sha512,
            _ => return None,
        };
        let digest = hex
            .trim()
            .split(':')
            .map(|pair| {
                if pair.len() == 2 {
                    u8::from_str_radix(pair, 16).ok()
                } else {
                    None
                }
            })
            .collect::<Option<Vec<u8>>>()?;
        (digest.len() == hash.digest(b"").len()).then_some(Fingerprint { hash, digest })
    }
}

impl fmt::Display for Fingerprint {
    /// The `a=fingerprint` value, upper-case hex pairs (RFC 8122 §5).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hash.name())?;
        for (i, b) in self.digest.iter().enumerate() {
            write!(f, "{}{b:02X}", if i == 0 { ' ' } else { ':' })?;
        }
        Ok(())
    }
}

/// The switch's DTLS certificate (ECDSA P-256, self-signed) and its
/// fingerprint. One per process: made at start, shared by every leg.
#[derive(Clone)]
pub struct DtlsIdentity {
    certificate: Certificate,
    fingerprint: Fingerprint,
}

impl fmt::Debug for DtlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsIdentity")
            .field("fingerprint", &self.fingerprint.to_string())
            .finish()
    }
}

impl DtlsIdentity {
    /// A fresh self-signed certificate.
    pub fn generate() -> Result<DtlsIdentity, DtlsError> {
        let provider = super::crypto_provider();
        let certificate = Certificate::generate_self_signed(vec!["switchboard".to_owned()], provider.crypto())
            .map_err(|e| DtlsError::Setup(e.to_string()))?;
        let der = certificate
            .certificate
            .first()
            .ok_or_else(|| DtlsError::Setup("no certificate was generated".into()))?;
        let fingerprint = Fingerprint::of(HashFunction::Sha256, der.as_ref());
        Ok(DtlsIdentity {
            certificate,
            fingerprint,
        })
    }

    /// The `a=fingerprint` of our certificate.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }
}

/// Which side of the handshake the switch takes (RFC 5763 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// `a=setup:passive` on our side: the peer sends ClientHello.
    Server,
    /// `a=setup:active` on our side: we send ClientHello.
    Client,
}

/// What the handshake reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsEvent {
    /// The handshake completed: SRTP keys for the leg (local = what we send).
    Connected(SrtpKeys),
    /// The handshake failed; the leg carries no media.
    Failed(DtlsError),
    /// The peer closed the association (close_notify).
    Closed,
}

/// The DTLS association of one WebRTC leg.
pub struct DtlsTransport {
    endpoint: Endpoint,
    role: DtlsRole,
    config: Arc<HandshakeConfig>,
    /// Set by the certificate check when the peer's certificate is refused.
    mismatch: Arc<AtomicBool>,
    started: Option<Instant>,
    state: State,
    events: VecDeque<DtlsEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshaking,
    Connected,
    Done,
}

impl fmt::Debug for DtlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsTransport")
            .field("role", &self.role)
            .field("state", &self.state)
            .finish()
    }
}

impl DtlsTransport {
    /// An association that will accept only a certificate matching one of
    /// `remote` (the peer's `a=fingerprint` lines).
    pub fn new(identity: &DtlsIdentity, role: DtlsRole, remote: Vec<Fingerprint>) -> Result<DtlsTransport, DtlsError> {
        let mismatch = Arc::new(AtomicBool::new(false));
        let flag = mismatch.clone();
        let check: rtc_dtls::config::VerifyPeerCertificateFn = Arc::new(move |certs: &[Vec<u8>], _| {
            let ok = certs
                .first()
                .is_some_and(|der| remote.iter().any(|fp| Fingerprint::of(fp.hash, der) == *fp));
            if ok {
                Ok(())
            } else {
                flag.store(true, Ordering::Relaxed);
                Err(rtc_shared::error::Error::Other(
                    "certificate fingerprint mismatch".into(),
                ))
            }
        });
        let config = ConfigBuilder::default()
            .with_crypto_provider(super::crypto_provider())
            .with_certificates(vec![identity.certificate.clone()])
            .with_srtp_protection_profiles(vec![
                SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
                SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32,
            ])
            .with_client_auth(ClientAuthType::RequireAnyClientCert)
            .with_insecure_skip_verify(true)
            .with_verify_peer_certificate(Some(check))
            .with_extended_master_secret(ExtendedMasterSecretType::Require)
            .build(role == DtlsRole::Client, None)
            .map_err(|e| DtlsError::Setup(e.to_string()))?;
        let config = Arc::new(config);
        let local = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        let server = (role == DtlsRole::Server).then(|| config.clone());
        Ok(DtlsTransport {
            endpoint: Endpoint::new(local, rtc_shared::TransportProtocol::UDP, server),
            role,
            config,
            mismatch,
            started: None,
            state: State::Handshaking,
            events: VecDeque::new(),
        })
    }

    /// Our role.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// True once keys were given.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Starts the handshake once ICE has a peer: as client, sends
    /// ClientHello; as server, starts the handshake clock.
    pub fn start(&mut self, now: Instant) {
        if self.started.is_some() || self.state != State::Handshaking {
            return;
        }
        self.started = Some(now);
        if self.role == DtlsRole::Client {
            if let Err(e) = self.endpoint.connect(now, ASSOCIATION, self.config.clone(), None) {
                self.fail(DtlsError::Setup(e.to_string()));
            }
        }
    }

    /// Handles a DTLS datagram from the peer (already demultiplexed and
    /// from an ICE-validated address).
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if self.state == State::Done {
            return;
        }
        if self.started.is_none() {
            self.started = Some(now);
        }
        let result = self.endpoint.read(now, ASSOCIATION, None, BytesMut::from(datagram));
        let events = match result {
            Ok(events) => events,
            Err(e) => {
                if self.mismatch.load(Ordering::Relaxed) {
                    self.fail(DtlsError::FingerprintMismatch);
                } else if matches!(e, rtc_shared::error::Error::ErrAlertFatalOrClose) {
                    self.fail(DtlsError::PeerAborted("fatal alert".into()));
                }
                // Anything else (a stray or forged record) is dropped; a
                // handshake it broke ends at HANDSHAKE_TIMEOUT.
                return;
            }
        };
        for event in events {
            match event {
                EndpointEvent::HandshakeComplete => match self.export_keys() {
                    Ok(keys) => {
                        self.state = State::Connected;
                        self.events.push_back(DtlsEvent::Connected(keys));
                    }
                    Err(e) => self.fail(e),
                },
                EndpointEvent::PeerClosed => {
                    self.state = State::Done;
                    self.events.push_back(DtlsEvent::Closed);
                }
                // WebRTC audio carries no DTLS application data.
                _ => {}
            }
        }
    }

    fn export_keys(&self) -> Result<SrtpKeys, DtlsError> {
        let state = self
            .endpoint
            .get_connection_state(ASSOCIATION)
            .ok_or_else(|| DtlsError::Keys("no association".into()))?;
        let suite = match state.srtp_protection_profile() {
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80 => SrtpSuite::AesCm128HmacSha1_80,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32 => SrtpSuite::AesCm128HmacSha1_32,
            other => return Err(DtlsError::Keys(format!("unexpected SRTP profile {other:?}"))),
        };
        let material = state
            .export_keying_material(EXPORTER_LABEL, &[], 2 * (KEY_LEN + SALT_LEN))
            .map_err(|e| DtlsError::Keys(e.to_string()))?;
        let m = material.as_ref();
        if m.len() != 2 * (KEY_LEN + SALT_LEN) {
            return Err(DtlsError::Keys("short keying material".into()));
        }
        let master = |key: &[u8], salt: &[u8]| {
            let mut b = [0u8; MASTER_LEN];
            b[..KEY_LEN].copy_from_slice(key);
            b[KEY_LEN..].copy_from_slice(salt);
            MasterKey::new(b)
        };
        let (ck, rest) = m.split_at(KEY_LEN);
        let (sk, rest) = rest.split_at(KEY_LEN);
        let (cs, ss) = rest.split_at(SALT_LEN);
        let client = master(ck, cs);
        let server = master(sk, ss);
        Ok(match self.role {
            DtlsRole::Server => SrtpKeys {
                suite,
                local: server,
                remote: client,
            },
            DtlsRole::Client => SrtpKeys {
                suite,
                local: client,
                remote: server,
            },
        })
    }

    fn fail(&mut self, error: DtlsError) {
        if self.state != State::Done {
            self.state = State::Done;
            self.events.push_back(DtlsEvent::Failed(error));
        }
    }

    /// The next datagram to send to the peer (the ICE-selected address).
    pub fn poll_transmit(&mut self) -> Option<BytesMut> {
        self.endpoint.poll_transmit().map(|t| t.message)
    }

    /// When [`DtlsTransport::handle_timeout`] is next due: a flight
    /// retransmission, or the handshake deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state != State::Handshaking {
            return None;
        }
        let deadline = self.started.map(|s| s + HANDSHAKE_TIMEOUT);
        match (self.endpoint.poll_timeout(&ASSOCIATION), deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Retransmits a flight or fails the handshake at its deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state != State::Handshaking {
            return;
        }
        if self.started.is_some_and(|s| now >= s + HANDSHAKE_TIMEOUT) {
            self.fail(DtlsError::Timeout);
            return;
        }
        if self.endpoint.handle_timeout(ASSOCIATION, now).is_err() && self.endpoint.poll_timeout(&ASSOCIATION).is_none()
        {
            // Only "no association yet" (a server before ClientHello) or
            // "retransmissions exhausted" come back here; the first keeps
            // waiting for the deadline.
            if self.endpoint.get_connection_state(ASSOCIATION).is_some() {
                self.fail(DtlsError::Timeout);
            }
        }
    }

    /// The next event, until `None`.
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    /// Sends close_notify (the leg is ending).
    pub fn close(&mut self, now: Instant) {
        if self.state != State::Done {
            let _ = self.endpoint.stop(now, ASSOCIATION);
            self.state = State::Done;
        }
    }
}
