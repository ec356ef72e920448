//! Bad input is a 4xx in the error envelope, never a 5xx.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::support::{
    admin, assert_envelope, assert_error, call, create_named, fields, new_tenant, request, send,
    send_raw, tenant_count, with_header,
};

fn raw_post(uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", admin()));
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    req.body(body.into()).expect("a valid request")
}

async fn post_raw(app: &Router, body: &str) -> crate::support::Reply {
    send(
        app,
        raw_post("/v1.0/tenants", Some("application/json"), body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = crate::support::app();
    for body in [
        "{\"organizationName\":",
        "not json",
        "[1,2",
        "{\"a\":1}}",
        "{} {}",
        "\u{feff}{}",
        "{'a': 1}",
    ] {
        let reply = post_raw(&app, body).await;
        let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert_eq!(fields(details), ["body"], "{body}");
        assert!(
            reply.2["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Malformed JSON")),
            "{body}: {}",
            reply.2
        );
    }
    // A valid body with anything after it is not valid JSON either.
    let valid = new_tenant("Trailing Org", "dev").to_string();
    for body in [
        format!("{valid}}}"),
        format!("{valid} trailing"),
        format!("{valid}{valid}"),
    ] {
        let reply = post_raw(&app, &body).await;
        assert_eq!(
            fields(assert_error(
                &reply,
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR"
            )),
            ["body"],
            "{body}"
        );
    }
    assert_eq!(tenant_count(&app).await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_a_400() {
    let app = crate::support::app();
    // serde alone would fill the struct from an array of its fields in order.
    let as_array = r#"["Array Org","owner@tenant.example","dev",null,null,null,null]"#;
    for body in [as_array, "null", "42", "\"Array Org\"", "[]", "true"] {
        let reply = post_raw(&app, body).await;
        let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert_eq!(fields(details), ["body"], "{body}");
    }
    let reply = call(
        &app,
        Method::PUT,
        "/v1.0/tenants/tenant-00000000-0000-4000-8000-000000000000",
        Some(&admin()),
        Some(&json!(["Renamed Org"])),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["body"]
    );
    assert_eq!(tenant_count(&app).await, 0, "nothing was created");
}

#[tokio::test]
async fn unknown_and_mistyped_fields_name_the_field() {
    let app = crate::support::app();

    let mut unknown = new_tenant("Strict Org", "dev");
    unknown["colour"] = json!("red");
    let reply = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(&unknown),
    )
    .await;
    let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    assert!(
        reply.2["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("colour")),
        "{}",
        reply.2
    );
    assert_eq!(details["fields"].as_array().map(Vec::len), Some(1));

    let mut mistyped = new_tenant("Strict Org", "dev");
    mistyped["organizationName"] = json!(5);
    let reply = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(&mistyped),
    )
    .await;
    let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    assert_eq!(details["fields"][0]["field"], "organizationName");
    assert!(
        details["fields"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    let mut nested = new_tenant("Strict Org", "dev");
    nested["metadata"] = json!(["not", "an", "object"]);
    let reply = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(&nested),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["metadata"]
    );

    // PUT bodies are strict too.
    let id = create_named(&app, "Strict Org").await;
    let uri = format!("/v1.0/tenants/{id}");
    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"team": 7})),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["team"]
    );
    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"nickname": "x"})),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let reply = call(
        &app,
        Method::POST,
        &format!("{uri}/lifecycle/park"),
        Some(&admin()),
        Some(&json!({"reason": "long enough reason", "force": true})),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
}

#[tokio::test]
async fn every_missing_or_invalid_field_is_listed() {
    let app = crate::support::app();
    let reply = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(&json!({})),
    )
    .await;
    let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    assert_eq!(
        fields(details),
        ["organizationName", "contactEmail", "environment"]
    );

    let body = json!({"organizationName": "X", "contactEmail": "nobody", "environment": "qa", "team": "T"});
    let reply = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(&body),
    )
    .await;
    let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    assert_eq!(
        fields(details),
        ["organizationName", "contactEmail", "environment", "team"]
    );

    let reply = call(&app, Method::POST, "/v1.0/tenants", Some(&admin()), Some(&json!({"organizationName": "Bad <script>", "contactEmail": "a@b.example", "environment": "dev"}))).await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["organizationName"]
    );
    assert_eq!(tenant_count(&app).await, 0);
}

#[tokio::test]
async fn bad_tenant_ids_in_the_path_are_400() {
    let app = crate::support::app();
    for id in [
        "not-a-tenant",
        "tenant-123",
        "TENANT-00000000-0000-4000-8000-000000000000",
        "tenant-00000000-0000-4000-8000-00000000000G",
        "tenant-%FF%FE",
        "%F0%9F%92%A9",
    ] {
        for (method, suffix) in [
            (Method::GET, ""),
            (Method::GET, "/lifecycle"),
            (Method::GET, "/audit"),
            (Method::DELETE, ""),
        ] {
            let uri = format!("/v1.0/tenants/{id}{suffix}");
            let reply = call(&app, method.clone(), &uri, Some(&admin()), None).await;
            let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
            assert_eq!(fields(details), ["tenantId"], "{method} {uri}");
        }
    }
}

#[tokio::test]
async fn bad_pagination_parameters_are_400() {
    let app = crate::support::app();
    for i in 0..3 {
        create_named(&app, &format!("Cursor Org {i}")).await;
    }
    let (_, _, page) = call(
        &app,
        Method::GET,
        "/v1.0/tenants?limit=1",
        Some(&admin()),
        None,
    )
    .await;
    let token = page["nextToken"].as_str().expect("a token").to_owned();
    let mut tampered = token.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    let truncated = &token[..token.len() - 2];

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=1.5", "limit"),
        // Out of range is reported under the canonical name, whichever alias carried it.
        ("pageSize=0", "pageSize"),
        ("pageSize=x", "pageSize"),
        ("limit=99999999999999999999", "limit"),
        (
            &format!("limit=1&nextToken={tampered}") as &str,
            "nextToken",
        ),
        (&format!("limit=1&nextToken={truncated}"), "nextToken"),
        (&format!("startAt={tampered}"), "nextToken"),
        ("nextToken=abc", "nextToken"),
        ("nextToken=a.b", "nextToken"),
        ("status=parked", "status"),
        ("environment=staging", "environment"),
    ] {
        let reply = call(
            &app,
            Method::GET,
            &format!("/v1.0/tenants?{query}"),
            Some(&admin()),
            None,
        )
        .await;
        let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert_eq!(fields(details), [field], "{query}");
    }
    let (status, _, page) = call(
        &app,
        Method::GET,
        "/v1.0/tenants?limit=100",
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(
        (status, page["count"].as_u64()),
        (StatusCode::OK, Some(3)),
        "100 is the largest page"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = crate::support::app();
    let mut body = new_tenant("Huge Org", "dev");
    body["metadata"] = json!({"blob": "x".repeat(64 * 1024)});
    let bytes = body.to_string();
    assert!(bytes.len() > 64 * 1024);

    // Without a Content-Length (streamed) and with one.
    let reply = send(
        &app,
        raw_post("/v1.0/tenants", Some("application/json"), bytes.clone()),
    )
    .await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    let req = with_header(
        raw_post("/v1.0/tenants", Some("application/json"), bytes.clone()),
        "content-length",
        &bytes.len().to_string(),
    );
    assert_error(
        &send(&app, req).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    );

    // A body just under the limit is read (and here accepted).
    let mut fits = new_tenant("Big Org", "dev");
    fits["metadata"] = json!({"blob": "x".repeat(60 * 1024)});
    let (status, _, t) = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(&fits),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(tenant_count(&app).await, 1);
}

#[tokio::test]
async fn bodies_must_be_json() {
    let app = crate::support::app();
    let body = new_tenant("Typed Org", "dev").to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let reply = send(&app, raw_post("/v1.0/tenants", ct, body.clone())).await;
        assert_error(
            &reply,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        );
    }
    for (i, ct) in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ]
    .into_iter()
    .enumerate()
    {
        let body = new_tenant(&format!("Typed Org {i}"), "dev").to_string();
        let (status, _, t) = send(&app, raw_post("/v1.0/tenants", Some(ct), body)).await;
        assert_eq!(status, StatusCode::CREATED, "{ct}: {t}");
    }
    assert_eq!(
        tenant_count(&app).await,
        2,
        "only the JSON requests created tenants"
    );

    // An empty body where one is required is a 400.
    let reply = send(
        &app,
        raw_post("/v1.0/tenants", Some("application/json"), ""),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["body"]
    );
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_in_the_envelope() {
    let app = crate::support::app();
    for uri in [
        "/",
        "/v1.0",
        "/v1.0/nope",
        "/v2/tenants",
        "/v1.0/tenants/",
        "/v1.0/tenants/x/y/z",
        "/v1.0/health/x",
    ] {
        let reply = call(&app, Method::GET, uri, Some(&admin()), None).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    // Without a token too: an unknown path is not a 401.
    assert_error(
        &call(&app, Method::GET, "/v1.0/nope", None, None).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );

    let id = "tenant-00000000-0000-4000-8000-000000000000";
    for (method, uri) in [
        (Method::PATCH, "/v1.0/tenants".to_owned()),
        (Method::DELETE, "/v1.0/tenants".to_owned()),
        (Method::POST, format!("/v1.0/tenants/{id}")),
        (Method::GET, format!("/v1.0/tenants/{id}/lifecycle/park")),
        (Method::PUT, format!("/v1.0/tenants/{id}/status")),
        (Method::POST, "/v1.0/openapi.json".to_owned()),
    ] {
        let reply = call(&app, method.clone(), &uri, Some(&admin()), None).await;
        assert_error(&reply, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    }
}

#[tokio::test]
async fn bad_headers_are_400() {
    let app = crate::support::app();
    let id = create_named(&app, "Header Org").await;
    let uri = format!("/v1.0/tenants/{id}");
    for value in ["abc", "\"x\"", "-1"] {
        let req = with_header(
            request(
                Method::PUT,
                &uri,
                Some(&admin()),
                Some(&json!({"team": "Team A"})),
            ),
            "if-match",
            value,
        );
        let details = assert_error(
            &send(&app, req).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        )
        .clone();
        assert_eq!(fields(&details), ["If-Match"], "{value}");
    }
    let reply = call(
        &app,
        Method::DELETE,
        &format!("{uri}?force=yes"),
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
        ["force"]
    );
}

// ------------------------------------------------------------------ property

/// Percent-encodes everything but unreserved characters, plus `keep`; `%` stays raw when
/// `raw_percent` (to send broken escapes).
fn encode(s: &str, keep: &[u8], raw_percent: bool) -> String {
    use std::fmt::Write as _;
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric()
            || b"-._~".contains(&b)
            || keep.contains(&b)
            || (raw_percent && b == b'%')
        {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    let json_ish = prop::collection::vec(
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("\"organizationName\":".to_owned()),
            Just("\"contactEmail\":".to_owned()),
            Just("\"environment\":".to_owned()),
            Just("\"metadata\":".to_owned()),
            Just("\"dev\"".to_owned()),
            Just(",".to_owned()),
            Just("null".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            "-?[0-9]{1,30}(\\.[0-9]+)?(e[0-9]{1,4})?",
            "\"\\PC{0,20}\"",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat().into_bytes());
    prop_oneof![prop::collection::vec(any::<u8>(), 0..300), json_ish]
}

fn assert_not_5xx(
    what: &str,
    status: StatusCode,
    headers: &axum::http::HeaderMap,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    prop_assert!(
        status.as_u16() < 500,
        "{what}: {status} {}",
        String::from_utf8_lossy(bytes)
    );
    if status.is_client_error() {
        let body: Value = serde_json::from_slice(bytes)
            .map_err(|e| TestCaseError::fail(format!("{what}: {status} body is not JSON ({e})")))?;
        // A panic here fails the case (proptest catches it and shrinks the input).
        assert_envelope(headers, &body);
    }
    Ok(())
}

#[test]
fn arbitrary_bodies_paths_and_queries_never_yield_5xx() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let app = crate::support::app();
    let token = admin();
    let config = Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (
        body_strategy(),
        any::<String>(),
        any::<String>(),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(body, segment, query, raw_percent)| {
            let seg = encode(&segment, b"", raw_percent);
            let q = encode(&query, b"=&", raw_percent);
            let tenant_id = "tenant-00000000-0000-4000-8000-000000000000";
            let uris = [
                format!("/v1.0/tenants?{q}"),
                format!("/v1.0/tenants/{seg}?{q}"),
                format!("/v1.0/tenants/{seg}/lifecycle?{q}"),
                format!("/v1.0/tenants/{tenant_id}/audit?{q}"),
                format!("/v1.0/{seg}"),
            ];
            let requests: Vec<(String, Method, String, Option<Vec<u8>>)> = uris
                .iter()
                .map(|u| (format!("GET {u}"), Method::GET, u.clone(), None))
                .chain([
                    (
                        "POST body".to_owned(),
                        Method::POST,
                        "/v1.0/tenants".to_owned(),
                        Some(body.clone()),
                    ),
                    (
                        "PUT body".to_owned(),
                        Method::PUT,
                        format!("/v1.0/tenants/{seg}"),
                        Some(body.clone()),
                    ),
                    (
                        "PUT body existing-shaped id".to_owned(),
                        Method::PUT,
                        format!("/v1.0/tenants/{tenant_id}"),
                        Some(body.clone()),
                    ),
                    (
                        "park body".to_owned(),
                        Method::POST,
                        format!("/v1.0/tenants/{seg}/lifecycle/park?{q}"),
                        Some(body.clone()),
                    ),
                    (
                        "unpark body".to_owned(),
                        Method::POST,
                        format!("/v1.0/tenants/{tenant_id}/unpark"),
                        Some(body.clone()),
                    ),
                    (
                        "status body".to_owned(),
                        Method::PATCH,
                        format!("/v1.0/tenants/{tenant_id}/status"),
                        Some(body.clone()),
                    ),
                ])
                .collect();
            for (what, method, uri, body) in requests {
                // A string the http crate will not even parse as a URI cannot reach a server.
                if uri.parse::<axum::http::Uri>().is_err() {
                    continue;
                }
                let mut req = Request::builder()
                    .method(method)
                    .uri(&uri)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"));
                if body.is_some() {
                    req = req.header(header::CONTENT_TYPE, "application/json");
                }
                let req = req
                    .body(body.map_or_else(Body::empty, Body::from))
                    .expect("a valid request");
                let (status, headers, bytes) = rt.block_on(send_raw(&app, req));
                assert_not_5xx(&what, status, &headers, &bytes)?;
            }
            Ok(())
        })
        .expect("no input yields a 5xx or a body outside the envelope");
}
