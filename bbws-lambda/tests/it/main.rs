//! The integration tests of bbws-lambda: the real router, in process, on the in-memory store,
//! driven with `tower::ServiceExt::oneshot`, and behind API Gateway with real event fixtures
//! (`lambda`).

mod audit;
mod auth;
mod bad_input;
mod idempotency;
mod instances;
mod lambda;
mod lifecycle;
mod openapi;
mod org_access;
mod org_flows;
mod org_support;
mod pagination;
mod support;
mod tenants;
