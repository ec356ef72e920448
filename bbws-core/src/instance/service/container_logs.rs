//! C15 on the instance service: one page of the containers' logs, read live from CloudWatch
//! Logs ([`super::super::logs`]).

use serde_json::{Value, json};

use crate::auth::{Actor, TenantAction};
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{InstanceId, TenantId};
use crate::pagination::{Cursor, fingerprint};
use crate::time::Timestamp;

use super::InstanceService;
use crate::instance::ledger::ResourceType;
use crate::instance::logs::{
    DEFAULT_LOG_WINDOW, LogEntry, LogEvents, LogFilter, LogPage, LogQuery, WORDPRESS_CONTAINER,
};
use crate::instance::naming::Names;
use crate::instance::ports::{CloudError, CloudMode, InstanceCloud};

/// The listing a logs token belongs to.
const LOG_CURSOR: &str = "instance-logs";

/// How many `FilterLogEvents` calls one page may take to fill `limit` (CloudWatch answers
/// fewer events than asked when a call hits its scan or size bounds, with a token to go on).
const MAX_CALLS_PER_PAGE: u32 = 5;

fn bad_token(message: &str) -> Error {
    Error::field("nextToken", message)
}

/// A live read that failed: a cloud that could not be reached now is `CLOUD_UNAVAILABLE`
/// (503, worth retrying), anything else an internal error (its detail is logged, not shown).
pub(super) fn read_failed(e: &CloudError) -> Error {
    if e.is_retryable() {
        Error::business(
            ErrorCode::CloudUnavailable,
            format!("{} did not answer; try again: {e}", e.service),
        )
    } else {
        Error::Internal(format!("live read failed: {e}"))
    }
}

impl InstanceService {
    /// The cloud live reads that cannot be answered otherwise ask (C15, C18): refused with
    /// `CLOUD_UNAVAILABLE` when there is none, or when it only records plans.
    pub(super) fn live_cloud(&self) -> Result<&InstanceCloud> {
        match &self.cloud {
            Some(c) if c.mode == CloudMode::Live => Ok(c),
            Some(c) => Err(Error::business(
                ErrorCode::CloudUnavailable,
                format!(
                    "The configured cloud creates nothing and has nothing to read ({}); configure a live cloud",
                    c.describe()
                ),
            )),
            None => Err(Error::business(
                ErrorCode::CloudUnavailable,
                "No cloud is configured for live reads",
            )),
        }
    }

    /// C15: one page of the instance's container logs, oldest first: `FilterLogEvents` on the
    /// log group the task definitions write to, for the streams of this instance only
    /// (`{key}/wordpress/`). Without `startTime` the window is the hour before `endTime`
    /// (default: now); a `nextToken` carries its window, so it needs nothing else (a window
    /// given with it must be the same). Any state: the logs of a stopped or deprovisioned
    /// instance stay readable for the log group's retention; an instance whose service was
    /// never created has none (an empty page, the cloud not asked).
    pub async fn logs(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        query: LogQuery,
    ) -> Result<LogPage> {
        actor.authorize(tenant_id, TenantAction::Read)?;
        let instance = self.load(tenant_id, instance_id).await?;
        let query_fp = fingerprint(&[&tenant_id.to_string(), &instance_id.to_string()]);
        let (start, end, mut token) = if let Some(cursor) = &query.next_token {
            let (start, end, token) = open_token(cursor, &query_fp)?;
            if query.start.is_some_and(|s| s != start) || query.end.is_some_and(|e| e != end) {
                return Err(bad_token(
                    "Pagination token does not belong to this query (it holds its own startTime and endTime)",
                ));
            }
            (start, end, Some(token))
        } else {
            let end = query.end.unwrap_or_else(|| self.ports.clock.now());
            let window = i64::try_from(DEFAULT_LOG_WINDOW.as_millis()).unwrap_or(i64::MAX);
            let start = query.start.unwrap_or_else(|| {
                Timestamp::from_millis(end.millis().saturating_sub(window)).unwrap_or(end)
            });
            if end < start {
                return Err(Error::field(
                    "startTime",
                    "startTime is after endTime (which defaults to now)",
                ));
            }
            (start, end, None)
        };
        // An instance whose ECS service was never created has run no task, so it has written
        // no log: that is the answer, on any cloud (as health answers NOT_APPLICABLE).
        let ran = self
            .ports
            .instances
            .ledger(&instance.id)
            .await?
            .iter()
            .any(|e| e.resource_type == ResourceType::EcsService && e.id.is_some());
        if !ran {
            return Ok(LogPage {
                instance,
                entries: Vec::new(),
                start,
                end,
                limit: query.limit,
                next: None,
            });
        }
        let cloud = self.live_cloud()?;
        let names = Names::new(&instance.resource_key, instance.environment);
        let prefix = format!("{}/{WORDPRESS_CONTAINER}/", names.log_stream_prefix);
        let limit = query.limit.get();
        let mut entries: Vec<LogEntry> = Vec::new();
        let mut calls = 0;
        let next = loop {
            calls += 1;
            let filter = LogFilter {
                log_group: self.config.log_group.clone(),
                stream_prefix: prefix.clone(),
                start_ms: start.millis(),
                end_ms: end.millis(),
                limit: limit - u32::try_from(entries.len()).unwrap_or(limit),
                next_token: token.clone(),
            };
            let answer = cloud
                .logs
                .filter_events(&filter)
                .await
                .map_err(|e| read_failed(&e))?;
            let (events, next_token) = match answer {
                LogEvents::Page { events, next_token } => (events, next_token),
                LogEvents::TokenRejected => {
                    return Err(bad_token(
                        "CloudWatch Logs no longer accepts this token (they expire); ask again without nextToken",
                    ));
                }
            };
            entries.extend(events.into_iter().filter_map(|e| {
                Timestamp::from_millis(e.timestamp_ms).map(|timestamp| LogEntry {
                    timestamp,
                    message: e.message,
                    log_stream: e.log_stream,
                })
            }));
            match next_token {
                None => break None,
                Some(t) if entries.len() >= limit as usize || calls >= MAX_CALLS_PER_PAGE => {
                    break Some(t);
                }
                Some(t) => token = Some(t),
            }
        };
        entries.sort_by_key(|e| e.timestamp);
        Ok(LogPage {
            instance,
            entries,
            start,
            end,
            limit: query.limit,
            next: next.map(|t| {
                Cursor::seal(
                    LOG_CURSOR,
                    &query_fp,
                    &json!({"t": t, "s": start.millis(), "e": end.millis()}),
                )
            }),
        })
    }
}

/// The window and CloudWatch token a logs token holds.
fn open_token(cursor: &Cursor, query_fp: &str) -> Result<(Timestamp, Timestamp, String)> {
    let position = cursor.open(LOG_CURSOR, query_fp)?;
    let time = |k: &str| {
        position
            .get(k)
            .and_then(Value::as_i64)
            .and_then(Timestamp::from_millis)
    };
    match (
        time("s"),
        time("e"),
        position.get("t").and_then(Value::as_str),
    ) {
        (Some(s), Some(e), Some(t)) if s <= e => Ok((s, e, t.to_owned())),
        _ => Err(bad_token("Invalid pagination token")),
    }
}
