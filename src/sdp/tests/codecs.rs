//! The codec model (RFC 3551 §6, RFC 7587 §7, RFC 4733 §7.1.1, RFC 8866 §6.6).

use super::crlf;
use crate::sdp::*;

/// RFC 3551 §6: static payload types 0 and 8 are PCMU and PCMA without any rtpmap.
#[test]
fn rfc3551_s6_static_payload_types_without_rtpmap() {
    let sdp = parse(crlf("v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 4000 RTP/AVP 8 0 18 96\n").as_bytes()).unwrap();
    let f = sdp.media[0].payload_formats();
    // 96 has no rtpmap: unknown, skipped.
    assert_eq!(f.len(), 3);
    assert_eq!((f[0].pt, &f[0].codec), (8, &Codec::Pcma));
    assert_eq!((f[1].pt, &f[1].codec), (0, &Codec::Pcmu));
    assert_eq!(f[2].codec.encoding_name(), "G729");
    assert_eq!(Codec::Pcmu.static_pt(), Some(0));
    assert_eq!(Codec::from_static(96), None);
}

/// RFC 8866 §6.6: encoding names compare case-insensitively; a wrong clock rate is another codec.
#[test]
fn rfc8866_s6_6_rtpmap_names_case_insensitive() {
    assert_eq!(Codec::from_rtpmap("pcmu", 8000, None), Codec::Pcmu);
    assert_eq!(Codec::from_rtpmap("PCMA", 8000, Some("1")), Codec::Pcma);
    assert_eq!(Codec::from_rtpmap("OPUS", 48000, Some("2")), Codec::Opus);
    assert_eq!(
        Codec::from_rtpmap("Telephone-Event", 48000, None),
        Codec::TelephoneEvent { clock_rate: 48000 }
    );
    let wide = Codec::from_rtpmap("PCMU", 16000, None);
    assert!(matches!(&wide, Codec::Other(o) if o.clock_rate == 16000 && o.channels == 1));
    assert_eq!(wide.kind(), None);
    let l16 = Codec::from_rtpmap("L16", 44100, Some("2"));
    assert_eq!((l16.clock_rate(), l16.channels()), (44100, 2));
}

/// RFC 7587 §7: Opus is `opus/48000/2`, clock 48 kHz, two signalled channels.
#[test]
fn rfc7587_s7_opus_rtpmap() {
    assert_eq!((Codec::Opus.clock_rate(), Codec::Opus.channels()), (48000, 2));
    let r = Codec::Opus.rtpmap(111);
    assert_eq!(Attribute::Rtpmap(r).to_string(), "rtpmap:111 opus/48000/2");
    assert_eq!(
        Attribute::Rtpmap(Codec::Pcmu.rtpmap(0)).to_string(),
        "rtpmap:0 PCMU/8000"
    );
}

/// RFC 4733 §7.1.1: events lists parse and print as ranges; malformed ones are refused.
#[test]
fn rfc4733_s7_1_1_event_lists() {
    let ev = EventSet::parse("0-15,66,70").unwrap();
    assert!(ev.contains(0) && ev.contains(15) && ev.contains(66) && ev.contains(70));
    assert!(!ev.contains(16) && !ev.contains(67));
    assert_eq!(ev.to_string(), "0-15,66,70");
    assert_eq!(EventSet::DTMF.to_string(), "0-15");
    assert_eq!(
        EventSet::parse("0-11").unwrap().intersect(&EventSet::DTMF).to_string(),
        "0-11"
    );
    assert_eq!(EventSet::parse("255").unwrap().to_string(), "255");
    assert_eq!(EventSet::parse("250-255").unwrap().to_string(), "250-255");
    for bad in ["", "a", "5-3", "0-256", "1,,2", "-1"] {
        assert_eq!(EventSet::parse(bad), None, "{bad}");
    }
    assert!(EventSet::empty().is_empty());
    assert_eq!(EventSet::empty().to_string(), "");
}

/// DESIGN.md convention 5: config codec names parse to an enum; an unknown name is an error.
#[test]
fn codec_kind_from_config_names() {
    assert_eq!("PCMU".parse::<CodecKind>(), Ok(CodecKind::Pcmu));
    assert_eq!("pcma".parse::<CodecKind>(), Ok(CodecKind::Pcma));
    assert_eq!("Opus".parse::<CodecKind>(), Ok(CodecKind::Opus));
    assert_eq!("telephone-event".parse::<CodecKind>(), Ok(CodecKind::TelephoneEvent));
    assert_eq!("G729".parse::<CodecKind>(), Err(UnknownCodec("G729".into())));
}
