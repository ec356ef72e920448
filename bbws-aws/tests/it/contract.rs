//! The DAO contract: one suite, run against every backend (in memory, the embedded file store,
//! DynamoDB on moto). Each case goes through `TenantService` (what users see) and, where the
//! ports promise something the service does not show, through the traits directly.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bbws_core::events::{EventPublisher, OutboxMessage, OutboxRelay};
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{EventId, TenantId};
use bbws_core::pagination::Cursor;
use bbws_core::ports::{Expect, NameGuard, TenantWrite};
use bbws_core::tenant::{Environment, Tenant, TenantFilter, TenantPatch, TenantStatus};
use bbws_core::{Error, ErrorCode};
use serde_json::{Map, Value, json};

use crate::support::{Subject, admin, new_tenant, page, reason};

fn rename(name: &str) -> TenantPatch {
    TenantPatch {
        organization_name: Some(
            bbws_core::tenant::OrganizationName::parse(name).expect("valid name"),
        ),
        ..TenantPatch::default()
    }
}

fn merge(v: Value) -> TenantPatch {
    let Value::Object(m) = v else {
        panic!("a JSON object")
    };
    TenantPatch {
        metadata: Some(m),
        ..TenantPatch::default()
    }
}

async fn activate(s: &Subject, t: &Tenant) -> Tenant {
    s.service
        .set_status(&admin(), &t.id, TenantStatus::Active, None, None)
        .await
        .expect("activate")
}

async fn audit_types(s: &Subject, id: &TenantId) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = s
            .service
            .audit_trail(&admin(), id, &page(2, cursor))
            .await
            .expect("audit trail");
        out.extend(p.items.into_iter().map(|e| e.event_type));
        match p.next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// Every event in the outbox, oldest first. Moves the clock on first, past the lease a shared
/// backend (DynamoDB) took on an earlier read, so each read sees the whole outbox.
async fn pending(s: &Subject) -> Vec<OutboxMessage> {
    s.clock.advance(LAPSE);
    s.backend.pending(1000).await.expect("outbox readable")
}

/// Longer than any outbox lease.
const LAPSE: Duration = Duration::from_mins(5);

// ---- create, get, names ----

pub async fn create_then_get(s: Subject) {
    let created = s
        .service
        .create(&admin(), new_tenant("Acme Corp", Environment::Prod), None)
        .await
        .expect("create");
    assert!(!created.replayed);
    let t = created.value;
    assert_eq!(t.status, TenantStatus::Pending);
    assert_eq!(t.version, 1);

    assert_eq!(s.service.get(&admin(), &t.id).await.expect("get"), t);
    assert_eq!(
        s.backend.get_tenant(&t.id).await.expect("get_tenant"),
        Some(t.clone()),
        "stored exactly as created"
    );
    let unknown: TenantId = "tenant-00000000-0000-4000-8000-000000000000"
        .parse()
        .expect("id");
    assert_eq!(s.backend.get_tenant(&unknown).await.expect("get"), None);
    let err = s.service.get(&admin(), &unknown).await.expect_err("absent");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
}

pub async fn names_are_unique_in_any_case_and_rename_moves_the_guard(s: Subject) {
    let acme = s.create("Acme Corp").await;
    let beta = s.create("Beta Ltd").await;

    let err = s
        .service
        .create(&admin(), new_tenant("ACME corp", Environment::Sit), None)
        .await
        .expect_err("taken in another case");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(err.details(), json!({"organizationName": "ACME corp"}));

    let err = s
        .service
        .update(&admin(), &beta.id, rename("acme CORP"), None)
        .await
        .expect_err("rename onto a taken name");
    assert_eq!(err.code(), ErrorCode::Conflict);

    // A change of case only keeps the guard.
    let acme = s
        .service
        .update(&admin(), &acme.id, rename("ACME Corp"), None)
        .await
        .expect("same name, other case");
    // A real rename frees the old name and takes the new one, atomically.
    s.service
        .update(&admin(), &acme.id, rename("Acme Group"), None)
        .await
        .expect("rename");
    s.create("acme corp").await;
    let err = s
        .service
        .create(&admin(), new_tenant("ACME GROUP", Environment::Dev), None)
        .await
        .expect_err("the new name is guarded");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(
        s.service
            .get(&admin(), &beta.id)
            .await
            .expect("get")
            .version,
        1,
        "the refused rename changed nothing"
    );
}

// ---- versions ----

pub async fn stale_versions_are_refused(s: Subject) {
    let t = s.create("Acme Corp").await;
    let t2 = s
        .service
        .update(&admin(), &t.id, merge(json!({"tier": "gold"})), Some(1))
        .await
        .expect("update at version 1");
    assert_eq!(t2.version, 2);

    let err = s
        .service
        .update(&admin(), &t.id, merge(json!({"tier": "silver"})), Some(1))
        .await
        .expect_err("stale If-Match");
    assert_eq!(err.code(), ErrorCode::VersionConflict);
    assert_eq!(
        err.details(),
        json!({"expectedVersion": 1, "currentVersion": 2})
    );

    // Straight through the port: the store itself enforces the condition.
    let audit = bbws_core::audit::AuditEvent {
        event_id: EventId::generate(&bbws_core::ids::RandomIds),
        tenant_id: t.id,
        event_type: "TENANT_UPDATED".into(),
        timestamp: t2.updated.at.next(),
        actor: "test".into(),
        details: json!({}),
    };
    let write = |expect, tenant: Tenant| TenantWrite {
        tenant,
        expect,
        name_guard: NameGuard::Keep,
        audit: audit.clone(),
        events: vec![],
        idempotency: None,
    };
    let mut next = t2.clone();
    next.version = 3;
    match s
        .backend
        .write_tenant(write(Expect::Version(1), next.clone()))
        .await
    {
        Err(Error::VersionConflict { expected, current }) => {
            assert_eq!((expected, current), (1, 2));
        }
        other => panic!("expected VersionConflict, got {other:?}"),
    }
    let err = s
        .backend
        .write_tenant(write(Expect::Absent, next.clone()))
        .await
        .expect_err("creating an existing tenant");
    assert_eq!(err.code(), ErrorCode::Conflict);
    let mut ghost = next.clone();
    ghost.id = "tenant-00000000-0000-4000-8000-000000000001"
        .parse()
        .expect("id");
    let err = s
        .backend
        .write_tenant(write(Expect::Version(1), ghost))
        .await
        .expect_err("updating a tenant that does not exist");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
    assert_eq!(
        s.backend.get_tenant(&t.id).await.expect("get"),
        Some(t2),
        "nothing refused was written"
    );
}

// ---- lifecycle: one audit event and one outbox event per change ----

pub async fn every_change_writes_one_audit_and_one_event(s: Subject) {
    let t = s.create("Acme Corp").await;
    let admin = admin();
    let steps: Vec<(&str, &str)> = vec![
        ("TENANT_CREATED", "TENANT_CREATED"),
        ("STATUS_CHANGED", "TENANT_STATUS_CHANGED"),
        ("TENANT_PARKED", "TENANT_PARKED"),
        ("TENANT_UNPARKED", "TENANT_UNPARKED"),
        ("TENANT_SUSPENDED", "TENANT_SUSPENDED"),
        ("TENANT_RESUMED", "TENANT_RESUMED"),
        ("TENANT_UPDATED", "TENANT_UPDATED"),
        ("TENANT_DEPROVISIONED", "TENANT_DEPROVISIONED"),
    ];
    for (i, (audit_type, event_type)) in steps.iter().enumerate() {
        match i {
            0 => {}
            1 => {
                activate(&s, &t).await;
            }
            2 => {
                s.service
                    .park(&admin, &t.id, &reason("Customer asked for a pause"), None)
                    .await
                    .expect("park");
            }
            3 => {
                s.service.unpark(&admin, &t.id, None).await.expect("unpark");
            }
            4 => {
                s.service
                    .suspend(&admin, &t.id, &reason("Invoice 42 is overdue"), None)
                    .await
                    .expect("suspend");
            }
            5 => {
                s.service.resume(&admin, &t.id, None).await.expect("resume");
            }
            6 => {
                s.service
                    .update(&admin, &t.id, merge(json!({"tier": "gold"})), None)
                    .await
                    .expect("update");
            }
            _ => {
                s.service
                    .deprovision(&admin, &t.id, false, None)
                    .await
                    .expect("deprovision");
            }
        }
        let audit = audit_types(&s, &t.id).await;
        let events: Vec<String> = pending(&s)
            .await
            .into_iter()
            .map(|m| m.detail_type)
            .collect();
        assert_eq!(audit.len(), i + 1, "one audit event per change");
        assert_eq!(&audit[i], audit_type);
        assert_eq!(events.len(), i + 1, "one outbox event per change");
        assert_eq!(&events[i], event_type);
    }
    let stored = s.service.get(&admin, &t.id).await.expect("get");
    assert_eq!(stored.status, TenantStatus::Deprovisioned);
    assert_eq!(stored.version, 8);
}

// ---- listing ----

/// Creates `n` tenants a second apart ("Tenant 0" oldest); returns them oldest first.
async fn create_spaced(s: &Subject, n: usize, env: impl Fn(usize) -> Environment) -> Vec<Tenant> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(s.create_in(&format!("Tenant {i}"), env(i)).await);
        s.clock.advance(Duration::from_secs(1));
    }
    out
}

/// Follows `next` to the end; returns the ids of each page.
async fn all_pages(
    s: &Subject,
    status: Option<TenantStatus>,
    env: Option<Environment>,
    name: Option<&str>,
    limit: u32,
) -> Vec<Vec<TenantId>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = s
            .service
            .list(
                &admin(),
                status,
                env,
                name.map(str::to_owned),
                &page(limit, cursor),
            )
            .await
            .expect("list");
        assert!(p.items.len() <= limit as usize, "never more than limit");
        out.push(p.items.iter().map(|t| t.id).collect());
        match p.next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
        assert!(out.len() <= 20, "paging terminates");
    }
}

fn sizes(pages: &[Vec<TenantId>]) -> Vec<usize> {
    pages.iter().map(Vec::len).collect()
}

pub async fn pages_visit_every_tenant_once_newest_first(s: Subject) {
    let created = create_spaced(&s, 7, |_| Environment::Dev).await;
    let newest_first: Vec<TenantId> = created.iter().rev().map(|t| t.id).collect();

    for (limit, expected) in [
        (1, vec![1; 7]),
        (2, vec![2, 2, 2, 1]),
        (3, vec![3, 3, 1]),
        (7, vec![7]),
        (100, vec![7]),
    ] {
        let pages = all_pages(&s, None, None, None, limit).await;
        assert_eq!(sizes(&pages), expected, "limit {limit}");
        let seen: Vec<TenantId> = pages.into_iter().flatten().collect();
        assert_eq!(seen, newest_first, "limit {limit}: each once, newest first");
    }
}

pub async fn a_page_ending_exactly_at_the_limit_has_no_empty_follower(s: Subject) {
    let created = create_spaced(&s, 6, |_| Environment::Dev).await;
    let all: HashSet<TenantId> = created.iter().map(|t| t.id).collect();
    for (limit, expected) in [
        (1, vec![1; 6]),
        (2, vec![2, 2, 2]),
        (3, vec![3, 3]),
        (6, vec![6]),
    ] {
        let pages = all_pages(&s, None, None, None, limit).await;
        assert_eq!(sizes(&pages), expected, "limit {limit}");
        assert_eq!(pages.into_iter().flatten().collect::<HashSet<_>>(), all);
    }
}

/// status, environment, name part, and the expected ids newest first.
type Case<'a> = (
    Option<TenantStatus>,
    Option<Environment>,
    Option<&'a str>,
    Vec<TenantId>,
);

pub async fn filtered_pages_visit_every_match_once(s: Subject) {
    // 7 tenants: even ones ACTIVE; environments dev, sit, prod in turn; names "Tenant i".
    let envs = [Environment::Dev, Environment::Sit, Environment::Prod];
    let created = create_spaced(&s, 7, |i| envs[i % 3]).await;
    let mut current = Vec::new();
    for (i, t) in created.iter().enumerate() {
        if i % 2 == 0 {
            current.push(activate(&s, t).await);
            s.clock.advance(Duration::from_secs(1));
        } else {
            current.push(t.clone());
        }
    }
    let newest_first = |pred: &dyn Fn(usize, &Tenant) -> bool| -> Vec<TenantId> {
        current
            .iter()
            .enumerate()
            .rev()
            .filter(|(i, t)| pred(*i, t))
            .map(|(_, t)| t.id)
            .collect()
    };
    let cases: Vec<Case<'_>> = vec![
        (
            Some(TenantStatus::Active),
            None,
            None,
            newest_first(&|i, _| i % 2 == 0),
        ),
        (
            Some(TenantStatus::Pending),
            None,
            None,
            newest_first(&|i, _| i % 2 == 1),
        ),
        (
            None,
            Some(Environment::Dev),
            None,
            newest_first(&|i, _| i % 3 == 0),
        ),
        (
            None,
            Some(Environment::Prod),
            None,
            newest_first(&|i, _| i % 3 == 2),
        ),
        (None, None, Some("ANT 3"), newest_first(&|i, _| i == 3)),
        (None, None, Some("tenant"), newest_first(&|_, _| true)),
        (
            Some(TenantStatus::Active),
            Some(Environment::Dev),
            None,
            newest_first(&|i, _| i % 2 == 0 && i % 3 == 0),
        ),
        (
            None,
            Some(Environment::Sit),
            Some("nant"),
            newest_first(&|i, _| i % 3 == 1),
        ),
        (Some(TenantStatus::Parked), None, None, vec![]),
    ];
    for (status, env, name, expected) in cases {
        for limit in [1, 2, 3] {
            let pages = all_pages(&s, status, env, name, limit).await;
            let n = expected.len();
            let want: Vec<usize> = if n == 0 {
                vec![0]
            } else {
                let l = limit as usize;
                (0..n.div_ceil(l)).map(|p| l.min(n - p * l)).collect()
            };
            assert_eq!(
                sizes(&pages),
                want,
                "{status:?}/{env:?}/{name:?} limit {limit}: full pages, no empty follower"
            );
            let seen: Vec<TenantId> = pages.into_iter().flatten().collect();
            assert_eq!(seen, expected, "{status:?}/{env:?}/{name:?} limit {limit}");
        }
    }
}

pub async fn cursors_are_bound_to_their_query_and_tamper_proof(s: Subject) {
    let created = create_spaced(&s, 3, |_| Environment::Dev).await;
    for t in &created {
        activate(&s, t).await;
    }
    let first = s
        .service
        .list(
            &admin(),
            Some(TenantStatus::Active),
            None,
            None,
            &page(1, None),
        )
        .await
        .expect("list");
    let token = first.next.expect("more");

    let err = s
        .service
        .list(&admin(), None, None, None, &page(1, Some(token.clone())))
        .await
        .expect_err("another query");
    assert_eq!(err.code(), ErrorCode::ValidationError);

    let (payload, check) = token.as_str().split_once('.').expect("shape");
    let err = Cursor::parse(&format!("{payload}A.{check}")).expect_err("altered");
    assert_eq!(err.code(), ErrorCode::ValidationError);

    // Well-formed tokens for this query whose position no backend issues: still a 400.
    let fp = TenantFilter {
        scope: admin().scope(),
        ..TenantFilter::all()
    }
    .fingerprint();
    for position in [
        json!({}),
        json!("x"),
        json!({"before": 7}),
        json!({"PK": "ORGNAME#x", "SK": "UNIQUE", "GSI4PK": "TENANTS", "GSI4SK": "x"}),
    ] {
        let forged = Cursor::seal("tenants", &fp, &position);
        let err = s
            .service
            .list(&admin(), None, None, None, &page(1, Some(forged)))
            .await
            .expect_err("forged position");
        assert_eq!(err.code(), ErrorCode::ValidationError, "{position}");
    }

    // Audit cursors belong to one tenant.
    let a = s
        .service
        .audit_trail(&admin(), &created[0].id, &page(1, None))
        .await
        .expect("audit");
    let err = s
        .service
        .audit_trail(&admin(), &created[1].id, &page(1, a.next))
        .await
        .expect_err("another tenant's audit cursor");
    assert_eq!(err.code(), ErrorCode::ValidationError);
}

// ---- idempotency ----

pub async fn idempotency_replays_refuses_and_expires(s: Subject) {
    let key = IdempotencyKey::parse("create-acme-1").expect("key");
    let mut req = new_tenant("Acme Corp", Environment::Dev);
    req.metadata = Map::from_iter([("tier".to_owned(), json!("gold"))]);

    let first = s
        .service
        .create(&admin(), req.clone(), Some(&key))
        .await
        .expect("first");
    s.clock.advance(Duration::from_mins(1));
    let again = s
        .service
        .create(&admin(), req.clone(), Some(&key))
        .await
        .expect("replay");
    assert!(again.replayed);
    assert_eq!(again.value, first.value);
    assert_eq!(pending(&s).await.len(), 1, "one event for both");
    assert_eq!(audit_types(&s, &first.value.id).await, ["TENANT_CREATED"]);

    let err = s
        .service
        .create(
            &admin(),
            new_tenant("Beta Ltd", Environment::Dev),
            Some(&key),
        )
        .await
        .expect_err("same key, other request");
    assert_eq!(err.code(), ErrorCode::IdempotencyKeyReused);

    // 24 h after the first request the key is free again.
    let expiry = first.value.created.at.plus(Duration::from_hours(24));
    let left = expiry.millis() - bbws_core::time::Clock::now(s.clock.as_ref()).millis();
    s.clock.advance(Duration::from_millis(
        u64::try_from(left - 1).expect("before expiry"),
    ));
    let err = s
        .service
        .create(
            &admin(),
            new_tenant("Beta Ltd", Environment::Dev),
            Some(&key),
        )
        .await
        .expect_err("still remembered 1 ms before expiry");
    assert_eq!(err.code(), ErrorCode::IdempotencyKeyReused);
    s.clock.advance(Duration::from_millis(1));
    let later = s
        .service
        .create(
            &admin(),
            new_tenant("Beta Ltd", Environment::Dev),
            Some(&key),
        )
        .await
        .expect("an expired key is free");
    assert!(!later.replayed);
    assert_ne!(later.value.id, first.value.id);
}

// ---- outbox ----

#[derive(Debug, Default)]
struct Recorder {
    published: std::sync::Mutex<Vec<String>>,
    down: AtomicBool,
}

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, events: &[OutboxMessage]) -> bbws_core::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Storage("the bus is unreachable".into()));
        }
        self.published
            .lock()
            .expect("recorder")
            .extend(events.iter().map(|m| m.id.to_string()));
        Ok(())
    }
}

pub async fn outbox_hands_out_oldest_first_and_forgets_published(s: Subject) {
    for i in 0..5 {
        s.create(&format!("Tenant {i}")).await;
        s.clock.advance(Duration::from_secs(1));
    }
    let all = pending(&s).await;
    assert_eq!(all.len(), 5);
    let names: Vec<&str> = all
        .iter()
        .map(|m| m.detail["organizationName"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["Tenant 0", "Tenant 1", "Tenant 2", "Tenant 3", "Tenant 4"]
    );
    // A shared backend leased what `pending` just returned; let that lapse.
    s.clock.advance(LAPSE);

    let two = s.backend.pending(2).await.expect("pending");
    assert_eq!(
        two.iter().map(|m| m.id).collect::<Vec<_>>(),
        all[..2].iter().map(|m| m.id).collect::<Vec<_>>()
    );
    s.backend
        .mark_published(&[two[0].id, two[1].id])
        .await
        .expect("mark");
    s.clock.advance(LAPSE);
    let left: Vec<EventId> = pending(&s).await.iter().map(|m| m.id).collect();
    assert_eq!(left, all[2..].iter().map(|m| m.id).collect::<Vec<_>>());

    // The relay: a failed publish keeps everything; the next drain sends each event once.
    s.clock.advance(LAPSE);
    let recorder = Arc::new(Recorder::default());
    recorder.down.store(true, Ordering::SeqCst);
    let relay = OutboxRelay::new(s.backend.clone(), recorder.clone());
    relay.drain().await.expect_err("the bus is down");
    s.clock.advance(LAPSE);
    assert_eq!(pending(&s).await.len(), 3, "nothing dropped");
    s.clock.advance(LAPSE);
    recorder.down.store(false, Ordering::SeqCst);
    assert_eq!(relay.drain().await.expect("drain"), 3);
    assert_eq!(
        *recorder.published.lock().expect("recorder"),
        all[2..]
            .iter()
            .map(|m| m.id.to_string())
            .collect::<Vec<_>>()
    );
    s.clock.advance(LAPSE);
    assert!(pending(&s).await.is_empty());
    assert_eq!(relay.drain().await.expect("drain"), 0, "nothing twice");
}

// ---- resources ----

pub async fn live_resources_block_deprovisioning(s: Subject) {
    let t = s.create("Acme Corp").await;
    let t = activate(&s, &t).await;
    assert!(
        s.backend
            .active_resources(&t.id)
            .await
            .expect("read")
            .is_empty()
    );
    s.record_resource(&t, "ecs", "active").await;
    s.record_resource(&t, "efs", "deleted").await;
    let other = s.create("Beta Ltd").await;
    s.record_resource(&other, "database", "active").await;

    let live = s.backend.active_resources(&t.id).await.expect("read");
    assert_eq!(
        live.len(),
        1,
        "deleted ones and other tenants' do not count"
    );
    assert_eq!(
        (live[0].resource_type.as_str(), live[0].name.as_str()),
        ("ecs", "ecs-1")
    );

    let err = s
        .service
        .deprovision(&admin(), &t.id, false, None)
        .await
        .expect_err("live resources");
    assert_eq!(err.code(), ErrorCode::ActiveResourcesExist);
    assert_eq!(err.details(), json!({"resources": ["ecs:ecs-1"]}));
    let gone = s
        .service
        .deprovision(&admin(), &t.id, true, None)
        .await
        .expect("force");
    assert_eq!(gone.status, TenantStatus::Deprovisioned);
}

// ---- concurrency ----

pub async fn concurrent_creates_of_one_name_admit_exactly_one(s: Subject) {
    let spellings = [
        "Acme Corp",
        "ACME CORP",
        "acme corp",
        "Acme corp",
        "aCmE CoRp",
    ];
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let svc = s.service.clone();
            let name = spellings[i % spellings.len()];
            tokio::spawn(async move {
                svc.create(&admin(), new_tenant(name, Environment::Dev), None)
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) if e.code() == ErrorCode::Conflict => conflicts += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 19));
    let listed = all_pages(&s, None, None, None, 100).await;
    assert_eq!(sizes(&listed), [1], "one tenant stored");
    assert_eq!(pending(&s).await.len(), 1, "one event");
}

pub async fn concurrent_updates_with_one_if_match_admit_exactly_one(s: Subject) {
    let t = s.create("Acme Corp").await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let svc = s.service.clone();
            tokio::spawn(async move {
                svc.update(&admin(), &t.id, merge(json!({"writer": i})), Some(1))
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(t) => winners.push(t),
            Err(Error::VersionConflict {
                expected: 1,
                current: 2,
            }) => conflicts += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((winners.len(), conflicts), (1, 19));
    let stored = s.service.get(&admin(), &t.id).await.expect("get");
    assert_eq!(stored, winners[0], "the winner's write is what is stored");
    assert_eq!(stored.version, 2);
    assert_eq!(audit_types(&s, &t.id).await.len(), 2);
}

pub async fn concurrent_updates_without_if_match_lose_nothing(s: Subject) {
    const WRITERS: usize = 16;
    let t = s.create("Acme Corp").await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let svc = s.service.clone();
            tokio::spawn(async move {
                svc.update(&admin(), &t.id, merge(json!({ format!("k{i}"): i })), None)
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("every update succeeds");
    }
    let stored = s.service.get(&admin(), &t.id).await.expect("get");
    let expected: Map<String, Value> = (0..WRITERS).map(|i| (format!("k{i}"), json!(i))).collect();
    assert_eq!(stored.metadata, expected, "every writer's key is there");
    assert_eq!(stored.version, 1 + WRITERS as u64);
    let audit = audit_types(&s, &t.id).await;
    assert_eq!(
        audit.iter().filter(|a| *a == "TENANT_UPDATED").count(),
        WRITERS
    );
    let per_type: HashMap<String, usize> =
        pending(&s)
            .await
            .into_iter()
            .fold(HashMap::new(), |mut m, e| {
                *m.entry(e.detail_type).or_default() += 1;
                m
            });
    assert_eq!(per_type.get("TENANT_UPDATED"), Some(&WRITERS));
}

/// Runs every contract case against one backend: `$make` is an async expression giving a fresh
/// `Subject`.
macro_rules! contract_for {
    ($backend:ident, $make:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use crate::support::Subject;

            contract_for!(@cases $make;
                create_then_get,
                names_are_unique_in_any_case_and_rename_moves_the_guard,
                stale_versions_are_refused,
                every_change_writes_one_audit_and_one_event,
                pages_visit_every_tenant_once_newest_first,
                a_page_ending_exactly_at_the_limit_has_no_empty_follower,
                filtered_pages_visit_every_match_once,
                cursors_are_bound_to_their_query_and_tamper_proof,
                idempotency_replays_refuses_and_expires,
                outbox_hands_out_oldest_first_and_forgets_published,
                live_resources_block_deprovisioning,
                concurrent_creates_of_one_name_admit_exactly_one,
                concurrent_updates_with_one_if_match_admit_exactly_one,
                concurrent_updates_without_if_match_lose_nothing,
            );
        }
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                super::$case($make).await;
            }
        )*
    };
}

contract_for!(memory, Subject::memory());
contract_for!(file, Subject::file());
contract_for!(dynamodb, Subject::dynamodb().await);
