//! Self-validating server nonces (RFC 7616 §3.3 "nonce" and §5.4–§5.5).
//!
//! A nonce is the hex of `timestamp (8 octets) || sequence (8 octets) ||
//! HMAC-SHA256(secret, timestamp || sequence || realm)[..16]`: the server
//! checks origin and age from the nonce alone. The sequence makes each
//! challenge distinct, so nonce-count tracking is per challenge rather than
//! shared by every client challenged in the same second.

use super::digest::{ct_eq, hex, hmac_sha256, unhex};

/// Length of a nonce in hex characters.
const NONCE_HEX_LEN: usize = 64;

/// The identity of a nonce: issue time (unix seconds) and sequence. Orders
/// by issue time first, which the replay table relies on for pruning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NonceId {
    /// Unix seconds at issue.
    pub issued: u64,
    /// Per-server sequence number.
    pub seq: u64,
}

/// Mints and opens nonces for one realm under one secret.
#[derive(Clone)]
pub(crate) struct NonceKey {
    secret: [u8; 32],
    realm: Vec<u8>,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceKey")
            .field("realm", &String::from_utf8_lossy(&self.realm))
            .finish_non_exhaustive()
    }
}

impl NonceKey {
    pub(crate) fn new(secret: [u8; 32], realm: &str) -> NonceKey {
        NonceKey {
            secret,
            realm: realm.as_bytes().to_vec(),
        }
    }

    fn mac(&self, id: NonceId) -> [u8; 32] {
        hmac_sha256(
            &self.secret,
            &[&id.issued.to_be_bytes(), &id.seq.to_be_bytes(), b"|", &self.realm],
        )
    }

    /// The nonce text for `id`.
    pub(crate) fn mint(&self, id: NonceId) -> String {
        let mac = self.mac(id);
        let mut s = hex(&id.issued.to_be_bytes());
        s.push_str(&hex(&id.seq.to_be_bytes()));
        s.push_str(&hex(&mac[..16]));
        s
    }

    /// The id of a nonce we minted, or `None` when it is not ours (wrong
    /// shape, other secret or realm, or tampered).
    pub(crate) fn open(&self, nonce: &[u8]) -> Option<NonceId> {
        if nonce.len() != NONCE_HEX_LEN {
            return None;
        }
        let issued = u64::from_be_bytes(unhex::<8>(&nonce[..16])?);
        let seq = u64::from_be_bytes(unhex::<8>(&nonce[16..32])?);
        let tag = unhex::<16>(&nonce[32..])?;
        let id = NonceId { issued, seq };
        ct_eq(&self.mac(id)[..16], &tag).then_some(id)
    }

    /// A value for `opaque` (RFC 7616 §3.3): constant for this secret and
    /// realm, so it needs no state either.
    pub(crate) fn opaque(&self) -> String {
        hex(&hmac_sha256(&self.secret, &[b"opaque|", &self.realm])[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_open_round_trip() {
        let k = NonceKey::new([7; 32], "example.com");
        let id = NonceId {
            issued: 1_700_000_000,
            seq: 42,
        };
        let n = k.mint(id);
        assert_eq!(n.len(), NONCE_HEX_LEN);
        assert_eq!(k.open(n.as_bytes()), Some(id));
        assert_eq!(k.open(n.to_uppercase().as_bytes()), Some(id));
    }

    #[test]
    fn foreign_or_tampered_nonces_do_not_open() {
        let k = NonceKey::new([7; 32], "example.com");
        let n = k.mint(NonceId { issued: 5, seq: 1 });
        assert_eq!(NonceKey::new([8; 32], "example.com").open(n.as_bytes()), None);
        assert_eq!(NonceKey::new([7; 32], "example.org").open(n.as_bytes()), None);
        let mut t = n.clone().into_bytes();
        t[15] = if t[15] == b'0' { b'1' } else { b'0' }; // bump the timestamp
        assert_eq!(k.open(&t), None);
        assert_eq!(k.open(b"short"), None);
        assert_eq!(k.open(&[b'g'; NONCE_HEX_LEN]), None);
    }
}
