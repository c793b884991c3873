//! The harness: an [`Engine`] driven in virtual time (one base `Instant`,
//! advanced by jumping to `poll_timeout()`), plus simulated user agents that
//! write SIP as text and read the engine's transmits back with
//! `parse_datagram`.

use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::config::{embedded_sources, load_from_sources, Config};
use switchboard::engine::{Engine, Input, Now, Output};
use switchboard::sip::auth::DigestClient;
use switchboard::sip::msg::typed::{Challenge, NameAddr};
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message, Method, StartLine};
use switchboard::sip::registrar::Binding;
use switchboard::sip::transaction::TransportKind;
use switchboard::store::CdrRecord;

/// The internal (phones, digest) profile's socket.
pub const INTERNAL: &str = "127.0.0.1:5060";
/// The external (trunks) profile's socket.
pub const EXTERNAL: &str = "127.0.0.1:5080";
/// The demo trunk's address (trunks.toml).
pub const TRUNK: &str = "127.0.0.1:5090";

/// A minimal SDP offer/answer body.
/// The embedded configuration with some files replaced (matched by base
/// name, e.g. `dialplan.toml`), loaded.
pub fn config_with_files(replace: &[(&str, &str)]) -> Config {
    let files: Vec<(&str, &str)> = embedded_sources()
        .iter()
        .map(|(name, text)| {
            let base = name.rsplit('/').next().unwrap_or(name);
            match replace.iter().find(|(r, _)| *r == base) {
                Some((_, t)) => (*name, *t),
                None => (*name, *text),
            }
        })
        .collect();
    load_from_sources(&files).unwrap_or_else(|e| panic!("test config: {e:?}"))
}

pub fn sdp(ip: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
}

pub fn sock(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// One transmit the engine produced, parsed.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Virtual time of the transmit.
    pub at: Duration,
    pub local: SocketAddr,
    pub to: SocketAddr,
    pub msg: Message,
}

impl Sent {
    fn describe(&self) -> String {
        format!("{} -> {}: {}", self.local, self.to, first_line(&self.msg))
    }
}

pub fn first_line(m: &Message) -> String {
    match &m.start {
        StartLine::Request { method, uri } => {
            format!("{} {}", String::from_utf8_lossy(method.as_bytes()), uri)
        }
        StartLine::Response { code, reason } => {
            format!("{} {}", code.as_u16(), String::from_utf8_lossy(reason))
        }
    }
}

/// The engine in virtual time, with everything it output so far.
pub struct Harness {
    pub engine: Engine,
    base: Instant,
    pub elapsed: Duration,
    /// Transmits not yet taken by a test, in order.
    pub wire: Vec<Sent>,
    pub saved: Vec<Binding>,
    pub deleted: Vec<Binding>,
    pub cdrs: Vec<CdrRecord>,
    /// Commands for the media workers (anchored calls).
    pub media: Vec<switchboard::call::media::MediaCommand>,
    /// Events pushed to the desktops.
    pub desk: Vec<switchboard::engine::desk::DeskEvent>,
    /// Contact-center records for the store (AGENT-6, HIST-3).
    pub acd: Vec<switchboard::store::AcdRecord>,
    /// Voicemail messages kept (issue 14 item 5).
    pub voicemails: Vec<switchboard::records::VoicemailRecord>,
    /// Transmits (first line) and callback records (`callback <id>
    /// <state>`) in the order the engine output them (CB-8's write-ahead).
    pub trace: Vec<String>,
}

/// Unix time of the virtual origin.
const BASE_UNIX_MS: u64 = 1_700_000_000_000;

impl Harness {
    /// The embedded default configuration.
    pub fn new() -> Harness {
        Harness::with_config(switchboard::config::load_embedded().expect("embedded config"))
    }

    /// The embedded configuration with `[media] anchor = false`: SDP passes
    /// through untouched (signalling-only mode).
    pub fn pass_through() -> Harness {
        Harness::with_switchboard_patch("anchor = true", "anchor = false")
    }

    /// The embedded configuration with some files replaced (matched by
    /// base name, e.g. `dialplan.toml`).
    pub fn with_files(replace: &[(&str, &str)]) -> Harness {
        Harness::with_config(config_with_files(replace))
    }

    /// The embedded configuration with `switchboard.toml` patched
    /// (`from` must occur in it).
    pub fn with_switchboard_patch(from: &str, to: &str) -> Harness {
        let text = embedded_sources()
            .iter()
            .find(|(n, _)| n.rsplit('/').next() == Some("switchboard.toml"))
            .map(|(_, t)| t.to_string())
            .expect("switchboard.toml");
        assert!(text.contains(from), "patch target missing: {from}");
        let patched = text.replace(from, to);
        Harness::with_files(&[("switchboard.toml", patched.as_str())])
    }

    pub fn with_config(cfg: Config) -> Harness {
        Harness {
            engine: Engine::new(Arc::new(cfg), 7),
            base: Instant::now(),
            elapsed: Duration::ZERO,
            wire: Vec::new(),
            saved: Vec::new(),
            deleted: Vec::new(),
            cdrs: Vec::new(),
            media: Vec::new(),
            desk: Vec::new(),
            acd: Vec::new(),
            voicemails: Vec::new(),
            trace: Vec::new(),
        }
    }

    pub fn now(&self) -> Now {
        Now {
            mono: self.base + self.elapsed,
            unix_ms: BASE_UNIX_MS + self.elapsed.as_millis() as u64,
        }
    }

    /// Unix ms at the current virtual moment.
    pub fn unix_ms(&self) -> u64 {
        self.now().unix_ms
    }

    /// Feeds raw bytes from `peer` to our socket `local` over UDP.
    pub fn inject(&mut self, local: SocketAddr, peer: SocketAddr, data: impl Into<Bytes>) {
        let now = self.now();
        self.engine.handle_input(
            now,
            Input::Packet {
                local,
                peer,
                transport: TransportKind::Udp,
                data: data.into(),
            },
        );
        self.drain();
    }

    /// Sends `text` from `ua` to its server socket.
    pub fn send(&mut self, ua: &Ua, text: &str) {
        self.inject(ua.server, ua.addr, text.to_string());
    }

    /// Starts the engine's clean shutdown and collects what it sends.
    pub fn shutdown(&mut self) {
        let now = self.now();
        self.engine.shutdown(now);
        self.drain();
    }

    /// Feeds the engine an input at the current virtual moment (outputs drained).
    pub fn input(&mut self, input: switchboard::engine::Input) {
        let now = self.now();
        self.engine.handle_input(now, input);
        self.drain();
    }

    /// A control-API request at the current virtual moment (outputs drained).
    pub fn control(
        &mut self,
        call: u64,
        cmd: switchboard::engine::CallControl,
    ) -> Result<switchboard::engine::CallSummary, switchboard::engine::ControlError> {
        let now = self.now();
        let r = self.engine.control(now, call, cmd);
        self.drain();
        r
    }

    /// Collects what the engine output after a direct call on it.
    pub fn input_drain(&mut self) {
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Transmit { dest, bytes, .. } => {
                    let msg = parse_datagram(bytes.clone(), &Limits::default()).unwrap_or_else(|e| {
                        panic!(
                            "engine sent unparseable bytes ({e:?}):\n{}",
                            String::from_utf8_lossy(&bytes)
                        )
                    });
                    self.trace.push(first_line(&msg));
                    self.wire.push(Sent {
                        at: self.elapsed,
                        local: dest.local,
                        to: dest.addr,
                        msg,
                    });
                }
                Output::SaveBinding(b) => self.saved.push(b),
                Output::DeleteBinding(b) => self.deleted.push(b),
                Output::Cdr(c) => self.cdrs.push(c),
                Output::Media(cmd) => self.media.push(cmd),
                Output::Desk(ev) => self.desk.push(ev),
                Output::Acd(r) => {
                    if let switchboard::records::AcdRecord::Voicemail(v) = &r {
                        self.voicemails.push((**v).clone());
                    }
                    if let switchboard::records::AcdRecord::Callback(c) = &r {
                        self.trace.push(format!("callback {} {}", c.id, c.state));
                    }
                    self.acd.push(r)
                }
            }
        }
    }

    /// Moves virtual time forward by `d`, firing every deadline on the way
    /// exactly when `poll_timeout()` asks for it (as the driver does).
    pub fn advance(&mut self, d: Duration) {
        let target = self.elapsed + d;
        for _ in 0..100_000 {
            match self.engine.poll_timeout() {
                Some(t) if t <= self.base + target => {
                    let at = t.saturating_duration_since(self.base);
                    if at > self.elapsed {
                        self.elapsed = at;
                    }
                    let now = self.now();
                    self.engine.handle_timeout(now);
                    self.drain();
                }
                _ => {
                    self.elapsed = target;
                    return;
                }
            }
        }
        panic!("timers keep firing without time moving");
    }

    /// Everything on the wire to `to` with its send time, removed from the wire.
    pub fn take_sent(&mut self, to: SocketAddr) -> Vec<Sent> {
        let (mine, rest): (Vec<Sent>, Vec<Sent>) = self.wire.drain(..).partition(|s| s.to == to);
        self.wire = rest;
        mine
    }

    /// Everything on the wire to `to`, removed from the wire.
    pub fn take(&mut self, to: SocketAddr) -> Vec<Message> {
        let (mine, rest): (Vec<Sent>, Vec<Sent>) = self.wire.drain(..).partition(|s| s.to == to);
        self.wire = rest;
        mine.into_iter().map(|s| s.msg).collect()
    }

    fn dump(&self) -> String {
        self.wire.iter().map(Sent::describe).collect::<Vec<_>>().join("\n  ")
    }

    /// Takes the first message to `to` matching `pred`.
    pub fn take_where(&mut self, to: SocketAddr, what: &str, pred: impl Fn(&Message) -> bool) -> Message {
        match self.wire.iter().position(|s| s.to == to && pred(&s.msg)) {
            Some(i) => self.wire.remove(i).msg,
            None => panic!("expected {what} to {to}; on the wire:\n  {}", self.dump()),
        }
    }

    /// Takes the first request `method` sent to `to`.
    pub fn expect_request(&mut self, to: SocketAddr, method: &str) -> Message {
        self.take_where(to, &format!("request {method}"), |m| {
            m.method().map(|x| x.as_bytes() == method.as_bytes()).unwrap_or(false)
        })
    }

    /// Takes the first response with status `code` sent to `to`.
    pub fn expect_response(&mut self, to: SocketAddr, code: u16) -> Message {
        self.take_where(to, &format!("response {code}"), |m| {
            m.status().map(|c| c.as_u16() == code).unwrap_or(false)
        })
    }

    /// Takes the first response `code` to a `method` request sent to `to`.
    pub fn expect_response_to(&mut self, to: SocketAddr, code: u16, method: &str) -> Message {
        self.take_where(to, &format!("response {code} to {method}"), |m| {
            m.status().map(|c| c.as_u16() == code).unwrap_or(false) && cseq_method(m) == method
        })
    }

    /// Number of messages on the wire to `to` matching `pred` (not removed).
    pub fn count(&self, to: SocketAddr, pred: impl Fn(&Message) -> bool) -> usize {
        self.wire.iter().filter(|s| s.to == to && pred(&s.msg)).count()
    }

    /// Asserts nothing is waiting for `to`.
    pub fn assert_silent(&self, to: SocketAddr) {
        let to_it: Vec<String> = self.wire.iter().filter(|s| s.to == to).map(Sent::describe).collect();
        assert!(
            to_it.is_empty(),
            "expected nothing to {to}, got:\n  {}",
            to_it.join("\n  ")
        );
    }

    /// Forgets everything on the wire (retransmissions a test does not care about).
    pub fn clear_wire(&mut self) {
        self.wire.clear();
    }

    /// REGISTERs `ua` (challenge, then credentials); returns the 200.
    pub fn register(&mut self, ua: &mut Ua, expires: u32) -> Message {
        let call_id = ua.fresh("reg");
        let r1 = ua.register(&call_id, 1, expires).text();
        self.send(ua, &r1);
        let challenge = self.expect_response(ua.addr, 401);
        let auth = ua.authorization(
            &challenge,
            HeaderName::WwwAuthenticate,
            "REGISTER",
            &ua.registrar_uri(),
            None,
        );
        let r2 = ua.register(&call_id, 2, expires).header("Authorization", &auth).text();
        self.send(ua, &r2);
        self.expect_response(ua.addr, 200)
    }

    /// Places an authenticated call from `caller` to `dialled`: INVITE,
    /// 407, ACK, INVITE with Proxy-Authorization, and the 100 Trying.
    pub fn place_call(&mut self, caller: &mut Ua, dialled: &str) -> Outgoing {
        self.place_call_with(caller, dialled, true)
    }

    /// Like [`Self::place_call`], with an INVITE without SDP (a delayed
    /// offer, RFC 3261 §13.2.1) when `sdp` is false.
    pub fn place_call_with(&mut self, caller: &mut Ua, dialled: &str, sdp: bool) -> Outgoing {
        let out = self.send_authenticated_invite(caller, dialled, sdp);
        self.expect_response(caller.addr, 100);
        out
    }

    /// The authenticated INVITE of [`Self::place_call_with`], without
    /// waiting for any response to it.
    pub fn send_authenticated_invite(&mut self, caller: &mut Ua, dialled: &str, sdp: bool) -> Outgoing {
        let ruri = format!("sip:{dialled}@{}", caller.server);
        let call_id = caller.fresh("call");
        let ft = caller.fresh("ft");
        let from = format!("<sip:{}@{}>;tag={ft}", caller.user, caller.server.ip());
        let to = format!("<sip:{dialled}@{}>", caller.server.ip());
        let b1 = caller.fresh_branch();
        let inv1 = caller
            .req("INVITE", &ruri)
            .call_id(&call_id)
            .from(&from)
            .to(&to)
            .branch(&b1)
            .cseq(1)
            .sdp();
        self.send(caller, &inv1.text());
        let challenge = self.expect_response(caller.addr, 407);
        // §17.1.1.3: the ACK of a non-2xx final uses the INVITE's branch and the response's To.
        let ack = caller
            .req("ACK", &ruri)
            .call_id(&call_id)
            .from(&from)
            .to(&header_str(&challenge, &HeaderName::To))
            .branch(&b1)
            .cseq_method(1, "ACK")
            .no_contact();
        self.send(caller, &ack.text());
        self.assert_silent(caller.addr);
        let auth = caller.authorization(&challenge, HeaderName::ProxyAuthenticate, "INVITE", &ruri, None);
        let b2 = caller.fresh_branch();
        let inv2 = caller
            .req("INVITE", &ruri)
            .call_id(&call_id)
            .from(&from)
            .to(&to)
            .branch(&b2)
            .cseq(2)
            .header("Proxy-Authorization", &auth);
        let inv2 = if sdp { inv2.sdp() } else { inv2 };
        self.send(caller, &inv2.text());
        Outgoing {
            ruri,
            call_id,
            from,
            to,
            cseq: 2,
            branch: b2,
            invite: inv2,
        }
    }
}

/// A call the simulated caller placed.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub ruri: String,
    pub call_id: String,
    pub from: String,
    pub to: String,
    pub cseq: u32,
    pub branch: String,
    pub invite: Req,
}

/// A simulated user agent (phone, trunk).
#[derive(Clone, Debug)]
pub struct Ua {
    pub user: String,
    pub password: String,
    /// Where it sends from (and is reached at).
    pub addr: SocketAddr,
    /// The engine socket it talks to.
    pub server: SocketAddr,
    counter: u32,
}

impl Ua {
    /// A phone with the demo password, at `ip:5062`, on the internal profile.
    pub fn phone(ext: &str, ip: &str) -> Ua {
        Ua {
            user: ext.to_string(),
            password: format!("demo-{ext}"),
            addr: sock(&format!("{ip}:5062")),
            server: sock(INTERNAL),
            counter: 0,
        }
    }

    /// A peer at `addr` talking to the external profile.
    pub fn trunk(addr: &str) -> Ua {
        Ua {
            user: "carrier".into(),
            password: String::new(),
            addr: sock(addr),
            server: sock(EXTERNAL),
            counter: 0,
        }
    }

    pub fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!(
            "{prefix}{}x{}",
            self.counter,
            self.addr.ip().to_string().replace('.', "")
        )
    }

    pub fn fresh_branch(&mut self) -> String {
        let t = self.fresh("b");
        format!("z9hG4bK{t}")
    }

    pub fn contact(&self) -> String {
        format!("<sip:{}@{}>", self.user, self.addr)
    }

    pub fn registrar_uri(&self) -> String {
        format!("sip:{}", self.server)
    }

    /// A request with defaults: fresh branch, tag, Call-ID; CSeq 1; our
    /// Contact; Max-Forwards 70.
    pub fn req(&mut self, method: &str, ruri: &str) -> Req {
        let branch = self.fresh_branch();
        let tag = self.fresh("t");
        let call_id = self.fresh("c");
        Req {
            method: method.to_string(),
            ruri: ruri.to_string(),
            via_host: self.addr.to_string(),
            branch,
            from: format!("<sip:{}@{}>;tag={tag}", self.user, self.server.ip()),
            to: format!("<{ruri}>"),
            call_id,
            cseq: 1,
            cseq_method: method.to_string(),
            max_forwards: Some(70),
            contact: Some(self.contact()),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A REGISTER for our AOR.
    pub fn register(&mut self, call_id: &str, cseq: u32, expires: u32) -> Req {
        let aor = format!("<sip:{}@{}>", self.user, self.server.ip());
        let from = format!("{aor};tag=reg{}", self.user);
        let uri = self.registrar_uri();
        self.req("REGISTER", &uri)
            .call_id(call_id)
            .from(&from)
            .to(&aor)
            .cseq(cseq)
            .header("Expires", &expires.to_string())
    }

    /// Credentials answering the first challenge in `resp` (or the one with
    /// `algorithm`).
    pub fn authorization(
        &self,
        resp: &Message,
        header: HeaderName,
        method: &str,
        uri: &str,
        algorithm: Option<&str>,
    ) -> String {
        self.authorization_with(resp, header, method, uri, algorithm, &self.user, &self.password)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn authorization_with(
        &self,
        resp: &Message,
        header: HeaderName,
        method: &str,
        uri: &str,
        algorithm: Option<&str>,
        user: &str,
        password: &str,
    ) -> String {
        let challenges: Vec<Challenge> = resp
            .headers
            .get_all(&header)
            .map(|v| Challenge::parse(v).expect("challenge parses"))
            .collect();
        assert!(!challenges.is_empty(), "no {header:?} in {}", first_line(resp));
        let c = match algorithm {
            None => &challenges[0],
            Some(a) => challenges
                .iter()
                .find(|c| c.0.get_str("algorithm").unwrap_or("MD5").eq_ignore_ascii_case(a))
                .unwrap_or_else(|| panic!("no {a} challenge")),
        };
        let method = Method::from_bytes(Bytes::copy_from_slice(method.as_bytes()));
        let v = DigestClient::respond(c, &method, uri, user, password, "0a4f113b", 1).expect("digest response");
        String::from_utf8(v.to_vec()).unwrap()
    }

    /// The UAC dialog a 2xx to our INVITE `out` established.
    /// The CANCEL of the INVITE `out` (RFC 3261 §9.1: its Request-URI,
    /// Call-ID, From, To, top Via branch and CSeq number).
    pub fn cancel(&mut self, out: &Outgoing) -> Req {
        self.req("CANCEL", &out.ruri)
            .call_id(&out.call_id)
            .from(&out.from)
            .to(&out.to)
            .branch(&out.branch)
            .cseq_method(out.cseq, "CANCEL")
    }

    pub fn dialog_from_2xx(&self, out: &Outgoing, resp: &Message) -> Dlg {
        Dlg {
            call_id: out.call_id.clone(),
            local: out.from.clone(),
            remote: header_str(resp, &HeaderName::To),
            target: contact_uri(resp),
            cseq: out.cseq,
        }
    }

    /// The UAS dialog we establish answering `invite` with `tag`.
    pub fn dialog_from_invite(&self, invite: &Message, tag: &str) -> Dlg {
        let to = header_str(invite, &HeaderName::To);
        let local = if to.contains(";tag=") {
            to
        } else {
            format!("{to};tag={tag}")
        };
        Dlg {
            call_id: header_str(invite, &HeaderName::CallId),
            local,
            remote: header_str(invite, &HeaderName::From),
            target: contact_uri(invite),
            cseq: 100,
        }
    }

    /// A new in-dialog request (CSeq + 1).
    pub fn in_dialog(&mut self, d: &mut Dlg, method: &str) -> Req {
        d.cseq += 1;
        let target = d.target.clone();
        self.req(method, &target)
            .call_id(&d.call_id)
            .from(&d.local)
            .to(&d.remote)
            .cseq(d.cseq)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `seq` (new branch, §13.2.2.4).
    pub fn ack_2xx(&mut self, d: &Dlg, seq: u32) -> Req {
        let target = d.target.clone();
        self.req("ACK", &target)
            .call_id(&d.call_id)
            .from(&d.local)
            .to(&d.remote)
            .cseq_method(seq, "ACK")
            .no_contact()
    }
}

/// A dialog as one simulated UA sees it.
#[derive(Clone, Debug)]
pub struct Dlg {
    pub call_id: String,
    /// Our From value (with our tag).
    pub local: String,
    /// Their To value (with their tag).
    pub remote: String,
    /// Remote target URI.
    pub target: String,
    pub cseq: u32,
}

/// A request being written as text.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub ruri: String,
    pub via_host: String,
    pub branch: String,
    pub from: String,
    pub to: String,
    pub call_id: String,
    pub cseq: u32,
    pub cseq_method: String,
    pub max_forwards: Option<u32>,
    pub contact: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, String)>,
}

impl Req {
    pub fn call_id(mut self, v: &str) -> Self {
        self.call_id = v.to_string();
        self
    }
    pub fn from(mut self, v: &str) -> Self {
        self.from = v.to_string();
        self
    }
    pub fn to(mut self, v: &str) -> Self {
        self.to = v.to_string();
        self
    }
    pub fn branch(mut self, v: &str) -> Self {
        self.branch = v.to_string();
        self
    }
    pub fn cseq(mut self, n: u32) -> Self {
        self.cseq = n;
        self
    }
    pub fn cseq_method(mut self, n: u32, m: &str) -> Self {
        self.cseq = n;
        self.cseq_method = m.to_string();
        self
    }
    pub fn max_forwards(mut self, n: Option<u32>) -> Self {
        self.max_forwards = n;
        self
    }
    pub fn no_contact(mut self) -> Self {
        self.contact = None;
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn body(mut self, content_type: &str, body: &str) -> Self {
        self.body = Some((content_type.to_string(), body.to_string()));
        self
    }
    pub fn sdp(self) -> Self {
        let ip = self.via_host.split(':').next().unwrap_or("192.0.2.1").to_string();
        self.body("application/sdp", &sdp(&ip, 40000))
    }

    /// The wire text (CRLF line ends, Content-Length computed).
    pub fn text(&self) -> String {
        let mut s = format!("{} {} SIP/2.0\r\n", self.method, self.ruri);
        s += &format!("Via: SIP/2.0/UDP {};branch={};rport\r\n", self.via_host, self.branch);
        if let Some(mf) = self.max_forwards {
            s += &format!("Max-Forwards: {mf}\r\n");
        }
        s += &format!(
            "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} {}\r\n",
            self.from, self.to, self.call_id, self.cseq, self.cseq_method
        );
        if let Some(c) = &self.contact {
            s += &format!("Contact: {c}\r\n");
        }
        for (n, v) in &self.headers {
            s += &format!("{n}: {v}\r\n");
        }
        match &self.body {
            Some((ct, b)) => s += &format!("Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}", b.len()),
            None => s += "Content-Length: 0\r\n\r\n",
        }
        s
    }
}

/// A response to `req` as text (§8.2.6): Via, From, To (with `to_tag`
/// added when it has none), Call-ID, CSeq copied; `extra` headers; a body.
pub fn response(
    req: &Message,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> String {
    let mut s = format!("SIP/2.0 {code} {reason}\r\n");
    for h in req.headers.iter() {
        let v = String::from_utf8_lossy(&h.value).into_owned();
        match h.name {
            HeaderName::Via => s += &format!("Via: {v}\r\n"),
            HeaderName::From => s += &format!("From: {v}\r\n"),
            HeaderName::CallId => s += &format!("Call-ID: {v}\r\n"),
            HeaderName::CSeq => s += &format!("CSeq: {v}\r\n"),
            HeaderName::To => match to_tag {
                Some(t) if !v.contains(";tag=") => s += &format!("To: {v};tag={t}\r\n"),
                _ => s += &format!("To: {v}\r\n"),
            },
            _ => {}
        }
    }
    for (n, v) in extra {
        s += &format!("{n}: {v}\r\n");
    }
    match body {
        Some((ct, b)) => s += &format!("Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}", b.len()),
        None => s += "Content-Length: 0\r\n\r\n",
    }
    s
}

/// A header's (first) value as text; panics when absent.
pub fn header_str(m: &Message, name: &HeaderName) -> String {
    let v = m
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("{name:?} missing in {}", first_line(m)));
    String::from_utf8_lossy(v).into_owned()
}

/// The CSeq method of a message.
pub fn cseq_method(m: &Message) -> String {
    m.envelope()
        .map(|e| String::from_utf8_lossy(e.cseq.method.as_bytes()).into_owned())
        .unwrap_or_default()
}

/// The CSeq number of a message.
pub fn cseq_num(m: &Message) -> u32 {
    m.envelope().expect("envelope").cseq.seq
}

/// The To tag, if any.
pub fn to_tag(m: &Message) -> Option<String> {
    m.envelope()
        .ok()?
        .to
        .tag()
        .map(|t| String::from_utf8_lossy(&t).into_owned())
}

/// The `tag` parameter of a From/To header value.
pub fn tag_of(value: &str) -> String {
    let na = NameAddr::parse_header(&Bytes::from(value.to_string()), "To").expect("name-addr parses");
    String::from_utf8_lossy(&na.tag().expect("tag")).into_owned()
}

/// The From tag.
pub fn from_tag(m: &Message) -> String {
    let t = m.envelope().expect("envelope").from.tag().expect("From tag");
    String::from_utf8_lossy(&t).into_owned()
}

pub fn call_id(m: &Message) -> String {
    header_str(m, &HeaderName::CallId)
}

/// The URI inside the (first) Contact.
pub fn contact_uri(m: &Message) -> String {
    let v = m
        .headers
        .get(&HeaderName::Contact)
        .unwrap_or_else(|| panic!("no Contact in {}", first_line(m)));
    let na = NameAddr::parse_header(v, "Contact").expect("Contact parses");
    na.uri.to_string()
}

pub fn body_str(m: &Message) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}

pub fn reason(m: &Message) -> String {
    match &m.start {
        StartLine::Response { reason, .. } => String::from_utf8_lossy(reason).into_owned(),
        _ => String::new(),
    }
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Every offer the desktops were sent, in order.
pub fn offers(h: &Harness) -> Vec<switchboard::engine::desk::OfferView> {
    h.desk
        .iter()
        .filter_map(|e| match e {
            switchboard::engine::desk::DeskEvent::Offer { offer, .. } => Some(offer.clone()),
            _ => None,
        })
        .collect()
}
