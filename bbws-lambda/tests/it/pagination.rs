//! `GET /v1.0/tenants`: cursor pagination, its aliases, and filters.

use std::collections::BTreeSet;

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::support::{activate, admin, assert_error, call, create, fields, id_of, new_tenant};

/// Creates five tenants: "Paging Org 0".."Paging Org 4", even ones in dev, odd ones in prod.
async fn five(app: &Router) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..5 {
        let env = if i % 2 == 0 { "dev" } else { "prod" };
        ids.push(id_of(
            &create(app, &new_tenant(&format!("Paging Org {i}"), env)).await,
        ));
    }
    ids
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(id_of)
        .collect()
}

async fn get_page(app: &Router, uri: &str) -> Value {
    let (status, _, page) = call(app, Method::GET, uri, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {page}");
    assert_eq!(
        page["count"].as_u64(),
        Some(ids(&page).len() as u64),
        "count matches items: {page}"
    );
    let more = page["moreAvailable"]
        .as_bool()
        .expect("moreAvailable is a boolean");
    assert_eq!(
        more,
        page["nextToken"].is_string(),
        "nextToken is given exactly when more is available: {page}"
    );
    assert_eq!(
        more,
        page["_links"].get("next").is_some(),
        "_links.next is given exactly when more is available"
    );
    assert!(page["_links"]["self"]["href"].is_string(), "{page}");
    page
}

/// Follows `nextToken` from `first` (a URI without a token) until the last page; returns the
/// ids page by page.
async fn walk_by_token(app: &Router, first: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut uri = first.to_owned();
    loop {
        let page = get_page(app, &uri).await;
        pages.push(ids(&page));
        let Some(token) = page["nextToken"].as_str() else {
            assert_eq!(page["moreAvailable"], false);
            assert_eq!(
                page.get("nextToken"),
                Some(&Value::Null),
                "nextToken is present and null on the last page"
            );
            return pages;
        };
        uri = format!("{first}&nextToken={token}");
        assert!(pages.len() <= 10, "pagination does not end");
    }
}

/// Follows `_links.next.href` until there is none.
async fn walk_by_links(app: &Router, first: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut uri = first.to_owned();
    loop {
        let page = get_page(app, &uri).await;
        pages.push(ids(&page));
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => next.clone_into(&mut uri),
            None => return pages,
        }
        assert!(pages.len() <= 10, "pagination does not end");
    }
}

fn exactly_once(pages: &[Vec<String>], expected: &[String]) {
    let all: Vec<&String> = pages.iter().flatten().collect();
    let unique: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        unique.len(),
        "a tenant was listed twice: {pages:?}"
    );
    assert_eq!(
        unique,
        expected.iter().collect(),
        "not every tenant was listed: {pages:?}"
    );
}

#[tokio::test]
async fn limit_one_visits_every_tenant_exactly_once_by_token_and_by_link() {
    let app = crate::support::app();
    let created = five(&app).await;

    let pages = walk_by_token(&app, "/v1.0/tenants?limit=1").await;
    assert_eq!(pages.len(), 5, "{pages:?}");
    assert!(pages.iter().all(|p| p.len() == 1), "{pages:?}");
    exactly_once(&pages, &created);

    let by_links = walk_by_links(&app, "/v1.0/tenants?limit=1").await;
    assert_eq!(by_links, pages, "links and tokens walk the same pages");

    let twos = walk_by_token(&app, "/v1.0/tenants?limit=2").await;
    assert_eq!(twos.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    exactly_once(&twos, &created);

    let all = get_page(&app, "/v1.0/tenants").await;
    assert_eq!(all["count"], 5, "the default page holds all five");
    assert_eq!(all["moreAvailable"], false);
}

#[tokio::test]
async fn page_size_and_start_at_are_aliases() {
    let app = crate::support::app();
    let created = five(&app).await;

    let first = get_page(&app, "/v1.0/tenants?pageSize=2").await;
    assert_eq!(first["count"], 2);
    assert_eq!(first["moreAvailable"], true);
    let token = first["nextToken"].as_str().expect("a token");

    let by_alias = get_page(&app, &format!("/v1.0/tenants?pageSize=2&startAt={token}")).await;
    let by_name = get_page(&app, &format!("/v1.0/tenants?limit=2&nextToken={token}")).await;
    assert_eq!(ids(&by_alias), ids(&by_name));
    assert_eq!(by_alias["count"], 2);

    let last = get_page(
        &app,
        &format!(
            "/v1.0/tenants?pageSize=2&startAt={}",
            by_alias["nextToken"].as_str().expect("a token")
        ),
    )
    .await;
    assert_eq!(last["count"], 1);
    assert_eq!(last["moreAvailable"], false);
    assert_eq!(last["nextToken"], Value::Null);
    exactly_once(&[ids(&first), ids(&by_alias), ids(&last)], &created);

    let (status, headers, body) = call(
        &app,
        Method::GET,
        "/v1.0/tenants?limit=2&pageSize=3",
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &(status, headers, body),
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["limit"]
    );
}

#[tokio::test]
async fn filters_select_by_status_environment_and_name() {
    let app = crate::support::app();
    let created = five(&app).await;
    activate(&app, &created[1]).await;
    activate(&app, &created[2]).await;

    let active = get_page(&app, "/v1.0/tenants?status=ACTIVE").await;
    assert_eq!(
        ids(&active).into_iter().collect::<BTreeSet<_>>(),
        [&created[1], &created[2]].into_iter().cloned().collect()
    );
    assert!(
        active["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|t| t["status"] == "ACTIVE")
    );

    let pending = get_page(&app, "/v1.0/tenants?status=PENDING").await;
    assert_eq!(pending["count"], 3);

    let prod = get_page(&app, "/v1.0/tenants?environment=prod").await;
    assert_eq!(
        ids(&prod).into_iter().collect::<BTreeSet<_>>(),
        [&created[1], &created[3]].into_iter().cloned().collect()
    );

    let named = get_page(&app, "/v1.0/tenants?organizationName=paging%20org%203").await;
    assert_eq!(
        ids(&named),
        [created[3].clone()],
        "partial, case-insensitive name match"
    );
    let all_named = get_page(&app, "/v1.0/tenants?organizationName=PAGING").await;
    assert_eq!(all_named["count"], 5);
    let none = get_page(&app, "/v1.0/tenants?organizationName=Nobody").await;
    assert_eq!(
        (none["count"].as_u64(), none["moreAvailable"].as_bool()),
        (Some(0), Some(false))
    );

    let combined = get_page(&app, "/v1.0/tenants?status=ACTIVE&environment=dev").await;
    assert_eq!(ids(&combined), [created[2].clone()]);

    // The next link keeps the filters: a walk over dev tenants, one per page, sees only dev.
    let pages = walk_by_links(
        &app,
        "/v1.0/tenants?environment=dev&organizationName=paging%20org&limit=1",
    )
    .await;
    let dev: Vec<String> = [0, 2, 4].iter().map(|&i| created[i].clone()).collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    exactly_once(&pages, &dev);
}

#[tokio::test]
async fn a_token_only_continues_the_query_it_came_from() {
    let app = crate::support::app();
    five(&app).await;
    let first = get_page(&app, "/v1.0/tenants?environment=dev&limit=1").await;
    let token = first["nextToken"].as_str().expect("a token");

    let reply = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants?environment=prod&limit=1&nextToken={token}"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["nextToken"]
    );
}
