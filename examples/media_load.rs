//! Media load generator (issue 3 item 10): holds N relayed G.711 calls
//! through an anchoring switch and counts every RTP packet both ways.
//!
//! It plays both ends of every call, trunk to trunk, on the load-test profile
//! (`sip-profiles/loadtest` with `[media] anchor = true`):
//!
//! ```text
//! caller (UAC, one SIP socket) --INVITE PCMU--> switch external 127.0.0.1:5080
//!                                               switch --INVITE--> callee (UAS, 127.0.0.1:5090)
//! caller RTP socket <--> switch port A(i) <==relay==> switch port B(i) <--> callee RTP socket
//! ```
//!
//! Every call's SDP names the same two RTP sockets (one for all callers, one
//! for all callees); the switch sends each call from its own ports, so a
//! received packet is attributed to its call by source port. Each packet's
//! payload carries its direction, call index and packet number, and a fill
//! derived from them: a packet that arrives altered, or from the wrong
//! call's port, is counted as corrupt.
//!
//! Sending is paced by one thread per direction: every 20 ms tick it sends
//! one 160-byte PCMU packet (20 ms of 8 kHz audio) for every call, batched
//! (never one task per call, never a skipped tick: a late batch goes out at
//! once and is counted); two receiver threads count what the switch
//! forwards. At the start and the end of the hold (no signalling then) it
//! reads the switch's CPU time (`/proc/<pid>/stat` utime + stime, per thread
//! too) and context switches, and the receive-buffer drops of every socket
//! involved (`/proc/net/udp`), so a loss is attributed: to the switch's
//! per-call sockets, to the generator's own, or to the switch itself. The
//! CPU per call is given both over the wall time and per relayed packet
//! (times 100 packets/s a call), which stays right if the sender lagged.
//!
//! Run it through `benches/load/media_load.sh`, which builds the release
//! switch, starts it with anchoring on and passes `--switch-pid`; by hand:
//!
//! ```sh
//! cargo run --release --example media_load -- --calls 1000 --hold-s 30 --switch-pid $(pidof switchboard)
//! ```
//!
//! The last line of output is the summary (`RESULT: ...`); the exit status
//! is 0 when every call was set up and torn down and no packet was corrupt.

// Shared with conference_load; not every item is used by both.
#[allow(dead_code)]
mod common;

use clap::Parser;
use common::procfs::{drops_between, udp_drops, HoldCost, Snapshot};
use common::rtp::{fill, io, pct_lost, port_of, rtp_header, udp_socket, PACKET, PAYLOAD, TICK};
use common::uac::{CallPlan, CallState, Uac};
use common::uas::{pcmu_answer, uas_loop};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Socket buffers: loopback bursts of one tick (up to 2 x N packets).
const SOCKET_BUFFER: usize = 8 << 20;
/// Dialled numbers are `9` and the call index on 7 digits.
const NUMBER_PREFIX: &str = "9";
/// Direction byte at the head of each payload.
const DIR_A_TO_B: u8 = 0xab;
const DIR_B_TO_A: u8 = 0xba;

#[derive(Parser, Debug)]
#[command(about = "Holds N relayed G.711 calls through the switch and counts the RTP")]
struct Args {
    /// The switch's external (trunk) profile.
    #[arg(long, default_value = "127.0.0.1:5080")]
    switch: SocketAddr,
    /// Where the dial plan sends the calls (we answer there).
    #[arg(long, default_value = "127.0.0.1:5090")]
    uas: SocketAddr,
    /// Concurrent calls.
    #[arg(long, default_value_t = 1000)]
    calls: u32,
    /// Seconds of media once every call is up.
    #[arg(long, default_value_t = 30)]
    hold_s: u64,
    /// Call set-up (and teardown) rate, calls per second.
    #[arg(long, default_value_t = 200)]
    cps: u32,
    /// The switch's process id: its CPU over the hold is reported.
    #[arg(long)]
    switch_pid: Option<u32>,
    /// Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Give up on calls not set up within this many seconds of the last INVITE.
    #[arg(long, default_value_t = 20)]
    setup_timeout_s: u64,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("media_load: {e}");
        std::process::exit(2);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let n = args.calls as usize;
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let buf = Some(SOCKET_BUFFER);
    let uac_sip = udp_socket(any_port, buf).map_err(io("bind UAC SIP"))?;
    let uas_sip = udp_socket(args.uas, buf).map_err(io(format!("bind UAS SIP {}", args.uas)))?;
    let rtp_a = udp_socket(any_port, buf).map_err(io("bind caller RTP"))?;
    let rtp_b = udp_socket(any_port, buf).map_err(io("bind callee RTP"))?;
    let (rtp_a_port, rtp_b_port) = (port_of(&rtp_a)?, port_of(&rtp_b)?);

    // The callee side answers on its own thread for the whole run.
    let stop_uas = Arc::new(AtomicBool::new(false));
    let (b_tx, b_rx) = mpsc::channel::<(usize, SocketAddr)>();
    let uas = {
        let stop = stop_uas.clone();
        let sock = uas_sip.try_clone().map_err(io("clone UAS socket"))?;
        let contact = args.uas;
        std::thread::Builder::new()
            .name("uas".into())
            .spawn(move || uas_loop(&sock, contact, NUMBER_PREFIX, &pcmu_answer(rtp_b_port), &stop, &b_tx))
            .map_err(io("spawn UAS"))?
    };

    // ---- Set-up ------------------------------------------------------------
    let setup_start = Instant::now();
    let plans = (0..n)
        .map(|idx| CallPlan {
            number: format!("{NUMBER_PREFIX}{idx:07}"),
            rtp_port: rtp_a_port,
            offer: None,
            from_user: None,
        })
        .collect();
    let mut uac = Uac::new(uac_sip, args.switch, "ml", plans)?;
    let mut b_media: Vec<Option<SocketAddr>> = vec![None; n];
    let take_b = |b_media: &mut Vec<Option<SocketAddr>>| {
        for (idx, addr) in b_rx.try_iter() {
            if idx < n {
                b_media[idx] = Some(addr);
            }
        }
    };
    uac.setup(args.cps, Duration::from_secs(args.setup_timeout_s), |_| {
        take_b(&mut b_media)
    });
    take_b(&mut b_media);
    let setup_s = setup_start.elapsed().as_secs_f64();
    let calls: Vec<Live> = (0..n)
        .filter_map(|i| match (&uac.calls[i], b_media[i]) {
            (CallState::Up { media, .. }, Some(b)) => Some(Live {
                idx: i as u32,
                a_media: *media,
                b_media: b,
            }),
            _ => None,
        })
        .collect();
    let (_, failed) = uac.tally();
    println!(
        "set-up: {} of {n} calls up in {setup_s:.1} s (failures: {failed:?}); caller RTP 127.0.0.1:{rtp_a_port}, callee RTP 127.0.0.1:{rtp_b_port}",
        calls.len()
    );

    // ---- Media -------------------------------------------------------------
    // The caller's SIP socket is polled once a tick meanwhile (a 200
    // retransmitted for a lost ACK, a BYE from the switch).
    uac.sock.set_nonblocking(true).map_err(io("UAC socket"))?;
    let media = hold_media(args, &calls, &rtp_a, &rtp_b, || uac.poll_during_hold())?;
    uac.sock.set_nonblocking(false).map_err(io("UAC socket"))?;
    if !uac.ended_by_switch.is_empty() {
        println!(
            "{} calls were ended by the switch during the hold",
            uac.ended_by_switch.len()
        );
    }

    // ---- Teardown ----------------------------------------------------------
    let byes_ok = uac.teardown(args.cps);
    stop_uas.store(true, Ordering::Relaxed);
    let uas_stats = uas.join().map_err(|_| "UAS thread panicked".to_string())?;
    println!(
        "teardown: {byes_ok} of {} BYEs answered 200; callee side answered {} INVITEs, {} BYEs",
        calls.len(),
        uas_stats.invites,
        uas_stats.byes
    );

    // ---- Report ------------------------------------------------------------
    media.print_details(calls.len());
    let forwarded = media.recv_ab + media.recv_ba;
    let sent = media.sent_ab + media.sent_ba;
    let loss = 100.0 * (sent.saturating_sub(forwarded)) as f64 / (sent.max(1)) as f64;
    // Per call at the nominal rate (50 packets/s each way), from the CPU
    // time per relayed packet: right even if the sender fell behind.
    let cpu = match (media.cost.switch, calls.len()) {
        (Some(c), live) if live > 0 && forwarded > 0 => {
            let per_packet = c.seconds / forwarded as f64;
            format!(
                "switch CPU {:.1}% of a core ({:.0}% of it in the kernel) = {:.4}% per call; \
                 {:.2} us per relayed packet = {:.4}% of a core per call at 2 x 50 packets/s",
                c.percent,
                100.0 * c.system_percent / c.percent.max(f64::MIN_POSITIVE),
                c.percent / live as f64,
                per_packet * 1e6,
                per_packet * 100.0 * 100.0,
            )
        }
        _ => "switch CPU not measured (no --switch-pid)".to_string(),
    };
    println!(
        "RESULT: {} of {n} relayed PCMU calls held {} s at 20 ms: {sent} packets sent, {forwarded} forwarded, \
         loss {loss:.4}% (A->B {:.4}%, B->A {:.4}%; {} overflowed the generator's receive buffers), \
         {} corrupt; {cpu}",
        calls.len(),
        args.hold_s,
        pct_lost(media.sent_ab, media.recv_ab),
        pct_lost(media.sent_ba, media.recv_ba),
        media.generator_drops,
        media.corrupt,
    );
    let ok = calls.len() == n && byes_ok == n && media.corrupt == 0;
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

/// A call with media on both sides.
struct Live {
    idx: u32,
    /// The switch's port towards the caller.
    a_media: SocketAddr,
    /// The switch's port towards the callee.
    b_media: SocketAddr,
}

// ---------------------------------------------------------------------------
// Media
// ---------------------------------------------------------------------------

#[derive(Default)]
struct RecvStats {
    /// Packets per call index.
    per_call: Vec<u32>,
    total: u64,
    corrupt: u64,
    /// Arrived after a later packet of the same call (reordered or duplicated).
    out_of_order: u64,
}

/// Counts what the switch forwards to `sock`: the source port names the
/// call (`by_port`), the payload must be the one sent for it in `dir`.
fn receiver(sock: UdpSocket, by_port: Vec<u32>, dir: u8, n: usize, stop: Arc<AtomicBool>) -> RecvStats {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    let mut st = RecvStats {
        per_call: vec![0; n],
        ..RecvStats::default()
    };
    let mut last_k: Vec<Option<u32>> = vec![None; n];
    let mut buf = [0u8; 2048];
    let mut expect = [0u8; PAYLOAD];
    loop {
        let (len, src) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                continue;
            }
            Err(_) => continue,
        };
        st.total += 1;
        let idx = by_port[usize::from(src.port())];
        let pkt = &buf[..len];
        if idx == u32::MAX || len != PACKET || pkt[0] >> 6 != 2 || pkt[1] & 0x7f != 0 {
            st.corrupt += 1;
            continue;
        }
        let payload = &pkt[12..];
        let k = u32::from_be_bytes([payload[5], payload[6], payload[7], payload[8]]);
        fill(&mut expect, dir, idx, k);
        if payload != expect {
            st.corrupt += 1;
            continue;
        }
        let i = idx as usize;
        st.per_call[i] += 1;
        match last_k[i] {
            Some(l) if k <= l => st.out_of_order += 1,
            _ => last_k[i] = Some(k),
        }
    }
    st
}

struct MediaResult {
    /// The switch's and the generator's CPU over the hold.
    cost: HoldCost,
    /// Lost to full receive buffers of the generator's two RTP sockets.
    generator_drops: u64,
    /// Lost to full receive buffers of the switch's per-call sockets: its
    /// A-side ones (caller to switch, A->B) and its B-side ones (B->A).
    switch_drops: (u64, u64),
    sent_ab: u64,
    sent_ba: u64,
    recv_ab: u64,
    recv_ba: u64,
    corrupt: u64,
    out_of_order: u64,
    send_errors: u64,
    late_ticks: u64,
    max_lag: Duration,
    ticks: u64,
    calls_short: usize,
    min_per_call: u32,
}

impl MediaResult {
    fn print_details(&self, live: usize) {
        println!(
            "media: {} ticks in {:.2} s ({:.0} packets/s sent of {} nominal); sent A->B {} B->A {}; forwarded A->B {} B->A {}; corrupt {}; \
             out of order {}; send errors {}; late ticks {} (max lag {:.1} ms); calls short of packets {} \
             (fewest received by a call in one direction: {} of {}); receive-buffer drops: {} at the \
             switch's A-side sockets (A->B), {} at its B-side sockets (B->A), {} at the generator's",
            self.ticks,
            self.cost.wall_s,
            (self.sent_ab + self.sent_ba) as f64 / self.cost.wall_s,
            live * 100,
            self.sent_ab,
            self.sent_ba,
            self.recv_ab,
            self.recv_ba,
            self.corrupt,
            self.out_of_order,
            self.send_errors,
            self.late_ticks,
            self.max_lag.as_secs_f64() * 1000.0,
            self.calls_short,
            self.min_per_call,
            self.ticks,
            self.switch_drops.0,
            self.switch_drops.1,
            self.generator_drops,
        );
        self.cost.print(live, "call", "calls");
    }
}

/// What one paced sender did.
struct SendStats {
    sent: u64,
    errors: u64,
    /// Ticks whose batch started a whole tick or more late.
    late_ticks: u64,
    max_lag: Duration,
}

/// Sends one packet per call in direction `dir` at every 20 ms tick from
/// `start`, for `ticks` ticks. A late tick is sent at once (never skipped).
fn sender(sock: &UdpSocket, calls: &[Live], dir: u8, start: Instant, ticks: u64) -> SendStats {
    let mut st = SendStats {
        sent: 0,
        errors: 0,
        late_ticks: 0,
        max_lag: Duration::ZERO,
    };
    let mut pkt = [0u8; PACKET];
    let ssrc_base = if dir == DIR_A_TO_B { 0xa000_0000 } else { 0xb000_0000 };
    for k in 0..ticks {
        let deadline = start + TICK * k as u32;
        let now = Instant::now();
        if now < deadline {
            std::thread::sleep(deadline - now);
        } else {
            let lag = now - deadline;
            st.max_lag = st.max_lag.max(lag);
            if lag >= TICK {
                st.late_ticks += 1;
            }
        }
        let k32 = k as u32;
        for c in calls {
            rtp_header(&mut pkt, k as u16, k32.wrapping_mul(160), ssrc_base | c.idx);
            fill(&mut pkt[12..], dir, c.idx, k32);
            let to = if dir == DIR_A_TO_B { c.a_media } else { c.b_media };
            match sock.send_to(&pkt, to) {
                Ok(_) => st.sent += 1,
                Err(_) => st.errors += 1,
            }
        }
    }
    st
}

fn hold_media(
    args: &Args,
    calls: &[Live],
    rtp_a: &UdpSocket,
    rtp_b: &UdpSocket,
    mut on_tick: impl FnMut(),
) -> Result<MediaResult, String> {
    let n = args.calls as usize;
    let mut by_a_port = vec![u32::MAX; 65536];
    let mut by_b_port = vec![u32::MAX; 65536];
    for c in calls {
        by_a_port[usize::from(c.a_media.port())] = c.idx;
        by_b_port[usize::from(c.b_media.port())] = c.idx;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let spawn_rx = |sock: &UdpSocket, by_port: Vec<u32>, dir: u8, name: &str| {
        let sock = sock.try_clone().map_err(|e| e.to_string())?;
        let stop = stop.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || receiver(sock, by_port, dir, n, stop))
            .map_err(|e| e.to_string())
    };
    // The caller's socket hears B->A from the switch's A ports, and so on.
    let rx_ba = spawn_rx(rtp_a, by_a_port, DIR_B_TO_A, "rx-b-to-a")?;
    let rx_ab = spawn_rx(rtp_b, by_b_port, DIR_A_TO_B, "rx-a-to-b")?;

    let ticks = args.hold_s * 50;
    let hz = args.clk_tck.max(1) as f64;
    let drops0 = udp_drops();
    let snap0 = Snapshot::take(args.switch_pid);
    let start = Instant::now();
    // One paced sender per direction, so each keeps its ticks even when the
    // other is descheduled; this thread answers SIP meanwhile.
    let (ab_tx, ba_tx) = std::thread::scope(|scope| {
        let spawn_tx = |sock: &UdpSocket, dir: u8, name: &str| {
            let sock = sock.try_clone().map_err(|e| e.to_string())?;
            std::thread::Builder::new()
                .name(name.into())
                .spawn_scoped(scope, move || sender(&sock, calls, dir, start, ticks))
                .map_err(|e| e.to_string())
        };
        let ab = spawn_tx(rtp_a, DIR_A_TO_B, "tx-a-to-b")?;
        let ba = spawn_tx(rtp_b, DIR_B_TO_A, "tx-b-to-a")?;
        for k in 0..=ticks {
            if let Some(d) = (start + TICK * k as u32).checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
            on_tick();
        }
        let ab = ab.join().map_err(|_| "sender panicked".to_string())?;
        let ba = ba.join().map_err(|_| "sender panicked".to_string())?;
        Ok::<_, String>((ab, ba))
    })?;
    let cost = HoldCost::between(&snap0, &Snapshot::take(args.switch_pid), hz);
    // Let the last packets land, then stop the receivers.
    std::thread::sleep(Duration::from_millis(500));
    let drops1 = udp_drops();
    stop.store(true, Ordering::Relaxed);
    let ba = rx_ba.join().map_err(|_| "receiver panicked".to_string())?;
    let ab = rx_ab.join().map_err(|_| "receiver panicked".to_string())?;

    let mut min_per_call = u32::MAX;
    let mut calls_short = 0;
    for c in calls {
        let i = c.idx as usize;
        let least = ab.per_call[i].min(ba.per_call[i]);
        min_per_call = min_per_call.min(least);
        if u64::from(least) < ticks {
            calls_short += 1;
        }
    }
    let own_ports: Vec<u16> = [rtp_a, rtp_b]
        .iter()
        .filter_map(|s| s.local_addr().ok())
        .map(|a| a.port())
        .collect();
    let generator_drops = drops_between(&drops0, &drops1, own_ports);
    let switch_drops = (
        drops_between(&drops0, &drops1, calls.iter().map(|c| c.a_media.port())),
        drops_between(&drops0, &drops1, calls.iter().map(|c| c.b_media.port())),
    );
    Ok(MediaResult {
        cost,
        generator_drops,
        switch_drops,
        sent_ab: ab_tx.sent,
        sent_ba: ba_tx.sent,
        recv_ab: ab.total - ab.corrupt,
        recv_ba: ba.total - ba.corrupt,
        corrupt: ab.corrupt + ba.corrupt,
        out_of_order: ab.out_of_order + ba.out_of_order,
        send_errors: ab_tx.errors + ba_tx.errors,
        late_ticks: ab_tx.late_ticks.max(ba_tx.late_ticks),
        max_lag: ab_tx.max_lag.max(ba_tx.max_lag),
        ticks,
        calls_short,
        min_per_call: if calls.is_empty() { 0 } else { min_per_call },
    })
}
