//! The store thread: SQLite (registrations, CDRs) and the CDR JSON Lines
//! file are written from one blocking thread, so the engine never waits on
//! disk.

use crate::sip::registrar::Binding;
use crate::store::{BindingRow, CdrJsonlWriter, CdrRecord, Store, StoreError};
use std::path::PathBuf;
use std::sync::mpsc;

/// A write for the store thread.
pub(crate) enum Op {
    Save(Binding),
    Delete(Binding),
    Cdr(CdrRecord),
    Close,
}

/// Handle to the store thread.
pub(crate) struct StoreHandle {
    tx: mpsc::Sender<Op>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl StoreHandle {
    pub(crate) fn send(&self, op: Op) {
        if self.tx.send(op).is_err() {
            tracing::error!("store thread is gone; a write was lost");
        }
    }

    /// Flushes and stops the thread.
    pub(crate) fn close(mut self) {
        let _ = self.tx.send(Op::Close);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// Opens the store, reads the persisted bindings, and starts the thread.
pub(crate) fn start(db: PathBuf, cdr: Option<PathBuf>) -> Result<(StoreHandle, Vec<Binding>), StoreError> {
    let store = Store::open(&db)?;
    let rows = store.load_bindings()?;
    let bindings: Vec<Binding> = rows.into_iter().filter_map(|r| Binding::try_from(r).ok()).collect();
    let mut jsonl = match cdr {
        Some(p) => Some(CdrJsonlWriter::open(p)?),
        None => None,
    };
    let (tx, rx) = mpsc::channel::<Op>();
    let join = std::thread::Builder::new().name("store".into()).spawn(move || {
        for op in rx {
            let res = match op {
                Op::Save(b) => store.save_binding(&BindingRow::from(&b)),
                Op::Delete(b) => store.delete_binding(&b.aor, &b.key()).map(|_| ()),
                Op::Cdr(c) => {
                    let r = store.insert_cdr(&c).map(|_| ());
                    if let Some(w) = jsonl.as_mut() {
                        if let Err(e) = w.write(&c) {
                            tracing::error!(error = %e, "CDR line not written");
                        }
                    }
                    r
                }
                Op::Close => break,
            };
            if let Err(e) = res {
                tracing::error!(error = %e, "store write failed");
            }
        }
    })?;
    Ok((StoreHandle { tx, join: Some(join) }, bindings))
}
