//! WebRTC load generator (issue 12 item 5): holds N calls with WebRTC legs
//! through the anchoring switch and measures the switch's CPU per call and
//! per WebRTC leg, and its DTLS-SRTP handshakes, over real sockets.
//!
//! It plays browsers with the switch's own client-side code (the ICE check
//! of `switchboard::webrtc::check`, the DTLS client of
//! `switchboard::webrtc::dtls`, `SrtpStream`), which Chromium itself was
//! checked against (`tests/e2e_browser.rs`). Two modes:
//!
//! ```text
//! relay:     caller browser (SIP/UDP, WebRTC offer, Opus)
//!              --INVITE 2000--> switch (external 127.0.0.1:5080)
//!              switch --INVITE over WebSocket--> callee browser (user 2000,
//!              registered over ws://127.0.0.1:5066), WebRTC answer, Opus
//!            SRTP both ways on both legs: the switch decrypts, relays and
//!            re-encrypts every packet.
//! transcode: caller browser (as above, Opus only)
//!              --INVITE 9NNNNNNN--> switch --INVITE--> trunk UAS on
//!              127.0.0.1:5090 answering PCMU
//!            the switch decrypts and decodes Opus, encodes PCMU, and back.
//! ```
//!
//! Per call: ICE (a nominating check, answered by the switch's ICE-lite),
//! the DTLS handshake (we are the client: the switch answers `passive` and
//! offers `actpass`), then one packet per leg and direction every 20 ms
//! for the hold, consent checks every 5 s (RFC 7675). Relayed payloads are
//! marked with direction, call and packet number and checked byte for byte
//! on arrival (after SRTP authentication); transcoded ones are checked for
//! the payload type and size. The switch's CPU comes from
//! `/proc/<pid>/stat` at the ends of each phase (connect; hold).
//!
//! Run it through `benches/load/webrtc_load.sh`, which configures the
//! load-test profile (anchoring, a WebSocket listener, user 2000) and
//! passes `--switch-pid`. The last line is the summary (`RESULT: ...`);
//! the exit status is 0 when every call was set up, connected, held
//! without a corrupt packet and torn down.

// Shared with the other load generators; not every item is used by all.
mod browser;
#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod media;

use clap::{Parser, ValueEnum};
use common::procfs::{HoldCost, Snapshot};
use common::rtp::{io, pct_lost, port_of, udp_socket, PAYLOAD};
use common::uac::{CallPlan, CallState, Uac};
use common::uas::{pcmu_answer, uas_loop};
use media::{Expect, LegPlan, Phases, Send, SideConfig, SideStats};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};
use switchboard::dsp::g711::encode_ulaw;
use switchboard::dsp::opus::{OpusConfig, OpusDecoder, OpusEncoder};
use switchboard::dsp::tone::sine;
use switchboard::dsp::SampleRate;
use switchboard::webrtc::dtls::DtlsIdentity;

/// Socket buffers: loopback bursts of one tick.
const SOCKET_BUFFER: usize = 8 << 20;
/// Trunk numbers (transcode mode) are `9` and the call index on 7 digits.
const TRUNK_PREFIX: &str = "9";
/// In relay mode the caller's From user is `8` and the call index: the
/// callee browser tells the calls apart by it.
const FROM_PREFIX: &str = "8";
/// The relayed payload: an 80-byte "Opus frame" (32 kb/s at 20 ms).
const MARKED_LEN: usize = 80;
/// The tones each side sends in transcode mode.
const CALLER_TONE_HZ: f64 = 1000.0;
const CALLEE_TONE_HZ: f64 = 440.0;
const DIR_A_TO_B: u8 = 0xab;
const DIR_B_TO_A: u8 = 0xba;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Browser to browser, Opus relayed (SRTP both ways).
    Relay,
    /// Browser to a G.711 trunk, Opus transcoded to PCMU.
    Transcode,
}

#[derive(Parser, Debug)]
#[command(about = "Holds N calls with WebRTC legs through the switch and measures its CPU")]
struct Args {
    /// relay (browser to browser) or transcode (browser to a PCMU trunk).
    #[arg(long, value_enum, default_value = "relay")]
    mode: Mode,
    /// The switch's external (trunk) profile: the callers' SIP over UDP.
    #[arg(long, default_value = "127.0.0.1:5080")]
    switch: SocketAddr,
    /// The switch's SIP-over-WebSocket listener (relay: the callee browser).
    #[arg(long, default_value = "127.0.0.1:5066")]
    ws: SocketAddr,
    /// The callee browser's user and password (relay).
    #[arg(long, default_value = "2000")]
    user: String,
    #[arg(long, default_value = "load-2000")]
    password: String,
    /// Where the dial plan's trunk sends calls (transcode: we answer there).
    #[arg(long, default_value = "127.0.0.1:5090")]
    uas: SocketAddr,
    /// Concurrent calls.
    #[arg(long, default_value_t = 200)]
    calls: u32,
    /// Seconds of media once every call is connected.
    #[arg(long, default_value_t = 30)]
    hold_s: u64,
    /// Call set-up (and teardown) rate, calls per second.
    #[arg(long, default_value_t = 100)]
    cps: u32,
    /// The switch's process id: its CPU is reported.
    #[arg(long)]
    switch_pid: Option<u32>,
    /// Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Give up on calls not set up (or legs not connected) this long after
    /// the last INVITE (or the first check).
    #[arg(long, default_value_t = 20)]
    setup_timeout_s: u64,
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("webrtc_load: {e}");
            std::process::exit(2);
        }
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let n = args.calls as usize;
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let buf = Some(SOCKET_BUFFER);
    let uac_sip = udp_socket(any_port, buf).map_err(io("bind UAC SIP"))?;
    let rtp_a = udp_socket(any_port, buf).map_err(io("bind caller media"))?;
    let rtp_b = udp_socket(any_port, buf).map_err(io("bind callee media"))?;
    let (rtp_a_port, rtp_b_port) = (port_of(&rtp_a)?, port_of(&rtp_b)?);
    let identity = Arc::new(DtlsIdentity::generate().map_err(|e| format!("browser certificate: {e}"))?);

    // ---- The callee side answers on its own thread for the whole run -------
    let stop_callee = Arc::new(AtomicBool::new(false));
    let (b_tx, b_rx) = mpsc::channel::<(usize, LegPlan)>();
    let callee = match args.mode {
        Mode::Relay => {
            let browser = browser::WsBrowser::register(
                args.ws,
                &args.user,
                &args.password,
                rtp_b_port,
                identity.fingerprint().clone(),
            )?;
            println!("callee browser: user {} registered over ws://{}", args.user, args.ws);
            let stop = stop_callee.clone();
            std::thread::Builder::new()
                .name("callee".into())
                .spawn(move || browser.serve(FROM_PREFIX, &stop, &b_tx))
                .map_err(io("spawn the callee"))?
        }
        Mode::Transcode => {
            let sock = udp_socket(args.uas, buf).map_err(io(format!("bind the trunk UAS {}", args.uas)))?;
            let stop = stop_callee.clone();
            let contact = args.uas;
            std::thread::Builder::new()
                .name("callee".into())
                .spawn(move || {
                    let (tx, rx) = mpsc::channel();
                    let forward = std::thread::spawn(move || {
                        for (idx, remote) in rx {
                            let plan = LegPlan {
                                idx: idx as u32,
                                remote,
                                webrtc: None,
                            };
                            if b_tx.send((idx, plan)).is_err() {
                                break;
                            }
                        }
                    });
                    let stats = uas_loop(&sock, contact, TRUNK_PREFIX, &pcmu_answer(rtp_b_port), &stop, &tx);
                    drop(tx);
                    let _ = forward.join();
                    Ok(stats)
                })
                .map_err(io("spawn the callee"))?
        }
    };

    // ---- Set-up: SIP -----------------------------------------------------------
    let setup_start = Instant::now();
    let plans = (0..n)
        .map(|idx| CallPlan {
            number: match args.mode {
                Mode::Relay => args.user.clone(),
                Mode::Transcode => format!("{TRUNK_PREFIX}{idx:07}"),
            },
            rtp_port: rtp_a_port,
            offer: Some(browser::offer(idx, rtp_a_port, identity.fingerprint())),
            from_user: (args.mode == Mode::Relay).then(|| format!("{FROM_PREFIX}{idx:07}")),
        })
        .collect();
    let mut uac = Uac::new(uac_sip, args.switch, "wl", plans)?;
    let mut b_legs: Vec<Option<LegPlan>> = (0..n).map(|_| None).collect();
    let take_b = |b_legs: &mut Vec<Option<LegPlan>>| {
        for (idx, plan) in b_rx.try_iter() {
            if idx < n {
                b_legs[idx] = Some(plan);
            }
        }
    };
    uac.setup(args.cps, Duration::from_secs(args.setup_timeout_s), |_| {
        take_b(&mut b_legs)
    });
    take_b(&mut b_legs);
    let mut a_plans = Vec::new();
    let mut b_plans = Vec::new();
    let mut not_webrtc = 0;
    for (i, b) in b_legs.into_iter().enumerate() {
        let (CallState::Up { answer, .. }, Some(b)) = (&uac.calls[i], b) else {
            continue;
        };
        match browser::switch_leg(i, answer, &browser::ufrag('c', i)) {
            Some(a) => {
                a_plans.push(a);
                b_plans.push(b);
            }
            None => not_webrtc += 1,
        }
    }
    let live = a_plans.len();
    let (_, failed) = uac.tally();
    println!(
        "set-up ({:?}): {live} of {n} calls up in {:.1} s (failures: {failed:?}; answers without WebRTC: {not_webrtc})",
        args.mode,
        setup_start.elapsed().as_secs_f64()
    );

    // ---- Connect (ICE, DTLS), then hold ------------------------------------------
    let (send_a, expect_a, send_b, expect_b) = match args.mode {
        Mode::Relay => (
            Send::Marked {
                dir: DIR_A_TO_B,
                len: MARKED_LEN,
            },
            Expect::Marked {
                dir: DIR_B_TO_A,
                len: MARKED_LEN,
            },
            Send::Marked {
                dir: DIR_B_TO_A,
                len: MARKED_LEN,
            },
            Expect::Marked {
                dir: DIR_A_TO_B,
                len: MARKED_LEN,
            },
        ),
        Mode::Transcode => (
            Send::Opus(Arc::new(opus_tone()?)),
            Expect::Opus,
            Send::Pcmu(Arc::new(pcmu_tone())),
            Expect::Pcmu,
        ),
    };
    let phases = Arc::new(Phases {
        connected: Barrier::new(3),
        stop: AtomicBool::new(false),
    });
    let connect_timeout = Duration::from_secs(args.setup_timeout_s);
    let spawn_side = |name: &'static str, sock, plans, send, expect| {
        let cfg = SideConfig {
            name,
            identity: identity.clone(),
            send,
            expect,
            connect_timeout,
        };
        let phases = phases.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || media::run_side(sock, plans, cfg, phases))
            .map_err(io("spawn a media side"))
    };
    let before_connect = Snapshot::take(args.switch_pid);
    let side_a = spawn_side("caller", rtp_a, a_plans, send_a, expect_a)?;
    let side_b = spawn_side("callee", rtp_b, b_plans, send_b, expect_b)?;
    phases.connected.wait();
    let connected = Snapshot::take(args.switch_pid);
    uac.sock.set_nonblocking(true).map_err(io("UAC socket"))?;
    let hold_until = Instant::now() + Duration::from_secs(args.hold_s);
    while Instant::now() < hold_until {
        uac.poll_during_hold();
        std::thread::sleep(Duration::from_millis(20));
    }
    let held = Snapshot::take(args.switch_pid);
    phases.stop.store(true, Ordering::Relaxed);
    let a = side_a.join().map_err(|_| "the caller side panicked")?;
    let b = side_b.join().map_err(|_| "the callee side panicked")?;
    uac.sock.set_nonblocking(false).map_err(io("UAC socket"))?;

    // ---- Teardown ----------------------------------------------------------------
    let byes_ok = uac.teardown(args.cps);
    // The switch's BYEs to the callee follow the callers' at once.
    std::thread::sleep(Duration::from_millis(500));
    stop_callee.store(true, Ordering::Relaxed);
    let callee_stats = callee.join().map_err(|_| "the callee thread panicked")??;
    println!(
        "teardown: {byes_ok} of {live} BYEs answered 200; the callee side answered {} INVITEs and {} BYEs",
        callee_stats.invites, callee_stats.byes
    );

    // ---- Report --------------------------------------------------------------------
    let hz = args.clk_tck as f64;
    Ok(report(
        args,
        live,
        &a,
        &b,
        &HoldCost::between(&before_connect, &connected, hz),
        &HoldCost::between(&connected, &held, hz),
    ) && live == n
        && byes_ok == live)
}

/// Prints the figures; whether the media was clean.
fn report(args: &Args, live: usize, a: &SideStats, b: &SideStats, connect: &HoldCost, hold: &HoldCost) -> bool {
    let handshakes = a.keyed + b.keyed;
    let webrtc_legs = a.webrtc_legs + b.webrtc_legs;
    let slowest = a.connect_time.max(b.connect_time).as_secs_f64();
    let connect_cpu = match connect.switch {
        Some(c) if handshakes > 0 => format!(
            "switch CPU {:.3} s = {:.2} ms per leg (ICE check + DTLS handshake as server)",
            c.seconds,
            1e3 * c.seconds / handshakes as f64
        ),
        _ => "switch CPU not measured".into(),
    };
    println!(
        "connect: {handshakes} of {webrtc_legs} WebRTC legs keyed (ICE + DTLS-SRTP) in {slowest:.2} s = {:.0} handshakes/s \
         end to end; failed: caller {:?}, callee {:?}; {connect_cpu}",
        handshakes as f64 / slowest.max(f64::MIN_POSITIVE),
        a.failed,
        b.failed,
    );
    for (name, s) in [("caller", a), ("callee", b)] {
        println!(
            "{name} side: sent {} received {} corrupt {} rtcp {}; consent checks {} answered {}; late ticks {}; legs with no media {}",
            s.sent, s.received, s.corrupt, s.rtcp, s.consent_sent, s.consent_answered, s.late_ticks, s.silent_legs
        );
    }
    let per = match args.mode {
        Mode::Relay => "WebRTC leg (2 per call)",
        Mode::Transcode => "call (1 WebRTC leg + 1 G.711 leg)",
    };
    hold.print(live, "call", "calls");
    let sent = a.sent + b.sent;
    let got = a.received + b.received;
    let cpu = match hold.switch {
        Some(c) if live > 0 => {
            let per_call = c.percent / live as f64;
            let per_leg = match args.mode {
                Mode::Relay => per_call / 2.0,
                Mode::Transcode => per_call,
            };
            let per_packet = match args.mode {
                Mode::Relay if got > 0 => format!("; {:.2} us per relayed packet", 1e6 * c.seconds / got as f64),
                _ => String::new(),
            };
            format!(
                "switch CPU {:.1}% of a core ({:.0}% in the kernel) = {per_call:.4}% per call = {per_leg:.4}% per {per}{per_packet}",
                c.percent,
                100.0 * c.system_percent / c.percent.max(f64::MIN_POSITIVE),
            )
        }
        _ => "switch CPU not measured (no --switch-pid)".into(),
    };
    let corrupt = a.corrupt + b.corrupt;
    let clean = corrupt == 0 && handshakes == webrtc_legs && a.silent_legs + b.silent_legs == 0;
    match args.mode {
        Mode::Relay => {
            println!(
                "RESULT: relay: {live} browser-to-browser calls held {} s, {handshakes} WebRTC legs keyed: {sent} packets \
                 sent, {got} relayed, loss {:.4}% (A->B {:.4}%, B->A {:.4}%), {corrupt} corrupt; {cpu}",
                args.hold_s,
                pct_lost(sent, got),
                pct_lost(a.sent, b.received),
                pct_lost(b.sent, a.received),
            );
            clean
        }
        Mode::Transcode => {
            // The transcoder sends on its own 20 ms clock, so what arrives
            // is compared with the nominal count over the hold and the
            // side's 0.3 s drain, and its content with the tone the other
            // side sent.
            let nominal = (live as f64 * (hold.wall_s + 0.3) * 50.0).max(1.0);
            let heard_by_callee = tone_heard(&b.sample, Expect::Pcmu);
            let heard_by_caller = tone_heard(&a.sample, Expect::Opus);
            println!(
                "RESULT: transcode: {live} browser-to-G.711 calls held {} s, {handshakes} WebRTC legs keyed: Opus->PCMU \
                 {} of {:.0} nominal ({:.2}%), PCMU->Opus {} of {:.0} ({:.2}%), {corrupt} corrupt; tones through \
                 the transcoder: callee hears {}, caller hears {}; {cpu}",
                args.hold_s,
                b.received,
                nominal,
                100.0 * b.received as f64 / nominal,
                a.received,
                nominal,
                100.0 * a.received as f64 / nominal,
                describe(heard_by_callee),
                describe(heard_by_caller),
            );
            clean
                && heard_by_callee.is_some_and(|f| (f - CALLER_TONE_HZ).abs() < 20.0)
                && heard_by_caller.is_some_and(|f| (f - CALLEE_TONE_HZ).abs() < 20.0)
        }
    }
}

fn describe(f: Option<f64>) -> String {
    f.map_or("nothing".into(), |f| format!("{f:.0} Hz"))
}

/// The dominant frequency of a sample of payloads (decoded per `kind`).
fn tone_heard(sample: &[Vec<u8>], kind: Expect) -> Option<f64> {
    let mut pcm = Vec::new();
    let rate = match kind {
        Expect::Pcmu => {
            for p in sample {
                pcm.extend(p.iter().map(|&c| switchboard::dsp::g711::ulaw_to_linear(c)));
            }
            8000
        }
        _ => {
            let mut dec = OpusDecoder::new(SampleRate::Hz48000).ok()?;
            let mut out = vec![0i16; 5760];
            for p in sample {
                let n = dec.decode(p, &mut out).ok()?;
                pcm.extend_from_slice(&out[..n]);
            }
            48_000
        }
    };
    switchboard::dsp::dominant_frequency(&pcm, rate)
}

/// One second of the caller's tone at -12 dBFS as 20 ms Opus frames.
fn opus_tone() -> Result<Vec<Vec<u8>>, String> {
    let mut enc = OpusEncoder::new(SampleRate::Hz48000, OpusConfig::default()).map_err(|e| e.to_string())?;
    let pcm = sine(CALLER_TONE_HZ, -12.0, 48_000, 48_000);
    let mut out = vec![0u8; switchboard::dsp::opus::MAX_PACKET];
    pcm.chunks(960)
        .map(|frame| {
            let len = enc.encode(frame, &mut out).map_err(|e| e.to_string())?;
            Ok(out[..len].to_vec())
        })
        .collect()
}

/// One second of the callee's tone at -12 dBFS as 20 ms PCMU frames.
fn pcmu_tone() -> Vec<Vec<u8>> {
    let pcm = sine(CALLEE_TONE_HZ, -12.0, 8000, 8000);
    pcm.chunks(PAYLOAD)
        .map(|frame| {
            let mut out = vec![0u8; PAYLOAD];
            let _ = encode_ulaw(frame, &mut out);
            out
        })
        .collect()
}
