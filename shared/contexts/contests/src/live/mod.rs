//! The live contest: each platform server's deal history read by cursor, the deals of entry
//! accounts kept, each touched entrant rescored from all its deals, the ranking published as
//! leaderboard snapshots, and at the end a full recompute that must equal the incremental
//! scores, with the review of hedging between entries.
//!
//! An entrant is scored from what its account held when it entered (an opening balance) and
//! its deals from then on ([`entrant_scoring`]): the feed's deals of an entry account before
//! its registration are not kept, so a late registrant's earlier history never needs reading.
//! Rescoring an entrant from all its stored deals is the same computation a full recompute
//! makes, so incremental scoring equals a full recompute by construction; the end of a contest
//! checks it anyway, and a difference stops the prizes.

pub mod keys;
mod repo;

use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

use brokeros_kernel::canonical::canonical_sha256;
use brokeros_kernel::changeset::{Changeset, Committed};
use brokeros_kernel::paging::PageParams;
use brokeros_kernel::{Error, OpContext, Result};
use brokeros_trading::{DealChangeKind, DealCursor, PlatformDeal, platform_error};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Services;
use crate::model::ContestDefinition;
use crate::model::hedging::{HedgeFlag, hedging_flags};
use crate::model::platform::{enter_account, entrant_scoring};
use crate::model::ranking::{Standing, StandingStatus, rank};
use crate::model::scoring::{Entrant, Explanation, Fold, Score, Scoring, ScoringRules};

/// Changes of a server's feed one batch reads: each may touch one deal item and one score
/// item, and the feed adds its own write and audit event, within the store's 100 operations
/// per transaction.
pub const CHANGES_PER_BATCH: u32 = 45;

/// Rows of a leaderboard snapshot per stored page, and the most one read answers.
pub const BOARD_PAGE_ROWS: usize = 100;

/// How long a leaderboard snapshot that is not final stays readable after it is replaced.
const SNAPSHOT_LIFETIME_SECONDS: i64 = 3600;

/// A contest as its scoring reads it: the definition and the entrants, each with the opening
/// balance it entered with and how the leaderboard shows it.
#[derive(Debug, Clone)]
pub struct Roster {
    pub definition: ContestDefinition,
    pub entrants: Vec<RosterEntrant>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntrant {
    pub entrant: Entrant,
    /// Whose wallet a cash prize goes to, and who is notified.
    pub client_id: String,
    /// Balance plus credit when the account entered.
    pub opening_balance: Decimal,
    /// Why a contest manager disqualified the entrant, if one did.
    pub disqualified: Option<String>,
    /// As the public leaderboard shows them ("Ann L.").
    pub display_name: String,
    pub country: String,
}

impl Roster {
    pub fn contest(&self) -> &str {
        &self.definition.id
    }

    fn rules(&self) -> ScoringRules {
        ScoringRules::of(&self.definition)
    }

    fn by_login(&self) -> HashMap<u64, &RosterEntrant> {
        self.entrants.iter().map(|e| (e.entrant.login, e)).collect()
    }

    fn find(&self, entrant: &str) -> Result<&RosterEntrant> {
        self.entrants
            .iter()
            .find(|e| e.entrant.id == entrant)
            .ok_or_else(|| Error::NotFound {
                entity: "contest entrant",
                id: entrant.to_string(),
            })
    }
}

/// What a contest has read of one platform server's deal history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContestFeed {
    /// `<contest>:<server>`.
    pub id: String,
    pub contest: String,
    pub server: String,
    pub cursor: Option<DealCursor>,
    pub changes_read: u64,
    /// Changes of entry accounts' deals, kept and scored.
    pub changes_kept: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An entry account's deal as last read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryDeal {
    pub revision: u32,
    pub cancelled: bool,
    pub deal: PlatformDeal,
}

/// An entrant's score as the last batch that touched it left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrantScore {
    pub entrant: String,
    pub login: u64,
    pub score: Score,
    /// Deals kept for the entry (cancelled ones included).
    pub deals: u32,
    /// Deals the platform booked malformed, never counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_deals: Vec<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What one batch of a server's feed did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchReport {
    pub changes: u32,
    pub kept: u32,
    pub entrants_rescored: u32,
    pub more: bool,
}

/// The score of an entrant no deal has touched yet.
fn unscored(rules: &ScoringRules) -> Score {
    Fold::default().score(rules)
}

/// Reads the next batch of `server`'s deal history for the contest and rescores each entrant
/// whose deals it changed; the deals, the scores and the feed's move commit together with the
/// feed's audit event. A batch that lost a race with another reader commits nothing and
/// answers `more`, so the caller reads again from where the other left the feed.
pub async fn score_next_batch(
    services: &Services,
    ctx: &OpContext,
    roster: &Roster,
    server: &str,
) -> Result<BatchReport> {
    let contest = roster.contest();
    let feed_id = format!("{contest}:{server}");
    let before = services.find::<ContestFeed>(&feed_id).await?;
    let cursor = before.as_ref().and_then(|f| f.entity.cursor.clone());
    let page = services
        .trading
        .deal_changes(server, cursor, CHANGES_PER_BATCH)
        .await
        .map_err(platform_error)?;
    let entrants = roster.by_login();
    let mut touched: BTreeMap<u64, Vec<&brokeros_trading::DealChange>> = BTreeMap::new();
    for change in &page.changes {
        let Some(entrant) = entrants.get(&change.deal.login) else {
            continue;
        };
        // Deals up to the entry are in its opening balance.
        if change.deal.time_msc > entrant.entrant.registered_msc {
            touched.entry(change.deal.login).or_default().push(change);
        }
    }
    let mut changes = Changeset::new();
    let rules = roster.rules();
    let mut kept = 0;
    for (login, login_changes) in &touched {
        let mut stored = repo::entry_deals(services, contest, *login).await?;
        for change in login_changes {
            let current = stored.get(&change.deal.deal);
            if current.is_some_and(|(_, d)| change.revision <= d.revision) {
                continue;
            }
            let read_version = current.map(|(version, _)| *version);
            let deal = EntryDeal {
                revision: change.revision,
                cancelled: change.kind == DealChangeKind::Cancelled,
                deal: change.deal.clone(),
            };
            repo::stage_entry_deal(&mut changes, contest, &deal, read_version)?;
            stored.insert(change.deal.deal, (read_version.map_or(1, |v| v + 1), deal));
            kept += 1;
        }
        let entrant = entrants[login];
        let score = score_entrant(&rules, entrant, stored.values().map(|(_, d)| d), ctx.now)?;
        repo::stage_score(&mut changes, contest, &score)?;
    }
    let mut feed = before
        .as_ref()
        .map(|f| f.entity.clone())
        .unwrap_or_else(|| ContestFeed {
            id: feed_id.clone(),
            contest: contest.to_string(),
            server: server.to_string(),
            cursor: None,
            changes_read: 0,
            changes_kept: 0,
            updated_at: ctx.now,
        });
    let moved = page.next_cursor.is_some() && page.next_cursor != feed.cursor;
    let report = BatchReport {
        changes: page.changes.len() as u32,
        kept,
        entrants_rescored: touched.len() as u32,
        more: page.has_more,
    };
    if !moved && changes.is_empty() {
        return Ok(report);
    }
    feed.cursor = page.next_cursor.clone();
    feed.changes_read += page.changes.len() as u64;
    feed.changes_kept += u64::from(kept);
    feed.updated_at = ctx.now;
    let ids = services.ids.as_ref();
    match &before {
        Some(before) => changes.update(ctx, ids, before, &feed, "contest.deals_scored", vec![])?,
        None => changes.create(ctx, ids, &feed, "contest.deals_scored")?,
    }
    match services.commit(changes).await? {
        Committed::Applied => Ok(report),
        Committed::Raced => Ok(BatchReport {
            more: true,
            ..BatchReport::default()
        }),
    }
}

/// One entrant's score from its deals as stored (cancelled ones left out).
fn score_entrant<'a>(
    rules: &ScoringRules,
    entrant: &RosterEntrant,
    deals: impl Iterator<Item = &'a EntryDeal>,
    now: OffsetDateTime,
) -> Result<EntrantScore> {
    let deals: Vec<&EntryDeal> = deals.collect();
    let counting: Vec<PlatformDeal> = deals
        .iter()
        .filter(|d| !d.cancelled)
        .map(|d| d.deal.clone())
        .collect();
    let (scoring, history) =
        entrant_scoring(rules, &entrant.entrant, entrant.opening_balance, &counting)?;
    let score = scoring
        .score_of(entrant.entrant.login)
        .cloned()
        .unwrap_or_else(|| unscored(rules));
    Ok(EntrantScore {
        entrant: entrant.entrant.id.clone(),
        login: entrant.entrant.login,
        score,
        deals: deals.len() as u32,
        rejected_deals: history.rejected,
        updated_at: now,
    })
}

/// Reads every configured server's next batch once. Answers the batches' sum; `more` when
/// any server had more waiting.
pub async fn score_new_deals(
    services: &Services,
    ctx: &OpContext,
    roster: &Roster,
) -> Result<BatchReport> {
    let mut total = BatchReport::default();
    for server in &services.config.platform_servers {
        let batch = score_next_batch(services, ctx, roster, server).await?;
        total.changes += batch.changes;
        total.kept += batch.kept;
        total.entrants_rescored += batch.entrants_rescored;
        total.more |= batch.more;
    }
    Ok(total)
}

/// One row of the public leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BoardRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    pub entrant: String,
    pub name: String,
    /// The login with its middle digits hidden ("10****21").
    pub login: String,
    pub country: String,
    pub status: StandingStatus,
    pub metric: Decimal,
    #[serde(rename = "return")]
    pub return_: Decimal,
    pub profit: Decimal,
    pub trades: u32,
}

/// The contest's latest leaderboard snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaderboard {
    pub contest: String,
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// Of the snapshot's rows: what a reader's `If-None-Match` compares.
    pub etag: String,
    pub rows: u32,
    /// The snapshot published after the full recompute at the end.
    pub is_final: bool,
}

/// A login as the public sees it: the first two and last two digits.
pub fn masked_login(login: u64) -> String {
    let digits = login.to_string();
    if digits.len() <= 4 {
        return "*".repeat(digits.len());
    }
    format!(
        "{}{}{}",
        &digits[..2],
        "*".repeat(digits.len() - 4),
        &digits[digits.len() - 2..]
    )
}

/// The ranking of every entrant by the scores as stored.
pub async fn standings(services: &Services, roster: &Roster) -> Result<Vec<Standing>> {
    let stored = repo::entrant_scores(services, roster.contest()).await?;
    let rules = roster.rules();
    let blank = unscored(&rules);
    let scores: Vec<(&Entrant, &Score)> = roster
        .entrants
        .iter()
        .map(|e| {
            let score = stored.get(&e.entrant.id).map_or(&blank, |s| &s.score);
            (&e.entrant, score)
        })
        .collect();
    Ok(rank(scores, &rules, &disqualified(roster)))
}

fn disqualified(roster: &Roster) -> HashMap<String, String> {
    roster
        .entrants
        .iter()
        .filter_map(|e| {
            e.disqualified
                .as_ref()
                .map(|why| (e.entrant.id.clone(), why.clone()))
        })
        .collect()
}

/// Ranks the entrants by their stored scores and publishes the ranking as the next snapshot,
/// unless it equals the latest one. The snapshot's pages are written before the pointer to
/// them, so a reader never sees half a snapshot.
pub async fn publish_leaderboard(
    services: &Services,
    ctx: &OpContext,
    roster: &Roster,
    is_final: bool,
) -> Result<Leaderboard> {
    let contest = roster.contest();
    let standings = standings(services, roster).await?;
    let names = roster
        .entrants
        .iter()
        .map(|e| (e.entrant.id.as_str(), e))
        .collect::<HashMap<_, _>>();
    let rows: Vec<BoardRow> = standings
        .iter()
        .map(|s| {
            let entrant = names[s.entrant.as_str()];
            BoardRow {
                rank: s.rank,
                entrant: s.entrant.clone(),
                name: entrant.display_name.clone(),
                login: masked_login(s.login),
                country: entrant.country.clone(),
                status: s.status,
                metric: s.score.metric,
                return_: s.score.return_,
                profit: s.score.profit,
                trades: s.score.trades,
            }
        })
        .collect();
    let etag = canonical_sha256(&rows)[..32].to_string();
    let before = services.find::<Leaderboard>(contest).await?;
    if let Some(latest) = &before
        && latest.entity.etag == etag
        && latest.entity.is_final == is_final
    {
        return Ok(latest.entity.clone());
    }
    let seq = before.as_ref().map_or(1, |b| b.entity.seq + 1);
    let expires = (!is_final).then(|| ctx.now.unix_timestamp() + SNAPSHOT_LIFETIME_SECONDS);
    repo::write_board_pages(services, contest, seq, &rows, expires).await?;
    let board = Leaderboard {
        contest: contest.to_string(),
        seq,
        published_at: ctx.now,
        etag,
        rows: rows.len() as u32,
        is_final,
    };
    let mut changes = Changeset::new();
    let ids = services.ids.as_ref();
    match &before {
        Some(before) => changes.update(
            ctx,
            ids,
            before,
            &board,
            "contest.leaderboard_published",
            vec![],
        )?,
        None => changes.create(ctx, ids, &board, "contest.leaderboard_published")?,
    }
    match services.commit(changes).await? {
        Committed::Applied => Ok(board),
        Committed::Raced => Err(Error::Unavailable(format!(
            "the leaderboard of contest {contest} was published by another run meanwhile"
        ))),
    }
}

/// The rows of a leaderboard page a reader asks for: `limit` rows from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardPageRequest {
    pub offset: usize,
    pub limit: usize,
}

impl BoardPageRequest {
    /// `page`'s limit (1 to [`BOARD_PAGE_ROWS`], 50 unless given) and cursor (an offset).
    pub fn of(page: &PageParams) -> Result<BoardPageRequest> {
        let limit = match page.limit {
            None => 50,
            Some(limit) if (1..=BOARD_PAGE_ROWS as u32).contains(&limit) => limit as usize,
            Some(_) => {
                return Err(Error::invalid(
                    "invalid_limit",
                    "limit",
                    format!("limit is 1 to {BOARD_PAGE_ROWS}"),
                ));
            }
        };
        let offset = match &page.cursor {
            None => 0,
            Some(text) => text.parse::<u32>().map_err(|_| {
                Error::invalid(
                    "invalid_cursor",
                    "cursor",
                    "cursor is the next page's offset",
                )
            })? as usize,
        };
        Ok(BoardPageRequest { offset, limit })
    }
}

/// The contest's latest leaderboard snapshot (none before the first scoring run).
pub async fn latest_board(services: &Services, contest: &str) -> Result<Option<Leaderboard>> {
    Ok(services
        .find::<Leaderboard>(contest)
        .await?
        .map(|board| board.entity))
}

/// The rows of `board` that `request` asks for, and the cursor of the next page.
pub async fn board_page(
    services: &Services,
    board: &Leaderboard,
    request: BoardPageRequest,
) -> Result<(Vec<BoardRow>, Option<String>)> {
    let rows = repo::board_rows(services, board, request.offset, request.limit).await?;
    let end = request.offset + rows.len();
    let next = (end < board.rows as usize).then(|| end.to_string());
    Ok((rows, next))
}

/// A pair of entrants the hedging review flagged, and what a contest manager made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HedgeReviewFlag {
    /// `<contest>:<entrant>:<entrant>`.
    pub id: String,
    pub contest: String,
    pub flag: HedgeFlag,
    pub status: FlagStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<FlagReview>,
    #[serde(with = "time::serde::rfc3339")]
    pub flagged_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagStatus {
    Open,
    /// Reviewed: not a hedge between entries.
    Cleared,
    /// Reviewed: one or both entrants were disqualified for it.
    Actioned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FlagReview {
    pub by: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What the full recompute at the end found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recompute {
    pub entrants: u32,
    /// Entrants whose stored score differs from the full recompute: (entrant, stored, full).
    pub differences: Vec<(String, Score, Score)>,
    pub flags: Vec<HedgeFlag>,
}

/// Every entrant entered into one scoring from its deals as stored (cancelled ones left out),
/// not yet updated: what the full recompute at the end reads, one query per entrant. Each
/// entrant's deals are entered as soon as they are read, so no more than one entrant's are held
/// beside the scoring's events (all of them at once would take about 430 bytes a deal).
pub async fn scoring_from_store(services: &Services, roster: &Roster) -> Result<Scoring> {
    let mut all = Scoring::with_rules(roster.rules());
    for entrant in &roster.entrants {
        let deals = counting_deals(services, roster.contest(), entrant.entrant.login).await?;
        enter_account(&mut all, &entrant.entrant, entrant.opening_balance, &deals)?;
    }
    Ok(all)
}

/// An entry account's deals as stored, cancelled ones left out.
async fn counting_deals(
    services: &Services,
    contest: &str,
    login: u64,
) -> Result<Vec<PlatformDeal>> {
    let stored = repo::entry_deals(services, contest, login).await?;
    Ok(stored
        .into_values()
        .filter(|(_, d)| !d.cancelled)
        .map(|(_, d)| d.deal)
        .collect())
}

/// Recomputes every entrant's score from all its stored deals in one scoring, compares each
/// with the stored incremental score, and reviews hedging between the entries (new flags
/// stored for a contest manager; flags already reviewed keep their decision).
pub async fn recompute_in_full(
    services: &Services,
    ctx: &OpContext,
    roster: &Roster,
) -> Result<Recompute> {
    let rules = roster.rules();
    let mut all = scoring_from_store(services, roster).await?;
    all.update();
    let stored = repo::entrant_scores(services, roster.contest()).await?;
    let blank = unscored(&rules);
    let differences = all
        .recompute()
        .into_iter()
        .zip(&roster.entrants)
        .filter_map(|(full, entrant)| {
            let kept = stored.get(&entrant.entrant.id).map_or(&blank, |s| &s.score);
            (kept != &full).then(|| (entrant.entrant.id.clone(), kept.clone(), full))
        })
        .collect();
    let flags = hedging_flags(&all, &roster.definition.hedging);
    repo::store_flags(services, ctx, roster.contest(), &flags).await?;
    Ok(Recompute {
        entrants: roster.entrants.len() as u32,
        differences,
        flags,
    })
}

/// The contest's hedging flags, by pair.
pub async fn flags(services: &Services, contest: &str) -> Result<Vec<HedgeReviewFlag>> {
    repo::hedging_flags(services, contest).await
}

/// An entrant's score with its explanation, from its deals as stored.
pub async fn explanation(
    services: &Services,
    roster: &Roster,
    entrant: &str,
) -> Result<Explanation> {
    let entrant = roster.find(entrant)?;
    let deals = counting_deals(services, roster.contest(), entrant.entrant.login).await?;
    let (scoring, _) = entrant_scoring(
        &roster.rules(),
        &entrant.entrant,
        entrant.opening_balance,
        &deals,
    )?;
    scoring
        .explain(entrant.entrant.login)
        .ok_or_else(|| Error::Internal("an entered login explains itself".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_show_their_ends_only() {
        assert_eq!(masked_login(10_002_421), "10****21");
        assert_eq!(masked_login(4242), "****");
    }
}
