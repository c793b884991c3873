//! SIP over WebSocket settings of a profile (RFC 7118, issue 12 item 1):
//! `ws`/`wss` in `transports` go with `ws_listen`/`wss_listen`; `wss`
//! needs the profile's certificate; `ws_origins` are web origins; the
//! addresses are free of the other listeners and count for bind safety;
//! trunks have no WebSocket transport.

use super::*;

const BASE: &str =
    "name = \"internal\"\nlisten = [\"127.0.0.1:5060\"]\nauth = \"digest\"\nrealm = \"r\"\ncontext = \"internal\"\n";

fn profile(extra: &str) -> String {
    format!("{BASE}{extra}")
}

fn pem_pair(dir: &std::path::Path) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let cert = dir.join("sip.pem");
    let key = dir.join("sip.key");
    std::fs::write(&cert, ck.cert.pem()).expect("cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("key");
    (cert.display().to_string(), key.display().to_string())
}

#[test]
fn ws_transport_and_ws_listen_go_together() {
    let p = profile("transports = [\"udp\", \"ws\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:6:14",
        ErrorKind::Schema,
        "transports has \"ws\": set ws_listen too",
    );
    let p = profile("ws_listen = [\"127.0.0.1:5066\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:6:14",
        ErrorKind::Schema,
        "ws_listen needs \"ws\" in transports",
    );
    let p = profile("ws_origins = [\"https://a.example\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:6:14",
        ErrorKind::Schema,
        "ws_origins needs \"ws\" or \"wss\"",
    );
}

#[test]
fn a_wss_listener_needs_the_profile_certificate() {
    let p = profile("transports = [\"udp\", \"wss\"]\nwss_listen = [\"127.0.0.1:7443\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:7:15",
        ErrorKind::Schema,
        "wss_listen needs the profile's certificate",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = pem_pair(dir.path());
    let p = profile(&format!(
        "transports = [\"udp\", \"wss\"]\nwss_listen = [\"127.0.0.1:7443\"]\n\
         tls_certificate = \"{cert}\"\ntls_key = \"{key}\"\n"
    ));
    let c = load(&[("internal.toml", Some(&p))]).expect("loads");
    let p = c.profile("internal").expect("profile");
    let tls = p.tls.as_ref().expect("the certificate is kept");
    assert!(tls.listen.is_empty() && tls.files.is_some(), "{tls:?}");
    let ws = p.ws.as_ref().expect("ws");
    assert_eq!(
        ws.wss_listen,
        vec!["127.0.0.1:7443".parse::<std::net::SocketAddr>().unwrap()]
    );
    assert!(ws.ws_listen.is_empty() && ws.origins.is_none());
    assert_eq!(
        c.profile_for_local("127.0.0.1:7443".parse().unwrap())
            .map(|p| p.name.as_str()),
        Some("internal")
    );
}

#[test]
fn origins_are_web_origins_and_listeners_are_found_by_address() {
    let p = profile(
        "transports = [\"udp\", \"tcp\", \"ws\"]\nws_listen = [\"127.0.0.1:5066\", \"127.0.0.1:5067\"]\n\
         ws_origins = [\"https://Desk.Example.com/\", \"http://localhost:8080\"]\n",
    );
    let c = load(&[("internal.toml", Some(&p))]).expect("loads");
    let ws = c.profile("internal").and_then(|p| p.ws.clone()).expect("ws");
    assert_eq!(
        ws.origins,
        Some(vec![
            "https://desk.example.com".to_string(),
            "http://localhost:8080".to_string()
        ])
    );
    assert_eq!(ws.listeners().count(), 2);
    assert_eq!(
        c.profile_for_local("127.0.0.1:5067".parse().unwrap())
            .map(|p| p.name.as_str()),
        Some("internal")
    );
    let bad = profile("transports = [\"ws\"]\nws_listen = [\"127.0.0.1:5066\"]\nws_origins = [\"desk.example.com\"]\n");
    one_error(
        &[("internal.toml", Some(&bad))],
        "internal.toml:8:15",
        ErrorKind::InvalidValue,
        "must start with http:// or https://",
    );
    let empty = profile("transports = [\"ws\"]\nws_listen = [\"127.0.0.1:5066\"]\nws_origins = []\n");
    one_error(
        &[("internal.toml", Some(&empty))],
        "internal.toml:8:14",
        ErrorKind::InvalidValue,
        "leave it out to allow any",
    );
    let not_addr = profile("transports = [\"ws\"]\nws_listen = [\"localhost:5066\"]\n");
    one_error(
        &[("internal.toml", Some(&not_addr))],
        "internal.toml:7:14",
        ErrorKind::InvalidValue,
        "is not an IP:port",
    );
}

#[test]
fn websocket_addresses_must_not_overlap_other_listeners() {
    let p = profile("transports = [\"udp\", \"tcp\", \"ws\"]\nws_listen = [\"0.0.0.0:5060\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:7:14",
        ErrorKind::Duplicate,
        "overlaps 127.0.0.1:5060 of this profile",
    );
    // UDP only on 5060: a WebSocket listener may share the port number.
    let p = profile("transports = [\"udp\", \"ws\"]\nws_listen = [\"127.0.0.1:5060\"]\n");
    assert!(load(&[("internal.toml", Some(&p))]).is_ok());
    let p = profile("transports = [\"udp\", \"ws\"]\nws_listen = [\"127.0.0.1:5066\", \"127.0.0.1:5066\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:7:32",
        ErrorKind::Duplicate,
        "overlaps 127.0.0.1:5066 of this profile",
    );
}

#[test]
fn demo_passwords_block_a_non_loopback_websocket_listener() {
    let p = profile("transports = [\"udp\", \"ws\"]\nws_listen = [\"0.0.0.0:5066\"]\n");
    let c = load(&[("internal.toml", Some(&p))]).expect("loads");
    let e = c.check_bind_safety().expect_err("unsafe");
    assert_eq!(e.kind, ErrorKind::Unsafe);
    assert!(
        e.to_string()
            .starts_with("sip-profiles/internal.toml:7:14: profile `internal` listens on non-loopback 0.0.0.0:5066"),
        "{e}"
    );
}

#[test]
fn trunks_have_no_websocket_transport() {
    let t = "[[trunk]]\nname = \"demo\"\naddress = \"127.0.0.1:5090\"\ntransport = \"ws\"\n";
    let errs = errors(&[("trunks.toml", Some(t))]);
    assert!(
        errs.iter().any(|e| e.to_string().contains("trunks.toml:4")),
        "{errs:#?}"
    );
}
