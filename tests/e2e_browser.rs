//! Issue 12, in a real browser: headless Chromium (Debian's `chromium`,
//! driven over the DevTools Protocol) against the switch's WebRTC cores.
//!
//! `chromium_completes_ice_and_dtls_srtp_with_the_switch_transport` is
//! the first browser test of the issue on purpose: it proves that the
//! switch's ICE-lite responder and DTLS 1.2 server (`rtc-dtls`) complete a
//! handshake with a current Chromium (which also speaks DTLS 1.3 and
//! post-quantum key shares), and that the exported SRTP keys carry audio
//! both ways. The UDP loop here is a minimal driver of the same sans-IO
//! cores the media session uses; the answer comes from the switch's SDP
//! layer (`sdp::answer` with the leg's WebRTC credentials).

mod common;

use common::chromium::Chromium;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use switchboard::rtp::srtp::SrtpStream;
use switchboard::sdp;
use switchboard::webrtc::demux::{classify, Datagram};
use switchboard::webrtc::dtls::{DtlsEvent, DtlsIdentity, DtlsRole, DtlsTransport, Fingerprint};
use switchboard::webrtc::ice_lite::{IceCredentials, IceEvent, IceLite};

/// What the switch side saw.
#[derive(Debug, Default)]
struct Seen {
    selected: Option<SocketAddr>,
    dtls: Option<Result<(), String>>,
    rtp_opened: usize,
    rtp_refused: usize,
    payload_types: Vec<u8>,
}

/// Runs ICE-lite, DTLS (server) and SRTP for one leg on `sock` until
/// `stop`; once keyed, sends a 20 ms Opus packet every 20 ms.
fn serve_leg(
    sock: UdpSocket,
    mut ice: IceLite,
    mut dtls: DtlsTransport,
    opus_pt: u8,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
    report: mpsc::Sender<Seen>,
) {
    sock.set_read_timeout(Some(Duration::from_millis(5))).expect("timeout");
    let mut seen = Seen::default();
    let mut srtp: Option<SrtpStream> = None;
    let mut buf = [0u8; 2048];
    let (mut seq, mut ts, mut next_send) = (1u16, 0u32, Instant::now());
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            let d = &buf[..n];
            match classify(d) {
                Datagram::Stun => {
                    if let Some(reply) = ice.handle_stun(now, from, d).reply {
                        let _ = sock.send_to(&reply, from);
                    }
                }
                Datagram::Dtls if ice.is_validated(from) => dtls.handle_datagram(now, d),
                Datagram::Rtp if ice.is_validated(from) => match srtp.as_mut().map(|s| s.unprotect_rtp(d)) {
                    Some(Ok(plain)) => {
                        seen.rtp_opened += 1;
                        opened.fetch_add(1, Ordering::Relaxed);
                        let pt = plain[1] & 0x7f;
                        if !seen.payload_types.contains(&pt) {
                            seen.payload_types.push(pt);
                        }
                    }
                    _ => seen.rtp_refused += 1,
                },
                _ => {}
            }
        }
        while let Some(e) = ice.poll_event() {
            if let IceEvent::Selected(a) = e {
                seen.selected = Some(a);
                dtls.start(now);
            }
        }
        if ice.poll_timeout().is_some_and(|t| t <= now) {
            ice.handle_timeout(now);
        }
        if dtls.poll_timeout().is_some_and(|t| t <= now) {
            dtls.handle_timeout(now);
        }
        while let Some(e) = dtls.poll_event() {
            match e {
                DtlsEvent::Connected(keys) => {
                    srtp = Some(SrtpStream::new(&keys).expect("SRTP from DTLS keys"));
                    seen.dtls = Some(Ok(()));
                }
                DtlsEvent::Failed(err) => seen.dtls = Some(Err(err.to_string())),
                DtlsEvent::Closed => {}
            }
        }
        if let Some(to) = ice.selected() {
            while let Some(d) = dtls.poll_transmit() {
                let _ = sock.send_to(&d, to);
            }
            if let Some(s) = srtp.as_mut().filter(|_| now >= next_send) {
                // An Opus 20 ms SILK frame of silence (TOC 0xf8).
                let mut rtp = vec![
                    0x80, opus_pt, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0xf8, 0xff, 0xfe,
                ];
                rtp[2..4].copy_from_slice(&seq.to_be_bytes());
                rtp[4..8].copy_from_slice(&ts.to_be_bytes());
                let sealed = s.protect_rtp(&rtp).expect("protect");
                let _ = sock.send_to(&sealed, to);
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(960);
                next_send += Duration::from_millis(20);
            }
        }
    }
    let _ = report.send(seen);
}

#[test]
fn chromium_completes_ice_and_dtls_srtp_with_the_switch_sdp_answer_and_transport() {
    let mut browser = Chromium::launch(None, &[]);
    let offer = browser.eval(
        "(async () => {
            const ctx = new AudioContext();
            const osc = ctx.createOscillator();
            const dst = ctx.createMediaStreamDestination();
            osc.connect(dst); osc.start();
            const pc = new RTCPeerConnection({ iceServers: [] });
            window.pc = pc;
            pc.addTrack(dst.stream.getAudioTracks()[0], dst.stream);
            const offer = await pc.createOffer();
            await pc.setLocalDescription(offer);
            return offer.sdp;
        })()",
    );
    let offer = offer.as_str().expect("offer SDP").to_owned();
    assert!(offer.contains("UDP/TLS/RTP/SAVPF"), "a WebRTC offer:\n{offer}");
    let identity = DtlsIdentity::generate().expect("DTLS identity");
    let local = IceCredentials::random(&mut rand::rng());
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let media = sock.local_addr().expect("addr");
    // The switch's SDP layer answers Chromium's offer.
    let mut session = sdp::SessionState::new(1).with_webrtc(sdp::LocalWebrtc {
        ice_ufrag: local.ufrag.clone(),
        ice_pwd: local.pwd.clone(),
        fingerprint: identity.fingerprint().to_string(),
        ssrc: 0x1234_5678,
        offer: false,
    });
    let parsed = sdp::parse(offer.as_bytes()).expect("Chromium's offer parses");
    let answered = sdp::answer(&parsed, &sdp::LegPolicy::default(), media, &mut session).expect("answered");
    let answer = answered.sdp.print();
    let remote = answered.negotiated.webrtc.clone().expect("WebRTC negotiated");
    assert_eq!(answered.negotiated.codec, sdp::Codec::Opus);
    let opus_pt = answered.negotiated.send_pt;
    let remote_fp = Fingerprint::parse(&remote.fingerprints[0]).expect("sha-256 fingerprint");
    let remote_ufrag = remote.ice_ufrag.as_str();
    let role = match remote.setup {
        sdp::DtlsSetup::Passive => DtlsRole::Server,
        sdp::DtlsSetup::Active => DtlsRole::Client,
    };
    assert_eq!(
        role,
        DtlsRole::Server,
        "Chromium offers actpass: the switch answers passive"
    );
    let ice = IceLite::new(local, Some(remote_ufrag.to_owned()));
    let dtls = DtlsTransport::new(&identity, role, vec![remote_fp]).expect("DTLS server");
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let leg = {
        let (stop, opened) = (stop.clone(), opened.clone());
        std::thread::spawn(move || serve_leg(sock, ice, dtls, opus_pt, stop, opened, tx))
    };

    browser.eval(&format!(
        "pc.setRemoteDescription({{ type: 'answer', sdp: {} }}).then(() => true)",
        serde_json::to_string(&answer).expect("quote")
    ));
    let state = browser.wait_for(
        "['connected', 'failed'].includes(pc.connectionState) && pc.connectionState",
        Duration::from_secs(20),
    );
    if state != "connected" {
        browser.fail(&format!("the peer connection ended {state}, not connected"));
    }
    // Chromium decrypts what the switch sends: packets arrive on its
    // inbound-rtp stream (SRTP that fails authentication is not counted).
    let inbound = browser.wait_for_stats_count("inbound-rtp", "packetsReceived", 25, Duration::from_secs(10));
    let transport = browser.eval(
        "(async () => { const s = await pc.getStats(); let t = null; \
           s.forEach(r => { if (r.type === 'transport') t = { tls: r.tlsVersion, dtls: r.dtlsCipher, srtp: r.srtpCipher, state: r.dtlsState }; }); \
           return t; })()",
    );
    // And the switch decrypts what Chromium sends.
    let deadline = Instant::now() + Duration::from_secs(10);
    while opened.load(Ordering::Relaxed) < 25 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let seen = rx.recv_timeout(Duration::from_secs(5)).expect("leg report");
    leg.join().expect("leg thread");
    println!("Chromium transport stats: {transport}; inbound packets {inbound}; switch saw {seen:?}");

    assert_eq!(seen.dtls, Some(Ok(())), "the switch completed DTLS");
    assert_eq!(transport["state"], "connected");
    assert_eq!(transport["tls"], "FEFD", "DTLS 1.2 (0xFEFD) was negotiated");
    assert_eq!(transport["srtp"], "SRTP_AES128_CM_HMAC_SHA1_80");
    assert!(
        seen.selected.is_some_and(|a| a.ip().is_loopback()),
        "ICE selected Chromium's loopback candidate"
    );
    assert!(
        seen.rtp_opened >= 25,
        "the switch decrypted Chromium's SRTP ({} packets)",
        seen.rtp_opened
    );
    assert_eq!(seen.rtp_refused, 0, "every SRTP packet from Chromium authenticated");
    assert_eq!(seen.payload_types, vec![opus_pt], "Chromium sent the Opus we answered");
}

impl Chromium {
    /// Polls `pc.getStats()` until the first report of `kind` has
    /// `field` ≥ `at_least`; returns the value.
    fn wait_for_stats_count(&mut self, kind: &str, field: &str, at_least: u64, timeout: Duration) -> u64 {
        let v = self.eval(&format!(
            "new Promise((resolve, reject) => {{ const t0 = Date.now(); (async function poll() {{ \
               const s = await pc.getStats(); let n = 0; \
               s.forEach(r => {{ if (r.type === '{kind}' && r.kind === 'audio') n = r.{field} || 0; }}); \
               if (n >= {at_least}) return resolve(n); \
               if (Date.now() - t0 > {ms}) return reject(new Error('{kind}.{field} stayed at ' + n)); \
               setTimeout(poll, 100); }})(); }})",
            ms = timeout.as_millis()
        ));
        v.as_u64().unwrap_or(0)
    }
}
