//! `Idempotency-Key` on create (C26): same key + same request replays, same key + another
//! request is 409, keys are per caller and live 24 hours.

use std::time::Duration;

use bbws_core::ErrorCode;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::Environment;
use serde_json::json;

use crate::support::{Harness, actor, new_tenant, new_tenant_in, object, operator, platform_admin};

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::parse(s).expect("valid key")
}

#[tokio::test]
async fn the_same_key_and_request_replay_the_first_result() {
    let h = Harness::in_memory();
    let k = key("create-acme-1");
    let mut req = new_tenant("Acme Corp");
    req.metadata = object(json!({"tier": "gold", "industry": "retail"}));

    let first = h
        .service
        .create(&platform_admin(), req.clone(), Some(&k))
        .await
        .expect("first create");
    h.clock.advance(Duration::from_mins(1));
    let second = h
        .service
        .create(&platform_admin(), req, Some(&k))
        .await
        .expect("replay");

    assert!(!first.replayed);
    assert!(second.replayed);
    assert_eq!(
        second.value, first.value,
        "the first tenant, as first answered"
    );
    assert_eq!(h.list_all(&platform_admin(), 10).await.len(), 1);
    assert_eq!(h.pending_types().await, ["TENANT_CREATED"]);
    assert_eq!(h.audit_types(&first.value.id).await, ["TENANT_CREATED"]);
}

#[tokio::test]
async fn the_replay_shows_the_tenant_as_first_created_even_after_it_changed() {
    let h = Harness::in_memory();
    let k = key("create-acme-1");
    let first = h
        .service
        .create(&platform_admin(), new_tenant("Acme Corp"), Some(&k))
        .await
        .expect("create");
    h.service
        .set_status(
            &platform_admin(),
            &first.value.id,
            bbws_core::tenant::TenantStatus::Active,
            None,
            None,
        )
        .await
        .expect("activate");

    let again = h
        .service
        .create(&platform_admin(), new_tenant("Acme Corp"), Some(&k))
        .await
        .expect("replay");

    assert!(again.replayed);
    assert_eq!(again.value, first.value);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused() {
    let h = Harness::in_memory();
    let k = key("create-acme-1");
    h.service
        .create(&platform_admin(), new_tenant("Acme Corp"), Some(&k))
        .await
        .expect("first create");

    for other in [
        new_tenant("Beta Ltd"),
        new_tenant_in("Acme Corp", Environment::Prod),
    ] {
        let err = h
            .service
            .create(&platform_admin(), other, Some(&k))
            .await
            .expect_err("another request");
        assert_eq!(err.code(), ErrorCode::IdempotencyKeyReused);
        assert_eq!(err.code().http_status(), 409);
    }
    assert_eq!(h.list_all(&platform_admin(), 10).await.len(), 1);
    assert_eq!(h.pending().await.len(), 1);
}

#[tokio::test]
async fn keys_of_different_callers_are_independent() {
    let h = Harness::in_memory();
    let k = key("shared-key");
    let alice = operator(&[]);
    let bob =
        actor(&json!({"sub": "sub-bob", "email": "bob@bbws.io", "cognito:groups": ["Operators"]}));

    let a = h
        .service
        .create(&alice, new_tenant("Acme Corp"), Some(&k))
        .await
        .expect("alice creates");
    let b = h
        .service
        .create(&bob, new_tenant("Beta Ltd"), Some(&k))
        .await
        .expect("bob's key is his own");

    assert!(!a.replayed);
    assert!(!b.replayed);
    assert_ne!(a.value.id, b.value.id);
    let err = h
        .service
        .create(&bob, new_tenant("Acme Corp"), Some(&key("bob-2")))
        .await
        .expect_err("bob's request is not a replay of alice's");
    assert_eq!(
        err.code(),
        ErrorCode::Conflict,
        "bob never sees alice's tenant through a key"
    );
    assert_eq!(h.list_all(&platform_admin(), 10).await.len(), 2);
}

#[tokio::test]
async fn a_key_can_be_reused_after_24_hours() {
    let h = Harness::in_memory();
    let k = key("create-acme-1");
    let first = h
        .service
        .create(&platform_admin(), new_tenant("Acme Corp"), Some(&k))
        .await
        .expect("create");

    h.clock
        .advance(Duration::from_hours(24) - Duration::from_millis(1));
    let err = h
        .service
        .create(&platform_admin(), new_tenant("Beta Ltd"), Some(&k))
        .await
        .expect_err("the key is still remembered just before 24 h");
    assert_eq!(err.code(), ErrorCode::IdempotencyKeyReused);

    h.clock.advance(Duration::from_millis(2));
    let later = h
        .service
        .create(&platform_admin(), new_tenant("Beta Ltd"), Some(&k))
        .await
        .expect("key expired");

    assert!(!later.replayed);
    assert_ne!(later.value.id, first.value.id);
    assert_eq!(later.value.organization_name.as_str(), "Beta Ltd");
    assert_eq!(h.list_all(&platform_admin(), 10).await.len(), 2);

    let replay = h
        .service
        .create(&platform_admin(), new_tenant("Beta Ltd"), Some(&k))
        .await
        .expect("replay");
    assert!(
        replay.replayed,
        "the reused key now remembers the new request"
    );
    assert_eq!(replay.value.id, later.value.id);
}

/// A client that retries before its first request was answered must still get the one tenant,
/// not a name conflict with itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_create_one_tenant() {
    // On the file store a commit waits for fsync, so the retries really overlap.
    let dir = tempfile::tempdir().expect("temp dir");
    let h = Harness::on(EmbeddedStore::open(dir.path().join("bbws.redb")).expect("store opens"));
    let k = key("create-acme-1");

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = h.service.clone();
            let k = k.clone();
            tokio::spawn(async move {
                s.create(&platform_admin(), new_tenant("Acme Corp"), Some(&k))
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(
            t.await
                .expect("task completes")
                .expect("every retry succeeds"),
        );
    }

    assert_eq!(
        results.iter().filter(|r| !r.replayed).count(),
        1,
        "one request created"
    );
    assert!(
        results.iter().all(|r| r.value.id == results[0].value.id),
        "all answered with the one tenant"
    );
    assert_eq!(h.list_all(&platform_admin(), 10).await.len(), 1);
    assert_eq!(h.pending().await.len(), 1);
}
