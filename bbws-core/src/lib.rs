//! bbws-core: the domain of the bbws control plane.
//!
//! - [`tenant`]: the tenant aggregate, its values and status machine, and [`tenant::TenantService`];
//! - [`org`]: a tenant's organisation (hierarchy, users and roles, invitations) and [`org::OrgService`];
//! - [`instance`]: per-tenant WordPress instances, their resource ledger, operations, cloud ports
//!   and the provisioning engine;
//! - [`auth`]: the caller ([`auth::Actor`]) and the role matrix;
//! - [`error`]: one error enum with stable codes;
//! - [`ports`]: the traits storage and external systems implement;
//! - [`store`]: the embedded store (redb, in memory or in a file), the one module here that does I/O;
//! - [`events`], [`audit`], [`idempotency`], [`pagination`], [`time`], [`ids`], [`records`]: shared pieces.

pub mod audit;
pub mod auth;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod instance;
pub mod org;
pub mod pagination;
pub mod ports;
pub mod records;
pub mod store;
pub mod tenant;
pub mod time;

pub use error::{Error, ErrorCode, Result};
