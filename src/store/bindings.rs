//! Registrar bindings as rows (RFC 3261 §10.3 location service, persisted).
//!
//! [`BindingRow`] is the plain-data form of a registrar
//! [`Binding`]; the conversions live here, on the I/O edge, so the pure
//! registrar knows nothing of storage.

use super::{to_i64, to_u64, StoreError};
use crate::sip::msg::typed::Transport;
use crate::sip::msg::Uri;
use crate::sip::registrar::Binding;
use bytes::Bytes;
use rusqlite::{params, Connection};
use std::net::SocketAddr;

/// One stored binding; the key is `(aor, uri)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingRow {
    /// The address-of-record.
    pub aor: String,
    /// The printed contact URI (the key within the AOR).
    pub uri: Bytes,
    /// The stored Contact value (name-addr with contact parameters).
    pub contact: Bytes,
    /// Expiry, unix seconds.
    pub expires_at: u64,
    /// Call-ID of the REGISTER that set it.
    pub call_id: Bytes,
    /// Its CSeq number.
    pub cseq: u32,
    /// The REGISTER's source address.
    pub source: SocketAddr,
    /// The transport name (`UDP`, `TCP`, `TLS`, `WS`, ...).
    pub transport: String,
    /// `q` in thousandths.
    pub q: u16,
}

impl From<&Binding> for BindingRow {
    fn from(b: &Binding) -> Self {
        BindingRow {
            aor: b.aor.clone(),
            uri: b.key(),
            contact: b.contact.clone(),
            expires_at: b.expires_at,
            call_id: b.call_id.clone(),
            cseq: b.cseq,
            source: b.source,
            transport: b.transport.as_str().to_owned(),
            q: b.q,
        }
    }
}

impl TryFrom<BindingRow> for Binding {
    type Error = StoreError;

    fn try_from(r: BindingRow) -> Result<Self, StoreError> {
        let uri = Uri::parse(&r.uri).ok_or_else(|| StoreError::BadValue {
            column: "uri",
            reason: String::from_utf8_lossy(&r.uri).into_owned(),
        })?;
        Ok(Binding {
            aor: r.aor,
            contact: r.contact,
            uri,
            expires_at: r.expires_at,
            call_id: r.call_id,
            cseq: r.cseq,
            source: r.source,
            transport: transport_from_name(&r.transport),
            q: r.q,
        })
    }
}

/// The inverse of `Transport::as_str`.
fn transport_from_name(name: &str) -> Transport {
    match name.to_ascii_uppercase().as_str() {
        "UDP" => Transport::Udp,
        "TCP" => Transport::Tcp,
        "TLS" => Transport::Tls,
        "SCTP" => Transport::Sctp,
        "WS" => Transport::Ws,
        "WSS" => Transport::Wss,
        _ => Transport::Other(Bytes::copy_from_slice(name.as_bytes())),
    }
}

pub(super) fn save(conn: &Connection, r: &BindingRow) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO bindings (aor, uri, contact, expires_at, call_id, cseq, source, transport, q)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.aor,
            &r.uri[..],
            &r.contact[..],
            to_i64(r.expires_at, "expires_at")?,
            &r.call_id[..],
            r.cseq,
            r.source.to_string(),
            r.transport,
            r.q,
        ],
    )?;
    Ok(())
}

pub(super) fn delete(conn: &Connection, aor: &str, uri: &[u8]) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM bindings WHERE aor = ?1 AND uri = ?2", params![aor, uri])? > 0)
}

pub(super) fn load(conn: &Connection) -> Result<Vec<BindingRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT aor, uri, contact, expires_at, call_id, cseq, source, transport, q FROM bindings ORDER BY aor, uri",
    )?;
    let raw = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Vec<u8>>(4)?,
            r.get::<_, u32>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, u16>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in raw {
        let (aor, uri, contact, expires_at, call_id, cseq, source, transport, q) = row?;
        let source = source.parse().map_err(|_| StoreError::BadValue {
            column: "source",
            reason: source.clone(),
        })?;
        out.push(BindingRow {
            aor,
            uri: Bytes::from(uri),
            contact: Bytes::from(contact),
            expires_at: to_u64(expires_at, "expires_at")?,
            call_id: Bytes::from(call_id),
            cseq,
            source,
            transport,
            q,
        });
    }
    Ok(out)
}
