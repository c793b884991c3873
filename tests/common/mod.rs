//! Shared harness for the end-to-end tests in `tests/*.rs`.
//!
//! Why it exists: DESIGN.md convention 7 keeps real sockets out of the pure
//! cores; only `tests/*` end-to-end files touch them, on 127.0.0.1 with
//! ephemeral ports. This module gives those files one way to
//!
//! * start the real `switchboard` binary on free loopback ports, with its
//!   SQLite store and `cdr.jsonl` in a temp dir, and wait until it answers
//!   an OPTIONS ([`Switch`]);
//! * drive SIPp scenarios from `tests/sipp/` as UAC or background UAS and
//!   read their verdict ([`Sipp`], [`SippResult`], [`SippHandle`]);
//! * register a SIPp callee and leave it waiting for a call
//!   ([`spawn_registered_callee`]);
//! * drive baresip 1.0.0 headless over `ctrl_tcp` ([`baresip::Baresip`]);
//! * read the UDP datagrams of a classic pcap file ([`pcap::read_udp`]);
//! * talk to the desktop API over HTTP and WebSocket ([`desk`]);
//! * build a queue call's parties (customer, desk phones, agents' event
//!   streams) and listen to who hears whom ([`conference`]);
//! * pick ports and poll for readiness with a bounded deadline
//!   ([`free_port`], [`wait_for_file`], [`wait_until`]).
//!
//! SIPp and baresip are required: when missing, the helpers panic with the
//! install command (`apt-get install sip-tester baresip`) instead of
//! skipping, so a green run always means the tests ran.
//!
//! Include it from a test file with `mod common;`.
#![allow(dead_code)]

pub mod baresip;
pub mod caller;
pub mod chromium;
pub mod conference;
pub mod desk;
pub mod media;
pub mod pcap;
mod sipp;
pub mod ua;

#[allow(unused_imports)]
pub use sipp::*;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Loopback address every test binds to.
pub const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// How often bounded waits poll.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How long [`Switch::start`] waits for the switch to answer OPTIONS.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Default size of the RTP port block handed to the switch (4 ports a call:
/// RTP and RTCP on each of two legs).
pub const DEFAULT_RTP_PORTS: u16 = 200;

/// `tests/sipp/` in this checkout.
pub fn sipp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("sipp")
}

/// A scenario file in `tests/sipp/` (or the path itself if it exists).
pub fn scenario(name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() || p.exists() {
        return p.to_path_buf();
    }
    let p = sipp_dir().join(name);
    assert!(p.exists(), "no SIPp scenario {}", p.display());
    p
}

/// The embedded default config (`sip-profiles/`) in this checkout.
pub fn default_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sip-profiles")
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

/// Ports already handed out by this process, so two tests running in
/// parallel threads never get the same one.
fn handed_out() -> &'static Mutex<BTreeSet<u16>> {
    static SET: OnceLock<Mutex<BTreeSet<u16>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// The range we pick from: below the kernel's ephemeral range, so a socket
/// some other program binds to port 0 can never take a port we chose.
fn port_range() -> (u16, u16) {
    static RANGE: OnceLock<(u16, u16)> = OnceLock::new();
    *RANGE.get_or_init(|| {
        let eph_lo = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
            .unwrap_or(32768);
        if eph_lo >= 16000 {
            (10000, eph_lo.min(32768))
        } else {
            (eph_lo.max(1024), 60000)
        }
    })
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.finish()
}

fn udp_free(port: u16) -> bool {
    UdpSocket::bind((LOCALHOST, port)).is_ok()
}

fn tcp_free(port: u16) -> bool {
    TcpListener::bind((LOCALHOST, port)).is_ok()
}

/// How many disjoint slices of the port range concurrently running test
/// processes get. Ports are reserved per process only, and a switch binds
/// its RTP range lazily, so two test binaries running in parallel (as in
/// CI) could otherwise hand out the same port: a switch then fails to bind
/// its SIP port, or a call gets 503 Media Ports Unavailable.
const PORT_SLOTS: u16 = 6;

/// Loopback TCP ports held (listening) as the slots' locks, below the range
/// ports are picked from; the OS frees a slot when its process exits.
const SLOT_LOCK_BASE: u16 = 9900;

/// This process's slice of [`port_range`], if it could claim a free slot.
fn slot_range() -> Option<(u16, u16)> {
    static SLOT: OnceLock<Option<(TcpListener, u16)>> = OnceLock::new();
    let slot = SLOT.get_or_init(|| {
        (0..PORT_SLOTS).find_map(|i| {
            TcpListener::bind((LOCALHOST, SLOT_LOCK_BASE + i))
                .ok()
                .map(|lock| (lock, i))
        })
    });
    let (_, i) = slot.as_ref()?;
    let (lo, hi) = port_range();
    let span = (hi - lo) / PORT_SLOTS;
    Some((lo + i * span, lo + (i + 1) * span))
}

/// Reserves `count` consecutive ports free on 127.0.0.1 (UDP, and TCP too
/// when `tcp`), returns the first. Never returns a port twice per process;
/// picks from this process's slot ([`slot_range`]) first, then anywhere.
pub fn free_port_block(count: u16, tcp: bool) -> u16 {
    assert!(count > 0);
    let (lo, hi) = port_range();
    assert!(
        (hi - lo).saturating_sub(count) > 0,
        "port range {lo}-{hi} too small for {count} ports"
    );
    let tries = slot_range().map(|r| (r, 1000)).into_iter().chain([((lo, hi), 2000)]);
    for ((lo, hi), attempts) in tries {
        let span = (hi - lo).saturating_sub(count);
        if span == 0 {
            continue;
        }
        for _ in 0..attempts {
            let base = lo + (random_u64() % u64::from(span)) as u16;
            let mut set = handed_out().lock().unwrap();
            if (base..base + count).any(|p| set.contains(&p)) {
                continue;
            }
            if (base..base + count).all(|p| udp_free(p) && (!tcp || tcp_free(p))) {
                set.extend(base..base + count);
                return base;
            }
        }
    }
    panic!("could not find {count} free consecutive loopback ports in {lo}-{hi}");
}

/// A port free for both UDP and TCP on 127.0.0.1 (a SIP listener binds both).
pub fn free_port() -> u16 {
    free_port_block(1, true)
}

/// A port free for UDP on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    free_port_block(1, false)
}

/// True while something holds the UDP port on 127.0.0.1 (or the wildcard).
pub fn udp_port_bound(port: u16) -> bool {
    !udp_free(port)
}

/// True while something listens on the TCP port on 127.0.0.1.
pub fn tcp_port_bound(port: u16) -> bool {
    !tcp_free(port)
}

// ---------------------------------------------------------------------------
// Bounded waits
// ---------------------------------------------------------------------------

/// Polls `cond` every [`POLL_INTERVAL`] until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Waits until `path` exists (a scenario's `<exec command="touch ...">`,
/// a file the switch writes...). Returns false on timeout.
pub fn wait_for_file(path: impl AsRef<Path>, timeout: Duration) -> bool {
    let path = path.as_ref();
    wait_until(timeout, || path.exists())
}

/// Waits until `path` exists and contains `needle` (e.g. a CDR line).
pub fn wait_for_file_containing(path: impl AsRef<Path>, needle: &str, timeout: Duration) -> bool {
    let path = path.as_ref();
    wait_until(timeout, || {
        fs::read_to_string(path).map(|s| s.contains(needle)).unwrap_or(false)
    })
}

fn read_lossy(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Waits for a child with a hard deadline; kills it when the deadline passes.
/// Returns `None` if it had to be killed.
fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(e) => panic!("waiting for child {}: {e}", child.id()),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Sends SIGTERM to a child (through `kill(1)`: no libc dependency).
fn sigterm(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------
// Raw SIP over UDP
// ---------------------------------------------------------------------------

/// Sends one datagram `msg` to `to` from a fresh loopback socket and waits up
/// to `timeout` for the first datagram back. `\n` line ends are turned into
/// CRLF.
pub fn sip_udp_exchange(to: SocketAddr, msg: &str, timeout: Duration) -> Option<String> {
    let sock = UdpSocket::bind((LOCALHOST, 0)).expect("bind UDP");
    sip_udp_exchange_on(&sock, to, msg, timeout)
}

fn sip_udp_exchange_on(sock: &UdpSocket, to: SocketAddr, msg: &str, timeout: Duration) -> Option<String> {
    let msg = crlf(msg);
    sock.send_to(msg.as_bytes(), to).ok()?;
    let mut buf = vec![0u8; 65536];
    if timeout.is_zero() {
        return None;
    }
    sock.set_read_timeout(Some(timeout)).ok()?;
    // A timeout, or ICMP port unreachable from an earlier send, is no answer.
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn crlf(msg: &str) -> String {
    msg.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// An out-of-dialog OPTIONS request from `from` to `to`.
pub fn options_request(to: SocketAddr, from: SocketAddr, seq: u64) -> String {
    format!(
        "OPTIONS sip:{to} SIP/2.0\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-harness-{seq}-{r:x};rport\n\
         Max-Forwards: 70\n\
         From: <sip:harness@{from}>;tag=h{r:x}\n\
         To: <sip:{to}>\n\
         Call-ID: harness-{seq}-{r:x}@127.0.0.1\n\
         CSeq: {seq} OPTIONS\n\
         Accept: application/sdp\n\
         Content-Length: 0\n\n",
        r = random_u64() & 0xffff_ffff
    )
}

/// Sends one OPTIONS to `to` and returns the response, if any.
pub fn send_options(to: SocketAddr, timeout: Duration) -> Option<String> {
    let sock = UdpSocket::bind((LOCALHOST, 0)).expect("bind UDP");
    let from = sock.local_addr().unwrap();
    sip_udp_exchange_on(&sock, to, &options_request(to, from, 1), timeout)
}

// ---------------------------------------------------------------------------
// The switch under test
// ---------------------------------------------------------------------------

/// A copy of a config directory the test may patch before starting the
/// switch with it (e.g. point a trunk at a SIPp port).
pub struct ConfigDir {
    dir: TempDir,
}

impl ConfigDir {
    /// Copies `sip-profiles/` (the embedded default) into a temp dir.
    pub fn from_default() -> ConfigDir {
        Self::copy_of(&default_config_dir())
    }

    /// Copies another profile dir, e.g. `sip-profiles/loadtest`.
    pub fn copy_of(src: &Path) -> ConfigDir {
        let dir = tempfile::Builder::new().prefix("switchboard-cfg-").tempdir().unwrap();
        copy_dir(src, dir.path());
        ConfigDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces every `from` with `to` in `file` (relative to the dir);
    /// panics if `from` does not occur, so a stale patch fails loudly.
    pub fn patch(&self, file: &str, from: &str, to: &str) -> &Self {
        let p = self.dir.path().join(file);
        let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(text.contains(from), "{}: no {from:?} to patch", p.display());
        fs::write(&p, text.replace(from, to)).unwrap();
        self
    }

    /// Writes (or overwrites) `file` with `contents`.
    pub fn write(&self, file: &str, contents: &str) -> &Self {
        let p = self.dir.path().join(file);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(p, contents).unwrap();
        self
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap_or_else(|e| panic!("{}: {e}", src.display())) {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// The binary under test: `$SWITCHBOARD_BIN` if set (e.g. a release build
/// for load tests), else the one cargo built for this test run.
pub fn switch_binary() -> PathBuf {
    std::env::var_os("SWITCHBOARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_switchboard")))
}

/// Options for starting the switch; [`Switch::start`] and
/// [`Switch::start_with`] are shorthands.
#[derive(Default)]
pub struct SwitchBuilder {
    config_dir: Option<PathBuf>,
    args: Vec<OsString>,
    rtp_ports: Option<u16>,
    envs: Vec<(OsString, OsString)>,
    startup_timeout: Option<Duration>,
    data_dir: Option<PathBuf>,
    listen: Option<(SocketAddr, SocketAddr)>,
}

impl SwitchBuilder {
    /// `--config DIR` (default: the embedded `sip-profiles/`).
    pub fn config(mut self, dir: impl AsRef<Path>) -> Self {
        self.config_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Extra argument after the harness's own `run` arguments.
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Size of the `--rtp-ports` block (default [`DEFAULT_RTP_PORTS`]).
    pub fn rtp_ports(mut self, count: u16) -> Self {
        self.rtp_ports = Some(count);
        self
    }

    /// Environment variable for the switch process (e.g. a trunk secret).
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.envs.push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        self
    }

    pub fn startup_timeout(mut self, t: Duration) -> Self {
        self.startup_timeout = Some(t);
        self
    }

    /// `--data-dir DIR` instead of a fresh one (e.g. a restart on the data
    /// of an earlier switch: `sw.data_dir()`).
    pub fn data_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.data_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Fixed `--sip-listen` addresses for the internal and external profiles
    /// instead of free 127.0.0.1 ports (a restart on the same ports, IPv6).
    pub fn listen(mut self, internal: SocketAddr, external: SocketAddr) -> Self {
        self.listen = Some((internal, external));
        self
    }

    pub fn start(self) -> Switch {
        Switch::launch(self)
    }
}

/// A running `switchboard run` on free loopback ports. Killed on drop; its
/// log is printed if the test is panicking.
pub struct Switch {
    child: Child,
    dir: TempDir,
    data_dir: PathBuf,
    log_path: PathBuf,
    internal: SocketAddr,
    external: SocketAddr,
    rtp: (u16, u16),
    api: SocketAddr,
    command: String,
}

impl Switch {
    /// The switch on its embedded default config.
    pub fn start() -> Switch {
        Switch::builder().start()
    }

    /// The switch with `--config DIR` (if given) and extra arguments.
    pub fn start_with(config_dir: Option<&Path>, extra_args: &[&str]) -> Switch {
        let mut b = Switch::builder().args(extra_args);
        if let Some(d) = config_dir {
            b = b.config(d);
        }
        b.start()
    }

    pub fn builder() -> SwitchBuilder {
        SwitchBuilder::default()
    }

    /// Starts the switch; when it exits at startup because a port it was
    /// given got taken meanwhile (another test process picked it between
    /// our check and the switch's bind: ports are only reserved per
    /// process), tries again on fresh ports.
    fn launch(b: SwitchBuilder) -> Switch {
        const ATTEMPTS: u32 = 5;
        let mut attempt = 1;
        loop {
            match Switch::launch_once(&b) {
                Ok(sw) => return sw,
                Err(why) if attempt < ATTEMPTS && why.contains("Address already in use") => {
                    eprintln!("switchboard could not bind a port (attempt {attempt}), retrying on fresh ports");
                    attempt += 1;
                }
                Err(why) => panic!("{why}"),
            }
        }
    }

    fn launch_once(b: &SwitchBuilder) -> Result<Switch, String> {
        let dir = tempfile::Builder::new().prefix("switchboard-e2e-").tempdir().unwrap();
        let data_dir = b.data_dir.clone().unwrap_or_else(|| dir.path().join("data"));
        fs::create_dir_all(&data_dir).unwrap();
        let log_path = dir.path().join("switchboard.log");

        let (internal, external) = b.listen.unwrap_or_else(|| {
            (
                SocketAddr::from((LOCALHOST, free_port())),
                SocketAddr::from((LOCALHOST, free_port())),
            )
        });
        let n_rtp = b.rtp_ports.unwrap_or(DEFAULT_RTP_PORTS);
        let rtp_lo = free_port_block(n_rtp, false);
        let rtp = (rtp_lo, rtp_lo + n_rtp - 1);
        let api = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));

        let mut cmd = Command::new(switch_binary());
        cmd.arg("run");
        if let Some(c) = &b.config_dir {
            cmd.arg("--config").arg(c);
        }
        cmd.arg("--sip-listen")
            .arg(format!("internal={internal}"))
            .arg("--sip-listen")
            .arg(format!("external={external}"))
            .arg("--rtp-ports")
            .arg(format!("{}-{}", rtp.0, rtp.1))
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--api-listen")
            .arg(api.to_string())
            .args(&b.args);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "debug");
        }
        cmd.env("RUST_BACKTRACE", "1");
        for (k, v) in &b.envs {
            cmd.env(k, v);
        }
        let log = File::create(&log_path).unwrap();
        cmd.stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log);
        let command = format!("{cmd:?}");
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {command}: {e}"));

        let mut sw = Switch {
            child,
            dir,
            data_dir,
            log_path,
            internal,
            external,
            rtp,
            api,
            command,
        };
        sw.wait_ready(b.startup_timeout.unwrap_or(STARTUP_TIMEOUT))?;
        Ok(sw)
    }

    /// Polls OPTIONS on the internal port until a `SIP/2.0 200` comes back.
    /// `Err` (with the log) if the switch exited first; panics on timeout.
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let lo: std::net::IpAddr = match self.internal {
            SocketAddr::V4(_) => LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        };
        let sock = UdpSocket::bind((lo, 0)).expect("bind UDP");
        let from = sock.local_addr().unwrap();
        let deadline = Instant::now() + timeout;
        let mut last = None;
        let mut seq = 0;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!(
                    "switchboard exited during startup ({status})\ncommand: {}\n==== log ====\n{}",
                    self.command,
                    self.log()
                ));
            }
            seq += 1;
            let req = options_request(self.internal, from, seq);
            if let Some(resp) = sip_udp_exchange_on(&sock, self.internal, &req, POLL_INTERVAL) {
                if resp.starts_with("SIP/2.0 200") {
                    return Ok(());
                }
                last = Some(resp);
            } else {
                // Refused (nothing bound yet) returns at once: pace the loop.
                std::thread::sleep(POLL_INTERVAL);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "switchboard did not answer OPTIONS with 200 on {} within {timeout:?}\n\
                     last response: {last:?}\ncommand: {}\n==== log ====\n{}",
                    self.internal,
                    self.command,
                    self.log()
                );
            }
        }
    }

    /// The `internal` profile (phones, digest auth).
    pub fn internal_addr(&self) -> SocketAddr {
        self.internal
    }

    /// The control API's address (`--api-listen`, a free loopback port).
    pub fn api_addr(&self) -> SocketAddr {
        self.api
    }

    /// One HTTP/1.1 request to the control API with the demo admin token
    /// ([`desk::admin_http`]): (status, JSON body).
    pub fn http(&self, method: &str, path: &str) -> (u16, serde_json::Value) {
        let r = desk::admin_http(self.api, method, path, None);
        (r.status, r.json())
    }

    /// The `external` profile (trunks).
    pub fn external_addr(&self) -> SocketAddr {
        self.external
    }

    /// The `--rtp-ports` range given to the switch (inclusive).
    pub fn rtp_ports(&self) -> (u16, u16) {
        self.rtp
    }

    /// `--data-dir`: SQLite store and `cdr.jsonl`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `data_dir()/cdr.jsonl`.
    pub fn cdr_path(&self) -> PathBuf {
        self.data_dir.join("cdr.jsonl")
    }

    /// The CDR lines written so far, parsed.
    pub fn cdrs(&self) -> Vec<serde_json::Value> {
        read_lossy(&self.cdr_path())
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad CDR line {l:?}: {e}")))
            .collect()
    }

    /// Waits until at least `n` CDR lines exist.
    pub fn wait_for_cdrs(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let mut cdrs = Vec::new();
        let ok = wait_until(timeout, || {
            cdrs = self.cdrs();
            cdrs.len() >= n
        });
        assert!(
            ok,
            "expected {n} CDRs within {timeout:?}, got {}: {cdrs:#?}",
            cdrs.len()
        );
        cdrs
    }

    /// A temp dir owned by this switch for the test's own files
    /// (readiness files, configs, recordings).
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything the switch printed so far (stdout and stderr).
    pub fn log(&self) -> String {
        read_lossy(&self.log_path)
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.log().contains(needle))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// None while running.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// SIGTERM, then wait up to `timeout` for a clean exit (DESIGN.md
    /// convention 10). `None` if it had to be killed.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.child.try_wait().unwrap() {
            return Some(s);
        }
        sigterm(&self.child);
        wait_child(&mut self.child, timeout)
    }

    /// SIGKILL, as a crash or `kill -9` would stop it: nothing is closed
    /// cleanly (the store keeps what was committed).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGHUP (config reload).
    pub fn reload(&self) {
        let _ = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status();
    }

    /// One OPTIONS to `addr` (e.g. `external_addr()`), the response if any.
    pub fn options(&self, addr: SocketAddr) -> Option<String> {
        send_options(addr, Duration::from_secs(2))
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "==== switchboard log ({}) ====\ncommand: {}\n{}\n==== end of switchboard log ====",
                self.log_path.display(),
                self.command,
                self.log()
            );
            if std::env::var_os("SWITCHBOARD_KEEP_TEST_DIRS").is_some() {
                let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
                eprintln!("kept {}", dir.keep().display());
            }
        }
    }
}
