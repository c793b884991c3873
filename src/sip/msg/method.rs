//! Request methods (RFC 3261 §7.1, §27.4): an open newtype with constants.

use bytes::Bytes;
use std::fmt;

/// A SIP method. Known methods compare by value; any other token is kept as
/// an unknown method, see [`Method::is_known`] (RFC 3261 §7.1; RFC 4475 `intmeth`, `esc02`: `%` is not an escape here).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Method(Inner);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Inner {
    Known(&'static str),
    Other(Bytes),
}

impl Method {
    /// INVITE (§13).
    pub const INVITE: Method = Method(Inner::Known("INVITE"));
    /// ACK (§13.2.2.4, §17.1.1.3).
    pub const ACK: Method = Method(Inner::Known("ACK"));
    /// BYE (§15).
    pub const BYE: Method = Method(Inner::Known("BYE"));
    /// CANCEL (§9).
    pub const CANCEL: Method = Method(Inner::Known("CANCEL"));
    /// OPTIONS (§11).
    pub const OPTIONS: Method = Method(Inner::Known("OPTIONS"));
    /// REGISTER (§10).
    pub const REGISTER: Method = Method(Inner::Known("REGISTER"));
    /// PRACK (RFC 3262).
    pub const PRACK: Method = Method(Inner::Known("PRACK"));
    /// UPDATE (RFC 3311).
    pub const UPDATE: Method = Method(Inner::Known("UPDATE"));
    /// INFO (RFC 6086).
    pub const INFO: Method = Method(Inner::Known("INFO"));
    /// REFER (RFC 3515).
    pub const REFER: Method = Method(Inner::Known("REFER"));
    /// NOTIFY (RFC 6665).
    pub const NOTIFY: Method = Method(Inner::Known("NOTIFY"));
    /// SUBSCRIBE (RFC 6665).
    pub const SUBSCRIBE: Method = Method(Inner::Known("SUBSCRIBE"));
    /// MESSAGE (RFC 3428).
    pub const MESSAGE: Method = Method(Inner::Known("MESSAGE"));

    const KNOWN: [Method; 13] = [
        Self::INVITE,
        Self::ACK,
        Self::BYE,
        Self::CANCEL,
        Self::OPTIONS,
        Self::REGISTER,
        Self::PRACK,
        Self::UPDATE,
        Self::INFO,
        Self::REFER,
        Self::NOTIFY,
        Self::SUBSCRIBE,
        Self::MESSAGE,
    ];

    /// Methods are case-sensitive (§7.1); an unknown token becomes `Other`.
    pub fn from_bytes(token: Bytes) -> Method {
        for m in Self::KNOWN {
            if m.as_bytes() == &token[..] {
                return m;
            }
        }
        Method(Inner::Other(token))
    }

    /// The method's name as bytes (RFC 3261 §7.1).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Inner::Known(s) => s.as_bytes(),
            Inner::Other(b) => b,
        }
    }

    /// True when the method is one of the constants above (RFC 3261 §7.1).
    pub fn is_known(&self) -> bool {
        matches!(self.0, Inner::Known(_))
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", String::from_utf8_lossy(self.as_bytes()))
    }
}
