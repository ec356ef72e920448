//! Choosing and opening a storage backend from configuration, for every frontend (the CLI, the
//! Lambda binaries, the Python module): one place decides what "the embedded store" or "DynamoDB"
//! means, so they all see the same data.

use std::path::PathBuf;
use std::sync::Arc;

use bbws_core::Error;
use bbws_core::events::{EventPublisher, OutboxRelay};
use bbws_core::ids::RandomIds;
use bbws_core::ports::TenantBackend;
use bbws_core::store::{EVENT_LOG_FILE, EmbeddedStore, EventLog};
use bbws_core::tenant::{TenantPorts, TenantService};
use bbws_core::time::SystemClock;
use tokio::sync::Notify;

/// Which store backs the services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// In memory, gone with the process.
    Memory,
    /// The persistent embedded store in a data directory.
    Embedded,
}

impl BackendKind {
    /// Parses `memory` / `embedded` (the `BBWS_BACKEND` values).
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "memory" => Ok(Self::Memory),
            "embedded" => Ok(Self::Embedded),
            other => Err(Error::field(
                "backend",
                format!("Unknown backend '{other}': use memory or embedded"),
            )),
        }
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// The embedded store's directory; the memory backend keeps its event log here too.
    pub data_dir: PathBuf,
}

/// An open backend: the storage ports, where its events are published, and what wakes the relay.
#[derive(Debug, Clone)]
pub struct Backend {
    pub store: Arc<dyn TenantBackend>,
    pub publisher: Arc<dyn EventPublisher>,
    /// Notified after writes that added outbox events.
    pub wake: Arc<Notify>,
}

impl Backend {
    /// Opens the configured backend.
    pub fn open(config: &BackendConfig) -> Result<Self, Error> {
        let store = match config.kind {
            BackendKind::Memory => EmbeddedStore::in_memory()?,
            BackendKind::Embedded => EmbeddedStore::open_dir(&config.data_dir)?,
        };
        let wake = store.outbox_notifier();
        Ok(Self {
            store: Arc::new(store),
            publisher: Arc::new(EventLog::new(config.data_dir.join(EVENT_LOG_FILE))),
            wake,
        })
    }

    /// The tenant service on this backend, with the system clock and random ids.
    pub fn tenant_service(&self) -> TenantService {
        TenantService::new(TenantPorts::from_dyn(
            self.store.clone(),
            Arc::new(SystemClock),
            Arc::new(RandomIds),
        ))
    }

    /// The relay that publishes this backend's outbox.
    pub fn relay(&self) -> OutboxRelay {
        OutboxRelay::new(self.store.clone(), self.publisher.clone())
    }
}
