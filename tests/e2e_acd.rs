//! End-to-end: the contact center (ACD) on the real switch (issue 4 item 7):
//! customers call the `support` queue (5000) of the embedded config, agents'
//! phones (SIPp UAS scenarios, baresip, or the test's own SIP UA) answer,
//! decline or stay silent, and the agents' desktops are driven over HTTP
//! and watched on their WebSocket event streams.
//!
//! Customers come in through the external profile (a trusted trunk on
//! 127.0.0.1, no digest), as SIPp scenarios (`uac_queue_caller*.xml`) or
//! the test's own UA when a step must be timed exactly (CANCEL while
//! queued, answering only after a desktop action). Agents register their
//! phones with digest on the internal profile and log in with their desktop
//! tokens (`acd.toml`); queue timers (RONA, wrap-up, maximum wait) are
//! shortened by patching a copy of the config. Each test names the spec
//! rules it checks; every wait is bounded and polls (no sleeps), so the
//! tests hold on a loaded CI machine.
//!
//! Covered: answer supervision and early media, manual and auto-accept
//! offers with their variables and masking, decline on the phone and on
//! the desktop, RONA, requeueing ahead of later arrivals, an agent with two
//! phones, abandon while queued and while ringing, queue overflow, hold and
//! resume, call data with versions, pending states, wrap-up (submitted,
//! extended, timed out), the supervisor's dashboard and stream.
//!
//! Note for UA writers: the switch ACKs an agent phone's 200 only once the
//! customer ACKed its own 200 (end-to-end ACK through the B2BUA), so a test
//! phone must not wait for its ACK before the customer answers.

mod common;

use bytes::Bytes;
use common::baresip::{Account, Baresip};
use common::desk::*;
use common::media::{ack_2xx, ack_non_2xx, contact_target, rtp_rtcp_sockets, sdp_rtp, AudioSdp};
use common::ua::{self, Ua};
use common::*;
use serde_json::Value;
use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

/// How long a desktop event or a SIP message may take to arrive.
const EVENT: Duration = Duration::from_secs(15);
/// Bound of one SIPp run.
const T: Duration = Duration::from_secs(30);
/// The support queue's wrap-up reasons (acd.toml).
const SUPPORT_REASONS: [&str; 3] = ["Resolved", "Escalated", "Call back later"];

// ---------------------------------------------------------------------------
// Config and desktops
// ---------------------------------------------------------------------------

/// The embedded config with the support queue's RONA timeout and wrap-up
/// time shortened so the tests run fast.
fn acd_config(rona_s: u32, wrap_up_s: u32) -> ConfigDir {
    let cfg = ConfigDir::from_default();
    cfg.patch("acd.toml", "rona_timeout_s = 15", &format!("rona_timeout_s = {rona_s}"));
    cfg.patch("acd.toml", "wrap_up_s = 60", &format!("wrap_up_s = {wrap_up_s}"));
    cfg
}

fn start(cfg: &ConfigDir) -> Switch {
    Switch::builder().config(cfg.path()).start()
}

/// An agent's event stream that keeps every frame: waits take the first
/// frame matching, in any order, and frames read while waiting for another
/// one stay for later waits.
struct Feed {
    who: &'static str,
    ws: Stream,
    pending: VecDeque<Value>,
    seen: Vec<Value>,
}

impl Feed {
    fn open(api: SocketAddr, token: &str, who: &'static str) -> Feed {
        let ws = ws_connect(api, "/agent/events", WsAuth::Header(token))
            .unwrap_or_else(|e| panic!("{who}'s event stream refused: {e:?}"));
        Feed {
            who,
            ws,
            pending: VecDeque::new(),
            seen: Vec::new(),
        }
    }

    /// The first frame (pending or new) matching `pred` within `timeout`.
    fn wait(&mut self, what: &str, timeout: Duration, mut pred: impl FnMut(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&mut pred) {
            return self.pending.remove(i).expect("index in range");
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = if left.is_zero() {
                None
            } else {
                ws_next(&mut self.ws, left)
            };
            let Some(v) = next else {
                panic!(
                    "{}'s stream: no {what} within {timeout:?}; frames so far: {:#?}",
                    self.who, self.seen
                );
            };
            self.seen.push(v.clone());
            assert_eq!(
                v["agent"], self.who,
                "an agent's stream carries only its own events: {v}"
            );
            if pred(&v) {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// The next event of type `ty`.
    fn event(&mut self, ty: &str) -> Value {
        self.wait(ty, EVENT, |v| v["type"] == ty)
    }

    /// The next `agent_state` event into `state` (AGENT-6).
    fn state(&mut self, state: &str) -> Value {
        let ev = self.wait(&format!("agent_state {state}"), EVENT, |v| {
            v["type"] == "agent_state" && v["state"] == state
        });
        assert!(ev["at_ms"].as_u64().is_some_and(|t| t > 0), "a timestamp: {ev}");
        ev
    }

    /// Reads what arrives until the stream is quiet for `quiet`.
    fn settle(&mut self, quiet: Duration) {
        while let Some(v) = ws_next(&mut self.ws, quiet) {
            self.seen.push(v.clone());
            self.pending.push_back(v);
        }
    }

    /// How many frames of type `ty` the stream carried so far.
    fn count(&self, ty: &str) -> usize {
        self.seen.iter().filter(|v| v["type"] == ty).count()
    }
}

/// Logs the agent in (Available) and takes the state event off its stream.
/// (The answer may already say `Reserved`: a waiting call is offered at once.)
fn login(api: SocketAddr, token: &str, feed: &mut Feed) {
    let me = Desk::new(api, token).ok("POST", "/agent/login", None);
    assert!(me["state"] == "Available" || me["state"] == "Reserved", "{me}");
    feed.state("Available");
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no string {key} in {v}"))
}

/// The entry for interaction `uid` in a `{"interactions": [...]}` answer.
fn listed(list: &Value, uid: &str) -> Option<Value> {
    list["interactions"]
        .as_array()
        .unwrap_or_else(|| panic!("an interactions list: {list}"))
        .iter()
        .find(|i| i["interaction"] == uid)
        .cloned()
}

fn interaction_count(list: &Value) -> usize {
    list["interactions"]
        .as_array()
        .unwrap_or_else(|| panic!("an interactions list: {list}"))
        .len()
}

/// An offer's variables as `(name, value)` pairs, in order (OFFER-2).
fn offer_variables(offer: &Value) -> Vec<(String, String)> {
    offer["variables"]
        .as_array()
        .unwrap_or_else(|| panic!("offer variables: {offer}"))
        .iter()
        .map(|v| (str_of(v, "name").to_string(), str_of(v, "value").to_string()))
        .collect()
}

/// One variable of a data view (CAD-1).
fn variable(data: &Value, name: &str) -> Value {
    data["variables"]
        .as_array()
        .unwrap_or_else(|| panic!("variables: {data}"))
        .iter()
        .find(|v| v["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no variable {name} in {data}"))
}

// ---------------------------------------------------------------------------
// SIPp
// ---------------------------------------------------------------------------

/// A customer (SIPp, `uac_queue_caller.xml`) calling the support queue
/// through the trunk; it hangs up `connected_ms` after being answered.
fn sipp_customer(sw: &Switch, connected_ms: u64) -> SippHandle {
    Sipp::new("uac_queue_caller.xml")
        .remote(sw.external_addr())
        .service("5000")
        .set("account", "A-77")
        .pause_ms(connected_ms)
        .spawn(T)
}

/// The time SIPp traced (`-trace_msg`) the first message `dir` (`sent` or
/// `received`) whose start line begins with `start` and whose CSeq method
/// is `method`: its local date and time with microseconds
/// (`2026-11-21 16:15:04.059816`), which sort as text.
fn sipp_trace_time(log: &str, dir: &str, start: &str, method: &str) -> Option<String> {
    let mut blocks = log.split("----------------------------------------------- ").skip(1);
    blocks.find_map(|b| {
        let mut lines = b.lines();
        let stamp = lines.next()?;
        let kind = lines.next()?;
        if !kind.contains(&format!("message {dir}")) {
            return None;
        }
        let mut rest = lines.skip_while(|l| l.trim().is_empty());
        let first = rest.next()?;
        let cseq_ok =
            rest.any(|l| l.to_ascii_lowercase().starts_with("cseq:") && l.trim_end().ends_with(&format!(" {method}")));
        if !(first.starts_with(start) && cseq_ok) {
            return None;
        }
        Some(stamp.trim().to_string())
    })
}

// ---------------------------------------------------------------------------
// The test's own SIP UAs
// ---------------------------------------------------------------------------

fn header_name(name: &'static str) -> HeaderName {
    HeaderName::from_bytes(Bytes::from_static(name.as_bytes()))
}

/// The next message that satisfies `pred` (others skipped) within `timeout`.
fn recv_where(ua: &mut Ua, what: &str, timeout: Duration, mut pred: impl FnMut(&Message) -> bool) -> Message {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = (!left.is_zero())
            .then(|| ua.recv(left))
            .flatten()
            .unwrap_or_else(|| panic!("no {what} within {timeout:?}"));
        if pred(&m) {
            return m;
        }
        eprintln!("(skipped while waiting for {what}: {})", ua::first_line(&m));
    }
}

fn recv_request(ua: &mut Ua, method: Method) -> Message {
    let what = format!("{method} request");
    recv_where(ua, &what, EVENT, |m| m.method() == Some(&method))
}

/// The next response with status `code`; panics on another final one.
fn recv_status(ua: &mut Ua, code: u16) -> Message {
    recv_where(ua, &format!("{code} response"), EVENT, |m| {
        let c = ua::code(m);
        assert!(
            c == code || !m.status().is_some_and(|s| s.is_final()),
            "expected {code}, got {}",
            ua::text(m)
        );
        c == code
    })
}

/// A customer calling the support queue from the trunk with our own UA:
/// its INVITE carries call data (X-Account, a secure X-Card-Last4) and a
/// PCMU offer on a socket of ours.
struct Customer {
    ua: Ua,
    invite: Message,
    /// The switch's 183 (its SDP names where early media comes from).
    early: Message,
    /// The switch's 200, once answered.
    ok: Option<Message>,
    rtp: (UdpSocket, UdpSocket),
}

impl Customer {
    /// Sends the INVITE and waits for the switch's 183 with its SDP (early
    /// media while queued).
    fn call(sw: &Switch, account: &str) -> Customer {
        Customer::call_to(sw, "15550123", "5000", account)
    }

    /// As [`Customer::call`], from `from` to queue number `number`.
    fn call_to(sw: &Switch, from: &str, number: &str, account: &str) -> Customer {
        let rtp = rtp_rtcp_sockets();
        let mut ua = Ua::udp(sw.external_addr());
        let mut invite = ua.invite(from, number);
        invite.headers.push(header_name("X-Account"), account.to_string());
        invite.headers.push(header_name("X-Card-Last4"), "4242");
        let port = rtp.0.local_addr().expect("addr").port();
        invite.body = Bytes::from(AudioSdp::pcmu().body("customer", 1, port, "sendrecv"));
        ua.send(&invite);
        let early = recv_status(&mut ua, 183);
        assert!(
            String::from_utf8_lossy(&early.body).contains("m=audio"),
            "the 183 carries the switch's SDP (early media): {}",
            ua::text(&early)
        );
        Customer {
            ua,
            invite,
            early,
            ok: None,
            rtp,
        }
    }

    /// Waits for an RTP packet from the switch's early-media address (the
    /// 183's SDP): the waiting customer hears music. Returns its payload type.
    fn hears_early_media(&mut self) -> u8 {
        let from = sdp_rtp(&self.early.body);
        let deadline = Instant::now() + EVENT;
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            if let Ok((n, src)) = self.rtp.0.recv_from(&mut buf) {
                if src == from && n > 12 && buf[0] >> 6 == 2 {
                    return buf[1] & 0x7f;
                }
            }
        }
        panic!("no RTP from {from} within {EVENT:?} while queued");
    }

    /// Responses that arrived so far (within `quiet`), none of them final:
    /// the customer is not answered yet.
    fn assert_not_answered(&mut self, quiet: Duration) {
        while let Some(m) = self.ua.recv(quiet) {
            assert!(
                !m.status().is_some_and(|s| s.is_final()),
                "the customer got a final response before an agent's phone answered: {}",
                ua::text(&m)
            );
        }
    }

    /// Waits for the 200 and ACKs it.
    fn answered(&mut self) -> Message {
        let ok = recv_status(&mut self.ua, 200);
        ack_2xx(&mut self.ua, &self.invite, &ok);
        self.ok = Some(ok.clone());
        ok
    }

    /// Hangs up an answered call: BYE, then its 200.
    fn hang_up(&mut self) {
        let ok = self.ok.clone().expect("an answered call");
        let mut bye = Message::request(Method::BYE, contact_target(&ok));
        bye.headers.push(HeaderName::Via, self.ua.new_via());
        for name in [HeaderName::From, HeaderName::CallId] {
            let v = self.invite.headers.get(&name).expect("header").clone();
            bye.headers.push(name, v);
        }
        bye.headers
            .push(HeaderName::To, ok.headers.get(&HeaderName::To).expect("To").clone());
        let seq = ua::cseq_of(&self.invite).expect("CSeq").seq + 1;
        bye.headers.push(HeaderName::CSeq, format!("{seq} BYE"));
        bye.headers.push(HeaderName::MaxForwards, "70");
        self.ua.send(&bye);
        recv_where(&mut self.ua, "the 200 to BYE", EVENT, |m| {
            ua::code(m) == 200 && ua::cseq_of(m).is_some_and(|c| c.method == Method::BYE)
        });
    }

    /// Gives up while waiting: CANCEL, then 200 (CANCEL) and 487 (INVITE, ACKed).
    fn cancel(&mut self) {
        let mut cancel = Message::request(Method::CANCEL, self.invite.uri().expect("uri").clone());
        for name in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::MaxForwards,
        ] {
            if let Some(v) = self.invite.headers.get(&name) {
                cancel.headers.push(name, v.clone());
            }
        }
        let seq = ua::cseq_of(&self.invite).expect("CSeq").seq;
        cancel.headers.push(HeaderName::CSeq, format!("{seq} CANCEL"));
        self.ua.send(&cancel);
        let (mut cancel_ok, mut terminated) = (false, None);
        while !(cancel_ok && terminated.is_some()) {
            let m = recv_where(&mut self.ua, "the answers to CANCEL", EVENT, |m| !m.is_request());
            match (ua::code(&m), ua::cseq_of(&m).map(|c| c.method)) {
                (200, Some(Method::CANCEL)) => cancel_ok = true,
                (487, Some(Method::INVITE)) => terminated = Some(m),
                (c, _) if c >= 200 => panic!("unexpected answer to a cancelled INVITE: {}", ua::text(&m)),
                _ => {}
            }
        }
        let terminated = terminated.expect("a 487");
        ack_non_2xx(&mut self.ua, &self.invite, &terminated);
    }

    /// Waits for the switch's BYE and answers it.
    fn hung_up(&mut self) {
        let bye = recv_request(&mut self.ua, Method::BYE);
        self.ua.reply(&bye, StatusCode::OK, None);
    }
}

/// An agent's desk phone driven by the test: registered with digest on
/// the internal profile.
struct Phone {
    ua: Ua,
    ext: &'static str,
    rtp: (UdpSocket, UdpSocket),
}

impl Phone {
    fn register(sw: &Switch, ext: &'static str) -> Phone {
        Phone::register_on(Ua::udp(sw.internal_addr()), ext)
    }

    /// A phone registered over `ua`'s transport (e.g. one TCP connection).
    fn register_on(mut ua: Ua, ext: &'static str) -> Phone {
        assert_eq!(ua.register(ext, &format!("demo-{ext}")), StatusCode::OK);
        Phone {
            ua,
            ext,
            rtp: rtp_rtcp_sockets(),
        }
    }

    /// The next INVITE from the switch, answered with 180 (To tag `tag`).
    fn rings(&mut self, tag: &str) -> Message {
        let invite = recv_request(&mut self.ua, Method::INVITE);
        let ringing = self.response(&invite, StatusCode::RINGING, tag);
        self.ua.send(&ringing);
        invite
    }

    fn response(&self, req: &Message, code: StatusCode, tag: &str) -> Message {
        let mut r = Message::response_to(req, code, None, Some(tag));
        r.headers
            .push(HeaderName::Contact, format!("<{}>", self.ua.contact_uri(self.ext)));
        r
    }

    /// The agent lifts the handset: 200 with SDP. (The switch ACKs it once
    /// the customer ACKed its own 200: end-to-end ACK through the B2BUA.)
    fn answer(&mut self, invite: &Message, tag: &str) {
        let mut ok = self.response(invite, StatusCode::OK, tag);
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        let port = self.rtp.0.local_addr().expect("addr").port();
        ok.body = Bytes::from(AudioSdp::pcmu().body("phone", 1, port, "sendrecv"));
        self.ua.send(&ok);
    }

    /// Answers the switch's CANCEL of `invite`: 200, 487, the switch's ACK.
    fn cancelled(&mut self, cancel: &Message, invite: &Message, tag: &str) {
        let ok = self.response(cancel, StatusCode::OK, tag);
        self.ua.send(&ok);
        let terminated = self.response(invite, StatusCode::REQUEST_TERMINATED, tag);
        self.ua.send(&terminated);
    }

    /// Waits for the switch's BYE and answers it.
    fn hung_up(&mut self) {
        let bye = recv_request(&mut self.ua, Method::BYE);
        self.ua.reply(&bye, StatusCode::OK, None);
    }
}

fn call_id(m: &Message) -> String {
    ua::header(m, "Call-ID").unwrap_or_else(|| panic!("no Call-ID: {}", ua::text(m)))
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// spec: OFFER-1, OFFER-2, AGENT-1, AGENT-6, WRAP-1, WRAP-3, SUP-1 — a SIPp
/// customer calls the support queue; alice's desk phone (a SIPp UAS
/// registered as 1001 with digest) rings for a while, then answers.
/// Her desktop sees the offer with the queue's variables (never the secure
/// one), the customer hears early media (183 with SDP, checked by the
/// scenario) and gets its 200 only after the phone's 200 (answer
/// supervision); the connected call is in her interactions; the customer's
/// hang-up puts her in wrap-up, and submitting it makes her Available; the
/// supervisor's stream follows it all.
#[test]
fn customer_is_answered_only_when_the_agent_phone_answers_then_wrap_up() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let desk = Desk::new(api, ALICE);
    let mut alice = Feed::open(api, ALICE, "alice");
    let mut sam_ws = ws_connect(api, "/supervisor/events", WsAuth::Header(SAM)).expect("sam's stream");
    let phone = spawn_registered_callee_with(
        sw.internal_addr(),
        "1001",
        "demo-1001",
        Sipp::new("uas_agent_answer.xml").pause_ms(3000),
        T,
    );
    login(api, ALICE, &mut alice);
    let customer = sipp_customer(&sw, 4000);

    let offer = alice.event("offer");
    let uid = str_of(&offer, "interaction").to_string();
    assert_eq!(
        (
            str_of(&offer, "queue"),
            str_of(&offer, "channel"),
            str_of(&offer, "caller"),
            str_of(&offer, "dnis")
        ),
        ("support", "voice", "15550100", "5000"),
        "{offer}"
    );
    assert_eq!(offer["auto_answer"], false, "support is a manual-accept queue: {offer}");
    let expected: Vec<(String, String)> = [
        ("caller_number", "15550100"),
        ("dnis", "5000"),
        ("account", "A-77"),
        ("customer_tier", "standard"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        offer_variables(&offer),
        expected,
        "the queue's offer variables, in order"
    );
    assert!(
        !offer.to_string().contains("4242"),
        "a secure variable is never in an offer: {offer}"
    );
    let rona = offer["rona_ms"].as_u64().zip(offer["offered_ms"].as_u64());
    assert_eq!(
        rona.map(|(r, o)| r - o),
        Some(15_000),
        "RONA after the queue's 15 s: {offer}"
    );
    alice.state("Reserved");

    // The phone rings (3 s): the customer is still waiting, no agent yet.
    let sam = Desk::new(api, SAM);
    let list = sam.ok("GET", "/supervisor/interactions", None);
    let it = listed(&list, &uid).unwrap_or_else(|| panic!("the ringing call is listed: {list}"));
    assert_eq!(it["state"], "ringing", "{it}");
    assert!(it["agent"].is_null(), "no agent before the phone answers: {it}");

    let connected = alice.event("connected");
    let view = &connected["interaction"];
    assert_eq!(
        (
            str_of(view, "interaction"),
            str_of(view, "state"),
            str_of(view, "agent")
        ),
        (uid.as_str(), "connected", "alice"),
        "{connected}"
    );
    alice.state("Busy");
    let mine = desk.ok("GET", "/agent/interactions", None);
    let it = listed(&mine, &uid).unwrap_or_else(|| panic!("the call is in alice's interactions: {mine}"));
    assert_eq!(
        (
            str_of(&it, "state"),
            str_of(&it, "queue"),
            str_of(&it, "caller"),
            str_of(&it, "agent")
        ),
        ("connected", "support", "15550100", "alice"),
        "{it}"
    );
    let me = desk.ok("GET", "/agent/me", None);
    assert_eq!(
        (me["state"].as_str(), me["interaction"].as_str()),
        (Some("Busy"), Some(uid.as_str()))
    );

    // The customer hangs up: wrap-up (WRAP-1).
    let ended = alice.event("ended");
    assert_eq!(
        (str_of(&ended, "interaction"), str_of(&ended, "by")),
        (uid.as_str(), "customer")
    );
    let wrap = alice.event("wrap_up");
    assert_eq!(str_of(&wrap, "interaction"), uid);
    assert_eq!(wrap["reasons"], serde_json::json!(SUPPORT_REASONS), "{wrap}");
    assert!(wrap["deadline_ms"].is_u64(), "{wrap}");
    alice.state("WrapUp");

    let customer = customer.wait();
    customer.assert_success();
    let phone = phone.wait();
    phone.assert_success();
    // Answer supervision: the customer's 200 came after the phone's 200.
    let phone_answered = sipp_trace_time(&phone.message_log, "sent", "SIP/2.0 200", "INVITE")
        .unwrap_or_else(|| panic!("the phone's 200 in its trace\n{phone}"));
    let customer_answered = sipp_trace_time(&customer.message_log, "received", "SIP/2.0 200", "INVITE")
        .unwrap_or_else(|| panic!("the customer's 200 in its trace\n{customer}"));
    // SIPp stamps a sent message after `sendto` returns, so on a loaded
    // machine the phone's stamp can trail the switch's forwarded 200 by a
    // scheduling slice; the switch cannot answer the customer before the
    // phone's 200 exists, so anything earlier than that slack is a bug.
    let micros = |stamp: &str| -> i64 {
        let time = stamp.split_whitespace().nth(1).unwrap_or("");
        let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
        let mut parts = hms.split(':').map(|p| p.parse::<i64>().unwrap_or(0));
        let (h, m, sec) = (
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        );
        ((h * 60 + m) * 60 + sec) * 1_000_000 + frac.parse::<i64>().unwrap_or(0)
    };
    assert!(
        micros(&customer_answered) + 50_000 >= micros(&phone_answered),
        "the customer was answered ({customer_answered}) before the agent's phone ({phone_answered})"
    );

    // WRAP-1: reasons are the queue's; WRAP-3: submitting makes her Available.
    let (status, json) = desk.post("/agent/wrapup", Some(r#"{"reasons": ["Sale"]}"#));
    assert_eq!((status, json["field"].as_str()), (400, Some("reasons")), "{json}");
    let me = desk.ok(
        "POST",
        "/agent/wrapup",
        Some(r#"{"reasons": ["Resolved"], "notes": "password reset"}"#),
    );
    assert_eq!(me["state"], "Available", "{me}");
    let done = alice.event("wrap_up_ended");
    assert_eq!(
        (str_of(&done, "interaction"), &done["timed_out"]),
        (uid.as_str(), &Value::Bool(false))
    );
    alice.state("Available");
    assert_eq!(interaction_count(&desk.ok("GET", "/agent/interactions", None)), 0);
    // SUP-1: the supervisor's stream followed alice's call.
    for ty in ["offer", "connected", "ended", "wrap_up", "wrap_up_ended"] {
        let ev = ws_wait_for(&mut sam_ws, EVENT, |v| v["type"] == ty && v["agent"] == "alice");
        assert!(ev.is_some(), "the supervisor's stream carries alice's {ty}");
    }

    let cdrs = sw.wait_for_cdrs(1, EVENT);
    assert_eq!(cdrs[0]["route"], "queue:support", "{:#?}", cdrs[0]);
    assert_eq!(cdrs[0]["end_cause"], "caller_hangup", "{:#?}", cdrs[0]);
    assert!(cdrs[0]["answer_ms"].is_u64(), "answered: {:#?}", cdrs[0]);
}

/// alice (phone 1001 running `alice_script`) and bob (phone 1002
/// answering) logged in, in that order, and a SIPp customer calling 5000:
/// the set-up of the tests where alice's offer fails and bob gets the call.
struct NextAgent {
    sw: Switch,
    alice: Feed,
    bob: Feed,
    alice_phone: SippHandle,
    bob_phone: SippHandle,
    customer: SippHandle,
}

impl NextAgent {
    fn start(rona_s: u32, alice_script: &str) -> NextAgent {
        let sw = start(&acd_config(rona_s, 60));
        let api = sw.api_addr();
        let mut alice = Feed::open(api, ALICE, "alice");
        let mut bob = Feed::open(api, BOB, "bob");
        let alice_phone = spawn_registered_callee(sw.internal_addr(), "1001", "demo-1001", alice_script, T);
        let bob_phone = spawn_registered_callee(sw.internal_addr(), "1002", "demo-1002", "uas_answer_wait_bye.xml", T);
        login(api, ALICE, &mut alice);
        login(api, BOB, &mut bob);
        let customer = sipp_customer(&sw, 1000);
        NextAgent {
            sw,
            alice,
            bob,
            alice_phone,
            bob_phone,
            customer,
        }
    }
}

/// spec: OFFER-4, AGENT-1 — alice (longest idle) declines on her phone
/// (603): she is Available again, never offered the same call again, and
/// the call goes to bob, whose phone answers.
#[test]
fn declined_offer_goes_to_the_next_agent() {
    let NextAgent {
        sw,
        mut alice,
        mut bob,
        alice_phone,
        bob_phone,
        customer,
    } = NextAgent::start(15, "uas_decline.xml");
    let api = sw.api_addr();

    let first = alice.event("offer");
    let uid = str_of(&first, "interaction").to_string();
    let cancelled = alice.event("offer_cancelled");
    assert_eq!(
        (&cancelled["offer"], str_of(&cancelled, "reason")),
        (&first["offer"], "declined"),
        "{cancelled}"
    );
    alice.state("Available");

    let second = bob.event("offer");
    assert_eq!(str_of(&second, "interaction"), uid, "the same call, offered to bob");
    assert_ne!(second["offer"], first["offer"], "a new offer");
    let connected = bob.event("connected");
    assert_eq!(connected["interaction"]["agent"], "bob", "{connected}");
    bob.event("wrap_up");

    customer.wait().assert_success();
    alice_phone.wait().assert_success();
    bob_phone.wait().assert_success();
    alice.settle(Duration::from_millis(500));
    assert_eq!(
        alice.count("offer"),
        1,
        "alice is never offered the call she declined: {:#?}",
        alice.seen
    );
    assert_eq!(Desk::new(api, ALICE).ok("GET", "/agent/me", None)["state"], "Available");
}

/// spec: OFFER-4, AGENT-1 — alice's phone only rings (180, never answers):
/// after the queue's RONA timeout (3 s here) the switch CANCELs it, her
/// desktop gets `rona` and she is `Idle(RONA)`; the call goes to bob.
/// She then chooses to go Available again.
#[test]
fn silent_phone_is_rona_and_the_call_goes_to_the_next_agent() {
    let NextAgent {
        sw,
        mut alice,
        mut bob,
        alice_phone,
        bob_phone,
        customer,
    } = NextAgent::start(3, "uas_ring_cancel.xml");
    let api = sw.api_addr();

    let first = alice.event("offer");
    let uid = str_of(&first, "interaction").to_string();
    let rona = first["rona_ms"].as_u64().zip(first["offered_ms"].as_u64());
    assert_eq!(rona.map(|(r, o)| r - o), Some(3_000), "{first}");
    let timed_out = alice.event("rona");
    assert_eq!(
        (&timed_out["offer"], str_of(&timed_out, "interaction")),
        (&first["offer"], uid.as_str()),
        "{timed_out}"
    );
    let cancelled = alice.event("offer_cancelled");
    assert_eq!(str_of(&cancelled, "reason"), "rona", "{cancelled}");
    let idle = alice.state("Idle");
    assert_eq!(idle["reason"], "RONA", "{idle}");

    let second = bob.event("offer");
    assert_eq!(str_of(&second, "interaction"), uid);
    bob.event("connected");
    bob.event("wrap_up");

    customer.wait().assert_success();
    // The silent phone got the switch's CANCEL (200, 487, ACK).
    alice_phone.wait().assert_success();
    bob_phone.wait().assert_success();

    let desk = Desk::new(api, ALICE);
    let me = desk.ok("GET", "/agent/me", None);
    assert_eq!(
        (me["state"].as_str(), me["reason"].as_str()),
        (Some("Idle"), Some("RONA"))
    );
    let me = desk.ok("POST", "/agent/state", Some(r#"{"state": "available"}"#));
    assert_eq!(me["state"], "Available", "{me}");
    alice.state("Available");
    assert_eq!(alice.count("offer"), 1, "{:#?}", alice.seen);
}

/// spec: OFFER-1, WRAP-1, WRAP-2 — bob's phone is a real softphone
/// (baresip, registered as 1002, answering by itself): a SIPp customer's
/// queue call is connected to it; bob hangs up on the phone (the customer
/// gets the BYE, the desktop says the agent ended it), and his wrap-up
/// ends by itself after the queue's wrap-up time (3 s here).
#[test]
fn baresip_agent_phone_answers_and_hangs_up_a_queue_call() {
    let sw = start(&acd_config(15, 3));
    let api = sw.api_addr();
    let phone = Baresip::with_account(Account::demo(1002, sw.internal_addr()));
    phone
        .wait_registered(EVENT)
        .unwrap_or_else(|e| panic!("baresip 1002 registers: {e}\n{}", phone.log()));
    let mut bob = Feed::open(api, BOB, "bob");
    login(api, BOB, &mut bob);
    let customer = Sipp::new("uac_queue_caller_wait_bye.xml")
        .remote(sw.external_addr())
        .service("5000")
        .set("account", "A-3")
        .spawn(T);

    let offer = bob.event("offer");
    let uid = str_of(&offer, "interaction").to_string();
    phone.expect_event("CALL_ESTABLISHED", EVENT);
    let connected = bob.event("connected");
    assert_eq!(connected["interaction"]["interaction"], uid.as_str());
    phone.hangup();
    phone.expect_event("CALL_CLOSED", EVENT);
    customer.wait().assert_success();
    let ended = bob.event("ended");
    assert_eq!(ended["by"], "agent", "{ended}");
    bob.event("wrap_up");
    bob.state("WrapUp");
    let done = bob.event("wrap_up_ended");
    assert_eq!(done["timed_out"], true, "wrap-up ends by itself (WRAP-2): {done}");
    bob.state("Available");
    let cdrs = sw.wait_for_cdrs(1, EVENT);
    assert_eq!(cdrs[0]["end_cause"], "callee_hangup", "{:#?}", cdrs[0]);
}

/// spec: OFFER-1, CALL-HOLD-1, CAD-1, CAD-2, CAD-3, CAD-4, AGENT-4, WRAP-1,
/// WRAP-2, WRAP-3 —
/// the desktop with a real call (our own UAs as customer and desk phone):
/// alice accepts a ringing manual offer on her desktop (the switch CANCELs
/// the ringing leg and re-rings the phone with `answer-after=0`; the
/// customer is answered only once the phone answers); she holds and
/// resumes (ending a held call is refused), reads and edits the call data
/// with versions, asks for Idle (pending while busy), ends the call from
/// the desktop, extends her wrap-up indefinitely and submits it: she ends
/// up Idle (Lunch), the state she asked for.
#[test]
fn desktop_accept_hold_data_end_and_wrap_up() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let desk = Desk::new(api, ALICE);
    let mut phone = Phone::register(&sw, "1001");
    let mut alice = Feed::open(api, ALICE, "alice");
    login(api, ALICE, &mut alice);
    let mut customer = Customer::call(&sw, "A-9");

    let offer = alice.event("offer");
    let uid = str_of(&offer, "interaction").to_string();
    let ringing = phone.rings("ring1");
    customer.assert_not_answered(Duration::from_millis(200));

    // OFFER-1: accept on the desktop.
    let path = format!("/agent/offers/{}/accept", offer["offer"]);
    desk.ok("POST", &path, None);
    let (mut cancelled, mut acked, mut auto) = (false, false, None);
    while !(cancelled && acked && auto.is_some()) {
        let m = recv_where(&mut phone.ua, "the accept's CANCEL and new INVITE", EVENT, |m| {
            m.is_request()
        });
        let same_leg = call_id(&m) == call_id(&ringing);
        match m.method() {
            Some(&Method::CANCEL) if same_leg => {
                phone.cancelled(&m, &ringing, "ring1");
                cancelled = true;
            }
            Some(&Method::ACK) if same_leg => acked = true,
            Some(&Method::INVITE) if !same_leg => auto = Some(m),
            _ => {}
        }
    }
    let auto = auto.expect("the auto-answer INVITE");
    let call_info = ua::header(&auto, "Call-Info").unwrap_or_default();
    assert!(call_info.contains("answer-after=0"), "{}", ua::text(&auto));
    customer.assert_not_answered(Duration::from_millis(200));
    phone.answer(&auto, "ring2");
    customer.answered();
    recv_request(&mut phone.ua, Method::ACK);
    let connected = alice.event("connected");
    assert_eq!(connected["interaction"]["interaction"], uid.as_str(), "{connected}");
    let hold = format!("/agent/interactions/{uid}/hold");
    let resume = format!("/agent/interactions/{uid}/resume");
    let end = format!("/agent/interactions/{uid}/end");

    // CALL-HOLD-1: hold, a held call cannot be ended, resume.
    let list = desk.ok("POST", &hold, None);
    assert_eq!(
        listed(&list, &uid).map(|i| i["state"].clone()),
        Some("held".into()),
        "{list}"
    );
    let ev = alice.event("hold");
    assert_eq!(ev["held"], true, "{ev}");
    let (status, json) = desk.post(&end, None);
    assert_eq!((status, json["error"].as_str()), (409, Some("conflict")), "{json}");
    let (status, json) = desk.post(&hold, None);
    assert_eq!(status, 409, "holding a held call: {json}");
    let list = desk.ok("POST", &resume, None);
    assert_eq!(
        listed(&list, &uid).map(|i| i["state"].clone()),
        Some("connected".into())
    );
    let ev = alice.event("hold");
    assert_eq!(ev["held"], false, "{ev}");

    // CAD-1: typed variables from the call; the secure one's value never leaves.
    let data_path = format!("/agent/interactions/{uid}/data");
    // Another agent cannot touch alice's call (403, not 404: it exists).
    let bob = Desk::new(api, BOB);
    for (method, path) in [("GET", &data_path), ("POST", &hold), ("POST", &end)] {
        let (status, json) = bob.call(method, path, None);
        assert_eq!(
            (status, json["error"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}: {json}"
        );
    }
    let data = desk.ok("GET", &data_path, None);
    let v0 = data["version"].as_u64().unwrap_or_else(|| panic!("a version: {data}"));
    let account = variable(&data, "account");
    assert_eq!(
        (&account["value"], &account["type"], &account["editable"]),
        (&Value::from("A-9"), &Value::from("string"), &Value::Bool(true)),
        "{account}"
    );
    let tickets = variable(&data, "open_tickets");
    assert_eq!(
        (&tickets["type"], &tickets["editable"]),
        (&Value::from("integer"), &Value::Bool(false))
    );
    let card = variable(&data, "card_last4");
    assert_eq!(
        (&card["secure"], &card["value"]),
        (&Value::Bool(true), &Value::Null),
        "{card}"
    );
    assert!(
        !data.to_string().contains("4242"),
        "secure values never leave the switch: {data}"
    );

    // CAD-3: the first save wins; a later save of the same variable on the
    // old version is told what overwrote it; other variables still save.
    let save = |version: u64, name: &str, value: &str| {
        desk.put(
            &data_path,
            &serde_json::json!({"version": version, "values": {name: value}}).to_string(),
        )
    };
    let (status, saved) = save(v0, "customer_tier", "gold");
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["version"].as_u64(), Some(v0 + 1), "{saved}");
    assert_eq!(variable(&saved, "customer_tier")["value"], "gold");
    let ev = alice.event("data_saved");
    assert_eq!(
        (ev["version"].as_u64(), &ev["changed"]),
        (Some(v0 + 1), &serde_json::json!(["customer_tier"]))
    );
    let (status, conflict) = save(v0, "customer_tier", "silver");
    assert_eq!(
        (status, conflict["error"].as_str()),
        (409, Some("data_conflict")),
        "{conflict}"
    );
    assert_eq!(
        (conflict["version"].as_u64(), conflict["base"].as_u64()),
        (Some(v0 + 1), Some(v0)),
        "{conflict}"
    );
    assert_eq!(conflict["overwritten"]["customer_tier"], "gold", "{conflict}");
    let (status, saved) = save(v0, "account", "A-10");
    assert_eq!((status, saved["version"].as_u64()), (200, Some(v0 + 2)), "{saved}");
    // CAD-1/CAD-2: read-only variables and values over 256 characters are refused.
    let (status, json) = save(v0 + 2, "open_tickets", "3");
    assert_eq!(
        (status, json["field"].as_str()),
        (400, Some("values.open_tickets")),
        "{json}"
    );
    let (status, json) = save(v0 + 2, "account", &"x".repeat(257));
    assert_eq!(
        (status, json["field"].as_str()),
        (400, Some("values.account")),
        "{json}"
    );
    // CAD-4: revert gives the last saved values.
    let reverted = desk.ok("POST", &format!("{data_path}/revert"), None);
    assert_eq!(reverted["version"].as_u64(), Some(v0 + 2), "{reverted}");
    assert_eq!(variable(&reverted, "account")["value"], "A-10");
    assert_eq!(variable(&reverted, "customer_tier")["value"], "gold");

    // AGENT-4: Idle asked while Busy is pending until wrap-up ends.
    let me = desk.ok("POST", "/agent/state", Some(r#"{"state": "idle", "reason": "Lunch"}"#));
    assert_eq!(
        (me["state"].as_str(), me["pending"].as_str()),
        (Some("Busy"), Some("Idle(Lunch)")),
        "{me}"
    );
    let ev = alice.wait("the pending Idle", EVENT, |v| {
        v["type"] == "agent_state" && v["pending"] == "Idle(Lunch)"
    });
    assert_eq!(ev["state"], "Busy", "{ev}");

    // The agent ends the call: both sides get a BYE, alice wraps up.
    desk.ok("POST", &end, None);
    customer.hung_up();
    phone.hung_up();
    let ended = alice.event("ended");
    assert_eq!(ended["by"], "agent", "{ended}");
    alice.event("wrap_up");
    alice.state("WrapUp");

    // WRAP-2: extended indefinitely, no automatic end; then submitted.
    let me = desk.ok("POST", "/agent/wrapup/extend", Some(r#"{"indefinitely": true}"#));
    assert_eq!(
        (me["state"].as_str(), &me["wrap_up_deadline_ms"]),
        (Some("WrapUp"), &Value::Null),
        "{me}"
    );
    // A desktop that reconnects reads the queue's wrap-up reasons (WRAP-1).
    assert_eq!(
        me["wrap_up_reasons"],
        serde_json::json!(["Resolved", "Escalated", "Call back later"]),
        "{me}"
    );
    let me = desk.ok(
        "POST",
        "/agent/wrapup",
        Some(r#"{"reasons": ["Escalated", "Call back later"], "notes": "tier 2"}"#),
    );
    // WRAP-3: wrap-up ends into the pending state.
    assert_eq!(
        (me["state"].as_str(), me["reason"].as_str(), &me["pending"]),
        (Some("Idle"), Some("Lunch"), &Value::Null),
        "{me}"
    );
    let done = alice.event("wrap_up_ended");
    assert_eq!(done["timed_out"], false, "{done}");
    let idle = alice.state("Idle");
    assert_eq!(idle["reason"], "Lunch", "{idle}");
}

/// spec: SUP-1, AGENT-2, OFFER-4 — a customer waits while no agent is
/// Available (alice Idle at Lunch), hearing music (early media); the
/// supervisor's dashboard lists the queued call; when alice goes Available the call rings her phone; the
/// customer gives up (CANCEL) while it rings: the switch CANCELs her
/// phone, her offer is cancelled as abandoned, she stays Available (not
/// RONA), and the dashboard is empty again.
#[test]
fn customer_abandons_while_queued_and_while_ringing() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let sam = Desk::new(api, SAM);
    let desk = Desk::new(api, ALICE);
    let mut phone = Phone::register(&sw, "1001");
    let mut alice = Feed::open(api, ALICE, "alice");
    let me = desk.ok("POST", "/agent/login", Some(r#"{"state": "idle", "reason": "Lunch"}"#));
    assert_eq!(me["state"], "Idle", "{me}");
    alice.state("Idle");

    // Queued: nobody is Available (AGENT-2).
    let mut customer = Customer::call(&sw, "A-5");
    let mut queued = None;
    assert!(
        wait_until(EVENT, || {
            let list = sam.ok("GET", "/supervisor/interactions", None);
            queued = list["interactions"].as_array().and_then(|l| l.first().cloned());
            queued.is_some()
        }),
        "the queued call is on the supervisor's dashboard"
    );
    let queued = queued.expect("listed");
    assert_eq!(
        (
            str_of(&queued, "state"),
            str_of(&queued, "queue"),
            str_of(&queued, "caller"),
            str_of(&queued, "dnis")
        ),
        ("queued", "support", "15550123", "5000"),
        "{queued}"
    );
    assert!(queued["agent"].is_null(), "{queued}");
    assert!(
        queued["arrived_ms"].is_u64() && queued["durations"]["queue_ms"].is_u64(),
        "{queued}"
    );
    let uid = str_of(&queued, "interaction").to_string();
    customer.assert_not_answered(Duration::from_millis(200));
    // Early media: the waiting customer hears the queue's music (PCMU, as offered).
    assert_eq!(customer.hears_early_media(), 0);

    // Alice becomes Available: the call rings her phone.
    desk.ok("POST", "/agent/state", Some(r#"{"state": "available"}"#));
    alice.state("Available");
    let offer = alice.event("offer");
    assert_eq!(str_of(&offer, "interaction"), uid);
    let ringing = phone.rings("ring1");
    let list = sam.ok("GET", "/supervisor/interactions", None);
    assert_eq!(
        listed(&list, &uid).map(|i| i["state"].clone()),
        Some("ringing".into()),
        "{list}"
    );

    // The customer gives up: abandoned.
    customer.cancel();
    let cancel = recv_request(&mut phone.ua, Method::CANCEL);
    assert_eq!(call_id(&cancel), call_id(&ringing));
    phone.cancelled(&cancel, &ringing, "ring1");
    recv_request(&mut phone.ua, Method::ACK);
    let cancelled = alice.event("offer_cancelled");
    assert_eq!(str_of(&cancelled, "reason"), "abandoned", "{cancelled}");
    alice.state("Available");
    assert!(
        wait_until(EVENT, || interaction_count(&sam.ok(
            "GET",
            "/supervisor/interactions",
            None
        )) == 0),
        "the abandoned call leaves the dashboard"
    );
    let me = desk.ok("GET", "/agent/me", None);
    assert_eq!(
        (me["state"].as_str(), &me["reason"]),
        (Some("Available"), &Value::Null),
        "{me}"
    );
    assert!(alice.seen.iter().all(|v| v["type"] != "rona"), "{:#?}", alice.seen);
    // The abandoned call's record: never answered.
    let cdrs = sw.wait_for_cdrs(1, EVENT);
    let cdr = &cdrs[0];
    assert_eq!(
        (&cdr["route"], &cdr["end_cause"], &cdr["sip_code"], &cdr["answer_ms"]),
        (
            &Value::from("queue:support"),
            &Value::from("caller_cancel"),
            &Value::from(487),
            &Value::Null
        ),
        "{cdr:#?}"
    );
}

/// spec: OFFER-4, AGENT-3 — alice declines a ringing offer on her desktop:
/// she cannot log out while it rings, the switch CANCELs her phone, she is
/// Available again, and the call rings bob's phone instead. The customer
/// then gives up and bob's offer is cancelled as abandoned.
#[test]
fn desktop_decline_cancels_the_phone_and_offers_the_next_agent() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let desk = Desk::new(api, ALICE);
    let mut alice_phone = Phone::register(&sw, "1001");
    let mut bob_phone = Phone::register(&sw, "1002");
    let mut alice = Feed::open(api, ALICE, "alice");
    let mut bob = Feed::open(api, BOB, "bob");
    login(api, ALICE, &mut alice);
    login(api, BOB, &mut bob);
    let mut customer = Customer::call(&sw, "A-4");

    let offer = alice.event("offer");
    let uid = str_of(&offer, "interaction").to_string();
    let ringing = alice_phone.rings("a1");
    let me = desk.ok("GET", "/agent/me", None);
    assert_eq!(me["state"], "Reserved", "{me}");
    assert_eq!(
        me["offers"][0]["offer"], offer["offer"],
        "the ringing offer is on /agent/me: {me}"
    );
    // AGENT-3: no logout while an offer rings.
    let (status, json) = desk.post("/agent/logout", None);
    assert_eq!((status, json["error"].as_str()), (409, Some("conflict")), "{json}");
    // Bob cannot decline alice's offer.
    let path = format!("/agent/offers/{}/decline", offer["offer"]);
    let (status, json) = Desk::new(api, BOB).post(&path, None);
    assert_eq!(status, 403, "{json}");

    let me = desk.ok("POST", &path, None);
    assert_eq!(me["state"], "Available", "{me}");
    let cancel = recv_request(&mut alice_phone.ua, Method::CANCEL);
    assert_eq!(call_id(&cancel), call_id(&ringing));
    alice_phone.cancelled(&cancel, &ringing, "a1");
    recv_request(&mut alice_phone.ua, Method::ACK);
    let cancelled = alice.event("offer_cancelled");
    assert_eq!(str_of(&cancelled, "reason"), "declined", "{cancelled}");
    alice.state("Available");

    let second = bob.event("offer");
    assert_eq!(str_of(&second, "interaction"), uid);
    let bob_ringing = bob_phone.rings("b1");
    customer.assert_not_answered(Duration::from_millis(200));

    customer.cancel();
    let cancel = recv_request(&mut bob_phone.ua, Method::CANCEL);
    bob_phone.cancelled(&cancel, &bob_ringing, "b1");
    let cancelled = bob.event("offer_cancelled");
    assert_eq!(str_of(&cancelled, "reason"), "abandoned", "{cancelled}");
    bob.state("Available");
    alice.settle(Duration::from_millis(300));
    assert_eq!(alice.count("offer"), 1, "{:#?}", alice.seen);
}

/// spec: OFFER-1, OFFER-2, OFFER-3 — the sales queue (5001) is auto-accept
/// with the caller's number masked: carol's phone is rung with
/// `Call-Info: answer-after=0` and answers by itself; her offer says so and
/// shows only the last 4 digits of the caller's number, also in the call
/// data, where it is read-only. The customer hangs up; carol wraps up.
#[test]
fn auto_accept_queue_makes_the_phone_answer_and_masks_the_caller() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let desk = Desk::new(api, CAROL);
    let mut phone = Phone::register(&sw, "1003");
    let mut carol = Feed::open(api, CAROL, "carol");
    login(api, CAROL, &mut carol);
    let mut customer = Customer::call_to(&sw, "15550123", "5001", "A-8");

    let offer = carol.event("offer");
    let uid = str_of(&offer, "interaction").to_string();
    assert_eq!(
        (&offer["auto_answer"], str_of(&offer, "queue"), str_of(&offer, "caller")),
        (&Value::Bool(true), "sales", "****0123"),
        "{offer}"
    );
    let vars = offer_variables(&offer);
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["caller_number", "caller_name", "dnis", "queue"], "{offer}");
    assert_eq!(vars[0].1, "****0123", "OFFER-3 in the variables too: {offer}");
    assert!(!offer.to_string().contains("15550123"), "{offer}");

    let invite = recv_request(&mut phone.ua, Method::INVITE);
    let call_info = ua::header(&invite, "Call-Info").unwrap_or_default();
    assert!(call_info.contains("answer-after=0"), "{}", ua::text(&invite));
    // OFFER-3 on the phone's display too: From shows only the last 4 digits.
    let from = ua::header(&invite, "From").unwrap_or_default();
    assert!(
        from.starts_with("\"****0123\" <sip:****0123@"),
        "the phone sees the masked number: {from}"
    );
    assert!(!ua::text(&invite).contains("15550123"), "{}", ua::text(&invite));
    phone.answer(&invite, "c1");
    customer.answered();
    recv_request(&mut phone.ua, Method::ACK);
    let connected = carol.event("connected");
    assert_eq!(connected["interaction"]["caller"], "****0123", "{connected}");

    let mine = desk.ok("GET", "/agent/interactions", None);
    assert_eq!(
        listed(&mine, &uid).map(|i| i["caller"].clone()),
        Some("****0123".into()),
        "{mine}"
    );
    let data = desk.ok("GET", &format!("/agent/interactions/{uid}/data"), None);
    let number = variable(&data, "caller_number");
    assert_eq!(
        (&number["value"], &number["editable"]),
        (&Value::from("****0123"), &Value::Bool(false))
    );
    // The supervisor sees the real number (SUP-1).
    let list = Desk::new(api, SAM).ok("GET", "/supervisor/interactions", None);
    assert_eq!(
        listed(&list, &uid).map(|i| i["caller"].clone()),
        Some("15550123".into()),
        "{list}"
    );

    customer.hang_up();
    phone.hung_up();
    let ended = carol.event("ended");
    assert_eq!(ended["by"], "customer", "{ended}");
    let wrap = carol.event("wrap_up");
    assert_eq!(
        wrap["reasons"],
        serde_json::json!(["Sale", "No sale", "Follow-up"]),
        "{wrap}"
    );
    desk.ok("POST", "/agent/wrapup", Some(r#"{"reasons": ["Sale"]}"#));
    carol.state("Available");
}

/// spec: OFFER-4, AGENT-2 — a call that rang out (RONA) goes back into the
/// line ahead of a customer who called later: when bob logs in, he is
/// offered the first customer, and the later one keeps waiting; alice,
/// Idle(RONA), is offered nothing.
#[test]
fn rona_call_goes_back_ahead_of_later_arrivals() {
    let sw = start(&acd_config(3, 60));
    let api = sw.api_addr();
    let sam = Desk::new(api, SAM);
    let mut alice_phone = Phone::register(&sw, "1001");
    let mut bob_phone = Phone::register(&sw, "1002");
    let mut alice = Feed::open(api, ALICE, "alice");
    let mut bob = Feed::open(api, BOB, "bob");
    login(api, ALICE, &mut alice);
    let mut first = Customer::call_to(&sw, "15550001", "5000", "A-1");
    let offer = alice.event("offer");
    let first_uid = str_of(&offer, "interaction").to_string();
    let ringing = alice_phone.rings("a1");
    let mut second = Customer::call_to(&sw, "15550002", "5000", "A-2");
    let mut second_uid = String::new();
    assert!(
        wait_until(EVENT, || {
            let list = sam.ok("GET", "/supervisor/interactions", None);
            second_uid = list["interactions"]
                .as_array()
                .and_then(|l| l.iter().find(|i| i["caller"] == "15550002"))
                .and_then(|i| i["interaction"].as_str())
                .unwrap_or_default()
                .to_string();
            !second_uid.is_empty()
        }),
        "the second customer is listed"
    );

    // RONA: the switch CANCELs alice's phone; she is Idle(RONA).
    let cancel = recv_request(&mut alice_phone.ua, Method::CANCEL);
    alice_phone.cancelled(&cancel, &ringing, "a1");
    alice.event("rona");
    let idle = alice.state("Idle");
    assert_eq!(idle["reason"], "RONA", "{idle}");
    let list = sam.ok("GET", "/supervisor/interactions", None);
    let arrived = listed(&list, &second_uid).and_then(|i| i["arrived_ms"].as_u64());
    assert!(
        arrived.is_some_and(|t| idle["at_ms"].as_u64().is_some_and(|rona| t <= rona)),
        "the second customer arrived before the first call rang out: {list} {idle}"
    );

    login(api, BOB, &mut bob);
    let offer = bob.event("offer");
    assert_eq!(
        str_of(&offer, "interaction"),
        first_uid,
        "the call that rang out is ahead of the later one"
    );
    let bob_ringing = bob_phone.rings("b1");
    let list = sam.ok("GET", "/supervisor/interactions", None);
    assert_eq!(
        listed(&list, &second_uid).map(|i| i["state"].clone()),
        Some("queued".into()),
        "{list}"
    );

    // Both customers give up.
    first.cancel();
    let cancel = recv_request(&mut bob_phone.ua, Method::CANCEL);
    bob_phone.cancelled(&cancel, &bob_ringing, "b1");
    // Bob is Available again: the second customer now rings him.
    let offer = bob.event("offer");
    assert_eq!(str_of(&offer, "interaction"), second_uid);
    let bob_ringing = bob_phone.rings("b2");
    second.cancel();
    let cancel = recv_request(&mut bob_phone.ua, Method::CANCEL);
    bob_phone.cancelled(&cancel, &bob_ringing, "b2");
    assert!(
        wait_until(EVENT, || interaction_count(&sam.ok(
            "GET",
            "/supervisor/interactions",
            None
        )) == 0),
        "both calls are gone from the dashboard"
    );
    alice.settle(Duration::from_millis(300));
    assert_eq!(
        alice.count("offer"),
        1,
        "nothing is offered to an Idle agent: {:#?}",
        alice.seen
    );
}

/// spec: OFFER-1 — an agent with two registered phones (desk phone and
/// softphone on 1001): the offer rings both; the one that answers gets the
/// call, the other is CANCELled; the customer's hang-up reaches the phone
/// that answered.
#[test]
fn offer_rings_every_phone_of_the_agent() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let mut desk_phone = Phone::register(&sw, "1001");
    let mut soft_phone = Phone::register(&sw, "1001");
    let mut alice = Feed::open(api, ALICE, "alice");
    login(api, ALICE, &mut alice);
    let mut customer = Customer::call(&sw, "A-6");
    alice.event("offer");
    let on_desk = desk_phone.rings("d1");
    let on_soft = soft_phone.rings("s1");
    assert_ne!(call_id(&on_desk), call_id(&on_soft), "one leg per phone");
    customer.assert_not_answered(Duration::from_millis(200));

    soft_phone.answer(&on_soft, "s1");
    let cancel = recv_request(&mut desk_phone.ua, Method::CANCEL);
    assert_eq!(call_id(&cancel), call_id(&on_desk));
    desk_phone.cancelled(&cancel, &on_desk, "d1");
    customer.answered();
    recv_request(&mut soft_phone.ua, Method::ACK);
    let connected = alice.event("connected");
    assert_eq!(connected["interaction"]["agent"], "alice", "{connected}");
    assert_eq!(
        alice.count("offer"),
        1,
        "one offer, however many phones: {:#?}",
        alice.seen
    );

    customer.hang_up();
    soft_phone.hung_up();
    alice.event("wrap_up");
}

/// spec: OFFER-1, OFFER-3, WRAP-1 — queue overflow (`max_wait_s`, 2 s
/// here): a customer of `support` that nobody serves overflows to `sales`,
/// where carol (serving only sales here) gets it as a sales call: the
/// offer names the sales queue, answers by itself (auto-accept), masks the
/// caller's number, and her wrap-up offers the sales reasons.
#[test]
fn overflowed_call_is_offered_as_a_call_of_the_new_queue() {
    let cfg = acd_config(15, 60);
    cfg.patch("acd.toml", "max_wait_s = 300", "max_wait_s = 2");
    cfg.patch(
        "acd.toml",
        "skills = { sales = 9, support = 3 }",
        "skills = { sales = 9 }",
    );
    let sw = start(&cfg);
    let api = sw.api_addr();
    let desk = Desk::new(api, CAROL);
    let mut phone = Phone::register(&sw, "1003");
    let mut carol = Feed::open(api, CAROL, "carol");
    login(api, CAROL, &mut carol);
    let mut customer = Customer::call(&sw, "A-11");

    let offer = carol.wait("the overflowed offer", EVENT, |v| v["type"] == "offer");
    let uid = str_of(&offer, "interaction").to_string();
    assert_eq!(
        (str_of(&offer, "queue"), &offer["auto_answer"], str_of(&offer, "caller")),
        ("sales", &Value::Bool(true), "****0123"),
        "an overflowed call is a call of the queue it overflowed to: {offer}"
    );
    let invite = recv_request(&mut phone.ua, Method::INVITE);
    let call_info = ua::header(&invite, "Call-Info").unwrap_or_default();
    assert!(call_info.contains("answer-after=0"), "{}", ua::text(&invite));
    // OFFER-3 on the phone's display too: From shows only the last 4 digits.
    let from = ua::header(&invite, "From").unwrap_or_default();
    assert!(
        from.starts_with("\"****0123\" <sip:****0123@"),
        "the phone sees the masked number: {from}"
    );
    assert!(!ua::text(&invite).contains("15550123"), "{}", ua::text(&invite));
    phone.answer(&invite, "c1");
    customer.answered();
    recv_request(&mut phone.ua, Method::ACK);
    let connected = carol.event("connected");
    assert_eq!(connected["interaction"]["queue"], "sales", "{connected}");

    customer.hang_up();
    phone.hung_up();
    let wrap = carol.event("wrap_up");
    assert_eq!(str_of(&wrap, "interaction"), uid);
    assert_eq!(
        wrap["reasons"],
        serde_json::json!(["Sale", "No sale", "Follow-up"]),
        "{wrap}"
    );
    let me = desk.ok("POST", "/agent/wrapup", Some(r#"{"reasons": ["Sale"]}"#));
    assert_eq!(me["state"], "Available", "{me}");
}

/// spec: OFFER-1 — a customer whose INVITE has no SDP (a delayed offer, as
/// some carriers send) waits hearing ringback (180, no early media); alice's
/// phone is offered the switch's SDP and answers; the customer gets the
/// switch's offer in the 200 and answers in its ACK; the call connects.
#[test]
fn delayed_offer_customer_is_connected_to_the_agent() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let mut phone = Phone::register(&sw, "1001");
    let mut alice = Feed::open(api, ALICE, "alice");
    login(api, ALICE, &mut alice);
    let (rtp, _rtcp) = rtp_rtcp_sockets();
    let mut customer = Ua::udp(sw.external_addr());
    let mut invite = customer.invite("15550123", "5000");
    invite.headers.remove(&HeaderName::ContentType);
    invite.body = Bytes::new();
    customer.send(&invite);
    let ringback = recv_where(&mut customer, "180 or 183", EVENT, |m| matches!(ua::code(m), 180 | 183));
    assert_eq!(
        ua::code(&ringback),
        180,
        "no SDP to answer: ringback, {}",
        ua::text(&ringback)
    );
    assert!(ringback.body.is_empty(), "{}", ua::text(&ringback));

    alice.event("offer");
    let offered = phone.rings("p1");
    assert!(
        String::from_utf8_lossy(&offered.body).contains("m=audio"),
        "the phone gets the switch's offer: {}",
        ua::text(&offered)
    );
    phone.answer(&offered, "p1");
    let ok = recv_status(&mut customer, 200);
    assert!(
        String::from_utf8_lossy(&ok.body).contains("m=audio"),
        "the 200 carries the switch's offer: {}",
        ua::text(&ok)
    );
    let mut ack = Message::request(Method::ACK, contact_target(&ok));
    ack.headers.push(HeaderName::Via, customer.new_via());
    for name in [HeaderName::From, HeaderName::CallId] {
        ack.headers
            .push(name.clone(), invite.headers.get(&name).expect("header").clone());
    }
    ack.headers
        .push(HeaderName::To, ok.headers.get(&HeaderName::To).expect("To").clone());
    let seq = ua::cseq_of(&invite).expect("CSeq").seq;
    ack.headers.push(HeaderName::CSeq, format!("{seq} ACK"));
    ack.headers.push(HeaderName::MaxForwards, "70");
    ack.headers.push(HeaderName::ContentType, "application/sdp");
    let port = rtp.local_addr().expect("addr").port();
    ack.body = Bytes::from(AudioSdp::pcmu().body("customer", 1, port, "sendrecv"));
    customer.send(&ack);
    recv_request(&mut phone.ua, Method::ACK);
    let connected = alice.event("connected");
    assert_eq!(connected["interaction"]["state"], "connected", "{connected}");

    Desk::new(api, ALICE).ok(
        "POST",
        &format!(
            "/agent/interactions/{}/end",
            str_of(&connected["interaction"], "interaction")
        ),
        None,
    );
    let bye = recv_request(&mut customer, Method::BYE);
    customer.reply(&bye, StatusCode::OK, None);
    phone.hung_up();
    alice.event("wrap_up");
}

/// spec: OFFER-1 — an agent phone registered over TCP is rung over its
/// connection, answers, and gets the customer's hang-up on it.
#[test]
fn agent_phone_over_tcp_answers_a_queue_call() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let mut phone = Phone::register_on(Ua::tcp(sw.internal_addr()), "1002");
    let mut bob = Feed::open(api, BOB, "bob");
    login(api, BOB, &mut bob);
    let mut customer = Customer::call(&sw, "A-12");
    bob.event("offer");
    let invite = phone.rings("t1");
    let via = ua::header(&invite, "Via").unwrap_or_default();
    assert!(via.starts_with("SIP/2.0/TCP"), "rung over TCP: {}", ua::text(&invite));
    phone.answer(&invite, "t1");
    customer.answered();
    recv_request(&mut phone.ua, Method::ACK);
    bob.event("connected");
    customer.hang_up();
    phone.hung_up();
    let ended = bob.event("ended");
    assert_eq!(ended["by"], "customer", "{ended}");
    bob.event("wrap_up");
}

/// spec: AGENT-2, WRAP-3 — an agent in wrap-up is not offered calls: a
/// second customer waits until alice submits her wrap-up, then rings her
/// at once.
#[test]
fn next_call_waits_for_the_end_of_wrap_up() {
    let sw = start(&acd_config(15, 60));
    let api = sw.api_addr();
    let desk = Desk::new(api, ALICE);
    let sam = Desk::new(api, SAM);
    let mut phone = Phone::register(&sw, "1001");
    let mut alice = Feed::open(api, ALICE, "alice");
    login(api, ALICE, &mut alice);

    let mut first = Customer::call_to(&sw, "15550001", "5000", "A-1");
    alice.event("offer");
    let invite = phone.rings("p1");
    phone.answer(&invite, "p1");
    first.answered();
    recv_request(&mut phone.ua, Method::ACK);
    alice.event("connected");
    first.hang_up();
    phone.hung_up();
    alice.event("wrap_up");
    alice.state("WrapUp");

    let mut second = Customer::call_to(&sw, "15550002", "5000", "A-2");
    let mut waiting = None;
    assert!(
        wait_until(EVENT, || {
            let list = sam.ok("GET", "/supervisor/interactions", None);
            waiting = list["interactions"]
                .as_array()
                .and_then(|l| l.iter().find(|i| i["caller"] == "15550002").cloned());
            waiting.is_some()
        }),
        "the second customer is listed"
    );
    let waiting = waiting.expect("listed");
    assert_eq!(waiting["state"], "queued", "nobody is Available: {waiting}");
    second.assert_not_answered(Duration::from_millis(200));
    alice.settle(Duration::from_millis(200));
    assert_eq!(alice.count("offer"), 1, "no offer during wrap-up: {:#?}", alice.seen);

    desk.ok("POST", "/agent/wrapup", Some(r#"{"reasons": ["Resolved"]}"#));
    let offer = alice.event("offer");
    assert_eq!(offer["interaction"], waiting["interaction"], "{offer}");
    let invite = phone.rings("p2");
    phone.answer(&invite, "p2");
    second.answered();
    recv_request(&mut phone.ua, Method::ACK);
    let connected = alice.event("connected");
    assert_eq!(connected["interaction"]["caller"], "15550002", "{connected}");
    second.hang_up();
    phone.hung_up();
    alice.event("wrap_up");
}
