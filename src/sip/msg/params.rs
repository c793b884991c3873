//! Generic `;name=value` parameters (§19.1.1 uri-parameters, §20 header
//! params): kept in order as raw bytes, looked up case-insensitively.

use bytes::{BufMut, Bytes, BytesMut};

/// An ordered list of `;name[=value]` parameters (RFC 3261 §19.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(Bytes, Option<Bytes>)>);

impl Params {
    /// Parses `;a=b;c` (the leading `;` included) from `raw`. Names must be (RFC 3261 §19.1.1)
    /// tokens and non-empty; quoted values are allowed when `allow_quoted`.
    pub fn parse(raw: &Bytes, allow_quoted: bool) -> Option<Params> {
        let mut out = Vec::new();
        let s = &raw[..];
        let mut i = 0;
        while i < s.len() {
            while i < s.len() && is_ws(s[i]) {
                i += 1;
            }
            if i == s.len() {
                break;
            }
            if s[i] != b';' {
                return None;
            }
            i += 1;
            while i < s.len() && is_ws(s[i]) {
                i += 1;
            }
            let ns = i;
            while i < s.len() && is_param_char(s[i]) {
                i += 1;
            }
            if i == ns {
                return None;
            }
            let name = raw.slice(ns..i);
            while i < s.len() && is_ws(s[i]) {
                i += 1;
            }
            let value = if i < s.len() && s[i] == b'=' {
                i += 1;
                while i < s.len() && is_ws(s[i]) {
                    i += 1;
                }
                if i < s.len() && s[i] == b'"' {
                    if !allow_quoted {
                        return None;
                    }
                    let vs = i;
                    i += 1;
                    let mut closed = false;
                    while i < s.len() {
                        match s[i] {
                            b'\\' => i += 2,
                            b'"' => {
                                i += 1;
                                closed = true;
                                break;
                            }
                            _ => i += 1,
                        }
                    }
                    if !closed || i > s.len() {
                        return None;
                    }
                    Some(raw.slice(vs..i))
                } else {
                    let vs = i;
                    while i < s.len() && (is_param_char(s[i]) || s[i] == b'[' || s[i] == b']' || s[i] == b':') {
                        i += 1;
                    }
                    if i == vs {
                        return None;
                    }
                    Some(raw.slice(vs..i))
                }
            } else {
                None
            };
            out.push((name, value));
        }
        Some(Params(out))
    }

    /// The value of `name` (`Some(None)` for a flag parameter like `lr`) (RFC 3261 §19.1.1).
    pub fn get(&self, name: &str) -> Option<Option<&Bytes>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_ref())
    }

    /// The value of `name`, with surrounding quotes removed (RFC 3261 §19.1.1).
    pub fn value(&self, name: &str) -> Option<Bytes> {
        self.get(name).flatten().map(unquote)
    }

    /// True when `name` is present (with or without a value) (RFC 3261 §19.1.1).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets (replacing) or adds `name` (RFC 3261 §19.1.1).
    pub fn set(&mut self, name: &str, value: Option<Bytes>) {
        match self.0.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())) {
            Some(p) => p.1 = value,
            None => self.0.push((Bytes::copy_from_slice(name.as_bytes()), value)),
        }
    }

    /// Removes `name` (RFC 3261 §19.1.1).
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()));
    }

    /// Iterates the parameters in order (RFC 3261 §19.1.1).
    pub fn iter(&self) -> impl Iterator<Item = &(Bytes, Option<Bytes>)> {
        self.0.iter()
    }

    /// True when empty (RFC 3261 §19.1.1).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes `;a=b;c` (RFC 3261 §19.1.1).
    pub fn write(&self, out: &mut BytesMut) {
        for (n, v) in &self.0 {
            out.put_u8(b';');
            out.put_slice(n);
            if let Some(v) = v {
                out.put_u8(b'=');
                out.put_slice(v);
            }
        }
    }
}

/// Removes surrounding double quotes and backslash escapes from a quoted string (RFC 3261 §25.1 quoted-string).
pub fn unquote(v: &Bytes) -> Bytes {
    if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' {
        let inner = &v[1..v.len() - 1];
        if !inner.contains(&b'\\') {
            return v.slice(1..v.len() - 1);
        }
        let mut out = Vec::with_capacity(inner.len());
        let mut esc = false;
        for &c in inner {
            if esc || c != b'\\' {
                out.push(c);
                esc = false;
            } else {
                esc = true;
            }
        }
        Bytes::from(out)
    } else {
        v.clone()
    }
}

fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// token chars (§25.1) plus the URI param-unreserved and escape characters.
pub(crate) fn is_param_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~&$/".contains(&c)
}
