//! The outbox on DynamoDB: one partition (`PK=OUTBOX`), sorted by `{time}#{eventId}`, so one
//! Query returns the pending events oldest first. Events leave the partition when published, so
//! it stays small; at the service's throttle (100 requests/s) one partition's write capacity
//! (1,000 writes/s) is far away, which is why it is not sharded.
//!
//! Claiming: `pending` reads unleased events (or events whose lease lapsed) and claims each with a
//! conditional `UpdateItem` (`SET leaseUntil` where `leaseUntil` is absent or past, and the item
//! still exists). Only events this store won are returned, so two relays never publish the same
//! event in normal operation; if a relay dies, its events are handed out again once the lease
//! lapses. `mark_published` deletes the events.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use bbws_core::error::{Error, Result};
use bbws_core::events::OutboxMessage;
use bbws_core::ids::EventId;
use bbws_core::ports::Outbox;
use bbws_core::records::OutboxRecord;

use super::keys::{self, LEASE_OWNER, LEASE_UNTIL, PK, SK, n, s};
use super::{DynamoStore, Item, backoff, build_error, from_item, sdk_error, storage};
use crate::sdk::DYNAMODB_BACKOFF;

/// Items read per Query of the outbox partition.
const PAGE: i32 = 100;

/// `BatchWriteItem` takes at most 25 requests.
const BATCH: usize = 25;

impl DynamoStore {
    /// When a lease taken now lapses, in milliseconds since the epoch.
    pub(super) fn lease_until(&self) -> i64 {
        let lease = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        self.clock.now().millis().saturating_add(lease)
    }

    /// Keeps the events of a committed write (already leased to this store) for `take_written`.
    pub(super) fn hold_written(&self, events: Vec<OutboxMessage>) {
        let claimed: Vec<(EventId, String)> = events
            .iter()
            .map(|m| {
                (
                    m.id,
                    keys::outbox_sk(&m.time.to_string(), &m.id.to_string()),
                )
            })
            .collect();
        self.remember(&claimed);
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(events);
    }

    fn remember(&self, claimed: &[(EventId, String)]) {
        let mut map = self
            .claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.extend(claimed.iter().cloned());
    }

    fn forget(&self, ids: &[EventId]) -> (Vec<String>, Vec<EventId>) {
        let mut map = self
            .claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for id in ids {
            match map.remove(id) {
                Some(sk) => known.push(sk),
                None => unknown.push(*id),
            }
        }
        (known, unknown)
    }

    /// Outbox items, oldest first, with a filter; stops once `enough` items were collected.
    async fn scan_outbox(&self, filter: Option<(&str, Item)>, enough: usize) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(keys::OUTBOX_PK))
                .consistent_read(true)
                .limit(PAGE)
                .set_exclusive_start_key(start);
            if let Some((expr, values)) = &filter {
                q = q.filter_expression(*expr);
                for (k, v) in values {
                    q = q.expression_attribute_values(k, v.clone());
                }
            }
            let page = q
                .send()
                .await
                .map_err(|e| sdk_error("Query (outbox)", &e))?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if out.len() < enough => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Claims one event; `Ok(false)` when another relay holds it or it was published meanwhile.
    async fn claim(&self, sk: String, now: i64, until: i64) -> Result<bool> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::OUTBOX_PK))
            .key(SK, s(sk))
            .update_expression("SET #until = :until, #owner = :owner")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(#until) OR #until < :now)",
            )
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":owner", s(self.owner.clone()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(sdk_error("UpdateItem (outbox lease)", &e)),
            },
        }
    }

    async fn delete_outbox(&self, sks: Vec<String>) -> Result<()> {
        for chunk in sks.chunks(BATCH) {
            let mut requests = chunk
                .iter()
                .map(|sk| {
                    let del = DeleteRequest::builder()
                        .key(PK, s(keys::OUTBOX_PK))
                        .key(SK, s(sk.clone()))
                        .build()
                        .map_err(|e| build_error(&e))?;
                    Ok(WriteRequest::builder().delete_request(del).build())
                })
                .collect::<Result<Vec<_>>>()?;
            let mut attempt = 0;
            while !requests.is_empty() {
                if attempt > 0 {
                    if attempt > 5 {
                        return Err(storage(
                            "DynamoDB BatchWriteItem (outbox): items left unprocessed",
                        ));
                    }
                    tokio::time::sleep(backoff(DYNAMODB_BACKOFF, attempt - 1)).await;
                }
                attempt += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(self.table.clone(), requests)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchWriteItem (outbox)", &e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}

fn sort_key(item: &Item) -> Result<String> {
    match item.get(SK) {
        Some(AttributeValue::S(sk)) => Ok(sk.clone()),
        _ => Err(storage("outbox item without SK")),
    }
}

#[async_trait]
impl Outbox for DynamoStore {
    async fn pending(&self, limit: usize) -> Result<Vec<OutboxMessage>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = self.clock.now().millis();
        let lease = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let until = now.saturating_add(lease);
        let free = Item::from([(":now".to_owned(), n(now))]);
        let candidates = self
            .scan_outbox(
                Some((
                    "attribute_not_exists(leaseUntil) OR leaseUntil < :now",
                    free,
                )),
                limit,
            )
            .await?;

        // Claim concurrently, keep the oldest-first order of what was won.
        let mut tasks = tokio::task::JoinSet::new();
        for (i, item) in candidates.into_iter().take(limit).enumerate() {
            let sk = sort_key(&item)?;
            let store = self.clone();
            tasks.spawn(async move {
                let won = store.claim(sk.clone(), now, until).await?;
                Ok::<_, Error>((i, won, sk, item))
            });
        }
        let mut won = Vec::new();
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok((i, true, sk, item))) => won.push((i, sk, item)),
                Ok(Ok((_, false, _, _))) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(Error::Internal(format!("claim task failed: {e}")));
                }
            }
        }
        won.sort_by_key(|(i, _, _)| *i);
        let mut out = Vec::with_capacity(won.len());
        let mut claimed = Vec::with_capacity(won.len());
        for (_, sk, item) in won {
            let msg: OutboxMessage = from_item::<OutboxRecord>(item, "outbox")?.try_into()?;
            claimed.push((msg.id, sk));
            out.push(msg);
        }
        // What was won stays remembered even on error, so it can still be marked published.
        self.remember(&claimed);
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    async fn take_written(&self, limit: usize) -> Result<Vec<OutboxMessage>> {
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = limit.min(written.len());
        Ok(written.drain(..n).collect())
    }

    async fn mark_published(&self, ids: &[EventId]) -> Result<()> {
        let (mut sks, unknown) = self.forget(ids);
        if !unknown.is_empty() {
            // Handed out by another store instance: find their keys.
            let wanted: HashMap<String, ()> =
                unknown.iter().map(|id| (id.to_string(), ())).collect();
            for item in self.scan_outbox(None, usize::MAX).await? {
                if let Some(AttributeValue::S(id)) = item.get("id")
                    && wanted.contains_key(id)
                {
                    sks.push(sort_key(&item)?);
                }
            }
        }
        self.delete_outbox(sks).await
    }
}
