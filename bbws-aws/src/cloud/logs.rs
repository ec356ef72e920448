//! [`ContainerLogs`] on CloudWatch Logs (digest 2.7 C15): one `FilterLogEvents` on the log group
//! the task definitions write to, with `logStreamNamePrefix` = the instance's `{key}/wordpress/`.
//!
//! The answer is checked against the prefix as well: an event of a stream outside it is dropped
//! (and logged), so a filter CloudWatch did not apply can never show one tenant another's logs.

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use bbws_core::instance::ports::{CloudResult, ContainerLogs, LogEvent, LogEvents, LogFilter};

use super::{classify, code_of};

const SERVICE: &str = "logs";
const ACTION: &str = "FilterLogEvents";

/// The CloudWatch Logs adapter.
#[derive(Debug, Clone)]
pub struct AwsLogs {
    client: Client,
}

impl AwsLogs {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl ContainerLogs for AwsLogs {
    async fn filter_events(&self, filter: &LogFilter) -> CloudResult<LogEvents> {
        let out = match self
            .client
            .filter_log_events()
            .log_group_name(&filter.log_group)
            .log_stream_name_prefix(&filter.stream_prefix)
            .start_time(filter.start_ms)
            .end_time(filter.end_ms)
            .limit(i32::try_from(filter.limit).unwrap_or(i32::MAX))
            .set_next_token(filter.next_token.clone())
            .send()
            .await
        {
            Ok(out) => out,
            // No task has ever logged to the group (the awslogs driver needs it to exist, so
            // nothing of this instance can be in it either).
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") => {
                return Ok(LogEvents::Page {
                    events: Vec::new(),
                    next_token: None,
                });
            }
            // An expired or foreign continuation token.
            Err(e)
                if filter.next_token.is_some()
                    && code_of(&e) == Some("InvalidParameterException") =>
            {
                return Ok(LogEvents::TokenRejected);
            }
            Err(e) => return Err(classify(SERVICE, ACTION, &e)),
        };
        let mut dropped = 0_usize;
        let events = out
            .events()
            .iter()
            .filter_map(|e| {
                let stream = e.log_stream_name().unwrap_or_default();
                if !stream.starts_with(&filter.stream_prefix) {
                    dropped += 1;
                    return None;
                }
                Some(LogEvent {
                    timestamp_ms: e.timestamp()?,
                    message: e.message().unwrap_or_default().to_owned(),
                    log_stream: stream.to_owned(),
                })
            })
            .collect();
        if dropped > 0 {
            tracing::warn!(
                log_group = %filter.log_group,
                stream_prefix = %filter.stream_prefix,
                dropped,
                "FilterLogEvents answered events of streams outside the prefix; they are not shown"
            );
        }
        Ok(LogEvents::Page {
            events,
            next_token: out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
    }
}
