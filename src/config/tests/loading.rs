//! Loading the embedded default and load-test configurations.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::config::defaults::LOADTEST;

// ---------------------------------------------------------------- defaults

#[test]
fn embedded_default_loads() {
    let c = load_embedded().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.profiles().len(), 2);
    let internal = c.profile("internal").unwrap();
    assert_eq!(internal.listen, vec!["127.0.0.1:5060".parse::<SocketAddr>().unwrap()]);
    assert_eq!(internal.transports, vec![Transport::Udp, Transport::Tcp]);
    assert_eq!(
        internal.auth,
        AuthPolicy::Digest {
            realm: "switchboard.local".into()
        }
    );
    assert_eq!(internal.context, "internal");
    let external = c.profile("external").unwrap();
    assert_eq!(external.auth, AuthPolicy::TrustedTrunks);
    assert_eq!(external.listen[0].port(), 5080);

    assert_eq!(c.users().len(), 10);
    for i in 0..10 {
        let ext = format!("100{i}");
        let u = c.user(&ext).unwrap();
        assert_eq!(u.password.expose(), format!("demo-{ext}"));
    }
    assert_eq!(c.user("1000").unwrap().no_answer_timeout, Some(Duration::from_secs(20)));
    assert!(c.user("1010").is_none());

    let t = c.trunk("demo").unwrap();
    assert_eq!(t.address, "127.0.0.1:5090".parse::<SocketAddr>().unwrap());
    assert_eq!(t.profile, "external");
    assert!(!t.register);
    assert_eq!(c.trunk_for_source("127.0.0.1".parse().unwrap()).unwrap().name, "demo");
    assert!(c.trunk_for_source("192.0.2.1".parse().unwrap()).is_none());

    assert_eq!(c.sip().t1, Duration::from_millis(500));
    assert_eq!(c.sip().t2, Duration::from_secs(4));
    assert_eq!(c.sip().max_message_bytes, 65536);
    assert_eq!(c.sip().limits().max_headers, 256);
    assert_eq!(c.media().rtp_ports, PortRange::new(16384, 32767).unwrap());
    assert_eq!(c.registrar().min_expires, 60);
    assert_eq!(c.registrar().default_expires, 3600);
    assert_eq!(c.security().nonce_ttl, Duration::from_secs(300));
    assert_eq!(c.security().auth_failures_per_user, 5);
    assert_eq!(c.security().auth_failures_per_source, 100);
    assert_eq!(c.security().auth_tarpit_max, Duration::from_secs(60));
    assert_eq!(
        c.store().path_in(std::path::Path::new("/var/lib/sb")),
        std::path::PathBuf::from("/var/lib/sb/switchboard.sqlite")
    );
    assert!(c.cdr().jsonl.is_some());
    assert_eq!(
        c.profile_for_local("127.0.0.1:5080".parse().unwrap()).unwrap().name,
        "external"
    );
    // Loopback only, so the demo passwords and tokens are acceptable.
    let demo = c.demo_passwords_in_use();
    assert_eq!(demo.len(), 14, "{demo:?}");
    assert_eq!(
        demo[10..],
        ["agent alice", "agent bob", "agent carol", "supervisor sam"].map(String::from)
    );
    assert!(c.check_bind_safety().is_ok());
}

#[test]
fn embedded_dial_plan_routes_as_documented() {
    let c = load_embedded().unwrap();
    let dp = c.dialplan();
    let r = dp.route("internal", "1003").unwrap();
    assert_eq!(r.action, Action::User { user: None });
    assert_eq!(r.target, "1003");
    assert_eq!(r.no_answer_timeout, Duration::from_secs(30));
    // User 1000 has its own ring time.
    assert_eq!(
        dp.route("internal", "1000").unwrap().no_answer_timeout,
        Duration::from_secs(20)
    );
    let r = dp.route("internal", "5551234").unwrap();
    assert_eq!(r.action, Action::Trunk { name: "demo".into() });
    assert_eq!((r.target.as_str(), r.rule_index), ("5551234", 6));
    // Meet-me rooms: 70xx open, 7100 with a PIN, from phones and trunks.
    for ctx in ["internal", "external"] {
        assert_eq!(
            dp.route(ctx, "7042").unwrap().action,
            Action::Conference {
                room: None,
                pin: None,
                max_parties: 8
            }
        );
        assert_eq!(
            dp.route(ctx, "7100").unwrap().action,
            Action::Conference {
                room: None,
                pin: Some("2468".into()),
                max_parties: 8
            }
        );
    }
    // The queue numbers come before the outbound rule, in both contexts.
    for ctx in ["internal", "external"] {
        let r = dp.route(ctx, "5000").unwrap();
        assert_eq!(r.action, Action::Queue { name: "support".into() });
        assert_eq!(
            dp.route(ctx, "5001").unwrap().action,
            Action::Queue { name: "sales".into() }
        );
    }
    assert_eq!(dp.route("internal", "12"), None);
    assert_eq!(dp.route("external", "1009").unwrap().target, "1009");
    let r = dp.route("external", "5551234").unwrap();
    assert!(matches!(r.action, Action::Reject { code, .. } if code.as_u16() == 404));
    assert_eq!(dp.route("nowhere", "1000"), None);
}

#[test]
fn loadtest_config_loads_and_relays_everything() {
    let c = load_from_sources(&LOADTEST).unwrap_or_else(|e| panic!("{e}"));
    let ext = c.profile("external").unwrap();
    assert_eq!(ext.listen, vec!["127.0.0.1:5080".parse::<SocketAddr>().unwrap()]);
    assert_eq!(ext.auth, AuthPolicy::TrustedTrunks);
    assert_eq!(c.profile("internal").unwrap().listen[0].port(), 5060);
    let trunk = c.trunk_for_source("127.0.0.1".parse().unwrap()).unwrap();
    assert_eq!(trunk.address, "127.0.0.1:5090".parse::<SocketAddr>().unwrap());
    assert_eq!(trunk.transport, Transport::Udp);
    assert!(trunk.credentials.is_none());
    let ctx = &trunk.inbound.as_ref().unwrap().context;
    for dialled in ["service", "1000", "", "+15551234"] {
        let r = c.dialplan().route(ctx, dialled).unwrap();
        assert_eq!(
            r.action,
            Action::Trunk {
                name: trunk.name.clone()
            }
        );
        assert_eq!(r.target, dialled);
    }
    assert!(c.demo_passwords_in_use().is_empty());
    assert!(c.check_bind_safety().is_ok());
}

#[test]
fn load_dir_reads_the_shipped_directories() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sip-profiles");
    let c = load_dir(&root).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.users().len(), 10);
    let c = load_dir(&root.join("loadtest")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.trunks()[0].name, "sipp-uas");
}

#[test]
fn load_dir_reports_missing_files_with_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("switchboard.toml"), "profiles = [\"p.toml\"]\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let e = load_dir(dir.path()).unwrap_err();
    let shown = e.to_string();
    let d = dir.path().display().to_string();
    assert!(
        shown.contains(&format!("{d}/directory.toml:0:0: required file is missing")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("{d}/switchboard.toml:1:13: profile file `p.toml` is missing")),
        "{shown}"
    );
    assert!(e.0.iter().all(|e| e.kind == ErrorKind::Io));
    assert_eq!(e.len(), 4, "{shown}");
    let missing = load_dir(&dir.path().join("nope")).unwrap_err();
    assert_eq!(missing.0[0].kind, ErrorKind::Io);
}
