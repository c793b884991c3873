//! A SIP caller (UAC, RFC 3261) for the load generators: sets up N calls
//! from one UDP socket at a given rate, each with its own dialled number and
//! PCMU + telephone-event offer, ACKs their 200s (§13.2.2.4), answers what
//! the switch sends while they are held, and BYEs them at the same rate
//! (§15.1.1). INVITEs and BYEs are retransmitted with Timer A's doubling
//! (§17.1.1.2), capped at T2.
//!
//! The switch trusts 127.0.0.1 as a trunk on the load-test profile
//! (`sip-profiles/loadtest`), so there is no digest challenge.

use super::rtp::io;
use bytes::Bytes;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message, Method, StatusCode};

/// T1 and T2 (RFC 3261 §17.1.1.1).
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

/// One call to make: the number dialled and the RTP port its offer names.
#[derive(Clone, Debug)]
pub struct CallPlan {
    /// The Request-URI's user part (`sip:<number>@<switch>`).
    pub number: String,
    /// The port of the caller's RTP socket on 127.0.0.1.
    pub rtp_port: u16,
    /// The SDP offer to send; `None` offers PCMU and telephone-event on
    /// `rtp_port`.
    pub offer: Option<String>,
    /// The From user; `None` is `15550100`.
    pub from_user: Option<String>,
}

/// Where one call stands.
pub enum CallState {
    /// Not dialled yet.
    Idle,
    /// INVITE sent, no final response yet.
    Inviting {
        /// When to retransmit.
        next_retx: Instant,
        /// The current retransmission interval.
        interval: Duration,
    },
    /// Answered 200 and ACKed.
    Up {
        /// The To header of the 200 (with the switch's tag).
        to: Bytes,
        /// The switch's Contact URI: the target of ACK and BYE.
        contact: String,
        /// The switch's RTP address from its SDP answer.
        media: SocketAddr,
        /// The switch's SDP answer.
        answer: Bytes,
    },
    /// Failed with this status (0: ended by the switch's BYE).
    Failed(u16),
}

/// The caller side of every call, on one SIP socket.
pub struct Uac {
    /// The SIP socket (blocking with a 2 ms timeout, or non-blocking).
    pub sock: UdpSocket,
    local: SocketAddr,
    switch: SocketAddr,
    tag: String,
    run_id: u32,
    plans: Vec<CallPlan>,
    /// Every call's state, by index.
    pub calls: Vec<CallState>,
    limits: Limits,
    buf: Vec<u8>,
    /// Calls that went up and have not been reported yet (index, the
    /// switch's RTP address); see [`Uac::setup`].
    went_up: Vec<(usize, SocketAddr)>,
    /// Calls the switch hung up (a BYE to the caller) before teardown.
    pub ended_by_switch: Vec<usize>,
}

impl Uac {
    /// A caller on `sock` for the calls of `plans`, towards `switch`; `tag`
    /// starts every Call-ID, branch and From tag (e.g. `ml`).
    pub fn new(sock: UdpSocket, switch: SocketAddr, tag: &str, plans: Vec<CallPlan>) -> Result<Uac, String> {
        let local = sock.local_addr().map_err(io("UAC socket"))?;
        sock.set_read_timeout(Some(Duration::from_millis(2)))
            .map_err(io("UAC socket"))?;
        Ok(Uac {
            sock,
            local,
            switch,
            tag: tag.to_string(),
            run_id: std::process::id(),
            calls: plans.iter().map(|_| CallState::Idle).collect(),
            plans,
            limits: Limits::default(),
            buf: vec![0u8; 65536],
            went_up: Vec::new(),
            ended_by_switch: Vec::new(),
        })
    }

    fn call_id(&self, idx: usize) -> String {
        format!("{}-{}-{idx}@127.0.0.1", self.tag, self.run_id)
    }

    fn idx_of(&self, call_id: &[u8]) -> Option<usize> {
        let s = std::str::from_utf8(call_id).ok()?;
        let rest = s.strip_prefix(&format!("{}-{}-", self.tag, self.run_id))?;
        let idx: usize = rest.split('@').next()?.parse().ok()?;
        (idx < self.calls.len()).then_some(idx)
    }

    fn caller_party(&self, idx: usize) -> String {
        let user = self.plans[idx].from_user.as_deref().unwrap_or("15550100");
        format!("<sip:{user}@{}>;tag={}{idx}", self.local, self.tag)
    }

    fn invite(&self, idx: usize) -> String {
        let plan = &self.plans[idx];
        let sdp = match &plan.offer {
            Some(offer) => offer.clone(),
            None => format!(
                "v=0\r\no={tag} {idx} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
                 a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
                tag = self.tag,
                port = plan.rtp_port,
            ),
        };
        format!(
            "INVITE sip:{num}@{sw} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{tag}-inv-{idx};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: <sip:{num}@{sw}>\r\n\
             Call-ID: {cid}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:15550100@{local}>\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {len}\r\n\r\n{sdp}",
            num = plan.number,
            tag = self.tag,
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

    /// Sends the INVITEs at `cps` calls a second, answers 200s with ACK,
    /// retransmits until every call is up or failed or `timeout` after the
    /// last INVITE. `on_poll` is called after every read of the socket
    /// with the calls that went up since (index, the switch's RTP address).
    pub fn setup(
        &mut self,
        cps: u32,
        timeout: Duration,
        mut on_poll: impl FnMut(std::vec::Drain<'_, (usize, SocketAddr)>),
    ) {
        let n = self.calls.len();
        let start = Instant::now();
        let per_call = Duration::from_secs(1) / cps.max(1);
        let mut next = 0usize;
        let give_up = start + per_call * n as u32 + timeout;
        loop {
            let now = Instant::now();
            while next < n && start + per_call * next as u32 <= now {
                self.send(&self.invite(next), self.switch);
                self.calls[next] = CallState::Inviting {
                    next_retx: now + T1,
                    interval: T1,
                };
                next += 1;
            }
            for idx in 0..next {
                if let CallState::Inviting { next_retx, interval } = &mut self.calls[idx] {
                    if *next_retx <= now {
                        *interval = (*interval * 2).min(T2);
                        *next_retx = now + *interval;
                        let text = self.invite(idx);
                        self.send(&text, self.switch);
                    }
                }
            }
            self.recv_all(|uac, msg, src| uac.on_setup_message(msg, src));
            on_poll(self.went_up.drain(..));
            let pending = self
                .calls
                .iter()
                .any(|c| matches!(c, CallState::Idle | CallState::Inviting { .. }));
            if !pending || Instant::now() > give_up {
                // Late ACK retransmissions are answered in teardown's loop.
                return;
            }
        }
    }

    /// How many calls are up, and the failures by status ("no answer" for
    /// calls that never got a final response, "ended by the switch").
    pub fn tally(&self) -> (usize, std::collections::BTreeMap<String, usize>) {
        let mut failed = std::collections::BTreeMap::new();
        let mut up = 0;
        for c in &self.calls {
            match c {
                CallState::Up { .. } => up += 1,
                CallState::Failed(0) => *failed.entry("ended by the switch".to_string()).or_default() += 1,
                CallState::Failed(code) => *failed.entry(code.to_string()).or_default() += 1,
                CallState::Idle | CallState::Inviting { .. } => *failed.entry("no answer".into()).or_default() += 1,
            }
        }
        (up, failed)
    }

    /// Reads every SIP message waiting (and waits up to 2 ms for one when
    /// the socket blocks).
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
            let Some(media) = sdp_rtp(&msg.body) else {
                eprintln!("call {idx}: 200 without a usable SDP answer");
                self.calls[idx] = CallState::Failed(code.as_u16());
                return;
            };
            self.ack_2xx(idx, &contact, &to, src);
            if matches!(self.calls[idx], CallState::Inviting { .. }) {
                self.calls[idx] = CallState::Up {
                    to,
                    contact,
                    media,
                    answer: msg.body.clone(),
                };
                self.went_up.push((idx, media));
            }
        } else {
            // ACK for a non-2xx final: same branch as the INVITE (§17.1.1.3).
            let text = format!(
                "ACK sip:{num}@{sw} SIP/2.0\r\n\
                 Via: SIP/2.0/UDP {local};branch=z9hG4bK-{tag}-inv-{idx};rport\r\n\
                 Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\n\
                 Content-Length: 0\r\n\r\n",
                num = self.plans[idx].number,
                tag = self.tag,
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
    /// and the call noted in [`Uac::ended_by_switch`]. Needs a non-blocking
    /// socket.
    pub fn poll_during_hold(&mut self) {
        self.recv_all(|uac, msg, src| {
            let Ok(env) = msg.envelope() else { return };
            let Some(idx) = uac.idx_of(&env.call_id) else { return };
            match msg.status() {
                None => {
                    if msg.method() == Some(&Method::BYE) && matches!(uac.calls[idx], CallState::Up { .. }) {
                        uac.calls[idx] = CallState::Failed(0);
                        uac.ended_by_switch.push(idx);
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
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{tag}-ack-{idx};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\n\
             Content-Length: 0\r\n\r\n",
            tag = self.tag,
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
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{tag}-bye-{idx};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 2 BYE\r\n\
             Content-Length: 0\r\n\r\n",
            tag = self.tag,
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
        let resp = Message::response_to(req, StatusCode::OK, None, Some(&format!("{}-uac", self.tag)));
        let _ = self.sock.send_to(&resp.to_bytes(), src);
    }

    /// BYEs every call that is up at `cps` calls a second, retransmitting
    /// until its 200 (or 8 s after the last); returns how many were
    /// answered 200. Needs the socket blocking (with its 2 ms timeout).
    pub fn teardown(&mut self, cps: u32) -> usize {
        let up: Vec<usize> = (0..self.calls.len())
            .filter(|&i| matches!(self.calls[i], CallState::Up { .. }))
            .collect();
        let mut pending: HashMap<usize, (Instant, Duration)> = HashMap::new();
        let mut done = 0usize;
        let per_call = Duration::from_secs(1) / cps.max(1);
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
                pending.insert(idx, (now + T1, T1));
                next += 1;
            }
            for (idx, (at, interval)) in pending.iter_mut() {
                if *at <= now {
                    *interval = (*interval * 2).min(T2);
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
        done
    }
}

/// The URI inside a Contact value (`<sip:...>;params` or a bare URI).
pub fn contact_uri(v: &Bytes) -> String {
    let s = String::from_utf8_lossy(v);
    match (s.find('<'), s.find('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].to_string(),
        _ => s.split(';').next().unwrap_or_default().trim().to_string(),
    }
}

/// The audio RTP address an SDP body names (RFC 4566 c= and m=).
pub fn sdp_rtp(body: &[u8]) -> Option<SocketAddr> {
    let s = switchboard::sdp::parse(body).ok()?;
    let (i, m) = s.media.iter().enumerate().find(|(_, m)| m.port != 0)?;
    let c = s.media_connection(i).or(s.connection())?;
    Some(SocketAddr::new(c.ip_addr()?, m.port))
}
