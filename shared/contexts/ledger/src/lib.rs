//! The double-entry ledger over the storage port. The rules are `crate::model`'s;
//! this module reads what they need and commits what they decide.
//!
//! One journal entry is one `Store::transact`: the entry item (created only if its transfer id
//! is new) with its audit event, the marker of the entry it closes (a reversal's transfer, a
//! release's or settlement's reservation; created once), one posting item per posting in the
//! account's history, and the balance items of the touched accounts (each conditional on the
//! version read). A lost race re-reads and re-decides; a transfer id already posted answers
//! the stored entry if the request is the same, and is refused if it is not.
//!
//! Client wallets and IB payables keep their balance in one item, so "never below zero" is
//! checked exactly. House accounts (provider clearing, provider fees, broker revenue,
//! suspense) take part in most entries and have no sign rule: their balance is split into
//! [`HOUSE_SHARDS`] items, each entry updating one of them at random, so concurrent entries
//! do not serialize on them. Their balance is the sum of the shards.
//!
//! Who may call what is the API layer's business; these functions take the actor from the
//! [`OpContext`], so workflow tasks call them as they are.
pub mod keys;
pub mod model;
mod repo;

#[cfg(test)]
mod tests;
mod turns;

use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::model::{
    AccountId, Balance, Bucket, Closure, Entry, EntryKind, Referenced, Request, TransferId,
    apply_postings, check_owner_id, plan, replay,
};
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use crate::model::{ClosedHow, Fee, Leg, Release, Reserve, Reverse, Settle, Transfer};
pub use crate::repo::HOUSE_SHARDS;

use brokeros_kernel::changeset::{Changeset, Committed};
use brokeros_kernel::{Core, OpContext};

/// How often an entry is re-decided after losing a race before the caller is told to retry.
/// Generous: a wallet under a burst of concurrent withdrawals serializes them.
const MAX_ATTEMPTS: u32 = 40;

/// What a posting request answers: the entry, and whether it was posted before (a replay of
/// the same request, which changed nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Posted {
    pub entry: Entry,
    pub replayed: bool,
}

/// What [`stage`] put into a changeset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    /// The entry's writes are in the changeset; it is posted when the changeset commits.
    New(Entry),
    /// The same request was posted before: nothing was staged.
    Replayed(Entry),
}

/// A posted entry with the closure it may have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryRecord {
    pub entry: Entry,
    pub closure: Option<Closure>,
}

/// The parts of a balance after an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BalanceParts {
    pub available: Decimal,
    pub reserved: Decimal,
}

/// One posting in an account's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostingRecord {
    pub transfer_id: TransferId,
    /// The posting's position in its entry.
    pub leg: u32,
    pub kind: EntryKind,
    pub account: AccountId,
    pub bucket: Bucket,
    pub amount: Decimal,
    pub memo: String,
    #[serde(with = "time::serde::rfc3339")]
    pub posted_at: OffsetDateTime,
    /// The account's balance right after the entry: for accounts kept in one item (client
    /// wallets, IB payables, trading accounts); house accounts' shards change independently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_after: Option<BalanceParts>,
}

#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// 1 to 1000 postings per page (100 if not given).
    pub limit: Option<u32>,
    /// The `next` of the previous page of the same query.
    pub cursor: Option<String>,
    pub newest_first: bool,
    /// Postings at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Postings before this time.
    pub to: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryPage {
    pub items: Vec<PostingRecord>,
    pub next: Option<String>,
}

/// Stages the entry of `request` into `changes`, for a caller that commits it together with
/// its own writes (a deposit's status and its credit, in one transaction). The caller commits
/// the changeset as `idempotency::execute` does and, when a condition fails, stages again on a
/// fresh changeset. A request whose transfer id was posted before stages nothing and answers
/// the stored entry (or is refused, if it is a different request); the caller then has nothing
/// of the ledger's to commit. An entry writes at most 43 items; the caller keeps the whole
/// changeset within 100 operations.
pub async fn stage(
    services: &Core,
    ctx: &OpContext,
    request: &Request,
    changes: &mut Changeset,
) -> Result<Staged> {
    let request = request.clone().normalized()?;
    stage_normalized(services, ctx, &request, changes).await
}

async fn stage_normalized(
    services: &Core,
    ctx: &OpContext,
    request: &Request,
    changes: &mut Changeset,
) -> Result<Staged> {
    let stored = repo::request_reads(services, request.transfer_id(), request.references()).await?;
    if let Some(posted) = &stored.posted {
        return replay(posted, request).map(Staged::Replayed);
    }
    let referenced_entry = stored.referenced;
    let referenced = referenced_entry.as_ref().map(|entry| Referenced {
        entry,
        closure: stored.referenced_closure.as_ref(),
    });
    match prepare(services, ctx, request, referenced, changes).await {
        Ok(entry) => Ok(Staged::New(entry)),
        Err(refusal) => recheck(services, request, referenced_entry.as_ref(), refusal).await,
    }
}

/// A refusal is decided on reads that are not one snapshot: the entry's own key and the
/// closure of the entry it refers to are read before the balances. So a request that lost a
/// race to the very same request (which posted meanwhile), or to another closing the same
/// entry, could be refused for a reason that is only a consequence of that (the wallet's
/// reserved money is gone because the reservation was released). Before a refusal is
/// answered, both are read again: the same request posted answers its entry, a closure
/// answers that the entry is closed. Entries and closures are never removed, so a second read
/// that finds neither confirms the refusal.
async fn recheck(
    services: &Core,
    request: &Request,
    referenced_entry: Option<&Entry>,
    refusal: Error,
) -> Result<Staged> {
    let (posted, closure) =
        repo::entry_and_closure(services, request.transfer_id(), request.references()).await?;
    if let Some(posted) = &posted {
        return replay(posted, request).map(Staged::Replayed);
    }
    if let (Some(entry), Some(closure)) = (referenced_entry, closure) {
        plan(
            request,
            Some(Referenced {
                entry,
                closure: Some(&closure),
            }),
        )?;
    }
    Err(refusal)
}

/// Decides the entry of a request on its balances and stages its writes; nothing is staged
/// unless every rule holds.
async fn prepare(
    services: &Core,
    ctx: &OpContext,
    request: &Request,
    referenced: Option<Referenced<'_>>,
    changes: &mut Changeset,
) -> Result<Entry> {
    let plan = plan(request, referenced)?;

    // The balance items the postings touch, one per account.
    let mut accounts: Vec<AccountId> = Vec::new();
    for posting in &plan.postings {
        if !accounts.contains(&posting.account) {
            accounts.push(posting.account.clone());
        }
    }
    let (mut balances, slots) = repo::balances_for_entry(services, &accounts).await?;
    apply_postings(&mut balances, &plan.postings)?;

    let (entry, closure) = plan.into_entry(request, ctx.now);
    let action = format!("ledger.{}", entry.kind.name());
    changes.create(ctx, services.ids.as_ref(), &entry, &action)?;
    if let Some(closure) = &closure {
        repo::stage_closure(changes, closure)?;
    }
    let after: BTreeMap<&AccountId, &Balance> = balances.iter().map(|b| (&b.account, b)).collect();
    for (leg, posting) in entry.postings.iter().enumerate() {
        let balance_after = (!posting.account.is_house()).then(|| BalanceParts {
            available: after[&posting.account].available,
            reserved: after[&posting.account].reserved,
        });
        let record = PostingRecord {
            transfer_id: entry.transfer_id.clone(),
            leg: leg as u32,
            kind: entry.kind.clone(),
            account: posting.account.clone(),
            bucket: posting.bucket,
            amount: posting.amount,
            memo: entry.memo.clone(),
            posted_at: entry.posted_at,
            balance_after,
        };
        repo::stage_posting(changes, &record)?;
    }
    for (balance, slot) in balances.iter().zip(slots) {
        let touched = entry
            .postings
            .iter()
            .filter(|p| p.account == balance.account)
            .count() as u64;
        repo::stage_balance(changes, slot, balance, touched)?;
    }
    Ok(entry)
}

/// Runs `work` holding this process's turn on the balance items of `accounts` (see [`turns`]),
/// for a use case that stages entries into its own changeset (a withdrawal with its
/// reservation): a burst of them on one wallet then commits one after the other instead of
/// colliding until their retries run out. `work` must not post entries itself
/// ([`submit`] takes the same turns).
pub async fn in_turn<F: std::future::Future>(accounts: &[AccountId], work: F) -> F::Output {
    let names = accounts
        .iter()
        .filter(|a| !a.is_house())
        .map(|a| a.to_string())
        .collect();
    let _turns = turns::take(names).await;
    work.await
}

/// Waits before re-deciding an entry that lost a race, with full jitter (up to 1, 2, 4, …
/// 64 ms).
async fn backoff(attempt: u32) {
    let cap_ms = 1u64 << attempt.min(6);
    let wait_us = rand::random_range(0..cap_ms * 1000);
    tokio::time::sleep(std::time::Duration::from_micros(wait_us)).await;
}

/// Posts the entry of any request in its own transaction: checks it, answers a replay, or
/// commits the entry with its postings, balances and audit event, re-deciding on fresh reads
/// after a lost race (waiting first for its turn on the accounts it touches among this
/// process's entries, see [`turns`]). Nothing is written when it is refused.
pub async fn submit(
    services: &Core,
    ctx: &OpContext,
    request: impl Into<Request>,
) -> Result<Posted> {
    let request = request.into().normalized()?;
    // After a lost race, the turns on the entry's non-house accounts in this process.
    let mut turns = None;
    for attempt in 1..=MAX_ATTEMPTS {
        let mut changes = Changeset::new();
        let entry = match stage_normalized(services, ctx, &request, &mut changes).await? {
            Staged::Replayed(entry) => {
                return Ok(Posted {
                    entry,
                    replayed: true,
                });
            }
            Staged::New(entry) => entry,
        };
        match services.commit(changes).await? {
            Committed::Applied => {
                return Ok(Posted {
                    entry,
                    replayed: false,
                });
            }
            Committed::Raced => {
                let contended: Vec<String> = entry
                    .postings
                    .iter()
                    .filter(|p| !p.account.is_house())
                    .map(|p| p.account.to_string())
                    .collect();
                if turns.is_none() && !contended.is_empty() {
                    turns = Some(turns::take(contended).await);
                } else {
                    backoff(attempt).await;
                }
            }
        }
    }
    Err(Error::conflict(
        "concurrent_update",
        "the ledger accounts were changed by concurrent entries; retry with the same transfer id",
    ))
}

/// Moves money between accounts' available parts (deposits: clearing → wallet; fees;
/// IB commissions: revenue → IB payable).
pub async fn post(services: &Core, ctx: &OpContext, transfer: Transfer) -> Result<Posted> {
    submit(services, ctx, transfer).await
}

/// Moves a client wallet's money from available to reserved (a withdrawal requested).
pub async fn reserve(services: &Core, ctx: &OpContext, request: Reserve) -> Result<Posted> {
    submit(services, ctx, request).await
}

/// Gives a reservation back to available (a withdrawal rejected, or its payout failed).
pub async fn release(services: &Core, ctx: &OpContext, request: Release) -> Result<Posted> {
    submit(services, ctx, request).await
}

/// Pays a reservation out to an account (the provider's clearing), less an optional fee.
pub async fn settle(services: &Core, ctx: &OpContext, request: Settle) -> Result<Posted> {
    submit(services, ctx, request).await
}

/// Negates a transfer, once.
pub async fn reverse(services: &Core, ctx: &OpContext, request: Reverse) -> Result<Posted> {
    submit(services, ctx, request).await
}

/// A posted entry and its closure, if any.
pub async fn entry(services: &Core, transfer_id: &TransferId) -> Result<Option<EntryRecord>> {
    let (entry, closure) =
        repo::entry_and_closure(services, transfer_id, Some(transfer_id)).await?;
    Ok(entry.map(|entry| EntryRecord { entry, closure }))
}

/// An account's balance (zero if it has none yet); a house account's is the sum of its shards.
pub async fn balance(services: &Core, account: &AccountId) -> Result<Balance> {
    let parts = repo::balance_parts(services, account).await?;
    Balance::sum(account.clone(), &parts)
}

/// Every wallet balance of a client, by currency code.
pub async fn balances_of_client(services: &Core, client_id: &str) -> Result<Vec<Balance>> {
    check_owner_id("client_id", client_id)?;
    let mut balances = repo::wallet_balances(services, client_id).await?;
    balances.sort_by(|a, b| a.account.currency().code.cmp(b.account.currency().code));
    Ok(balances)
}

/// One page of an account's postings, oldest first unless asked otherwise.
pub async fn history(
    services: &Core,
    account: &AccountId,
    query: HistoryQuery,
) -> Result<HistoryPage> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid(
            "invalid_limit",
            "limit",
            "limit must be 1 to 1000",
        ));
    }
    repo::postings(services, account, query, limit).await
}
