//! The deal ingestion repository: the only code of the module that builds store items, keys
//! and queries. A server's feed is an audited entity (its cursor moves under a version
//! condition, with one audit event per batch); each ingested deal is an unaudited bookkeeping
//! item that commits in the same changeset.

use brokeros_kernel::changeset::{Changeset, Entity, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Key, MAX_GET_MANY_KEYS, Query, Table, WriteOp};
use time::OffsetDateTime;

use super::ingested::{DealFeed, IngestedDeal};
use super::keys;

impl Entity for DealFeed {
    const TYPE: &'static str = "ib_deal_feed";
    const NOUN: &'static str = "deal feed";

    fn id(&self) -> &str {
        &self.server
    }

    fn key_for(id: &str) -> Key {
        keys::deal_feed(id)
    }
}

/// The ingested deals of `server` with these tickets, each with the version it was read at.
pub(crate) async fn ingested_deals(
    core: &Core,
    server: &str,
    deals: &[u64],
) -> Result<Vec<(u64, IngestedDeal)>> {
    let keys: Vec<Key> = deals
        .iter()
        .map(|deal| keys::ingested_deal(server, *deal))
        .collect();
    let mut found = Vec::new();
    for chunk in keys.chunks(MAX_GET_MANY_KEYS) {
        let items = core
            .store
            .get_many(Table::Main, chunk)
            .await
            .map_err(store_error)?;
        for item in items.iter().flatten() {
            let deal: IngestedDeal = serde_json::from_str(&item.data).map_err(|e| {
                Error::Internal(format!("ingested deal {} is unreadable: {e}", item.key.pk))
            })?;
            found.push((item.version, deal));
        }
    }
    Ok(found)
}

/// Stages `deal` over the revision read at `read_version` (`None`: never ingested).
pub(crate) fn stage_deal(
    changes: &mut Changeset,
    deal: &IngestedDeal,
    read_version: Option<u64>,
) -> Result<()> {
    let data = serde_json::to_string(deal).map_err(|e| Error::Internal(e.to_string()))?;
    let key = keys::ingested_deal(&deal.server, deal.deal.deal);
    let mut item = Item::new(key, read_version.map_or(1, |v| v + 1), data);
    if deal.rejected.is_some() {
        item = item.with_index(
            Index::Gsi1,
            keys::rejected_deals(&deal.server),
            keys::by_time(time_of(deal.changed_at_msc), &deal.deal.deal.to_string()),
        );
    }
    changes.put(WriteOp::Put {
        table: Table::Main,
        item,
        condition: read_version.map_or(Condition::NotExists, Condition::VersionIs),
    });
    Ok(())
}

/// The rejected deals of `server`, oldest first (at most `limit`): a listing for operators,
/// from an index, so a moment behind on DynamoDB.
pub async fn rejected_deals(core: &Core, server: &str, limit: u32) -> Result<Vec<IngestedDeal>> {
    let query = Query::new(Table::Main, Some(Index::Gsi1), keys::rejected_deals(server))
        .limit(limit.clamp(1, 1000));
    let page = core.store.query(query).await.map_err(store_error)?;
    page.items
        .iter()
        .map(|item| {
            serde_json::from_str(&item.data)
                .map_err(|e| Error::Internal(format!("ingested deal is unreadable: {e}")))
        })
        .collect()
}

/// The ingested deal `deal` of `server`, as it stands.
pub async fn ingested_deal(core: &Core, server: &str, deal: u64) -> Result<Option<IngestedDeal>> {
    Ok(ingested_deals(core, server, &[deal])
        .await?
        .into_iter()
        .next()
        .map(|(_, deal)| deal))
}

fn time_of(msc: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(msc) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
