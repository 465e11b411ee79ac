//! The copy trading repository: the only code of the context that builds its store items,
//! keys, indexes and queries. Strategies, subscriptions, copied trades and the reader's feed
//! are audited entities; the copied login's marker, the strategies' rosters and the
//! subscriptions' copying state are bookkeeping items that commit with them.

use brokeros_kernel::changeset::{Changeset, Entity, store_error};
use brokeros_kernel::paging::{Page, page_limit};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Key, Query, Table, WriteOp};
use serde::{Deserialize, Serialize};

use crate::feed::CopyFeed;
use crate::keys;
use crate::model::{CopiedTrade, CopyState, Strategy, Subscription};

impl Entity for Strategy {
    const TYPE: &'static str = "copy_strategy";
    const NOUN: &'static str = "strategy";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::strategy(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let created = keys::by_time(self.created_at, &self.id);
        vec![
            (
                Index::Gsi1,
                keys::strategies_in_status(self.status.as_str()),
                created.clone(),
            ),
            (
                Index::Gsi2,
                keys::strategies_of_provider(&self.provider_client_id),
                created,
            ),
        ]
    }
}

impl Entity for Subscription {
    const TYPE: &'static str = "copy_subscription";
    const NOUN: &'static str = "subscription";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::subscription(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let created = keys::by_time(self.created_at, &self.id);
        vec![
            (
                Index::Gsi1,
                keys::subscriptions_of_strategy(&self.strategy_id),
                created.clone(),
            ),
            (
                Index::Gsi2,
                keys::subscriptions_of_follower(&self.follower_client_id),
                created,
            ),
        ]
    }
}

impl Entity for CopiedTrade {
    const TYPE: &'static str = "copy_trade";
    const NOUN: &'static str = "copied trade";

    fn id(&self) -> &str {
        &self.id
    }

    /// `id` is `<subscription>:<provider deal>` ([`CopiedTrade::id_of`]); subscription ids are
    /// codes, which hold no `:`.
    fn key_for(id: &str) -> Key {
        let (subscription, deal) = id.rsplit_once(':').unwrap_or((id, ""));
        match deal.parse::<u64>() {
            Ok(deal) => keys::copied_trade(subscription, deal),
            Err(_) => Key::new(keys::copied_trades(subscription), deal),
        }
    }
}

impl Entity for CopyFeed {
    const TYPE: &'static str = "copy_feed";
    const NOUN: &'static str = "copy feed";

    fn id(&self) -> &str {
        &self.server
    }

    fn key_for(id: &str) -> Key {
        keys::copy_feed(id)
    }
}

#[derive(Serialize, Deserialize)]
struct Marker {
    id: String,
}

fn encode(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

fn decode<T: for<'de> Deserialize<'de>>(item: &Item) -> Result<T> {
    serde_json::from_str(&item.data).map_err(|e| {
        Error::Internal(format!(
            "{}/{} is unreadable: {e}",
            item.key.pk, item.key.sk
        ))
    })
}

/// Stages the marker that `login` is `strategy_id`'s account (refused if another strategy
/// holds it).
pub(crate) fn stage_copied_login(
    changes: &mut Changeset,
    login: u64,
    strategy_id: &str,
) -> Result<()> {
    let marker = Marker {
        id: strategy_id.to_string(),
    };
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::copied_login(login), 1, encode(&marker)?),
        condition: Condition::NotExists,
    });
    Ok(())
}

/// The strategy whose account `login` is, if any (by key).
pub(crate) async fn strategy_of_login(core: &Core, login: u64) -> Result<Option<String>> {
    let item = core
        .store
        .get(Table::Main, &keys::copied_login(login))
        .await
        .map_err(store_error)?;
    item.map(|item| decode::<Marker>(&item).map(|m| m.id))
        .transpose()
}

/// Stages `login`'s entry in `strategy_id`'s roster (refused if the account follows it
/// already).
pub(crate) fn stage_roster_entry(
    changes: &mut Changeset,
    strategy_id: &str,
    login: u64,
    subscription_id: &str,
) -> Result<()> {
    let marker = Marker {
        id: subscription_id.to_string(),
    };
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::roster_entry(strategy_id, login), 1, encode(&marker)?),
        condition: Condition::NotExists,
    });
    Ok(())
}

/// Stages the removal of `login`'s roster entry.
pub(crate) fn stage_roster_exit(changes: &mut Changeset, strategy_id: &str, login: u64) {
    changes.put(WriteOp::Delete {
        table: Table::Main,
        key: keys::roster_entry(strategy_id, login),
        condition: Condition::Exists,
    });
}

/// The subscription following `strategy_id` with `login`, if any (by key).
pub(crate) async fn roster_entry(
    core: &Core,
    strategy_id: &str,
    login: u64,
) -> Result<Option<String>> {
    let item = core
        .store
        .get(Table::Main, &keys::roster_entry(strategy_id, login))
        .await
        .map_err(store_error)?;
    item.map(|item| decode::<Marker>(&item).map(|m| m.id))
        .transpose()
}

/// Every (following login, subscription) on `strategy_id`'s roster, read from the table page
/// by page.
pub(crate) async fn roster(core: &Core, strategy_id: &str) -> Result<Vec<(u64, String)>> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let query = Query::new(Table::Main, None, keys::roster(strategy_id))
            .limit(1000)
            .after(after);
        let page = core.store.query(query).await.map_err(store_error)?;
        for item in &page.items {
            let login = item.key.sk.parse::<u64>().map_err(|_| {
                Error::Internal(format!("roster entry {} names no login", item.key.sk))
            })?;
            entries.push((login, decode::<Marker>(item)?.id));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(entries),
        }
    }
}

/// A subscription's copying state and the version it was read at (`None`: never written).
pub(crate) async fn copy_state(
    core: &Core,
    subscription_id: &str,
) -> Result<(Option<u64>, CopyState)> {
    let item = core
        .store
        .get(Table::Main, &keys::copy_state(subscription_id))
        .await
        .map_err(store_error)?;
    match item {
        Some(item) => Ok((Some(item.version), decode(&item)?)),
        None => Ok((None, CopyState::default())),
    }
}

/// Stages `state` over the version read.
pub(crate) fn stage_copy_state(
    changes: &mut Changeset,
    subscription_id: &str,
    read_version: Option<u64>,
    state: &CopyState,
) -> Result<()> {
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::copy_state(subscription_id),
            read_version.map_or(1, |v| v + 1),
            encode(state)?,
        ),
        condition: read_version.map_or(Condition::NotExists, Condition::VersionIs),
    });
    Ok(())
}

/// A subscription's copied trades in provider deal order, a page at a time.
pub(crate) async fn copied_trades(
    core: &Core,
    subscription_id: &str,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Page<CopiedTrade>> {
    let query = Query::new(Table::Main, None, keys::copied_trades(subscription_id))
        .limit(page_limit(limit)?)
        .after(cursor);
    let page = core.store.query(query).await.map_err(store_error)?;
    let items = page
        .items
        .iter()
        .map(|item| brokeros_kernel::changeset::decode::<CopiedTrade>(item).map(|t| t.entity))
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}

/// A page (of `limit`, see `page_limit`) of the entities of an index partition, newest first
/// (a listing: a moment behind on DynamoDB).
pub(crate) async fn listed<T: Entity>(
    core: &Core,
    index: Index,
    partition: String,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Page<T>> {
    let query = Query::new(Table::Main, Some(index), partition)
        .descending()
        .limit(page_limit(limit)?)
        .after(cursor);
    let page = core.store.query(query).await.map_err(store_error)?;
    let items = page
        .items
        .iter()
        .map(|item| brokeros_kernel::changeset::decode::<T>(item).map(|t| t.entity))
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}
