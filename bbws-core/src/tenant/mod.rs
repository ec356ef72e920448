//! Tenants: the aggregate, its values, its status machine and its service (LLD 2.5).

mod model;
mod service;
mod status;
mod values;

pub use model::{FieldChange, NewTenant, Patch, ReasonedStamp, Stamp, Tenant, TenantPatch};
pub use service::{
    Created, TenantFilter, TenantPorts, TenantService, TenantServiceConfig, name_taken,
};
pub use status::TenantStatus;
pub use values::{Email, Environment, OrganizationName, Reason, UnitLabel};
