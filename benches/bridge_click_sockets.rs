//! Added mouth-to-ear latency through the conference bridge over real
//! sockets (issue 9 "Benchmarks": "measured with a click through the
//! switch: at most one 20 ms frame beyond the jitter buffer").
//!
//! Unlike `benches/bridge_latency.rs` (the sans-IO bridge in virtual time),
//! this goes through the switch's media plane as it runs: the media
//! workers (tokio), a meet-me room's session task, its sockets, the session
//! core and the bridge, on 127.0.0.1. Two "phones" are UDP sockets of this
//! process, parties of one room (the media commands the engine sends for a
//! meet-me room). The talker sends 20 ms G.711 packets paced by the clock,
//! each silent but one click (a full-scale sample at a known offset) after
//! a second of warm-up; the listener timestamps every packet as it arrives
//! and finds the click in it. Added latency = (arrival of the listener's
//! packet plus the click's offset in it) − (the moment the talker's packet
//! was sent),
//! so a relay that forwards a packet as it arrives adds 0. Each click gets
//! a room of its own whose talker starts 0.5, 1.5, ... 19.5 ms after the
//! room's bridge started ticking, so the clicks sweep every phase against
//! the 20 ms tick; the worst is reported, and what is left
//! beyond the jitter buffer's 40 ms minimum delay (on loopback it stays at
//! its minimum). Run with `cargo bench --bench bridge_click_sockets`.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use switchboard::call::media::{LegAudio, MediaCommand, PartyMode, RelayLeg};
use switchboard::dsp::g711;
use switchboard::media::MediaWorkers;
use switchboard::rtp::packet::{write_packet, RtpFields};
use switchboard::rtp::RtpHeader;
use switchboard::sdp::CodecKind;

const FRAME: Duration = Duration::from_millis(20);
/// Packets before the click: the jitter buffer settles first.
const WARM_UP: u32 = 50;
/// Clicks measured, one per room: 20 phases, twice.
const CLICKS: u32 = 40;
/// The jitter buffer's minimum delay (`media::pipeline`).
const JITTER_MIN: Duration = Duration::from_millis(40);
/// Where the click sits in its packet (samples).
const CLICK_AT: usize = 40;

fn pcmu() -> LegAudio {
    LegAudio {
        codec: CodecKind::Pcmu,
        clock_rate: 8000,
        recv_pt: 0,
        send_pt: 0,
        event_recv_pt: None,
        event_send_pt: None,
        event_clock_rate: None,
    }
}

fn free_port() -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").expect("a free port");
    s.local_addr().expect("its address")
}

fn packet(seq: u16, click: bool) -> Vec<u8> {
    let mut pcm = [0i16; 160];
    if click {
        pcm[CLICK_AT] = 30_000;
    }
    let mut payload = [0u8; 160];
    let _ = g711::encode_ulaw(&pcm, &mut payload);
    let mut out = vec![0u8; 12 + 160];
    let fields = RtpFields {
        marker: seq == 0,
        payload_type: 0,
        sequence: seq,
        timestamp: u32::from(seq).wrapping_mul(160),
        ssrc: 0x5151,
    };
    let n = write_packet(&mut out, &fields, &payload).expect("fits");
    out.truncate(n);
    out
}

fn join(media: &MediaWorkers, room: u64, party: usize, local: SocketAddr, phone: SocketAddr) {
    media
        .send(MediaCommand::RoomPrepare { room, party, local })
        .expect("room socket");
    media
        .send(MediaCommand::PartyJoin {
            call: room,
            party,
            leg: Box::new(RelayLeg {
                local,
                remote: Some(phone),
                remote_rtcp: None,
                audio: pcmu(),
                pt_map: Vec::new(),
                denoise: false,
                srtp: None,
                webrtc: None,
            }),
            mode: PartyMode::Talk,
        })
        .expect("join");
}

/// One room: the talker starts `phase` after the room's bridge starts
/// ticking, warms the jitter buffer up for a second, then clicks once.
/// The click's added latency.
fn one_click(media: &MediaWorkers, room: u64, phase: Duration) -> Duration {
    let talker = UdpSocket::bind("127.0.0.1:0").expect("talker");
    let listener = UdpSocket::bind("127.0.0.1:0").expect("listener");
    listener
        .set_read_timeout(Some(Duration::from_millis(5)))
        .expect("timeout");
    let (room_t, room_l) = (free_port(), free_port());
    join(media, room, 2, room_l, listener.local_addr().expect("addr"));
    // The room ticks from the listener's joining; the talker starts `phase` later.
    let start = Instant::now() + phase;
    join(media, room, 1, room_t, talker.local_addr().expect("addr"));
    let recv = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let deadline = Instant::now() + FRAME * (WARM_UP + 20) + Duration::from_secs(2);
        while Instant::now() < deadline {
            let Ok((n, _)) = listener.recv_from(&mut buf) else {
                continue;
            };
            let at = Instant::now();
            let Ok(h) = RtpHeader::parse(&buf[..n]) else { continue };
            let mut pcm = [0i16; 160];
            if g711::decode_ulaw(&buf[h.payload_offset..h.payload_end], &mut pcm).is_err() {
                continue;
            }
            if let Some(i) = pcm.iter().position(|s| s.unsigned_abs() > 8_000) {
                return Some(at + Duration::from_micros(i as u64 * 125));
            }
        }
        None
    });
    let mut clicked = None;
    let mut next = start;
    for n in 0..WARM_UP + 10 {
        while Instant::now() < next {
            std::hint::spin_loop();
        }
        let click = n == WARM_UP;
        let pkt = packet(n as u16, click);
        let at = Instant::now();
        let _ = talker.send_to(&pkt, room_t);
        if click {
            // The click's own moment: its offset in the packet.
            clicked = Some(at + Duration::from_micros(CLICK_AT as u64 * 125));
        }
        next += FRAME;
    }
    let heard = recv
        .join()
        .expect("listener thread")
        .expect("the click came through the room");
    media.send(MediaCommand::Close { call: room }).expect("close");
    heard.saturating_duration_since(clicked.expect("clicked"))
}

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (reports, _keep) = tokio::sync::mpsc::channel(64);
    let media = MediaWorkers::start(1, dir.path().to_path_buf(), reports, None).expect("media workers");
    let mut added: Vec<Duration> = (0..CLICKS)
        .map(|k| {
            one_click(
                &media,
                u64::from(k) + 1,
                Duration::from_millis(u64::from(k % 20)) + Duration::from_micros(500),
            )
        })
        .collect();
    added.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let worst = *added.last().expect("clicks");
    println!(
        "click through a meet-me room over sockets ({} rooms, every phase against the tick): added {:.1} ms best, {:.1} ms median, {:.1} ms worst = jitter buffer {:.0} ms + {:.1} ms beyond it (target <= 20 ms beyond)",
        added.len(),
        ms(added[0]),
        ms(added[added.len() / 2]),
        ms(worst),
        ms(JITTER_MIN),
        ms(worst.saturating_sub(JITTER_MIN))
    );
}
