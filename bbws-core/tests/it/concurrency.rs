//! Concurrent writers never lose an update, and uniqueness holds under races.

use std::sync::Arc;

use bbws_core::ErrorCode;
use bbws_core::store::EmbeddedStore;
use serde_json::{Map, Value, json};

use crate::support::{Harness, merge, new_tenant, platform_admin};

const WRITERS: usize = 16;

async fn concurrent_updates_lose_nothing(h: Harness) {
    let t = h.create("Acme Corp").await;

    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let s = Arc::clone(&h.service);
            let id = t.id;
            tokio::spawn(async move {
                s.update(
                    &platform_admin(),
                    &id,
                    merge(json!({ format!("k{i}"): i })),
                    None,
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("task completes")
            .expect("every concurrent update succeeds");
    }

    let stored = h.stored(&t.id).await;
    let expected: Map<String, Value> = (0..WRITERS).map(|i| (format!("k{i}"), json!(i))).collect();
    assert_eq!(stored.metadata, expected, "every writer's key is there");
    assert_eq!(stored.version, 1 + WRITERS as u64);
    let audit = h.audit_types(&t.id).await;
    assert_eq!(
        audit.iter().filter(|e| *e == "TENANT_UPDATED").count(),
        WRITERS
    );
    assert_eq!(h.pending().await.len(), 1 + WRITERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_updates_lose_nothing_in_memory() {
    concurrent_updates_lose_nothing(Harness::in_memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_updates_lose_nothing_on_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path().join("bbws.redb")).expect("store opens");
    concurrent_updates_lose_nothing(Harness::on(store)).await;
}

/// Creates a tenant under each name at once; returns how many succeeded and how many conflicted.
async fn race_creates(h: &Harness, names: &[&'static str]) -> (usize, usize) {
    let tasks: Vec<_> = names
        .iter()
        .map(|&name| {
            let s = Arc::clone(&h.service);
            tokio::spawn(async move { s.create(&platform_admin(), new_tenant(name), None).await })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("task completes") {
            Ok(_) => ok += 1,
            Err(e) if e.code() == ErrorCode::Conflict => conflicts += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    (ok, conflicts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_creates_with_one_name_admit_exactly_one() {
    let h = Harness::in_memory();

    assert_eq!(race_creates(&h, &["Acme Corp", "Acme Corp"]).await, (1, 1));

    assert_eq!(h.list_all(&platform_admin(), 10).await.len(), 1);
    assert_eq!(h.pending().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn many_concurrent_creates_with_one_name_in_any_spelling_admit_exactly_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let h = Harness::on(EmbeddedStore::open(dir.path().join("bbws.redb")).expect("store opens"));
    let spellings = [
        "Acme Corp",
        "ACME CORP",
        "acme corp",
        " Acme  Corp",
        "aCmE cOrP",
        "Acme corp",
        "ACME Corp",
        "acme CORP",
    ];

    assert_eq!(race_creates(&h, &spellings).await, (1, spellings.len() - 1));

    assert_eq!(h.list_all(&platform_admin(), 10).await.len(), 1);
    assert_eq!(h.pending().await.len(), 1);
}
