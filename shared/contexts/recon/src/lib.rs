//! Reconciliation of a payment provider's settlement report against the ledger (issue 4, part
//! 6). The rules are `crate::model`'s; this module reads the ledger they need and
//! stores what they decide.
//!
//! A run reads the postings of the provider's clearing and fees accounts (every currency) over
//! the report's settlement period widened by [`TOLERANCE`] on both sides, matches the report
//! against them, and stores the run: its summary (an audited entity, `recon_run/<id>`) and its
//! items (in chunks beside it), all in one transaction. Runs are immutable. The run id comes
//! from the provider and the SHA-256 of the report's bytes, so the same report for the same
//! provider is the same run: a second call answers the stored run, and writes nothing.
//!
//! Finance and admins only; a refused caller or a bad report writes nothing.
pub mod keys;
pub mod model;
mod repo;

use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::model::{
    CurrencyTotals, LedgerItem, LedgerSide, MatchItem, MatchKind, parse_report, period,
};
use brokeros_kernel::canonical::sha256_hex;
use brokeros_kernel::money::{CURRENCIES, Currency};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result};
use brokeros_ledger::model::{AccountId, check_owner_id};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use brokeros_kernel::Core;
use brokeros_kernel::changeset::{Changeset, Committed, Entity};
use brokeros_ledger::HistoryQuery;
use brokeros_payments::routing::require_known_provider;

/// How far outside the report's settlement period ledger postings are still read: a provider
/// settles a day after we post, or the other way round.
pub const TOLERANCE: Duration = Duration::days(1);
/// Items per stored chunk of a run.
const CHUNK_ITEMS: usize = 50;
/// Chunks one run may have (with the run and its audit event, within one transaction of at
/// most 100 writes).
const MAX_CHUNKS: usize = 96;
/// The most ledger postings one run reads.
const MAX_LEDGER_POSTINGS: usize = 50_000;

const ROLES: [Role; 2] = [Role::Finance, Role::Admin];

/// A stored run without its items: the audited entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReconSummary {
    pub id: String,
    pub provider: String,
    /// SHA-256 (hex) of the report's bytes.
    pub report_sha256: String,
    pub rows: u32,
    /// The report's settlement period (earliest and latest `settled_at`).
    #[serde(with = "time::serde::rfc3339")]
    pub period_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub period_to: OffsetDateTime,
    /// The ledger postings read: at or after `ledger_from`, before `ledger_to`.
    #[serde(with = "time::serde::rfc3339")]
    pub ledger_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ledger_to: OffsetDateTime,
    /// Items per kind (every kind, zeros included).
    pub counts: BTreeMap<MatchKind, u32>,
    pub totals: BTreeMap<Currency, CurrencyTotals>,
    pub all_matched: bool,
    pub items: u32,
    pub chunks: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// A run with its items: what [`reconcile`] and [`recon_run`] answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReconRun {
    pub run: ReconSummary,
    pub items: Vec<MatchItem>,
}

impl ReconRun {
    /// The items that did not match.
    pub fn mismatches(&self) -> impl Iterator<Item = &MatchItem> {
        self.items.iter().filter(|i| i.kind != MatchKind::Matched)
    }
}

/// The id of the run of `report` for `provider`.
pub fn run_id(provider: &str, report_sha256: &str) -> String {
    let digest = sha256_hex(format!("{provider}\n{report_sha256}").as_bytes());
    format!("recon_{}", &digest[..32])
}

/// Every posting of `account` in `[from, to)`.
async fn postings(
    services: &Core,
    account: &AccountId,
    side: LedgerSide,
    from: OffsetDateTime,
    to: OffsetDateTime,
    out: &mut Vec<LedgerItem>,
) -> Result<()> {
    let mut cursor = None;
    loop {
        let page = brokeros_ledger::history(
            services,
            account,
            HistoryQuery {
                limit: Some(1000),
                cursor: cursor.take(),
                newest_first: false,
                from: Some(from),
                to: Some(to),
            },
        )
        .await?;
        out.extend(page.items.into_iter().map(|p| LedgerItem {
            transfer_id: p.transfer_id.as_str().to_string(),
            side,
            currency: p.account.currency(),
            amount: p.amount,
            posted_at: p.posted_at,
        }));
        if out.len() > MAX_LEDGER_POSTINGS {
            return Err(Error::invalid(
                "period_too_large",
                "report",
                format!(
                    "the report's period holds more than {MAX_LEDGER_POSTINGS} ledger postings of the provider; split the report"
                ),
            ));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// Reconciles `report_csv` (see `crate::model` for its format) of `provider`
/// against the ledger, stores the run with its audit event, and answers it; the same report
/// again answers the stored run. Finance and admins only. Errors: `forbidden`; `not_found` for
/// a provider payments does not know (`brokeros_payments::routing::require_known_provider`:
/// neither in the routing rules nor among the providers whose webhooks are accepted); a
/// validation error naming the report's line and column (`line 3, column 4 (amount)`);
/// nothing is written on any error.
pub async fn reconcile(
    services: &brokeros_payments::Services,
    principal: &Principal,
    provider: &str,
    report_csv: &str,
    correlation_id: &str,
) -> Result<ReconRun> {
    principal.require_any(&ROLES, "run a reconciliation")?;
    check_owner_id("provider", provider)?;
    require_known_provider(services, provider).await?;
    let services: &Core = services;
    let rows = parse_report(report_csv)?;
    let report_sha256 = sha256_hex(report_csv.as_bytes());
    let id = run_id(provider, &report_sha256);
    if let Some(run) = repo::run(services, &id).await? {
        return Ok(run);
    }
    let (period_from, period_to) = period(&rows).expect("a parsed report has rows");
    let ledger_from = period_from - TOLERANCE;
    let ledger_to = period_to + TOLERANCE + Duration::seconds(1);

    let mut items = Vec::new();
    for currency in CURRENCIES {
        let clearing = AccountId::provider_clearing(provider, currency)?;
        let fees = AccountId::provider_fees(provider, currency)?;
        postings(
            services,
            &clearing,
            LedgerSide::Clearing,
            ledger_from,
            ledger_to,
            &mut items,
        )
        .await?;
        postings(
            services,
            &fees,
            LedgerSide::Fees,
            ledger_from,
            ledger_to,
            &mut items,
        )
        .await?;
    }
    let matching = crate::model::reconcile(&rows, &items);
    let chunks: Vec<&[MatchItem]> = matching.items.chunks(CHUNK_ITEMS).collect();
    if chunks.len() > MAX_CHUNKS {
        return Err(Error::invalid(
            "too_many_items",
            "report",
            format!(
                "the run would have {} items, more than {}; split the report",
                matching.items.len(),
                MAX_CHUNKS * CHUNK_ITEMS
            ),
        ));
    }
    let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
    let summary = ReconSummary {
        id: id.clone(),
        provider: provider.to_string(),
        report_sha256,
        rows: rows.len() as u32,
        period_from,
        period_to,
        ledger_from,
        ledger_to,
        all_matched: matching.all_matched(),
        counts: matching.counts.clone(),
        totals: matching.totals.clone(),
        items: matching.items.len() as u32,
        chunks: chunks.len() as u32,
        created_at: ctx.now,
        created_by: principal.sub.clone(),
    };
    let mut changes = Changeset::new();
    changes.create(&ctx, services.ids.as_ref(), &summary, "recon.run_recorded")?;
    repo::stage_item_chunks(&mut changes, &id, &chunks)?;
    match services.commit(changes).await? {
        Committed::Applied => Ok(ReconRun {
            run: summary,
            items: matching.items,
        }),
        // The same report, recorded concurrently: answer that run.
        Committed::Raced => repo::run(services, &id).await?.ok_or_else(|| {
            Error::conflict(
                "concurrent_update",
                "the run was being recorded concurrently; retry",
            )
        }),
    }
}

/// A stored run with its items. Finance and admins only.
pub async fn recon_run(services: &Core, principal: &Principal, id: &str) -> Result<ReconRun> {
    principal.require_any(&ROLES, "read reconciliation runs")?;
    let valid = id.len() <= 64
        && id.starts_with("recon_")
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let not_found = || Error::NotFound {
        entity: ReconSummary::NOUN,
        id: id.chars().take(64).collect(),
    };
    if !valid {
        return Err(not_found());
    }
    repo::run(services, id).await?.ok_or_else(not_found)
}
