//! The instance state machine (digest 2.7 §7.1 canonical set, §7.2 transitions).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The provisioning state of an instance (`provisioningState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceState {
    PendingProvisioning,
    Committing,
    WorkflowQueued,
    WorkflowRunning,
    Provisioning,
    Active,
    Scaling,
    Suspending,
    Suspended,
    Resuming,
    Parking,
    Parked,
    Unparking,
    PendingDeprovisioning,
    Deprovisioning,
    Deprovisioned,
    Failed,
    WorkflowFailed,
}

impl InstanceState {
    pub const ALL: [InstanceState; 18] = [
        Self::PendingProvisioning,
        Self::Committing,
        Self::WorkflowQueued,
        Self::WorkflowRunning,
        Self::Provisioning,
        Self::Active,
        Self::Scaling,
        Self::Suspending,
        Self::Suspended,
        Self::Resuming,
        Self::Parking,
        Self::Parked,
        Self::Unparking,
        Self::PendingDeprovisioning,
        Self::Deprovisioning,
        Self::Deprovisioned,
        Self::Failed,
        Self::WorkflowFailed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PendingProvisioning => "PENDING_PROVISIONING",
            Self::Committing => "COMMITTING",
            Self::WorkflowQueued => "WORKFLOW_QUEUED",
            Self::WorkflowRunning => "WORKFLOW_RUNNING",
            Self::Provisioning => "PROVISIONING",
            Self::Active => "ACTIVE",
            Self::Scaling => "SCALING",
            Self::Suspending => "SUSPENDING",
            Self::Suspended => "SUSPENDED",
            Self::Resuming => "RESUMING",
            Self::Parking => "PARKING",
            Self::Parked => "PARKED",
            Self::Unparking => "UNPARKING",
            Self::PendingDeprovisioning => "PENDING_DEPROVISIONING",
            Self::Deprovisioning => "DEPROVISIONING",
            Self::Deprovisioned => "DEPROVISIONED",
            Self::Failed => "FAILED",
            Self::WorkflowFailed => "WORKFLOW_FAILED",
        }
    }

    /// The states this one may move to (§7.2, with the REC completions: retry from FAILED,
    /// deprovisioning always through `PENDING_DEPROVISIONING`, wait timeouts to FAILED).
    pub const fn allowed_transitions(self) -> &'static [InstanceState] {
        use InstanceState::{
            Active, Committing, Deprovisioned, Deprovisioning, Failed, Parked, Parking,
            PendingDeprovisioning, PendingProvisioning, Provisioning, Resuming, Scaling, Suspended,
            Suspending, Unparking, WorkflowFailed, WorkflowQueued, WorkflowRunning,
        };
        match self {
            PendingProvisioning => &[Provisioning, Committing],
            Committing => &[WorkflowQueued, Failed],
            WorkflowQueued => &[WorkflowRunning, WorkflowFailed],
            WorkflowRunning => &[Provisioning, WorkflowFailed],
            Active => &[Suspending, Scaling, Parking, Failed, PendingDeprovisioning],
            Provisioning | Scaling | Resuming | Unparking => &[Active, Failed],
            Suspending => &[Suspended, Failed],
            Parking => &[Parked, Failed],
            Suspended => &[Resuming, PendingDeprovisioning],
            Parked => &[Unparking, PendingDeprovisioning],
            Failed => &[Active, PendingProvisioning, PendingDeprovisioning],
            WorkflowFailed => &[PendingProvisioning, PendingDeprovisioning],
            PendingDeprovisioning => &[Deprovisioning],
            Deprovisioning => &[Deprovisioned, Failed],
            Deprovisioned => &[],
        }
    }

    pub fn can_transition_to(self, to: InstanceState) -> bool {
        self.allowed_transitions().contains(&to)
    }

    /// Moves to `to`, or the 422 `INVALID_STATUS_TRANSITION` naming what is allowed.
    pub fn transition(self, to: InstanceState) -> Result<InstanceState> {
        if self.can_transition_to(to) {
            Ok(to)
        } else {
            Err(Error::InstanceTransition {
                message: format!(
                    "Cannot move an instance from {} to {}",
                    self.as_str(),
                    to.as_str()
                ),
                current: self,
                target: to,
                allowed: self.allowed_transitions().to_vec(),
            })
        }
    }

    /// Whether an instance in this state holds the tenant's one-active-instance guard (BR-002):
    /// every state but DEPROVISIONED.
    pub const fn holds_tenant(self) -> bool {
        !matches!(self, Self::Deprovisioned)
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstanceState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        // `PENDING_DEPRO` is the YAML/HLD alias of PENDING_DEPROVISIONING.
        if s == "PENDING_DEPRO" {
            return Ok(Self::PendingDeprovisioning);
        }
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| Error::field("provisioningState", format!("Unknown state {s}")))
    }
}

#[cfg(test)]
mod tests {
    use super::InstanceState::{self, *};
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    fn state() -> impl Strategy<Value = InstanceState> {
        prop::sample::select(InstanceState::ALL.to_vec())
    }

    /// §7.2 written out independently of the implementation.
    #[allow(clippy::unnested_or_patterns)]
    fn documented(from: InstanceState, to: InstanceState) -> bool {
        matches!(
            (from, to),
            (PendingProvisioning, Provisioning | Committing)
                | (Committing, WorkflowQueued | Failed)
                | (WorkflowQueued, WorkflowRunning | WorkflowFailed)
                | (WorkflowRunning, Provisioning | WorkflowFailed)
                | (Provisioning, Active | Failed)
                | (
                    Active,
                    Suspending | Scaling | Parking | Failed | PendingDeprovisioning
                )
                | (Suspending, Suspended | Failed)
                | (Suspended, Resuming | PendingDeprovisioning)
                | (Resuming | Scaling | Unparking, Active | Failed)
                | (Parking, Parked | Failed)
                | (Parked, Unparking | PendingDeprovisioning)
                | (Failed, Active | PendingProvisioning | PendingDeprovisioning)
                | (WorkflowFailed, PendingProvisioning | PendingDeprovisioning)
                | (PendingDeprovisioning, Deprovisioning)
                | (Deprovisioning, Deprovisioned | Failed)
        )
    }

    proptest! {
        #[test]
        fn transitions_match_the_digest(from in state(), to in state()) {
            prop_assert_eq!(from.can_transition_to(to), documented(from, to));
        }

        #[test]
        fn refusals_name_the_allowed_targets(from in state(), to in state()) {
            match from.transition(to) {
                Ok(s) => prop_assert_eq!(s, to),
                Err(e) => {
                    prop_assert_eq!(e.code(), ErrorCode::InvalidStatusTransition);
                    prop_assert_eq!(e.code().http_status(), 422);
                    let d = e.details();
                    prop_assert_eq!(d["currentStatus"].as_str(), Some(from.as_str()));
                    let allowed: Vec<&str> = from.allowed_transitions().iter().map(|s| s.as_str()).collect();
                    prop_assert_eq!(d["allowedTransitions"].clone(), serde_json::json!(allowed));
                }
            }
        }

        #[test]
        fn wire_form_round_trips(s in state()) {
            prop_assert_eq!(s.as_str().parse::<InstanceState>().ok(), Some(s));
        }

        #[test]
        fn deprovisioned_is_terminal(to in state()) {
            prop_assert!(!Deprovisioned.can_transition_to(to));
        }
    }

    #[test]
    fn pending_depro_alias_parses() {
        assert_eq!(
            "PENDING_DEPRO".parse::<InstanceState>().ok(),
            Some(PendingDeprovisioning)
        );
    }
}
