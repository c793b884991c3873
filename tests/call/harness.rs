//! A call core driven alone in virtual time: the harness owns what the
//! engine would lend a call (transaction layer, ids, port pool, routing
//! maps, timer table), turns SIP text into transaction-layer inputs, and
//! routes what comes out to the call the way the engine does (responses by
//! transaction, in-dialog requests and ACKs by dialog, timers by key).

use bytes::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchboard::call::media::MediaCommand;
use switchboard::call::{
    Call, CallCtx, CallEvent, CallInput, CallLinks, CallOutput, CallTimer, RingOptions, RingTarget, Side, TxOwner,
};
use switchboard::config::Config;
use switchboard::ids::{CallRef, IdGen};
use switchboard::sdp::PortPool;
use switchboard::sip::dialog::DialogKey;
use switchboard::sip::msg::{parse_datagram, Limits, Message, StartLine, Uri};
use switchboard::sip::transaction::{Destination, Incoming, TimerConfig, TransactionLayer, TransportKind};
use switchboard::store::CdrRecord;
use switchboard::time::{Now, TimerTable};

/// The switch's phone-side socket in these tests.
pub const LOCAL: &str = "127.0.0.1:5060";
/// The caller's phone.
pub const CALLER: &str = "127.0.0.1:7000";

pub fn sock(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

pub fn dest(addr: &str) -> Destination {
    Destination {
        addr: sock(addr),
        transport: TransportKind::Udp,
        local: sock(LOCAL),
    }
}

/// A minimal PCMU SDP body.
pub fn sdp(port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
}

pub fn first_line(m: &Message) -> String {
    match &m.start {
        StartLine::Request { method, uri } => format!("{} {}", String::from_utf8_lossy(method.as_bytes()), uri),
        StartLine::Response { code, .. } => code.as_u16().to_string(),
    }
}

/// A message the call sent, parsed, with where it went.
#[derive(Clone, Debug)]
pub struct Sent {
    pub to: SocketAddr,
    pub msg: Message,
}

/// One call and the engine's services, in virtual time.
pub struct CallHarness {
    pub cfg: Config,
    pub txl: TransactionLayer,
    pub ids: IdGen,
    pub ports: Option<PortPool>,
    pub links: CallLinks,
    pub timers: TimerTable<(CallRef, CallTimer)>,
    pub out: VecDeque<CallOutput>,
    pub call: Option<Call>,
    base: Instant,
    pub elapsed: Duration,
    pub wire: Vec<Sent>,
    /// Every INVITE sent, kept when `wire` is cleared.
    invites: Vec<Sent>,
    pub media: Vec<MediaCommand>,
    pub events: Vec<CallEvent>,
    pub cdrs: Vec<CdrRecord>,
    pub leg_cdrs: Vec<switchboard::records::LegCdrRecord>,
    pending_tx_events: VecDeque<switchboard::sip::transaction::TxEvent>,
}

impl CallHarness {
    /// The embedded config (anchoring on); `anchor` false for pass-through.
    pub fn new(anchor: bool) -> CallHarness {
        let mut cfg = switchboard::config::load_embedded().expect("embedded config");
        if !anchor {
            cfg = switchboard::config::load_from_sources(
                &switchboard::config::embedded_sources()
                    .iter()
                    .map(|(n, t)| {
                        if n.ends_with("switchboard.toml") {
                            (
                                *n,
                                Box::leak(t.replace("anchor = true", "anchor = false").into_boxed_str()) as &str,
                            )
                        } else {
                            (*n, *t)
                        }
                    })
                    .collect::<Vec<_>>(),
            )
            .expect("config");
        }
        CallHarness {
            cfg,
            txl: TransactionLayer::new(TimerConfig {
                trying_delay: None,
                ..TimerConfig::default()
            }),
            ids: IdGen::seeded(7),
            ports: PortPool::new(20000, 20099).ok(),
            links: CallLinks::default(),
            timers: TimerTable::new(),
            out: VecDeque::new(),
            call: None,
            base: Instant::now(),
            elapsed: Duration::ZERO,
            wire: Vec::new(),
            invites: Vec::new(),
            media: Vec::new(),
            events: Vec::new(),
            cdrs: Vec::new(),
            leg_cdrs: Vec::new(),
            pending_tx_events: VecDeque::new(),
        }
    }

    pub fn now(&self) -> Now {
        Now {
            mono: self.base + self.elapsed,
            unix_ms: 1_700_000_000_000 + self.elapsed.as_millis() as u64,
        }
    }

    /// Runs `f` on the call with a context, then collects what came out.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Call, &mut CallCtx) -> R) -> R {
        let now = self.now();
        let call = self.call.as_mut().expect("a call");
        let mut ctx = CallCtx {
            now,
            txl: &mut self.txl,
            ids: &mut self.ids,
            cfg: &self.cfg,
            ports: &mut self.ports,
            links: &mut self.links,
            timers: &mut self.timers,
            out: &mut self.out,
            dtls_fingerprint: None,
        };
        let r = f(call, &mut ctx);
        self.collect();
        r
    }

    fn collect(&mut self) {
        while let Some(t) = self.txl.poll_transmit() {
            let msg = parse_datagram(t.bytes.clone(), &Limits::default()).expect("the call sends valid SIP");
            if first_line(&msg).starts_with("INVITE") {
                self.invites.push(Sent {
                    to: t.dest.addr,
                    msg: msg.clone(),
                });
            }
            self.wire.push(Sent { to: t.dest.addr, msg });
        }
        while let Some(ev) = self.txl.poll_event() {
            self.pending_tx_events.push_back(ev);
        }
        while let Some(o) = self.out.pop_front() {
            match o {
                CallOutput::Media(m) => self.media.push(m),
                CallOutput::Cdr(c) => self.cdrs.push(c),
                CallOutput::LegCdr(c) => self.leg_cdrs.push(c),
                CallOutput::Event(_, e) => self.events.push(e),
            }
        }
    }

    /// The caller's INVITE arrives: a call is made for it.
    pub fn invite(&mut self, body: &str) {
        self.invite_with("", body);
    }

    /// The caller's INVITE with `extra` header lines (each ending in CRLF).
    pub fn invite_with(&mut self, extra: &str, body: &str) {
        let text = format!(
            "INVITE sip:1001@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bKcaller1\r\n\
             Max-Forwards: 70\r\nFrom: \"Ann\" <sip:1000@127.0.0.1>;tag=caller\r\nTo: <sip:1001@127.0.0.1>\r\n\
             Call-ID: a-leg@test\r\nCSeq: 1 INVITE\r\nContact: <sip:1000@127.0.0.1:7000>\r\n{extra}{}Content-Length: {}\r\n\r\n{}",
            if body.is_empty() { "" } else { "Content-Type: application/sdp\r\n" },
            body.len(),
            body
        );
        let msg = parse_datagram(Bytes::from(text), &Limits::default()).expect("INVITE");
        let env = msg.envelope().expect("envelope");
        let now = self.now();
        match self.txl.handle_incoming(now.mono, msg, env.clone(), dest(CALLER)) {
            Incoming::Request { tx, request } => {
                let tag = Bytes::from(self.ids.tag());
                let call = Call::new(
                    CallRef(1),
                    request,
                    Bytes::copy_from_slice(&env.call_id),
                    tx,
                    dest(CALLER),
                    tag,
                    "1000".into(),
                    "1001".into(),
                    now.unix_ms,
                );
                self.links.txs.insert(tx, TxOwner::Call(CallRef(1)));
                self.call = Some(call);
            }
            other => panic!("INVITE not a new request: {other:?}"),
        }
    }

    /// Anchors (when on) and rings `targets` (addresses), with the switch's offer.
    pub fn ring(&mut self, targets: &[&str]) -> Vec<usize> {
        let offer = self
            .with(|c, ctx| c.anchor_offer(ctx, sock(LOCAL).ip(), sock(LOCAL).ip(), Default::default()))
            .expect("anchored");
        let targets: Vec<RingTarget> = targets
            .iter()
            .map(|a| RingTarget {
                uri: Uri::parse(&Bytes::from(format!("sip:1001@{a}"))).expect("uri"),
                dest: dest(a),
                trunk: None,
            })
            .collect();
        let opts = RingOptions {
            from_user: "1000".into(),
            display: None,
            max_forwards: 69,
            body: offer,
            auto_answer: false,
        };
        self.with(|c, ctx| c.ring(ctx, targets, &opts))
    }

    /// The (first) INVITE the call sent to `to`.
    pub fn invite_to(&self, to: &str) -> Message {
        self.invites
            .iter()
            .find(|s| s.to == sock(to))
            .map(|s| s.msg.clone())
            .expect("an INVITE to that address")
    }

    /// `peer` answers `req` with `code` (To tag `tag`, optional SDP).
    pub fn respond(&mut self, peer: &str, req: &Message, code: u16, tag: &str, body: &str) {
        self.respond_with(peer, req, code, tag, "", body);
    }

    /// [`Self::respond`] with `extra` header lines (each ending in CRLF);
    /// a request whose To already has a tag keeps it.
    pub fn respond_with(&mut self, peer: &str, req: &Message, code: u16, tag: &str, extra: &str, body: &str) {
        let env = req.envelope().expect("envelope");
        let via = req
            .headers
            .iter()
            .find(|h| h.name.as_bytes().eq_ignore_ascii_case(b"via"))
            .map(|h| String::from_utf8_lossy(&h.value).into_owned())
            .expect("via");
        let to = String::from_utf8_lossy(&header(req, "to")).into_owned();
        let to = if to.contains(";tag=") {
            to
        } else {
            format!("{to};tag={tag}")
        };
        let text = format!(
            "SIP/2.0 {code} X\r\nVia: {via}\r\nFrom: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {} {}\r\n\
             Contact: <sip:x@{peer}>\r\n{extra}{}Content-Length: {}\r\n\r\n{}",
            String::from_utf8_lossy(&header(req, "from")),
            String::from_utf8_lossy(&env.call_id),
            env.cseq.seq,
            String::from_utf8_lossy(env.cseq.method.as_bytes()),
            if body.is_empty() {
                ""
            } else {
                "Content-Type: application/sdp\r\n"
            },
            body.len(),
            body
        );
        self.deliver(&text, peer);
    }

    /// A message from `peer` reaches the switch: routed like the engine does.
    pub fn deliver(&mut self, text: &str, peer: &str) {
        let msg = parse_datagram(Bytes::from(text.to_owned()), &Limits::default()).expect("valid SIP");
        let env = msg.envelope().expect("envelope");
        let now = self.now();
        let input = match self.txl.handle_incoming(now.mono, msg, env, dest(peer)) {
            Incoming::Response { tx, response } => match self.links.txs.get(&tx) {
                Some(TxOwner::Call(_)) => Some(CallInput::Response { tx, resp: response }),
                _ => None,
            },
            Incoming::Request { tx, request } => {
                self.side_of(&request)
                    .map(|side| CallInput::Request { tx, side, req: request })
            }
            Incoming::Ack { request, .. } => self.side_of(&request).map(|side| CallInput::Ack { side, ack: request }),
            _ => None,
        };
        self.collect();
        if let Some(input) = input {
            self.with(|c, ctx| c.handle(ctx, input));
        }
        self.tx_events();
    }

    fn tx_events(&mut self) {
        while let Some(ev) = self.pending_tx_events.pop_front() {
            self.tx_event(ev);
        }
    }

    fn side_of(&self, req: &Message) -> Option<Side> {
        let env = req.envelope().ok()?;
        let key = DialogKey {
            call_id: env.call_id.clone(),
            local_tag: env.to.tag()?,
        };
        self.links.dialogs.get(&key).map(|(_, s)| *s)
    }

    /// Advances virtual time by `d`, firing the call's and the
    /// transactions' timers in order.
    pub fn advance(&mut self, d: Duration) {
        let end = self.elapsed + d;
        loop {
            let next = [self.timers.next_expiry(), self.txl.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .map(|t| t.duration_since(self.base));
            match next {
                Some(t) if t <= end => {
                    self.elapsed = self.elapsed.max(t);
                    let now = self.now();
                    self.txl.handle_timeout(now.mono);
                    self.collect();
                    self.tx_events();
                    while let Some(((_, t), _)) = self.timers.pop_expired(now.mono) {
                        self.with(|c, ctx| c.handle(ctx, CallInput::Timer(t)));
                    }
                }
                _ => break,
            }
        }
        self.elapsed = end;
    }

    fn tx_event(&mut self, ev: switchboard::sip::transaction::TxEvent) {
        use switchboard::sip::transaction::TxEvent;
        match ev {
            TxEvent::Timeout { tx, .. } => {
                if self.links.txs.contains_key(&tx) {
                    let code = switchboard::sip::msg::StatusCode::REQUEST_TIMEOUT;
                    self.with(|c, ctx| c.handle(ctx, CallInput::TxFailed { tx, code }));
                }
            }
            TxEvent::Terminated { tx } => {
                if self.links.txs.remove(&tx).is_some() {
                    self.with(|c, ctx| c.handle(ctx, CallInput::TxTerminated { tx }));
                }
            }
            TxEvent::TransportError { .. } => {}
        }
    }

    /// True when nothing was sent to `to` (and takes what was).
    pub fn take_to_is_empty(&mut self, to: &str) -> bool {
        self.take_to(to).is_empty()
    }

    /// Removes and returns what was sent to `to`, as first lines.
    pub fn take_to(&mut self, to: &str) -> Vec<String> {
        let to = sock(to);
        let (mine, rest): (Vec<Sent>, Vec<Sent>) = self.wire.drain(..).partition(|s| s.to == to);
        self.wire = rest;
        mine.iter().map(|s| first_line(&s.msg)).collect()
    }
}

fn header(m: &Message, name: &str) -> Bytes {
    m.headers
        .iter()
        .find(|h| h.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
        .map(|h| h.value.clone())
        .unwrap_or_default()
}

/// A party to ring at `addr` (extension 1002): a consulted agent, or a
/// number when `agent` is `None`; its phone shows `display`.
pub fn party_target(addr: &str, agent: Option<&str>, display: &str) -> switchboard::call::PartyTarget {
    switchboard::call::PartyTarget {
        kind: switchboard::call::PartyKind::Consulted {
            agent: agent.map(Into::into),
        },
        extension: "1002".into(),
        interaction: "i-1".into(),
        uri: Uri::parse(&Bytes::from(format!("sip:1002@{addr}"))).expect("uri"),
        dest: dest(addr),
        trunk: None,
        display: display.into(),
        auto_answer: false,
    }
}

/// The last modes the call sent to the media workers.
pub fn last_modes(h: &CallHarness) -> Vec<(switchboard::call::media::MediaLeg, switchboard::call::media::PartyMode)> {
    h.media
        .iter()
        .rev()
        .find_map(|m| match m {
            MediaCommand::PartyModes { modes, .. } => Some(modes.clone()),
            _ => None,
        })
        .expect("modes were sent")
}

/// A request from `peer` inside the dialog the switch's INVITE `inv` made
/// (the peer answered with To tag `tag`).
pub fn peer_request(h: &mut CallHarness, inv: &Message, peer: &str, tag: &str, method: &str, cseq: u32) {
    let hdr = |name: &str| {
        inv.headers
            .iter()
            .find(|x| x.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
            .map(|x| String::from_utf8_lossy(&x.value).into_owned())
            .expect("header")
    };
    let contact = hdr("contact");
    let ruri = contact
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_owned();
    let text = format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {peer};branch=z9hG4bK{method}{cseq}{tag}\r\nMax-Forwards: 70\r\n\
         From: {};tag={tag}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
        hdr("to"),
        hdr("from"),
        hdr("call-id"),
    );
    h.deliver(&text, peer);
}
