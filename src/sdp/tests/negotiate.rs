//! Offer/answer for a B2BUA leg (RFC 3264 §5–§8, RFC 3261 §20.43, RFC 4733 §7.1.1).

use std::net::SocketAddr;

use super::crlf;
use super::vectors::*;
use crate::sdp::*;

fn sdp(s: &str) -> Sdp {
    parse(crlf(s).as_bytes()).unwrap()
}

fn local() -> SocketAddr {
    "192.0.2.1:20000".parse().unwrap()
}

fn answer_default(offer: &str) -> (Answer, SessionState) {
    let mut st = SessionState::new(42);
    let a = answer(&sdp(offer), &LegPolicy::default(), local(), &mut st).unwrap();
    (a, st)
}

/// RFC 3264 §6, §6.1: the SIPp offer gets PCMU on the offered number, our own o=/c=/m=, sendrecv.
#[test]
fn rfc3264_s6_answer_sipp_offer() {
    let (a, st) = answer_default(SIPP_UAC);
    let expected = crlf(
        "v=0
o=switchboard 42 1 IN IP4 192.0.2.1
s=switchboard
c=IN IP4 192.0.2.1
t=0 0
m=audio 20000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendrecv
",
    );
    assert_eq!(a.sdp.print(), expected);
    let n = &a.negotiated;
    assert_eq!((n.codec.clone(), n.send_pt, n.recv_pt), (Codec::Pcmu, 0, 0));
    assert_eq!(n.telephone_event, None);
    assert_eq!(n.remote_rtp, Some("127.0.0.1:6000".parse().unwrap()));
    assert_eq!(n.remote_rtcp, Some("127.0.0.1:6001".parse().unwrap()));
    assert_eq!(n.direction, Direction::SendRecv);
    assert!(!a.unchanged);
    assert_eq!(st.version(), 1);
    assert_eq!(st.negotiated(), Some(n));
}

/// RFC 3264 §6.1, RFC 4733 §7.1.1: baresip's offer: our preference (PCMU) wins over its order,
/// telephone-event keeps its number and events, ptime is kept.
#[test]
fn rfc3264_s6_1_answer_baresip_by_preference() {
    let (a, _) = answer_default(BARESIP);
    let m = &a.sdp.media[0];
    assert_eq!(m.formats, vec![Fmt::Pt(0), Fmt::Pt(101)]);
    assert_eq!(m.fmtp(101), Some("0-15"));
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(m.direction(), Some(Direction::SendRecv));
    let te = a.negotiated.telephone_event.clone().unwrap();
    assert_eq!(
        (te.send_pt, te.recv_pt, te.clock_rate, te.events),
        (101, 101, 8000, EventSet::DTMF)
    );
    assert_eq!(a.negotiated.ptime, Some(20));

    // Opus first in the leg's list: the offerer's dynamic number 96 is kept (§6.1).
    let policy = LegPolicy {
        codecs: vec![CodecKind::Opus, CodecKind::Pcmu, CodecKind::TelephoneEvent],
        dtmf_events: EventSet::parse("0-11").unwrap(),
        ..LegPolicy::default()
    };
    let mut st = SessionState::new(7);
    let a = answer(&sdp(BARESIP), &policy, local(), &mut st).unwrap();
    let text = a.sdp.print();
    assert!(text.contains("m=audio 20000 RTP/AVP 96 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\n"));
    assert!(text.contains("a=fmtp:101 0-11\r\n"));
    assert_eq!(a.negotiated.codec, Codec::Opus);
    // No telephone-event/48000 offered: the 8 kHz one is taken.
    assert_eq!(a.negotiated.telephone_event.unwrap().clock_rate, 8000);
}

/// RFC 4568 §7.1.2, RFC 3264 §6: best-effort SRTP over RTP/AVP is answered in the clear
/// (no a=crypto), G.722 is skipped, the offer's unknown attributes are not echoed.
#[test]
fn rfc4568_s7_1_2_polycom_crypto_answered_in_clear() {
    let (a, _) = answer_default(POLYCOM);
    let text = a.sdp.print();
    assert!(text.contains("m=audio 20000 RTP/AVP 0 127\r\n"));
    assert!(!text.contains("crypto") && !text.contains("polycom") && !text.contains("silenceSupp"));
    assert_eq!(a.negotiated.telephone_event.unwrap().send_pt, 127);
    // Session-level sendrecv applies to the stream (RFC 8866 §6.7).
    assert_eq!(a.negotiated.direction, Direction::SendRecv);
}

/// RFC 3264 §6: one answered m= line per offered one; video refused with port 0 keeping its formats;
/// RFC 3605: RTCP goes where a=rtcp says; telephone-event at 48 kHz is accepted next to PCMU.
#[test]
fn rfc3264_s6_answer_audio_and_video() {
    let (a, _) = answer_default(AUDIO_VIDEO);
    assert_eq!(a.sdp.media.len(), 2);
    let v = &a.sdp.media[1];
    assert_eq!(
        (v.kind.clone(), v.port, v.formats.clone()),
        (MediaKind::Video, 0, vec![Fmt::Pt(96), Fmt::Pt(97)])
    );
    assert!(v.lines.is_empty());
    assert!(a.sdp.print().ends_with("m=video 0 RTP/AVP 96 97\r\n"));
    let n = &a.negotiated;
    assert_eq!((n.media_index, n.codec.clone(), n.send_pt), (0, Codec::Pcmu, 0));
    assert_eq!(n.telephone_event.as_ref().unwrap().clock_rate, 48000);
    assert_eq!(n.remote_rtp, Some("198.51.100.5:7078".parse().unwrap()));
    assert_eq!(n.remote_rtcp, Some("198.51.100.5:7079".parse().unwrap()));
}

/// RFC 3264 §6: a stream offered with port 0 is answered with port 0; the live audio stream after it
/// is used; ptime and maxptime are kept (RFC 8866 §6.4, §6.5).
#[test]
fn rfc3264_s6_port_zero_streams_stay_disabled() {
    let (a, _) = answer_default(PORT_ZERO);
    let ports: Vec<u16> = a.sdp.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, vec![0, 20000, 0]);
    assert_eq!(a.sdp.media[2].formats, vec![Fmt::Token("t38".into())]);
    assert_eq!(a.negotiated.media_index, 1);
    assert_eq!(a.negotiated.codec, Codec::Pcma);
    assert_eq!(
        (a.sdp.media[1].ptime(), a.sdp.media[1].maxptime()),
        (Some(30), Some(60))
    );
    assert_eq!(a.negotiated.remote_rtp, Some("203.0.113.9:5004".parse().unwrap()));
}

/// RFC 3264 §6.1, §8.4: hold offers are answered sendonly→recvonly, inactive→inactive,
/// recvonly→sendonly, and `c=0.0.0.0` means the holder does not receive.
#[test]
fn rfc3264_s8_4_hold_offers() {
    let cases = [
        (HOLD_SENDONLY, Direction::SendOnly, Direction::RecvOnly),
        (HOLD_INACTIVE, Direction::Inactive, Direction::Inactive),
        (HOLD_ZERO_ADDR, Direction::SendOnly, Direction::RecvOnly),
        (SIPP_UAC, Direction::SendRecv, Direction::SendRecv),
    ];
    for (offer, remote, ours) in cases {
        let o = sdp(offer);
        assert_eq!(direction_of(&o), remote);
        assert_eq!(is_hold(&o), remote != Direction::SendRecv);
        let (a, _) = answer_default(offer);
        assert_eq!(a.sdp.media[0].direction(), Some(ours));
        assert_eq!(a.negotiated.direction, ours);
    }
    let recvonly = SIPP_UAC.replace("a=rtpmap:0 PCMU/8000\n", "a=rtpmap:0 PCMU/8000\na=recvonly\n");
    let (a, _) = answer_default(&recvonly);
    assert_eq!(a.negotiated.direction, Direction::SendOnly);
    let (a, _) = answer_default(HOLD_ZERO_ADDR);
    assert_eq!(a.negotiated.remote_rtp, None);
    assert_eq!(direction_of(&sdp(PORT_ZERO)), Direction::SendRecv);
    assert_eq!(
        direction_of(&sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 0 RTP/AVP 0\n")),
        Direction::Inactive
    );
}

/// RFC 3264 §8: a remote re-offer with the same o= version is unchanged and our answer keeps its
/// version; a hold re-offer (version +1) changes our answer, whose version goes up by one.
#[test]
fn rfc3264_s8_remote_reoffers() {
    let policy = LegPolicy::default();
    let mut st = SessionState::new(42);
    let first = answer(&sdp(SIPP_UAC), &policy, local(), &mut st).unwrap();
    let again = answer(&sdp(SIPP_UAC), &policy, local(), &mut st).unwrap();
    assert!(again.unchanged);
    assert_eq!(again.sdp, first.sdp);
    assert_eq!(st.version(), 1);
    let hold = answer(&sdp(HOLD_SENDONLY), &policy, local(), &mut st).unwrap();
    assert!(!hold.unchanged);
    assert_eq!(hold.sdp.origin.session_version, 2);
    assert_eq!(hold.sdp.origin.session_id, "42");
}

/// RFC 3261 §20.43, §21.4.26: unacceptable offers give 488 with the matching Warning.
#[test]
fn rfc3261_s20_43_rejections_carry_warnings() {
    let policy = LegPolicy::default();
    let video_only = "v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=video 5000 RTP/AVP 96\n";
    let g729_only = "v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 5000 RTP/AVP 18 9\n";
    let audio_off = "v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 0 RTP/AVP 0\n";
    let cases = [
        (
            video_only,
            Rejection::NoAudio,
            "304 switchboard \"Media type not available\"",
        ),
        (
            audio_off,
            Rejection::NoAudio,
            "304 switchboard \"Media type not available\"",
        ),
        (
            g729_only,
            Rejection::NoCommonCodec,
            "305 switchboard \"Incompatible media format\"",
        ),
        (
            WEBRTC,
            Rejection::IncompatibleTransport,
            "302 switchboard \"Incompatible transport protocol\"",
        ),
    ];
    for (offer, rej, warning) in cases {
        let mut st = SessionState::new(1);
        let err = answer(&sdp(offer), &policy, local(), &mut st).unwrap_err();
        assert_eq!(err, rej);
        assert_eq!(err.status(), 488);
        assert_eq!(err.warning("switchboard"), warning);
        assert_eq!(st, SessionState::new(1), "a rejection leaves the state untouched");
    }
    // Only telephone-event in common is no common audio codec.
    let te_only = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.9\nm=audio 5000 RTP/AVP 18 101\na=rtpmap:101 telephone-event/8000\n";
    let err = answer(&sdp(te_only), &policy, local(), &mut SessionState::new(1)).unwrap_err();
    assert_eq!(err.warn_code(), 305);
}

/// RFC 3264 §5: our first offer lists the preference list on our address; RFC 4733 §7.1.1 events.
#[test]
fn rfc3264_s5_first_offer() {
    let mut st = SessionState::new(9000);
    let o = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    let expected = crlf(
        "v=0
o=switchboard 9000 1 IN IP4 192.0.2.1
s=switchboard
c=IN IP4 192.0.2.1
t=0 0
m=audio 20000 RTP/AVP 0 8 111 101 110
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:111 opus/48000/2
a=fmtp:111 useinbandfec=1
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtpmap:110 telephone-event/48000
a=fmtp:110 0-15
a=ptime:20
a=sendrecv
",
    );
    assert_eq!(o.print(), expected);
    assert_eq!(st.pending_offer(), Some(&o));
    let v6 = offer(
        &LegPolicy::default(),
        "[2001:db8::5]:30000".parse().unwrap(),
        Direction::SendRecv,
        &mut st,
    );
    assert!(v6.print().contains("c=IN IP6 2001:db8::5\r\n"));
}

/// RFC 3264 §7: an answer from the far side sets the send/receive payload types and remote address.
#[test]
fn rfc3264_s7_accept_answer() {
    let mut st = SessionState::new(5);
    offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    let ans = "v=0\no=phone 77 1 IN IP4 198.51.100.20\ns=-\nc=IN IP4 198.51.100.20\nt=0 0\n\
m=audio 40000 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-11\na=ptime:30\n";
    let n = accept_answer(&sdp(ans), &mut st).unwrap();
    assert_eq!((n.codec.clone(), n.send_pt, n.recv_pt), (Codec::Pcma, 8, 8));
    let te = n.telephone_event.clone().unwrap();
    assert_eq!(
        (te.send_pt, te.recv_pt, te.events.to_string()),
        (101, 101, "0-11".to_string())
    );
    assert_eq!(n.ptime, Some(30));
    assert_eq!(n.direction, Direction::SendRecv);
    assert_eq!(n.remote_rtp, Some("198.51.100.20:40000".parse().unwrap()));
    assert_eq!(st.pending_offer(), None);
    assert_eq!(accept_answer(&sdp(ans), &mut st), Err(AnswerError::NoPendingOffer));
}

/// RFC 3264 §6.1: the answerer may number an offered codec differently; we send with its number
/// and receive with ours.
#[test]
fn rfc3264_s6_1_answer_with_other_payload_numbers() {
    let mut st = SessionState::new(5);
    offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    let ans = "v=0\no=- 1 1 IN IP4 198.51.100.20\ns=-\nc=IN IP4 198.51.100.20\nt=0 0\n\
m=audio 40000 RTP/AVP 96 100\na=rtpmap:96 opus/48000/2\na=rtpmap:100 telephone-event/8000\n";
    let n = accept_answer(&sdp(ans), &mut st).unwrap();
    assert_eq!((n.codec.clone(), n.send_pt, n.recv_pt), (Codec::Opus, 96, 111));
    let te = n.telephone_event.unwrap();
    assert_eq!((te.send_pt, te.recv_pt, te.events), (100, 101, EventSet::DTMF));
}

/// RFC 3264 §6, §6.1, §7: invalid answers are refused and leave the offer pending.
#[test]
fn rfc3264_s7_invalid_answers() {
    let head = "v=0\no=- 1 1 IN IP4 198.51.100.20\ns=-\nc=IN IP4 198.51.100.20\nt=0 0\n";
    let cases = [
        (
            format!("{head}m=audio 4000 RTP/AVP 18\n"),
            AnswerError::UnofferedFormat { index: 0, pt: 18 },
        ),
        (
            format!("{head}m=audio 4000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n"),
            AnswerError::MediaCount {
                offered: 1,
                answered: 2,
            },
        ),
        (
            format!("{head}m=video 4000 RTP/AVP 0\n"),
            AnswerError::MediaKind { index: 0 },
        ),
        (format!("{head}m=audio 0 RTP/AVP 0\n"), AnswerError::AudioRejected),
        (
            format!("{head}m=audio 4000 RTP/AVP 101\na=rtpmap:101 telephone-event/8000\n"),
            AnswerError::NoCommonCodec,
        ),
        (
            format!("{head}m=audio 4000 RTP/AVP 0\na=sendrecv\n"),
            AnswerError::Direction {
                offered: Direction::SendOnly,
                answered: Direction::SendRecv,
            },
        ),
    ];
    for (ans, err) in cases {
        let mut st = SessionState::new(5);
        let dir = if matches!(err, AnswerError::Direction { .. }) {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        offer(&LegPolicy::default(), local(), dir, &mut st);
        assert_eq!(accept_answer(&sdp(&ans), &mut st), Err(err), "{ans}");
        assert!(st.pending_offer().is_some());
    }
}

/// RFC 3264 §8, §8.4: hold and resume re-offers keep the o= id, bump the version, flip the
/// direction; an identical re-offer (session refresh) keeps the version.
#[test]
fn rfc3264_s8_hold_and_resume_reoffers() {
    let policy = LegPolicy::default();
    let mut st = SessionState::new(31337);
    let first = offer(&policy, local(), Direction::SendRecv, &mut st);
    let answer_for = |dir: &str| {
        sdp(&format!(
            "v=0\no=p 1 1 IN IP4 198.51.100.20\ns=-\nc=IN IP4 198.51.100.20\nt=0 0\nm=audio 4000 RTP/AVP 0\na={dir}\n"
        ))
    };
    accept_answer(&answer_for("sendrecv"), &mut st).unwrap();

    let hold = offer(&policy, local(), Direction::SendOnly, &mut st);
    assert_eq!(hold.origin.session_id, first.origin.session_id);
    assert_eq!(hold.origin.session_version, first.origin.session_version + 1);
    assert_eq!(hold.media[0].direction(), Some(Direction::SendOnly));
    assert_eq!(st.local_direction(), Direction::SendOnly);
    let n = accept_answer(&answer_for("recvonly"), &mut st).unwrap();
    assert_eq!(n.direction, Direction::SendOnly);

    // While we hold, a remote re-offer of sendrecv is answered sendonly (RFC 3264 §6.1).
    let a = answer(&sdp(SIPP_UAC), &policy, local(), &mut st).unwrap();
    assert_eq!(a.negotiated.direction, Direction::SendOnly);

    let inactive = offer(&policy, local(), Direction::Inactive, &mut st);
    assert_eq!(inactive.media[0].direction(), Some(Direction::Inactive));
    accept_answer(&answer_for("inactive"), &mut st).unwrap();

    let resume = offer(&policy, local(), Direction::SendRecv, &mut st);
    assert_eq!(resume.media[0].direction(), Some(Direction::SendRecv));
    assert!(resume.origin.session_version > inactive.origin.session_version);
    accept_answer(&answer_for("sendrecv"), &mut st).unwrap();

    let refresh = offer(&policy, local(), Direction::SendRecv, &mut st);
    assert_eq!(refresh.origin.session_version, resume.origin.session_version);
    assert_eq!(refresh, resume);
}

/// RFC 3264 §8: a rejected re-offer leaves the old session; our direction goes back.
#[test]
fn rfc3264_s8_cancelled_reoffer_restores_direction() {
    let mut st = SessionState::new(1);
    offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    st.cancel_offer();
    offer(&LegPolicy::default(), local(), Direction::Inactive, &mut st);
    assert_eq!(st.local_direction(), Direction::Inactive);
    st.cancel_offer();
    assert_eq!(st.local_direction(), Direction::SendRecv);
    assert_eq!(st.pending_offer(), None);
}

/// RFC 3264 §8: after answering an offer with three m= lines, our re-offer keeps all three in
/// order, only the negotiated audio stream live.
#[test]
fn rfc3264_s8_reoffer_keeps_m_lines() {
    let policy = LegPolicy::default();
    let mut st = SessionState::new(8);
    answer(&sdp(PORT_ZERO), &policy, local(), &mut st).unwrap();
    let re = offer(&policy, local(), Direction::SendOnly, &mut st);
    let ports: Vec<u16> = re.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, vec![0, 20000, 0]);
    assert_eq!(re.media[2].kind, MediaKind::Image);
    assert_eq!(re.origin.session_version, 2);
    let ans = "v=0\no=gw 100 8 IN IP4 203.0.113.9\ns=-\nc=IN IP4 203.0.113.9\nt=0 0\n\
m=audio 0 RTP/AVP 0\nm=audio 5004 RTP/AVP 8\na=recvonly\nm=image 0 udptl t38\n";
    let n = accept_answer(&sdp(ans), &mut st).unwrap();
    assert_eq!((n.media_index, n.codec), (1, Codec::Pcma));
}

/// RFC 4733 §2.1 / RFC 7160: an answer choosing Opus and listing both
/// telephone-event rates negotiates the one on Opus's 48 kHz clock.
#[test]
fn rfc4733_events_follow_the_codec_clock() {
    let mut st = SessionState::new(9000);
    let _offer = offer(
        &LegPolicy::default(),
        "192.0.2.1:20000".parse().unwrap(),
        Direction::SendRecv,
        &mut st,
    );
    let answer = crate::sdp::parse(
        crlf(
            "v=0
o=- 1 1 IN IP4 192.0.2.9
s=-
c=IN IP4 192.0.2.9
t=0 0
m=audio 30000 RTP/AVP 111 101 110
a=rtpmap:111 opus/48000/2
a=rtpmap:101 telephone-event/8000
a=rtpmap:110 telephone-event/48000
",
        )
        .as_bytes(),
    )
    .unwrap();
    let n = accept_answer(&answer, &mut st).unwrap();
    let te = n.telephone_event.expect("events");
    assert_eq!((te.send_pt, te.clock_rate), (110, 48_000));
}
