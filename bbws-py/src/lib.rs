//! The Python module `bbws` (built by maturin as an abi3 wheel for Python ≥ 3.11).
//!
//! For now it exposes the error model, so Python handlers map bbws error codes to the same HTTP
//! statuses and exception names as every other frontend. The services follow.

use pyo3::prelude::*;
use pyo3::types::PyDict;

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

#[pymodule]
fn bbws(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    Ok(())
}
