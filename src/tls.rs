//! TLS with rustls (ring provider), shared by the HTTP API (issue 11 item
//! 5) and SIP over TLS (item 1, RFC 3261 §26): PEM certificate chains and
//! keys read from files, a certificate that can be replaced while the
//! server runs (SIGHUP reload, [`CertSlot`]), server configurations limited
//! to TLS 1.2 and 1.3, and a self-signed certificate for loopback demos.
//!
//! A reload that fails keeps the running certificate: a half-written file
//! never takes the listener down.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Why a certificate or key could not be used; the message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file is unreadable or holds no PEM certificate.
    #[error("certificate {path}: {reason}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key file is unreadable, holds no PEM private key, or the key is
    /// not the certificate's.
    #[error("private key {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The self-signed demo certificate could not be made.
    #[error("self-signed certificate: {0}")]
    SelfSigned(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Where a server's certificate chain and key are (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub certificate: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The crypto provider every TLS context of the switch uses: ring, which
/// builds with the C compiler alone (aws-lc-rs, rustls' default, needs
/// cmake and adds minutes to every clean build). rustls 0.23.48 deprecates
/// it for lacking post-quantum key exchange (X25519MLKEM768); switching is
/// one line here when that matters more than build time.
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the chain and key of `files` and checks that they belong together.
pub fn load_certified_key(files: &TlsFiles) -> Result<Arc<CertifiedKey>, TlsError> {
    let cert_err = |reason: String| TlsError::Certificate {
        path: files.certificate.clone(),
        reason,
    };
    let key_err = |reason: String| TlsError::Key {
        path: files.key.clone(),
        reason,
    };
    let pem = std::fs::read(&files.certificate).map_err(|e| cert_err(e.to_string()))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(format!("not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(cert_err("holds no `BEGIN CERTIFICATE` block".into()));
    }
    let pem = std::fs::read(&files.key).map_err(|e| key_err(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| key_err(format!("no PEM private key: {e}")))?;
    certified_key(chain, key).map_err(key_err)
}

fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, String> {
    CertifiedKey::from_der(chain, key, &provider())
        .map(Arc::new)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => "the key does not belong to the certificate".to_string(),
            other => other.to_string(),
        })
}

/// The CA certificates of the PEM file `path` (for verifying peers'
/// certificates: trunks' client certificates, mutual TLS).
pub fn load_roots(path: &Path) -> Result<Arc<rustls::RootCertStore>, TlsError> {
    let err = |reason: String| TlsError::Certificate {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| err(format!("not PEM: {e}")))?;
        roots.add(cert).map_err(|e| err(format!("not a CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(err("holds no `BEGIN CERTIFICATE` block".into()));
    }
    Ok(Arc::new(roots))
}

/// A self-signed certificate for `names` (DNS names or IP addresses), made
/// at start-up for loopback demos only; returns the key and the
/// certificate's PEM (for clients to trust).
pub fn self_signed(names: &[&str]) -> Result<(Arc<CertifiedKey>, String), TlsError> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let pem = ck.cert.pem();
    let key =
        PrivateKeyDer::try_from(ck.signing_key.serialize_der()).map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let key = certified_key(vec![ck.cert.der().clone()], key).map_err(TlsError::SelfSigned)?;
    Ok((key, pem))
}

/// The certificate a server presents, replaceable while it runs (SIGHUP):
/// handshakes started after [`CertSlot::replace`] get the new one.
#[derive(Debug)]
pub struct CertSlot(RwLock<Arc<CertifiedKey>>);

impl CertSlot {
    /// A slot holding `key`.
    pub fn new(key: Arc<CertifiedKey>) -> Arc<Self> {
        Arc::new(Self(RwLock::new(key)))
    }

    /// The certificate now presented.
    pub fn current(&self) -> Arc<CertifiedKey> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Presents `key` from now on.
    pub fn replace(&self, key: Arc<CertifiedKey>) {
        match self.0.write() {
            Ok(mut g) => *g = key,
            Err(poisoned) => *poisoned.into_inner() = key,
        }
    }

    /// Re-reads `files`; on error the running certificate stays.
    pub fn reload(&self, files: &TlsFiles) -> Result<(), TlsError> {
        self.replace(load_certified_key(files)?);
        Ok(())
    }
}

impl rustls::client::ResolvesClientCert for CertSlot {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A client configuration for connecting to a TLS peer (a trunk): its
/// certificate must chain to `roots`; the switch presents `slot`'s
/// certificate when asked (mutual TLS). TLS 1.2 and 1.3.
pub fn client_config(
    roots: Arc<rustls::RootCertStore>,
    slot: Arc<CertSlot>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_cert_resolver(slot);
    Ok(Arc::new(cfg))
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// A server configuration presenting `slot`'s certificate, TLS 1.2 and 1.3
/// only, advertising `alpn` (e.g. `http/1.1`), no client certificates.
pub fn server_config(slot: Arc<CertSlot>, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, TlsError> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(slot);
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

/// A server configuration for SIP over TLS (RFC 3261 §26, RFC 5630):
/// `slot`'s certificate, TLS 1.2 and 1.3, and, with `client_roots`,
/// mutual TLS: every client must present a certificate those CAs signed.
pub fn sip_server_config(
    slot: Arc<CertSlot>,
    client_roots: Option<Arc<rustls::RootCertStore>>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let cfg = match client_roots {
        Some(roots) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier).with_cert_resolver(slot)
        }
        None => builder.with_no_client_auth().with_cert_resolver(slot),
    };
    Ok(Arc::new(cfg))
}

/// `path` resolved against `base` when relative.
pub fn resolve(base: Option<&Path>, path: &str) -> PathBuf {
    let p = Path::new(path);
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn a_pem_pair_loads_and_a_mismatched_key_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert a");
        let b = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert b");
        let files = TlsFiles {
            certificate: write(dir.path(), "a.pem", &a.cert.pem()),
            key: write(dir.path(), "a.key", &a.signing_key.serialize_pem()),
        };
        load_certified_key(&files).expect("matching pair");
        let mixed = TlsFiles {
            certificate: files.certificate.clone(),
            key: write(dir.path(), "b.key", &b.signing_key.serialize_pem()),
        };
        let e = load_certified_key(&mixed).expect_err("mismatch").to_string();
        assert!(e.contains("b.key") && e.contains("does not belong"), "{e}");
    }

    #[test]
    fn unreadable_and_empty_files_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = TlsFiles {
            certificate: write(dir.path(), "empty.pem", "nothing here\n"),
            key: dir.path().join("missing.key"),
        };
        let e = load_certified_key(&files).expect_err("no cert").to_string();
        assert!(e.contains("empty.pem") && e.contains("BEGIN CERTIFICATE"), "{e}");
    }

    #[test]
    fn a_failed_reload_keeps_the_running_certificate() {
        let (key, _) = self_signed(&["127.0.0.1"]).expect("self-signed");
        let slot = CertSlot::new(key.clone());
        let bad = TlsFiles {
            certificate: PathBuf::from("/nonexistent/cert.pem"),
            key: PathBuf::from("/nonexistent/key.pem"),
        };
        assert!(slot.reload(&bad).is_err());
        assert!(Arc::ptr_eq(&slot.current(), &key));
    }
}
