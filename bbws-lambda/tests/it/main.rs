//! The integration tests of bbws-lambda: the real router, in process, on the in-memory store,
//! driven with `tower::ServiceExt::oneshot`, and behind API Gateway with real event fixtures
//! (`lambda`); the organisation access matrix and invitation lifecycle also on DynamoDB with
//! Cognito and SES (a moto server, `org_moto`).

mod audit;
mod auth;
mod bad_input;
mod ecs_events;
mod idempotency;
mod instance_audit;
mod instance_backups;
mod instance_identity_logs;
mod instance_lifecycle;
mod instance_live;
mod instance_terraform;
mod instance_update;
mod instances;
mod lambda;
mod lifecycle;
#[path = "../../../bbws-aws/tests/it/moto.rs"]
mod moto;
mod openapi;
mod org_access;
mod org_flows;
mod org_moto;
mod org_support;
mod pagination;
mod support;
mod tenants;
mod worker;
