//! The local event sink of the embedded backend: published events appended, one JSON object per
//! line in EventBridge's envelope, to `<data-dir>/events.jsonl`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::json;

use crate::error::{Error, Result};
use crate::events::{EventPublisher, OutboxMessage};

/// An append-only JSON-lines file of published events.
#[derive(Debug, Clone)]
pub struct EventLog {
    path: PathBuf,
}

impl EventLog {
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
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
        let path = self.path.clone();
        let io = move || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            f.write_all(&buf)?;
            f.sync_data()
        };
        tokio::task::spawn_blocking(io)
            .await
            .map_err(|e| Error::Internal(format!("event log task failed: {e}")))?
            .map_err(|e| Error::Storage(format!("cannot append to the event log: {e}")))
    }
}
