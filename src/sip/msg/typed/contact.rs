//! Contact (RFC 3261 §20.10, §10.2.2): `*` or a list of name-addrs with
//! `expires` and `q` parameters.

use super::name_addr::NameAddr;
use super::TypedHeader;
use crate::sip::msg::{split_list, HeaderName, ParseError};
use bytes::Bytes;

/// One Contact value (RFC 3261 §20.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact(pub NameAddr);

impl Contact {
    /// The `expires` parameter, if present and numeric (RFC 3261 §10.2.1.1).
    pub fn expires(&self) -> Option<u32> {
        self.0.params.get("expires").flatten().and_then(|v| super::parse_u32(v))
    }
}

/// A whole Contact header line (RFC 3261 §20.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactList {
    /// `Contact: *` (only valid in REGISTER with `Expires: 0`).
    Star,
    /// One or more contacts.
    List(Vec<Contact>),
}

impl ContactList {
    /// Parses one Contact header line (RFC 3261 §20.10).
    pub fn parse(value: &Bytes) -> Result<ContactList, ParseError> {
        if super::trim_ws(value) == b"*" {
            return Ok(ContactList::Star);
        }
        let mut out = Vec::new();
        for item in split_list(value) {
            out.push(Contact(NameAddr::parse_header(&item, "Contact")?));
        }
        Ok(ContactList::List(out))
    }
}

impl TypedHeader for ContactList {
    const NAME: HeaderName = HeaderName::Contact;
    fn parse(value: &Bytes) -> Result<Self, ParseError> {
        ContactList::parse(value)
    }
}
