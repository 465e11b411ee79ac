//! The live scoring's repository: the only code of the module that builds store items, keys
//! and queries. The feed, the leaderboard pointer and hedging flags are audited entities; an
//! entry account's deals, the entrants' scores and the snapshots' pages are bookkeeping items
//! that commit with (or, for pages, before) the audited write that makes them count.

use std::collections::{BTreeMap, HashMap};

use brokeros_kernel::changeset::{Changeset, Entity, store_error};
use brokeros_kernel::{Error, OpContext, Result};
use brokeros_store::{Condition, Item, Key, MAX_GET_MANY_KEYS, Query, Table, WriteOp};

use super::{
    BOARD_PAGE_ROWS, BoardRow, ContestFeed, EntrantScore, EntryDeal, FlagStatus, HedgeReviewFlag,
    Leaderboard, keys,
};
use crate::Services;
use crate::model::hedging::HedgeFlag;

impl Entity for ContestFeed {
    const TYPE: &'static str = "contest_feed";
    const NOUN: &'static str = "contest deal feed";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::feed(id)
    }
}

impl Entity for Leaderboard {
    const TYPE: &'static str = "contest_leaderboard";
    const NOUN: &'static str = "contest leaderboard";

    fn id(&self) -> &str {
        &self.contest
    }

    fn key_for(id: &str) -> Key {
        keys::board(id)
    }
}

impl Entity for HedgeReviewFlag {
    const TYPE: &'static str = "contest_flag";
    const NOUN: &'static str = "contest hedging flag";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::flag(id)
    }
}

fn decode<T: serde::de::DeserializeOwned>(item: &Item, what: &str) -> Result<T> {
    serde_json::from_str(&item.data)
        .map_err(|e| Error::Internal(format!("{what} {} is unreadable: {e}", item.key.pk)))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// Every item of partition `pk`, in sort key order (read by key, so strongly consistent).
async fn whole_partition(services: &Services, pk: String) -> Result<Vec<Item>> {
    brokeros_kernel::paging::every_item(services.store.as_ref(), Query::new(Table::Main, None, pk))
        .await
}

/// An entry account's deals as stored, by ticket, each with the version it was read at.
pub(super) async fn entry_deals(
    services: &Services,
    contest: &str,
    login: u64,
) -> Result<BTreeMap<u64, (u64, EntryDeal)>> {
    let items = whole_partition(services, keys::entry_deals(contest, login)).await?;
    items
        .iter()
        .map(|item| {
            let deal: EntryDeal = decode(item, "contest entry deal")?;
            Ok((deal.deal.deal, (item.version, deal)))
        })
        .collect()
}

/// Stages `deal` over the revision read at `read_version` (`None`: never kept).
pub(super) fn stage_entry_deal(
    changes: &mut Changeset,
    contest: &str,
    deal: &EntryDeal,
    read_version: Option<u64>,
) -> Result<()> {
    let key = keys::entry_deal(contest, deal.deal.login, deal.deal.deal);
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(key, read_version.map_or(1, |v| v + 1), encode(deal)?),
        condition: read_version.map_or(Condition::NotExists, Condition::VersionIs),
    });
    Ok(())
}

/// Stages an entrant's score (the feed's move, in the same changeset, is what serializes
/// two scorers).
pub(super) fn stage_score(
    changes: &mut Changeset,
    contest: &str,
    score: &EntrantScore,
) -> Result<()> {
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::score(contest, &score.entrant), 1, encode(score)?),
        condition: Condition::Always,
    });
    Ok(())
}

/// Every entrant's stored score, by entrant id.
pub(super) async fn entrant_scores(
    services: &Services,
    contest: &str,
) -> Result<HashMap<String, EntrantScore>> {
    let items = whole_partition(services, keys::scores(contest)).await?;
    items
        .iter()
        .map(|item| {
            let score: EntrantScore = decode(item, "contest entrant score")?;
            Ok((score.entrant.clone(), score))
        })
        .collect()
}

/// Writes snapshot `seq`'s rows in pages of [`BOARD_PAGE_ROWS`], in transactions the store
/// takes, expiring at `expires` (unix seconds) unless final.
pub(super) async fn write_board_pages(
    services: &Services,
    contest: &str,
    seq: u64,
    rows: &[BoardRow],
    expires: Option<i64>,
) -> Result<()> {
    let mut ops = Vec::new();
    for (page, chunk) in rows.chunks(BOARD_PAGE_ROWS).enumerate() {
        let mut item = Item::new(
            keys::board_page(contest, seq, page as u32),
            1,
            encode(&chunk)?,
        );
        if let Some(at) = expires {
            item = item.expiring_at(at);
        }
        ops.push(WriteOp::Put {
            table: Table::Main,
            item,
            condition: Condition::Always,
        });
    }
    for batch in ops.chunks(brokeros_store::MAX_TRANSACTION_OPS) {
        services
            .store
            .transact(batch.to_vec())
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

/// Up to `limit` rows of `board` from `offset`.
pub(super) async fn board_rows(
    services: &Services,
    board: &Leaderboard,
    offset: usize,
    limit: usize,
) -> Result<Vec<BoardRow>> {
    if offset >= board.rows as usize {
        return Ok(Vec::new());
    }
    let end = (offset + limit).min(board.rows as usize);
    let first = offset / BOARD_PAGE_ROWS;
    let last = (end - 1) / BOARD_PAGE_ROWS;
    let keys: Vec<Key> = (first..=last)
        .map(|page| keys::board_page(&board.contest, board.seq, page as u32))
        .collect();
    let mut rows = Vec::new();
    for chunk in keys.chunks(MAX_GET_MANY_KEYS) {
        let items = services
            .store
            .get_many(Table::Main, chunk)
            .await
            .map_err(store_error)?;
        for item in items {
            let item = item.ok_or_else(|| {
                Error::Unavailable(format!(
                    "leaderboard snapshot {} of contest {} is no longer stored",
                    board.seq, board.contest
                ))
            })?;
            let page: Vec<BoardRow> = decode(&item, "leaderboard page")?;
            rows.extend(page);
        }
    }
    let skip = offset - first * BOARD_PAGE_ROWS;
    Ok(rows.into_iter().skip(skip).take(end - offset).collect())
}

/// Every hedging flag of the contest, by pair.
pub(super) async fn hedging_flags(
    services: &Services,
    contest: &str,
) -> Result<Vec<HedgeReviewFlag>> {
    let items = whole_partition(services, keys::flags(contest)).await?;
    items
        .iter()
        .map(|item| brokeros_kernel::changeset::decode::<HedgeReviewFlag>(item).map(|f| f.entity))
        .collect()
}

/// Stores the hedging review's flags: new pairs open, known ones updated (their review kept).
pub(super) async fn store_flags(
    services: &Services,
    ctx: &OpContext,
    contest: &str,
    flags: &[HedgeFlag],
) -> Result<()> {
    let ids = services.ids.as_ref();
    for flag in flags {
        let id = format!("{contest}:{}:{}", flag.entrants[0], flag.entrants[1]);
        let mut changes = Changeset::new();
        match services.find::<HedgeReviewFlag>(&id).await? {
            Some(before) => {
                let mut after = before.entity.clone();
                after.flag = flag.clone();
                changes.update_if_changed(
                    ctx,
                    ids,
                    &before,
                    &after,
                    "contest.hedging_flag_updated",
                )?;
            }
            None => {
                let record = HedgeReviewFlag {
                    id,
                    contest: contest.to_string(),
                    flag: flag.clone(),
                    status: FlagStatus::Open,
                    review: None,
                    flagged_at: ctx.now,
                };
                changes.create(ctx, ids, &record, "contest.hedging_flagged")?;
            }
        }
        if !changes.is_empty() {
            services.commit(changes).await?;
        }
    }
    Ok(())
}
