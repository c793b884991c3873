//! The header list of a message, in wire order, with multi-value helpers
//! (§7.3.1: `a, b` on one line equals two lines).

use super::HeaderName;
use bytes::Bytes;

/// One header line: name and its (unfolded, trimmed) value (RFC 3261 §7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub name: HeaderName,
    /// The raw value, a slice of the received message when it was not folded.
    pub value: Bytes,
}

/// The headers of a message, in order (RFC 3261 §7.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// An empty list with room for `n` headers (RFC 3261 §7.3).
    pub fn with_capacity(n: usize) -> Self {
        Headers(Vec::with_capacity(n))
    }

    /// Appends a header (RFC 3261 §7.3).
    pub fn push(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Inserts a header before all others (e.g. a new top Via) (RFC 3261 §7.3).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        self.0.insert(
            0,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Replaces every `name` header by one with `value` (in the first one's place) (RFC 3261 §7.3).
    pub fn set(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name == name) {
            Some(i) => {
                self.0[i].value = value;
                let mut n = 0;
                self.0.retain(|h| {
                    h.name != name || {
                        n += 1;
                        n == 1
                    }
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes every `name` header (RFC 3261 §7.3).
    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|h| &h.name != name);
    }

    /// The first `name` header's value (RFC 3261 §7.3).
    pub fn get(&self, name: &HeaderName) -> Option<&Bytes> {
        self.0.iter().find(|h| &h.name == name).map(|h| &h.value)
    }

    /// Every `name` header line's value, in order (RFC 3261 §7.3).
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.0.iter().filter(move |h| &h.name == name).map(|h| &h.value)
    }

    /// Every comma-separated value of every `name` line, in order (§7.3.1).
    pub fn values(&self, name: &HeaderName) -> Vec<Bytes> {
        self.get_all(name).flat_map(split_list).collect()
    }

    /// All headers in order (RFC 3261 §7.3).
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// Number of header lines (RFC 3261 §7.3).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no headers (RFC 3261 §7.3).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps only headers for which `f` is true (RFC 3261 §7.3).
    pub fn retain(&mut self, f: impl FnMut(&Header) -> bool) {
        self.0.retain(f)
    }
}

/// Splits a header value on commas that are outside quoted strings and
/// angle brackets; each item is trimmed. Empty items are kept, so that a
/// caller can reject `a,,b` (RFC 4475 `badinv01`).
pub fn split_list(value: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    let (mut in_quote, mut in_angle, mut escape) = (false, false, false);
    let mut start = 0;
    for (i, &c) in value.iter().enumerate() {
        if escape {
            escape = false;
            continue;
        }
        match c {
            b'\\' if in_quote => escape = true,
            b'"' => in_quote = !in_quote,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote => in_angle = false,
            b',' if !in_quote && !in_angle => {
                out.push(trim(value, start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(trim(value, start, value.len()));
    out
}

fn trim(value: &Bytes, mut a: usize, mut b: usize) -> Bytes {
    while a < b && value[a].is_ascii_whitespace() {
        a += 1;
    }
    while b > a && value[b - 1].is_ascii_whitespace() {
        b -= 1;
    }
    value.slice(a..b)
}
