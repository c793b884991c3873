//! Parsing and printing (RFC 8866 §5, §6; RFC 3605; RFC 4568).

use super::crlf;
use super::vectors::*;
use crate::sdp::*;

fn parse_str(s: &str) -> Sdp {
    match parse(s.as_bytes()) {
        Ok(sdp) => sdp,
        Err(e) => panic!("{e}\n{s}"),
    }
}

/// RFC 8866 §5: a well-formed description prints back byte for byte, CRLF or LF.
#[test]
fn rfc8866_s5_round_trip_is_byte_exact() {
    for v in ALL {
        let c = crlf(v);
        assert_eq!(parse_str(&c).print(), c);
        let lf = v.to_string();
        let sdp = parse_str(&lf);
        assert_eq!(sdp.line_ending, LineEnding::Lf);
        assert_eq!(sdp.print(), lf);
    }
}

/// RFC 8866 §5: a body without the final line end, or with trailing blank lines, still parses.
#[test]
fn rfc8866_s5_trailing_line_ends_are_lenient() {
    let c = crlf(SIPP_UAC);
    let trimmed = c.trim_end();
    assert_eq!(parse_str(trimmed).print(), c);
    let padded = format!("{c}\r\n\r\n");
    assert_eq!(parse_str(&padded).print(), c);
}

/// RFC 8866 §5.2, §5.7, §5.14, §6.6: the SIPp offer's typed fields.
#[test]
fn rfc8866_s5_sipp_offer_fields() {
    let sdp = parse_str(&crlf(SIPP_UAC));
    assert_eq!(sdp.origin.username, "user1");
    assert_eq!(sdp.origin.session_id, "53655765");
    assert_eq!(sdp.origin.session_version, 2353687637);
    assert_eq!(sdp.origin.addr_type, AddrType::Ip4);
    assert_eq!(sdp.session_name, "-");
    let c = sdp.connection().unwrap();
    assert_eq!(c.ip_addr(), Some("127.0.0.1".parse().unwrap()));
    assert_eq!(sdp.media.len(), 1);
    let m = &sdp.media[0];
    assert_eq!(
        (m.kind.clone(), m.port, m.port_count, m.proto.clone()),
        (MediaKind::Audio, 6000, None, Proto::RtpAvp)
    );
    assert_eq!(m.formats, vec![Fmt::Pt(0)]);
    assert_eq!(m.rtpmap(0).unwrap().codec(), Codec::Pcmu);
    assert_eq!(sdp.media_direction(0), Direction::SendRecv);
}

/// RFC 8866 §6.4, §6.7, §6.15: baresip's fmtp, ptime, direction; unknown attributes kept in order.
#[test]
fn rfc8866_s6_baresip_attributes() {
    let sdp = parse_str(&crlf(BARESIP));
    let m = &sdp.media[0];
    assert_eq!(m.fmtp(96), Some("stereo=1;sprop-stereo=1"));
    assert_eq!(m.fmtp(101), Some("0-15"));
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(m.direction(), Some(Direction::SendRecv));
    let others: Vec<_> = m
        .attributes()
        .filter_map(|a| match a {
            Attribute::Other { name, value } => Some((name.as_str(), value.as_deref())),
            _ => None,
        })
        .collect();
    assert_eq!(
        others,
        vec![
            ("label", Some("1")),
            ("ssrc", Some("1938432712 cname:3e54c7d1-9a58-4e3e-a7f8-2a5a1f1f5c9b")),
            ("rtcp-rsize", None)
        ]
    );
    assert_eq!(
        m.lines[0],
        Line::Other {
            kind: 'b',
            value: "AS:96".into()
        }
    );
    let codecs: Vec<_> = m.payload_formats().into_iter().map(|f| (f.pt, f.codec)).collect();
    assert_eq!(
        codecs,
        vec![
            (96, Codec::Opus),
            (0, Codec::Pcmu),
            (8, Codec::Pcma),
            (101, Codec::TelephoneEvent { clock_rate: 8000 })
        ]
    );
}

/// RFC 4568 §9.1: `a=crypto` typed, with and without session parameters; vendor attributes verbatim.
#[test]
fn rfc4568_s9_1_polycom_crypto() {
    let c = crlf(POLYCOM);
    let sdp = parse_str(&c);
    assert_eq!(sdp.direction(), Some(Direction::SendRecv));
    let m = &sdp.media[0];
    let cr: Vec<_> = m.crypto().collect();
    assert_eq!(cr.len(), 2);
    assert_eq!(cr[0].tag, 1);
    assert_eq!(cr[0].suite, "AES_CM_128_HMAC_SHA1_80");
    assert_eq!(cr[0].key_params, "inline:QTc4MTE1MzBkYjk0NzgzNjA0YzE0ZmRkN2Q1ZjM4|2^48");
    assert_eq!(cr[0].session_params, None);
    assert_eq!(cr[1].session_params.as_deref(), Some("UNENCRYPTED_SRTCP"));
    assert!(m.attributes().any(|a| *a
        == Attribute::Other {
            name: "silenceSupp".into(),
            value: Some("off - - - -".into())
        }));
    assert_eq!(parse_str(&c).print(), c);
}

/// RFC 3605 §2.1 and RFC 8866 §5.7: `a=rtcp` with address; media-level `c=` overrides the session's.
#[test]
fn rfc3605_s2_1_rtcp_and_media_connection() {
    let sdp = parse_str(&crlf(AUDIO_VIDEO));
    let rtcp = sdp.media[0].rtcp().unwrap();
    assert_eq!(rtcp.port, 7079);
    assert_eq!(rtcp.connection.as_ref().unwrap().address, "198.51.100.5");
    assert_eq!(sdp.media_connection(0).unwrap().address, "198.51.100.5");
    assert_eq!(sdp.media_connection(1).unwrap().address, "198.51.100.6");
    assert_eq!(sdp.media[1].kind, MediaKind::Video);
    assert_eq!(
        sdp.media[0].payload_formats()[3].codec,
        Codec::TelephoneEvent { clock_rate: 48000 }
    );
}

/// RFC 8866 §5.14: port 0, non-RTP formats (`udptl t38`), port/count; RFC 8866 §5: every line type.
#[test]
fn rfc8866_s5_14_ports_and_formats() {
    let sdp = parse_str(&crlf(PORT_ZERO));
    assert_eq!(sdp.media[0].port, 0);
    assert_eq!(sdp.media[2].proto, Proto::Udptl);
    assert_eq!(sdp.media[2].formats, vec![Fmt::Token("t38".into())]);
    assert_eq!(sdp.media_ptime(1), Some(30));
    assert_eq!(sdp.media_maxptime(1), Some(60));
    let all = parse_str(&crlf(ALL_LINES));
    assert_eq!(all.media[1].port, 51372);
    assert_eq!(all.media[1].port_count, Some(2));
    assert_eq!(all.connection().unwrap().address, "224.2.17.12/127");
    assert_eq!(
        all.connection().unwrap().ip_addr(),
        Some("224.2.17.12".parse().unwrap())
    );
    assert_eq!(all.media_direction(0), Direction::RecvOnly);
}

/// RFC 5764 §8, RFC 8866 §5.7: DTLS-SRTP profile and IPv6 addresses parse.
#[test]
fn rfc5764_s8_webrtc_profile() {
    let sdp = parse_str(&crlf(WEBRTC));
    assert_eq!(sdp.origin.session_id, "4611731400430051336");
    assert_eq!(sdp.media[0].proto, Proto::UdpTlsRtpSavpf);
    assert!(!sdp.media[0].proto.is_plain_rtp());
    assert_eq!(sdp.media_connection(0).unwrap().addr_type, AddrType::Ip6);
}

/// RFC 8866 §5, §9: malformed input is a typed error with the 1-based line number.
#[test]
fn rfc8866_s9_malformed_inputs_name_their_line() {
    let head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n";
    let m = "m=audio 4000 RTP/AVP 0\n";
    let cases: Vec<(String, usize, Fault)> = vec![
        ("".into(), 1, Fault::Empty),
        ("\r\n\n".into(), 1, Fault::Empty),
        (" \r\n".into(), 1, Fault::Syntax),
        ("v=1\n".into(), 1, Fault::Version),
        ("o=- 1 1 IN IP4 h\n".into(), 1, Fault::Expected('v')),
        ("v=0\ns=-\n".into(), 2, Fault::Expected('o')),
        ("v=0\no=- 1 1 IN IP4 h\n".into(), 3, Fault::Expected('s')),
        (
            "v=0\no=- x 1 IN IP4 h\ns=-\n".into(),
            2,
            Fault::Malformed {
                what: "o=",
                why: "session id must be digits",
            },
        ),
        (
            "v=0\no=- 1 1 IN IP4\ns=-\n".into(),
            2,
            Fault::Malformed {
                what: "o=",
                why: "missing address",
            },
        ),
        (
            "v=0\no=- 1 1 XX IP4 h\ns=-\n".into(),
            2,
            Fault::Malformed {
                what: "o=",
                why: "network type must be `IN`",
            },
        ),
        (format!("{head}vv\n"), 6, Fault::Syntax),
        (format!("{head}\n{m}"), 6, Fault::Syntax),
        (format!("{head}X=1\n"), 6, Fault::Syntax),
        (format!("{head}x=1\n"), 6, Fault::UnknownType('x')),
        (format!("{head}s=again\n"), 6, Fault::Duplicate('s')),
        (format!("{head}c=IN IP4 192.0.2.2\n"), 6, Fault::Duplicate('c')),
        (
            format!("{head}{m}c=IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\n"),
            8,
            Fault::Duplicate('c'),
        ),
        (format!("{head}{m}t=0 0\n"), 7, Fault::NotInMedia('t')),
        (format!("{head}c=IN IP4\n"), 6, Fault::Duplicate('c')),
        (
            "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4\n".into(),
            4,
            Fault::Malformed {
                what: "c=",
                why: "missing address",
            },
        ),
        (
            format!("{head}m=audio x RTP/AVP 0\n"),
            6,
            Fault::Malformed {
                what: "m=",
                why: "expected a decimal number",
            },
        ),
        (
            format!("{head}m=audio 70000 RTP/AVP 0\n"),
            6,
            Fault::Malformed {
                what: "m=",
                why: "number out of range",
            },
        ),
        (
            format!("{head}m=audio 4000 RTP/AVP 200\n"),
            6,
            Fault::Malformed {
                what: "m=",
                why: "payload type above 127",
            },
        ),
        (
            format!("{head}m=audio 4000 RTP/AVP  0\n"),
            6,
            Fault::Malformed {
                what: "m=",
                why: "empty format",
            },
        ),
        (
            format!("{head}m=audio\n"),
            6,
            Fault::Malformed {
                what: "m=",
                why: "missing port",
            },
        ),
        (
            format!("{head}{m}a=rtpmap:0 PCMU\n"),
            7,
            Fault::Malformed {
                what: "a=rtpmap",
                why: "missing clock rate",
            },
        ),
        (
            format!("{head}{m}a=rtpmap:0\n"),
            7,
            Fault::Malformed {
                what: "a=rtpmap",
                why: "expected `<pt> <encoding>/<clock rate>`",
            },
        ),
        (
            format!("{head}{m}a=ptime:x\n"),
            7,
            Fault::Malformed {
                what: "a=ptime",
                why: "expected a decimal number",
            },
        ),
        (
            format!("{head}{m}a=ptime\n"),
            7,
            Fault::Malformed {
                what: "a=",
                why: "value missing",
            },
        ),
        (
            format!("{head}{m}a=sendonly:1\n"),
            7,
            Fault::Malformed {
                what: "a= direction",
                why: "takes no value",
            },
        ),
        (
            format!("{head}{m}a=fmtp:101\n"),
            7,
            Fault::Malformed {
                what: "a=fmtp",
                why: "expected `<format> <parameters>`",
            },
        ),
        (
            format!("{head}{m}a=rtcp:x\n"),
            7,
            Fault::Malformed {
                what: "a=rtcp",
                why: "expected a decimal number",
            },
        ),
        (
            format!("{head}{m}a=crypto:1 AES\n"),
            7,
            Fault::Malformed {
                what: "a=crypto",
                why: "missing key parameters",
            },
        ),
        (
            format!("{head}{m}a=\n"),
            7,
            Fault::Malformed {
                what: "a=",
                why: "attribute name must be a token",
            },
        ),
    ];
    for (input, line, fault) in cases {
        let err = parse(input.as_bytes()).expect_err(&input);
        assert_eq!(err, ParseError { line, fault }, "{input}");
        assert!(err.to_string().starts_with(&format!("SDP line {line}: ")));
    }
    let mut bad_utf8 = format!("{head}{m}").into_bytes();
    bad_utf8.extend_from_slice(b"a=tool:\xff\xfe\r\n");
    assert_eq!(
        parse(&bad_utf8),
        Err(ParseError {
            line: 7,
            fault: Fault::NotUtf8
        })
    );
}

/// RFC 8866 §5: printing a built description follows the §5 layout.
#[test]
fn rfc8866_s5_print_built_description() {
    let mut sdp = parse_str(&crlf(SIPP_UAC));
    sdp.media[0].port = 0;
    sdp.media[0].lines.push(Line::Attribute(Attribute::Rtcp(Rtcp {
        port: 9,
        connection: Some(Connection::ip("2001:db8::2".parse().unwrap())),
    })));
    let out = sdp.print();
    assert!(out.contains("m=audio 0 RTP/AVP 0\r\n"));
    assert!(out.ends_with("a=rtcp:9 IN IP6 2001:db8::2\r\n"));
    assert_eq!(parse_str(&out), sdp);
}

/// Fuzzer find (issue 11 item 6, `sdp` target): a CR inside a line (here
/// `s=\r\r\n` in an LF description) parsed, then printed as a different
/// description. RFC 8866 §9: no field holds a CR; it is refused.
#[test]
fn rfc8866_s9_a_cr_inside_a_line_is_refused() {
    let input = include_bytes!("../../../tests/vectors/sdp/crash-bare-cr-in-session-name.sdp");
    let e = parse(input).unwrap_err();
    assert_eq!((e.line, e.fault), (3, Fault::BareCr));
    assert!(parse(b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=a\rb\r\nt=0 0\r\n").is_err());
    assert!(parse(b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=ab\r\nt=0 0\r\n").is_ok());
}
