//! bbws-core integration tests: `TenantService` on the real embedded store (in memory and on
//! file), never on mocks of our own traits. Each module covers one area a user would notice.

mod authorization;
mod concurrency;
mod create;
mod deprovision;
mod idempotency;
mod instances;
mod lifecycle;
mod names;
mod org_hierarchy;
mod org_invitations;
mod org_persistence;
mod org_support;
mod org_users;
mod outbox;
mod pagination;
mod persistence;
mod set_status;
mod support;
mod update;
