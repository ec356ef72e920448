//! An instance's container logs (digest 2.7 C15): one `FilterLogEvents` per page on the log
//! group the task definitions write to, narrowed to the instance's streams; the window, the
//! limit and the continuation token as the API takes them.

use std::sync::Arc;

use bbws_core::ErrorCode;
use bbws_core::instance::{
    DEFAULT_LOG_WINDOW, Instance, InstanceCloud, InstanceService, LogPage, LogQuery, Names,
    PlanRecorder, PlatformConfig,
};
use bbws_core::pagination::Cursor;
use bbws_core::tenant::Environment;
use bbws_core::{Error, Result};

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};
use crate::support::{START, outsider, platform_admin, ts, viewer};

const GROUP: &str = "/ecs/dev";

fn prefix(i: &Instance) -> String {
    format!(
        "{}/wordpress/",
        Names::new(&i.resource_key, Environment::Dev).log_stream_prefix
    )
}

/// Milliseconds of `START` plus `secs`.
fn at(secs: i64) -> i64 {
    ts(START).millis() + secs * 1000
}

fn query(
    start: Option<&str>,
    end: Option<&str>,
    limit: Option<&str>,
    token: Option<&str>,
) -> LogQuery {
    LogQuery::parse(start, end, limit, token).expect("a valid query")
}

async fn logs(w: &World, i: &Instance, q: LogQuery) -> Result<LogPage> {
    w.service
        .logs(&platform_admin(), &w.tenant.id, &i.id, q)
        .await
}

fn messages(p: &LogPage) -> Vec<&str> {
    p.entries.iter().map(|e| e.message.as_str()).collect()
}

fn field_of(e: &Error) -> Vec<String> {
    match e {
        Error::Validation { fields, .. } => fields.iter().map(|f| f.field.clone()).collect(),
        other => panic!("a validation error, not {other:?}"),
    }
}

/// A provisioned instance whose two tasks logged, beside streams that are not its own: a
/// tenant whose key starts with this one's, another container of this task family, another
/// log group.
async fn logged() -> (World, Instance) {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let p = prefix(&i);
    let key = i.resource_key.as_str();
    w.fake.put_log_events(
        GROUP,
        &format!("{p}task-a"),
        &[(at(-30), "a1"), (at(10), "a2"), (at(40), "a3")],
    );
    w.fake.put_log_events(
        GROUP,
        &format!("{p}task-b"),
        &[(at(20), "b1"), (at(50), "b2")],
    );
    w.fake.put_log_events(
        GROUP,
        &format!("{key}0/wordpress/x"),
        &[(at(15), "other tenant")],
    );
    w.fake.put_log_events(
        GROUP,
        &format!("{key}/sidecar/x"),
        &[(at(16), "other container")],
    );
    w.fake.put_log_events(
        "/ecs/sit",
        &format!("{p}task-a"),
        &[(at(17), "other group")],
    );
    (w, i)
}

#[tokio::test(start_paused = true)]
async fn the_logs_are_the_instances_own_streams_in_the_window_oldest_first() {
    let (w, i) = logged().await;
    let page = w
        .service
        .logs(
            &viewer(&[&w.tenant.id]),
            &w.tenant.id,
            &i.id,
            query(
                Some("2026-01-05T12:00:00Z"),
                Some("2026-01-05T12:00:45Z"),
                None,
                None,
            ),
        )
        .await
        .expect("a viewer reads the logs");
    assert_eq!(messages(&page), ["a2", "b1", "a3"]);
    assert_eq!(page.entries[0].log_stream, format!("{}task-a", prefix(&i)));
    assert_eq!(page.entries[0].timestamp, ts("2026-01-05T12:00:10.000Z"));
    assert!(page.next.is_none());
    assert_eq!(
        (page.start, page.end),
        (ts(START), ts("2026-01-05T12:00:45Z"))
    );

    let calls = w.fake.log_filters();
    assert_eq!(calls.len(), 1, "one FilterLogEvents for the page");
    assert_eq!(calls[0].log_group, GROUP, "the task definitions' log group");
    assert_eq!(calls[0].stream_prefix, prefix(&i));
    assert_eq!((calls[0].start_ms, calls[0].end_ms), (at(0), at(45)));
    assert_eq!(calls[0].limit, 100, "the default limit");
    assert_eq!(calls[0].next_token, None);
}

#[tokio::test(start_paused = true)]
async fn without_a_start_the_window_is_the_hour_before_the_end() {
    let (w, i) = logged().await;
    // The clock is at START: the default window is [START - 1 h, START].
    let page = logs(&w, &i, LogQuery::default()).await.expect("logs");
    assert_eq!(messages(&page), ["a1"]);
    assert_eq!(page.end, ts(START));
    assert_eq!(page.start, ts("2026-01-05T11:00:00Z"));
    let call = w.fake.log_filters().pop().expect("a call");
    assert_eq!(
        call.end_ms - call.start_ms,
        i64::try_from(DEFAULT_LOG_WINDOW.as_millis()).expect("small")
    );
    assert_eq!(call.end_ms, at(0));

    // An end alone: the hour before it.
    let page = logs(
        &w,
        &i,
        query(None, Some("2026-01-05T12:00:30Z"), None, None),
    )
    .await
    .expect("logs");
    assert_eq!(messages(&page), ["a1", "a2", "b1"]);

    // A start after now with no end is refused on startTime.
    let e = logs(
        &w,
        &i,
        query(Some("2026-01-05T13:00:00Z"), None, None, None),
    )
    .await
    .expect_err("the future");
    assert_eq!(field_of(&e), ["startTime"]);
}

#[tokio::test(start_paused = true)]
async fn pages_follow_the_token_through_every_entry_and_the_token_keeps_its_window() {
    let (w, i) = logged().await;
    let mut seen = Vec::new();
    let first = logs(
        &w,
        &i,
        query(
            Some("2026-01-05T11:59:00Z"),
            Some("2026-01-05T12:01:00Z"),
            Some("2"),
            None,
        ),
    )
    .await
    .expect("page 1");
    assert_eq!(first.entries.len(), 2);
    seen.extend(messages(&first).into_iter().map(str::to_owned));
    let mut token = first.next.clone().expect("more to come");
    let mut pages = 1;
    loop {
        // The token alone: it holds the window it was issued for.
        let page = logs(&w, &i, query(None, None, Some("2"), Some(token.as_str())))
            .await
            .expect("next page");
        pages += 1;
        assert_eq!((page.start, page.end), (first.start, first.end));
        seen.extend(messages(&page).into_iter().map(str::to_owned));
        match page.next {
            Some(t) => token = t,
            None => break,
        }
    }
    assert_eq!(seen, ["a1", "a2", "b1", "a3", "b2"]);
    assert_eq!(pages, 3);
    let calls = w.fake.log_filters();
    assert!(
        calls
            .iter()
            .all(|c| c.start_ms == at(-60) && c.end_ms == at(60)),
        "every page reads the first page's window: {calls:?}"
    );

    // The same window given with the token is fine; another window is not.
    let again = logs(
        &w,
        &i,
        query(
            Some("2026-01-05T11:59:00Z"),
            Some("2026-01-05T12:01:00Z"),
            Some("2"),
            first.next.as_ref().map(Cursor::as_str),
        ),
    )
    .await
    .expect("same window");
    assert_eq!(messages(&again), ["b1", "a3"]);
    let e = logs(
        &w,
        &i,
        query(
            Some("2026-01-05T11:00:00Z"),
            None,
            None,
            first.next.as_ref().map(Cursor::as_str),
        ),
    )
    .await
    .expect_err("another window");
    assert_eq!(field_of(&e), ["nextToken"]);
}

#[tokio::test(start_paused = true)]
async fn bad_foreign_and_expired_tokens_are_400s() {
    let (w, i) = logged().await;
    let first = logs(
        &w,
        &i,
        query(
            Some("2026-01-05T11:59:00Z"),
            Some("2026-01-05T12:01:00Z"),
            Some("1"),
            None,
        ),
    )
    .await
    .expect("page 1");
    let token = first.next.expect("more");

    // Altered: refused when the query is parsed.
    let mut altered = token.as_str().to_owned();
    altered.insert(3, 'x');
    let e = LogQuery::parse(None, None, None, Some(&altered)).expect_err("altered");
    assert_eq!(field_of(&e), ["nextToken"]);

    // Another instance's token does not open here.
    let other_tenant = w.tenants.create_active("Other Hosting").await;
    let other = World::with(w.tenants.clone(), other_tenant, w.fake.clone());
    let (j, _) = other.provision().await;
    let e = other
        .service
        .logs(
            &platform_admin(),
            &other.tenant.id,
            &j.id,
            query(None, None, None, Some(token.as_str())),
        )
        .await
        .expect_err("foreign token");
    assert_eq!(field_of(&e), ["nextToken"]);

    // CloudWatch's own token expired.
    w.fake.expire_log_tokens();
    let e = logs(&w, &i, query(None, None, None, Some(token.as_str())))
        .await
        .expect_err("expired");
    assert_eq!(field_of(&e), ["nextToken"]);
    assert_eq!(e.code(), ErrorCode::ValidationError);
}

#[tokio::test(start_paused = true)]
async fn short_answers_are_filled_up_to_the_limit_within_a_bound() {
    let (w, i) = logged().await;
    w.fake.cap_log_pages(1);
    let window = (Some("2026-01-05T11:59:00Z"), Some("2026-01-05T12:01:00Z"));
    let page = logs(&w, &i, query(window.0, window.1, Some("3"), None))
        .await
        .expect("logs");
    assert_eq!(messages(&page), ["a1", "a2", "b1"]);
    assert!(page.next.is_some(), "two more remain");
    let calls = w.fake.log_filters();
    assert_eq!(
        calls.iter().map(|c| c.limit).collect::<Vec<_>>(),
        [3, 2, 1],
        "each call asks for what is still missing"
    );

    // No more than five calls for one page, however short CloudWatch's answers are.
    let p = prefix(&i);
    let many: Vec<(i64, String)> = (0..20).map(|n| (at(100 + n), format!("m{n}"))).collect();
    let many: Vec<(i64, &str)> = many.iter().map(|(t, m)| (*t, m.as_str())).collect();
    w.fake.put_log_events(GROUP, &format!("{p}task-c"), &many);
    let before = w.fake.log_filters().len();
    let page = logs(
        &w,
        &i,
        query(
            Some("2026-01-05T12:01:30Z"),
            Some("2026-01-05T12:05:00Z"),
            Some("20"),
            None,
        ),
    )
    .await
    .expect("logs");
    assert_eq!(page.entries.len(), 5);
    assert_eq!(w.fake.log_filters().len() - before, 5);
    assert!(page.next.is_some());
}

#[tokio::test(start_paused = true)]
async fn who_may_read_and_what_the_cloud_cannot_answer() {
    let (w, i) = logged().await;
    let e = w
        .service
        .logs(&outsider(), &w.tenant.id, &i.id, LogQuery::default())
        .await
        .expect_err("outsider");
    assert_eq!(
        e.code(),
        ErrorCode::TenantNotFound,
        "404 outside the caller's scope"
    );
    let unknown = "inst-00000000-0000-4000-8000-000000000000"
        .parse()
        .expect("id");
    let e = w
        .service
        .logs(
            &platform_admin(),
            &w.tenant.id,
            &unknown,
            LogQuery::default(),
        )
        .await
        .expect_err("unknown");
    assert_eq!(e.code(), ErrorCode::InstanceNotFound);

    // CloudWatch throttling: 503, worth retrying.
    w.fake.inject(Fault {
        kind: Kind::Logs,
        op: Op::Check,
        nth: None,
        mode: FaultMode::Throttle,
    });
    let e = logs(&w, &i, LogQuery::default())
        .await
        .expect_err("throttled");
    assert_eq!(e.code(), ErrorCode::CloudUnavailable);
    // Anything else: 500, nothing leaked.
    w.fake.clear_faults();
    w.fake.inject(Fault {
        kind: Kind::Logs,
        op: Op::Check,
        nth: None,
        mode: FaultMode::Fail,
    });
    let e = logs(&w, &i, LogQuery::default()).await.expect_err("failed");
    assert_eq!(e.code(), ErrorCode::InternalError);

    // The plan recorder has no logs to read.
    let planned = InstanceService::new(
        bbws_core::instance::InstancePorts {
            instances: w.tenants.store.clone(),
            tenants: w.tenants.store.clone(),
            clock: w.tenants.clock.clone(),
            ids: Arc::new(bbws_core::ids::RandomIds),
        },
        PlatformConfig::defaults(Environment::Dev),
    )
    .with_cloud(InstanceCloud::plan(&Arc::new(PlanRecorder::new())));
    let e = planned
        .logs(&platform_admin(), &w.tenant.id, &i.id, LogQuery::default())
        .await
        .expect_err("plan recorder");
    assert_eq!(e.code(), ErrorCode::CloudUnavailable);
    assert!(e.to_string().contains("creates nothing"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn an_instance_that_never_ran_has_no_logs_and_the_cloud_is_not_asked() {
    let w = World::new().await;
    // Accepted, not run: no ECS service exists, so no task ever wrote a line.
    let accepted = w.request().await;
    let page = logs(&w, &accepted.instance, LogQuery::default())
        .await
        .expect("an empty page");
    assert!(page.entries.is_empty());
    assert!(page.next.is_none());
    assert!(w.fake.log_filters().is_empty(), "CloudWatch was not asked");

    // Once it has run, the same call asks CloudWatch.
    w.run(&accepted.operation.id).await;
    let i = w.instance(&accepted.instance).await;
    logs(&w, &i, LogQuery::default()).await.expect("a page");
    assert_eq!(w.fake.log_filters().len(), 1);
}
