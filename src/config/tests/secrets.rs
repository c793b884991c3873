//! `env:` secrets, the demo-password bind-safety rule, CLI overrides, trunk lookup by source.

use std::net::{IpAddr, SocketAddr};

use super::*;

// ------------------------------------------------------------------ secrets

#[test]
fn env_secrets_are_resolved_or_reported() {
    let dir = "[[user]]\nextension = \"1000\"\npassword = \"env:SB_TEST_PW_1000\"\n";
    let acd = ("acd.toml", Some(ACD_NO_AGENTS));
    let c = load_env(&[("directory.toml", Some(dir)), acd], &[("SB_TEST_PW_1000", "s3cret")]).unwrap();
    assert_eq!(c.user("1000").unwrap().password.expose(), "s3cret");
    assert!(!format!("{:?}", c.user("1000").unwrap()).contains("s3cret"));
    assert!(c.demo_passwords_in_use().is_empty());
    one_error(
        &[("directory.toml", Some(dir)), acd],
        "directory.toml:3:12",
        ErrorKind::UnknownReference,
        "environment variable `SB_TEST_PW_1000` is not set",
    );
    let t = format!("{TRUNKS}username = \"sb\"\npassword = \"env:SB_TRUNK_PW\"\n");
    let c = load_env(&[("trunks.toml", Some(&t))], &[("SB_TRUNK_PW", "tp")]).unwrap();
    let cred = c.trunk("demo").unwrap().credentials.as_ref().unwrap();
    assert_eq!((cred.username.as_str(), cred.password.expose()), ("sb", "tp"));
}

// ------------------------------------------------------- bind safety, CLI

#[test]
fn demo_passwords_block_non_loopback_listen() {
    let p = "name = \"internal\"\nlisten = [\"127.0.0.1:5060\", \"0.0.0.0:5070\"]\nauth = \"digest\"\nrealm = \"r\"\ncontext = \"internal\"\n";
    let c = load(&[("internal.toml", Some(p))]).unwrap();
    let e = c.check_bind_safety().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsafe);
    assert!(
        e.to_string()
            .starts_with("sip-profiles/internal.toml:2:29: profile `internal` listens on non-loopback 0.0.0.0:5070"),
        "{e}"
    );

    // Same listen, real passwords and no demo tokens: fine.
    let dir = "[[user]]\nextension = \"1000\"\npassword = \"correct horse\"\n";
    let acd = ("acd.toml", Some(ACD_NO_AGENTS));
    let c = load(&[("internal.toml", Some(p)), ("directory.toml", Some(dir)), acd]).unwrap();
    assert!(c.demo_passwords_in_use().is_empty());
    assert!(c.check_bind_safety().is_ok());

    // An override to a public address trips it too.
    let mut c = load_embedded().unwrap();
    c.override_listen("external", "192.0.2.7:5080".parse().unwrap())
        .unwrap();
    let e = c.check_bind_safety().unwrap_err();
    assert!(e.to_string().starts_with("--listen:0:0: profile `external`"), "{e}");
}

#[test]
fn overrides() {
    let mut c = load_embedded().unwrap();
    let addr: SocketAddr = "127.0.0.1:15060".parse().unwrap();
    c.override_listen("internal", addr).unwrap();
    assert_eq!(c.profile("internal").unwrap().listen, vec![addr]);
    let e = c.override_listen("nope", addr).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownReference);
    let e = c
        .override_listen("internal", "0.0.0.0:5080".parse().unwrap())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Duplicate);
    // Ephemeral ports never clash.
    c.override_listen("internal", "127.0.0.1:0".parse().unwrap()).unwrap();
    c.override_listen("external", "127.0.0.1:0".parse().unwrap()).unwrap();

    c.override_rtp_ports(20000, 20099).unwrap();
    assert_eq!(c.media().rtp_ports.len(), 100);
    assert_eq!(
        c.override_rtp_ports(30000, 20000).unwrap_err().kind,
        ErrorKind::InvalidValue
    );
    assert_eq!(c.media().rtp_ports.lo(), 20000);
}

#[test]
fn trunk_for_source_first_match_and_cidr() {
    let t = r#"[[trunk]]
name = "a"
address = "192.0.2.1:5060"
inbound_from = ["192.0.2.0/24", "2001:db8::/32"]
context = "external"
[[trunk]]
name = "b"
address = "198.51.100.1:5060"
transport = "tcp"
inbound_from = ["192.0.2.9", "198.51.100.0/24"]
context = "external"
[[trunk]]
name = "demo"
address = "127.0.0.1:5090"
"#;
    let c = load(&[("trunks.toml", Some(t))]).unwrap();
    let src = |s: &str| {
        c.trunk_for_source(s.parse::<IpAddr>().unwrap())
            .map(|t| t.name.as_str())
    };
    assert_eq!(src("192.0.2.9"), Some("a"));
    assert_eq!(src("198.51.100.77"), Some("b"));
    assert_eq!(src("2001:db8::5"), Some("a"));
    assert_eq!(src("127.0.0.1"), None);
    assert_eq!(c.trunk("b").unwrap().transport, Transport::Tcp);
    assert!(c.trunk("demo").unwrap().inbound.is_none());
}
