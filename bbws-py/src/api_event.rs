//! `bbws.handle_api_event(event, context=None)`: serves an API Gateway proxy event (REST API
//! payload 1.0 or HTTP API payload 2.0) through the API's own router, with identity from the
//! authorizer claims, exactly as the `bbws-tenant-api` Lambda does ([`ApiFunction`]), and returns
//! the API Gateway response dict. A Python Lambda handler delegates a route in one line:
//!
//! ```python
//! def handler(event, context):
//!     return bbws.handle_api_event(event, context)
//! ```
//!
//! The function (backend, router, relay) is built once per process, on the first event, from the
//! same environment variables as the Rust Lambda ([`lambda_backend_config`]: `BBWS_BACKEND`,
//! `BBWS_DATA_DIR` (default `/tmp/bbws-data`), `ENVIRONMENT`, `DYNAMODB_TABLE`, `EVENT_BUS_NAME`,
//! `AWS_ENDPOINT_URL`).

use std::sync::Arc;

use bbws_aws::Backend;
use bbws_core::Error;
use bbws_lambda::apigw::{ApiFunction, lambda_backend_config};
use pyo3::prelude::*;

use crate::convert::{self, Failure};
use crate::runtime;

static FUNCTION: tokio::sync::Mutex<Option<Arc<ApiFunction>>> = tokio::sync::Mutex::const_new(None);

/// The process's function, opened on first use. A failed open is not remembered: the next event
/// tries again (with the environment as it is then).
async fn function() -> Result<Arc<ApiFunction>, Error> {
    // Held across the open so two first events do not both open the (locked) embedded store.
    let mut slot = FUNCTION.lock().await;
    if let Some(f) = slot.as_ref() {
        return Ok(f.clone());
    }
    let config = lambda_backend_config(|k| std::env::var(k).ok())?;
    let backend = Backend::open(&config).await?;
    let f = Arc::new(ApiFunction::new(&backend));
    *slot = Some(f.clone());
    Ok(f)
}

/// Serves one API Gateway event; returns the API Gateway response (`statusCode`, `headers` or
/// `multiValueHeaders`, `body`, `isBase64Encoded`). Every refusal is a response with the API's
/// error envelope; only a backend that cannot be opened raises (its bbws exception).
#[pyfunction]
#[pyo3(signature = (event, context = None))]
pub fn handle_api_event<'py>(
    py: Python<'py>,
    event: &Bound<'py, PyAny>,
    context: Option<&Bound<'py, PyAny>>,
) -> Result<Bound<'py, PyAny>, Failure> {
    // The Lambda context is accepted for the handler signature; the request id comes from the
    // event's `requestContext.requestId`, as in the Rust Lambda.
    let _ = context;
    let event = convert::to_value(py, event, "event")?;
    let response = runtime::block_on(py, async move {
        let f = function().await?;
        Ok::<_, Error>(f.invoke(event).await)
    })??;
    Ok(convert::to_python(py, &response)?)
}
