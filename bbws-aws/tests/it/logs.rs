//! An instance's container logs on moto's CloudWatch Logs (digest 2.7 C15): the streams the
//! awslogs driver of the instance's task definition writes, beside another tenant's, read back
//! through the service one page at a time.
//!
//! moto 5.2.5's `FilterLogEvents` ignores `logStreamNamePrefix` (it filters by `logStreamNames`
//! only) and answers every stream of the group. The adapter checks each answered event against
//! the prefix and drops those outside it, so what the service shows is this instance's own
//! either way; that the prefix is sent to CloudWatch, where AWS applies it, is checked on the
//! request itself ([`requests_name_the_group_the_prefix_and_the_window`]).

use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatchlogs::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_cloudwatchlogs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudwatchlogs::error::BoxError;
use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use bbws_aws::cloud::logs::AwsLogs;
use bbws_core::instance::ports::{ContainerLogs, LogEvents, LogFilter};
use bbws_core::instance::{Instance, LogQuery, Names, WORDPRESS_CONTAINER};
use bbws_core::tenant::Environment;
use bbws_core::time::{Clock, SystemClock, Timestamp};
use serde_json::Value;

use crate::instances::{World, provisioned, world};
use crate::support::{admin, sdk_config};

fn names(i: &Instance) -> Names {
    Names::new(&i.resource_key, Environment::Dev)
}

fn prefix(i: &Instance) -> String {
    format!("{}/{WORDPRESS_CONTAINER}/", names(i).log_stream_prefix)
}

fn rfc3339(ms: i64) -> String {
    Timestamp::from_millis(ms).expect("a time").to_string()
}

/// The group the platform's task definitions log to, with `events` written to `stream`.
async fn write(w: &World, stream: &str, events: &[(i64, &str)]) {
    let logs = &w.clients.logs;
    let group = &w.settings.platform.log_group;
    // The group is the platform's (shared by every test of this moto server).
    if let Err(e) = logs.create_log_group().log_group_name(group).send().await {
        assert!(
            e.as_service_error()
                .is_some_and(CreateLogGroupError::is_resource_already_exists_exception),
            "{e:?}"
        );
    }
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("stream created");
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(
            events
                .iter()
                .map(|(t, m)| {
                    InputLogEvent::builder()
                        .timestamp(*t)
                        .message(*m)
                        .build()
                        .expect("an event")
                })
                .collect(),
        ))
        .send()
        .await
        .expect("events written");
}

/// What the service answers for `[from, to]`, following the token through every page.
async fn every_page(
    w: &World,
    t: &bbws_core::ids::TenantId,
    i: &Instance,
    (from, to): (i64, i64),
    limit: &str,
) -> Vec<Vec<(String, String)>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let q = match &token {
            None => LogQuery::parse(Some(&rfc3339(from)), Some(&rfc3339(to)), Some(limit), None),
            Some(tok) => LogQuery::parse(None, None, Some(limit), Some(tok)),
        }
        .expect("a valid query");
        let page = w
            .service
            .logs(&admin(), t, &i.id, q)
            .await
            .expect("the logs are read");
        pages.push(
            page.entries
                .iter()
                .map(|e| (e.log_stream.clone(), e.message.clone()))
                .collect(),
        );
        match page.next {
            Some(next) => token = Some(next.as_str().to_owned()),
            None => return pages,
        }
        assert!(pages.len() < 20, "paging ends");
    }
}

#[tokio::test]
async fn the_logs_of_an_instance_on_moto_are_its_own_streams_in_the_window_page_by_page() {
    let w = world().await;
    let (t, i) = provisioned(&w, "Logs On Moto").await;
    let naming = names(&i);
    let own = prefix(&i);

    // The prefix filtered by is the one the task definition's awslogs driver writes under.
    let td = w
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(&naming.task_family)
        .send()
        .await
        .expect("the task definition")
        .task_definition
        .expect("a task definition");
    let container = &td.container_definitions()[0];
    assert_eq!(container.name(), Some(WORDPRESS_CONTAINER));
    let options = container
        .log_configuration()
        .and_then(|l| l.options())
        .expect("awslogs options");
    assert_eq!(
        options.get("awslogs-group"),
        Some(&w.settings.platform.log_group)
    );
    assert_eq!(
        options.get("awslogs-stream-prefix"),
        Some(&naming.log_stream_prefix)
    );

    // Two tasks of this instance, another tenant whose key starts with this one's, another.
    let base = SystemClock.now().millis() - 10 * 60 * 1000;
    let at = |k: i64| base + k * 1000;
    write(
        &w,
        &format!("{own}task-a"),
        &[
            (at(1), "a1"),
            (at(3), "a2"),
            (at(5), "a3"),
            (at(100), "late"),
        ],
    )
    .await;
    write(
        &w,
        &format!("{own}task-b"),
        &[(at(2), "b1"), (at(4), "b2"), (at(6), "b3")],
    )
    .await;
    let key = i.resource_key.as_str();
    write(
        &w,
        &format!("{key}0/{WORDPRESS_CONTAINER}/task-x"),
        &[(at(2), "x1"), (at(3), "x2"), (at(4), "x3")],
    )
    .await;
    write(&w, "othertenant/wordpress/task-y", &[(at(5), "y1")]).await;

    // One page holds the window, oldest first, only this instance's streams.
    let pages = every_page(&w, &t.id, &i, (at(0), at(10)), "1000").await;
    assert_eq!(pages.len(), 1);
    let messages: Vec<&str> = pages[0].iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(messages, ["a1", "b1", "a2", "b2", "a3", "b3"]);
    assert!(pages[0].iter().all(|(stream, _)| stream.starts_with(&own)));

    // The window is inclusive at both ends.
    let pages = every_page(&w, &t.id, &i, (at(2), at(4)), "1000").await;
    let mut messages: Vec<&str> = pages[0].iter().map(|(_, m)| m.as_str()).collect();
    messages.sort_unstable();
    assert_eq!(messages, ["a2", "b1", "b2"]);

    // A limit of 2: pages of at most 2 followed by their token give every entry once.
    let pages = every_page(&w, &t.id, &i, (at(0), at(10)), "2").await;
    assert!(pages.len() >= 3, "{pages:?}");
    assert!(pages.iter().all(|p| p.len() <= 2), "{pages:?}");
    let mut all: Vec<String> = pages.into_iter().flatten().map(|(_, m)| m).collect();
    all.sort_unstable();
    assert_eq!(all, ["a1", "a2", "a3", "b1", "b2", "b3"]);

    // An instance whose tasks wrote nothing: no entries.
    let (t2, j) = provisioned(&w, "Quiet Logs Ltd").await;
    let pages = every_page(&w, &t2.id, &j, (at(0), at(10)), "100").await;
    assert_eq!(pages, [Vec::<(String, String)>::new()]);
}

/// Every `FilterLogEvents` request body, as sent.
#[derive(Debug, Clone, Default)]
struct Sent(Arc<Mutex<Vec<Value>>>);

impl Intercept for Sent {
    fn name(&self) -> &'static str {
        "Sent"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        self.0
            .lock()
            .expect("log")
            .push(serde_json::from_slice(body).unwrap_or(Value::Null));
        Ok(())
    }
}

#[tokio::test]
async fn requests_name_the_group_the_prefix_and_the_window() {
    let sdk = sdk_config().await;
    let sent = Sent::default();
    let client = aws_sdk_cloudwatchlogs::Client::from_conf(
        aws_sdk_cloudwatchlogs::config::Builder::from(&sdk)
            .interceptor(sent.clone())
            .build(),
    );
    let group = format!("/ecs/prefix-check-{}", std::process::id());
    client
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .expect("group");
    let logs = AwsLogs::new(client);
    let filter = LogFilter {
        log_group: group.clone(),
        stream_prefix: "acme/wordpress/".to_owned(),
        start_ms: 1_000,
        end_ms: 2_000,
        limit: 25,
        next_token: None,
    };
    let answer = logs.filter_events(&filter).await.expect("answered");
    assert_eq!(
        answer,
        LogEvents::Page {
            events: Vec::new(),
            next_token: None
        }
    );
    let body = sent.0.lock().expect("log").pop().expect("one request");
    assert_eq!(body["logGroupName"], group.as_str());
    assert_eq!(body["logStreamNamePrefix"], "acme/wordpress/");
    assert_eq!(
        (body["startTime"].as_i64(), body["endTime"].as_i64()),
        (Some(1_000), Some(2_000))
    );
    assert_eq!(body["limit"], 25);
    assert!(body.get("nextToken").is_none());

    // A group that does not exist (no task ever logged): no events, not an error.
    let missing = LogFilter {
        log_group: format!("{group}-missing"),
        ..filter
    };
    assert_eq!(
        logs.filter_events(&missing).await.expect("answered"),
        LogEvents::Page {
            events: Vec::new(),
            next_token: None
        }
    );
}
