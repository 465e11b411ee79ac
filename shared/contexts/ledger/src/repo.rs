//! The ledger's repository: the only code of the context that builds its store items and
//! queries. Entries are audited entities (read by id through the kernel's generic repository);
//! their closures, the postings of an account's history and the balance items are unaudited
//! items that commit in the entry's changeset.

use brokeros_kernel::changeset::{Changeset, Entity, decode, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Item, Key, Query, SortKeyRange, Table, WriteOp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::model::{AccountId, Balance, Closure, Entry, TransferId};
use crate::{HistoryPage, HistoryQuery, PostingRecord};

/// How many items a house account's balance is split into.
pub const HOUSE_SHARDS: u32 = 16;

impl Entity for Entry {
    const TYPE: &'static str = "ledger_entry";
    const NOUN: &'static str = "ledger entry";

    fn id(&self) -> &str {
        self.transfer_id.as_str()
    }

    fn key_for(id: &str) -> Key {
        keys::ledger_entry(id)
    }
}

/// A balance item as stored: the balance (of an account, or of one shard) and how many
/// postings made it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BalanceItem {
    account: AccountId,
    available: Decimal,
    reserved: Decimal,
    postings: u64,
}

impl BalanceItem {
    fn balance(&self) -> Balance {
        Balance {
            account: self.account.clone(),
            available: self.available,
            reserved: self.reserved,
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(item: &Item, what: &str) -> Result<T> {
    serde_json::from_str(&item.data)
        .map_err(|e| Error::Internal(format!("stored {what} is unreadable: {e}")))
}

fn balance_of(item: &Item) -> Result<Balance> {
    from_json::<BalanceItem>(item, "ledger balance").map(|b| b.balance())
}

/// The balance item of an account that is kept in one item.
fn single_key(account: &AccountId) -> Key {
    match account.client_id() {
        Some(client_id) => keys::ledger_wallet(client_id, account.currency().code),
        None => keys::ledger_balance(&account.to_string()),
    }
}

/// The balance item an entry updates for `account`: its one item, or a shard picked at random.
fn balance_key(account: &AccountId) -> Key {
    if account.is_house() {
        keys::ledger_balance_shard(&account.to_string(), rand::random_range(0..HOUSE_SHARDS))
    } else {
        single_key(account)
    }
}

/// What is stored for a request, read in one batch: the entry of its own transfer id (posted
/// before), and the entry it refers to (a reservation, a reversed transfer) with that entry's
/// closure.
pub(crate) struct RequestReads {
    pub posted: Option<Entry>,
    pub referenced: Option<Entry>,
    pub referenced_closure: Option<Closure>,
}

pub(crate) async fn request_reads(
    core: &Core,
    transfer_id: &TransferId,
    references: Option<&TransferId>,
) -> Result<RequestReads> {
    let mut wanted = vec![keys::ledger_entry(transfer_id.as_str())];
    if let Some(referenced) = references {
        wanted.push(keys::ledger_entry(referenced.as_str()));
        wanted.push(keys::ledger_closure(referenced.as_str()));
    }
    let found = core
        .store
        .get_many(Table::Main, &wanted)
        .await
        .map_err(store_error)?;
    let entry = |at: usize| match found.get(at) {
        Some(Some(item)) => decode::<Entry>(item).map(|e| Some(e.entity)),
        _ => Ok(None),
    };
    Ok(RequestReads {
        posted: entry(0)?,
        referenced: entry(1)?,
        referenced_closure: match found.get(2) {
            Some(Some(item)) => Some(from_json(item, "ledger closure")?),
            _ => None,
        },
    })
}

/// The entry of `transfer_id` and the closure of `closure_of` (the same entry's, or the one a
/// request refers to), read in one batch.
pub(crate) async fn entry_and_closure(
    core: &Core,
    transfer_id: &TransferId,
    closure_of: Option<&TransferId>,
) -> Result<(Option<Entry>, Option<Closure>)> {
    let mut wanted = vec![keys::ledger_entry(transfer_id.as_str())];
    if let Some(closed) = closure_of {
        wanted.push(keys::ledger_closure(closed.as_str()));
    }
    let found = core
        .store
        .get_many(Table::Main, &wanted)
        .await
        .map_err(store_error)?;
    let entry = match &found[0] {
        Some(item) => Some(decode::<Entry>(item)?.entity),
        None => None,
    };
    let closure = match found.get(1) {
        Some(Some(item)) => Some(from_json(item, "ledger closure")?),
        _ => None,
    };
    Ok((entry, closure))
}

/// A balance item read for an entry: where it is, its version (`None`: not created yet) and
/// how many postings it has counted.
pub(crate) struct Slot {
    key: Key,
    version: Option<u64>,
    postings: u64,
}

/// The balances an entry on `accounts` decides on, with the item each was read from: an
/// account's one item, or one of a house account's shards picked at random (zero when the
/// item does not exist yet).
pub(crate) async fn balances_for_entry(
    core: &Core,
    accounts: &[AccountId],
) -> Result<(Vec<Balance>, Vec<Slot>)> {
    let balance_keys: Vec<Key> = accounts.iter().map(balance_key).collect();
    let items = core
        .store
        .get_many(Table::Main, &balance_keys)
        .await
        .map_err(store_error)?;
    let mut balances = Vec::with_capacity(accounts.len());
    let mut slots = Vec::with_capacity(accounts.len());
    for ((account, key), item) in accounts.iter().zip(balance_keys).zip(items) {
        match item {
            Some(item) => {
                let stored: BalanceItem = from_json(&item, "ledger balance")?;
                if &stored.account != account {
                    return Err(Error::Internal(format!(
                        "the balance item of {account} holds {}",
                        stored.account
                    )));
                }
                balances.push(stored.balance());
                slots.push(Slot {
                    key,
                    version: Some(item.version),
                    postings: stored.postings,
                });
            }
            None => {
                balances.push(Balance::zero(account.clone()));
                slots.push(Slot {
                    key,
                    version: None,
                    postings: 0,
                });
            }
        }
    }
    Ok((balances, slots))
}

/// Stages `balance` into the item of `slot` it was read from (conditional on the version read,
/// or on absence), counting the `added` postings of the entry.
pub(crate) fn stage_balance(
    changes: &mut Changeset,
    slot: Slot,
    balance: &Balance,
    added: u64,
) -> Result<()> {
    let stored = BalanceItem {
        account: balance.account.clone(),
        available: balance.available,
        reserved: balance.reserved,
        postings: slot.postings + added,
    };
    let (version, condition) = match slot.version {
        Some(v) => (v + 1, Condition::VersionIs(v)),
        None => (1, Condition::NotExists),
    };
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(slot.key, version, to_json(&stored)?),
        condition,
    });
    Ok(())
}

/// Stages the marker that the entry `closure` names is closed; created once.
pub(crate) fn stage_closure(changes: &mut Changeset, closure: &Closure) -> Result<()> {
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::ledger_closure(closure.entry.as_str()),
            1,
            to_json(closure)?,
        ),
        condition: Condition::NotExists,
    });
    Ok(())
}

/// Stages a posting into its account's history.
pub(crate) fn stage_posting(changes: &mut Changeset, record: &PostingRecord) -> Result<()> {
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::ledger_posting(
                &record.account.to_string(),
                record.posted_at,
                record.transfer_id.as_str(),
                record.leg as usize,
            ),
            1,
            to_json(record)?,
        ),
        condition: Condition::NotExists,
    });
    Ok(())
}

/// The stored parts of an account's balance: its one item, or a house account's shards (none
/// when it has no balance yet).
pub(crate) async fn balance_parts(core: &Core, account: &AccountId) -> Result<Vec<Balance>> {
    let store = core.store.as_ref();
    let items = if account.is_house() {
        let query = Query::new(
            Table::Main,
            None,
            keys::ledger_balances(&account.to_string()),
        )
        .sk(SortKeyRange::Prefix("SHARD#".into()))
        .limit(HOUSE_SHARDS);
        store.query(query).await.map_err(store_error)?.items
    } else {
        store
            .get(Table::Main, &single_key(account))
            .await
            .map_err(store_error)?
            .into_iter()
            .collect()
    };
    items.iter().map(balance_of).collect()
}

/// Every wallet balance of a client, in the order stored.
pub(crate) async fn wallet_balances(core: &Core, client_id: &str) -> Result<Vec<Balance>> {
    let query = Query::new(Table::Main, None, keys::ledger_wallets(client_id))
        .sk(SortKeyRange::Prefix(keys::LEDGER_WALLET_PREFIX.into()))
        .limit(1000);
    let page = core.store.query(query).await.map_err(store_error)?;
    page.items.iter().map(balance_of).collect()
}

/// One page of `limit` of an account's postings in the time window of `query`; refused when
/// the window is empty.
pub(crate) async fn postings(
    core: &Core,
    account: &AccountId,
    query: HistoryQuery,
    limit: u32,
) -> Result<HistoryPage> {
    // A bare time sorts before every posting at that time; `~` after all of them.
    let from = query.from.map(keys::sortable_time);
    let to = query.to.map(keys::sortable_time);
    if let (Some(from), Some(to)) = (&from, &to)
        && from >= to
    {
        return Err(Error::invalid(
            "invalid_range",
            "to",
            "to must be later than from",
        ));
    }
    let range = match (from, to) {
        (None, None) => SortKeyRange::All,
        (from, to) => SortKeyRange::Between(
            from.unwrap_or_default(),
            to.unwrap_or_else(|| "~".to_string()),
        ),
    };
    let mut store_query = Query::new(
        Table::Main,
        None,
        keys::ledger_history(&account.to_string()),
    )
    .sk(range)
    .limit(limit)
    .after(query.cursor);
    if query.newest_first {
        store_query = store_query.descending();
    }
    let page = core.store.query(store_query).await.map_err(store_error)?;
    let items = page
        .items
        .iter()
        .map(|item| from_json::<PostingRecord>(item, "ledger posting"))
        .collect::<Result<Vec<_>>>()?;
    Ok(HistoryPage {
        items,
        next: page.next,
    })
}
