//! Small programs that embed the bbws crates. The programs themselves live in
//! `examples/examples`; the logic they share lives here, so the integration tests in
//! `tests/it` can check that the examples still do what they print.
//!
//! - [`tenant_lifecycle`]: embed `bbws-core` on the persistent embedded store, take one tenant
//!   through create → activate → park, read its audit trail and publish its events
//!   (`cargo run -p bbws-examples --example tenant_lifecycle [DIR]`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bbws_core::Result;
use bbws_core::audit::AuditEvent;
use bbws_core::auth::Actor;
use bbws_core::events::OutboxRelay;
use bbws_core::ids::{RandomIds, TenantId};
use bbws_core::pagination::PageRequest;
use bbws_core::store::{EmbeddedStore, EventLog};
use bbws_core::tenant::{
    Email, Environment, NewTenant, OrganizationName, Reason, TenantPorts, TenantService,
    TenantStatus,
};
use bbws_core::time::SystemClock;

pub use bbws_core::store::EVENT_LOG_FILE;

/// What [`tenant_lifecycle`] did, for the example to print and the tests to check.
#[derive(Debug, Clone)]
pub struct Report {
    /// The id the service generated (`tenant-{uuid}`).
    pub tenant_id: TenantId,
    /// The tenant's status after the last step (PARKED).
    pub status: TenantStatus,
    /// The optimistic-locking version: 1 on create, +1 on every change.
    pub version: u64,
    /// The tenant's audit trail, oldest first.
    pub audit: Vec<AuditEvent>,
    /// How many outbox events this run handed to the event log.
    pub events_published: usize,
    /// Where they went.
    pub event_log: PathBuf,
}

impl Report {
    /// The `eventType` of each audit entry, oldest first.
    pub fn audit_types(&self) -> Vec<&str> {
        self.audit.iter().map(|e| e.event_type.as_str()).collect()
    }
}

/// Creates "Acme Corp" in the embedded store under `dir`, activates it, parks it, reads its audit
/// trail back and publishes its domain events to `dir/events.jsonl`.
///
/// Organisation names are unique, so a second run on the same directory is refused with
/// `CONFLICT` ("Organization 'Acme Corp' already exists"): the store is persistent.
pub async fn tenant_lifecycle(dir: &Path) -> Result<Report> {
    // 1. Storage. `open_dir` creates `dir/bbws.redb` (or reopens it). The embedded store
    //    implements every storage port — tenants, audit trail, outbox, idempotency records —
    //    and commits each change (tenant + audit event + outbox event) in one fsync'd
    //    transaction. `EmbeddedStore::in_memory()` is the same code without the file.
    let store = Arc::new(EmbeddedStore::open_dir(dir)?);

    // 2. The service. It depends only on ports (traits), so the same service runs on DynamoDB
    //    in AWS; here every storage port comes from the one embedded backend. The clock and the
    //    id generator are ports too, so tests can pin them (`ManualClock`).
    let tenants = TenantService::new(TenantPorts::from_backend(
        &store,
        Arc::new(SystemClock),
        Arc::new(RandomIds),
    ));

    // 3. The caller. Every service method takes an `Actor` and authorizes it. In the HTTP API
    //    it comes from a verified JWT (`Actor::from_claims`); a local tool acts as a platform
    //    admin (member of the `Admins` group), whose e-mail is written into the audit trail.
    let admin = Actor::local_admin("ops@example.com");

    // 4. Create. Values are parsed once into newtypes, so an invalid name or e-mail is an error
    //    here (VALIDATION_ERROR), never a bad record later. A new tenant starts PENDING, at
    //    version 1. The last argument is an optional idempotency key (see `IdempotencyKey`).
    let request = NewTenant {
        organization_name: OrganizationName::parse("Acme Corp")?,
        contact_email: Email::parse("admin@acme.example")?,
        environment: Environment::Dev,
        division: None,
        group: None,
        team: None,
        metadata: serde_json::Map::new(),
    };
    let created = tenants.create(&admin, request, None).await?;
    let id = created.value.id;

    // 5. Activate: PENDING → ACTIVE is what provisioning reports when it finishes. The last
    //    argument is `If-Match`: `Some(version)` refuses the change with VERSION_CONFLICT if
    //    someone else changed the tenant first; `None` retries on the fresh state instead.
    tenants
        .set_status(
            &admin,
            &id,
            TenantStatus::Active,
            Some("provisioning complete"),
            None,
        )
        .await?;

    // 6. Park: ACTIVE → PARKED releases the tenant's resources. Parking needs a reason.
    let reason = Reason::parse(Some("customer requested a pause"), "Park reason")?;
    let parked = tenants.park(&admin, &id, &reason, None).await?;

    // 7. The audit trail, oldest first, one page at a time (20 entries by default).
    let mut audit = Vec::new();
    let mut page = PageRequest::default();
    loop {
        let found = tenants.audit_trail(&admin, &id, &page).await?;
        audit.extend(found.items);
        match found.next {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }

    // 8. Events. Each change above also stored a domain event in the outbox, in the same
    //    transaction. A relay hands them to a publisher — EventBridge in AWS, a JSON-lines file
    //    here — and deletes them once published. `bbws serve` runs `OutboxRelay::run` in the
    //    background; a one-shot program calls `drain`.
    let event_log = dir.join(EVENT_LOG_FILE);
    let relay = OutboxRelay::new(store.clone(), Arc::new(EventLog::new(&event_log)));
    let events_published = relay.drain().await?;

    Ok(Report {
        tenant_id: id,
        status: parked.status,
        version: parked.version,
        audit,
        events_published,
        event_log,
    })
}
