//! REGISTER (RFC 3261 §10.3): only on digest profiles; the To user must be a
//! directory user and the digest username must match it (§10.3 step 3);
//! then the registrar decides and the bindings are persisted. Wrong
//! passwords and unknown users get the same re-challenge (no user
//! enumeration); repeated failures from one source get 403 for a while.

use super::{Engine, Now};
use crate::config::AuthPolicy;
use crate::sip::auth::{AuthKind, AuthOutcome};
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
    /// challenge / refusal itself when it does not pass.
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
        if self.throttle.is_blocked(now.unix_s(), ip) {
            let resp = Message::response_to(req, StatusCode::FORBIDDEN, Some("Too Many Failed Attempts"), Some(&tag));
            self.respond(now, tx, resp);
            return Authn::Answered;
        }
        let cfg = self.cfg.clone();
        let Some(server) = self.digest.get_mut(profile) else {
            let resp = Message::response_to(req, StatusCode::FORBIDDEN, None, Some(&tag));
            self.respond(now, tx, resp);
            return Authn::Answered;
        };
        let outcome = server.verify_request(now.unix_s(), req, kind, |user| {
            cfg.user(user).map(|u| u.password.expose().to_string())
        });
        let (stale, failed) = match outcome {
            AuthOutcome::Ok { user } => {
                if cfg.user(&user).is_some() {
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
            self.throttle.record_failure(now.unix_s(), ip);
            tracing::info!(peer = %src.addr, "digest authentication failed");
        }
        let mut resp = server.challenge_response(now.unix_s(), req, kind, stale, Some(&tag));
        resp.headers.push(HeaderName::Server, cfg.sip().user_agent.clone());
        self.respond(now, tx, resp);
        Authn::Answered
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
