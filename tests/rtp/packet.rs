//! Tests of `switchboard::rtp::packet`.

use switchboard::rtp::packet::*;
use switchboard::rtp::RtpError;

fn g711(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 172];
    let fields = RtpFields {
        marker: false,
        payload_type: 0,
        sequence: seq,
        timestamp: ts,
        ssrc,
    };
    let n = write_packet(&mut buf, &fields, &[0xffu8; 160]).unwrap();
    assert_eq!(n, 172);
    buf
}

#[test]
fn parses_plain_packet() {
    let buf = g711(7, 1600, 0xdead_beef);
    let h = RtpHeader::parse(&buf).unwrap();
    assert_eq!(
        (h.sequence, h.timestamp, h.ssrc, h.payload_type),
        (7, 1600, 0xdead_beef, 0)
    );
    assert_eq!((h.payload_offset, h.payload_end, h.payload_len()), (12, 172, 160));
    assert!(!h.marker && !h.has_extension && h.csrc_count == 0);
}

#[test]
fn view_setters_round_trip() {
    let mut buf = g711(1, 2, 3);
    let mut v = RtpView::new(&mut buf).unwrap();
    v.set_marker(true);
    v.set_payload_type(101);
    v.set_sequence(65535);
    v.set_timestamp(u32::MAX);
    v.set_ssrc(42);
    let h = v.header();
    assert!(h.marker);
    assert_eq!(
        (h.payload_type, h.sequence, h.timestamp, h.ssrc),
        (101, 65535, u32::MAX, 42)
    );
    v.set_marker(false);
    assert!(!v.marker());
    assert_eq!(v.payload_type(), 101);
    assert_eq!(v.payload().len(), 160);
    v.payload_mut()[0] = 1;
    assert_eq!(v.as_bytes()[12], 1);
}

#[test]
fn csrc_extension_and_padding_offsets() {
    // V=2 P=1 X=1 CC=2, then 2 CSRCs, extension of 1 word, 3 payload + 5 padding.
    let mut buf = vec![0xb2, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
    buf.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 11]);
    buf.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0, 0]);
    buf.extend_from_slice(&[1, 2, 3, 0, 0, 0, 0, 5]);
    let h = RtpHeader::parse(&buf).unwrap();
    assert_eq!(h.csrc_count, 2);
    assert!(h.has_extension);
    assert_eq!(h.payload_offset, 12 + 8 + 8);
    assert_eq!(&buf[h.payload_offset..h.payload_end], &[1, 2, 3]);
    let p = to_rtc(&buf).unwrap();
    assert_eq!(p.header.csrc, vec![10, 11]);
    assert_eq!(&p.payload[..], &[1, 2, 3]);
}

#[test]
fn malformed_packets_are_typed_errors() {
    assert!(matches!(
        RtpHeader::parse(&[0x80; 5]),
        Err(RtpError::TooShort { len: 5, needed: 12 })
    ));
    let mut v1 = g711(1, 1, 1);
    v1[0] = 0x40;
    assert!(matches!(
        RtpHeader::parse(&v1),
        Err(RtpError::BadVersion { version: 1 })
    ));
    let mut cc = g711(1, 1, 1);
    cc.truncate(20);
    cc[0] = 0x8f; // 15 CSRCs = 72 bytes of header
    assert!(matches!(
        RtpHeader::parse(&cc),
        Err(RtpError::TooShort { needed: 72, .. })
    ));
    let mut ext = g711(1, 1, 1);
    ext.truncate(14);
    ext[0] = 0x90;
    assert!(matches!(
        RtpHeader::parse(&ext),
        Err(RtpError::TooShort { needed: 16, .. })
    ));
    let mut ext_len = g711(1, 1, 1);
    ext_len[0] = 0x90;
    ext_len[14] = 0xff;
    ext_len[15] = 0xff;
    assert!(matches!(RtpHeader::parse(&ext_len), Err(RtpError::TooShort { .. })));
    let mut pad = g711(1, 1, 1);
    pad[0] = 0xa0;
    *pad.last_mut().unwrap() = 200;
    assert!(matches!(
        RtpHeader::parse(&pad),
        Err(RtpError::BadPadding {
            padding: 200,
            available: 160
        })
    ));
    *pad.last_mut().unwrap() = 0;
    assert!(matches!(
        RtpHeader::parse(&pad),
        Err(RtpError::BadPadding { padding: 0, .. })
    ));
    let mut empty_pad = vec![0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert!(RtpHeader::parse(&empty_pad).is_err());
    assert!(RtpView::new(&mut empty_pad).is_err());
}

#[test]
fn never_panics_on_arbitrary_bytes() {
    // A cheap deterministic fuzz: every prefix of several header shapes.
    let mut seed = 0x1234_5678u32;
    for _ in 0..2000 {
        let mut buf = [0u8; 40];
        for b in buf.iter_mut() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *b = (seed >> 16) as u8;
        }
        buf[0] = (buf[0] & 0x3f) | 0x80;
        for len in 0..buf.len() {
            if let Ok(h) = RtpHeader::parse(&buf[..len]) {
                assert!(h.payload_offset <= h.payload_end && h.payload_end <= len);
            }
        }
    }
}

#[test]
fn rtc_round_trip() {
    let buf = g711(9, 99, 999);
    let p = to_rtc(&buf).unwrap();
    assert_eq!(p.header.sequence_number, 9);
    assert_eq!(p.payload.len(), 160);
    let mut out = [0u8; 200];
    let n = write_rtc(&p, &mut out).unwrap();
    assert_eq!(&out[..n], &buf[..]);
    let mut small = [0u8; 20];
    assert!(matches!(
        write_rtc(&p, &mut small),
        Err(RtpError::BufferTooSmall { needed: 172, .. })
    ));
    assert!(write_packet(&mut small, &RtpFields::default(), &[0; 10]).is_err());
}

#[test]
fn rtcp_demux() {
    assert!(is_rtcp(&[0x80, 200, 0, 6]));
    assert!(is_rtcp(&[0x81, 201, 0, 7]));
    assert!(!is_rtcp(&[0x80, 0, 0, 1]));
    assert!(!is_rtcp(&[0x80, 0x80 | 101]));
    assert!(!is_rtcp(&[0x80]));
}
