//! The hand-made vectors that seed the fuzz targets (`fuzz/seed.sh`) are
//! what their names say: RTP packets and RTCP datagrams that parse (RFC 3550
//! §5.1, §6.4), RFC 4733 §2.3 payloads, JSON bodies, configuration files
//! that load or fail as intended, and WebSocket frames carrying SIP and
//! upgrade requests (RFC 6455, RFC 7118). A vector that silently stopped being valid
//! would seed the fuzzer with noise.

use std::fs;
use std::path::{Path, PathBuf};
use switchboard::config::{embedded_sources, load_from_sources_with_env};
use switchboard::rtp::packet::{is_rtcp, RtpHeader};
use switchboard::rtp::rtcp::parse_reports;
use switchboard::rtp::TelephoneEvent;
use switchboard::sdp::{self, LegPolicy, LocalSrtp, Rejection, SessionState, SrtpPolicy};

fn vectors(dir: &str, ext: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(dir);
    let mut out: Vec<PathBuf> = fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no *.{ext} in {}", d.display());
    out
}

fn name(p: &Path) -> String {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_owned()
}

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// SDP vectors (SRTP offers, RFC 4568; a Chromium WebRTC offer, issue 12):
/// each parses, and an `optional` leg answers it as its name says.
#[test]
fn sdp_vectors_are_answered_as_named() {
    for p in vectors("sdp", "sdp") {
        let (n, bytes) = (name(&p), read(&p));
        if n.starts_with("crash-") {
            // Fuzzer finds (issue 11 item 6): refused with a typed error.
            assert!(sdp::parse(&bytes).is_err(), "{n}");
            continue;
        }
        let offer = sdp::parse(&bytes).unwrap_or_else(|e| panic!("{n}: {e}"));
        let mut state = SessionState::new(1).with_srtp(LocalSrtp {
            policy: SrtpPolicy::Optional,
            key: Some(switchboard::rtp::srtp::MasterKey::new([9; 30])),
        });
        let local = "192.0.2.1:20000".parse().expect("address");
        let answer = sdp::answer(&offer, &LegPolicy::default(), local, &mut state);
        match n.as_str() {
            "savp-no-usable-key.sdp" => assert_eq!(answer.unwrap_err(), Rejection::NoUsableCrypto, "{n}"),
            "chromium-156-offer.sdp" => {
                // Without WebRTC credentials the leg refuses DTLS-SRTP; with them it answers.
                assert_eq!(answer.unwrap_err(), Rejection::IncompatibleTransport, "{n}");
                let mut state = SessionState::new(1).with_webrtc(switchboard::sdp::LocalWebrtc {
                    ice_ufrag: "abcd".into(),
                    ice_pwd: "abcdefghijklmnopqrstuvwx".into(),
                    fingerprint: "sha-256 00:11".into(),
                    ssrc: 1,
                    offer: false,
                });
                let a = sdp::answer(&offer, &LegPolicy::default(), local, &mut state).expect("answered");
                assert!(a.negotiated.webrtc.is_some() && a.negotiated.srtp.is_none(), "{n}");
            }
            _ => assert!(
                answer.unwrap_or_else(|e| panic!("{n}: {e}")).negotiated.srtp.is_some(),
                "{n}"
            ),
        }
    }
}

#[test]
fn rtp_vectors_parse() {
    for p in vectors("rtp", "bin") {
        let (n, bytes) = (name(&p), read(&p));
        // Streams are checked below; `crash-` files are fuzzer finds (raw
        // target inputs), replayed by their regression tests.
        if n.starts_with("stream-") || n.starts_with("crash-") {
            continue;
        }
        match n.as_str() {
            "too-short.bin" => assert!(RtpHeader::parse(&bytes).is_err(), "{n}"),
            "muxed-rtcp-rr.bin" => assert!(is_rtcp(&bytes) && parse_reports(&bytes).is_ok(), "{n}"),
            _ => {
                let h = RtpHeader::parse(&bytes).unwrap_or_else(|e| panic!("{n}: {e}"));
                assert!(!is_rtcp(&bytes), "{n}");
                assert!(h.payload_len() > 0, "{n}");
            }
        }
    }
}

/// Stream vectors: a selector, then `gap, len, packet` records that fill
/// the file exactly, every packet RTP or RTCP as the record says.
#[test]
fn rtp_stream_vectors_are_whole_records() {
    for p in vectors("rtp", "bin")
        .into_iter()
        .filter(|p| name(p).starts_with("stream-"))
    {
        let (n, bytes) = (name(&p), read(&p));
        let mut rest = &bytes[1..];
        let mut count = 0;
        while let [gap, len, tail @ ..] = rest {
            let len = *len as usize;
            assert!(tail.len() >= len, "{n}: record {count} runs past the end");
            let pkt = &tail[..len];
            if gap & 0x80 == 0 {
                if gap & 2 == 0 {
                    assert!(RtpHeader::parse(pkt).is_ok(), "{n}: record {count} is not RTP");
                } else {
                    assert!(parse_reports(pkt).is_ok(), "{n}: record {count} is not RTCP");
                }
            }
            rest = &tail[len..];
            count += 1;
        }
        assert!(
            rest.is_empty() && count >= 3,
            "{n}: {count} records, {} octets left",
            rest.len()
        );
    }
}

#[test]
fn rtcp_vectors_hold_reports() {
    for p in vectors("rtcp", "bin") {
        let (n, bytes) = (name(&p), read(&p));
        assert!(is_rtcp(&bytes), "{n}");
        if n.starts_with("rejected-") {
            // Valid RTCP that rtc-rtcp refuses: the datagram is ignored.
            assert!(parse_reports(&bytes).is_err(), "{n} is accepted now: rename it");
            continue;
        }
        let reports = parse_reports(&bytes).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert!(!reports.is_empty(), "{n}");
    }
}

#[test]
fn rfc4733_vectors_are_events() {
    for p in vectors("rfc4733", "bin") {
        let (n, bytes) = (name(&p), read(&p));
        if n.starts_with("event-seq-") {
            assert_eq!((bytes.len() - 1) % 6, 0, "{n}: selector then 6-octet records");
            continue;
        }
        let ev = TelephoneEvent::parse(&bytes).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(ev.to_bytes()[..], bytes[..4], "{n}");
    }
}

#[test]
fn api_vectors_are_json_unless_named_otherwise() {
    for p in vectors("api", "json") {
        let (n, bytes) = (name(&p), read(&p));
        let ok = serde_json::from_slice::<serde_json::Value>(&bytes).is_ok();
        let broken = matches!(n.as_str(), "blank.json" | "truncated.json" | "trailing.json");
        assert_eq!(ok, !broken, "{n}");
    }
}

/// `config/<file>--<what>.toml` replaces `<file>.toml` of the embedded
/// defaults: `dialplan--rewrites` and `entrypoints--flows` load, every other
/// one fails with errors located in it.
#[test]
fn config_vectors_load_or_fail_as_named() {
    const LOADS: [&str; 2] = ["dialplan--rewrites.toml", "entrypoints--flows.toml"];
    let env = |k: &str| k.starts_with("SB_").then(|| "secret".to_string());
    for p in vectors("config", "toml") {
        let n = name(&p);
        let base = format!("{}.toml", n.split("--").next().unwrap_or(""));
        let text = String::from_utf8(read(&p)).unwrap_or_else(|e| panic!("{n}: {e}"));
        let mut sources: Vec<(&str, &str)> = embedded_sources().to_vec();
        let fake = format!("fuzz/{base}");
        let slot = sources
            .iter()
            .position(|(f, _)| f.ends_with(&format!("/{base}")))
            .unwrap_or_else(|| panic!("{n}: no embedded {base}"));
        sources[slot] = (&fake, &text);
        match load_from_sources_with_env(&sources, &env) {
            Ok(_) => assert!(LOADS.contains(&n.as_str()), "{n} loaded"),
            Err(e) => {
                assert!(!LOADS.contains(&n.as_str()), "{e}");
                assert!(e.errors().iter().any(|x| x.file == fake && x.line > 0), "{n}: {e}");
            }
        }
    }
}

/// Reads the vector's bytes, discards what is written back.
struct Peer(std::io::Cursor<Vec<u8>>);

impl std::io::Read for Peer {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::io::Read::read(&mut self.0, buf)
    }
}

impl std::io::Write for Peer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `ws/frames-*.bin` (selector 0, then client frames) hold at least one
/// data message, each a SIP message that parses as the switch parses it
/// (RFC 7118 §5.1); `ws/handshake-*.bin` (selector 3) are upgrade requests
/// a WebSocket server accepts, offering the `sip` subprotocol with an
/// `Origin`.
#[test]
fn websocket_vectors_carry_sip_and_upgrade_to_sip() {
    use switchboard::sip::msg::{parse_datagram, Limits};
    use tungstenite::protocol::{Role, WebSocket};
    for p in vectors("ws", "bin") {
        let n = name(&p);
        let data = read(&p);
        let (selector, rest) = data.split_first().unwrap_or_else(|| panic!("{n}: empty"));
        let peer = Peer(std::io::Cursor::new(rest.to_vec()));
        if n.starts_with("frames-") {
            assert_eq!(*selector, 0, "{n}");
            let mut ws = WebSocket::from_raw_socket(peer, Role::Server, None);
            let mut sip = 0;
            while let Ok(m) = ws.read() {
                if m.is_text() || m.is_binary() {
                    let bytes = m.into_data();
                    parse_datagram(bytes, &Limits::default()).unwrap_or_else(|e| panic!("{n}: {}", e.error));
                    sip += 1;
                }
            }
            assert!(sip > 0, "{n}: no SIP message");
        } else {
            assert_eq!(*selector, 3, "{n}");
            let mut offered = (None, None);
            // tungstenite's callback signature: its error is the HTTP answer.
            #[allow(clippy::result_large_err)]
            let cb = |req: &tungstenite::handshake::server::Request, resp| {
                let h = |k: &str| req.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
                offered = (h("Sec-WebSocket-Protocol"), h("Origin"));
                Ok(resp)
            };
            assert!(tungstenite::accept_hdr(peer, cb).is_ok(), "{n}: not an upgrade request");
            assert_eq!(offered.0.as_deref(), Some("sip"), "{n}");
            assert!(offered.1.is_some(), "{n}");
        }
    }
}

/// WebRTC fuzz seeds (issue 12): behind their selector octet, STUN checks
/// and a DTLS ClientHello as RFC 7983 sorts them, and an exchange of
/// `len, bytes` records.
#[test]
fn webrtc_vectors_are_stun_and_dtls_as_named() {
    use switchboard::webrtc::demux::{classify, Datagram};
    for p in vectors("webrtc", "bin") {
        let n = name(&p);
        let data = read(&p);
        let (selector, rest) = data.split_first().unwrap_or_else(|| panic!("{n}: empty"));
        if n.starts_with("exchange-") {
            assert_eq!(*selector, 1, "{n}");
            let mut kinds = Vec::new();
            let mut rest = rest;
            while let Some((&len, tail)) = rest.split_first() {
                let (d, more) = tail.split_at(usize::from(len));
                kinds.push(classify(d));
                rest = more;
            }
            assert_eq!(kinds, vec![Datagram::Stun, Datagram::Dtls], "{n}");
        } else {
            assert_eq!(*selector, 0, "{n}");
            let want = if n.starts_with("stun-") {
                Datagram::Stun
            } else {
                Datagram::Dtls
            };
            assert_eq!(classify(rest), want, "{n}");
        }
    }
}
