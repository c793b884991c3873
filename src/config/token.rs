//! API bearer tokens as the config holds them (issue 11 item 5): only a
//! SHA-256 digest is kept in memory, whether the admin wrote the token
//! itself, `env:VAR` (read from the environment at load) or
//! `sha256:<64 hex digits>` (the digest printed by `switchboard
//! hash-token`, so the config file never holds the token).
//!
//! A presented token is hashed once and compared in constant time with
//! each digest ([`ApiToken::matches`]); a token written in the clear that
//! starts with `demo-` is a shipped demo token ([`ApiToken::is_demo`]),
//! refused on any non-loopback listen address.

use super::error::{ErrorKind, Sink};
use super::load::{secret_named, EnvLookup};
use sha2::{Digest, Sha256};
use std::fmt;
use toml::Spanned;

/// Shortest token accepted in the clear (a hashed one cannot be checked:
/// `switchboard hash-token` refuses shorter ones).
pub const MIN_TOKEN_CHARS: usize = 16;

/// The prefix of a hashed token in the config.
pub const HASHED_PREFIX: &str = "sha256:";

/// A bearer token of the HTTP API: its SHA-256 digest. `Debug` shows
/// neither the token nor the digest.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiToken {
    digest: [u8; 32],
    demo: bool,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.demo { "ApiToken(demo)" } else { "ApiToken(***)" })
    }
}

/// The SHA-256 digest of `token`.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl ApiToken {
    /// The token `clear`, kept as its digest.
    pub fn from_clear(clear: &str) -> Self {
        Self {
            digest: token_digest(clear),
            demo: clear.starts_with("demo-"),
        }
    }

    /// A token known only by its digest.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self { digest, demo: false }
    }

    /// The digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// True for a shipped demo token (written in the clear, `demo-…`).
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// True when `digest` (of a presented token) is this token's, compared
    /// in constant time.
    pub fn matches_digest(&self, digest: &[u8; 32]) -> bool {
        self.digest.iter().zip(digest).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// True when `presented` is this token.
    pub fn matches(&self, presented: &str) -> bool {
        self.matches_digest(&token_digest(presented))
    }
}

/// `sha256:<64 hex digits>` as a digest, or why not.
pub fn parse_hashed(text: &str) -> Result<[u8; 32], String> {
    let hex = text.strip_prefix(HASHED_PREFIX).unwrap_or(text);
    if hex.len() != 64 {
        return Err(format!(
            "a hashed token is `{HASHED_PREFIX}` and 64 hex digits (this has {}); `switchboard hash-token` prints one",
            hex.len()
        ));
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return Err(format!("a hashed token has only hex digits after `{HASHED_PREFIX}`")),
        }
    }
    Ok(out)
}

/// The config text of a token's digest: `sha256:<64 lowercase hex>`.
pub fn hashed_text(token: &str) -> String {
    let mut s = String::from(HASHED_PREFIX);
    for b in token_digest(token) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Reads one token field: `sha256:<hex>`, `env:VAR` or the token itself
/// (at least [`MIN_TOKEN_CHARS`] characters). Errors go to `sink` at the
/// field's position.
pub(super) fn read_token(env: EnvLookup<'_>, sink: &mut Sink<'_>, raw: &Spanned<String>) -> Option<ApiToken> {
    let text = raw.get_ref();
    if text.starts_with(HASHED_PREFIX) {
        return match parse_hashed(text) {
            Ok(d) => Some(ApiToken::from_digest(d)),
            Err(msg) => {
                sink.push(&raw.span(), ErrorKind::InvalidValue, msg);
                None
            }
        };
    }
    let clear = secret_named(env, sink, raw, "token")?;
    let chars = clear.expose().chars().count();
    if chars < MIN_TOKEN_CHARS {
        sink.push(
            &raw.span(),
            ErrorKind::InvalidValue,
            format!("token has {chars} characters; at least {MIN_TOKEN_CHARS} are needed"),
        );
        return None;
    }
    Some(ApiToken::from_clear(clear.expose()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_token_matches_its_clear_text_only() {
        let text = hashed_text("a-long-enough-secret");
        assert!(text.starts_with("sha256:") && text.len() == 7 + 64);
        let t = ApiToken::from_digest(parse_hashed(&text).expect("valid"));
        assert!(t.matches("a-long-enough-secret"));
        assert!(!t.matches("a-long-enough-secreT"));
        assert!(!t.matches(""));
        assert!(!t.is_demo());
        assert_eq!(format!("{t:?}"), "ApiToken(***)");
    }

    #[test]
    fn malformed_hashes_are_refused_with_a_reason() {
        assert!(parse_hashed("sha256:abc").unwrap_err().contains("64 hex digits"));
        let bad = format!("sha256:{}", "g".repeat(64));
        assert!(parse_hashed(&bad).unwrap_err().contains("only hex digits"));
        // Multi-byte characters never split a char boundary.
        let wide = format!("sha256:{}", "é".repeat(32));
        assert!(parse_hashed(&wide).is_err());
    }

    #[test]
    fn demo_tokens_are_known_by_their_prefix() {
        assert!(ApiToken::from_clear("demo-token-alice").is_demo());
        assert!(!ApiToken::from_clear("token-alice-1234567").is_demo());
    }
}
