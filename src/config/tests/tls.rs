//! SIP over TLS settings of a profile (issue 11 item 1): `tls` in
//! `transports` and `tls_listen` go together; certificate files are checked
//! at load; without them only loopback may use the self-signed demo
//! certificate; `tls_client_ca` must hold CA certificates.

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
fn tls_transport_and_tls_listen_go_together() {
    let p = profile("transports = [\"udp\", \"tls\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:6:14",
        ErrorKind::Schema,
        "set tls_listen too",
    );
    let p = profile("tls_listen = [\"127.0.0.1:5061\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:6:15",
        ErrorKind::Schema,
        "tls_listen needs \"tls\" in transports",
    );
}

#[test]
fn loopback_tls_without_files_uses_the_demo_certificate_elsewhere_it_is_refused() {
    let p = profile("transports = [\"udp\", \"tls\"]\ntls_listen = [\"127.0.0.1:5061\"]\n");
    let c = load(&[("internal.toml", Some(&p))]).unwrap();
    let tls = c.profile("internal").unwrap().tls.clone().expect("tls");
    assert_eq!(
        tls.listen,
        vec!["127.0.0.1:5061".parse::<std::net::SocketAddr>().unwrap()]
    );
    assert!(tls.files.is_none());
    let p = profile("transports = [\"udp\", \"tls\"]\ntls_listen = [\"0.0.0.0:5061\"]\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:7:15",
        ErrorKind::Unsafe,
        "needs tls_certificate and tls_key",
    );
}

#[test]
fn certificate_key_and_client_ca_files_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = pem_pair(dir.path());
    let good = profile(&format!(
        "transports = [\"tls\"]\ntls_listen = [\"0.0.0.0:5061\"]\ntls_certificate = \"{cert}\"\ntls_key = \"{key}\"\ntls_client_ca = \"{cert}\"\n"
    ));
    let c = load(&[("internal.toml", Some(&good))]).unwrap();
    let tls = c.profile("internal").unwrap().tls.clone().expect("tls");
    assert!(tls.files.is_some() && tls.client_ca.is_some());
    let missing_ca = good.replace(
        &format!("tls_client_ca = \"{cert}\""),
        "tls_client_ca = \"/nonexistent/ca.pem\"",
    );
    let errs = errors(&[("internal.toml", Some(&missing_ca))]);
    assert!(
        errs.iter().any(|e| e.to_string().contains("/nonexistent/ca.pem")),
        "{errs:#?}"
    );
    let swapped = good.replace(&format!("tls_key = \"{key}\""), &format!("tls_key = \"{cert}\""));
    let errs = errors(&[("internal.toml", Some(&swapped))]);
    assert!(errs.iter().any(|e| e.to_string().contains("private key")), "{errs:#?}");
}

#[test]
fn a_tls_trunk_needs_its_ca_and_tls_settings_need_the_tls_transport() {
    let t = "[[trunk]]\nname = \"demo\"\naddress = \"127.0.0.1:5090\"\ntransport = \"tls\"\n";
    let errs = errors(&[("trunks.toml", Some(t))]);
    assert!(errs.iter().any(|e| e.to_string().contains("needs tls_ca")), "{errs:#?}");
    // With its CA but on a profile without TLS: named in the error.
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, _) = pem_pair(dir.path());
    let t =
        format!("[[trunk]]\nname = \"demo\"\naddress = \"127.0.0.1:5090\"\ntransport = \"tls\"\ntls_ca = \"{cert}\"\n");
    let errs = errors(&[("trunks.toml", Some(&t))]);
    assert!(
        errs.iter()
            .any(|e| e.to_string().contains("profile `external` has no \"tls\"")),
        "{errs:#?}"
    );
    let t = "[[trunk]]\nname = \"demo\"\naddress = \"127.0.0.1:5090\"\ntls_ca = \"ca.pem\"\n";
    one_error(
        &[("trunks.toml", Some(t))],
        "trunks.toml:4:10",
        ErrorKind::Schema,
        "need transport = \"tls\"",
    );
}

/// SRTP per profile (issue 11 item 2): `srtp = "off" | "optional" |
/// "mandatory"`, `off` when absent; any other value is an error at its
/// file:line:col.
#[test]
fn srtp_policy_per_profile() {
    use crate::sdp::SrtpPolicy;
    let c = load(&[("internal.toml", Some(&profile("")))]).unwrap();
    assert_eq!(c.profile("internal").unwrap().srtp, SrtpPolicy::Off);
    for (text, want) in [
        ("off", SrtpPolicy::Off),
        ("optional", SrtpPolicy::Optional),
        ("mandatory", SrtpPolicy::Mandatory),
    ] {
        let p = profile(&format!("srtp = \"{text}\"\n"));
        let c = load(&[("internal.toml", Some(&p))]).unwrap();
        assert_eq!(c.profile("internal").unwrap().srtp, want);
        assert_eq!(want.as_str(), text);
    }
    let p = profile("srtp = \"required\"\n");
    one_error(
        &[("internal.toml", Some(&p))],
        "internal.toml:6:8",
        ErrorKind::Schema,
        "unknown variant `required`",
    );
}
