//! REGISTER (RFC 3261 §10.3): only on digest profiles; the To user must be a
//! directory user and the digest username must match it (§10.3 step 3);
//! then the registrar decides and the bindings are persisted. Wrong
//! passwords and unknown users get the same re-challenge (no user
//! enumeration); repeated failures are tarpitted per user and address
//! ([`Engine::authenticate`]), never locked out.

use super::{Engine, Now};
use crate::config::AuthPolicy;
use crate::sip::auth::{Admission, AuthKind, AuthOutcome};
use crate::sip::msg::typed::Transport as ViaTransport;
use crate::sip::msg::{HeaderName, Message, StatusCode};
use crate::sip::transaction::{Destination, TransportKind, TxId};

/// Outcome of authenticating a request on a digest profile.
pub(crate) enum Authn {
    /// Authenticated as this user.
    User(String),
    /// A response was sent (challenge, 403, 400); stop.
    Answered,
}

impl Engine {
    /// Authenticates `req` on profile `profile` (digest), answering the
    /// challenge itself when it does not pass.
    ///
    /// Guessing is tarpitted, never locked out
    /// ([`crate::sip::auth::AuthThrottle`]): an
    /// attempt with credentials of a user that failed too often from this
    /// address (or from an address that failed too often) is held and
    /// verified later, one at a time; one arriving while another is held is
    /// answered with a fresh challenge, unverified. Each failure is logged
    /// in one fixed line for fail2ban (`examples/fail2ban/`).
    pub(crate) fn authenticate(
        &mut self,
        now: Now,
        tx: TxId,
        req: &Message,
        src: Destination,
        profile: &str,
        kind: AuthKind,
    ) -> Authn {
        let ip = src.addr.ip();
        let tag = self.ids.tag();
        let cfg = self.cfg.clone();
        let Some(server) = self.digest.get_mut(profile) else {
            let resp = Message::response_to(req, StatusCode::FORBIDDEN, None, Some(&tag));
            self.respond(now, tx, resp);
            return Authn::Answered;
        };
        let claimed = server.credential_user(req, kind);
        let released = match self.released_auth.iter().position(|t| *t == tx) {
            Some(i) => {
                self.released_auth.swap_remove(i);
                true
            }
            None => false,
        };
        if let (Some(user), false) = (&claimed, released) {
            match self.throttle.admit(now.mono, ip, user) {
                Admission::Now => {}
                Admission::At(at) => {
                    tracing::info!(
                        "auth tarpit: user=\"{}\" source={} port={} profile={profile}: verified in {} s",
                        log_safe(user),
                        ip,
                        src.addr.port(),
                        at.saturating_duration_since(now.mono).as_secs()
                    );
                    self.held_auth.insert(tx, (req.clone(), src));
                    self.timers.set(super::EngineTimer::AuthRelease(tx), at);
                    return Authn::Answered;
                }
                Admission::Unverified => {
                    let mut resp = server.challenge_response(now.unix_s(), req, kind, false, Some(&tag));
                    resp.headers.push(HeaderName::Server, cfg.sip().user_agent.clone());
                    self.respond(now, tx, resp);
                    return Authn::Answered;
                }
            }
        }
        let outcome = server.verify_request(now.unix_s(), req, kind, |user| {
            cfg.user(user).map(|u| u.password.expose().to_string())
        });
        let (stale, failed) = match outcome {
            AuthOutcome::Ok { user } => {
                if cfg.user(&user).is_some() {
                    self.throttle.record_success(ip, &user);
                    return Authn::User(user);
                }
                (false, true)
            }
            AuthOutcome::Stale => (true, false),
            AuthOutcome::NoCredentials => (false, false),
            AuthOutcome::Failed => (false, true),
            AuthOutcome::Malformed(e) => {
                let resp = Message::response_to(
                    req,
                    StatusCode::BAD_REQUEST,
                    Some(&format!("Bad Credentials: {e}")),
                    Some(&tag),
                );
                self.respond(now, tx, resp);
                return Authn::Answered;
            }
        };
        if failed {
            let user = claimed.unwrap_or_default();
            self.throttle.record_failure(now.mono, ip, &user);
            let method = req.method().map(ToString::to_string).unwrap_or_default();
            tracing::warn!(
                "auth failure: user=\"{}\" source={} port={} profile={profile} method={method}",
                log_safe(&user),
                ip,
                src.addr.port()
            );
        }
        let mut resp = server.challenge_response(now.unix_s(), req, kind, stale, Some(&tag));
        resp.headers.push(HeaderName::Server, cfg.sip().user_agent.clone());
        self.respond(now, tx, resp);
        Authn::Answered
    }

    /// A request the tarpit held is handled again, now verified.
    pub(crate) fn release_auth(&mut self, now: Now, tx: TxId) {
        let Some((req, src)) = self.held_auth.remove(&tx) else {
            return;
        };
        self.released_auth.push(tx);
        self.on_request(now, tx, req, src);
        // Whatever path it took, it is not held again.
        self.released_auth.retain(|t| *t != tx);
    }

    pub(crate) fn on_register(&mut self, now: Now, tx: TxId, req: Message, src: Destination) {
        let tag = self.ids.tag();
        let Some(profile) = self.cfg.profile_for_local(src.local).cloned() else {
            return;
        };
        if !matches!(profile.auth, AuthPolicy::Digest { .. }) {
            let resp = Message::response_to(
                &req,
                StatusCode::FORBIDDEN,
                Some("Registration Not Allowed Here"),
                Some(&tag),
            );
            self.respond(now, tx, resp);
            return;
        }
        let Ok(env) = req.envelope() else { return };
        if !env.to.uri.is_sip() {
            // RFC 4475 unksm2: the AOR must be a SIP or SIPS URI.
            let resp = Message::response_to(
                &req,
                StatusCode::BAD_REQUEST,
                Some("Address-of-Record Must Be a SIP URI"),
                Some(&tag),
            );
            self.respond(now, tx, resp);
            return;
        }
        // Contact syntax is checked before authentication (RFC 4475
        // regbadct: 400 rather than a challenge the UA cannot fix).
        for v in req.headers.get_all(&HeaderName::Contact) {
            if let Err(e) = crate::sip::msg::typed::ContactList::parse(v) {
                let resp = Message::response_to(&req, StatusCode::BAD_REQUEST, Some(&e.reason()), Some(&tag));
                self.respond(now, tx, resp);
                return;
            }
        }
        let aor = env.to.uri.user_unescaped().unwrap_or_default();
        let user = match self.authenticate(now, tx, &req, src, &profile.name, AuthKind::Www) {
            Authn::User(u) => u,
            Authn::Answered => return,
        };
        if user != aor {
            let resp = Message::response_to(
                &req,
                StatusCode::FORBIDDEN,
                Some("Not Allowed to Register This AOR"),
                Some(&tag),
            );
            self.respond(now, tx, resp);
            return;
        }
        let transport = match src.transport {
            TransportKind::Udp => ViaTransport::Udp,
            TransportKind::Tcp => ViaTransport::Tcp,
            TransportKind::Tls => ViaTransport::Tls,
            TransportKind::Sctp => ViaTransport::Sctp,
            TransportKind::Ws => ViaTransport::Ws,
            TransportKind::Wss => ViaTransport::Wss,
        };
        match self
            .registrar
            .handle_register(now.unix_s(), &aor, &req, src.addr, transport)
        {
            Ok(outcome) => {
                let mut resp = outcome.response;
                resp.headers.push(HeaderName::Server, self.cfg.sip().user_agent.clone());
                self.respond(now, tx, resp);
                self.persist(outcome.changes);
            }
            Err(e) => {
                let resp = Message::response_to(&req, StatusCode::BAD_REQUEST, Some(&e.to_string()), Some(&tag));
                self.respond(now, tx, resp);
            }
        }
    }
}

/// A user name from outside, safe in one log line: what fail2ban's filter
/// and an operator's grep expect (letters, digits, `.-_+@`), anything
/// else as `?`, at most 64 characters.
fn log_safe(user: &str) -> String {
    user.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_+@".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}
