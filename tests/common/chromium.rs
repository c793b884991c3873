//! A real headless Chromium, driven over the Chrome DevTools Protocol with
//! the tests' own `tungstenite` client (no driver binary, no Node): launch
//! with fake media devices, open a page, evaluate JavaScript (awaiting
//! promises), wait for a page condition, keep the page's console log and
//! save a screenshot when a test fails.
//!
//! Chromium is required: when `chromium` is missing the helper panics with
//! the install command instead of skipping.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The browser binary (Debian's `chromium` package).
pub const CHROMIUM: &str = "chromium";

/// Panics with the install command when Chromium is missing.
pub fn require_chromium() {
    let ok = Command::new(CHROMIUM)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "Chromium is required for the browser tests: apt-get install chromium"
    );
}

/// A running headless Chromium with one page attached.
pub struct Chromium {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: Option<String>,
    console: Vec<String>,
    _profile: TempDir,
    /// True once the artifacts were saved (by `fail` or on a panic).
    dumped: bool,
    /// Where a failing test's screenshot and console log go.
    pub artifacts: PathBuf,
}

impl Chromium {
    /// Starts Chromium with fake media devices (the fake microphone plays
    /// `fake_audio` when given: a 16-bit PCM WAV) and the flags that let
    /// WebRTC use loopback host candidates.
    pub fn launch(fake_audio: Option<&Path>, extra: &[&str]) -> Chromium {
        require_chromium();
        let profile = tempfile::Builder::new()
            .prefix("chromium-")
            .tempdir()
            .expect("profile dir");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if let Some(wav) = fake_audio {
            args.push(format!("--use-file-for-fake-audio-capture={}", wav.display()));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("about:blank".into());
        let mut child = Command::new(CHROMIUM)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("chromium stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("chromium did not print its DevTools address within 30 s");
            }
        };
        let (ws, _) = tungstenite::connect(url.as_str()).expect("connect to DevTools");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60))).expect("read timeout");
        }
        static LAUNCHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = LAUNCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let artifacts = std::env::temp_dir().join(format!("switchboard-browser-{}-{n}", std::process::id()));
        let mut me = Chromium {
            child,
            ws,
            next_id: 0,
            session: None,
            console: Vec::new(),
            _profile: profile,
            dumped: false,
            artifacts,
        };
        let target = me.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = me.call("Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        me.session = Some(attached["sessionId"].as_str().expect("sessionId").to_owned());
        me.call("Runtime.enable", json!({}));
        me.call("Page.enable", json!({}));
        me
    }

    /// Sends a CDP command and returns its result, collecting console
    /// events that arrive meanwhile.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).expect("send CDP command");
        loop {
            let frame = self
                .ws
                .read()
                .unwrap_or_else(|e| panic!("CDP {method}: {e}\n{}", self.console.join("\n")));
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(text.as_str()).expect("CDP JSON");
            if v["id"].as_u64() == Some(id) {
                if let Some(err) = v.get("error") {
                    panic!("CDP {method} failed: {err}");
                }
                return v["result"].clone();
            }
            self.note_event(&v);
        }
    }

    fn note_event(&mut self, v: &Value) {
        match v["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let args: Vec<String> = v["params"]["args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| {
                                x["value"]
                                    .as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| x["value"].to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let level = v["params"]["type"].as_str().unwrap_or("log");
                self.console.push(format!("[{level}] {}", args.join(" ")));
            }
            Some("Runtime.exceptionThrown") => {
                let d = &v["params"]["exceptionDetails"];
                let text = d["exception"]["description"]
                    .as_str()
                    .or(d["text"].as_str())
                    .unwrap_or("exception");
                self.console.push(format!("[exception] {text}"));
            }
            _ => {}
        }
    }

    /// Navigates the page to `url` and waits for its load event.
    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for("document.readyState === 'complete'", Duration::from_secs(30));
    }

    /// Evaluates `expr` in the page (awaiting a promise) and returns its
    /// value; a thrown exception fails the test with the console log.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "awaitPromise": true, "returnByValue": true}),
        );
        if let Some(d) = r.get("exceptionDetails") {
            let text = d["exception"]["description"].as_str().unwrap_or("exception").to_owned();
            self.fail(&format!("page script threw: {text}"));
        }
        r["result"]["value"].clone()
    }

    /// Waits (inside the page, polling every 50 ms) until `expr` is truthy
    /// and returns its value; fails the test after `timeout`.
    pub fn wait_for(&mut self, expr: &str, timeout: Duration) -> Value {
        let script = format!(
            "new Promise((resolve, reject) => {{ const t0 = Date.now(); (function poll() {{ \
               let v; try {{ v = ({expr}); }} catch (e) {{ v = undefined; }} \
               if (v) return resolve(v); \
               if (Date.now() - t0 > {ms}) return reject(new Error('timed out waiting for: ' + {src})); \
               setTimeout(poll, 50); }})(); }})",
            ms = timeout.as_millis(),
            src = serde_json::to_string(expr).expect("quote"),
        );
        self.eval(&script)
    }

    /// The page's console log so far.
    pub fn console(&self) -> &[String] {
        &self.console
    }

    /// Saves a screenshot and the console log under [`Chromium::artifacts`]
    /// and panics with `why` and the console log.
    pub fn fail(&mut self, why: &str) -> ! {
        self.dumped = true;
        let log = self.save_artifacts();
        let shot = self.artifacts.join("screenshot.png");
        panic!("{why}\nscreenshot: {}\npage console:\n{log}", shot.display());
    }

    /// Writes `screenshot.png` and `console.log` under
    /// [`Chromium::artifacts`]; returns the console log.
    fn save_artifacts(&mut self) -> String {
        let _ = std::fs::create_dir_all(&self.artifacts);
        let shot = self.artifacts.join("screenshot.png");
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": "Page.captureScreenshot", "params": {"format": "png"}});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        if self.ws.send(Message::text(msg.to_string())).is_ok() {
            while let Ok(Message::Text(text)) = self.ws.read() {
                let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                if v["id"].as_u64() == Some(id) {
                    if let Some(b64) = v["result"]["data"].as_str() {
                        use base64::Engine;
                        if let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64) {
                            let _ = std::fs::write(&shot, png);
                        }
                    }
                    break;
                }
                self.note_event(&v);
            }
        }
        let log = self.console.join("\n");
        let _ = std::fs::write(self.artifacts.join("console.log"), &log);
        log
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.dumped {
            // A test failed elsewhere (an assertion on the switch's side):
            // still leave the page's screenshot and console log.
            self.dumped = true;
            let log = self.save_artifacts();
            eprintln!(
                "browser artifacts in {} (screenshot.png, console.log); page console:\n{log}",
                self.artifacts.display()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
