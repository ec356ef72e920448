//! Creating the tenants table (`bbws table create --service tenants`).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use bbws_core::error::{Error, Result};

use super::keys::{INDEXES, PK, SK, TTL};
use super::{build_error, sdk_error};

/// How long to wait for a new table (and its indexes) to become ACTIVE.
const ACTIVE_DEADLINE: Duration = Duration::from_mins(5);

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| build_error(&e))
}

fn string_attr(name: &str) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| build_error(&e))
}

/// Creates the tenants table: `PK`/`SK` (strings), the four GSIs of the key design (projection
/// ALL), on-demand capacity, then TTL on `ttl`; waits until the table and its indexes are ACTIVE.
/// Returns `Ok(false)` when the table already exists (it then only makes sure TTL is on), so
/// running it twice is harmless.
pub async fn create_table(client: &Client, table: &str) -> Result<bool> {
    let mut attrs = vec![string_attr(PK)?, string_attr(SK)?];
    let mut indexes = Vec::new();
    for index in INDEXES {
        attrs.push(string_attr(index.pk)?);
        attrs.push(string_attr(index.sk)?);
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.pk, KeyType::Hash)?)
                .key_schema(key(index.sk, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| build_error(&e))?,
        );
    }
    let created = match client
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(attrs))
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .set_global_secondary_indexes(Some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
    {
        Ok(_) => true,
        Err(e) => match e.as_service_error() {
            Some(CreateTableError::ResourceInUseException(_)) => false,
            _ => return Err(sdk_error("CreateTable", &e)),
        },
    };
    wait_active(client, table).await?;
    ensure_ttl(client, table).await?;
    Ok(created)
}

async fn wait_active(client: &Client, table: &str) -> Result<()> {
    let deadline = Instant::now() + ACTIVE_DEADLINE;
    loop {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTable", &e))?;
        let desc = out.table.as_ref();
        let table_active = desc.and_then(|t| t.table_status.as_ref()) == Some(&TableStatus::Active);
        let indexes_active = desc.is_some_and(|t| {
            t.global_secondary_indexes().iter().all(|i| {
                i.index_status
                    .as_ref()
                    .is_none_or(|s| *s == IndexStatus::Active)
            })
        });
        if table_active && indexes_active {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Storage(format!(
                "DynamoDB table {table} did not become ACTIVE within {} s",
                ACTIVE_DEADLINE.as_secs()
            )));
        }
        // Waiting for AWS to finish creating the table, not synchronising with our own code.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn ensure_ttl(client: &Client, table: &str) -> Result<()> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeTimeToLive", &e))?;
    let on = current.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(TTL)
            && matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
    });
    if on {
        return Ok(());
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL)
                .build()
                .map_err(|e| build_error(&e))?,
        )
        .send()
        .await
        .map_err(|e| sdk_error("UpdateTimeToLive", &e))?;
    Ok(())
}
