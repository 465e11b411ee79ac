//! The DynamoDB engine of the Broker OS storage port ([`brokeros_store::Store`]).
//!
//! Two tables, named by [`TableNames`]: the main table with the indexes `gsi1`…`gsi4`, and the
//! audit table with `gsi1` only ([`create_tables`] makes both). Each item is stored as the
//! attributes `pk`, `sk` (S, the table keys), `v` (N, the version), `data` (S, the payload),
//! `gsiNpk`/`gsiNsk` (S, only for the indexes the item is in) and `expires_at` (N, only when
//! set; also the tables' TTL attribute).
//!
//! How the port maps onto DynamoDB:
//!
//! * Reads of the table are strongly consistent (GetItem, BatchGetItem, Query with
//!   `ConsistentRead`). Index queries cannot be: DynamoDB's global secondary indexes are
//!   eventually consistent, so a write may show in an index a moment later.
//! * Expired items (`expires_at <= now`) are dead even before DynamoDB's TTL sweeper deletes
//!   them: reads filter them out and every condition treats them as absent.
//! * [`Store::transact`] is exactly one TransactWriteItems request, whatever it holds.
//! * Index queries order items by the index sort key. The port breaks ties by the table keys,
//!   but DynamoDB leaves the order of equal index sort keys unspecified, so callers must keep
//!   index sort keys distinct within a partition (the application appends the item id to
//!   every index sort key), and this engine relies on that.

mod codec;
mod conditions;
mod errors;
mod schema;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, Select, TransactWriteItem,
};
use brokeros_store::{
    Cursor, Item, Key, Page, Query, SortKeyRange, Store, StoreError, Table, WriteOp, unix_now,
    validate_transaction,
};

use crate::codec::{
    Attributes, PK, SK, index_pk_attribute, index_sk_attribute, item_attributes,
    item_from_attributes, key_attributes, key_from_attributes, number, string,
};
use crate::conditions::{ALIVE, ConditionExpression, condition_expression, tautology};
use crate::errors::{sdk_error, transaction_error};
use crate::schema::build_error;

pub use crate::schema::{TableNames, create_tables};

pub use brokeros_store::MAX_GET_MANY_KEYS;

/// How often BatchGetItem is repeated for keys DynamoDB left unprocessed before giving up.
const UNPROCESSED_KEYS_RETRIES: u32 = 8;

/// The port on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> Self {
        DynamoStore { client, tables }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    fn transact_item(&self, op: &WriteOp, now: i64) -> Result<TransactWriteItem, StoreError> {
        let table_name = self.tables.name(op.table());
        let item = match op {
            WriteOp::Put {
                item, condition, ..
            } => {
                let condition = ExpressionParts::of(condition_expression(*condition, now));
                let put = Put::builder()
                    .table_name(table_name)
                    .set_item(Some(item_attributes(item)))
                    .set_condition_expression(condition.expression)
                    .set_expression_attribute_names(condition.names)
                    .set_expression_attribute_values(condition.values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().put(put)
            }
            WriteOp::Delete { key, condition, .. } => {
                let condition = ExpressionParts::of(condition_expression(*condition, now));
                let delete = Delete::builder()
                    .table_name(table_name)
                    .set_key(Some(key_attributes(key)))
                    .set_condition_expression(condition.expression)
                    .set_expression_attribute_names(condition.names)
                    .set_expression_attribute_values(condition.values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(delete)
            }
            WriteOp::Check { key, condition, .. } => {
                // A ConditionCheck needs an expression, so `Always` checks a tautology.
                let expression = condition_expression(*condition, now).unwrap_or_else(tautology);
                let condition = ExpressionParts::of(Some(expression));
                let check = ConditionCheck::builder()
                    .table_name(table_name)
                    .set_key(Some(key_attributes(key)))
                    .set_condition_expression(condition.expression)
                    .set_expression_attribute_names(condition.names)
                    .set_expression_attribute_values(condition.values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().condition_check(check)
            }
        };
        Ok(item.build())
    }
}

/// A condition expression split into the optional request fields it fills (DynamoDB refuses
/// empty name or value maps).
struct ExpressionParts {
    expression: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<HashMap<String, AttributeValue>>,
}

impl ExpressionParts {
    fn of(condition: Option<ConditionExpression>) -> ExpressionParts {
        match condition {
            None => ExpressionParts {
                expression: None,
                names: None,
                values: None,
            },
            Some(c) => ExpressionParts {
                expression: Some(c.expression),
                names: (!c.names.is_empty()).then_some(c.names),
                values: (!c.values.is_empty()).then_some(c.values),
            },
        }
    }
}

/// The key condition of a query: on the partition key, and on the sort key per the range.
/// `None` when the range can hold no key at all (keys are never empty).
fn key_condition(query: &Query) -> Option<ConditionExpression> {
    let (pk_attribute, sk_attribute) = match query.index {
        None => (PK.to_string(), SK.to_string()),
        Some(index) => (index_pk_attribute(index), index_sk_attribute(index)),
    };
    let mut names = HashMap::from([("#pk".to_string(), pk_attribute)]);
    let mut values = HashMap::from([(":pk".to_string(), string(&query.pk))]);
    // Empty strings are not valid in key conditions, so ranges bounded by "" are rewritten.
    let sort_condition = match &query.sk {
        SortKeyRange::All => None,
        SortKeyRange::Prefix(prefix) if prefix.is_empty() => None,
        SortKeyRange::Prefix(prefix) => {
            values.insert(":prefix".to_string(), string(prefix));
            Some("begins_with(#sk, :prefix)")
        }
        SortKeyRange::Between(low, high) if low > high || high.is_empty() => return None,
        SortKeyRange::Between(low, high) if low.is_empty() => {
            values.insert(":high".to_string(), string(high));
            Some("#sk <= :high")
        }
        SortKeyRange::Between(low, high) => {
            values.insert(":low".to_string(), string(low));
            values.insert(":high".to_string(), string(high));
            Some("#sk BETWEEN :low AND :high")
        }
    };
    let expression = match sort_condition {
        None => "#pk = :pk".to_string(),
        Some(sort_condition) => {
            names.insert("#sk".to_string(), sk_attribute);
            format!("#pk = :pk AND {sort_condition}")
        }
    };
    Some(ConditionExpression {
        expression,
        names,
        values,
    })
}

/// The ExclusiveStartKey that resumes after `cursor`: the table keys, plus the index keys for
/// an index query.
fn start_key(query: &Query, cursor: &Cursor) -> Result<Attributes, StoreError> {
    if cursor.pk.is_empty() || cursor.sk.is_empty() {
        return Err(StoreError::InvalidCursor);
    }
    let mut key = key_attributes(&Key::new(cursor.pk.as_str(), cursor.sk.as_str()));
    match (query.index, &cursor.index_sk) {
        (None, _) if cursor.pk != query.pk => return Err(StoreError::InvalidCursor),
        (None, _) => {}
        (Some(index), Some(index_sk)) if !index_sk.is_empty() => {
            key.insert(index_pk_attribute(index), string(&query.pk));
            key.insert(index_sk_attribute(index), string(index_sk));
        }
        (Some(_), _) => return Err(StoreError::InvalidCursor),
    }
    Ok(key)
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        if key.pk.is_empty() || key.sk.is_empty() {
            return Ok(None);
        }
        let now = unix_now();
        let output = self
            .client
            .get_item()
            .table_name(self.tables.name(table))
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        match output.item {
            None => Ok(None),
            Some(attributes) => {
                let item = item_from_attributes(&attributes)?;
                Ok(item.is_live(now).then_some(item))
            }
        }
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        if keys.len() > MAX_GET_MANY_KEYS {
            return Err(StoreError::Invalid(format!(
                "get_many takes at most {MAX_GET_MANY_KEYS} keys"
            )));
        }
        let now = unix_now();
        let table_name = self.tables.name(table);
        // BatchGetItem refuses duplicate keys; empty keys can hold no item.
        let unique: BTreeSet<&Key> = keys
            .iter()
            .filter(|k| !k.pk.is_empty() && !k.sk.is_empty())
            .collect();
        let mut pending: Vec<Attributes> = unique.into_iter().map(key_attributes).collect();
        let mut found: HashMap<Key, Item> = HashMap::new();
        let mut retries = 0;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(table_name, request)
                .send()
                .await
                .map_err(|e| sdk_error("BatchGetItem", e))?;
            let responses = output
                .responses
                .and_then(|mut by_table| by_table.remove(table_name))
                .unwrap_or_default();
            for attributes in &responses {
                let item = item_from_attributes(attributes)?;
                found.insert(item.key.clone(), item);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut by_table| by_table.remove(table_name))
                .map(|unprocessed| unprocessed.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            retries += 1;
            if retries > UNPROCESSED_KEYS_RETRIES {
                let example = pending.first().and_then(key_from_attributes);
                return Err(StoreError::Unavailable(format!(
                    "BatchGetItem left {} keys unprocessed after {UNPROCESSED_KEYS_RETRIES} retries (e.g. {example:?})",
                    pending.len()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10 << retries)).await;
        }
        Ok(keys
            .iter()
            .map(|key| found.get(key).filter(|item| item.is_live(now)).cloned())
            .collect())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let now = unix_now();
        let items = ops
            .iter()
            .map(|op| self.transact_item(op, now))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(transaction_error)?;
        Ok(())
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        query.validate()?;
        let cursor = Cursor::decode_for(&query)?;
        let Some(condition) = key_condition(&query) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let mut exclusive_start_key = match &cursor {
            None => None,
            Some(cursor) => Some(start_key(&query, cursor)?),
        };
        let now = unix_now();
        let limit = query.limit as usize;
        // One item more than the page, to know whether another page follows. DynamoDB counts
        // expired items against its own limit, so keep reading until enough live ones came.
        let wanted = limit + 1;
        let mut live: Vec<Item> = Vec::with_capacity(wanted.min(128));
        loop {
            let resuming = exclusive_start_key.is_some();
            let output = self
                .client
                .query()
                .table_name(self.tables.name(query.table))
                .set_index_name(query.index.map(|index| index.name().to_string()))
                .key_condition_expression(condition.expression.as_str())
                .set_expression_attribute_names(Some(condition.names.clone()))
                .set_expression_attribute_values(Some(condition.values.clone()))
                .scan_index_forward(!query.descending)
                .consistent_read(query.index.is_none())
                .set_exclusive_start_key(exclusive_start_key.take())
                .limit(i32::try_from(wanted - live.len()).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|e| match sdk_error("Query", e) {
                    // "The provided starting key is invalid", "Exclusive Start Key must …":
                    // a cursor whose keys DynamoDB cannot use.
                    StoreError::Invalid(message)
                        if resuming && message.to_ascii_lowercase().contains("start") =>
                    {
                        StoreError::InvalidCursor
                    }
                    other => other,
                })?;
            for attributes in output.items.as_deref().unwrap_or_default() {
                let item = item_from_attributes(attributes)?;
                if item.is_live(now) && live.len() < wanted {
                    live.push(item);
                }
            }
            exclusive_start_key = output.last_evaluated_key;
            if live.len() >= wanted || exclusive_start_key.is_none() {
                break;
            }
        }
        let next = if live.len() > limit {
            live.truncate(limit);
            live.last().map(|last| Cursor::after(&query, last).encode())
        } else {
            None
        };
        Ok(Page { items: live, next })
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        query.clone().limit(1).validate()?;
        let Some(mut condition) = key_condition(&query) else {
            return Ok(0);
        };
        // Expired items wait for the TTL sweeper: the filter leaves them out of the count
        // (DynamoDB counts after the filter, and bills the items read before it).
        condition
            .names
            .insert("#exp".to_string(), codec::EXPIRES_AT.to_string());
        condition
            .values
            .insert(":now".to_string(), number(unix_now()));
        count_pages(|exclusive_start_key| async {
            let output = self
                .client
                .query()
                .table_name(self.tables.name(query.table))
                .set_index_name(query.index.map(|index| index.name().to_string()))
                .key_condition_expression(condition.expression.as_str())
                .filter_expression(ALIVE)
                .set_expression_attribute_names(Some(condition.names.clone()))
                .set_expression_attribute_values(Some(condition.values.clone()))
                .select(Select::Count)
                .consistent_read(query.index.is_none())
                .set_exclusive_start_key(exclusive_start_key)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            Ok((output.count, output.last_evaluated_key))
        })
        .await
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        count_pages(|exclusive_start_key| async {
            let output = self
                .client
                .scan()
                .table_name(self.tables.name(table))
                .select(Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(exclusive_start_key)
                .send()
                .await
                .map_err(|e| sdk_error("Scan", e))?;
            Ok((output.count, output.last_evaluated_key))
        })
        .await
    }
}

/// The sum of a `Select=COUNT` read's pages: `page` reads the page that starts after the key it
/// is given (none: the first) and answers its count and the key the next page starts after.
/// DynamoDB counts at most 1 MB of items per page, so a count is a loop like a read.
async fn count_pages<F, Fut>(mut page: F) -> Result<u64, StoreError>
where
    F: FnMut(Option<HashMap<String, AttributeValue>>) -> Fut,
    Fut: std::future::Future<
            Output = Result<(i32, Option<HashMap<String, AttributeValue>>), StoreError>,
        >,
{
    let mut total = 0u64;
    let mut exclusive_start_key = None;
    loop {
        let (count, next) = page(exclusive_start_key).await?;
        total += u64::try_from(count).unwrap_or(0);
        exclusive_start_key = next;
        if exclusive_start_key.is_none() {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_store::Index;

    #[test]
    fn key_conditions_avoid_empty_strings_and_empty_ranges() {
        let base = Query::new(Table::Main, None, "P");
        assert_eq!(key_condition(&base).unwrap().expression, "#pk = :pk");
        let prefix = key_condition(&base.clone().sk(SortKeyRange::Prefix(String::new()))).unwrap();
        assert_eq!(prefix.expression, "#pk = :pk");
        assert!(!prefix.names.contains_key("#sk"));
        let open_low = base
            .clone()
            .sk(SortKeyRange::Between(String::new(), "m".into()));
        assert_eq!(
            key_condition(&open_low).unwrap().expression,
            "#pk = :pk AND #sk <= :high"
        );
        assert!(
            key_condition(
                &base
                    .clone()
                    .sk(SortKeyRange::Between("b".into(), "a".into()))
            )
            .is_none()
        );
        let index =
            Query::new(Table::Main, Some(Index::Gsi3), "P").sk(SortKeyRange::Prefix("x".into()));
        let condition = key_condition(&index).unwrap();
        assert_eq!(
            condition.names.get("#pk").map(String::as_str),
            Some("gsi3pk")
        );
        assert_eq!(
            condition.names.get("#sk").map(String::as_str),
            Some("gsi3sk")
        );
    }
}
