//! Server-generated identifiers and the [`IdGenerator`] port.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::{Error, Result};

/// The source of fresh UUIDs (v4 in production, predictable in some tests).
pub trait IdGenerator: Send + Sync + fmt::Debug {
    fn uuid(&self) -> Uuid;
}

/// Random v4 UUIDs.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn uuid(&self) -> Uuid {
        Uuid::new_v4()
    }
}

/// Parses `{prefix}{uuid}` where the UUID is lower-case, hyphenated (36 characters).
fn parse_prefixed(s: &str, prefix: &str) -> Option<Uuid> {
    let rest = s.strip_prefix(prefix)?;
    let ok = rest.len() == 36
        && rest.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        });
    if ok { Uuid::parse_str(rest).ok() } else { None }
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn generate(ids: &dyn IdGenerator) -> Self {
                Self(ids.uuid())
            }

            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                parse_prefixed(s, $prefix).map(Self).ok_or_else(|| {
                    Error::field(
                        $what,
                        concat!("Invalid ", $what, " format: expected ", $prefix, "{uuid}"),
                    )
                })
            }
        }
    };
}

prefixed_id!(
    /// `tenant-{uuid}` (BR-TEN-004). Immutable once created (BR-TEN-005).
    TenantId,
    "tenant-",
    "tenantId"
);
prefixed_id!(
    /// `evt-{uuid}`: an audit event or a published domain event.
    EventId,
    "evt-",
    "eventId"
);
prefixed_id!(
    /// `div-{uuid}`: a division of a tenant's organisation.
    DivisionId,
    "div-",
    "divisionId"
);
prefixed_id!(
    /// `grp-{uuid}`: a group within a division.
    GroupId,
    "grp-",
    "groupId"
);
prefixed_id!(
    /// `team-{uuid}`: a team within a group.
    TeamId,
    "team-",
    "teamId"
);
prefixed_id!(
    /// `inv-{uuid}`: an invitation to join a tenant.
    InvitationId,
    "inv-",
    "invitationId"
);

prefixed_id!(
    /// `inst-{uuid}`: one WordPress instance of a tenant (digest 2.7 §2.1).
    InstanceId,
    "inst-",
    "instanceId"
);
prefixed_id!(
    /// `op-{uuid}`: a long-running operation (digest 2.7 §2.3).
    OperationId,
    "op-",
    "operationId"
);
prefixed_id!(
    /// `backup-{uuid}`: a backup of an instance's database and files (digest 2.7 §2.4).
    BackupId,
    "backup-",
    "backupId"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_id_is_strict() {
        let ok = "tenant-123e4567-e89b-12d3-a456-426614174000";
        assert_eq!(ok.parse::<TenantId>().expect("valid").to_string(), ok);
        for bad in [
            "",
            "tenant-",
            "123e4567-e89b-12d3-a456-426614174000",
            "tenant-123E4567-E89B-12D3-A456-426614174000",
            "tenant-123e4567e89b12d3a456426614174000",
            "tenant-123e4567-e89b-12d3-a456-4266141740000",
            "TENANT-123e4567-e89b-12d3-a456-426614174000",
            "tenant-123e4567-e89b-12d3-a456-42661417400g",
        ] {
            assert!(bad.parse::<TenantId>().is_err(), "{bad} should be refused");
        }
    }
}
