//! Registering the switch with its trunks (RFC 3261 §10.2): for every
//! trunk with `register = true`, a REGISTER from `username@trunk-host`
//! with our Contact, answered digest challenges (§22.2, once per
//! challenge), a refresh at 80 % of the granted expiry, and a retry after
//! [`RETRY`] when the trunk refuses or does not answer.

use super::{Engine, EngineTimer, Now};
use crate::sip::auth::DigestClient;
use crate::sip::msg::typed::ContactList;
use crate::sip::msg::{HeaderName, Host, Message, Method, StatusCode, Uri};
use bytes::Bytes;
use std::time::Duration;

/// The expiry we ask trunks for.
pub const REQUESTED_EXPIRES: u32 = 600;
/// Wait before retrying a failed registration.
pub const RETRY: Duration = Duration::from_secs(30);

/// Per-trunk registration state.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrunkRegistration {
    /// Call-ID used for all of this trunk's REGISTERs (§10.2.4).
    pub call_id: String,
    /// Our From tag.
    pub tag: String,
    /// Last CSeq sent.
    pub cseq: u32,
    /// Challenge answered for the current attempt.
    pub answered_challenge: bool,
    /// Whether the trunk currently holds our registration.
    pub registered: bool,
}

impl Engine {
    /// Starts the trunk registrations and OPTIONS keepalives; called once by the driver after the
    /// sockets are bound (and again after a reload).
    pub fn start(&mut self, now: Now) {
        let names: Vec<String> = self
            .cfg
            .trunks()
            .iter()
            .filter(|t| t.register)
            .map(|t| t.name.clone())
            .collect();
        self.trunk_regs.retain(|k, _| names.contains(k));
        for (i, t) in self.cfg.trunks().iter().enumerate() {
            if t.register {
                self.timers.set(EngineTimer::TrunkRegister(i), now.mono);
            }
        }
        self.start_keepalives(now);
        self.start_callbacks(now);
        self.start_voicemail_items(now);
    }

    /// True once trunk `name` accepted our registration.
    pub fn trunk_registered(&self, name: &str) -> bool {
        self.trunk_regs.get(name).map(|r| r.registered).unwrap_or(false)
    }

    pub(crate) fn send_trunk_register(&mut self, now: Now, idx: usize, auth: Option<(HeaderName, Bytes)>) {
        let Some(trunk) = self.cfg.trunks().get(idx).cloned() else {
            return;
        };
        if !trunk.register {
            return;
        }
        let Some(creds) = trunk.credentials.clone() else { return };
        let Some(dest) = self.trunk_destination(&trunk) else {
            return;
        };
        let local = dest.local;
        let host = Host::from_ip(trunk.address.ip());
        let ids = &mut self.ids;
        let st = self
            .trunk_regs
            .entry(trunk.name.clone())
            .or_insert_with(|| TrunkRegistration {
                call_id: ids.call_id(&local.ip().to_string()),
                tag: ids.tag(),
                ..Default::default()
            });
        st.cseq += 1;
        if auth.is_none() {
            st.answered_challenge = false;
        }
        let (call_id, tag, cseq) = (st.call_id.clone(), st.tag.clone(), st.cseq);
        let mut m = Message::request(
            Method::REGISTER,
            Uri::sip(None, host.clone(), Some(trunk.address.port())),
        );
        m.headers
            .push(HeaderName::Via, crate::call::new_via(&mut self.ids, dest));
        m.headers.push(HeaderName::MaxForwards, "70");
        let aor = Uri::sip(Some(&creds.username), host, Some(trunk.address.port()));
        m.headers.push(HeaderName::From, format!("<{aor}>;tag={tag}"));
        m.headers.push(HeaderName::To, format!("<{aor}>"));
        m.headers.push(HeaderName::CallId, call_id);
        m.headers.push(HeaderName::CSeq, format!("{cseq} REGISTER"));
        m.headers
            .push(HeaderName::Contact, crate::call::contact_for(&creds.username, dest));
        m.headers.push(HeaderName::Expires, REQUESTED_EXPIRES.to_string());
        m.headers.push(HeaderName::UserAgent, self.cfg.sip().user_agent.clone());
        if let Some((name, value)) = auth {
            m.headers.push(name, value);
        }
        match self.txl.send_request(now.mono, m, dest) {
            Ok(tx) => {
                self.trunk_txs.insert(tx, idx);
            }
            Err(e) => {
                tracing::warn!(trunk = %trunk.name, error = %e, "trunk REGISTER not sent");
                self.timers.set(EngineTimer::TrunkRegister(idx), now.mono + RETRY);
            }
        }
    }

    pub(crate) fn on_trunk_register_response(&mut self, now: Now, idx: usize, resp: &Message) {
        let Some(code) = resp.status() else { return };
        if code.is_provisional() {
            return;
        }
        let Some(trunk) = self.cfg.trunks().get(idx).cloned() else {
            return;
        };
        if code.is_success() {
            let expires = granted_expires(resp).unwrap_or(REQUESTED_EXPIRES).max(10);
            if let Some(st) = self.trunk_regs.get_mut(&trunk.name) {
                st.registered = true;
            }
            tracing::info!(trunk = %trunk.name, expires, "registered with trunk");
            let refresh = Duration::from_secs(u64::from(expires) * 8 / 10);
            self.timers.set(EngineTimer::TrunkRegister(idx), now.mono + refresh);
            return;
        }
        let challenged = code == StatusCode::UNAUTHORIZED || code == StatusCode::PROXY_AUTH_REQUIRED;
        let answered = self
            .trunk_regs
            .get(&trunk.name)
            .map(|s| s.answered_challenge)
            .unwrap_or(true);
        if challenged && !answered {
            if let Some(auth) = self.trunk_credentials(idx, resp) {
                if let Some(st) = self.trunk_regs.get_mut(&trunk.name) {
                    st.answered_challenge = true;
                }
                self.send_trunk_register(now, idx, Some(auth));
                return;
            }
        }
        if let Some(st) = self.trunk_regs.get_mut(&trunk.name) {
            st.registered = false;
        }
        tracing::warn!(trunk = %trunk.name, code = code.as_u16(), "trunk registration failed; retrying later");
        self.timers.set(EngineTimer::TrunkRegister(idx), now.mono + RETRY);
    }

    pub(crate) fn on_trunk_register_timeout(&mut self, now: Now, idx: usize) {
        if let Some(t) = self.cfg.trunks().get(idx) {
            if let Some(st) = self.trunk_regs.get_mut(&t.name) {
                st.registered = false;
            }
        }
        self.timers.set(EngineTimer::TrunkRegister(idx), now.mono + RETRY);
    }

    fn trunk_credentials(&mut self, idx: usize, resp: &Message) -> Option<(HeaderName, Bytes)> {
        let trunk = self.cfg.trunks().get(idx)?;
        let uri = Uri::sip(None, Host::from_ip(trunk.address.ip()), Some(trunk.address.port())).to_string();
        let name = trunk.name.clone();
        self.trunk_authorization(&name, resp, &Method::REGISTER, &uri)
    }

    /// The credentials header answering a trunk's 401/407 `resp` for a
    /// `method uri` request (RFC 3261 §22.2, §22.3): the strongest digest
    /// challenge offered, the trunk's configured username and password, a
    /// fresh cnonce. `None` when the trunk has no credentials or no usable
    /// challenge.
    pub(crate) fn trunk_authorization(
        &mut self,
        trunk: &str,
        resp: &Message,
        method: &Method,
        uri: &str,
    ) -> Option<(HeaderName, Bytes)> {
        let creds = self.cfg.trunk(trunk)?.credentials.clone()?;
        let cnonce = self.ids.tag();
        DigestClient::authorize(resp, method, uri, &creds.username, creds.password.expose(), &cnonce)
    }
}

/// The expiry a registrar granted (§10.2.4): the `expires` of our Contact
/// in the 200, else its Expires header.
fn granted_expires(resp: &Message) -> Option<u32> {
    for v in resp.headers.get_all(&HeaderName::Contact) {
        if let Ok(ContactList::List(list)) = ContactList::parse(v) {
            if let Some(e) = list.iter().find_map(|c| c.expires()) {
                return Some(e);
            }
        }
    }
    resp.headers
        .get(&HeaderName::Expires)
        .and_then(|v| crate::sip::msg::typed::parse_u32(v))
}
