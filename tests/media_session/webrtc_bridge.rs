//! Issue 12 item 2: "A WebRTC leg joins the same media sessions as any
//! other leg", here the conference bridge (issue 9), the silent monitor
//! (SUP-2), hold music (CALL-HOLD-1), the recording (CALL-REC-1) and noise
//! removal (CALL-NOISE-1). A simulated browser (`webrtc.rs`: ICE check, DTLS client, SRTP)
//! keys its leg through the session core in virtual time and then talks
//! with plain G.711 phones. What the browser hears is what it can open:
//! every datagram to it goes to its ICE-checked address, authenticates as
//! SRTP, carries the SSRC the switch's SDP announced and, decoded, holds
//! the other parties' tones and not its own.

use crate::harness::*;
use crate::webrtc::{browser_audio, check, Browser, ICE_PWD};
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard::call::media::{MediaLeg, PartyMode};
use switchboard::dsp::tone::tone_level_dbfs;
use switchboard::media::session::{Peer, SessionCommand, SocketKind};
use switchboard::rtp::RtpHeader;
use switchboard::sdp::CodecKind::{Opus, Pcmu};
use switchboard::webrtc::dtls::DtlsIdentity;

const CALLER_HZ: f64 = 440.0;
const CALLEE_HZ: f64 = 1000.0;
const BROWSER_HZ: f64 = 1700.0;
const PARTY_HZ: f64 = 700.0;
const SUPERVISOR_HZ: f64 = 2500.0;
/// The SSRC the switch's SDP announced to the browser (`a=ssrc`).
const ANNOUNCED: u32 = 0x5EED_0C0F;
const P: Peer = Peer::Leg(MediaLeg::Party(1));
const MON: Peer = Peer::Monitor;

fn browser_addr() -> SocketAddr {
    addr("192.0.2.80:50000")
}

fn party_addr() -> SocketAddr {
    addr("192.0.2.30:40000")
}

/// A session whose WebRTC legs use a fresh switch certificate, and a
/// browser saying `hz` in `codec` that trusts it.
fn session(seed: u64, codec: switchboard::sdp::CodecKind, hz: f64) -> (Sim, Browser) {
    let switch = Arc::new(DtlsIdentity::generate().expect("switch certificate"));
    let sim = Sim::with_dtls(seed, Some(switch.clone()));
    let browser = Browser::new(&switch, Phone::new(browser_addr(), 0xB0B0, codec, hz));
    (sim, browser)
}

fn caller() -> Phone {
    Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ)
}

fn callee() -> Phone {
    Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ)
}

/// `frames` rounds of 20 ms: each browser says a packet (SRTP) on its
/// peer's port, each phone one (plain), then the core runs its deadlines.
fn talk_all(sim: &mut Sim, phones: &mut [(&mut Phone, Peer)], browsers: &mut [(&mut Browser, Peer)], frames: u32) {
    for _ in 0..frames {
        for (browser, peer) in browsers.iter_mut() {
            browser.say(sim, *peer);
        }
        sim.talk(phones, 1);
    }
}

/// Level of `hz` over the last 500 ms of `pcm` (at `rate`).
fn tail_level(pcm: &[i16], rate: u32, hz: f64) -> f64 {
    let tail = &pcm[pcm.len().saturating_sub(rate as usize / 2)..];
    tone_level_dbfs(tail, hz, rate)
}

/// What the plain phone on `peer` heard over the last 25 packets, at `hz`.
fn phone_hears(sim: &mut Sim, peer: Peer, hz: f64) -> f64 {
    let got = sim.take(peer, SocketKind::Rtp);
    assert!(got.len() >= 25, "the phone gets a stream: {}", got.len());
    level(&decode(&got[got.len() - 25..], Pcmu), hz)
}

/// The plain RTP packets form one stream: consecutive sequence numbers.
fn assert_one_stream(packets: &[Vec<u8>], what: &str) {
    for w in packets.windows(2) {
        let (p, q) = (
            RtpHeader::parse(&w[0]).expect("RTP"),
            RtpHeader::parse(&w[1]).expect("RTP"),
        );
        assert_eq!(q.sequence, p.sequence.wrapping_add(1), "{what}: no gap, no repeat");
    }
}

/// Issue 12 item 2 on the conference bridge (CALL-CONF-1), with Opus (the
/// WebRTC normal): a browser joins a call between two G.711 phones as a
/// party leg, keyed through ICE and DTLS by the core. Every packet the
/// bridge makes for it is SRTP to its checked address with its announced
/// SSRC, one stream, in Opus; decoded, it holds both phones' tones and not
/// the browser's own (mix-minus); both phones hear the browser (transcoded
/// to PCMU), each other, and not themselves.
#[test]
fn an_opus_browser_on_the_bridge_hears_both_phones_and_is_heard_but_not_by_itself() {
    let (mut sim, mut browser) = session(21, Opus, BROWSER_HZ);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = (caller(), callee());
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    sim.command(SessionCommand::PartyJoin {
        party: 1,
        leg: browser.leg(30004, ANNOUNCED, g711(Pcmu)),
        mode: PartyMode::Talk,
    });
    browser.connect_talking(&mut sim, P, &mut [(&mut caller, A), (&mut callee, B)]);
    sim.sent.clear();
    talk_all(
        &mut sim,
        &mut [(&mut caller, A), (&mut callee, B)],
        &mut [(&mut browser, P)],
        60,
    );

    assert!(
        sim.take(P, SocketKind::Rtcp).is_empty(),
        "rtcp-mux: nothing on the RTCP port"
    );
    let to_browser = sim.take(P, SocketKind::Rtp);
    assert!(to_browser.len() >= 59, "a packet per tick: {}", to_browser.len());
    let plain = browser.open(&to_browser, ANNOUNCED);
    assert_one_stream(&plain, "to the browser");
    let pcm = browser.play(&plain);
    let rate = browser.rate();
    assert_eq!(rate, 48000);
    assert!(
        tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0,
        "the browser hears the caller"
    );
    assert!(
        tail_level(&pcm, rate, CALLEE_HZ) > TONE_DBFS - 4.0,
        "the browser hears the callee"
    );
    assert!(tail_level(&pcm, rate, BROWSER_HZ) < TONE_DBFS - 40.0, "and not itself");

    let a = sim.take(A, SocketKind::Rtp);
    let pcm = decode(&a[a.len() - 25..], Pcmu);
    assert!(
        level(&pcm, BROWSER_HZ) > TONE_DBFS - 4.0,
        "the caller hears the browser"
    );
    assert!(level(&pcm, CALLEE_HZ) > TONE_DBFS - 4.0, "and the callee");
    assert!(level(&pcm, CALLER_HZ) < TONE_DBFS - 40.0, "not itself");
    assert!(
        phone_hears(&mut sim, B, BROWSER_HZ) > TONE_DBFS - 4.0,
        "the callee hears the browser"
    );
}

/// Issue 12 item 2 with PCMU on the WebRTC leg (RFC 7874) and the browser
/// as a call's own leg (an agent's softphone answering): its relayed SRTP
/// stream moves onto the bridge when a plain phone joins, and back to the
/// relay when it leaves, as one stream (one announced SSRC, consecutive
/// sequence numbers: the browser's SRTP replay window refuses any step
/// back). On the bridge the browser hears the caller and the third party
/// and not itself; both phones hear it.
#[test]
fn a_pcmu_browser_leg_keeps_its_srtp_stream_onto_the_bridge_and_back() {
    let (mut sim, mut browser) = session(22, Pcmu, BROWSER_HZ);
    sim.command(SessionCommand::Plan {
        a: relay_leg(30000, caller_addr(), g711(Pcmu), g711(Pcmu)),
        b: browser.leg(30002, ANNOUNCED, g711(Pcmu)),
    });
    browser.connect(&mut sim, B);
    let mut caller = caller();
    let mut party = Phone::new(party_addr(), 0x3333, Pcmu, PARTY_HZ);
    sim.sent.clear();
    talk_all(&mut sim, &mut [(&mut caller, A)], &mut [(&mut browser, B)], 10);
    let relayed = sim.take(B, SocketKind::Rtp);
    assert_eq!(relayed.len(), 10, "relayed on arrival");
    assert!(sim.core.stats().relayed >= 20, "the relay fast path, both ways");

    sim.command(SessionCommand::PartyJoin {
        party: 1,
        leg: relay_leg(30004, party_addr(), g711(Pcmu), g711(Pcmu)),
        mode: PartyMode::Talk,
    });
    talk_all(
        &mut sim,
        &mut [(&mut caller, A), (&mut party, P)],
        &mut [(&mut browser, B)],
        60,
    );
    let bridged = sim.take(B, SocketKind::Rtp);
    assert!(bridged.len() >= 59, "a packet per tick: {}", bridged.len());
    let plain = browser.open(&[relayed, bridged].concat(), ANNOUNCED);
    assert_one_stream(&plain, "relay, then bridge");
    let pcm = browser.play(&plain);
    let rate = browser.rate();
    assert!(
        tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0,
        "the browser hears the caller"
    );
    assert!(tail_level(&pcm, rate, PARTY_HZ) > TONE_DBFS - 4.0, "and the party");
    assert!(tail_level(&pcm, rate, BROWSER_HZ) < TONE_DBFS - 40.0, "not itself");
    assert!(
        phone_hears(&mut sim, A, BROWSER_HZ) > TONE_DBFS - 4.0,
        "the caller hears the browser"
    );
    assert!(
        phone_hears(&mut sim, P, BROWSER_HZ) > TONE_DBFS - 4.0,
        "so does the party"
    );

    sim.command(SessionCommand::PartyLeave(MediaLeg::Party(1)));
    sim.sent.clear();
    talk_all(&mut sim, &mut [(&mut caller, A)], &mut [(&mut browser, B)], 10);
    let back = sim.take(B, SocketKind::Rtp);
    assert_eq!(back.len(), 10, "relayed again");
    let mut stream = plain;
    let at = stream.len();
    stream.extend(browser.open(&back, ANNOUNCED));
    assert_one_stream(&stream, "relay, bridge, relay");
    let pcm = browser.play(&stream[at..]);
    assert!(tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0, "the caller again");
    assert!(tail_level(&pcm, rate, PARTY_HZ) < TONE_DBFS - 40.0, "the party is gone");
}

/// Issue 12 item 2 with the browser joining the bridge before its ICE and
/// DTLS: while it is unchecked, then checked but not keyed, the bridge
/// runs for the phones (they hear each other) and the core sends the
/// browser only its STUN answer and DTLS records (no RTP, clear or
/// otherwise; no RTCP port), and a clear packet from its address reaches
/// nobody. Once keyed, media flows both ways, the first packet to it
/// already SRTP with the announced SSRC.
#[test]
fn a_browser_that_joins_before_its_dtls_gets_nothing_in_clear_and_media_once_keyed() {
    let (mut sim, mut browser) = session(23, Opus, BROWSER_HZ);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = (caller(), callee());
    sim.command(SessionCommand::PartyJoin {
        party: 1,
        leg: browser.leg(30004, ANNOUNCED, g711(Pcmu)),
        mode: PartyMode::Talk,
    });
    for _ in 0..30 {
        // A browser that has not checked yet sends clear RTP: refused.
        let clear = browser.phone.packet();
        sim.rtp(P, browser_addr(), clear);
        sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 1);
    }
    assert!(
        sim.take(P, SocketKind::Rtp).is_empty(),
        "nothing to an unchecked browser"
    );
    assert!(sim.take(P, SocketKind::Rtcp).is_empty());
    let a = sim.take(A, SocketKind::Rtp);
    let pcm = decode(&a[a.len() - 25..], Pcmu);
    assert!(
        level(&pcm, CALLEE_HZ) > TONE_DBFS - 4.0,
        "the phones talk on the bridge meanwhile"
    );
    assert!(
        level(&pcm, BROWSER_HZ) < TONE_DBFS - 40.0,
        "nothing of the browser's clear RTP"
    );
    assert!(phone_hears(&mut sim, B, BROWSER_HZ) < TONE_DBFS - 40.0);

    // Checked, not yet keyed: a few rounds of bridge ticks with only the
    // ICE answer going out; then the handshake, with the phones talking.
    sim.rtp(P, browser_addr(), check(true, ICE_PWD));
    let answer = sim.take(P, SocketKind::Rtp);
    assert_eq!(answer.len(), 1, "the STUN answer only");
    let dropped = sim.core.stats().dropped;
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 10);
    assert!(
        sim.take(P, SocketKind::Rtp).is_empty(),
        "checked but not keyed: no media"
    );
    assert!(
        sim.core.stats().dropped >= dropped + 10,
        "the bridge's packets for it are dropped"
    );
    browser.connect_talking(&mut sim, P, &mut [(&mut caller, A), (&mut callee, B)]);

    sim.sent.clear();
    talk_all(
        &mut sim,
        &mut [(&mut caller, A), (&mut callee, B)],
        &mut [(&mut browser, P)],
        50,
    );
    let to_browser = sim.take(P, SocketKind::Rtp);
    assert!(to_browser.len() >= 49, "media once keyed: {}", to_browser.len());
    let plain = browser.open(&to_browser, ANNOUNCED);
    assert_one_stream(&plain, "to the browser");
    let pcm = browser.play(&plain);
    let rate = browser.rate();
    assert!(
        tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0,
        "the browser hears the caller"
    );
    assert!(tail_level(&pcm, rate, CALLEE_HZ) > TONE_DBFS - 4.0, "and the callee");
    assert!(tail_level(&pcm, rate, BROWSER_HZ) < TONE_DBFS - 40.0, "not itself");
    assert!(
        phone_hears(&mut sim, A, BROWSER_HZ) > TONE_DBFS - 4.0,
        "the caller hears the browser"
    );
    assert!(phone_hears(&mut sim, B, BROWSER_HZ) > TONE_DBFS - 4.0, "the callee too");
}

/// Issue 12 item 2 in the silent monitor (SUP-2): a supervisor on a
/// WebRTC leg (Opus) monitors a call between two G.711 phones, keying its
/// leg through the monitor's port. Listening, it hears both parties and
/// they never hear it; whispering to the agent (after 3 s of saying
/// nothing, as a muted browser does), it still hears the call and, once
/// it speaks, the agent hears it and the customer does not; back to
/// listening, silent again. Throughout, what it receives is one SRTP
/// stream to its checked address with the SSRC the switch announced, its
/// sequence numbers continuing across the mode changes (the browser's
/// replay window refuses any step back).
#[test]
fn a_webrtc_supervisor_hears_both_phones_is_never_heard_and_whispers_to_the_agent() {
    let (mut sim, mut sup) = session(24, Opus, SUPERVISOR_HZ);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = (caller(), callee());
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    sim.command(SessionCommand::MonitorStart(sup.leg(
        30004,
        ANNOUNCED,
        browser_audio(Opus),
    )));
    sup.connect_talking(&mut sim, MON, &mut [(&mut caller, A), (&mut callee, B)]);
    sim.sent.clear();
    let silenced = sim.core.stats().silenced;
    talk_all(
        &mut sim,
        &mut [(&mut caller, A), (&mut callee, B)],
        &mut [(&mut sup, MON)],
        60,
    );
    let listening = sim.take(MON, SocketKind::Rtp);
    assert!(listening.len() >= 59, "a packet per tick: {}", listening.len());
    let mut stream = sup.open(&listening, ANNOUNCED);
    let pcm = sup.play(&stream);
    let rate = sup.rate();
    assert!(
        tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0,
        "the supervisor hears the customer"
    );
    assert!(tail_level(&pcm, rate, CALLEE_HZ) > TONE_DBFS - 4.0, "and the agent");
    assert!(tail_level(&pcm, rate, SUPERVISOR_HZ) < TONE_DBFS - 40.0);
    assert_eq!(
        sim.core.stats().silenced,
        silenced + 60,
        "every packet it said was opened and silenced"
    );
    assert!(
        phone_hears(&mut sim, A, SUPERVISOR_HZ) < TONE_DBFS - 40.0,
        "the customer never hears it"
    );
    assert!(
        phone_hears(&mut sim, B, SUPERVISOR_HZ) < TONE_DBFS - 40.0,
        "nor does the agent"
    );

    // Whisper to the agent; the browser sends nothing for 3 s (muted),
    // keeping its consent with checks.
    sim.command(SessionCommand::MonitorMode(PartyMode::Whisper { to: MediaLeg::B }));
    for k in 0..150 {
        if k % 25 == 0 {
            sim.rtp(MON, browser_addr(), check(false, ICE_PWD));
            let answers = sim.take(MON, SocketKind::Rtp);
            let (stun, media): (Vec<Sent>, Vec<Sent>) = answers.into_iter().partition(|s| s.bytes[0] <= 3);
            assert_eq!(stun.len(), 1, "consent answered");
            sim.sent.extend(media);
        }
        sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 1);
    }
    let quiet = sim.take(MON, SocketKind::Rtp);
    assert!(
        quiet.len() >= 149,
        "whispering, it still gets a packet per tick: {}",
        quiet.len()
    );
    let opened = sup.open(&quiet, ANNOUNCED);
    let pcm = sup.play(&opened);
    assert!(
        tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0,
        "it hears the customer while muted"
    );
    stream.extend(opened);
    sim.sent.clear();
    talk_all(
        &mut sim,
        &mut [(&mut caller, A), (&mut callee, B)],
        &mut [(&mut sup, MON)],
        60,
    );
    assert!(
        phone_hears(&mut sim, B, SUPERVISOR_HZ) > TONE_DBFS - 4.0,
        "the agent hears the coach"
    );
    assert!(
        phone_hears(&mut sim, A, SUPERVISOR_HZ) < TONE_DBFS - 40.0,
        "the customer does not"
    );
    let whispering = sup.open(&sim.take(MON, SocketKind::Rtp), ANNOUNCED);
    let pcm = sup.play(&whispering);
    assert!(
        tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0,
        "the coach hears the customer"
    );
    stream.extend(whispering);

    // Back to listening.
    sim.command(SessionCommand::MonitorMode(PartyMode::Muted));
    talk_all(
        &mut sim,
        &mut [(&mut caller, A), (&mut callee, B)],
        &mut [(&mut sup, MON)],
        40,
    );
    assert!(
        phone_hears(&mut sim, B, SUPERVISOR_HZ) < TONE_DBFS - 40.0,
        "silent again"
    );
    let again = sup.open(&sim.take(MON, SocketKind::Rtp), ANNOUNCED);
    let pcm = sup.play(&again);
    assert!(
        tail_level(&pcm, rate, CALLEE_HZ) > TONE_DBFS - 4.0,
        "and still listening"
    );
    stream.extend(again);
    assert_one_stream(&stream, "to the supervisor, listen → whisper → listen");
}

/// Issue 12 item 2 in the silent monitor the other way round (SUP-2): a
/// plain-phone supervisor monitors a browser agent (WebRTC, Opus,
/// transcoded with the PCMU customer). It hears the customer and the
/// browser (decrypted and decoded from its SRTP); the browser never hears
/// it, and keeps hearing the customer in one SRTP stream; whispering to
/// the browser, the browser hears the coach and the customer does not.
#[test]
fn a_plain_supervisor_monitors_a_browser_agent_that_never_hears_it_unless_whispered_to() {
    let (mut sim, mut browser) = session(25, Opus, BROWSER_HZ);
    sim.command(SessionCommand::Plan {
        a: relay_leg(30000, caller_addr(), g711(Pcmu), browser_audio(Opus)),
        b: browser.leg(30002, ANNOUNCED, g711(Pcmu)),
    });
    let mut caller = caller();
    browser.connect_talking(&mut sim, B, &mut [(&mut caller, A)]);
    let mut monitor_leg = relay_leg(30004, monitor_addr(), g711(Pcmu), g711(Pcmu));
    monitor_leg.pt_map.clear();
    sim.command(SessionCommand::MonitorStart(monitor_leg));
    let mut sup = Phone::new(monitor_addr(), 0x3333, Pcmu, SUPERVISOR_HZ);
    sim.sent.clear();
    talk_all(
        &mut sim,
        &mut [(&mut caller, A), (&mut sup, MON)],
        &mut [(&mut browser, B)],
        60,
    );
    let heard = sim.take(MON, SocketKind::Rtp);
    assert!(heard.len() >= 55, "a packet per tick: {}", heard.len());
    assert!(heard.iter().all(|s| s.dest == monitor_addr()));
    let pcm = decode(&heard[heard.len() - 25..], Pcmu);
    assert!(
        level(&pcm, CALLER_HZ) > TONE_DBFS - 4.0,
        "the supervisor hears the customer"
    );
    assert!(level(&pcm, BROWSER_HZ) > TONE_DBFS - 4.0, "and the browser agent");
    assert!(level(&pcm, SUPERVISOR_HZ) < TONE_DBFS - 40.0);
    let to_browser = sim.take(B, SocketKind::Rtp);
    assert!(to_browser.len() >= 55, "{}", to_browser.len());
    let mut stream = browser.open(&to_browser, ANNOUNCED);
    let pcm = browser.play(&stream);
    let rate = browser.rate();
    assert!(
        tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0,
        "the browser hears the customer"
    );
    assert!(
        tail_level(&pcm, rate, SUPERVISOR_HZ) < TONE_DBFS - 40.0,
        "never the supervisor"
    );
    assert!(
        phone_hears(&mut sim, A, SUPERVISOR_HZ) < TONE_DBFS - 40.0,
        "nor does the customer"
    );

    sim.command(SessionCommand::MonitorMode(PartyMode::Whisper { to: MediaLeg::B }));
    talk_all(
        &mut sim,
        &mut [(&mut caller, A), (&mut sup, MON)],
        &mut [(&mut browser, B)],
        60,
    );
    let whispered = browser.open(&sim.take(B, SocketKind::Rtp), ANNOUNCED);
    let pcm = browser.play(&whispered);
    assert!(
        tail_level(&pcm, rate, SUPERVISOR_HZ) > TONE_DBFS - 4.0,
        "the browser hears the coach"
    );
    assert!(tail_level(&pcm, rate, CALLER_HZ) > TONE_DBFS - 4.0, "and the customer");
    assert!(
        phone_hears(&mut sim, A, SUPERVISOR_HZ) < TONE_DBFS - 40.0,
        "the customer does not"
    );
    assert!(
        phone_hears(&mut sim, MON, BROWSER_HZ) > TONE_DBFS - 4.0,
        "the coach hears the browser"
    );
    stream.extend(whispered);
    assert_one_stream(&stream, "to the browser, relay → bridge");
}

/// Issue 12 item 2 for hold music (CALL-HOLD-1) and recording (CALL-REC-1):
/// an Opus browser (the caller, leg A, keyed through the core) talks with a
/// G.711 phone. The recording has the browser's tone on the customer side
/// and the phone's on the other. Held, the browser hears music every tick
/// as SRTP in Opus with its announced SSRC, the same stream as before, and
/// nothing of the phone; the phone hears nothing of the browser.
#[test]
fn an_opus_browser_is_recorded_as_the_customer_and_hears_hold_music_as_srtp() {
    use switchboard::call::media::RecordAction;
    use switchboard::config::RecordingLayout;
    use switchboard::media::session::SessionEvent;

    let (mut sim, mut browser) = session(31, Opus, BROWSER_HZ);
    sim.command(SessionCommand::Plan {
        a: browser.leg(30000, ANNOUNCED, g711(Pcmu)),
        b: relay_leg(30002, callee_addr(), g711(Pcmu), browser_audio(Opus)),
    });
    let mut phone = callee();
    browser.connect_talking(&mut sim, A, &mut [(&mut phone, B)]);
    sim.command(SessionCommand::Record(RecordAction::Start {
        name: "browser-call".into(),
        layout: RecordingLayout::Stereo,
    }));
    sim.take_events();
    sim.sent.clear();
    talk_all(&mut sim, &mut [(&mut phone, B)], &mut [(&mut browser, A)], 60);
    let frames: Vec<([i16; 160], [i16; 160])> = sim
        .take_events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::RecordingFrame { customer, other } => Some((customer, other)),
            _ => None,
        })
        .collect();
    assert!(frames.len() >= 55, "a recording frame per tick: {}", frames.len());
    let tail = &frames[frames.len() - 25..];
    let customer: Vec<i16> = tail.iter().flat_map(|f| f.0).collect();
    let other: Vec<i16> = tail.iter().flat_map(|f| f.1).collect();
    assert!(
        level(&customer, BROWSER_HZ) > TONE_DBFS - 4.0,
        "the browser is the customer in the recording"
    );
    assert!(level(&customer, CALLEE_HZ) < TONE_DBFS - 40.0, "the sides are apart");
    assert!(
        level(&other, CALLEE_HZ) > TONE_DBFS - 4.0,
        "the phone on the other side"
    );
    let talking = browser.open(&sim.take(A, SocketKind::Rtp), ANNOUNCED);
    assert_one_stream(&talking, "the browser's stream while talking");
    sim.take(B, SocketKind::Rtp);

    sim.command(SessionCommand::Hold(Some(MediaLeg::A)));
    talk_all(&mut sim, &mut [(&mut phone, B)], &mut [(&mut browser, A)], 60);
    assert!(
        sim.take(B, SocketKind::Rtp).is_empty(),
        "the phone hears nothing of the held browser"
    );
    let music = browser.open(&sim.take(A, SocketKind::Rtp), ANNOUNCED);
    assert!(music.len() >= 55, "music every tick: {}", music.len());
    let mut stream = talking;
    stream.extend(music.iter().cloned());
    assert_one_stream(&stream, "talk then music: one stream");
    let pcm = browser.play(&music);
    let rate = browser.rate();
    assert!(
        tail_level(&pcm, rate, CALLEE_HZ) < TONE_DBFS - 40.0,
        "none of the phone's tone in the music"
    );
    let tail = &pcm[pcm.len() - rate as usize / 2..];
    assert!(
        switchboard::dsp::tone::level_dbfs(tail) > -40.0,
        "the music is audible to the browser"
    );
}

/// What a G.711 phone hears (broadband dBFS, last second) from a PCMU
/// browser sending white noise at −20 dBFS as SRTP, its leg with or
/// without noise removal.
fn heard_from_a_noisy_browser(denoise: bool) -> f64 {
    let (mut sim, mut browser) = session(37, Pcmu, BROWSER_HZ);
    let mut a = browser.leg(30000, ANNOUNCED, g711(Pcmu));
    a.denoise = denoise;
    sim.command(SessionCommand::Plan {
        a,
        b: relay_leg(30002, callee_addr(), g711(Pcmu), g711(Pcmu)),
    });
    let mut phone = callee();
    browser.connect(&mut sim, A);
    for packet in noise_packets(3, 0xB0B1) {
        let sealed = browser
            .srtp
            .as_mut()
            .expect("keyed")
            .protect_rtp(&packet)
            .expect("protect");
        sim.rtp(A, browser.addr(), sealed.to_vec());
        sim.talk(&mut [(&mut phone, B)], 1);
    }
    let got = sim.take(B, SocketKind::Rtp);
    assert!(got.len() >= 50, "the phone gets a stream: {}", got.len());
    switchboard::dsp::tone::level_dbfs(&decode(&got[got.len() - 50..], Pcmu))
}

/// Issue 12 item 2 and CALL-NOISE-1: noise removal works on what a browser
/// says, after its SRTP is opened, as on any leg.
#[test]
fn noise_removal_cleans_what_a_browser_says() {
    let plain = heard_from_a_noisy_browser(false);
    let denoised = heard_from_a_noisy_browser(true);
    println!("white noise from a browser heard by the phone: {plain:.1} dBFS plain, {denoised:.1} dBFS denoised");
    assert!(plain > -26.0, "the browser is heard: {plain:.1} dBFS");
    assert!(
        denoised < plain - 10.0,
        "noise removed from the browser: {denoised:.1} vs {plain:.1} dBFS"
    );
}
