//! Call detail records: one row per call leg pair, written when a call
//! ends, to SQLite ([`super::Store::insert_cdr`]) and/or as JSON Lines
//! ([`CdrJsonlWriter`], one object per line, for log shippers).

use super::StoreError;
use crate::records::CdrRecord;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Appends CDRs as JSON Lines, flushing after each record so a crash loses
/// at most the record being written.
#[derive(Debug)]
pub struct CdrJsonlWriter<W: Write = BufWriter<File>> {
    out: W,
}

impl CdrJsonlWriter<BufWriter<File>> {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(CdrJsonlWriter {
            out: BufWriter::new(file),
        })
    }
}

impl<W: Write> CdrJsonlWriter<W> {
    /// Wraps any writer.
    pub fn new(out: W) -> Self {
        CdrJsonlWriter { out }
    }

    /// Appends one record as a single line and flushes (one `write` for a
    /// buffered file, so concurrent appenders do not interleave lines).
    pub fn write(&mut self, cdr: &CdrRecord) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(cdr)?;
        line.push(b'\n');
        self.out.write_all(&line)?;
        self.out.flush()?;
        Ok(())
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}
