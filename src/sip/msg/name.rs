//! Header field names (RFC 3261 §7.3, §20): the ones the switch reads are
//! enum variants; compact forms (§7.3.3) map to their long names; any other
//! name is kept as raw bytes and compared case-insensitively.

use bytes::Bytes;
use std::hash::{Hash, Hasher};

macro_rules! header_names {
    ($($variant:ident => $name:expr, $compact:expr;)*) => {
        /// A header name. Known names print in their canonical long form (RFC 3261 §7.3.3).
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum HeaderName {
            $(#[doc = $name] $variant,)*
            /// Any other header, kept as received.
            Other(Bytes),
        }

        impl HeaderName {
            /// Maps a received name (long or compact, any case) (RFC 3261 §7.3.3).
            pub fn from_bytes(raw: Bytes) -> HeaderName {
                $(
                    if raw.eq_ignore_ascii_case($name.as_bytes())
                        || (!$compact.is_empty() && raw.eq_ignore_ascii_case($compact.as_bytes()))
                    {
                        return HeaderName::$variant;
                    }
                )*
                HeaderName::Other(raw)
            }

            /// The canonical name (for `Other`, a placeholder; use [`Self::as_bytes`]) (RFC 3261 §7.3.3).
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(HeaderName::$variant => $name,)*
                    HeaderName::Other(_) => "Extension",
                }
            }

            /// The name as it is printed (RFC 3261 §7.3.3).
            pub fn as_bytes(&self) -> &[u8] {
                match self {
                    HeaderName::Other(b) => b,
                    known => known.as_str().as_bytes(),
                }
            }
        }
    };
}

header_names! {
    Via => "Via", "v";
    From => "From", "f";
    To => "To", "t";
    CallId => "Call-ID", "i";
    CSeq => "CSeq", "";
    Contact => "Contact", "m";
    Route => "Route", "";
    RecordRoute => "Record-Route", "";
    MaxForwards => "Max-Forwards", "";
    ContentLength => "Content-Length", "l";
    ContentType => "Content-Type", "c";
    ContentEncoding => "Content-Encoding", "e";
    ContentDisposition => "Content-Disposition", "";
    Expires => "Expires", "";
    MinExpires => "Min-Expires", "";
    Authorization => "Authorization", "";
    ProxyAuthorization => "Proxy-Authorization", "";
    WwwAuthenticate => "WWW-Authenticate", "";
    ProxyAuthenticate => "Proxy-Authenticate", "";
    AuthenticationInfo => "Authentication-Info", "";
    Require => "Require", "";
    ProxyRequire => "Proxy-Require", "";
    Supported => "Supported", "k";
    Unsupported => "Unsupported", "";
    Allow => "Allow", "";
    Accept => "Accept", "";
    ReferTo => "Refer-To", "r";
    ReferredBy => "Referred-By", "b";
    Replaces => "Replaces", "";
    SessionExpires => "Session-Expires", "x";
    MinSe => "Min-SE", "";
    Event => "Event", "o";
    RSeq => "RSeq", "";
    RAck => "RAck", "";
    SubscriptionState => "Subscription-State", "";
    Subject => "Subject", "s";
    UserAgent => "User-Agent", "";
    Server => "Server", "";
    Warning => "Warning", "";
    Reason => "Reason", "";
    RetryAfter => "Retry-After", "";
    Date => "Date", "";
    Timestamp => "Timestamp", "";
    AllowEvents => "Allow-Events", "u";
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (HeaderName::Other(_), _) | (_, HeaderName::Other(_)) => false,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            HeaderName::Other(b) => {
                for c in b.iter() {
                    state.write_u8(c.to_ascii_lowercase());
                }
            }
            known => std::mem::discriminant(known).hash(state),
        }
    }
}

impl From<&'static str> for HeaderName {
    fn from(s: &'static str) -> Self {
        HeaderName::from_bytes(Bytes::from_static(s.as_bytes()))
    }
}
