//! The organisation of a tenant (LLD 2.5 §6.6–6.8, LLD 2.1.6): its hierarchy of divisions,
//! groups and teams, its users and their roles, and invitations.
//!
//! - [`OrgService`]: every use case, authorized from the stored assignments (C24);
//! - [`ports`]: [`OrgDao`] with its atomic [`OrgWrite`] unit, [`IdentityDirectory`], [`Mailer`];
//! - [`records`]: the stored shapes;
//! - values and entities, parsed at the edge.

mod hierarchy;
mod invitations;
mod model;
pub mod ports;
pub mod records;
mod service;
mod users;
mod values;

pub use model::{
    Assignment, DirectoryUser, DivisionNode, GroupNode, HierarchySnapshot, Invitation, MailMessage,
    OrgTree, OrgUnit, PublicInvitation, StoredMail, TeamMember, TeamNode, TenantGroup,
};
pub use ports::{IdentityDirectory, Mailer, OrgDao, OrgWrite};
pub use service::{OrgAction, OrgPorts, OrgService, OrgServiceConfig};
pub use users::{ALREADY_IN_ANOTHER_TENANT, Assigned, UserProfile, UserTenant};
pub use values::{
    InvitationStatus, InvitationToken, Parent, TokenHash, UnitKind, UnitName, UnitPath, UserId,
};
