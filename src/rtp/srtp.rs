//! SRTP and SRTCP for one leg (RFC 3711) with keys exchanged in SDP
//! (SDES, RFC 4568): the suites the switch speaks, the master key and salt
//! of each direction, and [`SrtpStream`], which protects what the switch
//! sends a leg and checks and decrypts what the leg sends, over the
//! `rtc-srtp` crate of the RTP stack (ring crypto provider).
//!
//! Keys never reach a log: [`MasterKey`] prints as `MasterKey(..)` in
//! `Debug` and has no `Display`; only the SDP printer writes it (base64,
//! in an `a=crypto` line).
//!
//! Replay protection (RFC 3711 §3.3.2): a 128-packet window for SRTP (as
//! libsrtp) and 64 for SRTCP; a replayed or forged packet is refused with
//! [`SrtpError::Refused`] and never reaches the latch, so an attacker
//! without the key cannot move a leg's media address either.

use bytes::BytesMut;
use rtc_srtp::context::Context;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;
use std::fmt;

/// Master key plus master salt length of the AES_CM_128 suites: 16 + 14
/// bytes (RFC 4568 §6.2.1: the `inline:` key is their concatenation).
pub const MASTER_LEN: usize = 30;
const KEY_LEN: usize = 16;

/// SRTP replay window for what a leg sends (libsrtp's default).
const SRTP_REPLAY_WINDOW: usize = 128;
/// SRTCP replay window.
const SRTCP_REPLAY_WINDOW: usize = 64;

/// An SDES crypto suite the switch negotiates (RFC 4568 §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SrtpSuite {
    /// `AES_CM_128_HMAC_SHA1_80`: AES-128 counter mode, 80-bit HMAC-SHA1 tag (§6.2.1).
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: the same with a 32-bit tag on SRTP
    /// (SRTCP keeps 80 bits, RFC 4568 §6.2.2).
    AesCm128HmacSha1_32,
}

impl SrtpSuite {
    /// Every suite, in the switch's order of preference when it offers.
    pub const ALL: [SrtpSuite; 2] = [SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AesCm128HmacSha1_32];

    /// The suite's name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite named `name` (case-sensitive, RFC 4568 §9.2), if the switch speaks it.
    pub fn from_name(name: &str) -> Option<SrtpSuite> {
        SrtpSuite::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Bytes the SRTP authentication tag adds to every RTP packet.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => 10,
            SrtpSuite::AesCm128HmacSha1_32 => 4,
        }
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }
}

impl fmt::Display for SrtpSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One direction's master key and master salt (RFC 3711 §8.2), as one
/// 30-byte string. Never printed: `Debug` shows `MasterKey(..)`.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; MASTER_LEN]);

impl MasterKey {
    /// The key and salt `bytes` (from a CSPRNG for the switch's own keys).
    pub fn new(bytes: [u8; MASTER_LEN]) -> MasterKey {
        MasterKey(bytes)
    }

    /// Decodes the base64 `inline:` key of RFC 4568 §6.1 (padded or not);
    /// `None` unless it is exactly 30 bytes.
    pub fn from_base64(text: &str) -> Option<MasterKey> {
        use base64::Engine;
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let bytes = engine.decode(text).ok()?;
        Some(MasterKey(bytes.try_into().ok()?))
    }

    /// The base64 text for an `inline:` key (RFC 4568 §6.1: 40 characters).
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    fn key(&self) -> &[u8] {
        &self.0[..KEY_LEN]
    }

    fn salt(&self) -> &[u8] {
        &self.0[KEY_LEN..]
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// What one leg's offer/answer agreed for SRTP: the suite, the key the
/// switch encrypts what it sends with (the one in its own SDP) and the key
/// the leg encrypts what it sends with (the one in the leg's SDP), RFC 4568 §6.1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The crypto suite both directions use.
    pub suite: SrtpSuite,
    /// The switch's sending key.
    pub local: MasterKey,
    /// The leg's sending key.
    pub remote: MasterKey,
}

impl SrtpKeys {
    /// The same agreement seen from the other end (its sending key is our
    /// receiving one): what a phone or a test peer keys its SRTP with.
    pub fn peer_view(&self) -> SrtpKeys {
        SrtpKeys {
            suite: self.suite,
            local: self.remote.clone(),
            remote: self.local.clone(),
        }
    }
}

/// Why a packet could not be protected or unprotected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// The keys do not fit the suite (cannot happen with a [`MasterKey`]).
    #[error("SRTP keys rejected: {0}")]
    Keys(String),
    /// A received packet failed authentication, was a replay, or was too
    /// short or malformed (RFC 3711 §3.3 step 5: discarded).
    #[error("SRTP packet refused: {0}")]
    Refused(String),
    /// A packet to send could not be protected (malformed, or the key's
    /// 2^48 packets are used up, RFC 3711 §9.2).
    #[error("SRTP packet could not be protected: {0}")]
    Protect(String),
}

/// SSRCs a leg may send under one key at a time (a re-INVITE or a
/// transfer can change its source); the oldest is forgotten beyond this.
const MAX_SOURCES: usize = 8;

/// One leg's SRTP state: a sending context keyed with the switch's key and,
/// per source the leg authenticated, a receiving context keyed with the
/// leg's.
///
/// Why per source: `rtc-srtp` records every SSRC it is handed *before* the
/// packet authenticates, so forged packets with random SSRCs would grow its
/// table without bound. Here a packet from an unknown SSRC is tried on a
/// spare context that is thrown away when the packet fails, and only an
/// authenticated source keeps one (at most [`MAX_SOURCES`]).
pub struct SrtpStream {
    keys: SrtpKeys,
    tx: Context,
    /// The sequence numbers sent lately, per SSRC: an index is never
    /// encrypted twice under the key (RFC 3711 §9.1: keystream reuse).
    sent: Vec<(u32, SentWindow)>,
    rx: Vec<(u32, Context)>,
    spare: Option<Context>,
}

impl fmt::Debug for SrtpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpStream").field("suite", &self.keys.suite).finish()
    }
}

fn context(key: &MasterKey, suite: SrtpSuite, receiving: bool) -> Result<Context, SrtpError> {
    let provider = rtc_srtp::crypto::default_provider().map_err(|e| SrtpError::Keys(e.to_string()))?;
    let (srtp, srtcp) = if receiving {
        (
            Some(srtp_replay_protection(SRTP_REPLAY_WINDOW)),
            Some(srtcp_replay_protection(SRTCP_REPLAY_WINDOW)),
        )
    } else {
        (None, None)
    };
    Context::new(key.key(), key.salt(), suite.profile(), srtp, srtcp, provider.crypto())
        .map_err(|e| SrtpError::Keys(e.to_string()))
}

/// The sequence numbers a stream sent lately: the highest and a bitmap of
/// the 64 before it (RFC 3711 §3.3.2's window, on the sending side).
#[derive(Debug, Default, Clone, Copy)]
struct SentWindow {
    highest: Option<u16>,
    /// Bit `i` set: `highest - i` was sent (bit 0 is `highest`).
    bits: u64,
}

impl SentWindow {
    /// Records `seq`; false when it was sent already or is older than the window.
    fn take(&mut self, seq: u16) -> bool {
        let Some(high) = self.highest else {
            self.highest = Some(seq);
            self.bits = 1;
            return true;
        };
        let ahead = seq.wrapping_sub(high);
        if ahead != 0 && ahead < 0x8000 {
            let shift = u32::from(ahead);
            self.bits = if shift >= 64 { 0 } else { self.bits << shift };
            self.bits |= 1;
            self.highest = Some(seq);
            return true;
        }
        let behind = u32::from(high.wrapping_sub(seq));
        if behind >= 64 || self.bits & (1 << behind) != 0 {
            return false;
        }
        self.bits |= 1 << behind;
        true
    }
}

/// The SSRC of an RTP packet (bytes 8..12) or of an RTCP packet's sender (4..8).
fn ssrc_at(packet: &[u8], at: usize) -> Option<u32> {
    let b = packet.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl SrtpStream {
    /// Contexts for `keys`.
    pub fn new(keys: &SrtpKeys) -> Result<SrtpStream, SrtpError> {
        Ok(SrtpStream {
            keys: keys.clone(),
            tx: context(&keys.local, keys.suite, false)?,
            sent: Vec::new(),
            rx: Vec::new(),
            spare: Some(context(&keys.remote, keys.suite, true)?),
        })
    }

    /// The keys this stream was made with.
    pub fn keys(&self) -> &SrtpKeys {
        &self.keys
    }

    /// Encrypts and authenticates an RTP packet the switch sends (RFC 3711 §3.3).
    /// A sequence number already sent on its SSRC (a relayed duplicate), or
    /// one too old to tell, is refused: the same index under the same key
    /// would reuse keystream (RFC 3711 §9.1).
    pub fn protect_rtp(&mut self, packet: &[u8]) -> Result<BytesMut, SrtpError> {
        let (Some(ssrc), Some(seq)) = (ssrc_at(packet, 8), packet.get(2..4)) else {
            return Err(SrtpError::Protect("shorter than an RTP header".into()));
        };
        let seq = u16::from_be_bytes([seq[0], seq[1]]);
        let at = match self.sent.iter().position(|(s, _)| *s == ssrc) {
            Some(i) => i,
            None => {
                if self.sent.len() == MAX_SOURCES {
                    self.sent.remove(0);
                }
                self.sent.push((ssrc, SentWindow::default()));
                self.sent.len() - 1
            }
        };
        if !self.sent[at].1.take(seq) {
            return Err(SrtpError::Protect(format!(
                "sequence number {seq} already sent or too old"
            )));
        }
        self.tx
            .encrypt_rtp(packet)
            .map_err(|e| SrtpError::Protect(e.to_string()))
    }

    /// Encrypts and authenticates an RTCP compound packet the switch sends (RFC 3711 §3.4).
    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Result<BytesMut, SrtpError> {
        self.tx
            .encrypt_rtcp(packet)
            .map_err(|e| SrtpError::Protect(e.to_string()))
    }

    /// Checks and decrypts an SRTP packet the leg sent (RFC 3711 §3.3).
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<BytesMut, SrtpError> {
        let ssrc = ssrc_at(packet, 8).ok_or_else(|| SrtpError::Refused("shorter than an RTP header".into()))?;
        self.unprotect(ssrc, |c| c.decrypt_rtp(packet))
    }

    /// Checks and decrypts an SRTCP packet the leg sent (RFC 3711 §3.4).
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<BytesMut, SrtpError> {
        let ssrc = ssrc_at(packet, 4).ok_or_else(|| SrtpError::Refused("shorter than an RTCP header".into()))?;
        self.unprotect(ssrc, |c| c.decrypt_rtcp(packet))
    }

    fn unprotect(
        &mut self,
        ssrc: u32,
        open: impl FnOnce(&mut Context) -> rtc_shared::error::Result<BytesMut>,
    ) -> Result<BytesMut, SrtpError> {
        if let Some((_, known)) = self.rx.iter_mut().find(|(s, _)| *s == ssrc) {
            return open(known).map_err(|e| SrtpError::Refused(e.to_string()));
        }
        let mut trial = match self.spare.take() {
            Some(c) => c,
            None => context(&self.keys.remote, self.keys.suite, true)?,
        };
        match open(&mut trial) {
            Ok(plain) => {
                if self.rx.len() == MAX_SOURCES {
                    self.rx.remove(0);
                }
                self.rx.push((ssrc, trial));
                Ok(plain)
            }
            // The trial context now knows the forged SSRC: dropped, and a
            // clean one is made for the next unknown source.
            Err(e) => Err(SrtpError::Refused(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> MasterKey {
        MasterKey::new([b; MASTER_LEN])
    }

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// The two ends of one leg: the switch's stream and the phone's (keys swapped).
    fn ends(suite: SrtpSuite) -> (SrtpStream, SrtpStream) {
        let switch = SrtpKeys {
            suite,
            local: key(1),
            remote: key(2),
        };
        (
            SrtpStream::new(&switch).unwrap(),
            SrtpStream::new(&switch.peer_view()).unwrap(),
        )
    }

    #[test]
    fn both_suites_round_trip_rtp_with_their_tag_lengths() {
        for suite in SrtpSuite::ALL {
            let (mut switch, mut phone) = ends(suite);
            let plain = rtp(7, &[0xd5; 160]);
            let sealed = switch.protect_rtp(&plain).unwrap();
            assert_eq!(sealed.len(), plain.len() + suite.rtp_tag_len(), "{suite}");
            assert_ne!(&sealed[12..172], &plain[12..], "the payload is encrypted");
            assert_eq!(&phone.unprotect_rtp(&sealed).unwrap()[..], &plain[..]);
            let back = phone.protect_rtp(&rtp(9, b"hello")).unwrap();
            assert_eq!(&switch.unprotect_rtp(&back).unwrap()[..], &rtp(9, b"hello")[..]);
        }
    }

    #[test]
    fn a_forged_a_replayed_and_a_wrong_key_packet_are_refused() {
        let (mut switch, mut phone) = ends(SrtpSuite::AesCm128HmacSha1_80);
        let sealed = phone.protect_rtp(&rtp(1, &[1; 20])).unwrap();
        assert!(switch.unprotect_rtp(&sealed).is_ok());
        assert!(
            matches!(switch.unprotect_rtp(&sealed), Err(SrtpError::Refused(_))),
            "replay"
        );
        let mut forged = phone.protect_rtp(&rtp(2, &[1; 20])).unwrap();
        forged[15] ^= 1;
        assert!(
            matches!(switch.unprotect_rtp(&forged), Err(SrtpError::Refused(_))),
            "forged"
        );
        assert!(
            matches!(switch.unprotect_rtp(&rtp(3, &[1; 20])), Err(SrtpError::Refused(_))),
            "plain RTP"
        );
        assert!(switch.unprotect_rtp(&[0x80, 0]).is_err(), "truncated");
    }

    #[test]
    fn forged_sources_leave_no_state_behind() {
        let (mut switch, mut phone) = ends(SrtpSuite::AesCm128HmacSha1_80);
        for ssrc in 0..1000u32 {
            let mut p = rtp(1, &[0; 30]);
            p[8..12].copy_from_slice(&ssrc.to_be_bytes());
            assert!(switch.unprotect_rtp(&p).is_err());
        }
        assert!(switch.rx.is_empty(), "no context kept for an unauthenticated source");
        let good = phone.protect_rtp(&rtp(5, &[3; 20])).unwrap();
        assert_eq!(&switch.unprotect_rtp(&good).unwrap()[..], &rtp(5, &[3; 20])[..]);
        assert_eq!(switch.rx.len(), 1);
        for ssrc in 0..20u32 {
            let mut p = rtp(6, &[3; 20]);
            p[8..12].copy_from_slice(&ssrc.to_be_bytes());
            let sealed = phone.protect_rtp(&p).unwrap();
            assert!(switch.unprotect_rtp(&sealed).is_ok());
        }
        assert_eq!(switch.rx.len(), MAX_SOURCES, "sources are bounded");
    }

    #[test]
    fn rtcp_round_trips() {
        let (mut switch, mut phone) = ends(SrtpSuite::AesCm128HmacSha1_32);
        // An empty receiver report from SSRC 0x01020304.
        let rr = [0x80, 201, 0, 1, 1, 2, 3, 4];
        let sealed = switch.protect_rtcp(&rr).unwrap();
        assert_eq!(sealed.len(), rr.len() + 4 + 10, "SRTCP index and an 80-bit tag");
        assert_eq!(&phone.unprotect_rtcp(&sealed).unwrap()[..], &rr[..]);
        assert!(phone.unprotect_rtcp(&rr).is_err());
    }

    #[test]
    fn keys_decode_from_base64_and_never_print() {
        let k = MasterKey::new(*b"0123456789abcdef0123456789abcd");
        let text = k.to_base64();
        assert_eq!(text.len(), 40);
        assert_eq!(MasterKey::from_base64(&text), Some(k.clone()));
        assert_eq!(MasterKey::from_base64(text.trim_end_matches('=')), Some(k.clone()));
        assert_eq!(MasterKey::from_base64("c2hvcnQ="), None, "not 30 bytes");
        assert_eq!(MasterKey::from_base64("!!"), None);
        let keys = SrtpKeys {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            local: k.clone(),
            remote: k,
        };
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&text) && !shown.contains("0123"), "{shown}");
    }

    #[test]
    fn suites_by_name() {
        assert_eq!(
            SrtpSuite::from_name("AES_CM_128_HMAC_SHA1_32"),
            Some(SrtpSuite::AesCm128HmacSha1_32)
        );
        assert_eq!(SrtpSuite::from_name("AES_256_CM_HMAC_SHA1_80"), None);
        assert_eq!(SrtpSuite::from_name("aes_cm_128_hmac_sha1_80"), None);
    }
}

/// Fuzzer find (issue 11 item 6, `media` target): a relayed duplicate was
/// encrypted again under the same index, which reuses keystream (RFC 3711
/// §9.1); the receiving phone refused it as a replay.
#[cfg(test)]
mod sent_index_tests {
    use super::*;

    fn rtp(seq: u16, payload: u8) -> Vec<u8> {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 160, 0, 0, 0x12, 0x34];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[payload; 20]);
        p
    }

    #[test]
    fn rfc3711_s9_1_an_index_is_never_encrypted_twice() {
        let keys = SrtpKeys {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            local: MasterKey::new([1; 30]),
            remote: MasterKey::new([2; 30]),
        };
        let mut s = SrtpStream::new(&keys).expect("keys");
        assert!(s.protect_rtp(&rtp(10, 1)).is_ok());
        assert!(
            s.protect_rtp(&rtp(10, 2)).is_err(),
            "same index, other payload: refused"
        );
        assert!(s.protect_rtp(&rtp(12, 1)).is_ok());
        assert!(s.protect_rtp(&rtp(11, 1)).is_ok(), "reordered, not yet sent: allowed");
        assert!(s.protect_rtp(&rtp(11, 1)).is_err());
        assert!(
            s.protect_rtp(&rtp(12u16.wrapping_sub(100), 1)).is_err(),
            "older than the window"
        );
        // Across the 16-bit wrap.
        let mut w = SentWindow::default();
        assert!(w.take(65_534) && w.take(65_535) && w.take(0) && w.take(1));
        assert!(!w.take(65_535) && !w.take(0));
        assert!(w.take(100) && !w.take(30));
    }
}
