//! Listing tenants (T2): newest first, cursor pagination (C5), filters (C30).

use std::collections::HashSet;
use std::time::Duration;

use bbws_core::ErrorCode;
use bbws_core::ids::TenantId;
use bbws_core::pagination::Cursor;
use bbws_core::tenant::{Environment, Tenant, TenantStatus};

use crate::support::{Harness, new_tenant_in, page, platform_admin};

/// Creates `n` tenants one second apart; returns their ids, oldest first.
async fn create_spaced(h: &Harness, n: usize) -> Vec<TenantId> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(h.create(&format!("Tenant {i}")).await.id);
        h.clock.advance(Duration::from_secs(1));
    }
    out
}

/// Every page of the unfiltered listing, as lists of ids.
async fn pages(h: &Harness, limit: u32) -> Vec<Vec<TenantId>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = h
            .service
            .list(&platform_admin(), None, None, None, &page(limit, cursor))
            .await
            .expect("list");
        out.push(p.items.iter().map(|t| t.id).collect());
        match p.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

#[tokio::test]
async fn following_next_returns_every_tenant_once_newest_first() {
    let h = Harness::in_memory();
    let mut created = create_spaced(&h, 7).await;

    let pages = pages(&h, 2).await;

    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2, 1]);
    let seen: Vec<TenantId> = pages.into_iter().flatten().collect();
    created.reverse();
    assert_eq!(seen, created, "each tenant once, newest first");
}

#[tokio::test]
async fn no_empty_last_page_when_the_total_is_a_multiple_of_the_limit() {
    let h = Harness::in_memory();
    let created: HashSet<TenantId> = create_spaced(&h, 6).await.into_iter().collect();

    for (limit, sizes) in [(2, vec![2, 2, 2]), (3, vec![3, 3]), (6, vec![6])] {
        let pages = pages(&h, limit).await;
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            sizes,
            "limit {limit}"
        );
        let seen: HashSet<TenantId> = pages.into_iter().flatten().collect();
        assert_eq!(seen, created);
    }
}

#[tokio::test]
async fn a_cursor_only_works_for_the_query_that_issued_it() {
    let h = Harness::in_memory();
    for i in 0..3 {
        h.create_active(&format!("Tenant {i}")).await;
    }
    let admin = platform_admin();
    let first = h
        .service
        .list(
            &admin,
            Some(TenantStatus::Active),
            None,
            None,
            &page(1, None),
        )
        .await
        .expect("list ACTIVE");
    let cursor = first.next.expect("more ACTIVE tenants");

    let err = h
        .service
        .list(&admin, None, None, None, &page(1, Some(cursor.clone())))
        .await
        .expect_err("the cursor belongs to the ACTIVE listing");
    assert_eq!(err.code(), ErrorCode::ValidationError);
    assert_eq!(err.code().http_status(), 400);

    h.service
        .list(
            &admin,
            Some(TenantStatus::Active),
            None,
            None,
            &page(1, Some(cursor)),
        )
        .await
        .expect("the same query accepts it");
}

#[tokio::test]
async fn a_tampered_cursor_is_refused() {
    let h = Harness::in_memory();
    create_spaced(&h, 3).await;
    let first = h
        .service
        .list(&platform_admin(), None, None, None, &page(1, None))
        .await
        .expect("list");
    let token = first.next.expect("more tenants").as_str().to_owned();

    let (payload, check) = token.split_once('.').expect("token shape");
    let tampered = format!("{payload}A.{check}");
    let err = Cursor::parse(&tampered).expect_err("altered token");
    assert_eq!(err.code(), ErrorCode::ValidationError);
}

fn names(tenants: &[Tenant]) -> Vec<&str> {
    let mut out: Vec<&str> = tenants
        .iter()
        .map(|t| t.organization_name.as_str())
        .collect();
    out.sort_unstable();
    out
}

#[tokio::test]
async fn filters_select_by_status_environment_and_name() {
    let h = Harness::in_memory();
    let admin = platform_admin();
    for (name, env, activate) in [
        ("Acme Corp", Environment::Dev, true),
        ("Acme Labs", Environment::Prod, false),
        ("Beta Ltd", Environment::Prod, true),
        ("Gamma Inc", Environment::Sit, false),
    ] {
        let t = h
            .service
            .create(&admin, new_tenant_in(name, env), None)
            .await
            .expect("create")
            .value;
        if activate {
            h.service
                .set_status(&admin, &t.id, TenantStatus::Active, None, None)
                .await
                .expect("activate");
        }
    }
    let list = |status, env, name: Option<&str>| {
        let s = h.service.clone();
        let name = name.map(str::to_owned);
        let admin = admin.clone();
        async move {
            s.list(&admin, status, env, name, &page(100, None))
                .await
                .expect("list")
                .items
        }
    };

    assert_eq!(
        names(&list(Some(TenantStatus::Active), None, None).await),
        ["Acme Corp", "Beta Ltd"]
    );
    assert_eq!(
        names(&list(Some(TenantStatus::Pending), None, None).await),
        ["Acme Labs", "Gamma Inc"]
    );
    assert_eq!(
        names(&list(None, Some(Environment::Prod), None).await),
        ["Acme Labs", "Beta Ltd"]
    );
    assert_eq!(
        names(&list(None, None, Some("aCmE")).await),
        ["Acme Corp", "Acme Labs"]
    );
    assert_eq!(names(&list(None, None, Some("me l")).await), ["Acme Labs"]);
    assert_eq!(
        names(
            &list(
                Some(TenantStatus::Active),
                Some(Environment::Prod),
                Some("beta")
            )
            .await
        ),
        ["Beta Ltd"]
    );
    assert!(
        list(Some(TenantStatus::Parked), None, None)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_filtered_listing_pages_across_tenants_that_do_not_match() {
    let h = Harness::in_memory();
    let admin = platform_admin();
    let mut active = Vec::new();
    for i in 0..6 {
        let t = h.create(&format!("Tenant {i}")).await;
        if i % 2 == 0 {
            h.service
                .set_status(&admin, &t.id, TenantStatus::Active, None, None)
                .await
                .expect("activate");
            active.push(t.id);
        }
        h.clock.advance(Duration::from_secs(1));
    }

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = None;
    loop {
        let p = h
            .service
            .list(
                &admin,
                Some(TenantStatus::Active),
                None,
                None,
                &page(1, cursor),
            )
            .await
            .expect("list");
        sizes.push(p.items.len());
        seen.extend(p.items.iter().map(|t| t.id));
        match p.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    active.reverse();
    assert_eq!(seen, active);
    assert_eq!(sizes, [1, 1, 1], "no empty trailing page");
}
