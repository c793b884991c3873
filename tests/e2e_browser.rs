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
//!
//! `chromium_and_a_g711_phone_hear_each_other_through_the_switch` runs the
//! real switch: Chromium's offer reaches it in an INVITE (sent by the Rust
//! test UA until SIP over WebSocket lands), the switch answers WebRTC,
//! anchors the media (ICE-lite, DTLS-SRTP, Opus) and transcodes to the PCMU
//! phone; the page's analyser hears the phone's 440 Hz and the phone hears
//! the browser's 1 kHz.

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

/// A G.711 phone's voice: a `hz` tone (silence for 0) in PCMU packets
/// every 20 ms from `sock` to `dest`, until stopped (at most 20 s).
struct Talker {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Talker {
    fn start(sock: &UdpSocket, dest: SocketAddr, hz: f64, ssrc: u32) -> Talker {
        use switchboard::dsp::g711;
        use switchboard::dsp::tone::ToneGenerator;
        let sock = sock.try_clone().expect("clone");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut tone = ToneGenerator::sine(hz.max(1.0), -12.0, 8000);
            let (mut seq, mut ts) = (1u16, 0u32);
            let start = Instant::now();
            while !flag.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(20) {
                let mut pcm = [0i16; 160];
                if hz > 0.0 {
                    tone.fill(&mut pcm);
                }
                let mut payload = [0u8; 160];
                g711::encode_ulaw(&pcm, &mut payload).expect("encode");
                let _ = sock.send_to(&common::media::rtp_packet(false, 0, seq, ts, ssrc, &payload), dest);
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Talker { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("talker");
    }
}

/// At least `samples` of the PCMU audio (PT 0) the phone receives, decoded.
fn hear_pcmu(sock: &UdpSocket, samples: usize) -> Vec<i16> {
    sock.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
    let (mut pcm, mut buf) = (Vec::new(), [0u8; 2048]);
    while pcm.len() < samples {
        let (n, _) = sock.recv_from(&mut buf).expect("RTP from the switch");
        if n > 12 && buf[1] & 0x7f == 0 {
            let mut frame = vec![0i16; n - 12];
            switchboard::dsp::g711::decode_ulaw(&buf[12..n], &mut frame).expect("PCMU");
            pcm.extend_from_slice(&frame);
        }
    }
    pcm
}

/// Page script: a 1 kHz oscillator as the microphone, a peer connection,
/// and an analyser on what arrives (`window.heardHz()` gives the dominant
/// frequency of the remote audio, 0 when silent). The remote stream also
/// plays in a muted `<audio>`: Chromium feeds WebAudio from a remote
/// WebRTC track only while an element plays it.
const PAGE_PEER: &str = "(async () => {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = 1000;
    const dst = ctx.createMediaStreamDestination();
    osc.connect(dst); osc.start();
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.pc = pc;
    pc.addTrack(dst.stream.getAudioTracks()[0], dst.stream);
    pc.ontrack = (e) => {
        const stream = e.streams[0] || new MediaStream([e.track]);
        const el = new Audio(); el.srcObject = stream; el.muted = true; el.play();
        const src = ctx.createMediaStreamSource(stream);
        const an = ctx.createAnalyser(); an.fftSize = 4096;
        src.connect(an);
        window.heardHz = () => {
            const d = new Float32Array(an.frequencyBinCount);
            an.getFloatFrequencyData(d);
            let m = 1;
            for (let i = 2; i < d.length; i++) if (d[i] > d[m]) m = i;
            return d[m] > -75 ? m * ctx.sampleRate / an.fftSize : 0;
        };
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return offer.sdp;
})()";

#[test]
fn chromium_and_a_g711_phone_hear_each_other_through_the_switch() {
    use common::media::{ack_2xx, authorized_invite, next_final, next_request, rtp_rtcp_sockets, sdp_rtp, AudioSdp};
    use common::ua::{self, Ua};
    use switchboard::dsp::tone::tone_level_dbfs;
    use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

    let sw = common::Switch::start();
    let mut browser = Chromium::launch(None, &[]);
    let offer = browser.eval(PAGE_PEER).as_str().expect("offer").to_owned();

    // The phone, extension 1001, PCMU only.
    let mut callee = Ua::udp(sw.internal_addr());
    assert_eq!(callee.register("1001", "demo-1001"), StatusCode::OK);
    let (phone_rtp, _phone_rtcp) = rtp_rtcp_sockets();
    // The browser's call, signalled by a test UA as 1002 with Chromium's SDP.
    let mut caller = Ua::udp(sw.internal_addr());
    let mut invite = caller.invite("1002", "1001");
    invite.body = bytes::Bytes::from(offer.clone());
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);
    let b_invite = next_request(&mut callee, Method::INVITE);
    let b_offer = String::from_utf8_lossy(&b_invite.body).to_string();
    assert!(
        b_offer.contains("RTP/AVP"),
        "the phone is offered plain RTP:\n{b_offer}"
    );
    let b_media = sdp_rtp(&b_invite.body);
    let mut ok = Message::response_to(&b_invite, StatusCode::OK, None, Some("phone1"));
    ok.headers
        .push(HeaderName::Contact, format!("<{}>", callee.contact_uri("1001")));
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    let port = phone_rtp.local_addr().expect("addr").port();
    ok.body = bytes::Bytes::from(AudioSdp::pcmu().body("callee", 7, port, "sendrecv"));
    callee.send(&ok);
    let a_ok = next_final(&mut caller);
    assert_eq!(ua::code(&a_ok), 200, "{}", ua::text(&a_ok));
    ack_2xx(&mut caller, &invite, &a_ok);
    next_request(&mut callee, Method::ACK);
    let answer = String::from_utf8_lossy(&a_ok.body).to_string();
    for needed in [
        "UDP/TLS/RTP/SAVPF",
        "a=ice-lite",
        "a=setup:passive",
        "a=rtcp-mux",
        "opus/48000/2",
    ] {
        assert!(answer.contains(needed), "{needed} in the switch's answer:\n{answer}");
    }

    browser.eval(&format!(
        "pc.setRemoteDescription({{ type: 'answer', sdp: {} }}).then(() => true)",
        serde_json::to_string(&answer).expect("quote")
    ));
    let state = browser.wait_for(
        "['connected', 'failed'].includes(pc.connectionState) && pc.connectionState",
        Duration::from_secs(20),
    );
    if state != "connected" {
        browser.fail(&format!(
            "the browser's connection to the switch ended {state}:\n{answer}"
        ));
    }

    // The phone says 440 Hz; meanwhile it records what it hears.
    let talker = Talker::start(&phone_rtp, b_media, 440.0, 0x1001);
    let heard = browser.wait_for(
        "window.heardHz && Math.abs(window.heardHz() - 440) < 25 && window.heardHz()",
        Duration::from_secs(10),
    );
    // What the phone hears: Chromium's 1 kHz, transcoded from Opus to PCMU.
    let pcm = hear_pcmu(&phone_rtp, 8000 * 2);
    talker.stop();
    let tail = &pcm[pcm.len() - 8000..];
    let at_1k = tone_level_dbfs(tail, 1000.0, 8000);
    let at_440 = tone_level_dbfs(tail, 440.0, 8000);
    println!("browser heard {heard} Hz; phone hears 1 kHz at {at_1k:.1} dBFS (440 Hz at {at_440:.1})");
    assert!(at_1k > -30.0, "the phone hears the browser's 1 kHz ({at_1k:.1} dBFS)");
    assert!(at_1k > at_440 + 20.0, "and not its own tone echoed");

    let cseq = invite.envelope().expect("envelope").cseq.seq + 1;
    let bye = common::media::caller_in_dialog(&mut caller, Method::BYE, &invite, &a_ok, cseq);
    let r = caller.transact(&bye, Duration::from_secs(3)).expect("BYE answered");
    assert_eq!(ua::code(&r), 200, "{}", ua::text(&r));
    let b_bye = next_request(&mut callee, Method::BYE);
    callee.reply(&b_bye, StatusCode::OK, None);
}

/// The default config with `ws` and `wss` listeners on the internal
/// profile at free ports and a self-signed certificate for `wss`.
fn websocket_config() -> (common::ConfigDir, SocketAddr, SocketAddr) {
    let cfg = common::ConfigDir::from_default();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("cert");
    std::fs::write(cfg.path().join("sip.pem"), ck.cert.pem()).expect("cert");
    std::fs::write(cfg.path().join("sip.key"), ck.signing_key.serialize_pem()).expect("key");
    let ws = SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    let wss = SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    cfg.patch(
        "internal.toml",
        "transports = [\"udp\", \"tcp\"]",
        &format!(
            "transports = [\"udp\", \"tcp\", \"ws\", \"wss\"]\nws_listen = [\"{ws}\"]\nwss_listen = [\"{wss}\"]\n\
             tls_certificate = \"sip.pem\"\ntls_key = \"sip.key\""
        ),
    );
    (cfg, ws, wss)
}

/// A 16-bit mono WAV of a `hz` sine (Chromium's fake microphone), in
/// 250 ms bursts with 250 ms gaps: a steady tone is what Chromium's noise
/// suppression learns as background noise and removes after a few seconds
/// (then Opus DTX sends silence), bursts are kept like speech.
fn tone_wav(dir: &std::path::Path, hz: f64) -> std::path::PathBuf {
    let path = dir.join(format!("tone-{hz}.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("wav");
    for i in 0..48_000 * 30 {
        let on = (i / 12_000) % 2 == 0;
        let v = if on {
            (2.0 * std::f64::consts::PI * hz * f64::from(i) / 48_000.0).sin() * 8000.0
        } else {
            0.0
        };
        w.write_sample(v as i16).expect("sample");
    }
    w.finalize().expect("wav");
    path
}

#[test]
fn jssip_softphone_registers_over_wss_and_answers_a_g711_phone_with_audio_both_ways() {
    use common::media::{
        ack_2xx, authorized_invite, caller_in_dialog, next_final, rtp_rtcp_sockets, sdp_rtp, AudioSdp,
    };
    use common::ua::{self, Ua};
    use switchboard::dsp::tone::tone_level_dbfs;
    use switchboard::sip::msg::Method;

    let (cfg, _ws, wss) = websocket_config();
    let sw = common::Switch::start_with(Some(cfg.path()), &[]);
    let wav = tone_wav(cfg.path(), 1000.0);
    let mut browser = Chromium::launch(Some(&wav), &["--ignore-certificate-errors"]);
    let api = sw.api_addr();
    browser.open(&format!(
        "http://{api}/softphone/?server=wss://127.0.0.1:{port}&user=1001&password=demo-1001&autoanswer=1",
        port = wss.port()
    ));
    let registered = browser.wait_for(
        "window.testState && (window.testState.registered || window.testState.registrationError) && JSON.stringify(window.testState.registrationError || 'ok')",
        Duration::from_secs(20),
    );
    if registered != "\"ok\"" {
        browser.fail(&format!("the softphone did not register over WSS: {registered}"));
    }

    // A G.711 phone (1002, the Rust test UA over UDP) calls the browser.
    let (phone_rtp, _phone_rtcp) = rtp_rtcp_sockets();
    let mut caller = Ua::udp(sw.internal_addr());
    let mut invite = caller.invite("1002", "1001");
    let port = phone_rtp.local_addr().expect("addr").port();
    invite.body = bytes::Bytes::from(AudioSdp::pcmu().body("caller", 1, port, "sendrecv"));
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);
    let ok = next_final(&mut caller);
    if ua::code(&ok) != 200 {
        browser.fail(&format!("the browser did not answer: {}", ua::text(&ok)));
    }
    ack_2xx(&mut caller, &invite, &ok);
    let switch_media = sdp_rtp(&ok.body);
    let confirmed = browser.wait_for("window.testState.callState === 'confirmed'", Duration::from_secs(10));
    assert_eq!(confirmed, true);

    // The phone says 440 Hz; the browser's microphone plays 1 kHz.
    let talker = Talker::start(&phone_rtp, switch_media, 440.0, 0x1002);
    let heard = browser.wait_for(
        "window.testState.remoteToneHz !== null && Math.abs(window.testState.remoteToneHz - 440) < 25 && window.testState.remoteToneHz",
        Duration::from_secs(10),
    );
    let pcm = hear_pcmu(&phone_rtp, 8000 * 3);
    talker.stop();
    let tail = &pcm[pcm.len() - 8000..];
    let (at_1k, at_440) = (tone_level_dbfs(tail, 1000.0, 8000), tone_level_dbfs(tail, 440.0, 8000));
    // Chromium processes the microphone (gain control, noise
    // suppression): -12 to -34 dBFS measured from the -12 dBFS bursts.
    println!("softphone heard {heard} Hz; the phone hears 1 kHz at {at_1k:.1} dBFS (440 Hz at {at_440:.1})");
    assert!(
        at_1k > -45.0,
        "the phone hears the softphone's microphone ({at_1k:.1} dBFS)"
    );
    assert!(at_1k > at_440 + 20.0, "not its own tone echoed");

    // The phone hangs up; the page sees the call end.
    let cseq = invite.envelope().expect("envelope").cseq.seq + 1;
    let bye = caller_in_dialog(&mut caller, Method::BYE, &invite, &ok, cseq);
    let r = caller.transact(&bye, Duration::from_secs(3)).expect("BYE answered");
    assert_eq!(ua::code(&r), 200, "{}", ua::text(&r));
    browser.wait_for("window.testState.callState === 'ended'", Duration::from_secs(10));
}

/// Opens the softphone in `browser` as `user` on the switch's wss listener.
fn softphone(browser: &mut Chromium, api: SocketAddr, wss: SocketAddr, user: &str, extra: &str) {
    browser.open(&format!(
        "http://{api}/softphone/?server=wss://127.0.0.1:{port}&user={user}&password=demo-{user}{extra}",
        port = wss.port()
    ));
    let r = browser.wait_for(
        "window.testState && (window.testState.registered || window.testState.registrationError) && JSON.stringify(window.testState.registrationError || 'ok')",
        Duration::from_secs(20),
    );
    if r != "\"ok\"" {
        browser.fail(&format!("softphone {user} did not register over WSS: {r}"));
    }
}

#[test]
fn two_jssip_softphones_talk_with_opus_relayed_by_the_switch() {
    let (cfg, _ws, wss) = websocket_config();
    let sw = common::Switch::start_with(Some(cfg.path()), &[]);
    let (low, high) = (tone_wav(cfg.path(), 600.0), tone_wav(cfg.path(), 1200.0));
    let api = sw.api_addr();
    let mut callee = Chromium::launch(Some(&low), &["--ignore-certificate-errors"]);
    softphone(&mut callee, api, wss, "1001", "&autoanswer=1");
    let mut caller = Chromium::launch(Some(&high), &["--ignore-certificate-errors"]);
    softphone(&mut caller, api, wss, "1002", "&call=1001");
    for b in [&mut caller, &mut callee] {
        let up = b.wait_for(
            "['confirmed', 'failed', 'ended'].includes(window.testState.callState) && window.testState.callState",
            Duration::from_secs(15),
        );
        if up != "confirmed" {
            b.fail(&format!("the browser-to-browser call ended {up}"));
        }
    }
    let at_callee = callee.wait_for(
        "Math.abs((window.testState.remoteToneHz || 0) - 1200) < 30 && window.testState.remoteToneHz",
        Duration::from_secs(10),
    );
    let at_caller = caller.wait_for(
        "Math.abs((window.testState.remoteToneHz || 0) - 600) < 30 && window.testState.remoteToneHz",
        Duration::from_secs(10),
    );
    println!("1001 hears {at_callee} Hz, 1002 hears {at_caller} Hz");
    caller.eval("window.softphone.hangup(), true");
    callee.wait_for("window.testState.callState === 'ended'", Duration::from_secs(10));
    let log = sw.log();
    assert!(
        log.contains("caller_media=WebRTC DTLS-SRTP callee_media=WebRTC DTLS-SRTP caller_codec=opus callee_codec=opus"),
        "both legs WebRTC with Opus, so the switch relays without transcoding:\n{log}"
    );
}

#[test]
fn a_jssip_softphone_calls_a_phone_holds_restarts_ice_and_sends_rfc4733_dtmf() {
    use common::media::{next_request, sdp_rtp, AudioSdp};
    use common::ua::Ua;
    use switchboard::dsp::g711;
    use switchboard::dsp::tone::tone_level_dbfs;
    use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

    let (cfg, _ws, wss) = websocket_config();
    let sw = common::Switch::start_with(Some(cfg.path()), &[]);
    let wav = tone_wav(cfg.path(), 1000.0);
    // The phone, 1002, answers PCMU with telephone-event/8000 on 101.
    let mut phone = Ua::udp(sw.internal_addr());
    assert_eq!(phone.register("1002", "demo-1002"), StatusCode::OK);
    let (phone_rtp, _phone_rtcp) = common::media::rtp_rtcp_sockets();
    let mut browser = Chromium::launch(Some(&wav), &["--ignore-certificate-errors"]);
    softphone(&mut browser, sw.api_addr(), wss, "1001", "&call=1002");
    let invite = next_request(&mut phone, Method::INVITE);
    let switch_media = sdp_rtp(&invite.body);
    let mut ok = Message::response_to(&invite, StatusCode::OK, None, Some("phone2"));
    ok.headers
        .push(HeaderName::Contact, format!("<{}>", phone.contact_uri("1002")));
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    let port = phone_rtp.local_addr().expect("addr").port();
    ok.body = bytes::Bytes::from(AudioSdp::pcmu_events(101).body("phone", 3, port, "sendrecv"));
    phone.send(&ok);
    next_request(&mut phone, Method::ACK);
    browser.wait_for("window.testState.callState === 'confirmed'", Duration::from_secs(10));

    // Reads `secs` of what the switch sends the phone: PCM of the audio and
    // the RFC 4733 events (PT 101) seen.
    let listen = |secs: u32| -> (Vec<i16>, Vec<u8>) {
        phone_rtp
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let (mut pcm, mut events, mut buf) = (Vec::new(), Vec::new(), [0u8; 2048]);
        let until = Instant::now() + Duration::from_secs(u64::from(secs));
        while Instant::now() < until {
            let Ok((n, _)) = phone_rtp.recv_from(&mut buf) else {
                break;
            };
            match buf[1] & 0x7f {
                0 if n > 12 => {
                    let mut frame = vec![0i16; n - 12];
                    g711::decode_ulaw(&buf[12..n], &mut frame).expect("PCMU");
                    pcm.extend_from_slice(&frame);
                }
                101 if n >= 16 && !events.contains(&buf[12]) => events.push(buf[12]),
                _ => {}
            }
        }
        (pcm, events)
    };
    // The phone keeps its latch open by sending too (silence).
    let talker = Talker::start(&phone_rtp, switch_media, 0.0, 0x1002);
    let (talking, _) = listen(2);
    let talk_1k = tone_level_dbfs(&talking[talking.len().saturating_sub(8000)..], 1000.0, 8000);
    assert!(talk_1k > -45.0, "the phone hears the browser ({talk_1k:.1} dBFS)");

    // Hold from the browser: a re-INVITE reaches the switch, the phone
    // hears music on hold instead of the browser (CALL-HOLD-1).
    browser.eval("window.softphone.hold(), true");
    browser.wait_for("window.testState.callState === 'held'", Duration::from_secs(10));
    let (held, _) = listen(2);
    let tail = &held[held.len().saturating_sub(8000)..];
    let held_1k = tone_level_dbfs(tail, 1000.0, 8000);
    let energy = tail.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / tail.len().max(1) as f64;
    assert!(
        held_1k < talk_1k - 20.0,
        "on hold the browser is not heard ({held_1k:.1} dBFS)"
    );
    assert!(
        energy > 1000.0,
        "the phone hears music on hold, not silence (mean square {energy:.0})"
    );
    browser.eval("window.softphone.unhold(), true");
    browser.wait_for("window.testState.callState === 'confirmed'", Duration::from_secs(10));
    let (resumed, _) = listen(3);
    let back_1k = tone_level_dbfs(&resumed[resumed.len().saturating_sub(8000)..], 1000.0, 8000);
    let per_half: Vec<String> = resumed
        .chunks(4000)
        .map(|c| format!("{:.0}", tone_level_dbfs(c, 1000.0, 8000)))
        .collect();
    println!("1 kHz at the phone: talking {talk_1k:.1}, held {held_1k:.1}, resumed {back_1k:.1} dBFS (per 0.5 s: {per_half:?})");
    // Chromium's gain control settles a few dB lower after the hold.
    assert!(
        back_1k > -45.0 && back_1k > held_1k + 40.0,
        "resumed: the browser is heard again ({back_1k:.1} dBFS)"
    );

    // ICE restart from the browser (what it does when a network change
    // fails its connection): the switch answers with new ICE credentials
    // and keeps the DTLS association, and the phone goes on hearing it.
    let ufrag_before = browser.eval("window.testState.remoteIceUfrag");
    assert!(ufrag_before.is_string(), "the page read the switch's ice-ufrag");
    let pair_before = browser.eval("window.testState.selectedPair && window.testState.selectedPair.id");
    assert!(pair_before.is_string(), "Chromium selected a candidate pair");
    browser.eval("window.softphone.restartIce(), true");
    browser.wait_for("window.testState.iceRestarts === 1", Duration::from_secs(10));
    // The restart gathers new candidates: media moves to a new pair only
    // once the switch answered checks made with its new credentials.
    browser.wait_for(
        &format!(
            "(p => p !== null && p.id !== {pair_before} && p.state === 'succeeded')(window.testState.selectedPair)"
        ),
        Duration::from_secs(10),
    );
    let ufrag_after = browser.eval("window.testState.remoteIceUfrag");
    assert!(
        ufrag_after.is_string() && ufrag_after != ufrag_before,
        "new switch credentials after the restart: {ufrag_before} then {ufrag_after}"
    );
    let (restarted, _) = listen(2);
    let restarted_1k = tone_level_dbfs(&restarted[restarted.len().saturating_sub(8000)..], 1000.0, 8000);
    assert!(
        restarted_1k > -45.0,
        "after the ICE restart the phone still hears the browser ({restarted_1k:.1} dBFS)"
    );
    assert_eq!(
        browser.eval("window.testState.callState"),
        "confirmed",
        "the call goes on"
    );

    // DTMF from the browser as RFC 4733 events, translated to the phone's
    // telephone-event/8000 on 101.
    browser.eval("window.softphone.dtmf('159'), true");
    let (_, events) = listen(3);
    talker.stop();
    assert_eq!(events, vec![1, 5, 9], "the phone gets the keys as RFC 4733 events");
    let sent = browser.eval("window.testState.dtmfSent");
    assert_eq!(sent, "159");
    browser.eval("window.softphone.hangup(), true");
    let bye = next_request(&mut phone, Method::BYE);
    phone.reply(&bye, StatusCode::OK, None);
}
