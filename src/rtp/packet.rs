//! RTP packet headers (RFC 3550 §5.1 fixed header, §5.3.1 header extension,
//! P bit padding; RFC 3551 payload types) read and patched in place.
//!
//! The relay fast path forwards packets without decoding them: it needs the
//! payload type, sequence number, timestamp, SSRC and the payload offset, and
//! it rewrites a few header bytes. [`RtpHeader::parse`] reads those fields
//! from `&[u8]` in a few nanoseconds; [`RtpView`] wraps `&mut [u8]` and adds
//! setters. Neither allocates. Where the full header is needed (extension
//! elements, CSRC lists), [`to_rtc`] and [`write_rtc`] convert to and from
//! [`rtc_rtp::Packet`].
//!
//! [`is_rtcp`] demultiplexes RTP from RTCP on one port (RFC 5761 §4).

use bytes::Bytes;
use rtc_shared::marshal::{Marshal, MarshalSize, Unmarshal};

use super::RtpError;

/// The only RTP version (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;
/// Length of the fixed RTP header, without CSRCs or extension.
pub const FIXED_HEADER_LEN: usize = 12;

/// The header fields the relay path uses, plus where the payload lies.
///
/// `Copy` and 28 bytes: parse once per packet, pass by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    /// The marker bit (RFC 3550 §5.1; for audio, the first packet of a talk spurt).
    pub marker: bool,
    /// The 7-bit payload type (RFC 3551 §6 static numbers, or dynamic from SDP).
    pub payload_type: u8,
    /// The 16-bit sequence number.
    pub sequence: u16,
    /// The 32-bit media timestamp in the codec's clock rate.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// Number of CSRC identifiers (0–15).
    pub csrc_count: u8,
    /// Whether a header extension (RFC 3550 §5.3.1) is present.
    pub has_extension: bool,
    /// Offset of the first payload octet.
    pub payload_offset: usize,
    /// Offset one past the last payload octet (padding excluded).
    pub payload_end: usize,
}

impl RtpHeader {
    /// Parses the header of `buf`, validating the version, the CSRC list and
    /// extension lengths, and the padding count.
    ///
    /// # Errors
    /// [`RtpError::TooShort`], [`RtpError::BadVersion`] or [`RtpError::BadPadding`].
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Self, RtpError> {
        if buf.len() < FIXED_HEADER_LEN {
            return Err(RtpError::TooShort {
                len: buf.len(),
                needed: FIXED_HEADER_LEN,
            });
        }
        let b0 = buf[0];
        let version = b0 >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion { version });
        }
        let padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = b0 & 0x0f;
        let mut offset = FIXED_HEADER_LEN + 4 * csrc_count as usize;
        if has_extension {
            // 16-bit profile, 16-bit length in 32-bit words, then the words.
            let needed = offset + 4;
            if buf.len() < needed {
                return Err(RtpError::TooShort { len: buf.len(), needed });
            }
            let words = u16::from_be_bytes([buf[offset + 2], buf[offset + 3]]) as usize;
            offset = needed + 4 * words;
        }
        if buf.len() < offset {
            return Err(RtpError::TooShort {
                len: buf.len(),
                needed: offset,
            });
        }
        let mut payload_end = buf.len();
        if padding {
            let available = buf.len() - offset;
            let count = buf[buf.len() - 1];
            if count == 0 || count as usize > available {
                return Err(RtpError::BadPadding {
                    padding: count,
                    available,
                });
            }
            payload_end -= count as usize;
        }
        Ok(RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7f,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
            csrc_count,
            has_extension,
            payload_offset: offset,
            payload_end,
        })
    }

    /// The payload length in octets, padding excluded.
    #[inline]
    pub fn payload_len(&self) -> usize {
        self.payload_end - self.payload_offset
    }
}

/// A validated RTP packet in a mutable buffer: reads and in-place writes of
/// the fixed header fields, without allocation.
#[derive(Debug)]
pub struct RtpView<'a> {
    buf: &'a mut [u8],
    payload_offset: usize,
    payload_end: usize,
}

impl<'a> RtpView<'a> {
    /// Validates `buf` as an RTP packet (see [`RtpHeader::parse`]) and wraps it.
    ///
    /// # Errors
    /// As [`RtpHeader::parse`].
    #[inline]
    pub fn new(buf: &'a mut [u8]) -> Result<Self, RtpError> {
        let h = RtpHeader::parse(buf)?;
        Ok(RtpView {
            buf,
            payload_offset: h.payload_offset,
            payload_end: h.payload_end,
        })
    }

    /// Wraps `buf` already validated as `h` (from [`RtpHeader::parse`] of the same bytes).
    #[inline]
    pub(crate) fn with_header(buf: &'a mut [u8], h: &RtpHeader) -> Self {
        RtpView {
            buf,
            payload_offset: h.payload_offset,
            payload_end: h.payload_end,
        }
    }

    /// The header fields, read afresh from the buffer.
    #[inline]
    pub fn header(&self) -> RtpHeader {
        let b = &self.buf;
        RtpHeader {
            marker: self.marker(),
            payload_type: self.payload_type(),
            sequence: self.sequence(),
            timestamp: self.timestamp(),
            ssrc: self.ssrc(),
            csrc_count: b[0] & 0x0f,
            has_extension: b[0] & 0x10 != 0,
            payload_offset: self.payload_offset,
            payload_end: self.payload_end,
        }
    }

    /// The marker bit.
    #[inline]
    pub fn marker(&self) -> bool {
        self.buf[1] & 0x80 != 0
    }

    /// Sets or clears the marker bit.
    #[inline]
    pub fn set_marker(&mut self, marker: bool) {
        self.buf[1] = (self.buf[1] & 0x7f) | if marker { 0x80 } else { 0 };
    }

    /// The payload type.
    #[inline]
    pub fn payload_type(&self) -> u8 {
        self.buf[1] & 0x7f
    }

    /// Sets the payload type (the high bit of `pt` is ignored).
    #[inline]
    pub fn set_payload_type(&mut self, pt: u8) {
        self.buf[1] = (self.buf[1] & 0x80) | (pt & 0x7f);
    }

    /// The sequence number.
    #[inline]
    pub fn sequence(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_sequence(&mut self, seq: u16) {
        self.buf[2..4].copy_from_slice(&seq.to_be_bytes());
    }

    /// The timestamp.
    #[inline]
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]])
    }

    /// Sets the timestamp.
    #[inline]
    pub fn set_timestamp(&mut self, ts: u32) {
        self.buf[4..8].copy_from_slice(&ts.to_be_bytes());
    }

    /// The SSRC.
    #[inline]
    pub fn ssrc(&self) -> u32 {
        u32::from_be_bytes([self.buf[8], self.buf[9], self.buf[10], self.buf[11]])
    }

    /// Sets the SSRC.
    #[inline]
    pub fn set_ssrc(&mut self, ssrc: u32) {
        self.buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
    }

    /// The payload, padding excluded.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buf[self.payload_offset..self.payload_end]
    }

    /// The payload, mutable (same length).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.payload_offset..self.payload_end]
    }

    /// The whole packet.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf
    }
}

/// Writes a plain RTP packet (no CSRC, extension or padding) into `out` and
/// returns its length: for packets the switch originates (music, tones, DTMF).
///
/// # Errors
/// [`RtpError::BufferTooSmall`] when `out` cannot hold header and payload.
pub fn write_packet(out: &mut [u8], header: &RtpFields, payload: &[u8]) -> Result<usize, RtpError> {
    let needed = FIXED_HEADER_LEN + payload.len();
    if out.len() < needed {
        return Err(RtpError::BufferTooSmall { len: out.len(), needed });
    }
    out[0] = RTP_VERSION << 6;
    out[1] = (header.payload_type & 0x7f) | if header.marker { 0x80 } else { 0 };
    out[2..4].copy_from_slice(&header.sequence.to_be_bytes());
    out[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    out[FIXED_HEADER_LEN..needed].copy_from_slice(payload);
    Ok(needed)
}

/// The fields of a packet the switch originates, for [`write_packet`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtpFields {
    /// The marker bit.
    pub marker: bool,
    /// The payload type.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The timestamp.
    pub timestamp: u32,
    /// The SSRC.
    pub ssrc: u32,
}

/// Fully parses `buf` with `rtc-rtp` (CSRC list, RFC 8285 extension
/// elements); copies the bytes once.
///
/// # Errors
/// [`RtpError::Codec`] with `rtc-rtp`'s reason; the fast-path checks first,
/// so a bad version or padding gives the typed variants.
pub fn to_rtc(buf: &[u8]) -> Result<rtc_rtp::Packet, RtpError> {
    RtpHeader::parse(buf)?;
    let mut bytes = Bytes::copy_from_slice(buf);
    Ok(rtc_rtp::Packet::unmarshal(&mut bytes)?)
}

/// Serializes an [`rtc_rtp::Packet`] into `out`, returning the length.
///
/// # Errors
/// [`RtpError::BufferTooSmall`] or [`RtpError::Codec`].
pub fn write_rtc(packet: &rtc_rtp::Packet, out: &mut [u8]) -> Result<usize, RtpError> {
    let needed = packet.marshal_size();
    if out.len() < needed {
        return Err(RtpError::BufferTooSmall { len: out.len(), needed });
    }
    Ok(packet.marshal_to(out)?)
}

/// Whether a datagram on a muxed RTP/RTCP port is RTCP: the second octet
/// (marker + PT for RTP) lies in 192–223 (RFC 5761 §4).
#[inline]
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 2 && (192..=223).contains(&buf[1])
}
