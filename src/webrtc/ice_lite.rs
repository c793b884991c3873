//! The switch's ICE agent on a WebRTC leg: an ICE-lite responder
//! (RFC 8445 §2.5). The switch has only host candidates (its media address),
//! so it never sends checks of its own: it answers the browser's
//! connectivity checks (RFC 8445 §7.3, STUN Binding per RFC 5389 with
//! short-term credentials), lets the browser nominate (it is always
//! controlled: the browser is a full agent, RFC 8445 §6.1.1), and watches
//! consent (RFC 7675): media goes only to an address that answered a check
//! with our password, and stops when that address has sent no valid check
//! for [`CONSENT_TIMEOUT`].
//!
//! Why our own and not `rtc-ice`'s lite mode: that agent answers a
//! USE-CANDIDATE check on an untested pair with a check of its own instead
//! of a success response (not RFC 8445 §7.3.2 behaviour for a lite agent),
//! which costs a retransmission at every call set-up. The STUN codec,
//! MESSAGE-INTEGRITY and FINGERPRINT come from `rtc-stun`.
//!
//! Choices where the RFCs leave room:
//! - A check without FINGERPRINT is accepted (RFC 8445 §7.2.2 makes senders
//!   include it, and MESSAGE-INTEGRITY authenticates the check anyway); a
//!   wrong FINGERPRINT is dropped silently (RFC 5389 §7.3).
//! - Before the browser nominates, the last address that passed a check is
//!   the one media and DTLS use: Chromium starts DTLS as soon as a pair is
//!   writable, which can be before its USE-CANDIDATE check arrives.
//! - At most [`MAX_VALIDATED`] addresses are remembered; a browser has a
//!   handful of candidates.

use rtc_stun::attributes::{
    ATTR_FINGERPRINT, ATTR_ICE_CONTROLLED, ATTR_MESSAGE_INTEGRITY, ATTR_USERNAME, ATTR_USE_CANDIDATE,
};
use rtc_stun::crypto::{RTCCrypto, RTCCryptoProvider};
use rtc_stun::error_code::{ErrorCodeAttribute, CODE_BAD_REQUEST, CODE_ROLE_CONFLICT, CODE_UNAUTHORIZED};
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{Message, Setter, BINDING_ERROR, BINDING_REQUEST, BINDING_SUCCESS};
use rtc_stun::textattrs::TextAttribute;
use rtc_stun::xoraddr::XorMappedAddress;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an address keeps consent without a new valid check (RFC 7675
/// §5.1: 30 s). Chromium sends a consent check every ~5 s.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many checked addresses a leg remembers.
pub const MAX_VALIDATED: usize = 8;

/// The characters RFC 8839 §5.4 allows in ice-ufrag and ice-pwd (`ice-char`).
const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One side's ICE credentials (RFC 8839 §5.4: `a=ice-ufrag`, `a=ice-pwd`).
#[derive(Clone, PartialEq, Eq)]
pub struct IceCredentials {
    /// The username fragment, 4–256 ice-chars.
    pub ufrag: String,
    /// The password, 22–256 ice-chars.
    pub pwd: String,
}

impl fmt::Debug for IceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password is a secret: never in logs.
        f.debug_struct("IceCredentials").field("ufrag", &self.ufrag).finish()
    }
}

impl IceCredentials {
    /// Fresh credentials for a leg: an 8-character ufrag and a 24-character
    /// password (144 bits), RFC 8445 §5.3's minimum being 24 bits and 128 bits.
    pub fn random(rng: &mut impl rand::Rng) -> IceCredentials {
        let mut pick = |n: usize| -> String {
            (0..n)
                .map(|_| char::from(ICE_CHARS[rng.random_range(0..ICE_CHARS.len())]))
                .collect()
        };
        IceCredentials {
            ufrag: pick(8),
            pwd: pick(24),
        }
    }

    /// Credentials from 32 random bytes (the engine's seeded generator):
    /// 8 and 24 ice-chars, 6 bits each.
    pub fn from_entropy(bytes: [u8; 32]) -> IceCredentials {
        let chars: String = bytes
            .iter()
            .map(|b| char::from(ICE_CHARS[usize::from(b & 63)]))
            .collect();
        IceCredentials {
            ufrag: chars[..8].to_owned(),
            pwd: chars[8..].to_owned(),
        }
    }

    /// True when `s` is a valid ice-ufrag (`min`=4) or ice-pwd (`min`=22)
    /// value (RFC 8839 §5.4).
    pub fn valid_value(s: &str, min: usize) -> bool {
        (min..=256).contains(&s.len()) && s.bytes().all(|b| ICE_CHARS.contains(&b))
    }
}

/// What the responder reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceEvent {
    /// Media and DTLS now go to this address (the browser nominated it, or
    /// it is the first to pass a check).
    Selected(SocketAddr),
    /// The selected address sent no valid check for [`CONSENT_TIMEOUT`]:
    /// the leg stops sending (RFC 7675 §5.1).
    ConsentExpired(SocketAddr),
}

/// Why a STUN message got no success response (for counters and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRefused {
    /// Not a STUN message we could decode, or a wrong FINGERPRINT: dropped.
    Malformed,
    /// A STUN indication or response: nothing to answer.
    NotARequest,
    /// No USERNAME or MESSAGE-INTEGRITY: answered 400 (RFC 5389 §10.1.2).
    MissingCredentials,
    /// Wrong ufrag or password: answered 401 (RFC 5389 §10.1.2).
    Unauthorized,
    /// The peer claims the controlled role too: answered 487 (RFC 8445 §7.3.1.1).
    RoleConflict,
}

/// The ICE-lite responder of one WebRTC leg.
pub struct IceLite {
    local: IceCredentials,
    remote_ufrag: Option<String>,
    crypto: Arc<dyn RTCCryptoProvider>,
    /// Addresses that passed a check, with when they last did.
    validated: Vec<(SocketAddr, Instant)>,
    nominated: Option<SocketAddr>,
    selected: Option<SocketAddr>,
    events: VecDeque<IceEvent>,
}

impl fmt::Debug for IceLite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceLite")
            .field("local", &self.local)
            .field("selected", &self.selected)
            .finish()
    }
}

impl IceLite {
    /// A responder for `local` credentials; `remote_ufrag` is the peer's
    /// `a=ice-ufrag` when its SDP is known (checks must then name it).
    pub fn new(local: IceCredentials, remote_ufrag: Option<String>) -> IceLite {
        IceLite {
            local,
            remote_ufrag,
            crypto: super::crypto_provider(),
            validated: Vec::new(),
            nominated: None,
            selected: None,
            events: VecDeque::new(),
        }
    }

    /// Our credentials, for the SDP.
    pub fn local(&self) -> &IceCredentials {
        &self.local
    }

    /// Sets the peer's ufrag (from its SDP, offer or answer). A new ufrag is
    /// an ICE restart (RFC 8445 §9): every address must pass a check again.
    pub fn set_remote_ufrag(&mut self, ufrag: &str) {
        if self.remote_ufrag.as_deref() != Some(ufrag) {
            if self.remote_ufrag.is_some() {
                self.validated.clear();
                self.nominated = None;
            }
            self.remote_ufrag = Some(ufrag.to_owned());
        }
    }

    /// An ICE restart (RFC 8445 §9, RFC 8839 §4.4.1.1): new credentials on
    /// both sides. Checks must now use them; addresses that passed a check
    /// before keep carrying media with the consent they had (RFC 8445 §9:
    /// media continues on the previously selected pair while the new checks
    /// run), so a restart that never completes ends with that consent, at
    /// most [`CONSENT_TIMEOUT`] later. A new nomination is awaited.
    pub fn restart(&mut self, local: IceCredentials, remote_ufrag: &str) {
        self.local = local;
        self.remote_ufrag = Some(remote_ufrag.to_owned());
        self.nominated = None;
    }

    /// Where media and DTLS go now; `None` before any valid check or after
    /// consent expired.
    pub fn selected(&self) -> Option<SocketAddr> {
        self.selected
    }

    /// True when `from` passed a check and still has consent: DTLS and SRTP
    /// are accepted only from such an address.
    pub fn is_validated(&self, from: SocketAddr) -> bool {
        self.validated.iter().any(|(a, _)| *a == from)
    }

    /// Handles a STUN datagram from `from`: the response to send back to
    /// `from` (a success, or an error response), and why the check failed
    /// if it did.
    pub fn handle_stun(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> CheckOutcome {
        let (req, verdict) = match self.check(datagram) {
            Ok((req, nominate)) => {
                self.validate(now, from, nominate);
                (req, Ok(()))
            }
            Err((refused, Some(req))) => (req, Err(refused)),
            Err((refused, None)) => {
                return CheckOutcome {
                    reply: None,
                    refused: Some(refused),
                }
            }
        };
        let reply = match verdict {
            Ok(()) => self.respond(
                &req,
                &[
                    Box::new(BINDING_SUCCESS),
                    Box::new(XorMappedAddress {
                        ip: from.ip(),
                        port: from.port(),
                    }),
                ],
                true,
            ),
            Err(refused) => {
                let (code, reason, signed) = match refused {
                    CheckRefused::MissingCredentials => (CODE_BAD_REQUEST, "Bad Request", false),
                    CheckRefused::RoleConflict => (CODE_ROLE_CONFLICT, "Role Conflict", true),
                    _ => (CODE_UNAUTHORIZED, "Unauthorized", false),
                };
                let error = ErrorCodeAttribute {
                    code,
                    reason: reason.as_bytes().to_vec(),
                };
                self.respond(&req, &[Box::new(BINDING_ERROR), Box::new(error)], signed)
            }
        };
        CheckOutcome {
            reply,
            refused: verdict.err(),
        }
    }

    /// Decodes and authenticates a check. On failure, the request (when it
    /// was one) comes back so that an error response can name it.
    fn check(&self, datagram: &[u8]) -> Result<(Message, bool), (CheckRefused, Option<Message>)> {
        let mut m = Message::new();
        m.raw = datagram.to_vec();
        if m.decode().is_err() {
            return Err((CheckRefused::Malformed, None));
        }
        if m.contains(ATTR_FINGERPRINT) && FINGERPRINT.check(&m).is_err() {
            return Err((CheckRefused::Malformed, None));
        }
        if m.typ != BINDING_REQUEST {
            return Err((CheckRefused::NotARequest, None));
        }
        let Ok(username) = TextAttribute::get_from_as(&m, ATTR_USERNAME) else {
            return Err((CheckRefused::MissingCredentials, Some(m)));
        };
        if !m.contains(ATTR_MESSAGE_INTEGRITY) {
            return Err((CheckRefused::MissingCredentials, Some(m)));
        }
        // RFC 8445 §7.3: USERNAME is "<our ufrag>:<their ufrag>".
        let name = username.text;
        let Some((ours, theirs)) = name.split_once(':') else {
            return Err((CheckRefused::Unauthorized, Some(m)));
        };
        if ours != self.local.ufrag || self.remote_ufrag.as_deref().is_some_and(|r| r != theirs) {
            return Err((CheckRefused::Unauthorized, Some(m)));
        }
        let mut checked = Message::new();
        checked.raw = datagram.to_vec();
        if checked.decode().is_err()
            || MessageIntegrity::check(&mut checked, self.local.pwd.as_bytes(), self.crypto.crypto()).is_err()
        {
            return Err((CheckRefused::Unauthorized, Some(m)));
        }
        // A lite agent is always controlled (RFC 8445 §6.1.1); a peer that
        // claims the controlled role too gets 487 (RFC 8445 §7.3.1.1).
        if m.contains(ATTR_ICE_CONTROLLED) {
            return Err((CheckRefused::RoleConflict, Some(m)));
        }
        let nominate = m.contains(ATTR_USE_CANDIDATE);
        Ok((m, nominate))
    }

    /// Builds a response to `req` with `attrs`, signed with our password
    /// when `signed` (success and 487; RFC 5389 §10.1.2 forbids it on 400
    /// and 401), always with FINGERPRINT (RFC 8445 §7.2.2).
    fn respond(&self, req: &Message, attrs: &[Box<dyn Setter>], signed: bool) -> Option<Vec<u8>> {
        let crypto: &dyn RTCCrypto = self.crypto.crypto();
        let mut setters: Vec<Box<dyn Setter + '_>> = vec![Box::new(req.clone())];
        let mut out = Message::new();
        for a in attrs {
            setters.push(Box::new(SetterRef(a.as_ref())));
        }
        if signed {
            setters.push(Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                self.local.pwd.clone(),
                crypto,
            )));
        }
        setters.push(Box::new(FINGERPRINT));
        out.build(&setters).ok()?;
        Some(out.raw)
    }

    /// Records a passed check from `from` and moves the selection.
    fn validate(&mut self, now: Instant, from: SocketAddr, nominate: bool) {
        match self.validated.iter_mut().find(|(a, _)| *a == from) {
            Some(entry) => entry.1 = now,
            None => {
                if self.validated.len() == MAX_VALIDATED {
                    // Forget the address that has been silent longest.
                    if let Some(oldest) = (0..self.validated.len()).min_by_key(|&i| self.validated[i].1) {
                        self.validated.swap_remove(oldest);
                    }
                }
                self.validated.push((from, now));
            }
        }
        if nominate {
            self.nominated = Some(from);
        }
        // The nominated address wins; before a nomination (or after it lost
        // consent), the address of the latest passed check.
        let want = match self.nominated {
            Some(n) if self.is_validated(n) => n,
            _ => from,
        };
        if self.selected != Some(want) {
            self.selected = Some(want);
            self.events.push_back(IceEvent::Selected(want));
        }
    }

    /// When the responder next needs [`IceLite::handle_timeout`]: the
    /// oldest consent among the remembered addresses.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.validated.iter().map(|(_, t)| *t + CONSENT_TIMEOUT).min()
    }

    /// Expires consent (RFC 7675 §5.1) for addresses silent since
    /// `now - CONSENT_TIMEOUT`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.validated.retain(|(_, t)| *t + CONSENT_TIMEOUT > now);
        let lost = self.selected.filter(|sel| !self.is_validated(*sel));
        if let Some(sel) = lost {
            self.selected = None;
            if self.nominated == Some(sel) {
                self.nominated = None;
            }
            self.events.push_back(IceEvent::ConsentExpired(sel));
        }
    }

    /// The next event, until `None`.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }
}

/// What one STUN datagram produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// The response to send back to the sender, if any.
    pub reply: Option<Vec<u8>>,
    /// Why the check failed; `None` when it passed.
    pub refused: Option<CheckRefused>,
}

/// Lends a boxed setter to `Message::build`.
struct SetterRef<'a>(&'a dyn Setter);

impl Setter for SetterRef<'_> {
    fn add_to(&self, m: &mut Message) -> rtc_shared::error::Result<()> {
        self.0.add_to(m)
    }
}
