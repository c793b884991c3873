//! SDES: SRTP keys exchanged in SDP `a=crypto` lines (RFC 4568), and the
//! per-profile policy that decides when a leg's media is encrypted
//! (issue 11 item 2).
//!
//! What the switch accepts in an `a=crypto` line (§9.1): a suite it speaks
//! ([`SrtpSuite`]), one `inline:` key of exactly 30 bytes, with or without a
//! lifetime (which is not enforced: a key's 2^31 packets outlast any call),
//! and no MKI and no session parameters. A line with an MKI, several keys or
//! any session parameter (`KDR=`, `UNENCRYPTED_SRTP`, `FEC_ORDER=`...) is
//! declined as a whole, as §6.3 and §7.1.2 allow, and the next line is
//! considered.
//!
//! How a leg's [`SrtpPolicy`] plays out (see [`crate::sdp::answer`] and
//! [`crate::sdp::offer`]):
//!
//! | policy | the switch offers | it answers an offer of ... |
//! |---|---|---|
//! | `off` | `RTP/AVP`, no `a=crypto` | `RTP/AVP` in clear; `RTP/SAVP` refused (488, Warning 302) |
//! | `optional` | `RTP/AVP` with `a=crypto` (best effort: a phone that answers a key gets SRTP, one that ignores it plain RTP) | `RTP/SAVP` or `RTP/AVP` with a usable `a=crypto`: SRTP; `RTP/AVP` without: in clear |
//! | `mandatory` | `RTP/SAVP` with `a=crypto` | only with a usable `a=crypto` (`RTP/SAVP`, or best-effort `RTP/AVP`); anything else 488 |
//!
//! Best-effort SRTP over `RTP/AVP` is outside RFC 4568 (§7.1.2 expects
//! `RTP/SAVP`) but is what phones' "SRTP optional" modes and other
//! switches (FreeSWITCH, Asterisk) send, so an operator who turns SRTP on
//! gets it with the phones they have.
//!
//! The switch's key for a leg is made once, when the leg is (from the
//! engine's generator, seeded with 256 bits from the OS), and kept for its
//! re-offers and answers, so a hold or a session refresh never re-keys.

use super::model::{Crypto, Media};
use crate::rtp::srtp::{MasterKey, SrtpKeys, SrtpSuite};

/// When a leg's media is encrypted: a profile's `srtp = "off" | "optional" | "mandatory"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SrtpPolicy {
    /// Plain RTP only; SRTP offers are refused (the default).
    #[default]
    Off,
    /// SRTP when the other end offers or accepts a key, plain RTP otherwise.
    Optional,
    /// SRTP or no call.
    Mandatory,
}

impl SrtpPolicy {
    /// The value as written in a profile.
    pub fn as_str(self) -> &'static str {
        match self {
            SrtpPolicy::Off => "off",
            SrtpPolicy::Optional => "optional",
            SrtpPolicy::Mandatory => "mandatory",
        }
    }
}

/// One leg's SRTP setting in its SDP session: the policy and the switch's
/// key for the leg.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalSrtp {
    /// The leg's policy (its profile's).
    pub policy: SrtpPolicy,
    /// The switch's sending key for the leg; required unless `policy` is `Off`.
    pub key: Option<MasterKey>,
}

impl LocalSrtp {
    /// The switch's key when SRTP may be used on the leg (`None` when off).
    pub(crate) fn usable_key(&self) -> Option<&MasterKey> {
        match self.policy {
            SrtpPolicy::Off => None,
            SrtpPolicy::Optional | SrtpPolicy::Mandatory => self.key.as_ref(),
        }
    }
}

/// An `a=crypto` line the switch can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdesCrypto {
    /// The line's tag (§9.1), echoed in the answer.
    pub tag: u32,
    /// Its suite.
    pub suite: SrtpSuite,
    /// Its key: the sender of that SDP encrypts with it.
    pub key: MasterKey,
}

impl SdesCrypto {
    /// Reads an `a=crypto` line; `None` when the switch cannot use it (see the module docs).
    pub fn read(c: &Crypto) -> Option<SdesCrypto> {
        if c.session_params.is_some() {
            return None;
        }
        let suite = SrtpSuite::from_name(&c.suite)?;
        // One key only (several are separated by ';', §9.1).
        let inline = c.key_params.strip_prefix("inline:")?;
        if inline.contains(';') {
            return None;
        }
        let mut parts = inline.split('|');
        let key = MasterKey::from_base64(parts.next()?)?;
        for p in parts {
            // A lifetime ("2^20" or a number) is fine; an MKI ("1:4") is not.
            let lifetime = p.strip_prefix("2^").unwrap_or(p);
            if p.contains(':') || lifetime.is_empty() || !lifetime.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
        }
        Some(SdesCrypto { tag: c.tag, suite, key })
    }

    /// The first line of `m` the switch can use, in the offerer's order (§7.1.1).
    pub fn first_usable(m: &Media) -> Option<SdesCrypto> {
        m.crypto().find_map(SdesCrypto::read)
    }

    /// The `a=crypto` line for `tag`, `suite` and `key`.
    pub fn line(tag: u32, suite: SrtpSuite, key: &MasterKey) -> Crypto {
        Crypto {
            tag,
            suite: suite.name().to_owned(),
            key_params: format!("inline:{}", key.to_base64()),
            session_params: None,
        }
    }

    /// The line answering this one: same tag and suite, the switch's key (§7.1.1).
    pub fn line_for_answer(&self, local: &MasterKey) -> Crypto {
        SdesCrypto::line(self.tag, self.suite, local)
    }

    /// The agreed keys when the switch sends with `local` and the other end with this line's key.
    pub fn keys(&self, local: &MasterKey) -> SrtpKeys {
        SrtpKeys {
            suite: self.suite,
            local: local.clone(),
            remote: self.key.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypto(suite: &str, params: &str, session: Option<&str>) -> Crypto {
        Crypto {
            tag: 3,
            suite: suite.into(),
            key_params: params.into(),
            session_params: session.map(str::to_owned),
        }
    }

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn reads_a_plain_inline_key_with_or_without_a_lifetime() {
        for params in [
            format!("inline:{KEY}"),
            format!("inline:{KEY}|2^20"),
            format!("inline:{KEY}|1048576"),
        ] {
            let c = SdesCrypto::read(&crypto("AES_CM_128_HMAC_SHA1_80", &params, None)).unwrap();
            assert_eq!(c.tag, 3);
            assert_eq!(c.suite, SrtpSuite::AesCm128HmacSha1_80);
            assert_eq!(c.key.to_base64(), KEY);
        }
    }

    #[test]
    fn declines_what_the_switch_cannot_honour() {
        let declined = [
            crypto("AES_CM_128_HMAC_SHA1_80", &format!("inline:{KEY}|2^20|1:4"), None),
            crypto("AES_CM_128_HMAC_SHA1_80", &format!("inline:{KEY};inline:{KEY}"), None),
            crypto("AES_CM_128_HMAC_SHA1_80", &format!("inline:{KEY}"), Some("KDR=1")),
            crypto(
                "AES_CM_128_HMAC_SHA1_80",
                &format!("inline:{KEY}"),
                Some("UNENCRYPTED_SRTP"),
            ),
            crypto("AES_256_CM_HMAC_SHA1_80", &format!("inline:{KEY}"), None),
            crypto("AES_CM_128_HMAC_SHA1_80", "inline:c2hvcnQ=", None),
            crypto("AES_CM_128_HMAC_SHA1_80", &format!("uri:{KEY}"), None),
            crypto("AES_CM_128_HMAC_SHA1_80", &format!("inline:{KEY}|"), None),
            crypto("AES_CM_128_HMAC_SHA1_80", &format!("inline:{KEY}|2^x"), None),
        ];
        for c in declined {
            assert_eq!(SdesCrypto::read(&c), None, "{}", c.key_params);
        }
    }

    #[test]
    fn a_line_prints_back_to_what_it_read() {
        let key = MasterKey::from_base64(KEY).unwrap();
        let line = SdesCrypto::line(1, SrtpSuite::AesCm128HmacSha1_32, &key);
        assert_eq!(line.key_params, format!("inline:{KEY}"));
        let back = SdesCrypto::read(&line).unwrap();
        assert_eq!(
            (back.tag, back.suite, back.key),
            (1, SrtpSuite::AesCm128HmacSha1_32, key)
        );
    }
}
