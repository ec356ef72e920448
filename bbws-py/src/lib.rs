//! The Python module `bbws` (the native part, `bbws._bbws`, built by maturin as an abi3 wheel for
//! Python ≥ 3.11; the package in `python/bbws` re-exports it).
//!
//! - [`service`]: `bbws.TenantService`, the tenant use cases on a backend, for the caller's claims,
//!   with dicts in the API's camelCase shapes;
//! - [`org`]: `bbws.OrgService`, the organisation use cases (hierarchy, users and roles,
//!   invitations) on the same backends, plus the local directory and mailbox of local backends;
//! - [`instance`]: `bbws.InstanceService`, a tenant's WordPress instances (provisioning and
//!   deprovisioning accepted as operations, the plans, reads) and running an operation here;
//! - [`api_event`]: `bbws.handle_api_event`, an API Gateway event through the API's own router;
//! - [`errors`]: the exception hierarchy of LLD 2.5 §11.1 (`TenantManagementError` >
//!   `BusinessException` > `TenantNotFoundError`, ...), mapped from each error's stable code;
//! - [`runtime`]: the process-wide tokio runtime; every call releases the GIL while Rust works;
//! - [`convert`]: dicts ⇄ JSON through the standard `json` module.

use pyo3::prelude::*;
use pyo3::types::PyDict;

pub mod api_event;
pub mod convert;
pub mod errors;
pub mod instance;
pub mod org;
pub mod runtime;
pub mod service;

/// `{code: {"httpStatus", "exception", "parent", "exitCode"}}` for every stable error code.
#[pyfunction]
fn error_codes(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    for code in bbws_core::ErrorCode::ALL {
        let row = PyDict::new(py);
        row.set_item("httpStatus", code.http_status())?;
        row.set_item("exception", code.python_class())?;
        row.set_item("parent", code.python_parent())?;
        row.set_item("exitCode", code.exit_code())?;
        out.set_item(code.as_str(), row)?;
    }
    Ok(out)
}

#[pymodule(name = "_bbws")]
fn bbws(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_class::<service::PyTenantService>()?;
    m.add_class::<org::PyOrgService>()?;
    m.add_class::<instance::PyInstanceService>()?;
    m.add_function(wrap_pyfunction!(api_event::handle_api_event, m)?)?;
    errors::register(m)?;
    Ok(())
}
