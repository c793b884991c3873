//! Token-list headers: Require (§20.32), Proxy-Require (§20.29), Supported
//! (§20.37), Unsupported (§20.40), Allow (§20.5).

use super::TypedHeader;
use crate::sip::msg::{split_list, HeaderName, ParseError};
use bytes::Bytes;

macro_rules! token_list {
    ($(#[$doc:meta] $ty:ident, $name:ident, $label:expr;)*) => {$(
        #[$doc]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $ty(pub Vec<Bytes>);

        impl TypedHeader for $ty {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &Bytes) -> Result<Self, ParseError> {
                let items = split_list(value);
                if items.iter().any(|t| t.is_empty() || !t.iter().all(|c| crate::sip::msg::parse::is_token_char(*c))) {
                    return Err(ParseError::BadHeader($label));
                }
                Ok($ty(items))
            }
        }
    )*};
}

token_list! {
    /// Require: option tags the UAS must support, 420 otherwise (RFC 3261 §8.2.2.3, §20.32).
    Require, Require, "Require";
    /// Proxy-Require: option tags a proxy must support (RFC 3261 §20.29).
    ProxyRequire, ProxyRequire, "Proxy-Require";
    /// Supported: option tags the sender supports (RFC 3261 §20.37).
    Supported, Supported, "Supported";
    /// Unsupported: the tags a 420 rejects (RFC 3261 §20.40).
    Unsupported, Unsupported, "Unsupported";
    /// Allow: methods the sender accepts, sent with 405/501 (RFC 3261 §20.5).
    Allow, Allow, "Allow";
}
