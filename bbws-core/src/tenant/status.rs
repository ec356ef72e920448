//! Tenant status and its transition table (digest 2.5 §4.1; decisions C19 and C20).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The lifecycle status of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TenantStatus {
    Pending,
    Active,
    Suspended,
    Parked,
    Deprovisioned,
    Failed,
}

impl TenantStatus {
    pub const ALL: [TenantStatus; 6] = [
        Self::Pending,
        Self::Active,
        Self::Suspended,
        Self::Parked,
        Self::Deprovisioned,
        Self::Failed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::Parked => "PARKED",
            Self::Deprovisioned => "DEPROVISIONED",
            Self::Failed => "FAILED",
        }
    }

    /// The targets the transition table allows from this status (LLD §7.5 `STATUS_TRANSITIONS`).
    ///
    /// SUSPENDED → PARKED is not among them (C20: BR-PARK-001, BR-STATUS-008), and
    /// DEPROVISIONED is terminal (BR-STATUS-003).
    pub const fn allowed_transitions(self) -> &'static [TenantStatus] {
        use TenantStatus::{Active, Deprovisioned, Failed, Parked, Pending, Suspended};
        match self {
            Pending => &[Active, Failed],
            Active => &[Suspended, Parked, Deprovisioned],
            Suspended | Parked => &[Active, Deprovisioned],
            Failed => &[Pending],
            Deprovisioned => &[],
        }
    }

    /// Whether `PATCH /status` (and every dedicated lifecycle action) may move `self` to `to`.
    pub fn can_transition_to(self, to: TenantStatus) -> bool {
        self.allowed_transitions().contains(&to)
    }

    /// Whether `DELETE /tenants/{id}` may deprovision a tenant in this status.
    ///
    /// Decision C19: DELETE also removes PENDING and FAILED tenants, which the strict table would
    /// leave undeletable forever; `PATCH /status` keeps to the table.
    pub fn can_deprovision(self) -> bool {
        !matches!(self, Self::Deprovisioned)
    }

    /// The statuses DELETE accepts, for the 422 details.
    pub fn deprovision_sources() -> Vec<TenantStatus> {
        Self::ALL
            .into_iter()
            .filter(|s| s.can_deprovision())
            .collect()
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TenantStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            Error::field(
                "status",
                "Invalid status. Must be one of PENDING, ACTIVE, SUSPENDED, PARKED, DEPROVISIONED, FAILED",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::TenantStatus::{self, *};
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = TenantStatus> {
        prop::sample::select(TenantStatus::ALL.to_vec())
    }

    /// The table of digest §4.1, written out independently of the implementation.
    fn documented(from: TenantStatus, to: TenantStatus) -> bool {
        matches!(
            (from, to),
            (Pending, Active | Failed)
                | (Active, Suspended | Parked | Deprovisioned)
                | (Suspended | Parked, Active | Deprovisioned)
                | (Failed, Pending)
        )
    }

    proptest! {
        #[test]
        fn transitions_match_the_documented_table(from in status(), to in status()) {
            prop_assert_eq!(from.can_transition_to(to), documented(from, to));
        }

        #[test]
        fn deprovisioned_is_terminal(to in status()) {
            prop_assert!(!Deprovisioned.can_transition_to(to));
            prop_assert!(!Deprovisioned.can_deprovision());
        }

        #[test]
        fn no_self_transitions(s in status()) {
            prop_assert!(!s.can_transition_to(s));
        }

        #[test]
        fn every_status_reaches_deprovisioned_by_delete_except_itself(s in status()) {
            prop_assert_eq!(s.can_deprovision(), s != Deprovisioned);
        }

        #[test]
        fn wire_form_round_trips(s in status()) {
            prop_assert_eq!(s.as_str().parse::<TenantStatus>().ok(), Some(s));
            prop_assert!(s.as_str().to_lowercase().parse::<TenantStatus>().is_err());
        }

        /// Any walk through the table from PENDING never reaches SUSPENDED → PARKED (C20).
        #[test]
        fn suspended_never_parks(walk in prop::collection::vec(status(), 0..20)) {
            let mut at = Pending;
            for next in walk {
                if at.can_transition_to(next) {
                    prop_assert!(!(at == Suspended && next == Parked));
                    at = next;
                }
            }
        }
    }
}
