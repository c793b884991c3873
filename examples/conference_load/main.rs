//! Conference load generator (issue 9): holds N concurrent meet-me
//! conferences of P G.711 parties on the switch's bridge and measures what
//! every party hears: lost and late mixed frames, whether the mix is the
//! others' audio, and the switch's CPU per party.
//!
//! It plays every party of every room, on the load-test profile
//! (`sip-profiles/loadtest`, whose dial plan makes `7000`..`7999` meet-me
//! rooms of up to 8 parties):
//!
//! ```text
//! party k of conference c (one UDP socket each) --INVITE sip:7<c>@switch, PCMU-->
//!     switch answers 200 with its own port for the party; ACK
//! party socket --20 ms PCMU, tone of 300 + 100 k Hz--> switch port --> bridge of room c
//! party socket <--one 20 ms stream: the mix of the others (mix-minus)-- switch port
//! ```
//!
//! - **Signalling.** One SIP socket for all parties ([`common::uac`]): the
//!   INVITEs go out at `--cps`, parties of room 0 first, then room 1, and so
//!   on; the BYEs at the same rate after the hold.
//! - **Sending.** One paced thread sends every party's packet every 20 ms
//!   from the party's own socket (the switch latches each party on its
//!   source address), the parties spread over ten 2 ms phases of the tick
//!   like phones with free-running clocks. A party starts sending when its
//!   200 arrives. Party k of a room sends a steady sine of `300 + 100 k` Hz
//!   at -20 dBFS; these are whole cycles in 160 samples, so one payload per
//!   party serves every packet, and the tones are orthogonal over a frame.
//! - **Receiving.** One thread sweeps every party socket every `--sweep-ms`
//!   with `recvmmsg` (no wake-up per packet) and takes each packet's arrival
//!   time from the kernel (`SO_TIMESTAMPNS`), so a late sweep never makes a
//!   packet late. It keeps (sequence number, arrival) of every packet that
//!   arrived during the hold and, for one packet in [`CHECK_EVERY`] read
//!   while the parties still send, the level of each party's tone in it
//!   (an exact DFT bin per tone).
//! - **Warm-up.** `--warmup-s` of media after the last party joined, not
//!   measured (jitter buffers fill, latches settle), then the hold of
//!   `--hold-s` seconds, over which the switch's CPU is read from /proc.
//!
//! What is judged, per party's mixed stream (its sequence numbers extended
//! past 16 bits):
//!
//! - **Slots.** Packet `s` belongs in slot `base + 20 ms x (s - s0)`, where
//!   `s0` is the first sequence number seen in the hold and `base` is the
//!   earliest arrival once each packet's 20 ms steps are taken off (the
//!   stream's best case). The switch sends from its bridge's clock, so a
//!   stream that keeps time has every packet within a few ms of its slot.
//! - **Expected** packets are those whose slot falls within the hold;
//!   **received** the distinct ones of them that arrived (until half a
//!   second after the hold); **loss** the difference.
//! - **Late frame**: a received packet that arrived more than [`LATE`]
//!   (20 ms, one frame) after its slot: a phone's jitter buffer sized for
//!   one frame would have played it late or concealed it.
//! - **Mix**: in each checked packet every other party of the room that is
//!   up must be heard at its level (at least half its amplitude), the
//!   party itself must not (under a tenth: mix-minus), else the packet
//!   counts as a wrong mix.
//!
//! Run it through `benches/load/conference_load.sh`, which builds the release
//! switch, starts it and passes `--switch-pid`; by hand:
//!
//! ```sh
//! cargo run --release --example conference_load -- --confs 250 --hold-s 30 --switch-pid $(pidof switchboard)
//! ```
//!
//! The last line of output is the summary (`RESULT: ...`); the exit status
//! is 0 when every party was set up and torn down and no mix was wrong.
//! `cargo test --example conference_load` runs the judge's tests.

// Shared with media_load; not every item is used by both.
#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod judge;
mod rx;

use clap::Parser;
use common::procfs::{drops_between, rss_kib, udp_drops, HoldCost, Snapshot};
use common::rtp::{io, rtp_header, udp_socket, PACKET, PAYLOAD, TICK};
use common::uac::{CallPlan, CallState, Uac};
use judge::Report;
use rx::receiver;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use switchboard::dsp::g711::encode_ulaw;
use switchboard::dsp::tone::sine;

/// Room numbers start here (the load-test dial plan's `^7[0-9]{3}$`).
const FIRST_ROOM: u32 = 7000;
/// Level of every party's tone.
const TONE_DBFS: f64 = -20.0;
/// A received packet this much after its slot is a late frame.
const LATE: Duration = Duration::from_millis(20);
/// The sender spreads the parties over this many phases of a tick.
const PHASES: u32 = 10;
/// One received packet in this many (per party) has its tones measured.
const CHECK_EVERY: u32 = 25;
/// Packets arriving this long after the hold still count (for its last slots).
const GRACE: Duration = Duration::from_millis(500);
/// Packets one `recvmmsg` takes.
const VLEN: usize = 16;
/// Receive buffer per packet: more than a PCMU packet, so a bigger one shows.
const RECV_BUF: usize = 512;
/// A party's tone must be heard at no less than this share of its amplitude.
const HEARD: f64 = 0.5;
/// ... and its own tone at no more than this share (mix-minus).
const NOT_HEARD: f64 = 0.1;

#[derive(Parser, Debug)]
#[command(about = "Holds N meet-me conferences of G.711 parties on the switch and judges what each party hears")]
struct Args {
    /// The switch's external (trunk) profile.
    #[arg(long, default_value = "127.0.0.1:5080")]
    switch: SocketAddr,
    /// Concurrent conferences (rooms 7000, 7001, ...).
    #[arg(long, default_value_t = 250)]
    confs: u32,
    /// Parties per conference (the rooms take 8 at most).
    #[arg(long, default_value_t = 8)]
    parties: u32,
    /// Seconds of measured media once every party is up and warmed up.
    #[arg(long, default_value_t = 30)]
    hold_s: u64,
    /// Seconds of unmeasured media between the last join and the hold.
    #[arg(long, default_value_t = 2)]
    warmup_s: u64,
    /// Party set-up (and teardown) rate, calls per second.
    #[arg(long, default_value_t = 200)]
    cps: u32,
    /// How often the receiver sweeps the party sockets, in ms.
    #[arg(long, default_value_t = 100)]
    sweep_ms: u64,
    /// The switch's process id: its CPU and memory over the hold are reported.
    #[arg(long)]
    switch_pid: Option<u32>,
    /// Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Give up on parties not set up within this many seconds of the last INVITE.
    #[arg(long, default_value_t = 20)]
    setup_timeout_s: u64,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("conference_load: {e}");
        std::process::exit(2);
    }
}

/// The tone of party `k` of a room, in Hz.
fn tone_hz(k: usize) -> f64 {
    300.0 + 100.0 * k as f64
}

/// Nanoseconds since the epoch (the clock of `SO_TIMESTAMPNS`).
fn realtime_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// An IPv4 address as one non-zero word (0 means "none"), so threads can
/// share it in an atomic.
fn pack(addr: SocketAddr) -> u64 {
    match addr {
        SocketAddr::V4(a) => 1 << 48 | u64::from(u32::from(*a.ip())) << 16 | u64::from(a.port()),
        SocketAddr::V6(_) => 0,
    }
}

fn unpack(word: u64) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from((word >> 16) as u32), word as u16))
}

/// What the threads share.
struct Shared {
    /// Per party: the switch's RTP address for it ([`pack`]ed), 0 while
    /// the party is not up (it sends nothing).
    dest: Vec<AtomicU64>,
    /// 0 before the hold, 1 during it, 2 after (the sender stops).
    phase: AtomicU8,
    /// The hold's start ([`realtime_ns`]); 0 before. The receiver keeps
    /// packets that arrived from then on.
    t0_ns: AtomicI64,
    /// Tells the receiver to make its last sweep.
    stop_rx: AtomicBool,
}

fn run(args: &Args) -> Result<(), String> {
    if !(2..=8).contains(&args.parties) {
        return Err(format!("--parties {}: a room takes 2 to 8 parties", args.parties));
    }
    if args.confs == 0 || args.confs > 1000 {
        return Err(format!("--confs {}: the rooms are 7000 to 7999", args.confs));
    }
    let parties = args.parties as usize;
    let n = args.confs as usize * parties;
    raise_fd_limit(n + 256)?;

    // One RTP socket per party, with kernel receive timestamps.
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let socks: Vec<UdpSocket> = (0..n)
        .map(|_| {
            let s = udp_socket(any_port, None).map_err(io("bind a party's RTP socket"))?;
            enable_timestamps(&s).map_err(io("SO_TIMESTAMPNS"))?;
            Ok(s)
        })
        .collect::<Result<_, String>>()?;
    let plans: Vec<CallPlan> = socks
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(CallPlan {
                number: (FIRST_ROOM + (i / parties) as u32).to_string(),
                rtp_port: s.local_addr().map_err(io("party socket"))?.port(),
                offer: None,
                from_user: None,
            })
        })
        .collect::<Result<_, String>>()?;
    let tones: Vec<[u8; PAYLOAD]> = (0..parties)
        .map(|k| {
            let mut out = [0u8; PAYLOAD];
            let pcm = sine(tone_hz(k), TONE_DBFS, 8000, PAYLOAD);
            encode_ulaw(&pcm, &mut out).map_err(|e| e.to_string())?;
            Ok(out)
        })
        .collect::<Result<_, String>>()?;
    let shared = Shared {
        dest: (0..n).map(|_| AtomicU64::new(0)).collect(),
        phase: AtomicU8::new(0),
        t0_ns: AtomicI64::new(0),
        stop_rx: AtomicBool::new(false),
    };
    let uac_sip = udp_socket(any_port, Some(8 << 20)).map_err(io("bind UAC SIP"))?;
    let mut uac = Uac::new(uac_sip, args.switch, "cl", plans)?;

    let run = std::thread::scope(|scope| {
        let (socks, shared, tones) = (&socks, &shared, &tones);
        let tx = std::thread::Builder::new()
            .name("tx".into())
            .spawn_scoped(scope, move || sender(socks, shared, tones))
            .map_err(io("spawn the sender"))?;
        let rx = std::thread::Builder::new()
            .name("rx".into())
            .spawn_scoped(scope, move || receiver(socks, shared, parties, args.sweep_ms))
            .map_err(io("spawn the receiver"))?;
        let hold = drive(args, &mut uac, shared);
        // Whatever happened, stop both threads.
        shared.phase.store(2, Ordering::Relaxed);
        std::thread::sleep(GRACE);
        let drops1 = udp_drops();
        shared.stop_rx.store(true, Ordering::Relaxed);
        let sent = tx.join().map_err(|_| "the sender panicked".to_string())?;
        let streams = rx.join().map_err(|_| "the receiver panicked".to_string())?;
        Ok::<_, String>((hold?, sent, streams, drops1))
    });
    let (hold, sent, streams, drops1) = run?;

    // ---- Teardown ----------------------------------------------------------
    let up_now = uac.calls.iter().filter(|c| matches!(c, CallState::Up { .. })).count();
    uac.sock.set_nonblocking(false).map_err(io("UAC socket"))?;
    let byes_ok = uac.teardown(args.cps);
    println!("teardown: {byes_ok} of {up_now} BYEs answered 200");

    // ---- Report ------------------------------------------------------------
    let report = Report::new(args, &hold, &streams);
    report.print(args, &hold, &sent);
    let switch_ports: Vec<u16> = hold.switch_media.iter().flatten().map(|a| a.port()).collect();
    let own_ports: Vec<u16> = socks
        .iter()
        .filter_map(|s| s.local_addr().ok())
        .map(|a| a.port())
        .collect();
    println!(
        "receive-buffer drops over the hold: {} at the switch's party sockets, {} at the generator's",
        drops_between(&hold.drops0, &drops1, switch_ports),
        drops_between(&hold.drops0, &drops1, own_ports),
    );
    hold.cost.print(hold.live, "party", "parties");
    if let Some(kib) = hold.switch_rss_kib {
        println!("switch RSS at the end of the hold: {} MiB", kib / 1024);
    }
    let cpu = match hold.cost.switch {
        Some(c) if hold.live > 0 => format!(
            "switch CPU {:.1}% of a core ({:.0}% of it in the kernel) = {:.4}% of a core per party",
            c.percent,
            100.0 * c.system_percent / c.percent.max(f64::MIN_POSITIVE),
            c.percent / hold.live as f64,
        ),
        _ => "switch CPU not measured (no --switch-pid)".to_string(),
    };
    println!(
        "RESULT: {} of {n} parties up in {} {}-party PCMU conferences held {} s: {} late frames (> {} ms after \
         their slot) of {} received, loss {:.4}% ({} of {} expected), {} of {} sampled mixes wrong; {cpu}",
        hold.live,
        args.confs,
        parties,
        args.hold_s,
        report.late,
        LATE.as_millis(),
        report.received,
        report.loss_pct(),
        report.expected.saturating_sub(report.received),
        report.expected,
        report.wrong_mix(),
        report.checks,
    );
    if hold.live != n || byes_ok != up_now || report.wrong_mix() > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// What the main thread learnt while driving the run.
struct Hold {
    /// Parties up at the start of the hold.
    live: usize,
    /// Per party, up at the start of the hold.
    up_at_t0: Vec<bool>,
    /// Per party, the switch's RTP address (from its 200).
    switch_media: Vec<Option<SocketAddr>>,
    /// The hold's length, in µs, by the clock of the arrival times.
    hold_us: i64,
    cost: HoldCost,
    drops0: std::collections::HashMap<u16, u64>,
    switch_rss_kib: Option<u64>,
}

/// Sets the parties up, warms up, holds (answering SIP every tick) and
/// reads the counters at the hold's start and end.
fn drive(args: &Args, uac: &mut Uac, shared: &Shared) -> Result<Hold, String> {
    let n = shared.dest.len();
    let mut switch_media: Vec<Option<SocketAddr>> = vec![None; n];
    let setup_start = Instant::now();
    uac.setup(args.cps, Duration::from_secs(args.setup_timeout_s), |up| {
        for (idx, media) in up {
            switch_media[idx] = Some(media);
            shared.dest[idx].store(pack(media), Ordering::Relaxed);
        }
    });
    let (up, failed) = uac.tally();
    let parties = args.parties as usize;
    let full_rooms = (0..args.confs as usize)
        .filter(|c| (0..parties).all(|k| matches!(uac.calls[c * parties + k], CallState::Up { .. })))
        .count();
    println!(
        "set-up: {up} of {n} parties up in {:.1} s (failures: {failed:?}); {full_rooms} of {} rooms full",
        setup_start.elapsed().as_secs_f64(),
        args.confs
    );

    // The SIP socket is polled once a tick from here on (a 200
    // retransmitted for a lost ACK, a BYE from the switch).
    uac.sock.set_nonblocking(true).map_err(io("UAC socket"))?;
    let tick_loop = |uac: &mut Uac, ticks: u64| {
        let start = Instant::now();
        for k in 1..=ticks {
            if let Some(d) = (start + TICK * k as u32).checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
            uac.poll_during_hold();
            for idx in uac.ended_by_switch.drain(..) {
                shared.dest[idx].store(0, Ordering::Relaxed);
                eprintln!("party {idx}: the switch hung up (BYE)");
            }
        }
    };
    tick_loop(uac, args.warmup_s * 50);

    let up_at_t0: Vec<bool> = uac.calls.iter().map(|c| matches!(c, CallState::Up { .. })).collect();
    let live = up_at_t0.iter().filter(|u| **u).count();
    let hz = args.clk_tck.max(1) as f64;
    let drops0 = udp_drops();
    let snap0 = Snapshot::take(args.switch_pid);
    let t0 = realtime_ns();
    shared.t0_ns.store(t0, Ordering::Relaxed);
    shared.phase.store(1, Ordering::Relaxed);
    tick_loop(uac, args.hold_s * 50);
    let snap1 = Snapshot::take(args.switch_pid);
    let hold_us = (realtime_ns() - t0) / 1000;
    shared.phase.store(2, Ordering::Relaxed);
    Ok(Hold {
        live,
        up_at_t0,
        switch_media,
        hold_us,
        cost: HoldCost::between(&snap0, &snap1, hz),
        drops0,
        switch_rss_kib: args.switch_pid.and_then(rss_kib),
    })
}

/// Lets this process open `want` files (sockets), up to the hard limit.
fn raise_fd_limit(want: usize) -> Result<(), String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the one struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
        }
        if lim.rlim_cur >= want as libc::rlim_t {
            return Ok(());
        }
        lim.rlim_cur = lim.rlim_max.min(want as libc::rlim_t);
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < want as libc::rlim_t {
            return Err(format!(
                "{want} sockets need `ulimit -n {want}` (the hard limit is {})",
                lim.rlim_max
            ));
        }
    }
    Ok(())
}

/// Asks the kernel to stamp every datagram with its arrival time.
fn enable_timestamps(s: &UdpSocket) -> std::io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads `on` (an int, its size given) on our socket.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

// ---------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------

/// What the sender did during the hold.
#[derive(Default)]
struct SendStats {
    sent: u64,
    errors: u64,
    /// Phases that started a whole tick (20 ms) or more late.
    late_phases: u64,
    max_lag: Duration,
}

/// Every 2 ms sends the packets of one tenth of the parties (each party
/// every 20 ms, from its own socket), until the phase says stop. A late
/// phase is sent at once, never skipped.
fn sender(socks: &[UdpSocket], shared: &Shared, tones: &[[u8; PAYLOAD]]) -> SendStats {
    let n = socks.len();
    let parties = tones.len();
    let mut st = SendStats::default();
    let mut seq = vec![0u16; n];
    let mut pkt = [0u8; PACKET];
    let step = TICK / PHASES;
    let start = Instant::now();
    for k in 0u64.. {
        let phase = shared.phase.load(Ordering::Relaxed);
        if phase == 2 {
            break;
        }
        let deadline = start + step * k as u32;
        let now = Instant::now();
        if now < deadline {
            std::thread::sleep(deadline - now);
        } else if phase == 1 {
            let lag = now - deadline;
            st.max_lag = st.max_lag.max(lag);
            if lag >= TICK {
                st.late_phases += 1;
            }
        }
        for i in ((k % u64::from(PHASES)) as usize..n).step_by(PHASES as usize) {
            let dest = shared.dest[i].load(Ordering::Relaxed);
            if dest == 0 {
                continue;
            }
            let s = seq[i];
            rtp_header(
                &mut pkt,
                s,
                u32::from(s).wrapping_mul(PAYLOAD as u32),
                0x5000_0000 | i as u32,
            );
            pkt[12..].copy_from_slice(&tones[i % parties]);
            seq[i] = s.wrapping_add(1);
            let ok = socks[i].send_to(&pkt, unpack(dest)).is_ok();
            if phase == 1 {
                st.sent += u64::from(ok);
                st.errors += u64::from(!ok);
            }
        }
    }
    st
}
