//! The one tokio runtime of the process, and running bbws work on it with the GIL released.

use std::future::Future;
use std::sync::OnceLock;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The process-wide runtime, built on first use (so a process that forks before using bbws
/// gives each child its own). Two workers: bbws work is I/O-bound, and a Lambda has few cores.
/// Futures run on the calling thread (`block_on`); the workers and the blocking pool serve what
/// they spawn (file-store commits, SDK connections).
pub fn runtime() -> PyResult<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("bbws-runtime")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the bbws runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(e.clone()))
}

/// Runs `fut` to completion on the runtime with the GIL released, so other Python threads run
/// meanwhile. Everything `fut` needs is converted to Rust values before this is called.
pub fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    Ok(py.detach(move || rt.block_on(fut)))
}
