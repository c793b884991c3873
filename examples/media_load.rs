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

use bytes::Bytes;
use clap::Parser;
use std::collections::{BTreeMap, HashMap};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message, Method, StatusCode};

/// RTP packet: 12-byte header and 20 ms of 8 kHz G.711 (160 bytes).
const PAYLOAD: usize = 160;
const PACKET: usize = 12 + PAYLOAD;
const TICK: Duration = Duration::from_millis(20);
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
    let uac_sip = udp_socket(any_port).map_err(io("bind UAC SIP"))?;
    let uas_sip = udp_socket(args.uas).map_err(io(format!("bind UAS SIP {}", args.uas)))?;
    let rtp_a = udp_socket(any_port).map_err(io("bind caller RTP"))?;
    let rtp_b = udp_socket(any_port).map_err(io("bind callee RTP"))?;
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
            .spawn(move || uas_loop(&sock, contact, rtp_b_port, &stop, &b_tx))
            .map_err(io("spawn UAS"))?
    };

    // ---- Set-up ------------------------------------------------------------
    let setup_start = Instant::now();
    let mut uac = Uac::new(uac_sip, args.switch, rtp_a_port, n)?;
    let mut b_media: Vec<Option<SocketAddr>> = vec![None; n];
    uac.setup(args, |idx, addr| b_media[idx] = Some(addr), &b_rx)?;
    for (idx, addr) in b_rx.try_iter() {
        if idx < n {
            b_media[idx] = Some(addr);
        }
    }
    let setup_s = setup_start.elapsed().as_secs_f64();
    let calls: Vec<Live> = (0..n)
        .filter_map(|i| match (&uac.calls[i], b_media[i]) {
            (CallState::Up { a_media, .. }, Some(b)) => Some(Live {
                idx: i as u32,
                a_media: *a_media,
                b_media: b,
            }),
            _ => None,
        })
        .collect();
    let failed: BTreeMap<String, usize> = uac.calls.iter().fold(BTreeMap::new(), |mut m, c| {
        match c {
            CallState::Up { .. } => {}
            CallState::Failed(code) => *m.entry(code.to_string()).or_default() += 1,
            CallState::Idle | CallState::Inviting { .. } => *m.entry("no answer".into()).or_default() += 1,
        }
        m
    });
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
    if uac.ended_by_switch > 0 {
        println!("{} calls were ended by the switch during the hold", uac.ended_by_switch);
    }

    // ---- Teardown ----------------------------------------------------------
    let byes_ok = uac.teardown(args)?;
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
    let cpu = match (media.switch_cpu, calls.len()) {
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

/// Maps an I/O error to a message saying what failed.
fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

fn pct_lost(sent: u64, got: u64) -> f64 {
    100.0 * sent.saturating_sub(got) as f64 / sent.max(1) as f64
}

fn udp_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    let _ = s.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = s.set_send_buffer_size(SOCKET_BUFFER);
    s.bind(&addr.into())?;
    Ok(s.into())
}

fn port_of(s: &UdpSocket) -> Result<u16, String> {
    s.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
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
// SIP: the caller side
// ---------------------------------------------------------------------------

enum CallState {
    Idle,
    Inviting {
        next_retx: Instant,
        interval: Duration,
    },
    Up {
        to: Bytes,
        contact: String,
        a_media: SocketAddr,
    },
    Failed(u16),
}

struct Uac {
    sock: UdpSocket,
    local: SocketAddr,
    switch: SocketAddr,
    rtp_port: u16,
    run_id: u32,
    calls: Vec<CallState>,
    limits: Limits,
    buf: Vec<u8>,
    /// Calls the switch hung up (a BYE to the caller) before teardown.
    ended_by_switch: usize,
}

impl Uac {
    fn new(sock: UdpSocket, switch: SocketAddr, rtp_port: u16, n: usize) -> Result<Uac, String> {
        let local = sock.local_addr().map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(Duration::from_millis(2)))
            .map_err(|e| e.to_string())?;
        Ok(Uac {
            sock,
            local,
            switch,
            rtp_port,
            run_id: std::process::id(),
            calls: (0..n).map(|_| CallState::Idle).collect(),
            limits: Limits::default(),
            buf: vec![0u8; 65536],
            ended_by_switch: 0,
        })
    }

    fn call_id(&self, idx: usize) -> String {
        format!("ml-{}-{idx}@127.0.0.1", self.run_id)
    }

    fn idx_of(&self, call_id: &[u8]) -> Option<usize> {
        let s = std::str::from_utf8(call_id).ok()?;
        let rest = s.strip_prefix(&format!("ml-{}-", self.run_id))?;
        let idx: usize = rest.split('@').next()?.parse().ok()?;
        (idx < self.calls.len()).then_some(idx)
    }

    fn caller_party(&self, idx: usize) -> String {
        format!("<sip:15550100@{}>;tag=ml{idx}", self.local)
    }

    fn invite(&self, idx: usize) -> String {
        let sdp = format!(
            "v=0\r\no=media-load {idx} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
            self.rtp_port
        );
        format!(
            "INVITE sip:{NUMBER_PREFIX}{idx:07}@{sw} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-ml-inv-{idx};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: <sip:{NUMBER_PREFIX}{idx:07}@{sw}>\r\n\
             Call-ID: {cid}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:15550100@{local}>\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {len}\r\n\r\n{sdp}",
            sw = self.switch,
            local = self.local,
            from = self.caller_party(idx),
            cid = self.call_id(idx),
            len = sdp.len(),
        )
    }

    fn send(&self, text: &str, to: SocketAddr) {
        if let Err(e) = self.sock.send_to(text.as_bytes(), to) {
            eprintln!("SIP send to {to}: {e}");
        }
    }

    /// Sends the INVITEs at `--cps`, answers 200s with ACK, retransmits
    /// (T1 doubling) until every call is up or failed or the time is out.
    fn setup(
        &mut self,
        args: &Args,
        mut on_b: impl FnMut(usize, SocketAddr),
        b_rx: &mpsc::Receiver<(usize, SocketAddr)>,
    ) -> Result<(), String> {
        let n = self.calls.len();
        let start = Instant::now();
        let per_call = Duration::from_secs(1) / args.cps.max(1);
        let mut next = 0usize;
        let give_up = start + per_call * n as u32 + Duration::from_secs(args.setup_timeout_s);
        loop {
            let now = Instant::now();
            while next < n && start + per_call * next as u32 <= now {
                self.send(&self.invite(next), self.switch);
                self.calls[next] = CallState::Inviting {
                    next_retx: now + Duration::from_millis(500),
                    interval: Duration::from_millis(500),
                };
                next += 1;
            }
            for idx in 0..next {
                if let CallState::Inviting { next_retx, interval } = &mut self.calls[idx] {
                    if *next_retx <= now {
                        *interval = (*interval * 2).min(Duration::from_secs(4));
                        *next_retx = now + *interval;
                        let text = self.invite(idx);
                        self.send(&text, self.switch);
                    }
                }
            }
            self.recv_all(|uac, msg, src| uac.on_setup_message(msg, src));
            for (idx, addr) in b_rx.try_iter() {
                if idx < n {
                    on_b(idx, addr);
                }
            }
            let pending = self
                .calls
                .iter()
                .any(|c| matches!(c, CallState::Idle | CallState::Inviting { .. }));
            if !pending || Instant::now() > give_up {
                // Late ACK retransmissions are answered in teardown's loop.
                return Ok(());
            }
        }
    }

    /// Reads every SIP message waiting (and waits up to 2 ms for one).
    fn recv_all(&mut self, mut f: impl FnMut(&mut Uac, Message, SocketAddr)) {
        loop {
            let (len, src) = match self.sock.recv_from(&mut self.buf) {
                Ok(x) => x,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return,
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(e) => {
                    eprintln!("SIP recv: {e}");
                    return;
                }
            };
            match parse_datagram(Bytes::copy_from_slice(&self.buf[..len]), &self.limits) {
                Ok(m) => f(self, m, src),
                Err(e) => eprintln!("unparsable SIP from {src}: {}", e.error),
            }
        }
    }

    fn on_setup_message(&mut self, msg: Message, src: SocketAddr) {
        let Some(code) = msg.status() else {
            // A request from the switch on the caller side (none expected
            // before teardown): answer 200 so it does not retransmit.
            self.reply_ok(&msg, src);
            return;
        };
        let Ok(env) = msg.envelope() else { return };
        let Some(idx) = self.idx_of(&env.call_id) else { return };
        if env.cseq.method != Method::INVITE || !code.is_final() {
            return;
        }
        let to = msg.headers.get(&HeaderName::To).cloned().unwrap_or_default();
        if code.is_success() {
            let contact = msg
                .headers
                .get(&HeaderName::Contact)
                .map(contact_uri)
                .unwrap_or_else(|| format!("sip:{}", self.switch));
            let Some(a_media) = sdp_rtp(&msg.body) else {
                eprintln!("call {idx}: 200 without a usable SDP answer");
                self.calls[idx] = CallState::Failed(code.as_u16());
                return;
            };
            self.ack_2xx(idx, &contact, &to, src);
            if matches!(self.calls[idx], CallState::Inviting { .. }) {
                self.calls[idx] = CallState::Up { to, contact, a_media };
            }
        } else {
            // ACK for a non-2xx final: same branch as the INVITE (§17.1.1.3).
            let text = format!(
                "ACK sip:{NUMBER_PREFIX}{idx:07}@{sw} SIP/2.0\r\n\
                 Via: SIP/2.0/UDP {local};branch=z9hG4bK-ml-inv-{idx};rport\r\n\
                 Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\n\
                 Content-Length: 0\r\n\r\n",
                sw = self.switch,
                local = self.local,
                from = self.caller_party(idx),
                to = String::from_utf8_lossy(&to),
                cid = self.call_id(idx),
            );
            self.send(&text, src);
            if matches!(self.calls[idx], CallState::Inviting { .. }) {
                self.calls[idx] = CallState::Failed(code.as_u16());
            }
        }
    }

    /// Answers what arrives while the media flows: a retransmitted 200
    /// (our ACK was lost) is ACKed again, a BYE from the switch is answered
    /// and the call counted as ended.
    fn poll_during_hold(&mut self) {
        self.recv_all(|uac, msg, src| {
            let Ok(env) = msg.envelope() else { return };
            let Some(idx) = uac.idx_of(&env.call_id) else { return };
            match msg.status() {
                None => {
                    if msg.method() == Some(&Method::BYE) && matches!(uac.calls[idx], CallState::Up { .. }) {
                        uac.calls[idx] = CallState::Failed(0);
                        uac.ended_by_switch += 1;
                    }
                    uac.reply_ok(&msg, src);
                }
                Some(code) if code.is_success() && env.cseq.method == Method::INVITE => {
                    if let CallState::Up { to, contact, .. } = &uac.calls[idx] {
                        uac.ack_2xx(idx, contact, to, src);
                    }
                }
                Some(_) => {}
            }
        });
    }

    fn ack_2xx(&self, idx: usize, contact: &str, to: &Bytes, dest: SocketAddr) {
        let text = format!(
            "ACK {contact} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-ml-ack-{idx};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\n\
             Content-Length: 0\r\n\r\n",
            local = self.local,
            from = self.caller_party(idx),
            to = String::from_utf8_lossy(to),
            cid = self.call_id(idx),
        );
        self.send(&text, dest);
    }

    fn bye(&self, idx: usize, contact: &str, to: &Bytes) -> String {
        format!(
            "BYE {contact} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-ml-bye-{idx};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 2 BYE\r\n\
             Content-Length: 0\r\n\r\n",
            local = self.local,
            from = self.caller_party(idx),
            to = String::from_utf8_lossy(to),
            cid = self.call_id(idx),
        )
    }

    fn reply_ok(&self, req: &Message, src: SocketAddr) {
        if req.method() == Some(&Method::ACK) {
            return;
        }
        let resp = Message::response_to(req, StatusCode::OK, None, Some("ml-uac"));
        let _ = self.sock.send_to(&resp.to_bytes(), src);
    }

    /// BYEs every call that is up at `--cps`, retransmitting until its 200
    /// (or 8 s); returns how many were answered 200.
    fn teardown(&mut self, args: &Args) -> Result<usize, String> {
        let up: Vec<usize> = (0..self.calls.len())
            .filter(|&i| matches!(self.calls[i], CallState::Up { .. }))
            .collect();
        let mut pending: HashMap<usize, (Instant, Duration)> = HashMap::new();
        let mut done = 0usize;
        let per_call = Duration::from_secs(1) / args.cps.max(1);
        let start = Instant::now();
        let give_up = start + per_call * up.len() as u32 + Duration::from_secs(8);
        let mut next = 0usize;
        while Instant::now() < give_up && (next < up.len() || !pending.is_empty()) {
            let now = Instant::now();
            while next < up.len() && start + per_call * next as u32 <= now {
                let idx = up[next];
                if let CallState::Up { to, contact, .. } = &self.calls[idx] {
                    self.send(&self.bye(idx, contact, to), self.switch);
                }
                pending.insert(idx, (now + Duration::from_millis(500), Duration::from_millis(500)));
                next += 1;
            }
            for (idx, (at, interval)) in pending.iter_mut() {
                if *at <= now {
                    *interval = (*interval * 2).min(Duration::from_secs(4));
                    *at = now + *interval;
                    if let CallState::Up { to, contact, .. } = &self.calls[*idx] {
                        self.send(&self.bye(*idx, contact, to), self.switch);
                    }
                }
            }
            self.recv_all(|uac, msg, src| {
                let Some(code) = msg.status() else {
                    uac.reply_ok(&msg, src);
                    return;
                };
                let Ok(env) = msg.envelope() else { return };
                let Some(idx) = uac.idx_of(&env.call_id) else { return };
                if env.cseq.method == Method::INVITE && code.is_success() {
                    // A 200 retransmitted because an ACK was lost.
                    if let CallState::Up { to, contact, .. } = &uac.calls[idx] {
                        uac.ack_2xx(idx, contact, to, src);
                    }
                } else if env.cseq.method == Method::BYE && code.is_final() && pending.remove(&idx).is_some() {
                    if code.is_success() {
                        done += 1;
                    } else {
                        eprintln!("call {idx}: BYE answered {}", code.as_u16());
                    }
                }
            });
        }
        Ok(done)
    }
}

/// The URI inside a Contact value (`<sip:...>;params` or a bare URI).
fn contact_uri(v: &Bytes) -> String {
    let s = String::from_utf8_lossy(v);
    match (s.find('<'), s.find('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].to_string(),
        _ => s.split(';').next().unwrap_or_default().trim().to_string(),
    }
}

/// The audio RTP address an SDP body names.
fn sdp_rtp(body: &[u8]) -> Option<SocketAddr> {
    let s = switchboard::sdp::parse(body).ok()?;
    let (i, m) = s.media.iter().enumerate().find(|(_, m)| m.port != 0)?;
    let c = s.media_connection(i).or(s.connection())?;
    Some(SocketAddr::new(c.ip_addr()?, m.port))
}

// ---------------------------------------------------------------------------
// SIP: the callee side
// ---------------------------------------------------------------------------

#[derive(Default)]
struct UasStats {
    invites: usize,
    byes: usize,
}

/// Answers every INVITE 200 with an SDP naming the shared callee RTP socket,
/// reports (call index, the switch's B-side media address) for new ones,
/// re-sends the 200 for retransmitted INVITEs, answers BYE 200.
fn uas_loop(
    sock: &UdpSocket,
    contact: SocketAddr,
    rtp_port: u16,
    stop: &AtomicBool,
    report: &mpsc::Sender<(usize, SocketAddr)>,
) -> UasStats {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    let limits = Limits::default();
    let mut answered: HashMap<Bytes, Bytes> = HashMap::new();
    let mut stats = UasStats::default();
    let mut buf = vec![0u8; 65536];
    let sdp = Bytes::from(format!(
        "v=0\r\no=media-load-uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    ));
    while !stop.load(Ordering::Relaxed) {
        let (len, src) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
            Err(e) => {
                eprintln!("UAS recv: {e}");
                break;
            }
        };
        let Ok(req) = parse_datagram(Bytes::copy_from_slice(&buf[..len]), &limits) else {
            continue;
        };
        let Some(method) = req.method().cloned() else { continue };
        if method == Method::ACK {
            continue;
        }
        let call_id = req.headers.get(&HeaderName::CallId).cloned().unwrap_or_default();
        if method == Method::INVITE {
            if let Some(resp) = answered.get(&call_id) {
                let _ = sock.send_to(resp, src);
                continue;
            }
            let idx = req
                .uri()
                .and_then(|u| u.user.clone())
                .and_then(|u| std::str::from_utf8(&u).ok()?.strip_prefix(NUMBER_PREFIX)?.parse().ok());
            let (Some(idx), Some(b_media)) = (idx, sdp_rtp(&req.body)) else {
                let resp = Message::response_to(&req, StatusCode::NOT_ACCEPTABLE_HERE, None, Some("ml-uas"));
                let _ = sock.send_to(&resp.to_bytes(), src);
                continue;
            };
            let mut resp = Message::response_to(&req, StatusCode::OK, None, Some(&format!("ml-uas-{idx}")));
            resp.headers
                .push(HeaderName::Contact, format!("<sip:{NUMBER_PREFIX}{idx:07}@{contact}>"));
            resp.headers.push(HeaderName::ContentType, "application/sdp");
            resp.body = sdp.clone();
            let bytes = resp.to_bytes();
            let _ = sock.send_to(&bytes, src);
            answered.insert(call_id, bytes);
            stats.invites += 1;
            let _ = report.send((idx, b_media));
        } else {
            if method == Method::BYE {
                stats.byes += 1;
                answered.remove(&call_id);
            }
            let resp = Message::response_to(&req, StatusCode::OK, None, Some("ml-uas"));
            let _ = sock.send_to(&resp.to_bytes(), src);
        }
    }
    stats
}

// ---------------------------------------------------------------------------
// Media
// ---------------------------------------------------------------------------

/// Fills a payload: direction, call index, packet number, then a fill that
/// depends on all three, so any altered byte is noticed.
fn fill(payload: &mut [u8], dir: u8, idx: u32, k: u32) {
    payload[0] = dir;
    payload[1..5].copy_from_slice(&idx.to_be_bytes());
    payload[5..9].copy_from_slice(&k.to_be_bytes());
    let seed = (idx.wrapping_mul(2_654_435_761) ^ k.wrapping_mul(40_503) ^ u32::from(dir)) as u8;
    for (i, b) in payload[9..].iter_mut().enumerate() {
        *b = seed.wrapping_add((i as u8).wrapping_mul(7));
    }
}

fn rtp_header(out: &mut [u8], seq: u16, ts: u32, ssrc: u32) {
    out[0] = 0x80;
    out[1] = 0; // PCMU
    out[2..4].copy_from_slice(&seq.to_be_bytes());
    out[4..8].copy_from_slice(&ts.to_be_bytes());
    out[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

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
    /// The switch's context switches per second (voluntary, involuntary).
    switch_ctx_per_s: Option<(f64, f64)>,
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
    wall_s: f64,
    calls_short: usize,
    min_per_call: u32,
    switch_cpu: Option<CpuUse>,
    switch_threads: Vec<(String, f64)>,
    self_cpu: Option<CpuUse>,
}

/// CPU used over the hold.
#[derive(Clone, Copy)]
struct CpuUse {
    /// Share of one core (user + system).
    percent: f64,
    /// Of which in the kernel (system time).
    system_percent: f64,
    /// CPU seconds.
    seconds: f64,
}

impl CpuUse {
    fn between(a: Ticks, b: Ticks, hz: f64, wall_s: f64) -> CpuUse {
        let user = b.user.saturating_sub(a.user) as f64 / hz;
        let system = b.system.saturating_sub(a.system) as f64 / hz;
        CpuUse {
            percent: 100.0 * (user + system) / wall_s,
            system_percent: 100.0 * system / wall_s,
            seconds: user + system,
        }
    }
}

impl MediaResult {
    fn print_details(&self, live: usize) {
        println!(
            "media: {} ticks in {:.2} s ({:.0} packets/s sent of {} nominal); sent A->B {} B->A {}; forwarded A->B {} B->A {}; corrupt {}; \
             out of order {}; send errors {}; late ticks {} (max lag {:.1} ms); calls short of packets {} \
             (fewest received by a call in one direction: {} of {}); receive-buffer drops: {} at the \
             switch's A-side sockets (A->B), {} at its B-side sockets (B->A), {} at the generator's",
            self.ticks,
            self.wall_s,
            (self.sent_ab + self.sent_ba) as f64 / self.wall_s,
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
        if let Some(c) = self.switch_cpu {
            let threads: Vec<String> = self
                .switch_threads
                .iter()
                .map(|(name, pct)| format!("{name} {pct:.1}%"))
                .collect();
            println!(
                "switch CPU over the hold: {:.1}% of a core ({:.1}% user, {:.1}% system) for {live} calls \
                 ({:.4}% per call); by thread: {}",
                c.percent,
                c.percent - c.system_percent,
                c.system_percent,
                c.percent / live.max(1) as f64,
                threads.join(", ")
            );
        }
        if let Some((v, i)) = self.switch_ctx_per_s {
            println!("switch context switches over the hold: {v:.0}/s voluntary (sleeps), {i:.0}/s involuntary");
        }
        if let Some(c) = self.self_cpu {
            println!(
                "generator CPU over the hold: {:.1}% of a core ({:.1}% system)",
                c.percent, c.system_percent
            );
        }
    }
}

/// Datagrams the kernel dropped because a socket's receive buffer was full,
/// per local UDP port (`drops`, the last column of /proc/net/udp{,6}).
fn udp_drops() -> HashMap<u16, u64> {
    let mut out: HashMap<u16, u64> = HashMap::new();
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(drops)) = (f.get(1), f.last()) else {
                continue;
            };
            let port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if let (Some(port), Ok(d)) = (port, drops.parse::<u64>()) {
                *out.entry(port).or_default() += d;
            }
        }
    }
    out
}

/// Context switches (voluntary, involuntary) summed over a process's threads.
fn context_switches(pid: u32) -> (u64, u64) {
    let mut total = (0, 0);
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return total;
    };
    for e in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        for line in text.lines() {
            let value = |l: &str| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("voluntary_ctxt_switches:") {
                total.0 += value(line);
            } else if line.starts_with("nonvoluntary_ctxt_switches:") {
                total.1 += value(line);
            }
        }
    }
    total
}

/// Drops on `ports` between two [`udp_drops`] readings.
fn drops_between(a: &HashMap<u16, u64>, b: &HashMap<u16, u64>, ports: impl IntoIterator<Item = u16>) -> u64 {
    ports
        .into_iter()
        .map(|p| {
            b.get(&p)
                .copied()
                .unwrap_or(0)
                .saturating_sub(a.get(&p).copied().unwrap_or(0))
        })
        .sum()
}

/// CPU time of a task from /proc, in clock ticks.
#[derive(Clone, Copy, Default)]
struct Ticks {
    user: u64,
    system: u64,
}

/// The command name and CPU ticks (utime, stime) of a /proc stat file.
fn stat_ticks(path: &str) -> Option<(String, Ticks)> {
    let s = std::fs::read_to_string(path).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let name = s[open + 1..close].to_string();
    // Fields after the command: state is field 3; utime 14, stime 15.
    let f: Vec<&str> = s[close + 2..].split_whitespace().collect();
    Some((
        name,
        Ticks {
            user: f.get(11)?.parse().ok()?,
            system: f.get(12)?.parse().ok()?,
        },
    ))
}

/// Per-thread CPU ticks of a process, keyed by thread id.
fn thread_ticks(pid: u32) -> HashMap<u32, (String, Ticks)> {
    let mut out = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for e in dir.flatten() {
            let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(v) = stat_ticks(&format!("/proc/{pid}/task/{tid}/stat")) {
                out.insert(tid, v);
            }
        }
    }
    out
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
    let sw_stat = args.switch_pid.map(|p| format!("/proc/{p}/stat"));
    let sw0 = sw_stat.as_deref().and_then(stat_ticks).map(|(_, t)| t);
    let sw_threads0 = args.switch_pid.map(thread_ticks).unwrap_or_default();
    let self0 = stat_ticks("/proc/self/stat").map(|(_, t)| t);
    let drops0 = udp_drops();
    let ctx0 = args.switch_pid.map(context_switches);
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
    let wall_s = start.elapsed().as_secs_f64();
    let sw1 = sw_stat.as_deref().and_then(stat_ticks).map(|(_, t)| t);
    let sw_threads1 = args.switch_pid.map(thread_ticks).unwrap_or_default();
    let ctx1 = args.switch_pid.map(context_switches);
    let self1 = stat_ticks("/proc/self/stat").map(|(_, t)| t);
    // Let the last packets land, then stop the receivers.
    std::thread::sleep(Duration::from_millis(500));
    let drops1 = udp_drops();
    stop.store(true, Ordering::Relaxed);
    let ba = rx_ba.join().map_err(|_| "receiver panicked".to_string())?;
    let ab = rx_ab.join().map_err(|_| "receiver panicked".to_string())?;

    let cpu = |a: Option<Ticks>, b: Option<Ticks>| Some(CpuUse::between(a?, b?, hz, wall_s));
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for (tid, (name, t1)) in &sw_threads1 {
        let t0 = sw_threads0.get(tid).map(|(_, t)| t.user + t.system).unwrap_or(0);
        *by_name.entry(name.clone()).or_default() += (t1.user + t1.system).saturating_sub(t0);
    }
    let mut switch_threads: Vec<(String, f64)> = by_name
        .into_iter()
        .map(|(name, t)| (name, 100.0 * t as f64 / hz / wall_s))
        .filter(|(_, p)| *p > 0.0)
        .collect();
    switch_threads.sort_by(|a, b| b.1.total_cmp(&a.1));
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
    let switch_ctx_per_s = match (ctx0, ctx1) {
        (Some(a), Some(b)) => Some((
            b.0.saturating_sub(a.0) as f64 / wall_s,
            b.1.saturating_sub(a.1) as f64 / wall_s,
        )),
        _ => None,
    };
    Ok(MediaResult {
        switch_ctx_per_s,
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
        wall_s,
        calls_short,
        min_per_call: if calls.is_empty() { 0 } else { min_per_call },
        switch_cpu: cpu(sw0, sw1),
        switch_threads,
        self_cpu: cpu(self0, self1),
    })
}
