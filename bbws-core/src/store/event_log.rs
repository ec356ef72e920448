//! The local event sink of the embedded backend: published events appended, one JSON object per
//! line in EventBridge's envelope, to `<data-dir>/events.jsonl`.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;

use crate::error::{Error, Result};
use crate::events::{EventPublisher, OutboxMessage};

/// An append-only JSON-lines file of published events.
///
/// The file is opened (in append mode) on the first publish and kept open. A durable log
/// ([`EventLog::new`]) syncs each append to disk before `publish` returns, off the async
/// threads; a volatile one ([`EventLog::volatile`]) leaves the flushing to the kernel.
#[derive(Debug, Clone)]
pub struct EventLog {
    path: PathBuf,
    durable: bool,
    file: Arc<Mutex<Option<File>>>,
}

impl EventLog {
    /// A log whose appends are on disk when `publish` returns (the persistent embedded store's).
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            durable: true,
            file: Arc::default(),
        }
    }

    /// A log that does not sync its appends: for the in-memory store, whose own state does not
    /// outlive the process either, so a sync per event would buy nothing.
    pub fn volatile(path: impl AsRef<Path>) -> Self {
        Self {
            durable: false,
            ..Self::new(path)
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The envelope an EventBridge consumer would see.
    pub fn envelope(m: &OutboxMessage) -> serde_json::Value {
        json!({
            "version": "0",
            "id": m.id.to_string(),
            "source": m.source,
            "detail-type": m.detail_type,
            "time": m.time.to_string(),
            "resources": [],
            "detail": m.detail,
        })
    }
}

#[async_trait]
impl EventPublisher for EventLog {
    async fn publish(&self, events: &[OutboxMessage]) -> Result<()> {
        let mut buf = Vec::new();
        for e in events {
            buf.extend_from_slice(Self::envelope(e).to_string().as_bytes());
            buf.push(b'\n');
        }
        let (path, file, durable) = (self.path.clone(), self.file.clone(), self.durable);
        let io = move || append(&path, &file, &buf, durable);
        let written = if durable {
            tokio::task::spawn_blocking(io)
                .await
                .map_err(|e| Error::Internal(format!("event log task failed: {e}")))?
        } else {
            // One write into the page cache: too short to be worth a blocking-pool hop.
            io()
        };
        written.map_err(|e| Error::Storage(format!("cannot append to the event log: {e}")))
    }
}

/// Appends `buf` to the log file, opening it first if this log has not yet.
fn append(
    path: &Path,
    file: &Mutex<Option<File>>,
    buf: &[u8],
    durable: bool,
) -> std::io::Result<()> {
    // A panic while holding the lock leaves at worst a partial line; keep appending.
    let mut slot = file
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let f = match &mut *slot {
        Some(f) => f,
        None => slot.insert(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
    };
    f.write_all(buf)?;
    if durable { f.sync_data() } else { Ok(()) }
}
