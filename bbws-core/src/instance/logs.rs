//! An instance's container logs (digest 2.7 C15, §6 "Logs"): what the WordPress tasks wrote to
//! CloudWatch Logs, read with one `FilterLogEvents` on the log group the task definitions write
//! to, narrowed to the tenant's stream prefix.
//!
//! The awslogs driver names each stream `{prefix}/{container}/{taskId}`; the task definitions
//! use the resource key as the prefix and `wordpress` as the container, so every stream of one
//! instance starts with `{key}/wordpress/`, and no other tenant's does (keys are unique and the
//! prefix ends in `/`).
//!
//! The query ([`LogQuery`]) is parsed at the edge: `startTime` / `endTime` in RFC 3339, `limit`
//! 1–1000 (default 100) and the opaque `nextToken`. Without a `startTime` the window is the hour
//! before `endTime` (default: now). A continuation token carries the window it was issued for,
//! so the next page needs only the token; it is sealed like every cursor of the API (an altered
//! token is a 400).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{Error, FieldError, Result};
use crate::pagination::Cursor;
use crate::time::Timestamp;

use super::model::Instance;
use super::ports::CloudResult;

/// The container the task definitions run WordPress in (the middle part of its awslogs stream
/// names, `{prefix}/{container}/{taskId}`).
pub const WORDPRESS_CONTAINER: &str = "wordpress";

/// How far back a query without `startTime` looks from its `endTime`.
pub const DEFAULT_LOG_WINDOW: Duration = Duration::from_hours(1);

/// A page size of C15: 1–1000, default 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogLimit(u32);

impl LogLimit {
    pub const MAX: u32 = 1000;
    pub const DEFAULT: LogLimit = LogLimit(100);

    pub fn new(n: i64) -> Result<Self> {
        match u32::try_from(n) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(Error::field(
                "limit",
                format!("limit must be between 1 and {}", Self::MAX),
            )),
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for LogLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The query of C15, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub limit: LogLimit,
    pub next_token: Option<Cursor>,
}

impl LogQuery {
    /// Parses the raw query values; every bad one is named in the error's fields.
    pub fn parse(
        start: Option<&str>,
        end: Option<&str>,
        limit: Option<&str>,
        next_token: Option<&str>,
    ) -> Result<Self> {
        let mut fields = Vec::new();
        let mut time = |name: &str, raw: Option<&str>| match raw.map(str::parse::<Timestamp>) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => {
                fields.push(FieldError::new(
                    name,
                    format!("{name} must be an RFC 3339 timestamp (2026-01-05T12:00:00Z)"),
                ));
                None
            }
        };
        let start = time("startTime", start);
        let end = time("endTime", end);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            fields.push(FieldError::new("endTime", "endTime is before startTime"));
        }
        let limit =
            match limit.map(|raw| raw.parse::<i64>().ok().and_then(|n| LogLimit::new(n).ok())) {
                None => LogLimit::DEFAULT,
                Some(Some(l)) => l,
                Some(None) => {
                    fields.push(FieldError::new(
                        "limit",
                        format!("limit must be an integer between 1 and {}", LogLimit::MAX),
                    ));
                    LogLimit::DEFAULT
                }
            };
        let next_token = match next_token.map(Cursor::parse) {
            None => None,
            Some(Ok(c)) => Some(c),
            Some(Err(Error::Validation { fields: f, .. })) => {
                fields.extend(f);
                None
            }
            Some(Err(e)) => return Err(e),
        };
        if !fields.is_empty() {
            return Err(Error::fields(fields));
        }
        Ok(Self {
            start,
            end,
            limit,
            next_token,
        })
    }
}

/// One line a container wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub timestamp: Timestamp,
    pub message: String,
    /// `{key}/wordpress/{taskId}`.
    pub log_stream: String,
}

/// C15: one page of an instance's container logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub instance: Instance,
    /// Oldest first.
    pub entries: Vec<LogEntry>,
    /// The window that was read (inclusive).
    pub start: Timestamp,
    pub end: Timestamp,
    pub limit: LogLimit,
    /// Where the next page starts, when there may be more.
    pub next: Option<Cursor>,
}

// ---------------------------------------------------------------------------------------------
// The port
// ---------------------------------------------------------------------------------------------

/// The parameters of one `FilterLogEvents` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// `logGroupName` (the task definitions' `awslogs-group`).
    pub log_group: String,
    /// `logStreamNamePrefix`: `{key}/wordpress/`.
    pub stream_prefix: String,
    /// `startTime` / `endTime`, epoch milliseconds, inclusive.
    pub start_ms: i64,
    pub end_ms: i64,
    /// `limit` (at most [`LogLimit::MAX`]).
    pub limit: u32,
    /// `nextToken`, as CloudWatch Logs issued it.
    pub next_token: Option<String>,
}

/// One event as CloudWatch Logs answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp_ms: i64,
    pub message: String,
    pub log_stream: String,
}

/// What one `FilterLogEvents` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvents {
    /// Events (at most `limit`, possibly none) and CloudWatch's token when more may follow.
    Page {
        events: Vec<LogEvent>,
        next_token: Option<String>,
    },
    /// CloudWatch refused the `nextToken` it was given (its tokens expire): the caller starts
    /// again without one.
    TokenRejected,
}

/// The containers' logs.
#[async_trait]
pub trait ContainerLogs: Send + Sync + fmt::Debug {
    /// `FilterLogEvents(logGroupName, logStreamNamePrefix, startTime, endTime, limit,
    /// nextToken)`. Only events of streams under the prefix are answered; a log group that does
    /// not exist (no task has ever logged) answers no events.
    async fn filter_events(&self, filter: &LogFilter) -> CloudResult<LogEvents>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &Error) -> Vec<String> {
        match e {
            Error::Validation { fields, .. } => fields.iter().map(|f| f.field.clone()).collect(),
            other => panic!("a validation error, not {other:?}"),
        }
    }

    #[test]
    fn an_empty_query_is_the_default_page() {
        let q = LogQuery::parse(None, None, None, None).expect("valid");
        assert_eq!(q, LogQuery::default());
        assert_eq!(q.limit.get(), 100);
    }

    #[test]
    fn times_limits_and_tokens_are_checked_field_by_field() {
        let q = LogQuery::parse(
            Some("2026-01-05T10:00:00Z"),
            Some("2026-01-05T13:00:00.500+02:00"),
            Some("1000"),
            None,
        )
        .expect("valid");
        assert_eq!(q.limit.get(), 1000);
        assert_eq!(
            q.end.expect("end").to_string(),
            "2026-01-05T11:00:00.500Z",
            "offsets are normalised to UTC"
        );

        let e = LogQuery::parse(Some("yesterday"), None, Some("0"), Some("x.y")).expect_err("bad");
        assert_eq!(fields(&e), ["startTime", "limit", "nextToken"]);
        for limit in ["1001", "-1", "ten", "1.5"] {
            let e = LogQuery::parse(None, None, Some(limit), None).expect_err(limit);
            assert_eq!(fields(&e), ["limit"], "{limit}");
        }
        let e = LogQuery::parse(
            Some("2026-01-05T12:00:00Z"),
            Some("2026-01-05T11:59:59Z"),
            None,
            None,
        )
        .expect_err("end before start");
        assert_eq!(fields(&e), ["endTime"]);
        // The same instant is a valid (one-millisecond) window.
        LogQuery::parse(
            Some("2026-01-05T12:00:00Z"),
            Some("2026-01-05T12:00:00Z"),
            None,
            None,
        )
        .expect("start == end");
    }
}
