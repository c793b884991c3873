//! The Digest computation itself (RFC 7616 §3.4.1–§3.4.3, RFC 8760 §2):
//! `A1`, `A2`, their hashes and the `response`, for MD5, SHA-256 and
//! SHA-512/256 and their `-sess` variants; plus the small primitives the
//! server needs (hex, HMAC-SHA256 per RFC 2104, constant-time compare).

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

/// A Digest hash algorithm (RFC 7616 §3.3 registry; RFC 8760 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617; the RFC 3261 default when `algorithm` is absent).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 8760 §2.2).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256` (SHA-512/256, RFC 8760 §2.2).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl Algorithm {
    /// Parses an `algorithm` token, case-insensitively (RFC 7616 §3.3).
    pub fn parse(token: &str) -> Option<Algorithm> {
        const ALL: [Algorithm; 6] = [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
            Algorithm::Sha512_256,
            Algorithm::Sha512_256Sess,
        ];
        ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(token))
    }

    /// The token as sent in `algorithm=`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// True for the `-sess` variants (RFC 7616 §3.4.2).
    pub fn is_sess(&self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }

    /// Preference order for a client choosing among challenges (RFC 8760
    /// §2.4: the strongest one it supports); larger is stronger.
    pub fn strength(&self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => 3,
        }
    }

    /// Length of the hex digest.
    pub(crate) fn hex_len(&self) -> usize {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 32,
            _ => 64,
        }
    }

    /// Lower-case hex of H(p0 ":" p1 ":" ...).
    pub(crate) fn hash_hex(&self, parts: &[&[u8]]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hash_parts::<Md5>(parts),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hash_parts::<Sha256>(parts),
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => hash_parts::<Sha512_256>(parts),
        }
    }
}

fn hash_parts<D: Digest>(parts: &[&[u8]]) -> String {
    let mut h = D::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b":");
        }
        h.update(p);
    }
    hex(&h.finalize())
}

/// Everything the `response` depends on (RFC 7616 §3.4.1).
#[derive(Clone, Copy, Debug)]
pub struct DigestInput<'a> {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The user name (unquoted).
    pub username: &'a [u8],
    /// The realm (unquoted).
    pub realm: &'a [u8],
    /// The password.
    pub password: &'a [u8],
    /// The server nonce.
    pub nonce: &'a [u8],
    /// The client nonce (with `qop`, or with a `-sess` algorithm).
    pub cnonce: Option<&'a [u8]>,
    /// The nonce count as 8 hex digits (with `qop`).
    pub nc: Option<&'a [u8]>,
    /// `auth`, or `None` for the RFC 2069 form.
    pub qop: Option<&'a [u8]>,
    /// The request method (A2).
    pub method: &'a [u8],
    /// The `uri` parameter (A2).
    pub uri: &'a [u8],
}

/// The lower-case hex `response` value (RFC 7616 §3.4.1; RFC 2069 form
/// `KD(H(A1), nonce ":" H(A2))` when `qop` is `None`).
pub fn compute_response(i: &DigestInput<'_>) -> String {
    let alg = i.algorithm;
    let mut ha1 = alg.hash_hex(&[i.username, i.realm, i.password]);
    if alg.is_sess() {
        ha1 = alg.hash_hex(&[ha1.as_bytes(), i.nonce, i.cnonce.unwrap_or_default()]);
    }
    let ha2 = alg.hash_hex(&[i.method, i.uri]);
    match i.qop {
        Some(qop) => alg.hash_hex(&[
            ha1.as_bytes(),
            i.nonce,
            i.nc.unwrap_or_default(),
            i.cnonce.unwrap_or_default(),
            qop,
            ha2.as_bytes(),
        ]),
        None => alg.hash_hex(&[ha1.as_bytes(), i.nonce, ha2.as_bytes()]),
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// Decodes lower- or upper-case hex of exactly `N` bytes.
pub(crate) fn unhex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// HMAC-SHA256 (RFC 2104 with SHA-256; checked against RFC 4231).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Compares without an early exit, so timing does not reveal how many
/// leading bytes matched (length is not secret here).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &[u8] = b"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &[u8] = b"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn mufasa(algorithm: Algorithm) -> String {
        compute_response(&DigestInput {
            algorithm,
            username: b"Mufasa",
            realm: b"http-auth@example.org",
            password: b"Circle of Life",
            nonce: NONCE,
            cnonce: Some(CNONCE),
            nc: Some(b"00000001"),
            qop: Some(b"auth"),
            method: b"GET",
            uri: b"/dir/index.html",
        })
    }

    #[test]
    fn rfc7616_md5_vector() {
        assert_eq!(mufasa(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc7616_sha256_vector() {
        assert_eq!(
            mufasa(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn rfc2617_legacy_md5_vector() {
        // RFC 2617 §3.5 (qop=auth) with the classic testrealm example.
        let r = compute_response(&DigestInput {
            algorithm: Algorithm::Md5,
            username: b"Mufasa",
            realm: b"testrealm@host.com",
            password: b"Circle Of Life",
            nonce: b"dcd98b7102dd2f0e8b11d0f600bfb0c093",
            cnonce: Some(b"0a4f113b"),
            nc: Some(b"00000001"),
            qop: Some(b"auth"),
            method: b"GET",
            uri: b"/dir/index.html",
        });
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn hmac_rfc4231_case2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_rfc4231_case6_long_key() {
        let key = [0xaau8; 131];
        let mac = hmac_sha256(&key, &[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn algorithm_tokens_round_trip() {
        for t in [
            "md5",
            "MD5-SESS",
            "sha-256",
            "SHA-256-sess",
            "SHA-512-256",
            "sha-512-256-SESS",
        ] {
            let a = Algorithm::parse(t).map(|a| a.as_str().to_ascii_lowercase());
            assert_eq!(a.as_deref(), Some(t.to_ascii_lowercase().as_str()));
        }
        assert_eq!(Algorithm::parse("SHA-1"), None);
        assert!(Algorithm::Sha256.strength() > Algorithm::Md5.strength());
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(unhex::<2>(b"0aFf"), Some([0x0a, 0xff]));
        assert_eq!(unhex::<2>(b"0aF"), None);
        assert_eq!(unhex::<1>(b"zz"), None);
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
