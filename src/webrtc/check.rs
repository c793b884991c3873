//! The other side of [`ice_lite`](super::ice_lite): a connectivity check as
//! a full ICE agent (a browser) sends it to the switch (RFC 8445 §7.2.2:
//! USERNAME `<switch ufrag>:<own ufrag>`, ICE-CONTROLLING with its
//! tie-breaker, USE-CANDIDATE when it nominates, MESSAGE-INTEGRITY with the
//! switch's ice-pwd, FINGERPRINT), and a reader of the switch's answer.
//!
//! The switch itself never sends checks (it is a lite agent); this is what
//! the unit and session tests, the benchmarks and the WebRTC load generator
//! (`examples/webrtc_load.rs`) use to play the browser, so they all build
//! the same bytes.

use rtc_stun::attributes::{RawAttribute, ATTR_ICE_CONTROLLING, ATTR_USERNAME, ATTR_USE_CANDIDATE};
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{Message, Setter, TransactionId, BINDING_REQUEST, BINDING_SUCCESS};
use rtc_stun::textattrs::TextAttribute;

/// Why a check could not be built (a USERNAME or password past STUN's
/// limits, RFC 5389 §15.3).
#[derive(Debug, thiserror::Error)]
#[error("the connectivity check could not be encoded: {0}")]
pub struct CheckBuildError(String);

/// A connectivity check to send (RFC 8445 §7.2.2). Fields left `None`
/// leave their attribute out, so tests can send malformed checks too.
#[derive(Clone, Copy, Debug)]
pub struct ConnectivityCheck<'a> {
    /// USERNAME: `<receiver's ufrag>:<sender's ufrag>` (RFC 8445 §7.2.2).
    pub username: Option<&'a str>,
    /// The receiver's ice-pwd, for MESSAGE-INTEGRITY (short-term
    /// credentials, RFC 5389 §15.4); `None` sends the check unsigned.
    pub password: Option<&'a str>,
    /// USE-CANDIDATE: the controlling agent nominates this pair (§7.2.2).
    pub nominate: bool,
    /// ICE-CONTROLLING's tie-breaker (§7.1.1).
    pub tie_breaker: u64,
}

impl ConnectivityCheck<'_> {
    /// The Binding request's bytes, with a fresh transaction id.
    pub fn encode(&self) -> Result<Vec<u8>, CheckBuildError> {
        let crypto = super::crypto_provider();
        let mut setters: Vec<Box<dyn Setter>> = vec![Box::new(TransactionId::new()), Box::new(BINDING_REQUEST)];
        if let Some(u) = self.username {
            setters.push(Box::new(TextAttribute::new(ATTR_USERNAME, u.to_owned())));
        }
        setters.push(Box::new(RawAttribute {
            typ: ATTR_ICE_CONTROLLING,
            length: 8,
            value: self.tie_breaker.to_be_bytes().to_vec(),
        }));
        if self.nominate {
            setters.push(Box::new(RawAttribute {
                typ: ATTR_USE_CANDIDATE,
                length: 0,
                value: Vec::new(),
            }));
        }
        if let Some(p) = self.password {
            setters.push(Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                p.to_owned(),
                crypto.crypto(),
            )));
        }
        setters.push(Box::new(FINGERPRINT));
        let mut m = Message::new();
        m.build(&setters).map_err(|e| CheckBuildError(e.to_string()))?;
        Ok(m.raw)
    }
}

/// Whether `datagram` is a STUN Binding success response (RFC 5389 §6:
/// the type 0x0101 and the magic cookie), as the switch sends to a check
/// it accepted.
pub fn is_binding_success(datagram: &[u8]) -> bool {
    let mut m = Message::new();
    m.raw = datagram.to_vec();
    m.decode().is_ok() && m.typ == BINDING_SUCCESS
}
