//! The file store keeps every acknowledged write across a close and reopen, and only one
//! process (or handle) may hold the file.

use bbws_core::ErrorCode;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::TenantStatus;

use crate::support::{Harness, new_tenant, pending_in, platform_admin, reason};

#[tokio::test]
async fn tenants_audit_and_pending_events_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bbws.redb");
    let key = IdempotencyKey::parse("create-acme-1").expect("valid key");

    let (acme, beta, audit_before, pending_before) = {
        let h = Harness::on(EmbeddedStore::open(&path).expect("store opens"));
        let acme = h
            .service
            .create(&platform_admin(), new_tenant("Acme Corp"), Some(&key))
            .await
            .expect("create")
            .value;
        h.service
            .set_status(
                &platform_admin(),
                &acme.id,
                TenantStatus::Active,
                None,
                None,
            )
            .await
            .expect("activate");
        let acme = h
            .service
            .park(
                &platform_admin(),
                &acme.id,
                &reason("Customer asked for a pause"),
                None,
            )
            .await
            .expect("park");
        let beta = h.create("Beta Ltd").await;
        (
            acme.clone(),
            beta,
            h.audit(&acme.id).await,
            h.pending().await,
        )
        // `h` (service and store) is dropped here, closing the file.
    };

    let h = Harness::on(EmbeddedStore::open(&path).expect("store reopens"));

    let stored = h.stored(&acme.id).await;
    assert_eq!(stored, acme);
    assert_eq!(stored.status, TenantStatus::Parked);
    assert_eq!(stored.version, 3);
    assert!(stored.parked.is_some());
    assert_eq!(h.stored(&beta.id).await, beta);
    assert_eq!(h.audit(&acme.id).await, audit_before);
    assert_eq!(
        h.audit_types(&acme.id).await,
        ["TENANT_CREATED", "STATUS_CHANGED", "TENANT_PARKED"]
    );
    assert_eq!(h.pending().await, pending_before);
    assert_eq!(pending_before.len(), 4);

    let err = h
        .service
        .create(&platform_admin(), new_tenant("ACME CORP"), None)
        .await
        .expect_err("the name guard survived");
    assert_eq!(err.code(), ErrorCode::Conflict);
    let replay = h
        .service
        .create(&platform_admin(), new_tenant("Acme Corp"), Some(&key))
        .await
        .expect("the idempotency record survived");
    assert!(replay.replayed);
    assert_eq!(replay.value.id, acme.id);
}

#[tokio::test]
async fn a_store_file_in_use_cannot_be_opened_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bbws.redb");
    let first = EmbeddedStore::open(&path).expect("store opens");

    let err = EmbeddedStore::open(&path).expect_err("the file is held");

    assert_eq!(err.code(), ErrorCode::StorageError);
    assert!(err.to_string().contains("in use"), "{err}");
    assert!(
        pending_in(&first).await.is_empty(),
        "the first handle still works"
    );
    drop(first);
    EmbeddedStore::open(&path).expect("free again once closed");
}

/// The in-memory store commits most writes without durability and every 64th durably; across
/// several durable points every write stays readable, listed, with its events.
#[tokio::test]
async fn the_memory_store_keeps_every_write_across_its_durable_points() {
    let h = Harness::in_memory();
    let mut ids = Vec::new();
    for i in 0..150 {
        ids.push(h.create(&format!("Memory Tenant {i:03}")).await.id);
    }
    for id in &ids {
        assert_eq!(h.stored(id).await.id, *id);
    }
    let mut listed: Vec<_> = h
        .list_all(&platform_admin(), 100)
        .await
        .iter()
        .map(|t| t.id)
        .collect();
    let mut created = ids.clone();
    listed.sort();
    created.sort();
    assert_eq!(listed, created);
    assert_eq!(h.pending().await.len(), ids.len());
}
