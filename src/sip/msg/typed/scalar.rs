//! Numeric headers: Max-Forwards (§20.22), Content-Length (§20.14),
//! Expires (§20.19), Min-Expires (§20.23).

use super::{parse_u32, TypedHeader};
use crate::sip::msg::{HeaderName, ParseError};
use bytes::Bytes;

macro_rules! scalar {
    ($(#[$doc:meta] $ty:ident, $name:ident, $label:expr;)*) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $ty(pub u32);

        impl TypedHeader for $ty {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &Bytes) -> Result<Self, ParseError> {
                parse_u32(value).map($ty).ok_or(ParseError::BadHeader($label))
            }
        }
    )*};
}

scalar! {
    /// Max-Forwards: hops left (RFC 3261 §8.1.1.6, §20.22).
    MaxForwards, MaxForwards, "Max-Forwards";
    /// Content-Length: body octets (RFC 3261 §20.14).
    ContentLength, ContentLength, "Content-Length";
    /// Expires: seconds (RFC 3261 §10.2.1.1, §20.19).
    Expires, Expires, "Expires";
    /// Min-Expires: the registrar's minimum (§10.3, 423).
    MinExpires, MinExpires, "Min-Expires";
}
