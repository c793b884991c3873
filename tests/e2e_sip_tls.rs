//! Issue 11 item 1: SIP over TLS (RFC 3261 §26, RFC 5630) with real
//! peers. Two baresip 1.0.0 phones register over TLS to the internal
//! profile's TLS listener (trusting the configured certificate), one calls
//! the other: the switch reaches the callee over the callee's own TLS
//! connection (connection reuse, like TCP), both see the call up and down,
//! and the CDR is written. A plain TCP client on the TLS port gets no SIP.
//! The certificate is re-read on SIGHUP. A `sips:` INVITE over UDP gets 416.
//! A call to a `transport = "tls"` trunk opens a verified mutual-TLS
//! connection.
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

/// Turns TLS on in `profile_file` of `cfg` at a free port, with the
/// `sip.pem`/`sip.key` pair and `extra` settings; the TLS address.
fn enable_tls(cfg: &ConfigDir, profile_file: &str, extra: &str) -> SocketAddr {
    let tls = SocketAddr::from(([127, 0, 0, 1], free_port()));
    cfg.patch(
        profile_file,
        "transports = [\"udp\", \"tcp\"]",
        &format!(
            "transports = [\"udp\", \"tcp\", \"tls\"]\ntls_listen = [\"{tls}\"]\n\
             tls_certificate = \"sip.pem\"\ntls_key = \"sip.key\"\n{extra}"
        ),
    );
    tls
}

/// The default config with TLS on the internal profile at a free port.
fn tls_config(extra: &str) -> (ConfigDir, SocketAddr) {
    let cfg = ConfigDir::from_default();
    write_cert(cfg.path());
    let tls = enable_tls(&cfg, "internal.toml", extra);
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
    a.call_and_hang_up(&b, "1004", T);
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

/// One SIP message read from `s` (head and Content-Length body), or None at
/// the end of the stream.
fn read_message(s: &mut impl Read, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length:").or_else(|| l.strip_prefix("l:")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let msg = String::from_utf8_lossy(&buf[..end + 4 + len]).into_owned();
                buf.drain(..end + 4 + len);
                return Some(msg);
            }
        }
        let mut chunk = [0u8; 4096];
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// `486 Busy Here` to `req` (Via, From, To with a tag, Call-ID, CSeq).
fn busy_to(req: &str) -> String {
    let mut out = String::from("SIP/2.0 486 Busy Here\r\n");
    for l in req.lines() {
        let name = l.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        match name.as_str() {
            "via" | "v" | "from" | "f" | "call-id" | "i" | "cseq" => out.push_str(&format!("{l}\r\n")),
            "to" | "t" => out.push_str(&format!("{l};tag=carrier1\r\n")),
            _ => {}
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// A call from phone 1001 to an outside number goes to the `demo` trunk
/// configured `transport = "tls"` with `tls_ca`: the switch opens a TLS
/// connection to the carrier, verifies the carrier's certificate against
/// that CA, presents its own profile certificate (the carrier demands
/// one: mutual TLS), sends the INVITE with a TLS Via and Contact
/// `;transport=tls`, and relays the carrier's 486 to the phone.
#[test]
fn calls_to_a_tls_trunk_open_a_verified_mutual_tls_connection() {
    let cfg = ConfigDir::from_default();
    let switch_pem = write_cert(cfg.path());
    let carrier = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("carrier cert");
    std::fs::write(cfg.path().join("carrier.pem"), carrier.cert.pem()).expect("carrier pem");
    let carrier_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let switch_tls = enable_tls(&cfg, "external.toml", "");
    cfg.patch(
        "trunks.toml",
        "address = \"127.0.0.1:5090\"",
        &format!("address = \"{carrier_addr}\""),
    );
    cfg.patch(
        "trunks.toml",
        "transport = \"udp\"",
        "transport = \"tls\"\ntls_ca = \"carrier.pem\"",
    );

    // The carrier: TLS with its certificate, demanding the switch's.
    let mut client_roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(switch_pem.as_bytes()) {
        client_roots.add(c.expect("pem")).expect("root");
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(client_roots),
        switchboard::tls::provider(),
    )
    .build()
    .expect("verifier");
    let key = PrivateKeyDer::from_pem_slice(carrier.signing_key.serialize_pem().as_bytes()).expect("key");
    let server = rustls::ServerConfig::builder_with_provider(switchboard::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![carrier.cert.der().clone()], key)
        .expect("server config");
    let listener = std::net::TcpListener::bind(carrier_addr).expect("carrier bind");
    let carrier_thread = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("the switch connects");
        tcp.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let conn = rustls::ServerConnection::new(Arc::new(server)).expect("conn");
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let mut buf = Vec::new();
        let invite = read_message(&mut s, &mut buf).expect("an INVITE over TLS");
        let client_cert = s.conn.peer_certificates().map(|c| c.len()).unwrap_or(0);
        s.write_all(busy_to(&invite).as_bytes()).expect("486");
        s.flush().expect("flush");
        let ack = read_message(&mut s, &mut buf);
        (invite, client_cert, ack)
    });

    let sw = Switch::builder().config(cfg.path()).start();
    Sipp::new("uac_call_auth_busy.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("5551234")
        .run(T)
        .assert_success();
    let (invite, client_cert, ack) = carrier_thread.join().expect("carrier");
    assert!(invite.starts_with("INVITE sip:5551234@"), "{invite}");
    assert!(invite.contains(&format!("Via: SIP/2.0/TLS {switch_tls}")), "{invite}");
    assert!(invite.contains(";transport=tls>"), "Contact over TLS: {invite}");
    assert_eq!(client_cert, 1, "the switch presented its certificate");
    assert!(
        ack.is_some_and(|a| a.starts_with("ACK ")),
        "the 486 is ACKed over the same connection"
    );
}

/// RFC 3261 §26.2.2: an INVITE for a `sips:` URI that arrives over plain
/// UDP is refused with `416` before anything else (no challenge).
#[test]
fn a_sips_request_over_a_plain_transport_is_refused_with_416() {
    let sw = Switch::start();
    let to = sw.internal_addr();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let from = sock.local_addr().expect("addr");
    let invite = format!(
        "INVITE sips:1002@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK-sips1;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@{to}>;tag=s1\r\nTo: <sips:1002@{to}>\r\n\
         Call-ID: sips-over-udp\r\nCSeq: 1 INVITE\r\nContact: <sip:1001@{from}>\r\nContent-Length: 0\r\n\r\n"
    );
    let answer = sip_udp_exchange(to, &invite, T).expect("an answer");
    assert!(answer.starts_with("SIP/2.0 416 SIPS Needs TLS\r\n"), "{answer}");
}

/// The SIP certificate is re-read on SIGHUP: after the files are replaced
/// and the switch reloaded, new TLS connections get the new certificate (a
/// client trusting only the new one is served).
#[test]
fn the_sip_certificate_is_reloaded_on_sighup() {
    let (cfg, tls) = tls_config("");
    let sw = Switch::builder().config(cfg.path()).start();
    let first = std::fs::read_to_string(cfg.path().join("sip.pem")).expect("pem");
    let answer = options_over_tls(tls, &first, None).expect("served with the first certificate");
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    let second = write_cert(cfg.path());
    assert_ne!(first, second);
    sw.reload();
    assert!(sw.wait_for_log("SIP TLS certificate reloaded", T), "{}", sw.log());
    let answer = options_over_tls(tls, &second, None).expect("served with the new certificate");
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(
        options_over_tls(tls, &first, None).is_err(),
        "the old certificate is no longer presented"
    );
}

/// RFC 5630 §3.1.3 for queues: a `sips:` caller is offered only to agents
/// whose phone is registered over TLS. alice's phone is on UDP: with her
/// alone logged in, the call is not rung on her phone (the log says why);
/// once bob, whose phone is on TLS, logs in, his phone rings and answers.
/// The caller is our test UA over TLS (libre 1.0 cannot dial `sips:`:
/// "sipsess_connect: Function not implemented").
#[test]
fn a_sips_queue_call_rings_only_agents_on_tls() {
    let (cfg, tls) = tls_config("");
    let sw = Switch::builder().config(cfg.path()).start();
    let ca = cfg.path().join("sip.pem");
    let ca_pem = std::fs::read_to_string(&ca).expect("the certificate");
    let api = sw.api_addr();
    let mut alice_phone = Baresip::start();
    alice_phone.add_account(Account::demo(1001, sw.internal_addr()));
    let mut bob_phone = Baresip::start_tls(&ca);
    bob_phone.add_account(Account::demo(1002, sw.internal_addr()).tls(tls));
    for (who, b) in [("1001", &alice_phone), ("1002", &bob_phone)] {
        if let Err(e) = b.wait_registered(T) {
            panic!("{who} registers: {e}\n==== switch ====\n{}", sw.log());
        }
    }
    desk::Desk::new(api, "demo-token-alice").ok("POST", "/agent/login", None);

    let mut caller = common::ua::Ua::tls(tls, &ca_pem);
    let mut invite = caller.request(
        switchboard::sip::msg::Method::INVITE,
        &format!("sips:5000@{tls}"),
        "1003",
        "5000",
    );
    invite
        .headers
        .push(switchboard::sip::msg::HeaderName::ContentType, "application/sdp");
    invite.body = common::media::AudioSdp::pcmu()
        .body("caller", 1, 40000, "sendrecv")
        .into();
    let invite = common::media::authorized_invite_as(&mut caller, &invite, "1003", "demo-1003");
    caller.send(&invite);

    assert!(
        wait_until(T, || sw.log().contains("the agent's phone is not on TLS")),
        "alice was offered the sips: call without ringing her UDP phone:\n{}",
        sw.log()
    );
    // An auto-answering baresip reports an INVITE with CALL_REMOTE_SDP.
    assert!(
        alice_phone
            .wait_event("CALL_REMOTE_SDP", Duration::from_secs(2))
            .is_none(),
        "a phone on UDP got a sips: call"
    );
    desk::Desk::new(api, "demo-token-bob-0").ok("POST", "/agent/login", None);
    let ok = common::media::next_final(&mut caller);
    assert_eq!(common::ua::code(&ok), 200, "{}", common::ua::text(&ok));
    common::media::ack_2xx(&mut caller, &invite, &ok);
    assert!(
        bob_phone.wait_event("CALL_ESTABLISHED", T).is_some(),
        "bob's TLS phone rings and answers\n{}",
        sw.log()
    );
    assert!(alice_phone
        .wait_event("CALL_REMOTE_SDP", Duration::from_millis(500))
        .is_none());
}
