//! A profile's SIP-over-WebSocket settings (RFC 7118; issue 12 item 1):
//! `"ws"` in `transports` goes with `ws_listen`, `"wss"` with `wss_listen`
//! and the profile's TLS certificate (`tls_certificate`/`tls_key`: a wss
//! listener without them is an error, there is no self-signed fallback for
//! browsers), and `ws_origins` lists the web origins (RFC 6454) whose pages
//! may open the WebSocket (RFC 6455 §10.2). Every address must be free of
//! the profile's other TCP listeners and of every other profile's.

use std::net::SocketAddr;

use toml::Spanned;

use super::error::{ErrorKind, Sink};
use super::load::ProfileRefs;
use super::model::RawProfile;
use super::typed::{listen_overlap, Profile, ProfileTls, ProfileWs, Transport};

/// The addresses a new WebSocket listener must not overlap: this profile's
/// TCP `listen` addresses and TLS listeners, and every earlier profile's.
pub(super) struct TakenAddrs<'a> {
    /// This profile's `listen` when it binds TCP on them (else empty).
    pub this_listen: &'a [SocketAddr],
    /// This profile's `tls_listen`.
    pub this_tls: &'a [SocketAddr],
    /// The profiles validated before this one.
    pub others: &'a [(Profile, ProfileRefs)],
}

impl TakenAddrs<'_> {
    /// The first taken address `addr` overlaps, named for the error.
    fn clash(&self, addr: SocketAddr) -> Option<String> {
        let mine = self.this_listen.iter().chain(self.this_tls);
        if let Some(a) = mine.into_iter().find(|a| listen_overlap(**a, addr)) {
            return Some(format!("{a} of this profile"));
        }
        self.others.iter().find_map(|(p, _)| {
            let tls = p.tls.iter().flat_map(|t| t.listen.iter().copied());
            let ws = p.ws.iter().flat_map(|w| w.listeners().map(|(a, _)| a));
            let mut all = p.listen.iter().copied().chain(tls).chain(ws);
            all.find(|a| listen_overlap(*a, addr))
                .map(|a| format!("{a} of profile `{}`", p.name))
        })
    }
}

/// The profile's WebSocket listeners, or `None` when `transports` names
/// neither "ws" nor "wss" (errors go to `sink`).
pub(super) fn profile_ws(
    raw: &RawProfile,
    transports: &[Transport],
    tls: Option<&ProfileTls>,
    taken: TakenAddrs<'_>,
    sink: &mut Sink<'_>,
) -> Option<ProfileWs> {
    let wants_ws = transports.contains(&Transport::Ws);
    let wants_wss = transports.contains(&Transport::Wss);
    let transports_at = raw
        .transports
        .as_ref()
        .map(|t| t.span())
        .unwrap_or_else(|| raw.name.span());
    for (wants, list, key, token, example) in [
        (wants_ws, &raw.ws_listen, "ws_listen", "ws", "127.0.0.1:5066"),
        (wants_wss, &raw.wss_listen, "wss_listen", "wss", "0.0.0.0:7443"),
    ] {
        match (wants, list) {
            (true, None) => sink.push(
                &transports_at,
                ErrorKind::Schema,
                format!("transports has \"{token}\": set {key} too (e.g. [\"{example}\"])"),
            ),
            (false, Some(l)) => {
                if let Some(first) = l.first() {
                    sink.push(
                        &first.span(),
                        ErrorKind::Schema,
                        format!("{key} needs \"{token}\" in transports"),
                    );
                }
            }
            (true, Some(l)) if l.is_empty() => sink.push(
                &transports_at,
                ErrorKind::InvalidValue,
                format!("{key} must name at least one address (e.g. [\"{example}\"])"),
            ),
            _ => {}
        }
    }
    if !wants_ws && !wants_wss {
        if let Some(o) = &raw.ws_origins {
            sink.push(
                &o.span(),
                ErrorKind::Schema,
                "ws_origins needs \"ws\" or \"wss\" in transports",
            );
        }
        return None;
    }
    let mut ws = ProfileWs {
        ws_listen: Vec::new(),
        wss_listen: Vec::new(),
        origins: None,
        listen_origins: Vec::new(),
    };
    let mut seen: Vec<SocketAddr> = Vec::new();
    for (wants, list, key, secure) in [
        (wants_ws, &raw.ws_listen, "ws_listen", false),
        (wants_wss, &raw.wss_listen, "wss_listen", true),
    ] {
        let Some(list) = list.as_ref().filter(|_| wants) else {
            continue;
        };
        for l in list {
            let Some(addr) = listen_addr(l, key, sink) else {
                continue;
            };
            let clash = seen
                .iter()
                .find(|a| listen_overlap(**a, addr))
                .map(|a| format!("{a} of this profile"))
                .or_else(|| taken.clash(addr));
            if let Some(other) = clash {
                sink.push(
                    &l.span(),
                    ErrorKind::Duplicate,
                    format!("{key} address {addr} overlaps {other}"),
                );
                continue;
            }
            seen.push(addr);
            ws.listen_origins.push(sink.origin(&l.span()));
            if secure {
                ws.wss_listen.push(addr);
            } else {
                ws.ws_listen.push(addr);
            }
        }
    }
    if wants_wss && tls.is_none_or(|t| t.files.is_none()) {
        let at = raw
            .wss_listen
            .as_ref()
            .and_then(|l| l.first())
            .map(|l| l.span())
            .unwrap_or_else(|| transports_at.clone());
        // A half-set pair is reported by the TLS settings already.
        if raw.tls_certificate.is_none() && raw.tls_key.is_none() {
            sink.push(
                &at,
                ErrorKind::Schema,
                "wss_listen needs the profile's certificate: set tls_certificate and tls_key (PEM)",
            );
        }
    }
    if let Some(list) = &raw.ws_origins {
        if list.get_ref().is_empty() {
            sink.push(
                &list.span(),
                ErrorKind::InvalidValue,
                "ws_origins must list at least one origin (leave it out to allow any)",
            );
        }
        let mut origins = Vec::new();
        for o in list.get_ref() {
            match super::net::web_origin(o.get_ref()) {
                Ok(v) => origins.push(v),
                Err(m) => sink.push(&o.span(), ErrorKind::InvalidValue, m),
            }
        }
        ws.origins = Some(origins);
    }
    Some(ws)
}

/// One `ws_listen`/`wss_listen` entry as an address.
fn listen_addr(l: &Spanned<String>, key: &str, sink: &mut Sink<'_>) -> Option<SocketAddr> {
    match l.get_ref().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            sink.push(
                &l.span(),
                ErrorKind::InvalidValue,
                format!(
                    "{key} address `{}` is not an IP:port (e.g. \"127.0.0.1:5066\")",
                    l.get_ref()
                ),
            );
            None
        }
    }
}
