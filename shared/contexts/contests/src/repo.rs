//! The contests repository: the only code of the context that builds its store items, keys,
//! indexes and queries. Contests and entrants are audited entities; a version's text, the
//! catalog of published contests and the entry markers are unaudited bookkeeping written in the
//! changeset of the change they follow (the markers and version texts on the condition that
//! they do not exist, the catalog under its version), so the store itself keeps a login and a
//! person to one entry per contest and a version's text to the one first stored.

use brokeros_kernel::changeset::{Entity, decode, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Key, Query, SortKeyRange, Table, WriteOp};
use serde_json::Value;

use crate::keys;
use crate::model::{ContestEntrant, ContestRecord, PublishedCatalog};

impl Entity for ContestRecord {
    const TYPE: &'static str = "contest";
    const NOUN: &'static str = "contest";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::contest(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let created = keys::by_time(self.created_at, &self.id);
        let mut indexes = vec![
            (
                Index::Gsi1,
                keys::contests_in_status(self.status.as_str()),
                created.clone(),
            ),
            (Index::Gsi2, keys::ALL_CONTESTS.to_string(), created),
        ];
        if self.status.is_public() {
            indexes.push((
                Index::Gsi3,
                keys::PUBLIC_CONTESTS.to_string(),
                keys::by_time(self.definition.period.from, &self.id),
            ));
        }
        indexes
    }
}

impl Entity for crate::prizes::PrizeRound {
    const TYPE: &'static str = "contest_prizes";
    const NOUN: &'static str = "contest prize round";

    fn id(&self) -> &str {
        &self.contest
    }

    fn key_for(id: &str) -> Key {
        keys::prize_round(id)
    }
}

impl Entity for ContestEntrant {
    const TYPE: &'static str = "contest_entrant";
    const NOUN: &'static str = "contest entrant";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::entrant(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let registered = keys::by_time(self.registered_at, &self.id);
        vec![
            (
                Index::Gsi1,
                keys::entrants_of(&self.contest_id),
                registered.clone(),
            ),
            (
                Index::Gsi2,
                keys::entries_of_client(&self.client_id),
                registered,
            ),
        ]
    }
}

/// The write that stores `text` as version `version` of contest `id`, refused if that version
/// is stored.
pub(crate) fn version_put(id: &str, version: u32, text: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::contest_version(id, version), 1, text),
        condition: Condition::NotExists,
    }
}

/// The stored text of version `version` of contest `id`, if it is stored.
pub(crate) async fn version_text(core: &Core, id: &str, version: u32) -> Result<Option<String>> {
    let item = core
        .store
        .get(Table::Main, &keys::contest_version(id, version))
        .await
        .map_err(store_error)?;
    Ok(item.map(|i| i.data))
}

/// The catalog of published contests holding a group or a campaign, read by key, with the
/// version its next write must be conditioned on (`None`: not stored yet).
pub(crate) async fn catalog(core: &Core) -> Result<(PublishedCatalog, Option<u64>)> {
    let item = core
        .store
        .get(Table::Main, &keys::published_catalog())
        .await
        .map_err(store_error)?;
    match item {
        None => Ok((PublishedCatalog::default(), None)),
        Some(item) => {
            let catalog = serde_json::from_str(&item.data)
                .map_err(|e| Error::Internal(format!("the contest catalog is unreadable: {e}")))?;
            Ok((catalog, Some(item.version)))
        }
    }
}

/// The write that replaces the catalog read at `read_version`, refused if it changed since.
pub(crate) fn catalog_put(
    catalog: &PublishedCatalog,
    read_version: Option<u64>,
) -> Result<WriteOp> {
    let data = serde_json::to_string(catalog).map_err(|e| Error::Internal(e.to_string()))?;
    let (version, condition) = match read_version {
        None => (1, Condition::NotExists),
        Some(v) => (v + 1, Condition::VersionIs(v)),
    };
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::published_catalog(), version, data),
        condition,
    })
}

/// The entry markers of `keys` that exist already (the entrant ids they name).
pub(crate) async fn taken(core: &Core, markers: &[Key]) -> Result<Vec<String>> {
    let items = core
        .store
        .get_many(Table::Main, markers)
        .await
        .map_err(store_error)?;
    Ok(items.into_iter().flatten().map(|item| item.data).collect())
}

/// The writes of `markers`, each naming `entrant_id`, refused at commit if one exists.
pub(crate) fn marker_puts(markers: &[Key], entrant_id: &str) -> Vec<WriteOp> {
    markers
        .iter()
        .map(|key| WriteOp::Put {
            table: Table::Main,
            item: Item::new(key.clone(), 1, entrant_id.to_string()),
            condition: Condition::NotExists,
        })
        .collect()
}

/// Every account entered into contest `contest_id`, with its entrant's id, in login order:
/// the contest's roster, read by a keyed query (consistent, unlike the entrants' index), so
/// what scores the contest may rest on it.
pub async fn entry_roster(core: &Core, contest_id: &str) -> Result<Vec<(u64, String)>> {
    let query = Query::new(Table::Main, None, keys::entries_partition(contest_id))
        .sk(SortKeyRange::Prefix(keys::LOGIN_ENTRY_PREFIX.into()));
    brokeros_kernel::paging::every_item(core.store.as_ref(), query)
        .await?
        .into_iter()
        .map(|item| {
            let login = item
                .key
                .sk
                .strip_prefix(keys::LOGIN_ENTRY_PREFIX)
                .and_then(|l| l.parse().ok())
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "an entry marker's key is unreadable: {}",
                        item.key.sk
                    ))
                })?;
            Ok((login, item.data))
        })
        .collect()
}

/// Where a page of contests is listed from.
pub(crate) enum Listing<'a> {
    /// Anyone's: the contests that are public, latest start first.
    Public,
    /// Staff's: every contest, newest first.
    All,
    /// Staff's: the contests in one status, newest first.
    InStatus(&'a str),
}

/// A page of contest records from `listing`, each as `view` shows it.
pub(crate) async fn contests_page(
    core: &Core,
    listing: Listing<'_>,
    limit: u32,
    cursor: Option<String>,
    view: impl Fn(&ContestRecord) -> Value,
) -> Result<Value> {
    let (index, partition) = match listing {
        Listing::Public => (Index::Gsi3, keys::PUBLIC_CONTESTS.to_string()),
        Listing::All => (Index::Gsi2, keys::ALL_CONTESTS.to_string()),
        Listing::InStatus(status) => (Index::Gsi1, keys::contests_in_status(status)),
    };
    brokeros_kernel::paging::newest_first(
        core.store.as_ref(),
        index,
        partition,
        limit,
        cursor,
        view,
    )
    .await
}

/// A page of contest `contest_id`'s entrants, newest first.
pub(crate) async fn entrants_page(
    core: &Core,
    contest_id: &str,
    limit: u32,
    cursor: Option<String>,
    view: impl Fn(&ContestEntrant) -> Value,
) -> Result<Value> {
    let partition = keys::entrants_of(contest_id);
    brokeros_kernel::paging::newest_first(
        core.store.as_ref(),
        Index::Gsi1,
        partition,
        limit,
        cursor,
        view,
    )
    .await
}

/// A page of client `client_id`'s entries, newest first.
pub(crate) async fn entries_of_client_page(
    core: &Core,
    client_id: &str,
    limit: u32,
    cursor: Option<String>,
    view: impl Fn(&ContestEntrant) -> Value,
) -> Result<Value> {
    let partition = keys::entries_of_client(client_id);
    brokeros_kernel::paging::newest_first(
        core.store.as_ref(),
        Index::Gsi2,
        partition,
        limit,
        cursor,
        view,
    )
    .await
}

/// Every contest in `status`, from the status index (a moment behind on DynamoDB: a work
/// queue for the scheduler, whose tasks read each contest again by key).
pub(crate) async fn contests_in_status(core: &Core, status: &str) -> Result<Vec<ContestRecord>> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::contests_in_status(status),
    );
    brokeros_kernel::paging::every_item(core.store.as_ref(), query)
        .await?
        .iter()
        .map(|item| decode::<ContestRecord>(item).map(|stored| stored.entity))
        .collect()
}
