//! Wire shapes of the instance API (digest 2.7 §1.3, §1.4, §2.3) and their conversion to and
//! from domain types. Request bodies are strict: unknown fields are refused.

use bbws_core::error::{Error, FieldError};
use bbws_core::ids::{InstanceId, OperationId, TenantId};
use bbws_core::instance::{
    Accepted, DeprovisionOptions, DesiredCount, Instance, InstanceHealth, InstanceState,
    InstanceStatus, NewInstance, Operation, OpportunityId, Plan, ResourceKey, ServiceView,
    SizeTier, TaskSize,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::dto::{Link, Links, tenant_href};
use super::instance_update::UpdateInstanceRequest;

/// The base path of an instance.
pub fn instance_href(tenant: &TenantId, id: &InstanceId) -> String {
    format!("{}/instances/{id}", tenant_href(tenant))
}

/// The path of an operation.
pub fn operation_href(id: &OperationId) -> String {
    format!("/v1.0/operations/{id}")
}

/// The links of an instance in its state: navigation, plus the actions the state allows.
pub fn instance_links(i: &Instance) -> Links {
    let base = instance_href(&i.tenant_id, &i.id);
    let mut l = Links::new();
    l.insert("self".into(), Link::get(&base));
    l.insert("tenant".into(), Link::get(tenant_href(&i.tenant_id)));
    l.insert(
        "collection".into(),
        Link::get(format!("{}/instances", tenant_href(&i.tenant_id))),
    );
    if let Some(op) = &i.current_operation {
        l.insert("operation".into(), Link::get(operation_href(op)));
    }
    if i.state
        .can_transition_to(InstanceState::PendingDeprovisioning)
    {
        l.insert("deprovision".into(), Link::action("DELETE", &base));
    }
    let action = |name: &str| Link::action("POST", format!("{base}/{name}"));
    match i.state {
        InstanceState::Active => {
            for name in ["suspend", "park", "restart", "backup", "restore"] {
                l.insert(name.into(), action(name));
            }
            l.insert("scale".into(), Link::action("PUT", format!("{base}/size")));
            l.insert("update".into(), Link::action("PUT", &base));
        }
        InstanceState::Suspended => {
            l.insert("resume".into(), action("resume"));
            l.insert("backup".into(), action("backup"));
        }
        InstanceState::Parked => {
            l.insert("unpark".into(), action("unpark"));
            l.insert("backup".into(), action("backup"));
        }
        _ => {}
    }
    l.insert("backups".into(), Link::get(format!("{base}/backups")));
    if i.state != InstanceState::Deprovisioned {
        l.insert("terraform".into(), Link::get(format!("{base}/terraform")));
    }
    l.insert("status".into(), Link::get(format!("{base}/status")));
    l.insert("health".into(), Link::get(format!("{base}/health")));
    l.insert("logs".into(), Link::get(format!("{base}/logs")));
    if i.provisioned_at.is_some() && i.state != InstanceState::Deprovisioned {
        l.insert("identity".into(), Link::get(format!("{base}/identity")));
    }
    if i.state == InstanceState::Active {
        l.insert(
            "configureIdentity".into(),
            Link::action("PUT", format!("{base}/identity")),
        );
    }
    if i.state
        .can_transition_to(InstanceState::PendingProvisioning)
    {
        l.insert(
            "retry".into(),
            Link::action("POST", format!("{base}/retry")),
        );
    }
    l
}

/// Body of `POST /v1.0/tenants/{tenantId}/instances` (C2). `plan` is a synonym of `tier`
/// (`STARTER` ≡ `STANDARD`); `configuration.*` and the top-level fields are both accepted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInstanceRequest {
    #[schema(
        example = "STANDARD",
        pattern = "^(STARTER|STANDARD|PROFESSIONAL|ENTERPRISE)$"
    )]
    pub tier: Option<String>,
    /// Synonym of `tier`.
    pub plan: Option<String>,
    /// Overrides the tier's Fargate CPU units (with `memory`).
    pub cpu: Option<u32>,
    /// Overrides the tier's memory in MiB (with `cpu`).
    pub memory: Option<u32>,
    #[schema(minimum = 1, maximum = 10, example = 2)]
    pub desired_count: Option<i64>,
    #[schema(example = "latest")]
    pub wordpress_version: Option<String>,
    pub opportunity_id: Option<String>,
    /// The short key used in AWS names (default: derived from the tenant id).
    pub resource_key: Option<String>,
    pub configuration: Option<InstanceConfiguration>,
    /// Accepted for compatibility with the LLD request; the tenant's own values are used.
    pub organization_name: Option<String>,
    /// Accepted for compatibility with the LLD request; the tenant's own values are used.
    pub contact_email: Option<String>,
}

/// `configuration` of C2.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceConfiguration {
    #[schema(minimum = 1, maximum = 10)]
    pub desired_count: Option<i64>,
    pub wordpress_version: Option<String>,
}

fn collect<T>(fields: &mut Vec<FieldError>, r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Validation { fields: f, .. }) => {
            fields.extend(f);
            None
        }
        Err(e) => {
            fields.push(FieldError {
                field: "body".into(),
                message: e.to_string(),
            });
            None
        }
    }
}

fn agree<T: PartialEq + Clone>(
    fields: &mut Vec<FieldError>,
    name: &str,
    a: Option<T>,
    b: Option<T>,
) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) if a != b => {
            fields.push(FieldError {
                field: name.into(),
                message: format!("{name} and configuration.{name} disagree"),
            });
            None
        }
        (a, b) => a.or(b),
    }
}

impl CreateInstanceRequest {
    /// Parses into a [`NewInstance`]; `min_tasks` is the deployment's minimum task count.
    pub fn parse(self, min_tasks: u32) -> Result<NewInstance, Error> {
        let mut fields = Vec::new();
        let config = self.configuration.unwrap_or_default();
        let tier_raw = match (self.tier, self.plan) {
            (Some(t), Some(p)) => {
                let (a, b) = (t.parse::<SizeTier>().ok(), p.parse::<SizeTier>().ok());
                if a.is_some() && a != b {
                    fields.push(FieldError {
                        field: "plan".into(),
                        message: "tier and plan disagree".into(),
                    });
                }
                Some(t)
            }
            (t, p) => t.or(p),
        };
        let tier = match tier_raw {
            Some(t) => collect(&mut fields, t.parse::<SizeTier>()),
            None => Some(SizeTier::Standard),
        };
        let task_size = match (self.cpu, self.memory) {
            (None, None) => Some(None),
            (Some(c), Some(m)) => collect(&mut fields, TaskSize::new(c, m)).map(Some),
            _ => {
                fields.push(FieldError {
                    field: "cpu".into(),
                    message: "cpu and memory are given together".into(),
                });
                None
            }
        };
        let count = agree(
            &mut fields,
            "desiredCount",
            self.desired_count,
            config.desired_count,
        );
        let desired_count = match count {
            Some(n) => collect(&mut fields, DesiredCount::parse(n, min_tasks)),
            None => Some(DesiredCount::DEFAULT),
        };
        let version = agree(
            &mut fields,
            "wordpressVersion",
            self.wordpress_version,
            config.wordpress_version,
        )
        .unwrap_or_else(|| "latest".to_owned());
        if version.is_empty()
            || version.len() > 32
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            fields.push(FieldError {
                field: "wordpressVersion".into(),
                message: "wordpressVersion is 1-32 letters, digits, dots or hyphens".into(),
            });
        }
        let opportunity = self
            .opportunity_id
            .map(|o| collect(&mut fields, OpportunityId::parse(&o)));
        let resource_key = self
            .resource_key
            .map(|k| collect(&mut fields, ResourceKey::parse(&k)));
        match (tier, task_size, desired_count, opportunity, resource_key) {
            (Some(tier), Some(task_size), Some(desired_count), o, k) if fields.is_empty() => {
                Ok(NewInstance {
                    tier,
                    task_size,
                    desired_count,
                    wordpress_version: version,
                    opportunity: o.flatten(),
                    resource_key: k.flatten(),
                })
            }
            _ => Err(Error::fields(fields)),
        }
    }
}

/// The options of a deprovisioning (C5): `archiveData` (the API's default is true) and an
/// optional `reason` for the audit trail, at most 500 characters.
pub fn deprovision_options(
    archive_data: bool,
    reason: Option<String>,
) -> Result<DeprovisionOptions, Error> {
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(Error::field(
            "reason",
            "reason must be at most 500 characters",
        ));
    }
    Ok(DeprovisionOptions {
        archive_data,
        reason,
    })
}

/// An instance (C3; summary items of C1 have the same shape).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceResponse {
    #[schema(example = "inst-123e4567-e89b-12d3-a456-426614174000")]
    pub instance_id: String,
    pub tenant_id: String,
    /// The provisioning state (digest §7.1).
    #[schema(example = "PENDING_PROVISIONING")]
    pub status: String,
    pub provisioning_state: String,
    pub resource_key: String,
    pub environment: String,
    pub tier: String,
    pub cpu: u32,
    pub memory: u32,
    pub desired_count: u32,
    pub wordpress_version: String,
    /// The container image the service runs; null for an instance recorded before images
    /// were (it runs the platform's image of `wordpressVersion`).
    #[schema(example = "dev-wordpress:6.4.2")]
    pub container_image: Option<String>,
    pub opportunity_id: Option<String>,
    pub domain: String,
    pub endpoint: String,
    /// Ids and ARNs of the live resources (ledger type → id).
    #[schema(value_type = Object)]
    pub resources: Map<String, Value>,
    #[schema(value_type = Option<Object>)]
    pub last_error: Option<Value>,
    pub current_operation_id: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    pub provisioned_at: Option<String>,
    pub deprovisioned_at: Option<String>,
    pub version: u64,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

fn failure_json(f: &bbws_core::instance::FailureReason) -> Value {
    serde_json::json!({"code": f.code.as_str(), "message": f.message, "resources": f.resources})
}

impl From<&Instance> for InstanceResponse {
    fn from(i: &Instance) -> Self {
        Self {
            instance_id: i.id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            status: i.state.as_str().to_owned(),
            provisioning_state: i.state.as_str().to_owned(),
            resource_key: i.resource_key.as_str().to_owned(),
            environment: i.environment.as_str().to_owned(),
            tier: i.tier.as_str().to_owned(),
            cpu: i.task_size.cpu(),
            memory: i.task_size.memory(),
            desired_count: i.desired_count.get(),
            wordpress_version: i.wordpress_version.clone(),
            container_image: i.container_image.clone(),
            opportunity_id: i.opportunity.as_ref().map(|o| o.as_str().to_owned()),
            domain: i.domain.clone(),
            endpoint: i.endpoint(),
            resources: i
                .resources
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                .collect(),
            last_error: i.last_error.as_ref().map(failure_json),
            current_operation_id: i.current_operation.map(|o| o.to_string()),
            created_at: i.created.at.to_string(),
            created_by: i.created.by.clone(),
            updated_at: i.updated.at.to_string(),
            updated_by: i.updated.by.clone(),
            provisioned_at: i.provisioned_at.map(|t| t.to_string()),
            deprovisioned_at: i.deprovisioned_at.map(|t| t.to_string()),
            version: i.version,
            links: instance_links(i),
        }
    }
}

/// C1.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceListResponse {
    pub instances: Vec<InstanceResponse>,
    pub count: usize,
    pub more_available: bool,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl InstanceListResponse {
    /// A tenant's instances as C1 lists them; `self_href` is the path the list was asked on.
    pub fn new(tenant: &TenantId, items: &[Instance], self_href: &str) -> Self {
        let mut links = Links::new();
        links.insert("self".into(), Link::get(self_href));
        links.insert("tenant".into(), Link::get(tenant_href(tenant)));
        links.insert(
            "provision".into(),
            Link::action("POST", format!("{}/instances", tenant_href(tenant))),
        );
        let instances: Vec<InstanceResponse> = items.iter().map(InstanceResponse::from).collect();
        Self {
            count: instances.len(),
            instances,
            more_available: false,
            links,
        }
    }
}

/// One step of an operation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationStepResponse {
    #[schema(example = "create-cognito-pool")]
    pub name: String,
    #[schema(example = "PENDING")]
    pub status: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub attempts: u32,
    pub resource_id: Option<String>,
    pub error: Option<String>,
}

/// An operation (C20, §2.3).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationResponse {
    #[schema(example = "op-123e4567-e89b-12d3-a456-426614174000")]
    pub operation_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    #[schema(example = "PROVISION")]
    pub r#type: String,
    #[schema(example = "PENDING")]
    pub status: String,
    pub phase: String,
    /// 0–100: the share of the expected work done.
    pub progress: u8,
    pub current_step: Option<String>,
    pub message: String,
    /// `{code, message, resources}` when the operation failed.
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    pub estimated_completion_at: Option<String>,
    pub steps: Vec<OperationStepResponse>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub requested_by: String,
    pub correlation_id: String,
    /// `UPDATE` operations: the change asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateInstanceRequest>,
    /// BACKUP: the backup it takes; RESTORE: the backup it replays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// RESTORE: the backup it takes of the data it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_restore_backup_id: Option<String>,
    pub version: u64,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&Operation> for OperationResponse {
    fn from(o: &Operation) -> Self {
        let mut links = Links::new();
        links.insert("self".into(), Link::get(operation_href(&o.id)));
        links.insert(
            "instance".into(),
            Link::get(instance_href(&o.tenant_id, &o.instance_id)),
        );
        links.insert("tenant".into(), Link::get(tenant_href(&o.tenant_id)));
        Self {
            operation_id: o.id.to_string(),
            tenant_id: o.tenant_id.to_string(),
            instance_id: o.instance_id.to_string(),
            r#type: o.op_type.as_str().to_owned(),
            status: o.status.as_str().to_owned(),
            phase: o.phase.as_str().to_owned(),
            progress: o.progress,
            current_step: o.current_step.map(|s| s.as_str().to_owned()),
            message: o.message.clone(),
            error: o.error.as_ref().map(failure_json),
            estimated_completion_at: o.estimated_completion_at.map(|t| t.to_string()),
            steps: o
                .steps
                .iter()
                .map(|s| OperationStepResponse {
                    name: s.name.as_str().to_owned(),
                    status: s.status.as_str().to_owned(),
                    started_at: s.started_at.map(|t| t.to_string()),
                    completed_at: s.completed_at.map(|t| t.to_string()),
                    attempts: s.attempts,
                    resource_id: s.resource_id.clone(),
                    error: s.error.clone(),
                })
                .collect(),
            created_at: o.created_at.to_string(),
            updated_at: o.updated_at.to_string(),
            completed_at: o.completed_at.map(|t| t.to_string()),
            requested_by: o.requested_by.clone(),
            correlation_id: o.correlation_id.clone(),
            update: o.update.as_ref().map(UpdateInstanceRequest::from),
            backup_id: o.backup_id.map(|b| b.to_string()),
            pre_restore_backup_id: o.safety_backup_id.map(|b| b.to_string()),
            version: o.version,
            links,
        }
    }
}

/// The 202 answer of C2, C5 and retry (the digest's `AsyncResponse` union).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedResponse {
    pub operation_id: String,
    pub instance_id: String,
    pub tenant_id: String,
    /// The instance's provisioning state.
    #[schema(example = "PENDING_PROVISIONING")]
    pub status: String,
    pub message: String,
    pub estimated_completion_minutes: u64,
    pub operation: OperationResponse,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl AcceptedResponse {
    /// The 202 body of an accepted operation: `message` says what was accepted, and if the
    /// operation has already failed (a cloud that only records plans), why.
    pub fn new(a: &Accepted, message: &str) -> Self {
        let op: &Operation = &a.operation;
        let href = operation_href(&op.id);
        let base = instance_href(&a.instance.tenant_id, &a.instance.id);
        let mut links = Links::new();
        links.insert("self".into(), Link::get(&href));
        links.insert("operation".into(), Link::get(&href));
        links.insert("status".into(), Link::get(&href));
        links.insert("instance".into(), Link::get(&base));
        links.insert(
            "collection".into(),
            Link::get(format!("{}/instances", tenant_href(&a.instance.tenant_id))),
        );
        let expected: u64 = op.steps.iter().map(|s| s.name.expected().as_secs()).sum();
        let message = match &op.error {
            Some(e) => format!(
                "{message}; the operation then failed: {} {}",
                e.code.as_str(),
                e.message
            ),
            None => message.to_owned(),
        };
        Self {
            operation_id: op.id.to_string(),
            instance_id: a.instance.id.to_string(),
            tenant_id: a.instance.tenant_id.to_string(),
            status: a.instance.state.as_str().to_owned(),
            message,
            estimated_completion_minutes: expected.div_ceil(60),
            operation: OperationResponse::from(op),
            links,
        }
    }
}

/// One planned AWS call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedCallResponse {
    #[schema(example = "cognito-idp")]
    pub service: String,
    #[schema(example = "CreateUserPool")]
    pub action: String,
    pub resource: String,
    #[schema(value_type = Object)]
    pub tags: Map<String, Value>,
    #[schema(value_type = Object)]
    pub params: Value,
}

/// The answer of `?dryRun=true`: the calls the operation would make; nothing is created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanResponse {
    pub dry_run: bool,
    pub source: String,
    pub calls: Vec<PlannedCallResponse>,
    /// The plan as text, one numbered call a line.
    pub rendered: String,
}

impl From<&Plan> for PlanResponse {
    fn from(p: &Plan) -> Self {
        Self {
            dry_run: true,
            source: p.source.clone(),
            calls: p
                .calls
                .iter()
                .map(|c| PlannedCallResponse {
                    service: c.service.clone(),
                    action: c.action.clone(),
                    resource: c.resource.clone(),
                    tags: c
                        .tags
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                    // A call without parameters shows an empty object, as the schema says.
                    params: match &c.params {
                        Value::Null => Value::Object(Map::new()),
                        p => p.clone(),
                    },
                })
                .collect(),
            rendered: p.render(),
        }
    }
}

/// One deployment of the instance's service (C6).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentResponse {
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    #[schema(example = "PRIMARY")]
    pub status: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    #[schema(example = "COMPLETED")]
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub task_definition: String,
    pub desired_count: u32,
    pub running_count: u32,
    pub pending_count: u32,
}

/// One task of the instance's service (C6).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskResponse {
    pub task_id: String,
    #[schema(example = "RUNNING")]
    pub last_status: String,
    #[schema(example = "HEALTHY")]
    pub health_status: Option<String>,
    pub started_at: Option<String>,
    /// CPU units, as ECS reports them.
    pub cpu: Option<String>,
    /// Memory in MiB, as ECS reports it.
    pub memory: Option<String>,
    pub task_definition: Option<String>,
}

/// C6: the live running status of an instance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStatusResponse {
    pub instance_id: String,
    pub tenant_id: String,
    /// The stored provisioning state (digest §7.1).
    #[schema(example = "ACTIVE")]
    pub status: String,
    pub provisioning_state: String,
    /// `FOUND` (ECS answered), `NOT_FOUND` (the instance should have a service and ECS has
    /// none), `NOT_PROVISIONED` (no service in this state) or `UNKNOWN` (ECS could not be asked;
    /// see `reason`).
    #[schema(example = "FOUND")]
    pub service_status: String,
    pub reason: Option<String>,
    pub service_arn: Option<String>,
    pub task_definition: Option<String>,
    /// The counts ECS answered; absent when it was not (or could not be) asked.
    pub desired_count: Option<u32>,
    pub running_count: Option<u32>,
    pub pending_count: Option<u32>,
    /// The PRIMARY deployment's rollout state.
    pub deployment_status: Option<String>,
    pub deployments: Vec<DeploymentResponse>,
    pub tasks: Vec<TaskResponse>,
    /// When the instance record last changed.
    pub last_updated: String,
    /// When ECS was asked.
    pub checked_at: String,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// The links of the live reads: the instance, the other live read, and the actions the state
/// allows.
fn live_links(i: &Instance, this: &str, other: &str) -> Links {
    let base = instance_href(&i.tenant_id, &i.id);
    let mut l = Links::new();
    l.insert("self".into(), Link::get(format!("{base}/{this}")));
    l.insert("instance".into(), Link::get(&base));
    l.insert(other.into(), Link::get(format!("{base}/{other}")));
    let action = |name: &str| Link::action("POST", format!("{base}/{name}"));
    match i.state {
        InstanceState::Active => {
            l.insert("scale".into(), Link::action("PUT", format!("{base}/size")));
            l.insert("suspend".into(), action("suspend"));
        }
        InstanceState::Suspended => {
            l.insert("resume".into(), action("resume"));
        }
        InstanceState::Parked => {
            l.insert("unpark".into(), action("unpark"));
        }
        _ => {}
    }
    l
}

impl From<&InstanceStatus> for InstanceStatusResponse {
    fn from(s: &InstanceStatus) -> Self {
        let i = &s.instance;
        let (service_status, reason, svc) = match &s.service {
            ServiceView::Found(svc) => ("FOUND", None, Some(svc)),
            ServiceView::Missing => (
                "NOT_FOUND",
                Some("the instance's ECS service does not exist".to_owned()),
                None,
            ),
            ServiceView::NotProvisioned => (
                "NOT_PROVISIONED",
                Some(format!("a {} instance has no ECS service", i.state)),
                None,
            ),
            ServiceView::Unknown(why) => ("UNKNOWN", Some(why.clone()), None),
        };
        Self {
            instance_id: i.id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            status: i.state.as_str().to_owned(),
            provisioning_state: i.state.as_str().to_owned(),
            service_status: service_status.to_owned(),
            reason,
            service_arn: svc.map(|v| v.arn.clone()),
            task_definition: svc.map(|v| v.task_definition.clone()),
            desired_count: svc.map(|v| v.desired_count),
            running_count: svc.map(|v| v.running_count),
            pending_count: svc.map(|v| v.pending_count),
            deployment_status: svc
                .and_then(|v| v.primary())
                .and_then(|d| d.rollout_state.clone()),
            deployments: svc
                .map(|v| {
                    v.deployments
                        .iter()
                        .map(|d| DeploymentResponse {
                            id: d.id.clone(),
                            status: d.status.clone(),
                            rollout_state: d.rollout_state.clone(),
                            rollout_state_reason: d.rollout_state_reason.clone(),
                            task_definition: d.task_definition.clone(),
                            desired_count: d.desired_count,
                            running_count: d.running_count,
                            pending_count: d.pending_count,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            tasks: svc
                .map(|v| {
                    v.tasks
                        .iter()
                        .map(|t| TaskResponse {
                            task_id: t.task_id.clone(),
                            last_status: t.last_status.clone(),
                            health_status: t.health_status.clone(),
                            started_at: t.started_at.map(|t| t.to_string()),
                            cpu: t.cpu.clone(),
                            memory: t.memory.clone(),
                            task_definition: t.task_definition.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            last_updated: i.updated.at.to_string(),
            checked_at: s.checked_at.to_string(),
            links: live_links(i, "status", "health"),
        }
    }
}

/// One component of C17.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentHealthResponse {
    /// `HEALTHY`, `UNHEALTHY`, `UNKNOWN` (not answerable now; see `reason`) or `NOT_APPLICABLE`
    /// (the component does not exist in the instance's state).
    #[schema(example = "HEALTHY")]
    pub status: String,
    pub reason: String,
    /// The id or name that was looked at.
    pub resource: Option<String>,
}

/// C17: the composite health of an instance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceHealthResponse {
    pub instance_id: String,
    pub tenant_id: String,
    pub provisioning_state: String,
    /// `HEALTHY` (every component that applies is), `UNHEALTHY` (one is not, or the instance is
    /// FAILED) or `UNKNOWN` (one could not be asked, the instance is changing state, or nothing
    /// is provisioned).
    #[schema(example = "HEALTHY")]
    pub health_status: String,
    /// `ecs`, `targetGroup`, `efsAccessPoint`, `database`, `cognitoUserPool`.
    #[schema(value_type = std::collections::HashMap<String, ComponentHealthResponse>)]
    pub components: std::collections::BTreeMap<String, ComponentHealthResponse>,
    pub checked_at: String,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&InstanceHealth> for InstanceHealthResponse {
    fn from(h: &InstanceHealth) -> Self {
        let i = &h.instance;
        Self {
            instance_id: i.id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            provisioning_state: i.state.as_str().to_owned(),
            health_status: h.status.as_str().to_owned(),
            components: h
                .components
                .iter()
                .map(|(c, v)| {
                    (
                        c.as_str().to_owned(),
                        ComponentHealthResponse {
                            status: v.status.as_str().to_owned(),
                            reason: v.reason.clone(),
                            resource: v.resource.clone(),
                        },
                    )
                })
                .collect(),
            checked_at: h.checked_at.to_string(),
            links: live_links(i, "health", "status"),
        }
    }
}
