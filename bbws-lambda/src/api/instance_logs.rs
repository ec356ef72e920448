//! C15 `GET /v1.0/tenants/{tenantId}/instances/{instanceId}/logs`: the instance's container logs
//! from CloudWatch Logs, one page at a time (digest 2.7 §1.3 "Logs query", §6 "Logs").
//!
//! Query: `startTime` / `endTime` (RFC 3339; without `startTime` the hour before `endTime`,
//! which defaults to now), `limit` 1–1000 (default 100; `pageSize` is accepted as its alias)
//! and the opaque `nextToken` (alias `startAt`), which carries its window: the next page needs
//! only the token. Who may call: any member of the tenant (`Read`); outside it, 404. Without a
//! live cloud (the plan recorder of `bbws serve`) it is 503 `CLOUD_UNAVAILABLE`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bbws_core::Error;
use bbws_core::instance::{LogPage, LogQuery};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{Link, Links};
use super::error::ApiError;
use super::extract::{Caller, PathParams, QueryPairs};
use super::instance_dto::instance_href;
use super::instances::{InstancesState, instance_id};

/// One line a container wrote.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryResponse {
    #[schema(example = "2026-01-05T12:00:10.000Z")]
    pub timestamp: String,
    pub message: String,
    /// `{resourceKey}/wordpress/{taskId}`.
    #[schema(example = "acme/wordpress/0f1e2d3c4b5a69788796a5b4c3d2e1f0")]
    pub log_stream: String,
}

/// One page of an instance's container logs, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceLogsResponse {
    pub tenant_id: String,
    pub instance_id: String,
    pub entries: Vec<LogEntryResponse>,
    pub count: usize,
    /// The window read (inclusive).
    pub start_time: String,
    pub end_time: String,
    pub limit: u32,
    /// Where the next page starts; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub more_available: bool,
    /// `self`, `instance`, and `next` while there is more.
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&LogPage> for InstanceLogsResponse {
    fn from(p: &LogPage) -> Self {
        let instance = instance_href(&p.instance.tenant_id, &p.instance.id);
        let base = format!("{instance}/logs");
        let limit = p.limit.get();
        let mut links = Links::from([
            (
                "self".to_owned(),
                Link::get(format!(
                    "{base}?startTime={}&endTime={}&limit={limit}",
                    p.start, p.end
                )),
            ),
            ("instance".to_owned(), Link::get(instance)),
        ]);
        if let Some(next) = &p.next {
            links.insert(
                "next".to_owned(),
                Link::get(format!("{base}?limit={limit}&nextToken={}", next.as_str())),
            );
        }
        Self {
            tenant_id: p.instance.tenant_id.to_string(),
            instance_id: p.instance.id.to_string(),
            entries: p
                .entries
                .iter()
                .map(|e| LogEntryResponse {
                    timestamp: e.timestamp.to_string(),
                    message: e.message.clone(),
                    log_stream: e.log_stream.clone(),
                })
                .collect(),
            count: p.entries.len(),
            start_time: p.start.to_string(),
            end_time: p.end.to_string(),
            limit,
            next_token: p.next.as_ref().map(|c| c.as_str().to_owned()),
            more_available: p.next.is_some(),
            links,
        }
    }
}

/// One of two names for the same query value (`limit`/`pageSize`, `nextToken`/`startAt`);
/// given both, they must agree.
fn either<'q>(q: &'q QueryPairs, name: &str, alias: &str) -> Result<Option<&'q str>, Error> {
    match (q.get(name), q.get(alias)) {
        (Some(a), Some(b)) if a != b => {
            Err(Error::field(name, format!("{name} and {alias} disagree")))
        }
        (a, b) => Ok(a.or(b).filter(|v| !v.is_empty())),
    }
}

/// Parses the C15 query string.
pub fn log_query(q: &QueryPairs) -> Result<LogQuery, Error> {
    LogQuery::parse(
        q.get("startTime"),
        q.get("endTime"),
        either(q, "limit", "pageSize")?,
        either(q, "nextToken", "startAt")?,
    )
}

/// The containers' logs of an instance (C15), one page, oldest first.
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/logs", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("startTime" = Option<String>, Query, format = DateTime, description = "RFC 3339; default: one hour before endTime"),
        ("endTime" = Option<String>, Query, format = DateTime, description = "RFC 3339, not before startTime; default: now"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Entries per page (default 100; alias pageSize)"),
        ("nextToken" = Option<String>, Query, description = "The previous page's nextToken (alias startAt); it holds its window"),
    ),
    responses(
        (status = 200, description = "One page of the containers' logs", body = InstanceLogsResponse),
        (status = 503, description = "CLOUD_UNAVAILABLE: no live cloud to read the logs from, or CloudWatch Logs did not answer", body = super::dto::ErrorResponse),
    )
)]
pub async fn get_instance_logs(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let query = log_query(&q)?;
    let page = s.instances.logs(&actor, &tenant, &id, query).await?;
    Ok(Json(InstanceLogsResponse::from(&page)).into_response())
}
