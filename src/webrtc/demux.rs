//! Telling apart what arrives on a WebRTC leg's one UDP port: STUN (ICE
//! checks), DTLS (the key exchange) and SRTP/SRTCP (the media, RTCP
//! multiplexed on the RTP port). RFC 7983 §7 (updating RFC 5764 §5.1.2)
//! sorts them by the first byte; RFC 5761 §4 sorts RTP from RTCP by the
//! second (the RTCP packet type, 192–223).

/// What a datagram on a WebRTC leg is, by RFC 7983 §7's first-byte ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram {
    /// 0–3: a STUN message (an ICE connectivity or consent check).
    Stun,
    /// 20–63: a DTLS record.
    Dtls,
    /// 128–191 with an RTP payload type in the second byte: SRTP.
    Rtp,
    /// 128–191 with an RTCP packet type (192–223) in the second byte: SRTCP
    /// (RFC 5761 §4).
    Rtcp,
    /// Anything else (ZRTP, TURN channels, noise): dropped.
    Other,
}

/// Classifies `datagram` (RFC 7983 §7, RFC 5761 §4).
pub fn classify(datagram: &[u8]) -> Datagram {
    match datagram.first() {
        Some(0..=3) => Datagram::Stun,
        Some(20..=63) => Datagram::Dtls,
        Some(128..=191) => match datagram.get(1) {
            Some(192..=223) => Datagram::Rtcp,
            Some(_) => Datagram::Rtp,
            None => Datagram::Other,
        },
        _ => Datagram::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7983_ranges() {
        assert_eq!(classify(&[0x00, 0x01]), Datagram::Stun);
        assert_eq!(classify(&[3]), Datagram::Stun);
        assert_eq!(classify(&[4]), Datagram::Other);
        assert_eq!(classify(&[19]), Datagram::Other);
        assert_eq!(classify(&[20, 0xfe]), Datagram::Dtls);
        assert_eq!(classify(&[22, 0xfe, 0xfd]), Datagram::Dtls);
        assert_eq!(classify(&[63]), Datagram::Dtls);
        assert_eq!(classify(&[64]), Datagram::Other);
        assert_eq!(classify(&[0x80, 0]), Datagram::Rtp);
        assert_eq!(classify(&[0x80, 111]), Datagram::Rtp);
        assert_eq!(classify(&[0x80, 0x80 | 111]), Datagram::Rtp);
        assert_eq!(classify(&[0x81, 200]), Datagram::Rtcp);
        assert_eq!(classify(&[0x80, 223]), Datagram::Rtcp);
        assert_eq!(classify(&[0x80, 224]), Datagram::Rtp);
        assert_eq!(classify(&[0x80]), Datagram::Other);
        assert_eq!(classify(&[192]), Datagram::Other);
        assert_eq!(classify(&[]), Datagram::Other);
    }
}
