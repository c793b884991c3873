//! Issue 11 item 1: SIP over TLS (RFC 3261 §26, RFC 5630) with real
//! peers. Two baresip 1.0.0 phones register over TLS to the internal
//! profile's TLS listener (trusting the configured certificate), one calls
//! the other: the switch reaches the callee over the callee's own TLS
//! connection (connection reuse, like TCP), both see the call up and down,
//! and the CDR is written. A plain TCP client on the TLS port gets no SIP.
//! A client without a certificate is refused by a profile with
//! `tls_client_ca` (mutual TLS, for trunks); one presenting a certificate
//! the CA signed is served.
//!
//! SIPp over TLS (`-t l1`) cannot be used: Debian's sip-tester 3.6.1 is
//! built without OpenSSL ("To use a TLS transport you must compile SIPp
//! with OpenSSL"), and CI installs only Debian's packages.

mod common;

use common::baresip::{Account, Baresip};
use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// A self-signed certificate for 127.0.0.1 and localhost written to `dir`
/// as `sip.pem` / `sip.key`; its PEM.
fn write_cert(dir: &Path) -> String {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("cert");
    std::fs::write(dir.join("sip.pem"), ck.cert.pem()).expect("cert");
    std::fs::write(dir.join("sip.key"), ck.signing_key.serialize_pem()).expect("key");
    ck.cert.pem()
}

/// The default config with TLS on the internal profile at a free port.
fn tls_config(extra: &str) -> (ConfigDir, SocketAddr) {
    let cfg = ConfigDir::from_default();
    write_cert(cfg.path());
    let tls = SocketAddr::from(([127, 0, 0, 1], free_port()));
    cfg.patch(
        "internal.toml",
        "transports = [\"udp\", \"tcp\"]",
        &format!(
            "transports = [\"udp\", \"tcp\", \"tls\"]\ntls_listen = [\"{tls}\"]\n\
             tls_certificate = \"sip.pem\"\ntls_key = \"sip.key\"\n{extra}"
        ),
    );
    (cfg, tls)
}

#[test]
fn baresip_phones_register_and_call_over_tls() {
    let (cfg, tls) = tls_config("");
    let sw = Switch::builder().config(cfg.path()).start();
    let ca = cfg.path().join("sip.pem");
    let mut a = Baresip::start_tls(&ca);
    a.add_account(Account::demo(1003, sw.internal_addr()).tls(tls));
    if let Err(e) = a.wait_registered(T) {
        panic!("1003 registers over TLS: {e}\n==== switch ====\n{}", sw.log());
    }
    let mut b = Baresip::start_tls(&ca);
    b.add_account(Account::demo(1004, sw.internal_addr()).tls(tls));
    if let Err(e) = b.wait_registered(T) {
        panic!("1004 registers over TLS: {e}\n==== switch ====\n{}", sw.log());
    }
    a.dial("1004");
    a.expect_event("CALL_ESTABLISHED", T);
    b.expect_event("CALL_ESTABLISHED", T);
    a.hangup();
    b.expect_event("CALL_CLOSED", T);
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(
        (cdrs[0]["caller"].as_str(), cdrs[0]["callee"].as_str()),
        (Some("1003"), Some("1004"))
    );
    assert_eq!(cdrs[0]["end_cause"], "caller_hangup");
    // 1004 registered only over TLS, from an ephemeral client port: the
    // INVITE reached it over that connection or the call could not be up.
    assert!(sw.log().contains("listening on tls"), "{}", sw.log());

    // Plain SIP over TCP to the TLS port: the handshake fails, no SIP answer.
    let mut plain = TcpStream::connect(tls).expect("connect");
    plain.set_read_timeout(Some(Duration::from_secs(12))).expect("timeout");
    let options = options_request(tls, plain.local_addr().expect("addr"), 1).replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    plain.write_all(options.as_bytes()).expect("write");
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(!got.starts_with(b"SIP/2.0"), "answered plain SIP on the TLS port");
}

/// A TLS client connection to `tls` trusting `ca_pem`, presenting
/// `client` (certificate PEM, key PEM) when given; the OPTIONS answer, or
/// the error.
fn options_over_tls(tls: SocketAddr, ca_pem: &str, client: Option<(&str, &str)>) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("pem")).expect("root");
    }
    let builder = rustls::ClientConfig::builder_with_provider(switchboard::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let cfg = match client {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<_, _>>()
                .expect("chain");
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
            builder.with_client_auth_cert(chain, key).expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), ServerName::try_from("127.0.0.1").expect("name")).expect("client");
    let tcp = TcpStream::connect(tls).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let local = tcp.local_addr().expect("addr");
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let options = options_request(tls, local, 7).replace("SIP/2.0/UDP", "SIP/2.0/TLS");
    s.write_all(options.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn mutual_tls_serves_only_clients_with_a_certificate_of_the_ca() {
    // A CA and a trunk's client certificate it signs.
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let trunk_key = rcgen::KeyPair::generate().expect("trunk key");
    let trunk = rcgen::CertificateParams::new(vec!["carrier.example".to_string()])
        .expect("params")
        .signed_by(&trunk_key, &issuer)
        .expect("trunk cert");

    let (cfg, tls) = tls_config("tls_client_ca = \"trunks-ca.pem\"\n");
    std::fs::write(cfg.path().join("trunks-ca.pem"), ca.pem()).expect("ca file");
    let sw = Switch::builder().config(cfg.path()).start();
    let server_pem = std::fs::read_to_string(cfg.path().join("sip.pem")).expect("server pem");

    let answer = options_over_tls(tls, &server_pem, Some((&trunk.pem(), &trunk_key.serialize_pem())));
    let answer = answer.expect("a client with the CA's certificate is served");
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    let refused = options_over_tls(tls, &server_pem, None);
    assert!(
        refused.as_ref().map_or(true, |a| !a.starts_with("SIP/2.0")),
        "a client without a certificate got SIP: {refused:?}"
    );
    assert!(sw.log().contains("mutual=true"), "{}", sw.log());
}
