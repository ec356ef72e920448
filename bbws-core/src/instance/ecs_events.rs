//! ECS events (digest 2.7 §8): reading the EventBridge events ECS sends about a tenant's
//! service, and the guarded status mapping of §8.3 as a pure decision.
//!
//! An event is read from its EventBridge envelope: `source` must be `aws.ecs`; the event's name
//! is `detail.eventName` (both the real `SERVICE_DEPLOYMENT_*` spelling and the LLD's
//! `DEPLOYMENT_*` are accepted); its time is `detail.createdAt` (service actions),
//! `detail.updatedAt` (deployments) or the envelope's `time`; the service is `resources[0]`.
//! Tags are taken from `detail.tags` when present (ECS service events carry none; the handler
//! then asks `ListTagsForResource`, §8.4), and the resource key can be read from the service's
//! name (`tenant-{key}-wordpress`, the direct path's naming).
//!
//! [`decide`] maps (state, event) to what the handler does: move the instance, only record the
//! event (no state change: periodic steady states, guards that refuse), or ignore it. While a
//! runner (the engine) owns the instance's operation, ECS events never move the instance: the
//! engine's own health wait decides, and a concurrent change would break its run.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::time::Timestamp;

use super::state::InstanceState;
use super::values::ResourceKey;

/// What happened, by `detail.eventName` (§8.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcsEventKind {
    SteadyState,
    TaskStartImpaired,
    DesiredCountUpdated,
    DeploymentCompleted,
    DeploymentFailed,
    DeploymentInProgress,
    /// `ECS Task State Change`: logged only.
    TaskStateChange,
    /// Any other event name (`TASKSET_STEADY_STATE`, ...): logged and ignored.
    Other(String),
}

impl EcsEventKind {
    fn from_name(detail_type: &str, name: &str) -> Self {
        if detail_type == "ECS Task State Change" {
            return Self::TaskStateChange;
        }
        match name {
            "SERVICE_STEADY_STATE" => Self::SteadyState,
            "SERVICE_TASK_START_IMPAIRED" => Self::TaskStartImpaired,
            "SERVICE_DESIRED_COUNT_UPDATED" => Self::DesiredCountUpdated,
            "SERVICE_DEPLOYMENT_COMPLETED" | "DEPLOYMENT_COMPLETED" => Self::DeploymentCompleted,
            "SERVICE_DEPLOYMENT_FAILED" | "DEPLOYMENT_FAILED" => Self::DeploymentFailed,
            "SERVICE_DEPLOYMENT_IN_PROGRESS" | "DEPLOYMENT_IN_PROGRESS" => {
                Self::DeploymentInProgress
            }
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for EcsEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SteadyState => "SERVICE_STEADY_STATE",
            Self::TaskStartImpaired => "SERVICE_TASK_START_IMPAIRED",
            Self::DesiredCountUpdated => "SERVICE_DESIRED_COUNT_UPDATED",
            Self::DeploymentCompleted => "SERVICE_DEPLOYMENT_COMPLETED",
            Self::DeploymentFailed => "SERVICE_DEPLOYMENT_FAILED",
            Self::DeploymentInProgress => "SERVICE_DEPLOYMENT_IN_PROGRESS",
            Self::TaskStateChange => "TASK_STATE_CHANGE",
            Self::Other(name) => name,
        })
    }
}

/// One ECS event, as the handler needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsEvent {
    /// The envelope's `id` (duplicates are skipped by it).
    pub id: String,
    pub detail_type: String,
    pub kind: EcsEventKind,
    pub time: Timestamp,
    /// `resources[0]`: the service (or task) ARN.
    pub resource_arn: Option<String>,
    pub reason: Option<String>,
    /// `detail.tags`, when the event carries them.
    pub tags: BTreeMap<String, String>,
}

/// What an event is to the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedEvent {
    Ecs(EcsEvent),
    /// `source` is not `aws.ecs`: not ours to read (§8.4 source filter).
    NotEcs {
        source: String,
    },
}

fn text<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Reads an EventBridge event. A malformed event (no id, no detail-type, an unreadable time) is
/// a `VALIDATION_ERROR` naming the field.
pub fn parse_event(event: &Value) -> Result<ParsedEvent> {
    let source = text(event, "/source").unwrap_or_default();
    if source != "aws.ecs" {
        return Ok(ParsedEvent::NotEcs {
            source: source.to_owned(),
        });
    }
    let id = text(event, "/id").ok_or_else(|| Error::field("id", "The event has no id"))?;
    let detail_type = text(event, "/detail-type")
        .ok_or_else(|| Error::field("detail-type", "The event has no detail-type"))?;
    let name = text(event, "/detail/eventName").unwrap_or_default();
    let raw_time = text(event, "/detail/createdAt")
        .or_else(|| text(event, "/detail/updatedAt"))
        .or_else(|| text(event, "/time"))
        .ok_or_else(|| Error::field("time", "The event has no time"))?;
    let time = parse_time(raw_time)?;
    let tags = event
        .pointer("/detail/tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| Some((text(t, "/key")?.to_owned(), text(t, "/value")?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(ParsedEvent::Ecs(EcsEvent {
        id: id.to_owned(),
        detail_type: detail_type.to_owned(),
        kind: EcsEventKind::from_name(detail_type, name),
        time,
        resource_arn: text(event, "/resources/0").map(str::to_owned),
        reason: text(event, "/detail/reason").map(str::to_owned),
        tags,
    }))
}

/// ECS writes times with or without milliseconds (`2019-11-19T19:27:22Z`,
/// `2019-11-19T19:27:22.695Z`).
fn parse_time(raw: &str) -> Result<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| Timestamp::from_datetime(t.with_timezone(&chrono::Utc)))
        .map_err(|_| Error::field("time", format!("Unreadable event time {raw}")))
}

impl EcsEvent {
    /// The service's name: the last segment of a service ARN
    /// (`arn:aws:ecs:{region}:{account}:service/{cluster}/{name}`).
    pub fn service_name(&self) -> Option<&str> {
        let arn = self.resource_arn.as_deref()?;
        let (_, path) = arn.split_once(":service/")?;
        path.rsplit('/').next().filter(|n| !n.is_empty())
    }

    /// The resource key the service's name carries, if it is named as the direct path names
    /// services (`tenant-{key}-wordpress`): the last fallback of §8.4.
    pub fn resource_key(&self) -> Option<ResourceKey> {
        let key = self
            .service_name()?
            .strip_prefix("tenant-")?
            .strip_suffix("-wordpress")?;
        ResourceKey::parse(key).ok()
    }
}

/// What the handler does with an event for an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcsDecision {
    /// Move the instance to this state (and record the event).
    Move(InstanceState),
    /// Record the event (`lastEcsEvent*`) without changing the state.
    Record,
    /// Neither: the event says nothing about this instance now.
    Ignore,
}

/// The guarded mapping of §8.3 for an instance in `state`. `owned` is true while a runner holds
/// the instance's operation: then nothing moves (the engine decides), events are only recorded.
pub fn decide(state: InstanceState, kind: &EcsEventKind, owned: bool) -> EcsDecision {
    use InstanceState as S;
    if matches!(
        state,
        S::PendingDeprovisioning | S::Deprovisioning | S::Deprovisioned
    ) {
        return EcsDecision::Ignore;
    }
    let target = match kind {
        EcsEventKind::TaskStateChange | EcsEventKind::Other(_) => return EcsDecision::Ignore,
        EcsEventKind::SteadyState | EcsEventKind::DeploymentCompleted => match state {
            S::Provisioning | S::Scaling | S::Resuming | S::Unparking | S::Failed => {
                Some(S::Active)
            }
            // The service reached desired 0.
            S::Suspending => Some(S::Suspended),
            S::Parking => Some(S::Parked),
            _ => None,
        },
        EcsEventKind::TaskStartImpaired | EcsEventKind::DeploymentFailed => match state {
            S::Suspended | S::Parked => return EcsDecision::Ignore,
            _ => Some(S::Failed),
        },
        EcsEventKind::DesiredCountUpdated => (state == S::Active).then_some(S::Scaling),
        // Never demote ACTIVE during a rolling update.
        EcsEventKind::DeploymentInProgress => {
            (state == S::WorkflowRunning).then_some(S::Provisioning)
        }
    };
    match target {
        Some(to) if !owned && state.can_transition_to(to) => EcsDecision::Move(to),
        _ => EcsDecision::Record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn steady(service: &str) -> Value {
        json!({
            "version": "0", "id": "af3c496d-f4a8-65d1-70f4-a69d52e9b584",
            "detail-type": "ECS Service Action", "source": "aws.ecs",
            "account": "111122223333", "time": "2019-11-19T19:27:22Z", "region": "us-west-2",
            "resources": [format!("arn:aws:ecs:us-west-2:111122223333:service/dev-cluster/{service}")],
            "detail": {"eventType": "INFO", "eventName": "SERVICE_STEADY_STATE",
                       "clusterArn": "arn:aws:ecs:us-west-2:111122223333:cluster/dev-cluster",
                       "createdAt": "2019-11-19T19:27:22.695Z"}
        })
    }

    #[test]
    fn a_service_action_is_read_with_its_detail_time_and_service() {
        let ParsedEvent::Ecs(e) = parse_event(&steady("tenant-acme-wordpress")).expect("parses")
        else {
            panic!("an ECS event");
        };
        assert_eq!(e.kind, EcsEventKind::SteadyState);
        assert_eq!(e.time.to_string(), "2019-11-19T19:27:22.695Z");
        assert_eq!(e.service_name(), Some("tenant-acme-wordpress"));
        assert_eq!(
            e.resource_key().map(|k| k.as_str().to_owned()),
            Some("acme".into())
        );
        assert!(e.tags.is_empty());

        let ParsedEvent::Ecs(other) = parse_event(&steady("legacy-site")).expect("parses") else {
            panic!("an ECS event");
        };
        assert_eq!(other.resource_key(), None, "not a bbws service name");
    }

    #[test]
    fn other_sources_are_not_read_and_broken_events_name_the_field() {
        let mut e = steady("tenant-acme-wordpress");
        e["source"] = json!("aws.ec2");
        assert_eq!(
            parse_event(&e).expect("not an error"),
            ParsedEvent::NotEcs {
                source: "aws.ec2".into()
            }
        );
        let mut e = steady("tenant-acme-wordpress");
        e["detail"]["createdAt"] = json!("yesterday");
        match parse_event(&e) {
            Err(Error::Validation { fields, .. }) => assert_eq!(fields[0].field, "time"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_guards_of_the_mapping() {
        use EcsDecision::{Ignore, Move, Record};
        use InstanceState as S;
        let steady = EcsEventKind::SteadyState;
        // Completion moves what is on its way to running; a periodic steady state changes nothing.
        assert_eq!(decide(S::Provisioning, &steady, false), Move(S::Active));
        assert_eq!(decide(S::Active, &steady, false), Record);
        // Desired 0 reached: suspended and parked stay so.
        assert_eq!(decide(S::Suspending, &steady, false), Move(S::Suspended));
        assert_eq!(decide(S::Suspended, &steady, false), Record);
        assert_eq!(decide(S::Parked, &steady, false), Record);
        // Impairment fails a running service, not a stopped one.
        let impaired = EcsEventKind::TaskStartImpaired;
        assert_eq!(decide(S::Active, &impaired, false), Move(S::Failed));
        assert_eq!(decide(S::Suspended, &impaired, false), Ignore);
        // A rolling update never demotes ACTIVE.
        let rolling = EcsEventKind::DeploymentInProgress;
        assert_eq!(decide(S::Active, &rolling, false), Record);
        assert_eq!(
            decide(S::WorkflowRunning, &rolling, false),
            Move(S::Provisioning)
        );
        // Deprovisioning is the worker's; task events are logged only.
        assert_eq!(decide(S::Deprovisioning, &steady, false), Ignore);
        assert_eq!(
            decide(S::Active, &EcsEventKind::TaskStateChange, false),
            Ignore
        );
        // While the engine owns the operation, nothing moves.
        assert_eq!(decide(S::Provisioning, &steady, true), Record);
    }

    #[test]
    fn every_move_is_a_transition_the_state_machine_allows() {
        let kinds = [
            EcsEventKind::SteadyState,
            EcsEventKind::TaskStartImpaired,
            EcsEventKind::DesiredCountUpdated,
            EcsEventKind::DeploymentCompleted,
            EcsEventKind::DeploymentFailed,
            EcsEventKind::DeploymentInProgress,
        ];
        for state in InstanceState::ALL {
            for kind in &kinds {
                if let EcsDecision::Move(to) = decide(state, kind, false) {
                    assert!(state.can_transition_to(to), "{state} -> {to} on {kind}");
                }
            }
        }
    }
}
