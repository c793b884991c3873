//! End-to-end media anchoring (issue 3 items 1 and 2, with `[media]
//! anchor = true`): both legs' SDP point at the switch, with ports from its
//! range; G.711 RTP sent by the caller reaches the callee through the switch
//! with every payload byte intact, one continuous rewritten SSRC and
//! consecutive sequence numbers, and back; a third party cannot inject into
//! a latched leg; an offer with no acceptable codec gets 488 with a Warning;
//! hold by re-INVITE (`sendonly`) plays the hold music to the held party in
//! the same continuous stream, and resume relays again with no gap; the
//! packets relayed and dropped show in `/metrics`.

mod common;

use bytes::Bytes;
use common::media::{ack_2xx, answered_call, authorized_invite, rtp_socket, AudioSdp, Call, CallSpec};
use common::ua::{self, Ua};
use common::Switch;
use std::net::UdpSocket;
use std::time::Duration;
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

const PACKETS: u16 = 50;

fn anchored_switch() -> Switch {
    // Anchoring is the default.
    Switch::start()
}

fn rtp_packet(seq: u16, ts: u32, ssrc: u32, pt: u8) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..160u16).map(|i| (i as u8) ^ (seq as u8)));
    p
}

/// Receives for at most 1.5 s, or until 300 ms pass without a packet;
/// returns (seq, ssrc, pt, payload) per packet.
fn drain(sock: &UdpSocket) -> Vec<(u16, u32, u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    let deadline = std::time::Instant::now() + Duration::from_millis(1500);
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    while std::time::Instant::now() < deadline {
        let Ok((n, _)) = sock.recv_from(&mut buf) else { break };
        let p = &buf[..n];
        out.push((
            u16::from_be_bytes([p[2], p[3]]),
            u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
            p[1] & 0x7f,
            p[12..].to_vec(),
        ));
    }
    out
}

fn assert_relayed(got: &[(u16, u32, u8, Vec<u8>)], sent_ssrc: u32) {
    let seqs: Vec<u16> = got.iter().map(|p| p.0).collect();
    assert_eq!(got.len(), usize::from(PACKETS), "every packet arrives once: {seqs:?}");
    let ssrc = got[0].1;
    assert_ne!(ssrc, sent_ssrc, "the switch sends its own SSRC");
    for (i, (seq, s, pt, payload)) in got.iter().enumerate() {
        assert_eq!(*s, ssrc, "one continuous stream");
        assert_eq!(*pt, 0, "PCMU");
        assert_eq!(seq.wrapping_sub(got[0].0), i as u16, "consecutive sequence numbers");
        let expected: Vec<u8> = (0..160u16).map(|k| (k as u8) ^ (i as u8)).collect();
        assert_eq!(payload, &expected, "payload bytes intact");
    }
}

fn send_rtp(from: &UdpSocket, to: std::net::SocketAddr, ssrc: u32, first_seq: u16) {
    for i in 0..PACKETS {
        let seq = first_seq.wrapping_add(i);
        from.send_to(&rtp_packet(seq, u32::from(seq) * 160, ssrc, 0), to)
            .expect("send");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn anchored_call_relays_rtp_both_ways() {
    let sw = anchored_switch();
    let c = answered_call(&sw, &CallSpec::default());
    // Caller → switch → callee.
    send_rtp(&c.caller_rtp, c.a_media, 0x1111, 0);
    assert_relayed(&drain(&c.callee_rtp), 0x1111);
    // A third party (another socket) cannot inject into the latched leg.
    let rogue = rtp_socket();
    for i in 0..5u16 {
        rogue
            .send_to(&rtp_packet(1000 + i, 0, 0x6666, 0), c.a_media)
            .expect("send");
    }
    assert!(
        drain(&c.callee_rtp).is_empty(),
        "a rogue source is dropped once the leg is latched"
    );
    // Callee → switch → caller.
    send_rtp(&c.callee_rtp, c.b_media, 0x2222, 0);
    assert_relayed(&drain(&c.caller_rtp), 0x2222);
    // `/metrics` (issue 13 item 4): the session adds what it relayed and
    // dropped to the switch's totals within a few seconds (at its RTCP
    // deadlines), while the call goes on.
    let want = 2 * u64::from(PACKETS);
    metrics_until(&sw, "relayed (all both ways), dropped (the rogue's 5)", |m| {
        m("relayed") == Some(want) && m("dropped") >= Some(5)
    });
    // Lost and late: the caller skips three sequence numbers and sends two
    // packets swapped; the totals show 3 lost and 1 late.
    let mut seqs: Vec<u16> = (PACKETS + 3..PACKETS + 13).collect();
    seqs.swap(4, 5);
    for seq in seqs {
        c.caller_rtp
            .send_to(&rtp_packet(seq, u32::from(seq) * 160, 0x1111, 0), c.a_media)
            .expect("send");
        std::thread::sleep(Duration::from_millis(2));
    }
    metrics_until(&sw, "3 lost, 1 late", |m| (m("lost"), m("late")) == (Some(3), Some(1)));
}

/// Polls `/metrics` until `done` holds of its `switchboard_media_packets_<name>_total`
/// values (sessions publish them every few seconds), or fails after 20 s
/// naming `what` and showing the last scrape.
fn metrics_until(sw: &Switch, what: &str, done: impl Fn(&dyn Fn(&str) -> Option<u64>) -> bool) {
    let until = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let body = common::desk::admin_http(sw.api_addr(), "GET", "/metrics", None).text();
        let value = |name: &str| {
            let prefix = format!("switchboard_media_packets_{name}_total ");
            body.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str())?.trim().parse::<u64>().ok())
        };
        if done(&value) {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "/metrics never showed {what}:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// An in-dialog re-INVITE from the caller with `direction` (RFC 3264 §8.4).
fn reinvite(c: &mut Call, direction: &str) -> Message {
    let mut m = c.caller_request(Method::INVITE);
    m.headers.push(HeaderName::ContentType, "application/sdp");
    let port = c.caller_rtp.local_addr().expect("addr").port();
    m.body = Bytes::from(AudioSdp::pcmu().body("caller", c.cseq, port, direction));
    let ok = c.caller.transact(&m, ua::TIMEOUT).expect("the re-INVITE is answered");
    assert_eq!(ua::code(&ok), 200, "{}", ua::text(&ok));
    ack_2xx(&mut c.caller, &m, &ok);
    ok
}

/// Issue 3 item 4 (hold and music on hold): the caller holds (re-INVITE
/// `sendonly`, answered `recvonly` by the switch itself, not relayed); the
/// callee then hears the hold music — PCMU packets at 20 ms with audible
/// content — in the same stream (same SSRC, sequence numbers going on) and
/// nothing of the caller's audio; after resume (`sendrecv`) the caller's
/// audio flows again, still in that one stream.
#[test]
fn hold_plays_music_to_the_held_party_and_resume_is_seamless() {
    let sw = anchored_switch();
    let mut c = answered_call(&sw, &CallSpec::default());
    send_rtp(&c.caller_rtp, c.a_media, 0x1111, 0);
    let before = drain(&c.callee_rtp);
    assert_relayed(&before, 0x1111);
    let (last_seq, ssrc) = (before[before.len() - 1].0, before[0].1);

    let held = reinvite(&mut c, "sendonly");
    assert!(
        String::from_utf8_lossy(&held.body).contains("a=recvonly"),
        "{}",
        ua::text(&held)
    );
    // The callee's side sees no re-INVITE: the switch answered it.
    assert!(
        c.callee.recv(Duration::from_millis(300)).is_none(),
        "nothing relayed to the callee"
    );
    // The caller keeps talking while holding; the callee must not hear it.
    send_rtp(&c.caller_rtp, c.a_media, 0x1111, 1000);
    let music = drain(&c.callee_rtp);
    assert!(
        music.len() >= 20,
        "music packets arrive every 20 ms, got {}",
        music.len()
    );
    assert!(music.iter().all(|p| p.1 == ssrc && p.2 == 0), "same SSRC, PCMU");
    assert_eq!(music[0].0, last_seq.wrapping_add(1), "the stream goes on without a gap");
    for w in music.windows(2) {
        assert_eq!(w[1].0, w[0].0.wrapping_add(1), "consecutive sequence numbers");
    }
    let caller_pattern: Vec<u8> = (0..160u16).map(|k| (k as u8) ^ (1000u16 as u8)).collect();
    assert!(
        music.iter().all(|p| p.3 != caller_pattern),
        "none of the caller's audio"
    );
    let pcm: Vec<i16> = music
        .iter()
        .flat_map(|p| p.3.iter().map(|b| switchboard::dsp::g711::ulaw_to_linear(*b)))
        .collect();
    let level = switchboard::dsp::tone::level_dbfs(&pcm);
    assert!(level > -40.0, "the music is audible: {level:.1} dBFS");

    let resumed = reinvite(&mut c, "sendrecv");
    assert!(
        String::from_utf8_lossy(&resumed.body).contains("a=sendrecv"),
        "{}",
        ua::text(&resumed)
    );
    let _ = drain(&c.callee_rtp); // music still in flight
    send_rtp(&c.caller_rtp, c.a_media, 0x1111, 2000);
    let after = drain(&c.callee_rtp);
    assert_eq!(after.len(), usize::from(PACKETS), "the caller is heard again");
    assert!(after.iter().all(|p| p.1 == ssrc), "still one stream");
}

/// RFC 3264 §6 / RFC 3261 §21.4.26: an offer with no codec the switch
/// accepts is refused with 488 and a Warning naming the reason.
#[test]
fn anchored_offer_without_common_codec_gets_488() {
    let sw = anchored_switch();
    let mut callee = Ua::udp(sw.internal_addr());
    assert_eq!(callee.register("1001", "demo-1001"), StatusCode::OK);
    let mut caller = Ua::udp(sw.internal_addr());
    let mut invite = caller.invite("1002", "1001");
    let body = String::from_utf8_lossy(&invite.body)
        .replace("RTP/AVP 0 101", "RTP/AVP 3")
        .replace(
            "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
            "a=rtpmap:3 GSM/8000\r\n",
        );
    invite.body = Bytes::from(body);
    let invite = authorized_invite(&mut caller, &invite);
    let resp = caller.transact(&invite, ua::TIMEOUT).expect("a final response");
    assert_eq!(ua::code(&resp), 488, "{}", ua::text(&resp));
    let warning = ua::header(&resp, "Warning").expect("a Warning header");
    assert!(warning.starts_with("305 switchboard"), "{warning}");
}
