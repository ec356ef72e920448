//! The Foundation's acceptance walk over real HTTP, run unchanged against `bbws serve` on the
//! embedded store and on DynamoDB (a moto server).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Server, token};

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, token, body, &[]).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

fn link_names(t: &Value) -> Vec<String> {
    let mut names: Vec<String> = t["_links"]
        .as_object()
        .expect("_links")
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

async fn walk(server: &Server, dir: &std::path::Path) {
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("{}/v1.0", server.url),
    };
    let admin = token(dir, "admin", "Admins", "");
    let post = |name: &str| json!({"organizationName": name, "contactEmail": "ops@walk.example", "environment": "dev"});

    // Create: 201 PENDING with self, users and the actions PENDING allows.
    let (s, t) = api
        .call(
            Method::POST,
            "/tenants",
            Some(&admin),
            Some(post("Walk Corp")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["status"], "PENDING");
    let id = t["tenantId"].as_str().expect("id").to_owned();
    let names = link_names(&t);
    assert!(
        names.contains(&"self".into())
            && names.contains(&"users".into())
            && names.contains(&"delete".into())
    );
    assert!(!names.contains(&"park".into()));

    // A name differing only in case: 409.
    let (s, e) = api
        .call(
            Method::POST,
            "/tenants",
            Some(&admin),
            Some(post("WALK corp")),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("CONFLICT"))
    );

    // ACTIVE offers park, suspend and delete.
    let (s, t) = api
        .call(
            Method::PATCH,
            &format!("/tenants/{id}/status"),
            Some(&admin),
            Some(json!({"status": "ACTIVE"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let names = link_names(&t);
    for action in ["park", "suspend", "delete"] {
        assert!(
            names.contains(&action.into()),
            "{action} missing from {names:?}"
        );
    }

    // Paging with limit=1 visits every tenant exactly once.
    for name in ["Walk Two", "Walk Three"] {
        assert_eq!(
            api.call(Method::POST, "/tenants", Some(&admin), Some(post(name)))
                .await
                .0,
            StatusCode::CREATED
        );
    }
    let mut seen = Vec::new();
    let mut path = "/tenants?limit=1".to_owned();
    loop {
        let (s, page) = api.call(Method::GET, &path, Some(&admin), None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|t| t["tenantId"].as_str().expect("id").to_owned()),
        );
        match page["nextToken"].as_str() {
            Some(next) => path = format!("/tenants?limit=1&nextToken={next}"),
            None => break,
        }
    }
    seen.sort();
    let before = seen.len();
    seen.dedup();
    assert_eq!((before, seen.len()), (3, 3), "every tenant exactly once");

    // Park → PARKED offering unpark; park again → 422 with the allowed transitions.
    let park = json!({"reason": "Customer asked for a pause"});
    let (s, t) = api
        .call(
            Method::POST,
            &format!("/tenants/{id}/lifecycle/park"),
            Some(&admin),
            Some(park.clone()),
        )
        .await;
    assert_eq!(
        (s, t["status"].as_str()),
        (StatusCode::OK, Some("PARKED")),
        "{t}"
    );
    assert!(link_names(&t).contains(&"unpark".into()));
    let (s, e) = api
        .call(
            Method::POST,
            &format!("/tenants/{id}/lifecycle/park"),
            Some(&admin),
            Some(park),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["code"], "INVALID_STATUS_TRANSITION");
    assert_eq!(
        e["error"]["details"]["allowedTransitions"],
        json!(["ACTIVE", "DEPROVISIONED"])
    );

    // A stale If-Match → 409 VERSION_CONFLICT.
    let (s, e) = api
        .call_with(
            Method::PUT,
            &format!("/tenants/{id}"),
            Some(&admin),
            Some(json!({"team": "Red Team"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("VERSION_CONFLICT"))
    );

    // Roles in a tenant come from the stored assignments, not from token claims: a token that
    // claims Viewer of the tenant (`Viewers` + `custom:tenantIds`) but was never assigned sees no
    // such tenant (404 on GET and PUT), like a token naming another tenant; no token: 401.
    let claims_only = token(dir, "vic", "Viewers", &id);
    let (s, _) = api
        .call(
            Method::PUT,
            &format!("/tenants/{id}"),
            Some(&claims_only),
            Some(json!({"team": "Red Team"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let outsider = token(
        dir,
        "olga",
        "Viewers",
        "tenant-00000000-0000-4000-8000-000000000000",
    );
    for t in [&claims_only, &outsider] {
        assert_eq!(
            api.call(Method::GET, &format!("/tenants/{id}"), Some(t), None)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        api.call(Method::GET, &format!("/tenants/{id}"), None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // The same POST with the same Idempotency-Key replays; another body with it is refused.
    let key = [("Idempotency-Key", "walk-key-1")];
    let (s1, first) = api
        .call_with(
            Method::POST,
            "/tenants",
            Some(&admin),
            Some(post("Walk Four")),
            &key,
        )
        .await;
    let (s2, again) = api
        .call_with(
            Method::POST,
            "/tenants",
            Some(&admin),
            Some(post("Walk Four")),
            &key,
        )
        .await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first["tenantId"], again["tenantId"]);
    let (s, e) = api
        .call_with(
            Method::POST,
            "/tenants",
            Some(&admin),
            Some(post("Walk Five")),
            &key,
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("IDEMPOTENCY_KEY_REUSED"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acceptance_walk_on_the_embedded_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    walk(&server, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acceptance_walk_on_dynamodb() {
    let endpoint = crate::moto::endpoint();
    let table = crate::dynamodb::table_name();
    crate::dynamodb::create_table(&table, endpoint);
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(
        dir.path(),
        &[
            "--backend",
            "dynamodb",
            "--table",
            &table,
            "--endpoint-url",
            endpoint,
        ],
        &crate::dynamodb::AWS_ENV,
    );
    walk(&server, dir.path()).await;
}
