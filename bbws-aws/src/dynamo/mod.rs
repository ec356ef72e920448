//! The tenant storage ports on DynamoDB: one table per service, single-table keys ([`keys`]).
//!
//! [`DynamoStore`] keeps the semantics of the embedded store (`bbws_core::store`), which is the
//! reference: a tenant write is one `TransactWriteItems` (tenant, name guard, audit, outbox events,
//! idempotency record) under conditions, and each condition that fails maps to the same error the
//! embedded store returns. Reads that serve one access pattern cost one request: a tenant is one
//! consistent `GetItem`, a listing page is one `Query` when no in-memory filter drops items.
//!
//! Records are the `bbws_core::records` types, (de)serialized with `serde_dynamo`, with the key
//! attributes added beside them.
//!
//! Listing: with `status` the page is read from GSI2 (most recently changed first), with only
//! `environment` from GSI3, otherwise from GSI4 (newest first); what the index does not select
//! (a name part, a caller's scope, the environment next to a status) is filtered in memory with
//! `TenantFilter::matches`, the embedded store's own predicate. Each Query asks for `limit + 1`
//! items (100 when an in-memory filter may drop some), and the page stops at `limit` matches:
//! the extra match only proves that another page exists. So a page is one Query when nothing is
//! filtered out, and a page that ends exactly at the last match carries no `nextToken` (never a
//! token to an empty page). The token seals, under the filter's fingerprint, the
//! `LastEvaluatedKey`-shaped key (`PK`, `SK`, index keys) of the page's last item, and the next
//! page starts after it; a token whose position this listing could not have issued is a 400.

pub mod instances;
pub mod keys;
mod org;
mod outbox;
mod table;
mod write;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use bbws_core::audit::AuditEvent;
use bbws_core::error::{Error, Result};
use bbws_core::events::OutboxMessage;
use bbws_core::idempotency::IdempotencyRecord;
use bbws_core::ids::{EventId, IdGenerator, RandomIds, TenantId};
use bbws_core::pagination::{Cursor, Page, PageRequest, fingerprint};
use bbws_core::ports::{
    AuditDao, IdempotencyStore, ResourceInventory, TenantDao, TenantResource, TenantWrite,
};
use bbws_core::records::{AuditRecord, IdempotencyRecordRecord, TenantRecord};
use bbws_core::tenant::{Tenant, TenantFilter};
use bbws_core::time::{Clock, SystemClock, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Notify;

pub use table::create_table;

use keys::{Index, PK, SK, s};

/// A DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// How long `Outbox::pending` claims the events it hands out (see [`DynamoStore::with_lease`]).
pub const DEFAULT_OUTBOX_LEASE: Duration = Duration::from_secs(30);

/// Every tenant storage port on one DynamoDB table. Cheap to clone; clones share the client,
/// the lease bookkeeping and the outbox notifier.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
    lease: Duration,
    /// Who holds an outbox lease (one random id per store), for operators reading the table.
    owner: String,
    /// The sort keys of outbox events this store handed out, for `mark_published`.
    claimed: Arc<Mutex<HashMap<EventId, String>>>,
    /// Events this store committed (leased to itself) that `take_written` has not handed out.
    written: Arc<Mutex<VecDeque<OutboxMessage>>>,
    outbox_wake: Arc<Notify>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

pub(crate) fn storage(msg: impl Into<String>) -> Error {
    Error::Storage(msg.into())
}

pub(crate) fn sdk_error<E, R>(op: &str, e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Error::Storage(crate::sdk::describe("DynamoDB", op, e))
}

pub(crate) fn build_error(e: &aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Internal(format!("cannot build a DynamoDB request: {e}"))
}

pub(crate) fn to_item<T: Serialize>(record: &T, what: &str) -> Result<Item> {
    serde_dynamo::to_item(record).map_err(|e| storage(format!("cannot encode {what} record: {e}")))
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item, what: &str) -> Result<T> {
    serde_dynamo::from_item(item).map_err(|e| storage(format!("corrupt {what} record: {e}")))
}

/// Exponential backoff with jitter: `base * 2^attempt`, scaled by a random factor in [0.5, 1).
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let factor = 0.5 + f64::from(u32::try_from(random >> 40).unwrap_or(0)) / f64::from(1u32 << 25);
    base.saturating_mul(1 << attempt.min(10)).mul_f64(factor)
}

/// A stored tenant resource (`RESOURCE#{type}#{name}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceRecord {
    tenant_id: String,
    resource_type: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    status: String,
}

/// The tenant item: the record plus its table and index keys.
pub(crate) fn tenant_item(record: &TenantRecord) -> Result<Item> {
    let mut item = to_item(record, "tenant")?;
    let id = &record.tenant_id;
    let created = format!("{}#{id}", record.created_at);
    for (k, v) in [
        (PK, keys::tenant_pk(id)),
        (SK, keys::METADATA.to_owned()),
        (keys::ENTITY_TYPE, "TENANT".to_owned()),
        (keys::GSI1.pk, format!("ORG#{}", record.organization_name)),
        (keys::GSI1.sk, format!("TENANT#{id}")),
        (keys::GSI2.pk, format!("STATUS#{}", record.status)),
        (keys::GSI2.sk, format!("{}#{id}", record.updated_at)),
        (keys::GSI3.pk, format!("ENV#{}", record.environment)),
        (keys::GSI3.sk, created.clone()),
        (keys::GSI4.pk, keys::ALL_TENANTS.to_owned()),
        (keys::GSI4.sk, created),
    ] {
        item.insert(k.to_owned(), s(v));
    }
    Ok(item)
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// Where a tenant listing reads: the index and partition that already select by the filter's
/// status or environment (the rest is filtered in memory).
struct Listing {
    index: Index,
    partition: String,
    /// Whether [`TenantFilter::matches`] can drop items the index returns.
    filtered: bool,
}

impl Listing {
    fn for_filter(filter: &TenantFilter) -> Self {
        let residual =
            filter.name_contains.is_some() || !matches!(filter.scope, bbws_core::auth::Scope::All);
        match (filter.status, filter.environment) {
            (Some(status), env) => Self {
                index: keys::GSI2,
                partition: format!("STATUS#{status}"),
                filtered: residual || env.is_some(),
            },
            (None, Some(env)) => Self {
                index: keys::GSI3,
                partition: format!("ENV#{env}"),
                filtered: residual,
            },
            (None, None) => Self {
                index: keys::GSI4,
                partition: keys::ALL_TENANTS.to_owned(),
                filtered: residual,
            },
        }
    }

    /// The `ExclusiveStartKey` of an index item: its table and index keys.
    fn position(&self, item: &Item) -> Result<Value> {
        let mut out = Map::new();
        for attr in [PK, SK, self.index.pk, self.index.sk] {
            match item.get(attr) {
                Some(AttributeValue::S(v)) => {
                    out.insert(attr.to_owned(), Value::String(v.clone()));
                }
                _ => return Err(storage(format!("tenant item without {attr}"))),
            }
        }
        Ok(Value::Object(out))
    }

    /// Parses a position back, refusing anything this listing could not have issued (a forged
    /// token must be a 400, never a DynamoDB validation failure).
    fn start_key(&self, position: &Value) -> Result<Item> {
        let bad = || Error::field("nextToken", "Invalid pagination token");
        let obj = position.as_object().ok_or_else(bad)?;
        if obj.len() != 4 {
            return Err(bad());
        }
        let mut item = Item::new();
        for attr in [PK, SK, self.index.pk, self.index.sk] {
            let v = obj.get(attr).and_then(Value::as_str).ok_or_else(bad)?;
            if v.is_empty() || v.len() > 1024 {
                return Err(bad());
            }
            item.insert(attr.to_owned(), s(v));
        }
        let ok = obj[PK].as_str().is_some_and(|p| p.starts_with("TENANT#"))
            && obj[SK].as_str() == Some(keys::METADATA)
            && obj[self.index.pk].as_str() == Some(self.partition.as_str());
        if ok { Ok(item) } else { Err(bad()) }
    }
}

impl DynamoStore {
    /// A store on `table` (create it with [`create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            clock: Arc::new(SystemClock),
            lease: DEFAULT_OUTBOX_LEASE,
            owner: RandomIds.uuid().to_string(),
            claimed: Arc::new(Mutex::new(HashMap::new())),
            written: Arc::new(Mutex::new(VecDeque::new())),
            outbox_wake: Arc::new(Notify::new()),
        }
    }

    /// Reads "now" from `clock` for outbox leases (tests move time with a `ManualClock`).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long a relay holds the events `pending` handed it before any relay may take them again
    /// (default 30 s). Leases are exclusive per `pending` call, even between clones of one store:
    /// an event whose publish failed, or whose relay died, goes out again once its lease lapses.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Notified after this store committed a write with outbox events, which
    /// `Outbox::take_written` then hands out without a read. Writes by other processes (other
    /// Lambdas, the CLI, Python) are not seen here; their events are theirs to publish, and reach
    /// this store's `pending` only if their lease lapses (a relay sweeps now and then).
    pub fn outbox_notifier(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    /// Records a cloud resource of a tenant (the 2.7 instance integration writes these).
    pub async fn record_resource(&self, tenant: &TenantId, resource: TenantResource) -> Result<()> {
        let tid = tenant.to_string();
        let rec = ResourceRecord {
            tenant_id: tid.clone(),
            resource_type: resource.resource_type.clone(),
            name: resource.name.clone(),
            arn: resource.arn,
            status: resource.status,
        };
        let mut item = to_item(&rec, "resource")?;
        item.insert(PK.to_owned(), s(keys::tenant_pk(&tid)));
        item.insert(
            SK.to_owned(),
            s(keys::resource_sk(&resource.resource_type, &resource.name)),
        );
        item.insert(keys::ENTITY_TYPE.to_owned(), s("RESOURCE"));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", &e))?;
        Ok(())
    }

    pub(crate) async fn get(&self, key: Item, op_what: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("GetItem ({op_what})"), &e))?;
        Ok(out.item)
    }

    async fn query_tenants(
        &self,
        listing: &Listing,
        limit: i32,
        start: Option<Item>,
    ) -> Result<QueryOutput> {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(listing.index.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", listing.index.pk)
            .expression_attribute_values(":pk", s(listing.partition.clone()))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query (tenants)", &e))
    }
}

/// Takes items in order until `limit + 1` are kept: the extra one only proves there is a next
/// page. Returns the kept items with their sort keys.
struct Collector<T> {
    limit: usize,
    kept: Vec<(T, Value)>,
}

impl<T> Collector<T> {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            kept: Vec::with_capacity(limit + 1),
        }
    }

    fn full(&self) -> bool {
        self.kept.len() > self.limit
    }

    fn push(&mut self, item: T, position: Value) {
        self.kept.push((item, position));
    }

    /// The page, and a cursor position only when a further match exists.
    fn finish(mut self) -> (Vec<T>, Option<Value>) {
        let more = self.full();
        self.kept.truncate(self.limit);
        let next = if more {
            self.kept.last().map(|(_, p)| p.clone())
        } else {
            None
        };
        (self.kept.into_iter().map(|(t, _)| t).collect(), next)
    }
}

/// The number of items each Query asks for: one more than the page when every item is a match
/// (so one request answers the page and whether another exists), a full 100 when an in-memory
/// filter may drop items (fewer round trips over non-matching tenants).
fn query_limit(limit: usize, filtered: bool) -> i32 {
    let want = if filtered {
        limit.max(99) + 1
    } else {
        limit + 1
    };
    i32::try_from(want).unwrap_or(i32::MAX)
}

#[async_trait]
impl TenantDao for DynamoStore {
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>> {
        let Some(item) = self
            .get(
                key(keys::tenant_pk(&id.to_string()), keys::METADATA),
                "tenant",
            )
            .await?
        else {
            return Ok(None);
        };
        let rec: TenantRecord = from_item(item, "tenant")?;
        Ok(Some(rec.try_into()?))
    }

    async fn list_tenants(
        &self,
        filter: &TenantFilter,
        page: &PageRequest,
    ) -> Result<Page<Tenant>> {
        let fp = filter.fingerprint();
        let listing = Listing::for_filter(filter);
        let mut start = match &page.cursor {
            Some(c) => Some(listing.start_key(&c.open("tenants", &fp)?)?),
            None => None,
        };
        let limit = page.limit.get();
        let mut page_items = Collector::new(limit);
        loop {
            let out = self
                .query_tenants(&listing, query_limit(limit, listing.filtered), start)
                .await?;
            let last = out.last_evaluated_key;
            for item in out.items.unwrap_or_default() {
                let position = listing.position(&item)?;
                let tenant: Tenant = from_item::<TenantRecord>(item, "tenant")?.try_into()?;
                if !filter.matches(&tenant) {
                    continue;
                }
                page_items.push(tenant, position);
                if page_items.full() {
                    break;
                }
            }
            if page_items.full() || last.is_none() {
                break;
            }
            start = last;
        }
        let (items, next) = page_items.finish();
        Ok(Page {
            items,
            next: next.map(|p| Cursor::seal("tenants", &fp, &p)),
        })
    }

    async fn write_tenant(&self, write: TenantWrite) -> Result<()> {
        write::write_tenant(self, &write).await?;
        if !write.events.is_empty() {
            self.hold_written(write.events);
            self.outbox_wake.notify_one();
        }
        Ok(())
    }
}

#[async_trait]
impl AuditDao for DynamoStore {
    async fn list_audit(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page<AuditEvent>> {
        let tid = tenant.to_string();
        let pk = keys::tenant_pk(&tid);
        let fp = fingerprint(&[&tid]);
        let mut start = match &page.cursor {
            Some(c) => {
                let bad = || Error::field("nextToken", "Invalid pagination token");
                let sk = c
                    .open("audit", &fp)?
                    .get("after")
                    .and_then(Value::as_str)
                    .filter(|sk| sk.starts_with(keys::EVENT_PREFIX) && sk.len() <= 1024)
                    .ok_or_else(bad)?
                    .to_owned();
                Some(key(pk.clone(), &sk))
            }
            None => None,
        };
        let limit = page.limit.get();
        let mut events = Collector::new(limit);
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(keys::EVENT_PREFIX))
                .consistent_read(true)
                .limit(query_limit(limit, false))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query (audit)", &e))?;
            let last = out.last_evaluated_key;
            for item in out.items.unwrap_or_default() {
                let Some(AttributeValue::S(sk)) = item.get(SK).cloned() else {
                    return Err(storage("audit item without SK"));
                };
                let event: AuditEvent = from_item::<AuditRecord>(item, "audit")?.try_into()?;
                events.push(event, serde_json::json!({ "after": sk }));
                if events.full() {
                    break;
                }
            }
            if events.full() || last.is_none() {
                break;
            }
            start = last;
        }
        let (items, next) = events.finish();
        Ok(Page {
            items,
            next: next.map(|p| Cursor::seal("audit", &fp, &p)),
        })
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn get_idempotency(
        &self,
        key_: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        let Some(item) = self
            .get(
                key(keys::idempotency_pk(key_), keys::METADATA),
                "idempotency",
            )
            .await?
        else {
            return Ok(None);
        };
        let rec: IdempotencyRecord =
            from_item::<IdempotencyRecordRecord>(item, "idempotency")?.try_into()?;
        Ok((rec.expires_at > now).then_some(rec))
    }
}

#[async_trait]
impl ResourceInventory for DynamoStore {
    async fn active_resources(&self, tenant: &TenantId) -> Result<Vec<TenantResource>> {
        let pk = keys::tenant_pk(&tenant.to_string());
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(keys::RESOURCE_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query (resources)", &e))?;
            for item in page.items.unwrap_or_default() {
                let r: ResourceRecord = from_item(item, "resource")?;
                if r.status != "deleted" {
                    out.push(TenantResource {
                        resource_type: r.resource_type,
                        name: r.name,
                        arn: r.arn,
                        status: r.status,
                    });
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }
}
