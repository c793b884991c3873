//! baresip 1.0.0 as a real softphone in end-to-end tests.
//!
//! Why: SIPp follows scripts; baresip is an independent SIP stack (libre)
//! that registers, answers, sends RTP and reacts to our messages the way a
//! deployed phone does.
//!
//! How: each [`Baresip`] gets a temp config dir from
//! `tests/baresip/config.template` (headless: `ausine` source, `aubridge`
//! player, no ALSA/Pulse), listens on 127.0.0.1 only, and is driven through
//! the `ctrl_tcp` module: netstring-framed JSON commands
//! (`{"command":"dial","params":"1002","token":"7"}`) and the UA events it
//! broadcasts (`REGISTER_OK`, `CALL_INCOMING`, `CALL_RINGING`,
//! `CALL_ESTABLISHED`, `CALL_CLOSED`, ...). Accounts are added after the
//! control connection is up (`uanew`), so no event is missed.
//!
//! Known limit found on this machine: libre in 1.0.0 fails a registration
//! outright ("Register: Function not implemented") if ANY challenge in the
//! 401 uses an algorithm other than MD5, whatever the order.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::{free_port_block, read_lossy, LOCALHOST, POLL_INTERVAL};

/// Panics (never skips) when `baresip` is not installed.
pub fn require_baresip() {
    match Command::new("baresip")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "\n\n*** `baresip` is not on PATH. The end-to-end tests need baresip 1.0: ***\n\
             ***     sudo apt-get install -y baresip                                ***\n\
             *** (or run .ci/run, which installs everything)                        ***\n\n"
        ),
        Err(e) => panic!("cannot run baresip: {e}"),
    }
}

/// A SIP account line for `uanew`.
#[derive(Clone, Debug)]
pub struct Account {
    pub user: String,
    pub password: String,
    /// Registrar / domain: the switch's internal profile.
    pub registrar: SocketAddr,
    /// `regint` seconds; 0 = do not register.
    pub regint: u32,
    /// `auto` answers incoming calls at once; `manual` waits for
    /// [`Baresip::accept`].
    pub answermode: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// baresip's media encryption (`mediaenc`): `srtp` (SDES keys over
    /// RTP/AVP, best effort), `srtp-mand` (RTP/SAVP), or none.
    pub mediaenc: Option<String>,
}

impl Account {
    /// A demo phone of the default config: `1001` / `demo-1001`, UDP,
    /// registering every 60 s, auto-answer.
    pub fn demo(ext: u32, registrar: SocketAddr) -> Account {
        Account {
            user: ext.to_string(),
            password: format!("demo-{ext}"),
            registrar,
            regint: 60,
            answermode: "auto".into(),
            transport: "udp".into(),
            mediaenc: None,
        }
    }

    /// SRTP with SDES keys (baresip's `srtp` module): `mode` is `srtp`
    /// (best effort over RTP/AVP) or `srtp-mand` (RTP/SAVP).
    pub fn srtp(mut self, mode: &str) -> Account {
        self.mediaenc = Some(mode.into());
        self
    }

    pub fn manual_answer(mut self) -> Account {
        self.answermode = "manual".into();
        self
    }

    pub fn tcp(mut self) -> Account {
        self.transport = "tcp".into();
        self
    }

    /// Over TLS to the switch's TLS listener `tls` (the baresip must be
    /// started with [`Baresip::start_tls`] to trust its certificate).
    pub fn tls(mut self, tls: SocketAddr) -> Account {
        self.transport = "tls".into();
        self.registrar = tls;
        self
    }

    /// The account line, e.g.
    /// `<sip:1001@127.0.0.1:5060;transport=udp>;auth_pass=demo-1001;regint=60;answermode=auto;audio_codecs=pcmu`.
    pub fn line(&self) -> String {
        let mediaenc = self
            .mediaenc
            .as_deref()
            .map(|m| format!(";mediaenc={m}"))
            .unwrap_or_default();
        format!(
            "<sip:{}@{};transport={}>;auth_pass={};regint={};answermode={};audio_codecs=pcmu,pcma;ptime=20{mediaenc}",
            self.user, self.registrar, self.transport, self.password, self.regint, self.answermode
        )
    }

    /// `sip:user@host:port`, the AOR baresip reports in events.
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.registrar)
    }
}

#[derive(Default)]
struct Shared {
    events: Vec<Value>,
    responses: HashMap<String, Value>,
    /// Per event type, how many [`Baresip::wait_event`] consumed.
    consumed: HashMap<String, usize>,
    closed: bool,
}

/// A running headless baresip. Killed on drop; its output is printed if the
/// test is panicking.
pub struct Baresip {
    child: Child,
    dir: TempDir,
    sip_port: u16,
    ctrl: TcpStream,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    log_path: PathBuf,
    token: AtomicU64,
    accounts: Vec<Account>,
}

impl Baresip {
    /// Starts baresip with no account and connects to its control port.
    pub fn start() -> Baresip {
        Baresip::start_with(440, false)
    }

    /// Starts baresip whose microphone is a `sine_hz` tone; with `dump`,
    /// every call's received audio is written to [`Baresip::heard_files`]
    /// (the `sndfile` module).
    pub fn start_with(sine_hz: u32, dump: bool) -> Baresip {
        Baresip::start_opts(sine_hz, dump, None)
    }

    /// Starts baresip trusting the CA (or self-signed certificate) of the
    /// PEM file `cafile` for SIP over TLS (`sip_cafile`).
    pub fn start_tls(cafile: &Path) -> Baresip {
        Baresip::start_opts(440, false, Some(cafile))
    }

    fn start_opts(sine_hz: u32, dump: bool, cafile: Option<&Path>) -> Baresip {
        require_baresip();
        let dir = tempfile::Builder::new().prefix("baresip-").tempdir().unwrap();
        // baresip binds its SIP port for UDP and TCP (and TLS on the next one
        // when configured): keep two free ports.
        let sip_port = free_port_block(2, true);
        let ctrl_port = free_port_block(1, true);
        let rtp_lo = free_port_block(20, false);
        let template = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/baresip/config.template"))
            .expect("tests/baresip/config.template");
        let config = template
            .replace("{{SIP_PORT}}", &sip_port.to_string())
            .replace("{{CTRL_PORT}}", &ctrl_port.to_string())
            .replace("{{RTP_LO}}", &rtp_lo.to_string())
            .replace("{{RTP_HI}}", &(rtp_lo + 19).to_string())
            .replace("{{SINE_HZ}}", &sine_hz.to_string())
            .replace(
                "{{TLS}}",
                &cafile
                    .map(|c| format!("sip_cafile\t\t{}", c.display()))
                    .unwrap_or_default(),
            )
            .replace(
                "{{SNDFILE}}",
                &if dump {
                    format!(
                        "module\t\t\tsndfile.so\nsnd_path\t\t{}",
                        dir.path().join("sound").display()
                    )
                } else {
                    String::new()
                },
            );
        if dump {
            fs::create_dir_all(dir.path().join("sound")).unwrap();
        }
        fs::write(dir.path().join("config"), config).unwrap();
        fs::write(dir.path().join("accounts"), "").unwrap();
        fs::write(dir.path().join("contacts"), "").unwrap();

        let log_path = dir.path().join("baresip.log");
        let log = File::create(&log_path).unwrap();
        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn baresip");

        let deadline = Instant::now() + Duration::from_secs(10);
        let ctrl = loop {
            if let Some(st) = child.try_wait().unwrap() {
                panic!("baresip exited during startup ({st})\n{}", read_lossy(&log_path));
            }
            match TcpStream::connect((LOCALHOST, ctrl_port)) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
                Err(e) => {
                    let _ = child.kill();
                    panic!(
                        "baresip ctrl_tcp not reachable on {ctrl_port}: {e}\n{}",
                        read_lossy(&log_path)
                    );
                }
            }
        };
        let shared: Arc<(Mutex<Shared>, Condvar)> = Arc::default();
        let reader = ctrl.try_clone().unwrap();
        let sh = shared.clone();
        let ctrl_log = dir.path().join("ctrl.log");
        std::thread::spawn(move || read_ctrl(reader, sh, ctrl_log));

        Baresip {
            child,
            dir,
            sip_port,
            ctrl,
            shared,
            log_path,
            token: AtomicU64::new(1),
            accounts: Vec::new(),
        }
    }

    /// Starts baresip and adds `account` (which registers if `regint > 0`).
    pub fn with_account(account: Account) -> Baresip {
        let mut b = Baresip::start();
        b.add_account(account);
        b
    }

    /// Adds a user agent at run time (`uanew`).
    pub fn add_account(&mut self, account: Account) {
        self.command("uanew", &account.line())
            .unwrap_or_else(|e| panic!("uanew failed: {e}\n{}", self.log()));
        self.accounts.push(account);
    }

    /// Dials `target` (ringing `callee`), waits until both see the call
    /// established, hangs up, and waits until the callee sees it closed.
    pub fn call_and_hang_up(&self, callee: &Baresip, target: &str, timeout: Duration) {
        self.dial(target);
        self.expect_event("CALL_ESTABLISHED", timeout);
        callee.expect_event("CALL_ESTABLISHED", timeout);
        self.hangup();
        callee.expect_event("CALL_CLOSED", timeout);
    }

    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from((LOCALHOST, self.sip_port))
    }

    /// Runs a command (any `menu` command: `dial`, `accept`, `hangup`,
    /// `uanew`, `listcalls`, `reginfo`...) and waits up to 5 s for its
    /// response. `Ok(data)` if baresip said ok.
    pub fn command(&self, command: &str, params: &str) -> Result<String, String> {
        let token = self.token.fetch_add(1, Ordering::Relaxed).to_string();
        let body = serde_json::json!({ "command": command, "params": params, "token": token }).to_string();
        let frame = format!("{}:{},", body.len(), body);
        (&self.ctrl).write_all(frame.as_bytes()).map_err(|e| e.to_string())?;
        let (lock, cv) = &*self.shared;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut g = lock.lock().unwrap();
        loop {
            if let Some(r) = g.responses.remove(&token) {
                let data = r.get("data").and_then(Value::as_str).unwrap_or("").to_string();
                return if r.get("ok").and_then(Value::as_bool).unwrap_or(false) {
                    Ok(data)
                } else {
                    Err(data)
                };
            }
            if g.closed {
                return Err("ctrl_tcp connection closed".into());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no response to {command} within 5 s"));
            }
            g = cv.wait_timeout(g, left).unwrap().0;
        }
    }

    /// Places a call: a bare number is completed with the account's domain
    /// by baresip (`1002` -> `sip:1002@registrar`), or give a full URI.
    pub fn dial(&self, target: &str) {
        self.command("dial", target)
            .unwrap_or_else(|e| panic!("dial {target} failed: {e}\n{}", self.log()));
    }

    /// Answers the current incoming call (answermode=manual).
    pub fn accept(&self) {
        self.command("accept", "")
            .unwrap_or_else(|e| panic!("accept failed: {e}\n{}", self.log()));
    }

    /// Hangs up the current call.
    pub fn hangup(&self) {
        self.command("hangup", "")
            .unwrap_or_else(|e| panic!("hangup failed: {e}\n{}", self.log()));
    }

    /// Sends DTMF digits on the current call (RFC 4733 via `sndcode`).
    pub fn send_dtmf(&self, digits: &str) {
        self.command("sndcode", digits)
            .unwrap_or_else(|e| panic!("sndcode failed: {e}\n{}", self.log()));
    }

    /// Waits for the next not-yet-consumed event of type `ty`
    /// (`REGISTER_OK`, `REGISTER_FAIL`, `CALL_INCOMING`, `CALL_RINGING`,
    /// `CALL_PROGRESS`, `CALL_ESTABLISHED`, `CALL_CLOSED`, ...). Each call
    /// consumes one, so two `wait_event("CALL_ESTABLISHED")` wait for two.
    pub fn wait_event(&self, ty: &str, timeout: Duration) -> Option<Value> {
        let (lock, cv) = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut g = lock.lock().unwrap();
        loop {
            let seen = g.consumed.get(ty).copied().unwrap_or(0);
            let found = g
                .events
                .iter()
                .filter(|e| e.get("type").and_then(Value::as_str) == Some(ty))
                .nth(seen)
                .cloned();
            if let Some(ev) = found {
                *g.consumed.entry(ty.to_string()).or_default() += 1;
                return Some(ev);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || g.closed {
                return None;
            }
            g = cv.wait_timeout(g, left).unwrap().0;
        }
    }

    /// Like [`Baresip::wait_event`] but panics with the log on timeout.
    pub fn expect_event(&self, ty: &str, timeout: Duration) -> Value {
        self.wait_event(ty, timeout).unwrap_or_else(|| {
            panic!(
                "baresip: no {ty} event within {timeout:?}\nevents: {:#?}\n==== baresip log ====\n{}",
                self.events(),
                self.log()
            )
        })
    }

    /// Waits for `REGISTER_OK` (Ok) or `REGISTER_FAIL` (Err with its param).
    pub fn wait_registered(&self, timeout: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let (lock, _) = &*self.shared;
                let g = lock.lock().unwrap();
                if let Some(f) = g
                    .events
                    .iter()
                    .find(|e| e.get("type").and_then(Value::as_str) == Some("REGISTER_FAIL"))
                {
                    return Err(f.to_string());
                }
            }
            if let Some(ok) = self.wait_event("REGISTER_OK", POLL_INTERVAL) {
                return Ok(ok);
            }
            if Instant::now() >= deadline {
                return Err(format!("no REGISTER_OK within {timeout:?}\n{}", self.log()));
            }
        }
    }

    /// All events so far.
    pub fn events(&self) -> Vec<Value> {
        self.shared.0.lock().unwrap().events.clone()
    }

    /// baresip's stdout and stderr so far.
    pub fn log(&self) -> String {
        read_lossy(&self.log_path)
    }

    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The WAV files of what this phone received and decoded, one per call
    /// (`sndfile` module; [`Baresip::start_with`] with `dump`).
    pub fn heard_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(self.dir.path().join("sound"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.to_string_lossy().ends_with("-dec.wav"));
        files.sort();
        files
    }

    /// The one call's recording of what this phone heard.
    pub fn heard_file(&self) -> PathBuf {
        let files = self.heard_files();
        assert_eq!(files.len(), 1, "one call, one file: {files:?}\n{}", self.log());
        files[0].clone()
    }
}

/// The levels (dBFS) of `tones` in the second before the last half second
/// of the WAV at `path` (the end of a call, when everyone still talked).
pub fn heard_levels(path: &Path, tones: &[f64]) -> Vec<f64> {
    // baresip finalises the file as the call closes; give it a moment.
    let mut reader = None;
    for _ in 0..40 {
        if let Ok(r) = hound::WavReader::open(path) {
            if r.duration() > 0 {
                reader = Some(r);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut r = reader.unwrap_or_else(|| panic!("{} is not a readable WAV", path.display()));
    let spec = r.spec();
    let channels = usize::from(spec.channels);
    let samples: Vec<i16> = r
        .samples::<i16>()
        .step_by(channels)
        .map(|s| s.expect("a sample"))
        .collect();
    let rate = spec.sample_rate as usize;
    assert!(
        samples.len() >= 2 * rate,
        "{}: only {} samples at {rate} Hz",
        path.display(),
        samples.len()
    );
    let end = samples.len() - rate / 2;
    let window = &samples[end - rate..end];
    tones
        .iter()
        .map(|hz| switchboard::dsp::tone::tone_level_dbfs(window, *hz, spec.sample_rate))
        .collect()
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.ctrl.shutdown(Shutdown::Both);
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "==== baresip log ({}) ====\n{}\n==== ctrl events ====\n{}\n==== end of baresip log ====",
                self.log_path.display(),
                self.log(),
                read_lossy(&self.dir.path().join("ctrl.log"))
            );
        }
    }
}

/// Reads netstrings (`LEN:JSON,`) from ctrl_tcp into `shared`.
fn read_ctrl(mut s: TcpStream, shared: Arc<(Mutex<Shared>, Condvar)>, log: PathBuf) {
    let mut logf = File::create(log).ok();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some((msg, used)) = netstring(&buf) {
            let msg = msg.to_vec();
            buf.drain(..used);
            if let Some(f) = logf.as_mut() {
                let _ = f.write_all(&msg);
                let _ = f.write_all(b"\n");
            }
            let Ok(v) = serde_json::from_slice::<Value>(&msg) else {
                continue;
            };
            let (lock, cv) = &*shared;
            let mut g = lock.lock().unwrap();
            if v.get("response").and_then(Value::as_bool) == Some(true) {
                let tok = v.get("token").and_then(Value::as_str).unwrap_or("").to_string();
                g.responses.insert(tok, v);
            } else {
                g.events.push(v);
            }
            cv.notify_all();
        }
    }
    let (lock, cv) = &*shared;
    lock.lock().unwrap().closed = true;
    cv.notify_all();
}

/// One complete netstring at the start of `buf`: (payload, bytes used).
fn netstring(buf: &[u8]) -> Option<(&[u8], usize)> {
    let colon = buf.iter().position(|&b| b == b':')?;
    let len: usize = std::str::from_utf8(&buf[..colon]).ok()?.trim().parse().ok()?;
    let end = colon + 1 + len;
    if buf.len() < end + 1 {
        return None;
    }
    Some((&buf[colon + 1..end], end + 1))
}
