//! Validation of the per-concern files: `directory.toml`, `trunks.toml`,
//! `dialplan.toml`, the profile files, and the checks that span several
//! files (contexts, trunk profiles, overlapping listen addresses).
//!
//! Split from `load.rs` to keep files small; see there for the overall flow.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use toml::de::DeValue;
use toml::Spanned;

use super::dialplan::{build_rule, DialPlan, Known, Rule};
use super::error::{ConfigError, ErrorKind, Origin, Sink};
use super::load::{
    de, elements, positive, secret, unknown_key, Builder, ProfileRefs, TrunkRefs, DIALPLAN_FILE, DIRECTORY_FILE,
    TRUNKS_FILE,
};
use super::model::{RawAuth, RawProfile, RawProfileTransport, RawRule, RawSrtp, RawTransport, RawTrunk, RawUser};
use super::net::Cidr;
use super::typed::{listen_overlap, AuthPolicy, Credentials, Keepalive, Profile, Transport, Trunk, TrunkInbound, User};

/// Contexts of the dial plan with where each was first defined.
pub(super) type Contexts = BTreeMap<String, (Origin, Vec<Rule>)>;

fn transport(t: RawTransport) -> Transport {
    match t {
        RawTransport::Udp => Transport::Udp,
        RawTransport::Tcp => Transport::Tcp,
        RawTransport::Tls => Transport::Tls,
    }
}

fn profile_transport(t: RawProfileTransport) -> Transport {
    match t {
        RawProfileTransport::Udp => Transport::Udp,
        RawProfileTransport::Tcp => Transport::Tcp,
        RawProfileTransport::Tls => Transport::Tls,
        RawProfileTransport::Ws => Transport::Ws,
        RawProfileTransport::Wss => Transport::Wss,
    }
}

/// True for a usable SIP user part / name: non-empty, no spaces or
/// characters that would need escaping in a SIP URI.
pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '*' | '#'))
}

fn check_name(sink: &mut Sink<'_>, v: &Spanned<String>, what: &str) -> bool {
    let ok = valid_name(v.get_ref());
    if !ok {
        sink.push(
            &v.span(),
            ErrorKind::InvalidValue,
            format!(
                "{what} `{}` must be non-empty and use only letters, digits and . _ - + * #",
                v.get_ref()
            ),
        );
    }
    ok
}

impl<'a> Builder<'a, '_> {
    /// `directory.toml`: `[[user]]` entries.
    pub(super) fn directory(&mut self) -> Vec<User> {
        let mut users = Vec::new();
        let Some((file, root)) = self.required(DIRECTORY_FILE) else {
            return users;
        };
        let mut raws = Vec::new();
        let mut complete = true;
        {
            let mut sink = self.sink(file);
            for (key, v) in root.get_ref().iter() {
                if key.get_ref() != "user" {
                    unknown_key(&mut sink, key, "`[[user]]`");
                    continue;
                }
                for el in elements("user", v, &mut sink) {
                    match de::<RawUser>(el, &mut sink) {
                        Some(raw) => raws.push(raw),
                        None => complete = false,
                    }
                }
            }
        }
        self.seen.users_complete = complete;
        self.seen.users = raws.iter().map(|r| r.extension.get_ref().clone()).collect();
        let mut seen: HashMap<String, Origin> = HashMap::new();
        let env = self.env;
        for raw in raws {
            let mut sink = self.sink(file);
            let mut ok = check_name(&mut sink, &raw.extension, "extension");
            let ext = raw.extension.get_ref().clone();
            let here = sink.origin(&raw.extension.span());
            if let Some(first) = seen.get(&ext) {
                sink.push_at(
                    &here,
                    ErrorKind::Duplicate,
                    format!("duplicate extension `{ext}` (first defined at line {})", first.line),
                );
                ok = false;
            } else {
                seen.insert(ext.clone(), here);
            }
            let timeout = match &raw.no_answer_timeout_s {
                Some(_) => Some(Duration::from_secs(positive(
                    &mut sink,
                    &raw.no_answer_timeout_s,
                    "no_answer_timeout_s",
                    30,
                ))),
                None => None,
            };
            let password = secret(env, &mut sink, &raw.password);
            if let (true, Some(password)) = (ok, password) {
                users.push(User {
                    extension: ext,
                    password,
                    display_name: raw.display_name,
                    no_answer_timeout: timeout,
                    noise_removal: raw.noise_removal,
                });
            }
        }
        users
    }

    /// `trunks.toml`: `[[trunk]]` entries (their `profile` is resolved in
    /// [`Builder::cross_check`]).
    pub(super) fn trunks(&mut self) -> Vec<(Trunk, TrunkRefs)> {
        let mut trunks = Vec::new();
        let Some((file, root)) = self.required(TRUNKS_FILE) else {
            return trunks;
        };
        let mut raws = Vec::new();
        let mut complete = true;
        {
            let mut sink = self.sink(file);
            for (key, v) in root.get_ref().iter() {
                if key.get_ref() != "trunk" {
                    unknown_key(&mut sink, key, "`[[trunk]]`");
                    continue;
                }
                for el in elements("trunk", v, &mut sink) {
                    match de::<RawTrunk>(el, &mut sink) {
                        Some(raw) => raws.push(raw),
                        None => complete = false,
                    }
                }
            }
        }
        self.seen.trunks_complete = complete;
        self.seen.trunks = raws.iter().map(|r| r.name.get_ref().clone()).collect();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let env = self.env;
        let dir = self.files.dir.clone();
        for raw in raws {
            let mut sink = self.sink(file);
            let before = sink.errors.len();
            check_name(&mut sink, &raw.name, "trunk name");
            let name = raw.name.get_ref().clone();
            let here = sink.origin(&raw.name.span());
            if let Some(line) = seen.get(&name) {
                sink.push_at(
                    &here,
                    ErrorKind::Duplicate,
                    format!("duplicate trunk `{name}` (first defined at line {line})"),
                );
            } else {
                seen.insert(name.clone(), here.line);
            }
            let address = raw.address.get_ref().parse::<SocketAddr>().ok();
            if address.is_none() {
                sink.push(
                    &raw.address.span(),
                    ErrorKind::InvalidValue,
                    format!(
                        "trunk address `{}` is not an IP:port (e.g. \"192.0.2.10:5060\"); \
                         host names are not supported yet",
                        raw.address.get_ref()
                    ),
                );
            }
            let mut from = Vec::new();
            for a in &raw.inbound_from {
                match a.get_ref().parse::<Cidr>() {
                    Ok(c) => from.push(c),
                    Err(m) => sink.push(&a.span(), ErrorKind::InvalidValue, m),
                }
            }
            let context_origin = raw.context.as_ref().map(|c| sink.origin(&c.span()));
            let inbound = match (&raw.context, raw.inbound_from.is_empty()) {
                (Some(c), false) => Some(TrunkInbound {
                    from,
                    context: c.get_ref().clone(),
                }),
                (None, false) => {
                    sink.push(
                        &raw.name.span(),
                        ErrorKind::Schema,
                        "a trunk with `inbound_from` needs `context` for its inbound calls",
                    );
                    None
                }
                (Some(c), true) => {
                    sink.push(
                        &c.span(),
                        ErrorKind::Schema,
                        "`context` applies to inbound calls; add `inbound_from` or remove it",
                    );
                    None
                }
                (None, true) => None,
            };
            if let Some(u) = raw.from_user.as_ref() {
                check_name(&mut sink, u, "from_user");
            }
            let register = raw.register.as_ref().is_some_and(|r| *r.get_ref());
            let profile = raw
                .profile
                .as_ref()
                .map(|p| (p.get_ref().clone(), sink.origin(&p.span())));
            let credentials = match (&raw.username, &raw.password) {
                (Some(u), Some(p)) => {
                    check_name(&mut sink, u, "username");
                    secret(env, &mut sink, p).map(|password| Credentials {
                        username: u.get_ref().clone(),
                        password,
                    })
                }
                (Some(u), None) => {
                    sink.push(&u.span(), ErrorKind::Schema, "`username` needs `password`");
                    None
                }
                (None, Some(p)) => {
                    sink.push(&p.span(), ErrorKind::Schema, "`password` needs `username`");
                    None
                }
                (None, None) => None,
            };
            if let (true, None, Some(r)) = (register, &credentials, &raw.register) {
                sink.push(
                    &r.span(),
                    ErrorKind::Schema,
                    "`register = true` needs `username` and `password`",
                );
            }
            let keepalive = keepalive(&mut sink, &raw);
            let tls = trunk_tls(&raw, address, &mut sink, dir.as_deref());
            let failover_timeout = positive(&mut sink, &raw.failover_timeout_ms, "failover_timeout_ms", 0);
            let failover_timeout = match failover_timeout {
                0 => Trunk::DEFAULT_FAILOVER_TIMEOUT,
                ms => Duration::from_millis(ms),
            };
            if sink.errors.len() != before {
                continue;
            }
            let Some(address) = address else { continue };
            trunks.push((
                Trunk {
                    name,
                    address,
                    transport: raw.transport.map_or(Transport::Udp, transport),
                    inbound,
                    credentials,
                    register,
                    from_user: raw.from_user.map(Spanned::into_inner),
                    profile: String::new(),
                    keepalive,
                    failover_timeout,
                    tls,
                },
                TrunkRefs {
                    context: context_origin,
                    profile,
                },
            ));
        }
        trunks
    }

    /// `dialplan.toml`: `default_no_answer_timeout_s` and `[[context.<name>]]`
    /// rules.
    pub(super) fn dialplan(&mut self, known: &Known<'_>) -> (Contexts, Duration) {
        let mut contexts = Contexts::new();
        let mut default = DialPlan::DEFAULT_NO_ANSWER_TIMEOUT;
        let Some((file, root)) = self.required(DIALPLAN_FILE) else {
            return (contexts, default);
        };
        let mut complete = true;
        let mut sink = self.sink(file);
        for (key, v) in root.get_ref().iter() {
            match key.get_ref().as_ref() {
                "default_no_answer_timeout_s" => {
                    if let Some(t) = de::<Spanned<u64>>(v, &mut sink) {
                        let secs = positive(&mut sink, &Some(t), "default_no_answer_timeout_s", 30);
                        default = Duration::from_secs(secs);
                    }
                }
                "context" => {
                    let DeValue::Table(table) = v.get_ref() else {
                        complete = false;
                        sink.push(
                            &v.span(),
                            ErrorKind::Schema,
                            "`context` must be a table of rule arrays (`[[context.internal]]`)",
                        );
                        continue;
                    };
                    for (name, rules_v) in table.iter() {
                        let origin = sink.origin(&name.span());
                        let mut rules = Vec::new();
                        for el in elements(&format!("context.{}", name.get_ref()), rules_v, &mut sink) {
                            if let Some(raw) = de::<RawRule>(el, &mut sink) {
                                if let Some(rule) = build_rule(raw, known, &mut sink) {
                                    rules.push(rule);
                                }
                            }
                        }
                        contexts.insert(name.get_ref().to_string(), (origin, rules));
                    }
                }
                _ => unknown_key(&mut sink, key, "`default_no_answer_timeout_s` or `[[context.<name>]]`"),
            }
        }
        self.seen.contexts_complete = complete;
        (contexts, default)
    }

    /// The profile files listed in `switchboard.toml`.
    pub(super) fn profiles(&mut self, list: &[(String, Origin)]) -> Vec<(Profile, ProfileRefs)> {
        let mut out: Vec<(Profile, ProfileRefs)> = Vec::new();
        self.seen.profiles_complete = true;
        for (base, listed_at) in list {
            let Some(file) = self.files.find(base) else {
                self.seen.profiles_complete = false;
                self.errors.push(ConfigError::new(
                    listed_at,
                    ErrorKind::Io,
                    format!("profile file `{base}` is missing"),
                ));
                continue;
            };
            let Some(root) = self.open(file) else {
                self.seen.profiles_complete = false;
                continue;
            };
            let whole = Spanned::new(root.span(), DeValue::Table(root.get_ref().clone()));
            let mut sink = self.sink(file);
            let Some(raw) = de::<RawProfile>(&whole, &mut sink) else {
                self.seen.profiles_complete = false;
                continue;
            };
            let trusted = *raw.auth.get_ref() == RawAuth::TrustedTrunks;
            self.seen.profiles.push((raw.name.get_ref().clone(), trusted));
            let dir = self.files.dir.clone();
            let mut sink = self.sink(file);
            let before = sink.errors.len();
            let name = raw.name.get_ref().clone();
            check_name(&mut sink, &raw.name, "profile name");
            if let Some((first, _)) = out.iter().find(|(p, _)| p.name == name) {
                let first_file = first.listen_origins.first().map(|o| o.file.clone());
                sink.push(
                    &raw.name.span(),
                    ErrorKind::Duplicate,
                    format!(
                        "duplicate profile name `{name}` (also in {})",
                        first_file.unwrap_or_default()
                    ),
                );
            }
            let mut listen = Vec::new();
            let mut listen_origins = Vec::new();
            if raw.listen.get_ref().is_empty() {
                sink.push(
                    &raw.listen.span(),
                    ErrorKind::InvalidValue,
                    "listen must name at least one address",
                );
            }
            for l in raw.listen.get_ref() {
                let origin = sink.origin(&l.span());
                let Ok(addr) = l.get_ref().parse::<SocketAddr>() else {
                    sink.push(
                        &l.span(),
                        ErrorKind::InvalidValue,
                        format!(
                            "listen address `{}` is not an IP:port (e.g. \"127.0.0.1:5060\")",
                            l.get_ref()
                        ),
                    );
                    continue;
                };
                let clash = listen
                    .iter()
                    .map(|a| (a, &name))
                    .chain(out.iter().flat_map(|(p, _)| p.listen.iter().map(|a| (a, &p.name))))
                    .find(|(a, _)| listen_overlap(**a, addr));
                if let Some((other, pname)) = clash {
                    sink.push_at(
                        &origin,
                        ErrorKind::Duplicate,
                        format!("listen address {addr} overlaps {other} of profile `{pname}`"),
                    );
                    continue;
                }
                listen.push(addr);
                listen_origins.push(origin);
            }
            let mut transports = Vec::new();
            match &raw.transports {
                Some(t) if t.get_ref().is_empty() => sink.push(
                    &t.span(),
                    ErrorKind::InvalidValue,
                    "transports must name at least one of \"udp\", \"tcp\", \"tls\", \"ws\", \"wss\"",
                ),
                Some(t) => {
                    for x in t.get_ref() {
                        let x = profile_transport(*x);
                        if !transports.contains(&x) {
                            transports.push(x);
                        }
                    }
                }
                None => transports = vec![Transport::Udp, Transport::Tcp],
            }
            let auth = match (raw.auth.get_ref(), &raw.realm) {
                (RawAuth::Digest, Some(r)) if !r.get_ref().is_empty() => AuthPolicy::Digest {
                    realm: r.get_ref().clone(),
                },
                (RawAuth::Digest, _) => {
                    sink.push(
                        &raw.auth.span(),
                        ErrorKind::Schema,
                        "auth = \"digest\" needs a non-empty `realm`",
                    );
                    AuthPolicy::TrustedTrunks
                }
                (RawAuth::TrustedTrunks, Some(r)) => {
                    sink.push(
                        &r.span(),
                        ErrorKind::Schema,
                        "`realm` applies only to auth = \"digest\"",
                    );
                    AuthPolicy::TrustedTrunks
                }
                (RawAuth::TrustedTrunks, None) => AuthPolicy::TrustedTrunks,
            };
            let tls = profile_tls(&raw, &transports, &mut sink, dir.as_deref());
            let taken = super::websocket::TakenAddrs {
                this_listen: if transports.contains(&Transport::Tcp) {
                    &listen
                } else {
                    &[]
                },
                this_tls: tls.as_ref().map_or(&[][..], |t| &t.listen[..]),
                others: &out,
            };
            let ws = super::websocket::profile_ws(&raw, &transports, tls.as_ref(), taken, &mut sink);
            let refs = ProfileRefs {
                context: sink.origin(&raw.context.span()),
            };
            if sink.errors.len() == before {
                out.push((
                    Profile {
                        name,
                        listen,
                        transports,
                        auth,
                        context: raw.context.into_inner(),
                        listen_origins,
                        tls,
                        ws,
                        srtp: match raw.srtp.map(|s| s.into_inner()) {
                            None | Some(RawSrtp::Off) => crate::sdp::SrtpPolicy::Off,
                            Some(RawSrtp::Optional) => crate::sdp::SrtpPolicy::Optional,
                            Some(RawSrtp::Mandatory) => crate::sdp::SrtpPolicy::Mandatory,
                        },
                    },
                    refs,
                ));
            }
        }
        out
    }

    /// An error about `trunks.toml` as a whole (no line to point at).
    fn trunks_file_error(&self, message: String) -> ConfigError {
        ConfigError {
            file: self.files.find(TRUNKS_FILE).map(|f| f.name.clone()).unwrap_or_default(),
            line: 0,
            column: 0,
            kind: ErrorKind::UnknownReference,
            message,
        }
    }

    /// Checks references between files and fills in each trunk's profile
    /// (default: the first `trusted-trunks` profile).
    pub(super) fn cross_check(
        &mut self,
        profiles: &[(Profile, ProfileRefs)],
        trunks: Vec<(Trunk, TrunkRefs)>,
        contexts: &Contexts,
    ) -> Vec<Trunk> {
        let check_contexts = self.seen.contexts_complete;
        for (p, refs) in profiles {
            if check_contexts && !contexts.contains_key(&p.context) {
                self.errors.push(ConfigError::new(
                    &refs.context,
                    ErrorKind::UnknownReference,
                    format!("unknown context `{}` (not in dialplan.toml)", p.context),
                ));
            }
        }
        let seen_profiles = std::mem::take(&mut self.seen.profiles);
        let check_profiles = self.seen.profiles_complete;
        let default_profile = seen_profiles
            .iter()
            .find(|(_, trusted)| *trusted)
            .map(|(p, _)| p.clone());
        let mut out = Vec::new();
        for (mut t, refs) in trunks {
            if let (Some(i), Some(origin), true) = (&t.inbound, &refs.context, check_contexts) {
                if !contexts.contains_key(&i.context) {
                    self.errors.push(ConfigError::new(
                        origin,
                        ErrorKind::UnknownReference,
                        format!("unknown context `{}` (not in dialplan.toml)", i.context),
                    ));
                }
            }
            match refs.profile {
                Some((name, origin)) => {
                    if check_profiles && !seen_profiles.iter().any(|(p, _)| *p == name) {
                        self.errors.push(ConfigError::new(
                            &origin,
                            ErrorKind::UnknownReference,
                            format!("unknown profile `{name}`"),
                        ));
                    }
                    t.profile = name;
                }
                None => match &default_profile {
                    Some(p) => t.profile = p.clone(),
                    None if !check_profiles => {}
                    None => {
                        let e = self.trunks_file_error(format!(
                            "trunk `{}` has no `profile` and no profile has auth = \"trusted-trunks\"",
                            t.name
                        ));
                        self.errors.push(e);
                    }
                },
            }
            let profile_tls = profiles
                .iter()
                .find(|(p, _)| p.name == t.profile)
                .map(|(p, _)| p.tls.as_ref().is_some_and(|t| !t.listen.is_empty()));
            if t.transport == Transport::Tls && profile_tls == Some(false) {
                let e = self.trunks_file_error(format!(
                    "trunk `{}` uses transport = \"tls\" but its profile `{}` has no \"tls\" transport \
                     (its certificate is the one the switch presents)",
                    t.name, t.profile
                ));
                self.errors.push(e);
            }
            out.push(t);
        }
        out
    }
}

/// A trunk's OPTIONS keepalive: on when `options_interval_s` is set (at
/// least 1); `down_after` and `up_after` (at least 1) need it.
fn keepalive(sink: &mut Sink<'_>, raw: &RawTrunk) -> Option<Keepalive> {
    let interval = positive(sink, &raw.options_interval_s, "options_interval_s", 30);
    let down_after = positive(sink, &raw.down_after, "down_after", Keepalive::DEFAULT_DOWN_AFTER);
    let up_after = positive(sink, &raw.up_after, "up_after", Keepalive::DEFAULT_UP_AFTER);
    if raw.options_interval_s.is_none() {
        for (field, v) in [("down_after", &raw.down_after), ("up_after", &raw.up_after)] {
            if let Some(v) = v {
                sink.push(
                    &v.span(),
                    ErrorKind::Schema,
                    format!("`{field}` needs `options_interval_s` (the OPTIONS keepalive is off without it)"),
                );
            }
        }
        return None;
    }
    Some(Keepalive {
        interval: Duration::from_secs(interval),
        down_after: NonZeroU32::new(down_after)?,
        up_after: NonZeroU32::new(up_after)?,
    })
}

/// A profile's TLS settings: `tls_listen` exactly when `transports` has
/// "tls"; the certificate and key files checked now (they also serve the
/// `wss` listeners, which need them); without them a self-signed
/// certificate is made at start, for loopback TLS addresses only.
fn profile_tls(
    raw: &RawProfile,
    transports: &[Transport],
    sink: &mut Sink<'_>,
    dir: Option<&std::path::Path>,
) -> Option<crate::config::ProfileTls> {
    let wants = transports.contains(&Transport::Tls);
    let wants_wss = transports.contains(&Transport::Wss);
    if wants && raw.tls_listen.is_none() {
        let at = raw
            .transports
            .as_ref()
            .map(|t| t.span())
            .unwrap_or_else(|| raw.name.span());
        sink.push(
            &at,
            ErrorKind::Schema,
            "transports has \"tls\": set tls_listen too (e.g. [\"0.0.0.0:5061\"])",
        );
        return None;
    }
    if !wants {
        if let Some(first) = raw.tls_listen.as_ref().and_then(|l| l.first()) {
            sink.push(
                &first.span(),
                ErrorKind::Schema,
                "tls_listen needs \"tls\" in transports",
            );
            return None;
        }
    }
    if !wants && !wants_wss {
        for f in [&raw.tls_certificate, &raw.tls_key, &raw.tls_client_ca]
            .into_iter()
            .flatten()
        {
            sink.push(
                &f.span(),
                ErrorKind::Schema,
                "TLS settings need \"tls\" (with tls_listen) or \"wss\" in transports",
            );
        }
        return None;
    }
    if !wants {
        if let Some(ca) = &raw.tls_client_ca {
            sink.push(
                &ca.span(),
                ErrorKind::Schema,
                "tls_client_ca applies to the tls listeners: it needs \"tls\" in transports",
            );
        }
    }
    let list: &[Spanned<String>] = raw.tls_listen.as_deref().unwrap_or(&[]);
    let mut listen = Vec::new();
    let mut origins = Vec::new();
    for l in list {
        match l.get_ref().parse::<SocketAddr>() {
            Ok(a) => {
                listen.push(a);
                origins.push(sink.origin(&l.span()));
            }
            Err(_) => sink.push(
                &l.span(),
                ErrorKind::InvalidValue,
                format!(
                    "tls_listen address `{}` is not an IP:port (e.g. \"127.0.0.1:5061\")",
                    l.get_ref()
                ),
            ),
        }
    }
    let files = match (&raw.tls_certificate, &raw.tls_key) {
        (Some(c), Some(k)) => {
            let files = crate::tls::TlsFiles {
                certificate: crate::tls::resolve(dir, c.get_ref()),
                key: crate::tls::resolve(dir, k.get_ref()),
            };
            match crate::tls::load_certified_key(&files) {
                Ok(_) => Some(files),
                Err(e @ crate::tls::TlsError::Key { .. }) => {
                    sink.push(&k.span(), ErrorKind::InvalidValue, e.to_string());
                    None
                }
                Err(e) => {
                    sink.push(&c.span(), ErrorKind::InvalidValue, e.to_string());
                    None
                }
            }
        }
        (Some(one), None) | (None, Some(one)) => {
            sink.push(
                &one.span(),
                ErrorKind::InvalidValue,
                "tls_certificate and tls_key go together: set both or neither",
            );
            None
        }
        (None, None) => {
            if let Some((l, a)) = list.iter().zip(&listen).find(|(_, a)| !a.ip().is_loopback()) {
                sink.push(
                    &l.span(),
                    ErrorKind::Unsafe,
                    format!(
                        "TLS on non-loopback {a} needs tls_certificate and tls_key (the self-signed demo \
                         certificate is for loopback only)"
                    ),
                );
            }
            None
        }
    };
    let client_ca = raw.tls_client_ca.as_ref().and_then(|c| {
        let path = crate::tls::resolve(dir, c.get_ref());
        match crate::tls::load_roots(&path) {
            Ok(_) => Some(path),
            Err(e) => {
                sink.push(&c.span(), ErrorKind::InvalidValue, e.to_string());
                None
            }
        }
    });
    Some(crate::config::ProfileTls {
        listen,
        files,
        client_ca,
        origins,
    })
}

/// A trunk's TLS settings: `transport = "tls"` needs `tls_ca` (the switch
/// ships no trust store: the operator names the CA of each carrier);
/// `tls_ca` and `tls_server_name` need the TLS transport.
fn trunk_tls(
    raw: &RawTrunk,
    address: Option<SocketAddr>,
    sink: &mut Sink<'_>,
    dir: Option<&std::path::Path>,
) -> Option<crate::config::TrunkTls> {
    if raw.transport != Some(RawTransport::Tls) {
        for f in [&raw.tls_ca, &raw.tls_server_name].into_iter().flatten() {
            sink.push(
                &f.span(),
                ErrorKind::Schema,
                "tls_ca and tls_server_name need transport = \"tls\"",
            );
        }
        return None;
    }
    let Some(ca) = &raw.tls_ca else {
        sink.push(
            &raw.name.span(),
            ErrorKind::Schema,
            "transport = \"tls\" needs tls_ca: the CA certificates (PEM) that signed the trunk's certificate",
        );
        return None;
    };
    let path = crate::tls::resolve(dir, ca.get_ref());
    if let Err(e) = crate::tls::load_roots(&path) {
        sink.push(&ca.span(), ErrorKind::InvalidValue, e.to_string());
        return None;
    }
    let server_name = match (&raw.tls_server_name, address) {
        (Some(n), _) => n.get_ref().clone(),
        (None, Some(a)) => a.ip().to_string(),
        (None, None) => return None,
    };
    if rustls::pki_types::ServerName::try_from(server_name.clone()).is_err() {
        let at = raw.tls_server_name.as_ref().map_or(raw.address.span(), |n| n.span());
        sink.push(
            &at,
            ErrorKind::InvalidValue,
            format!("`{server_name}` is not a DNS name or IP address"),
        );
        return None;
    }
    Some(crate::config::TrunkTls { ca: path, server_name })
}
