//! SIPp driver for the end-to-end tests: building a run, running it in the
//! foreground or background, reading its verdict and logs, and the
//! "register, then answer" callee helper.

use super::*;

/// Panics (never skips) when `sipp` is not installed.
pub fn require_sipp() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        match Command::new("sipp")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(_) => (),
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "\n\n*** `sipp` is not on PATH. The end-to-end tests need SIPp 3.6: ***\n\
             ***     sudo apt-get install -y sip-tester                       ***\n\
             *** (or run .ci/run, which installs everything)                  ***\n\n"
            ),
            Err(e) => panic!("cannot run sipp: {e}"),
        }
    });
}

/// A SIPp run being set up. Every run gets `-i 127.0.0.1`, its own local
/// SIP port (`-p`, free unless set), its own media port block (`-mp`),
/// `-m 1` unless set, `-rtp_echo` (unless [`Sipp::no_rtp_echo`]),
/// `-nostdin`, `-aa`, `-timeout Ns -timeout_error`,
/// `-trace_err -error_file`, and `-trace_msg -message_file` (unless
/// [`Sipp::quiet`]).
///
/// Scenario variables: phone scenarios take `-set user EXT -au EXT -ap PASS`
/// ([`Sipp::phone`]) and `-s CALLEE` ([`Sipp::service`]); each file's header
/// comment lists what it needs.
#[derive(Clone)]
pub struct Sipp {
    scenario: PathBuf,
    remote: Option<SocketAddr>,
    local_port: Option<u16>,
    media_port: Option<u16>,
    calls: u32,
    tcp: bool,
    trace_msg: bool,
    rtp_echo: bool,
    auto_answer: bool,
    args: Vec<OsString>,
}

impl Sipp {
    /// `name` is a file in `tests/sipp/` or a path.
    pub fn new(name: &str) -> Sipp {
        require_sipp();
        Sipp {
            scenario: scenario(name),
            remote: None,
            local_port: None,
            media_port: None,
            calls: 1,
            tcp: false,
            trace_msg: true,
            rtp_echo: true,
            auto_answer: true,
            args: Vec::new(),
        }
    }

    /// Where a UAC sends (`host:port` positional argument).
    pub fn remote(mut self, addr: SocketAddr) -> Self {
        self.remote = Some(addr);
        self
    }

    /// `-p PORT`.
    pub fn local_port(mut self, port: u16) -> Self {
        self.local_port = Some(port);
        self
    }

    /// `-mp PORT` (SDP `m=` port, `[media_port]`).
    pub fn media_port(mut self, port: u16) -> Self {
        self.media_port = Some(port);
        self
    }

    /// `-m N`: calls to complete before exiting (default 1).
    pub fn calls(mut self, n: u32) -> Self {
        self.calls = n;
        self
    }

    /// The phone's identity and credentials: `-set user EXT -au EXT -ap PASS`.
    pub fn phone(self, user: &str, password: &str) -> Self {
        self.set("user", user).arg("-au").arg(user).arg("-ap").arg(password)
    }

    /// `-s NUMBER`: the dialled extension/number (`[service]`).
    pub fn service(self, number: &str) -> Self {
        self.arg("-s").arg(number)
    }

    /// `-set NAME VALUE` (the scenario must declare it in `<Global>`).
    pub fn set(self, name: &str, value: &str) -> Self {
        self.arg("-set").arg(name).arg(value)
    }

    /// `-d MS`: length of `<pause/>` steps (connected time).
    pub fn pause_ms(self, ms: u64) -> Self {
        self.arg("-d").arg(ms.to_string())
    }

    /// `-r RATE` calls per second (load tests).
    pub fn rate(self, per_second: u32) -> Self {
        self.arg("-r").arg(per_second.to_string())
    }

    /// `-l N` simultaneous calls.
    pub fn limit(self, n: u32) -> Self {
        self.arg("-l").arg(n.to_string())
    }

    /// `-t t1`: TCP, one connection.
    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }

    /// No `-rtp_echo`. By default SIPp echoes RTP arriving on its media
    /// port, which keeps that port bound: without it the far end gets ICMP
    /// port-unreachable for its RTP (baresip then ends the call with
    /// "Connection reset by peer").
    pub fn no_rtp_echo(mut self) -> Self {
        self.rtp_echo = false;
        self
    }

    /// No `-aa`: NOTIFY, INFO, OPTIONS and UPDATE reach the scenario
    /// instead of being answered 200 by SIPp itself (a REFER scenario
    /// checks its NOTIFYs).
    pub fn no_auto_answer(mut self) -> Self {
        self.auto_answer = false;
        self
    }

    /// No `-trace_msg` (load tests: the message log gets big).
    pub fn quiet(mut self) -> Self {
        self.trace_msg = false;
        self
    }

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

    fn build(&self, timeout: Duration) -> (Command, SippFiles, u16) {
        let dir = tempfile::Builder::new().prefix("sipp-").tempdir().unwrap();
        let stem = self.scenario.file_stem().unwrap().to_string_lossy().into_owned();
        let files = SippFiles {
            error_file: dir.path().join(format!("{stem}_errors.log")),
            message_file: dir.path().join(format!("{stem}_messages.log")),
            stdout: dir.path().join("stdout.log"),
            stderr: dir.path().join("stderr.log"),
            dir,
        };
        let port = self.local_port.unwrap_or_else(free_port);
        // SIPp binds [media_port] and neighbours (RTP echo, video): 4 ports.
        let media = self.media_port.unwrap_or_else(|| free_port_block(4, false));
        let secs = timeout.as_secs().max(1);

        let mut cmd = Command::new("sipp");
        cmd.arg("-sf").arg(&self.scenario);
        if let Some(r) = self.remote {
            cmd.arg(r.to_string());
        }
        cmd.args(["-i", "127.0.0.1"])
            .arg("-p")
            .arg(port.to_string())
            .arg("-mp")
            .arg(media.to_string())
            .arg("-m")
            .arg(self.calls.to_string())
            .args(if self.auto_answer {
                &["-nostdin", "-aa", "-timeout"][..]
            } else {
                &["-nostdin", "-timeout"][..]
            })
            .arg(format!("{secs}s"))
            .arg("-timeout_error")
            .arg("-trace_err")
            .arg("-error_file")
            .arg(&files.error_file);
        if self.trace_msg {
            cmd.arg("-trace_msg").arg("-message_file").arg(&files.message_file);
        }
        if self.tcp {
            cmd.args(["-t", "t1"]);
        }
        if self.rtp_echo {
            cmd.arg("-rtp_echo");
        }
        cmd.args(&self.args);
        cmd.current_dir(files.dir.path())
            .stdin(Stdio::null())
            .stdout(File::create(&files.stdout).unwrap())
            .stderr(File::create(&files.stderr).unwrap());
        (cmd, files, port)
    }

    /// Runs to completion. SIPp gets `-timeout` = `timeout`; the harness
    /// kills it 5 s after that if it is still alive.
    pub fn run(self, timeout: Duration) -> SippResult {
        self.spawn(timeout).wait()
    }

    /// Starts in the background (a UAS waiting for the switch). Use
    /// [`SippHandle::wait_ready`] before placing the call, then
    /// [`SippHandle::wait`] for the verdict.
    pub fn spawn(self, timeout: Duration) -> SippHandle {
        let (mut cmd, files, port) = self.build(timeout);
        let command = format!("{cmd:?}");
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {command}: {e}"));
        SippHandle {
            child: Some(child),
            files: Some(files),
            port,
            tcp: self.tcp,
            deadline: Instant::now() + timeout + Duration::from_secs(5),
            command,
        }
    }
}

struct SippFiles {
    dir: TempDir,
    error_file: PathBuf,
    message_file: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// A SIPp process running in the background. Killed on drop.
pub struct SippHandle {
    child: Option<Child>,
    files: Option<SippFiles>,
    port: u16,
    tcp: bool,
    deadline: Instant,
    command: String,
}

impl SippHandle {
    /// Its SIP port (`-p`).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((LOCALHOST, self.port))
    }

    /// Waits until SIPp holds its SIP port (UDP, or TCP with `.tcp()`),
    /// i.e. it can receive the call. Panics if it exits or times out.
    pub fn wait_ready(&mut self, timeout: Duration) -> &mut Self {
        let port = self.port;
        let tcp = self.tcp;
        let ready = wait_until(timeout, || {
            if let Some(c) = self.child.as_mut() {
                if c.try_wait().unwrap().is_some() {
                    return true;
                }
            }
            if tcp {
                tcp_port_bound(port)
            } else {
                udp_port_bound(port)
            }
        });
        if let Some(st) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
            let r = self.collect(Some(st));
            panic!("SIPp exited before it was ready\n{r}");
        }
        assert!(
            ready,
            "SIPp did not bind port {port} within {timeout:?}: {}",
            self.command
        );
        self
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .map(|c| c.try_wait().unwrap().is_none())
            .unwrap_or(false)
    }

    /// Waits for SIPp to exit (bounded by the run's timeout + 5 s) and
    /// returns its verdict.
    pub fn wait(mut self) -> SippResult {
        let mut child = self.child.take().unwrap();
        let left = self.deadline.saturating_duration_since(Instant::now());
        let status = wait_child(&mut child, left);
        self.collect(status)
    }

    /// Stops it now (SIGTERM, then SIGKILL after 2 s) and returns what it
    /// logged; `success` is whatever SIPp reported.
    pub fn stop(mut self) -> SippResult {
        let mut child = self.child.take().unwrap();
        sigterm(&child);
        let status = wait_child(&mut child, Duration::from_secs(2));
        self.collect(status)
    }

    fn collect(&mut self, status: Option<ExitStatus>) -> SippResult {
        let f = self.files.take().expect("result already collected");
        SippResult {
            success: status.map(|s| s.success()).unwrap_or(false),
            exit_code: status.and_then(|s| s.code()),
            killed: status.is_none(),
            stdout: read_lossy(&f.stdout),
            stderr: read_lossy(&f.stderr),
            error_log: read_lossy(&f.error_file),
            message_log: read_lossy(&f.message_file),
            command: self.command.clone(),
        }
    }
}

impl Drop for SippHandle {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            if std::thread::panicking() && self.files.is_some() {
                let r = self.collect(None);
                eprintln!("==== SIPp still running at panic ====\n{r}");
            }
        }
    }
}

/// What a SIPp run said. SIPp exit codes: 0 every call succeeded, 1 at
/// least one failed, 97 stopped by an internal command or the global
/// timeout, 99 normal exit without any call processed, 255 fatal error
/// (bad scenario, unsupported auth, cannot bind).
#[derive(Debug, Clone)]
pub struct SippResult {
    /// Exit code 0: every call followed the scenario.
    pub success: bool,
    pub exit_code: Option<i32>,
    /// The harness had to kill it (hung past its own timeout).
    pub killed: bool,
    pub stdout: String,
    pub stderr: String,
    /// `-trace_err` file: unexpected messages, timeouts, fatal errors.
    pub error_log: String,
    /// `-trace_msg` file: every message sent and received.
    pub message_log: String,
    pub command: String,
}

impl SippResult {
    /// Panics with the whole story unless SIPp succeeded.
    pub fn assert_success(&self) -> &Self {
        assert!(self.success, "SIPp failed\n{self}");
        self
    }

    /// Panics unless SIPp failed (exit code non-zero).
    pub fn assert_failure(&self) -> &Self {
        assert!(!self.success, "SIPp unexpectedly succeeded\n{self}");
        self
    }
}

impl std::fmt::Display for SippResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "command: {}", self.command)?;
        writeln!(
            f,
            "exit code: {:?}{}",
            self.exit_code,
            if self.killed { " (killed by harness)" } else { "" }
        )?;
        writeln!(f, "---- error log ----\n{}", tail(&self.error_log, 8000))?;
        writeln!(f, "---- stderr ----\n{}", tail(&self.stderr, 4000))?;
        writeln!(f, "---- messages (tail) ----\n{}", tail(&self.message_log, 12000))?;
        writeln!(f, "---- stdout (tail) ----\n{}", tail(&self.stdout, 3000))
    }
}

/// Registers `user` at `registrar` with `register_auth.xml` from a free
/// port, then starts `scenario` (a `uas_*.xml`) on that same port and waits
/// until it can take the call. SIPp cannot receive a new Call-ID in a
/// client-mode scenario, so "register then answer" is two SIPp runs on one
/// port; the binding (Contact = source = that port) outlives the first.
pub fn spawn_registered_callee(
    registrar: SocketAddr,
    user: &str,
    password: &str,
    scenario: &str,
    timeout: Duration,
) -> SippHandle {
    spawn_registered_callee_with(registrar, user, password, Sipp::new(scenario), timeout)
}

/// As [`spawn_registered_callee`], with a prepared [`Sipp`] for the UAS part
/// (extra `-d`, `-set`...). Its local port is overridden.
pub fn spawn_registered_callee_with(
    registrar: SocketAddr,
    user: &str,
    password: &str,
    uas: Sipp,
    timeout: Duration,
) -> SippHandle {
    let port = free_port();
    Sipp::new("register_auth.xml")
        .remote(registrar)
        .local_port(port)
        .phone(user, password)
        .run(Duration::from_secs(10))
        .assert_success();
    let mut h = uas.local_port(port).spawn(timeout);
    h.wait_ready(Duration::from_secs(5));
    h
}

/// Registers `user` with `register_auth.xml` and returns the verdict.
pub fn sipp_register(registrar: SocketAddr, user: &str, password: &str) -> SippResult {
    Sipp::new("register_auth.xml")
        .remote(registrar)
        .phone(user, password)
        .run(Duration::from_secs(10))
}
