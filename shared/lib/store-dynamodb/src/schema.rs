//! Creating the two tables (for DynamoDB Local, tests and first deployments; production tables
//! are normally made by infrastructure code with the same layout).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use brokeros_store::{Index, StoreError, Table};

use crate::codec::{EXPIRES_AT, PK, SK, index_pk_attribute, index_sk_attribute};
use crate::errors::{sdk_error, shorten};

/// The DynamoDB table names of the port's two tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub main: String,
    pub audit: String,
}

impl TableNames {
    /// The DynamoDB name of `table`.
    pub fn name(&self, table: Table) -> &str {
        match table {
            Table::Main => &self.main,
            Table::Audit => &self.audit,
        }
    }
}

/// How long [`create_tables`] waits for the tables to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// The indexes each table has: the main table all four, the audit table `gsi1` only.
pub(crate) fn build_error(error: BuildError) -> StoreError {
    StoreError::Invalid(format!("DynamoDB request could not be built: {error}"))
}

fn key_schema(pk: &str, sk: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(pk)
            .key_type(KeyType::Hash)
            .build()
            .map_err(build_error)?,
        KeySchemaElement::builder()
            .attribute_name(sk)
            .key_type(KeyType::Range)
            .build()
            .map_err(build_error)?,
    ])
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_error)
}

/// Creates both tables (keys `pk`/`sk`, the GSIs of [`Table::indexes`] keyed `gsiNpk`/`gsiNsk`
/// and projecting every attribute, on-demand billing), waits until they are ACTIVE and enables
/// TTL on `expires_at`.
///
/// A table that already exists is accepted if it has the expected indexes, so running this
/// twice is harmless.
pub async fn create_tables(client: &Client, tables: &TableNames) -> Result<(), StoreError> {
    for table in Table::ALL {
        create_table(client, tables.name(table), table.indexes()).await?;
    }
    for table in Table::ALL {
        wait_until_active(client, tables.name(table), table.indexes()).await?;
        enable_ttl(client, tables.name(table)).await?;
    }
    Ok(())
}

async fn create_table(client: &Client, name: &str, indexes: &[Index]) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(PK, SK)?))
        .attribute_definitions(string_attribute(PK)?)
        .attribute_definitions(string_attribute(SK)?);
    for index in indexes {
        let (pk, sk) = (index_pk_attribute(*index), index_sk_attribute(*index));
        request = request
            .attribute_definitions(string_attribute(&pk)?)
            .attribute_definitions(string_attribute(&sk)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name())
                    .set_key_schema(Some(key_schema(&pk, &sk)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(build_error)?,
            );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(context))
            if context.err().code() == Some("ResourceInUseException") =>
        {
            Ok(())
        }
        Err(error) => Err(sdk_error("CreateTable", error)),
    }
}

async fn wait_until_active(
    client: &Client,
    name: &str,
    indexes: &[Index],
) -> Result<(), StoreError> {
    let started = Instant::now();
    loop {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTable", e))?;
        let table = described.table().ok_or_else(|| {
            StoreError::Unavailable(format!("DescribeTable returned no description of {name}"))
        })?;
        let index_status = |index: Index| {
            table
                .global_secondary_indexes()
                .iter()
                .find(|gsi| gsi.index_name() == Some(index.name()))
                .map(|gsi| gsi.index_status().cloned())
        };
        if let Some(missing) = indexes.iter().find(|index| index_status(**index).is_none()) {
            return Err(StoreError::Invalid(format!(
                "table {name} exists without index {}; it was not made by create_tables",
                missing.name()
            )));
        }
        let table_active = table.table_status() == Some(&TableStatus::Active);
        // DynamoDB Local reports no index status at all; that counts as ready.
        let indexes_active = indexes.iter().all(|index| {
            matches!(
                index_status(*index),
                Some(None) | Some(Some(IndexStatus::Active))
            )
        });
        if table_active && indexes_active {
            return Ok(());
        }
        if started.elapsed() > ACTIVE_TIMEOUT {
            return Err(StoreError::Unavailable(format!(
                "table {name} did not become ACTIVE within {} s",
                ACTIVE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn enable_ttl(client: &Client, name: &str) -> Result<(), StoreError> {
    let current = client.describe_time_to_live().table_name(name).send().await;
    match current {
        Ok(output) => {
            let description = output.time_to_live_description();
            let status = description.and_then(|d| d.time_to_live_status());
            let attribute = description.and_then(|d| d.attribute_name());
            if matches!(
                status,
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) && attribute == Some(EXPIRES_AT)
            {
                return Ok(());
            }
        }
        Err(SdkError::ServiceError(context)) if is_unsupported(context.err()) => return Ok(()),
        Err(error) => return Err(sdk_error("DescribeTimeToLive", error)),
    }
    let specification = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(EXPIRES_AT)
        .build()
        .map_err(build_error)?;
    match client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(specification)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(context)) if is_unsupported(context.err()) => Ok(()),
        Err(error) => Err(sdk_error("UpdateTimeToLive", error)),
    }
}

/// Whether an emulator said it does not implement TTL (real DynamoDB always does).
fn is_unsupported(error: &impl ProvideErrorMetadata) -> bool {
    let code = error.code().unwrap_or_default();
    let message = shorten(error.message().unwrap_or_default()).to_ascii_lowercase();
    code == "UnknownOperationException"
        || message.contains("not supported")
        || message.contains("not implemented")
        || message.contains("unsupported")
}
