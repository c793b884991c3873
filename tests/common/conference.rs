//! Parties of a queue call for the consult, conference and supervisor
//! end-to-end tests (`tests/e2e_consult.rs`, `tests/e2e_conference.rs`;
//! issue 9).
//!
//! Why it exists: those tests build the same scene (a customer on the
//! external profile calls the support queue, agents' phones registered with
//! digest answer, each agent's desktop event stream is watched) and decide
//! who hears whom the same way (Goertzel levels over one second of decoded
//! G.711). One copy keeps their waits and checks alike. It gives them
//!
//! * [`Feed`]: an agent's desktop event stream whose waits take the first
//!   matching frame in any order and keep the rest; [`login`],
//!   [`login_seen`], [`enabled`];
//! * [`recv_where`], [`recv_request`], [`sdp_for`]: bounded SIP waits and a
//!   PCMU offer;
//! * [`Customer`] (our UA on the external profile: call, answered, hang up)
//!   and [`Phone`] (a registered desk phone: rings, answer, reject, hung up,
//!   hang up);
//! * [`Connected`]: the customer with alice, answered;
//! * [`Ear`], [`Heard`], [`Voice`], [`packet_level`], [`assert_hears`]: what
//!   a phone's RTP socket receives and the tones in it.
//!
//! Every wait is bounded by [`EVENT`] or [`MEDIA_TIMEOUT`] and waits for an
//! event; the only timed reads are the one-second listening windows.

use super::desk::{self, ws_connect, ws_next, Desk, WsAuth, ALICE};
use super::media::*;
use super::ua::{self, Ua};
use super::Switch;
use bytes::Bytes;
use serde_json::Value;
use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use switchboard::dsp::tone::{level_dbfs, tone_level_dbfs};
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

/// How long a desktop event or a SIP message may take to arrive.
pub const EVENT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Desktops
// ---------------------------------------------------------------------------

/// An agent's event stream that keeps every frame: waits take the first
/// frame matching, in any order; frames read meanwhile stay for later.
pub struct Feed {
    pub who: &'static str,
    ws: desk::Stream,
    pending: VecDeque<Value>,
    /// Every frame read so far, in order.
    pub seen: Vec<Value>,
    /// Whether each frame read must carry `"agent": who` ([`Feed::own_only`]).
    own_only: bool,
}

impl Feed {
    /// Opens `token`'s event stream; `who` is its agent's name.
    pub fn open(sw: &Switch, token: &str, who: &'static str) -> Feed {
        let ws = ws_connect(sw.api_addr(), "/agent/events", WsAuth::Header(token))
            .unwrap_or_else(|e| panic!("{who}'s event stream refused: {e:?}"));
        Feed {
            who,
            ws,
            pending: VecDeque::new(),
            seen: Vec::new(),
            own_only: false,
        }
    }

    /// From now on, asserts that every frame read is the agent's own event.
    pub fn own_only(mut self) -> Feed {
        self.own_only = true;
        self
    }

    /// The first frame (pending or new) matching `pred` within [`EVENT`].
    pub fn wait(&mut self, what: &str, mut pred: impl FnMut(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&mut pred) {
            return self.pending.remove(i).expect("index in range");
        }
        let deadline = Instant::now() + EVENT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = (!left.is_zero()).then(|| ws_next(&mut self.ws, left)).flatten();
            let Some(v) = next else {
                panic!(
                    "{}'s stream: no {what} within {EVENT:?}; frames: {:#?}",
                    self.who, self.seen
                );
            };
            self.seen.push(v.clone());
            if self.own_only {
                assert_eq!(v["agent"], self.who, "an agent's stream carries its own events: {v}");
            }
            if pred(&v) {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// The next `consult` event in `state`.
    pub fn consult(&mut self, state: &str) -> Value {
        self.wait(&format!("consult {state}"), |v| {
            v["type"] == "consult" && v["state"] == state
        })
    }

    /// The next `agent_state` event into `state`.
    pub fn state(&mut self, state: &str) -> Value {
        self.wait(&format!("agent_state {state}"), |v| {
            v["type"] == "agent_state" && v["state"] == state
        })
    }
}

/// The controls a `controls` event enables.
pub fn enabled(ev: &Value) -> Vec<String> {
    ev["enabled"]
        .as_array()
        .unwrap_or_else(|| panic!("an enabled list: {ev}"))
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect()
}

/// Logs `token`'s agent in.
pub fn login(sw: &Switch, token: &str) {
    let me = Desk::new(sw.api_addr(), token).ok("POST", "/agent/login", None);
    assert_eq!(me["state"], "Available", "{me}");
}

/// Logs `token`'s agent in and takes its `Available` off its stream.
pub fn login_seen(sw: &Switch, token: &str, feed: &mut Feed) {
    login(sw, token);
    feed.state("Available");
}

// ---------------------------------------------------------------------------
// SIP peers
// ---------------------------------------------------------------------------

/// The next message that satisfies `pred` (others skipped) within [`EVENT`].
pub fn recv_where(ua: &mut Ua, what: &str, mut pred: impl FnMut(&Message) -> bool) -> Message {
    let deadline = Instant::now() + EVENT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = (!left.is_zero())
            .then(|| ua.recv(left))
            .flatten()
            .unwrap_or_else(|| panic!("no {what} within {EVENT:?}"));
        if pred(&m) {
            return m;
        }
    }
}

/// The next `method` request (others skipped) within [`EVENT`].
pub fn recv_request(ua: &mut Ua, method: Method) -> Message {
    recv_where(ua, &format!("{method} request"), |m| m.method() == Some(&method))
}

/// A PCMU `sendrecv` SDP body for `sock`.
pub fn sdp_for(user: &str, sock: &UdpSocket) -> Bytes {
    let port = sock.local_addr().expect("addr").port();
    Bytes::from(AudioSdp::pcmu().body(user, 1, port, "sendrecv"))
}

/// The customer: our UA on the external profile (a trusted trunk, no
/// digest) calling queue 5000 with a PCMU offer.
pub struct Customer {
    pub ua: Ua,
    pub invite: Message,
    /// The switch's 200 once answered.
    pub ok: Option<Message>,
    pub rtp: (UdpSocket, UdpSocket),
}

impl Customer {
    /// Sends the INVITE from `caller` to 5000.
    pub fn call(sw: &Switch, caller: &str) -> Customer {
        let rtp = rtp_rtcp_sockets();
        let mut ua = Ua::udp(sw.external_addr());
        let mut invite = ua.invite(caller, "5000");
        invite.body = sdp_for("customer", &rtp.0);
        ua.send(&invite);
        Customer {
            ua,
            invite,
            ok: None,
            rtp,
        }
    }

    /// Waits for the 200 and ACKs it; the switch's media address.
    pub fn answered(&mut self) -> SocketAddr {
        let ok = recv_where(&mut self.ua, "the customer's 200", |m| {
            let c = ua::code(m);
            assert!(c < 300, "the customer's call failed: {}", ua::text(m));
            c == 200
        });
        ack_2xx(&mut self.ua, &self.invite, &ok);
        let media = sdp_rtp(&ok.body);
        self.ok = Some(ok);
        media
    }

    /// Hangs up: BYE, then its 200.
    pub fn hang_up(&mut self) {
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
        recv_where(&mut self.ua, "the 200 to the customer's BYE", |m| {
            ua::code(m) == 200 && ua::cseq_of(m).is_some_and(|c| c.method == Method::BYE)
        });
    }
}

/// A desk phone: registered with digest on the internal profile.
pub struct Phone {
    pub ua: Ua,
    pub ext: &'static str,
    pub rtp: (UdpSocket, UdpSocket),
    /// The switch's INVITE and our 200 once answered.
    pub dialog: Option<(Message, Message)>,
}

impl Phone {
    /// Answers the switch's re-INVITE (a transfer moving this phone into
    /// another call) with PCMU from its RTP socket, as extension `ext`,
    /// and takes the ACK; where the switch wants its media now.
    pub fn answer_reinvite(&mut self, reinvite: &Message, ext: &str) -> SocketAddr {
        let media = sdp_rtp(&reinvite.body);
        let mut ok = Message::response_to(reinvite, StatusCode::OK, None, None);
        ok.headers
            .push(HeaderName::Contact, format!("<{}>", self.ua.contact_uri(ext)));
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        let port = self.rtp.0.local_addr().expect("addr").port();
        ok.body = Bytes::from(AudioSdp::pcmu().body("phone", 2, port, "sendrecv"));
        self.ua.send(&ok);
        recv_request(&mut self.ua, Method::ACK);
        media
    }

    /// Registers `ext` with its demo password (`demo-<ext>`).
    pub fn register(sw: &Switch, ext: &'static str) -> Phone {
        let mut ua = Ua::udp(sw.internal_addr());
        assert_eq!(
            ua.register(ext, &format!("demo-{ext}")),
            StatusCode::OK,
            "{ext} registers"
        );
        Phone {
            ua,
            ext,
            rtp: rtp_rtcp_sockets(),
            dialog: None,
        }
    }

    fn response(&self, req: &Message, code: StatusCode) -> Message {
        let mut r = Message::response_to(req, code, None, Some(&format!("phone{}", self.ext)));
        r.headers
            .push(HeaderName::Contact, format!("<{}>", self.ua.contact_uri(self.ext)));
        r
    }

    /// The next INVITE from the switch, answered with 180.
    pub fn rings(&mut self) -> Message {
        let invite = recv_request(&mut self.ua, Method::INVITE);
        let ringing = self.response(&invite, StatusCode::RINGING);
        self.ua.send(&ringing);
        invite
    }

    /// Answers `invite` with a PCMU `sendrecv` 200; the switch's media
    /// address (its offer). The ACK is not awaited (the switch ACKs a queue
    /// call's agent only once the customer ACKed).
    pub fn answer(&mut self, invite: &Message) -> SocketAddr {
        self.answer_with(invite, &AudioSdp::pcmu())
    }

    /// Answers `invite` with `sdp` (`sendrecv`) on our RTP socket.
    pub fn answer_with(&mut self, invite: &Message, sdp: &AudioSdp) -> SocketAddr {
        let mut ok = self.response(invite, StatusCode::OK);
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        let port = self.rtp.0.local_addr().expect("addr").port();
        ok.body = Bytes::from(sdp.body("phone", 1, port, "sendrecv"));
        self.ua.send(&ok);
        self.dialog = Some((invite.clone(), ok));
        sdp_rtp(&invite.body)
    }

    /// Refuses `invite` with `code`; the switch ACKs it (RFC 3261 §17.1.1.3).
    pub fn reject(&mut self, invite: &Message, code: StatusCode) {
        let r = self.response(invite, code);
        self.ua.send(&r);
        recv_request(&mut self.ua, Method::ACK);
    }

    /// Waits for the switch's BYE and answers it.
    pub fn hung_up(&mut self) {
        let bye = recv_request(&mut self.ua, Method::BYE);
        self.ua.reply(&bye, StatusCode::OK, None);
    }

    /// A request of ours (CSeq `cseq`) in the dialog the switch's INVITE
    /// made when we answered it (we are its UAS).
    pub fn in_dialog(&mut self, method: Method, cseq: u32) -> Message {
        let (invite, ok) = self.dialog.clone().expect("an answered call");
        let mut m = Message::request(method.clone(), contact_target(&invite));
        m.headers.push(HeaderName::Via, self.ua.new_via());
        m.headers
            .push(HeaderName::From, ok.headers.get(&HeaderName::To).expect("To").clone());
        m.headers.push(
            HeaderName::To,
            invite.headers.get(&HeaderName::From).expect("From").clone(),
        );
        m.headers.push(
            HeaderName::CallId,
            invite.headers.get(&HeaderName::CallId).expect("Call-ID").clone(),
        );
        m.headers.push(
            HeaderName::CSeq,
            format!("{cseq} {}", String::from_utf8_lossy(method.as_bytes())),
        );
        m.headers.push(HeaderName::MaxForwards, "70");
        m
    }

    /// The agent hangs up: BYE in the dialog the switch's INVITE made
    /// (we are its UAS), then its 200.
    pub fn hang_up(&mut self) {
        let bye = self.in_dialog(Method::BYE, 1);
        self.ua.send(&bye);
        recv_where(&mut self.ua, "the 200 to the agent's BYE", |m| {
            ua::code(m) == 200 && ua::cseq_of(m).is_some_and(|c| c.method == Method::BYE)
        });
    }
}

// ---------------------------------------------------------------------------
// The connected queue call
// ---------------------------------------------------------------------------

/// How closely [`Connected::start`] watches alice's desktop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    /// Her offer and `connected` events.
    Call,
    /// Also that every frame on her stream is hers ([`Feed::own_only`]) and
    /// that her login shows `Available` there ([`login_seen`]).
    Everything,
}

/// The customer with alice, answered; nobody talks yet.
pub struct Connected {
    pub sw: Switch,
    /// The interaction's id.
    pub uid: String,
    pub alice: Desk,
    pub alice_feed: Feed,
    pub customer: Customer,
    pub customer_media: SocketAddr,
    pub alice_phone: Phone,
    pub alice_media: SocketAddr,
}

impl Connected {
    /// Starts the switch, logs alice (1001) in, and has `caller` call the
    /// support queue; alice's phone answers.
    pub fn start(caller: &str, watch: Watch) -> Connected {
        let sw = Switch::start();
        let alice = Desk::new(sw.api_addr(), ALICE);
        let mut alice_feed = Feed::open(&sw, ALICE, "alice");
        if watch == Watch::Everything {
            alice_feed = alice_feed.own_only();
        }
        let mut alice_phone = Phone::register(&sw, "1001");
        match watch {
            Watch::Call => login(&sw, ALICE),
            Watch::Everything => login_seen(&sw, ALICE, &mut alice_feed),
        }

        let mut customer = Customer::call(&sw, caller);
        let offer = alice_feed.wait("offer", |v| v["type"] == "offer");
        let uid = offer["interaction"]
            .as_str()
            .unwrap_or_else(|| panic!("an interaction: {offer}"))
            .to_owned();
        let invite = alice_phone.rings();
        let alice_media = alice_phone.answer(&invite);
        let customer_media = customer.answered();
        recv_request(&mut alice_phone.ua, Method::ACK);
        alice_feed.wait("connected", |v| v["type"] == "connected");
        Connected {
            sw,
            uid,
            alice,
            alice_feed,
            customer,
            customer_media,
            alice_phone,
            alice_media,
        }
    }

    /// The desktop API path of `action` on this interaction.
    pub fn path(&self, action: &str) -> String {
        format!("/agent/interactions/{}/{action}", self.uid)
    }
}

// ---------------------------------------------------------------------------
// Ears
// ---------------------------------------------------------------------------

/// Level of `hz` in one packet.
pub fn packet_level(p: &Rtp, hz: f64) -> f64 {
    tone_level_dbfs(&decode_pcmu(std::slice::from_ref(p)), hz, 8000)
}

/// One party of a scene: its name and the tone it says.
#[derive(Clone, Copy, Debug)]
pub struct Voice {
    pub name: &'static str,
    pub hz: f64,
}

/// What one phone's RTP socket receives from the switch.
pub struct Ear {
    pub who: &'static str,
    pub rx: Receiver,
    /// The scene's voices, whose levels every summary shows.
    voices: Vec<Voice>,
}

/// One second of what an [`Ear`] heard.
pub struct Heard {
    pub who: &'static str,
    pub when: &'static str,
    pub pcm: Vec<i16>,
    voices: Vec<Voice>,
}

impl Heard {
    /// The level of `hz` over the second, in dBFS.
    pub fn level(&self, hz: f64) -> f64 {
        tone_level_dbfs(&self.pcm, hz, 8000)
    }

    /// Who heard, when, each voice's level and the broadband level.
    pub fn summary(&self) -> String {
        let levels: Vec<String> = self
            .voices
            .iter()
            .map(|v| format!("{} {} Hz {:.1}", v.name, v.hz, self.level(v.hz)))
            .collect();
        format!(
            "{} ({}): {}, broadband {:.1} dBFS",
            self.who,
            self.when,
            levels.join(", "),
            level_dbfs(&self.pcm)
        )
    }
}

impl Ear {
    /// Listens on `sock` to what `from` (the switch) sends; summaries name
    /// `voices`.
    pub fn new(who: &'static str, sock: &UdpSocket, from: SocketAddr, voices: &[Voice]) -> Ear {
        Ear {
            who,
            rx: Receiver::spawn(sock, from),
            voices: voices.to_vec(),
        }
    }

    /// Forgets what arrived so far: the next wait sees only new packets.
    pub fn reset(&mut self) {
        self.rx.drain();
    }

    /// Waits for the first PCMU packet for which `first` holds (the change
    /// under test reached this phone), lets 5 more packets pass, and
    /// returns (and prints) the second after. Packets that arrived before
    /// the call count: [`Ear::reset`] first to see only new ones.
    pub fn second_after(&mut self, when: &'static str, first: impl Fn(&Rtp) -> bool) -> Heard {
        if self.rx.wait_for(MEDIA_TIMEOUT, |p| p.pt == 0 && first(p)).is_none() {
            let recent = &self.rx.history[self.rx.history.len().saturating_sub(50)..];
            let h = self.heard(when, recent);
            panic!(
                "{} ({when}): the expected sound never arrived within {MEDIA_TIMEOUT:?}; last second \
                 ({} packets): {}",
                self.who,
                recent.len(),
                h.summary()
            );
        }
        self.rx.take(5, self.who);
        let second = self.rx.take(50, self.who);
        let heard = self.heard(when, &second);
        println!("{}", heard.summary());
        heard
    }

    /// [`Ear::reset`], then [`Ear::second_after`].
    pub fn second_from_now(&mut self, when: &'static str, first: impl Fn(&Rtp) -> bool) -> Heard {
        self.reset();
        self.second_after(when, first)
    }

    /// Every packet so far was one stream (one SSRC, consecutive sequence
    /// numbers) across relay, hold, bridge and back (issue 9 item 1).
    pub fn assert_one_stream(&mut self) {
        self.rx.drain();
        assert_one_stream(&self.rx.history, self.who);
    }

    fn heard(&self, when: &'static str, packets: &[Rtp]) -> Heard {
        Heard {
            who: self.who,
            when,
            pcm: decode_pcmu(packets),
            voices: self.voices.clone(),
        }
    }
}

/// Asserts `heard` has each of `present` within `margin` dB of `level` and
/// each of `absent` at least `absent_db` below `level`.
pub fn assert_hears(heard: &Heard, present: &[Voice], absent: &[Voice], level: f64, margin: f64, absent_db: f64) {
    let summary = heard.summary();
    for v in present {
        let l = heard.level(v.hz);
        assert!(
            (l - level).abs() <= margin,
            "{} hears {} at {level} dBFS ± {margin} dB, got {l:.1}: {summary}",
            heard.who,
            v.name
        );
    }
    for v in absent {
        let l = heard.level(v.hz);
        assert!(
            l < level - absent_db,
            "{} must not hear {} (below {:.0} dBFS), got {l:.1}: {summary}",
            heard.who,
            v.name,
            level - absent_db
        );
    }
}

/// The `Replaces` header value (RFC 3891) naming the dialog that `invite`
/// and its 2xx `ok` made, escaped for a `Refer-To` URI header.
pub fn replaces_for(invite: &Message, ok: &Message) -> String {
    let tag_of = |v: Option<&Bytes>| {
        let s = v.map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
        s.split(";tag=")
            .nth(1)
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let call_id = String::from_utf8_lossy(invite.headers.get(&HeaderName::CallId).expect("Call-ID")).into_owned();
    let to_tag = tag_of(ok.headers.get(&HeaderName::To));
    let from_tag = tag_of(invite.headers.get(&HeaderName::From));
    format!("{call_id};to-tag={to_tag};from-tag={from_tag}")
        .replace('@', "%40")
        .replace(';', "%3B")
        .replace('=', "%3D")
}
