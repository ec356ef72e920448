//! Python objects ⇄ JSON, through the standard library's `json` module.
//!
//! Why a JSON round trip rather than walking the objects (or pythonize): a body handed to bbws
//! from Python then goes through exactly the bytes → [`parse_json`] → DTO path of the HTTP API,
//! so validation, unknown-field refusals and error field paths (`metadata.tier`, ...) are the
//! API's to the letter, with no second decoder to keep in step. `json` is C-accelerated and the
//! bodies are small (the API caps them at 64 KiB); it adds no crate to the build.
//!
//! [`parse_json`]: bbws_lambda::api::extract::parse_json

use bbws_core::{Error, ErrorCode};
use bbws_lambda::api::MAX_BODY_BYTES;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use pyo3::{Py, PyAny, intern};
use serde::Serialize;
use serde_json::Value;

static JSON: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn json(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    JSON.get_or_try_init(py, || py.import(intern!(py, "json")).map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// `json.dumps(obj, allow_nan=False)`. An object JSON cannot carry (a set, a datetime, NaN, ...)
/// is the caller's mistake: a validation error on `field`.
pub fn dumps(py: Python<'_>, obj: &Bound<'_, PyAny>, field: &str) -> Result<String, Failure> {
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "allow_nan"), false)?;
    match json(py)?.call_method(intern!(py, "dumps"), (obj,), Some(&kwargs)) {
        Ok(text) => Ok(text.extract::<String>()?),
        Err(e) if is_json_refusal(py, &e) => Err(Failure::Bbws(Error::field(
            field,
            format!("{field} is not JSON-serialisable: {}", e.value(py)),
        ))),
        Err(e) => Err(Failure::Python(e)),
    }
}

fn is_json_refusal(py: Python<'_>, e: &PyErr) -> bool {
    e.is_instance_of::<pyo3::exceptions::PyTypeError>(py)
        || e.is_instance_of::<pyo3::exceptions::PyValueError>(py)
        || e.is_instance_of::<pyo3::exceptions::PyRecursionError>(py)
}

/// A Python object as a JSON value (claims, events).
pub fn to_value(py: Python<'_>, obj: &Bound<'_, PyAny>, field: &str) -> Result<Value, Failure> {
    let text = dumps(py, obj, field)?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::Bbws(Error::field(
            field,
            format!("{field} is not valid JSON: {e}"),
        ))
    })
}

/// A request body as the API would see it: dumped to bytes, refused above the API's size limit.
pub fn body_bytes(py: Python<'_>, body: &Bound<'_, PyAny>) -> Result<Vec<u8>, Failure> {
    let text = dumps(py, body, "body")?;
    if text.len() > MAX_BODY_BYTES {
        return Err(Failure::Bbws(Error::business(
            ErrorCode::PayloadTooLarge,
            "Request body is too large",
        )));
    }
    Ok(text.into_bytes())
}

/// A JSON value as plain Python objects (`json.loads`).
pub fn to_python<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    loads(py, &v.to_string())
}

/// A serialisable response as plain Python objects.
pub fn serialize<'py, T: Serialize>(py: Python<'py>, v: &T) -> Result<Bound<'py, PyAny>, Failure> {
    let text = serde_json::to_string(v)
        .map_err(|e| Failure::Bbws(Error::Internal(format!("cannot serialise a response: {e}"))))?;
    Ok(loads(py, &text)?)
}

fn loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    json(py)?.call_method1(intern!(py, "loads"), (text,))
}

/// Why a call failed: a bbws error (raised as its `bbws` exception class) or a Python exception
/// that happened on the way (raised as is).
#[derive(Debug)]
pub enum Failure {
    Bbws(Error),
    Python(PyErr),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Bbws(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Self::Python(e)
    }
}

impl Failure {
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Self::Bbws(e) => crate::errors::to_pyerr(py, &e),
            Self::Python(e) => e,
        }
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> Self {
        // Only ever converted on the way back to Python, where the thread is attached already.
        Python::attach(|py| f.into_pyerr(py))
    }
}
