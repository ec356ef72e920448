//! Tenant service and HTTP router benches on the in-memory embedded store.
//!
//! `cargo bench -p bbws-benches --bench tenants` (see `benches/README.md` for what each bench
//! measures and the figures of the last recorded run).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use bbws_core::auth::{Actor, Claims};
use bbws_core::ids::{RandomIds, TenantId};
use bbws_core::pagination::{Limit, PageRequest};
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::{
    Email, Environment, NewTenant, OrganizationName, TenantPorts, TenantService,
};
use bbws_core::time::SystemClock;
use bbws_lambda::api::auth::{JwtAuthenticator, issue_token};
use bbws_lambda::{AppState, router};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

const ADMIN: &str = "bench@example.com";
const SECRET: &[u8] = b"bbws-bench-signing-secret";
/// Tenants in the store the read benches run against.
const PREFILL: usize = 1000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn service() -> TenantService {
    let store = Arc::new(EmbeddedStore::in_memory().expect("in-memory store"));
    TenantService::new(TenantPorts::from_backend(
        &store,
        Arc::new(SystemClock),
        Arc::new(RandomIds),
    ))
}

fn new_tenant(name: &str) -> NewTenant {
    NewTenant {
        organization_name: OrganizationName::parse(name).expect("valid name"),
        contact_email: Email::parse("admin@bench.example").expect("valid e-mail"),
        environment: Environment::Dev,
        division: None,
        group: None,
        team: None,
        metadata: serde_json::Map::new(),
    }
}

/// A service over a store holding `n` tenants, and the id of one of them.
fn prefilled(rt: &Runtime, admin: &Actor, n: usize) -> (TenantService, TenantId) {
    let svc = service();
    let ids = rt.block_on(async {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let t = svc
                .create(admin, new_tenant(&format!("Prefill Org {i}")), None)
                .await
                .expect("prefill create");
            ids.push(t.value.id);
        }
        ids
    });
    (svc, ids[n / 2])
}

fn bench_service(c: &mut Criterion) {
    let rt = runtime();
    let admin = Actor::local_admin(ADMIN);
    let mut group = c.benchmark_group("service");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(50);

    // One create: authorize, build the tenant, its audit and outbox records, and commit them
    // with the name guard in one redb write transaction. Names are unique, so a counter.
    let svc = service();
    let mut n = 0_u64;
    group.bench_function("create", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let req = new_tenant(&format!("Bench Org {n}"));
            let (svc, admin) = (&svc, &admin);
            async move { black_box(svc.create(admin, req, None).await.expect("create")) }
        });
    });

    let (svc, id) = prefilled(&rt, &admin, PREFILL);
    group.bench_function("get", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(svc.get(&admin, &id).await.expect("get")) });
    });

    // The first page of 20, newest first, over all 1000 tenants (no filter).
    let page = PageRequest {
        limit: Limit::new(20).expect("limit"),
        cursor: None,
    };
    group.bench_function("list_20", |b| {
        b.to_async(&rt).iter(|| async {
            let found = svc
                .list(&admin, None, None, None, &page)
                .await
                .expect("list");
            assert_eq!(found.items.len(), 20);
            black_box(found)
        });
    });
    group.finish();
}

/// A bearer token the router's `JwtAuthenticator` accepts, for a platform admin.
fn bearer() -> String {
    let claims = Claims {
        sub: "bench-admin".into(),
        email: Some(ADMIN.into()),
        groups: vec![Actor::PLATFORM_ADMINS.into()],
        ..Claims::default()
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let token = issue_token(SECRET, &claims, Duration::from_hours(1), now).expect("token");
    format!("Bearer {token}")
}

/// One request through the whole router (layers, JWT check, handler, JSON), body read to bytes.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::body::Bytes) {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, body)
}

fn get_request(uri: &str, auth: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .expect("request")
}

fn create_request(name: &str, auth: &str) -> Request<Body> {
    let body = serde_json::json!({
        "organizationName": name,
        "contactEmail": "admin@bench.example",
        "environment": "dev",
    });
    Request::builder()
        .method(Method::POST)
        .uri("/v1.0/tenants")
        .header(header::AUTHORIZATION, auth)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn bench_router(c: &mut Criterion) {
    let rt = runtime();
    let admin = Actor::local_admin(ADMIN);
    let (svc, id) = prefilled(&rt, &admin, PREFILL);
    let app = router(AppState {
        tenants: svc,
        // The benches measure the tenant routes only.
        org: None,
        instances: None,
        engine: None,
        auth: Arc::new(JwtAuthenticator::new(SECRET)),
    });
    let auth = bearer();
    let uri = format!("/v1.0/tenants/{id}");

    // Check once, outside the timing, that the requests succeed: a bench of 401s or 404s
    // would measure the error path.
    let (status, _) = rt.block_on(send(&app, get_request(&uri, &auth)));
    assert_eq!(status, StatusCode::OK, "GET {uri}");
    let (status, _) = rt.block_on(send(&app, create_request("Router Check Org", &auth)));
    assert_eq!(status, StatusCode::CREATED, "POST /v1.0/tenants");

    let mut group = c.benchmark_group("router");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(50);

    group.bench_function("get_tenant", |b| {
        b.to_async(&rt).iter(|| async {
            let (status, body) = send(&app, get_request(&uri, &auth)).await;
            assert_eq!(status, StatusCode::OK);
            black_box(body)
        });
    });

    let mut n = 0_u64;
    group.bench_function("create_tenant", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let req = create_request(&format!("Router Org {n}"), &auth);
            let app = &app;
            async move {
                let (status, body) = send(app, req).await;
                assert_eq!(status, StatusCode::CREATED);
                black_box(body)
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench_service, bench_router);
criterion_main!(benches);
