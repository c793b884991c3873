//! `[api]` (issue 11 item 5): admin tokens in the clear, from the
//! environment or hashed; TLS files; allowed origins; limits; and the rule
//! that a non-loopback API needs TLS and no demo token.

use super::*;

/// The embedded `switchboard.toml` with its `[api]` table replaced by `api`.
fn with_api(api: &str) -> String {
    let text = EMBEDDED
        .iter()
        .find(|(n, _)| n.ends_with("switchboard.toml"))
        .map(|(_, t)| *t)
        .expect("embedded switchboard.toml");
    let start = text.find("[api]").expect("[api]");
    let end = text.find("[store]").expect("[store]");
    format!("{}{api}\n{}", &text[..start], &text[end..])
}

/// A self-signed pair written to a temp dir: (dir, cert path, key path).
fn pem_pair() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let cert = dir.path().join("api.pem");
    let key = dir.path().join("api.key");
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    (dir, cert.display().to_string(), key.display().to_string())
}

/// The 1-based line of the first line of `text` starting with `start`.
fn line_of(text: &str, start: &str) -> usize {
    text.lines().position(|l| l.starts_with(start)).expect("line") + 1
}

#[test]
fn admin_tokens_come_in_the_clear_from_the_environment_or_hashed() {
    let hashed = hashed_text("ops-dashboard-token-42");
    let api = format!("[api]\nadmin_tokens = [\"a-long-enough-admin\", \"env:SB_ADMIN\", \"{hashed}\"]\n");
    let c = load_env(
        &[("switchboard.toml", Some(&with_api(&api)))],
        &[("SB_ADMIN", "from-the-environment")],
    )
    .unwrap();
    let admins = &c.api().admin_tokens;
    assert_eq!(admins.len(), 3);
    assert!(admins[0].matches("a-long-enough-admin"));
    assert!(admins[1].matches("from-the-environment"));
    assert!(admins[2].matches("ops-dashboard-token-42"));
    assert!(!admins.iter().any(|t| t.matches("env:SB_ADMIN")));
    assert!(!format!("{:?}", c.api()).contains("from-the-environment"));
}

#[test]
fn bad_admin_tokens_are_reported_where_they_are() {
    let api = "[api]\nadmin_tokens = [\"short\"]\n";
    let errs = errors(&[("switchboard.toml", Some(&with_api(api)))]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert!(
        shown
            .iter()
            .any(|e| e.contains("switchboard.toml:") && e.contains("token has 5 characters")),
        "{shown:#?}"
    );
    let api = "[api]\nadmin_tokens = [\"sha256:1234\"]\n";
    let errs = errors(&[("switchboard.toml", Some(&with_api(api)))]);
    assert!(
        errs.iter().any(|e| e.to_string().contains("64 hex digits")),
        "{errs:#?}"
    );
    let api = "[api]\nadmin_tokens = [\"a-long-enough-admin\", \"a-long-enough-admin\"]\n";
    let errs = errors(&[("switchboard.toml", Some(&with_api(api)))]);
    assert!(errs.iter().any(|e| e.kind == ErrorKind::Duplicate), "{errs:#?}");
}

#[test]
fn tls_files_are_checked_at_load() {
    let (_dir, cert, key) = pem_pair();
    let api = format!("[api]\ntls_certificate = \"{cert}\"\ntls_key = \"{key}\"\n");
    let c = load(&[("switchboard.toml", Some(&with_api(&api)))]).unwrap();
    assert!(c.api().tls.is_some());

    let api = format!("[api]\ntls_certificate = \"{cert}\"\n");
    let errs = errors(&[("switchboard.toml", Some(&with_api(&api)))]);
    assert!(errs.iter().any(|e| e.to_string().contains("go together")), "{errs:#?}");

    let api = format!("[api]\ntls_certificate = \"{cert}\"\ntls_key = \"{cert}\"\n");
    let errs = errors(&[("switchboard.toml", Some(&with_api(&api)))]);
    let e = errs
        .iter()
        .find(|e| e.to_string().contains("private key"))
        .expect("key error");
    let text = with_api(&api);
    assert_eq!(
        (e.line, e.column),
        (line_of(&text, "tls_key ="), 11),
        "reported at the tls_key value: {e}"
    );
}

#[test]
fn origins_and_limits_are_validated() {
    let api = "[api]\nallowed_origins = [\"https://Desk.example.com/\"]\nmax_requests_per_second = 5\nmax_streams_per_token = 2\nmax_connections = 10\n";
    let c = load(&[("switchboard.toml", Some(with_api(api).as_str()))]).unwrap();
    assert_eq!(c.api().allowed_origins, vec!["https://desk.example.com".to_string()]);
    assert_eq!(
        (
            c.api().max_requests_per_second,
            c.api().max_streams_per_token,
            c.api().max_connections
        ),
        (5, 2, 10)
    );
    let api = "[api]\nallowed_origins = [\"desk.example.com\"]\nmax_connections = 0\n";
    let errs = errors(&[("switchboard.toml", Some(with_api(api).as_str()))]);
    assert!(
        errs.iter().any(|e| e.to_string().contains("must start with http")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.to_string().contains("max_connections must be within")),
        "{errs:#?}"
    );
}

#[test]
fn a_non_loopback_api_needs_tls_and_no_demo_tokens() {
    // Plain HTTP on a public address: refused at the listen line.
    let api = "[api]\nlisten = \"0.0.0.0:8088\"\nadmin_tokens = [\"a-long-enough-admin\"]\n";
    let acd = ("acd.toml", Some(ACD_NO_AGENTS));
    let c = load(&[("switchboard.toml", Some(&with_api(api))), acd]).unwrap();
    let e = c.check_bind_safety().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsafe);
    assert!(e.to_string().contains("without TLS"), "{e}");
    assert_eq!((e.line, e.column), (line_of(&with_api(api), "listen ="), 10), "{e}");

    // TLS, but the demo admin token: refused, naming it.
    let (_dir, cert, key) = pem_pair();
    let api = format!(
        "[api]\nlisten = \"0.0.0.0:8088\"\nadmin_tokens = [\"demo-token-admin\"]\ntls_certificate = \"{cert}\"\ntls_key = \"{key}\"\n"
    );
    let c = load(&[("switchboard.toml", Some(&with_api(&api))), acd]).unwrap();
    let e = c.check_bind_safety().unwrap_err();
    assert!(e.to_string().contains("an admin token of [api]"), "{e}");

    // TLS, but the demo agents' tokens of the default acd.toml: refused.
    let api = format!(
        "[api]\nlisten = \"0.0.0.0:8088\"\nadmin_tokens = [\"a-long-enough-admin\"]\ntls_certificate = \"{cert}\"\ntls_key = \"{key}\"\n"
    );
    let c = load(&[("switchboard.toml", Some(&with_api(&api)))]).unwrap();
    let e = c.check_bind_safety().unwrap_err();
    assert!(e.to_string().contains("agent alice"), "{e}");

    // TLS and real tokens everywhere: allowed.
    let dir = "[[user]]\nextension = \"1000\"\npassword = \"correct horse\"\n";
    let c = load(&[
        ("switchboard.toml", Some(&with_api(&api))),
        ("directory.toml", Some(dir)),
        acd,
    ])
    .unwrap();
    assert!(c.check_bind_safety().is_ok());

    // The command-line override is checked the same way.
    let mut c = load_embedded().unwrap();
    c.override_api_listen("192.0.2.7:8088".parse().unwrap()).unwrap();
    let e = c.check_bind_safety().unwrap_err();
    assert!(e.to_string().starts_with("--api-listen:0:0:"), "{e}");
}
