//! Deposits per UTC day by provider, for finance's picture: counts and amounts per currency and
//! status, over a bounded period.
//!
//! Read from the deposits' day index (gsi2, `DEPOSITS#DAY#<day>`, written with every deposit)
//! rather than kept as daily counters committed with each state change: the figures follow the
//! deposit's latest state (a deposit moves from `awaiting_provider` to `credited` and is counted
//! once, in its current status) with no write added to the deposit workflow's transactions and
//! no second place to keep right. The cost is a read of every deposit of the period: bounded by
//! [`MAX_DAYS`], and a brokerage's deposits per day are in the thousands at most. An index read
//! lags a write by a moment, which a report may do; no decision rests on it.

use std::collections::BTreeMap;

use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Core, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;

use super::model::{Deposit, DepositStatus};
use super::repo::deposits_of_day;
use crate::keys::utc_day;

/// The longest period one request may cover, in days (a quarter).
pub const MAX_DAYS: i64 = 93;

/// Who may read the per-day figures.
const READERS: [Role; 2] = [Role::Finance, Role::Admin];

/// The period to count: UTC days `from` to `to`, both included.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DepositsPerDayFilter {
    /// The first UTC day, `YYYY-MM-DD`.
    pub from: String,
    /// The last UTC day, `YYYY-MM-DD` (at most 93 days after `from`, counting both).
    pub to: String,
}

/// The deposits of one UTC day, provider, status and currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DepositDayRow {
    /// The UTC day the deposit was created, `YYYY-MM-DD`.
    pub day: String,
    /// The provider of the deposit's last attempt; absent for a deposit no provider was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub status: DepositStatus,
    pub currency: String,
    pub count: u64,
    /// The deposits' amounts added up, in `currency`.
    pub amount: Decimal,
}

/// Deposits per day by provider over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DepositsPerDay {
    pub from: String,
    pub to: String,
    /// By day, then provider (none first), status and currency; days without deposits have no row.
    pub items: Vec<DepositDayRow>,
}

/// The days of `filter`, checked (see [`brokeros_kernel::period::days`]).
fn period(filter: &DepositsPerDayFilter) -> Result<(Date, Date)> {
    brokeros_kernel::period::days(&filter.from, &filter.to, MAX_DAYS)
}

/// Counts and adds up `deposits` by their creation's UTC day, last attempt's provider, status
/// and currency.
fn tally<'a>(deposits: impl IntoIterator<Item = &'a Deposit>) -> Vec<DepositDayRow> {
    type Group = (String, Option<String>, &'static str, &'static str);
    let mut groups: BTreeMap<Group, DepositDayRow> = BTreeMap::new();
    for deposit in deposits {
        let day = utc_day(deposit.created_at.to_offset(time::UtcOffset::UTC).date());
        let provider = deposit.attempts.last().map(|a| a.provider.clone());
        let currency = deposit.amount.currency().code;
        let group = (
            day.clone(),
            provider.clone(),
            deposit.status.as_str(),
            currency,
        );
        let row = groups.entry(group).or_insert_with(|| DepositDayRow {
            day,
            provider,
            status: deposit.status,
            currency: currency.to_string(),
            count: 0,
            amount: Decimal::ZERO,
        });
        row.count += 1;
        row.amount += deposit.amount.amount();
    }
    groups.into_values().collect()
}

/// Deposits per UTC day by provider, status and currency over `filter`'s period: finance and
/// admins.
pub async fn deposits_per_day(
    services: &Core,
    principal: &Principal,
    filter: DepositsPerDayFilter,
) -> Result<DepositsPerDay> {
    principal.require_any(&READERS, "read deposits per day")?;
    let (from, to) = period(&filter)?;
    let mut deposits = Vec::new();
    let mut day = Some(from);
    while let Some(d) = day.filter(|d| *d <= to) {
        deposits.extend(deposits_of_day(services, d).await?);
        day = d.next_day();
    }
    Ok(DepositsPerDay {
        from: utc_day(from),
        to: utc_day(to),
        items: tally(&deposits),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_at_most_a_quarter() {
        let filter = |from: &str, to: &str| DepositsPerDayFilter {
            from: from.into(),
            to: to.into(),
        };
        assert!(
            period(&filter("2026-01-01", "2026-04-03")).is_ok(),
            "93 days"
        );
        let error = period(&filter("2026-01-01", "2026-04-04")).unwrap_err();
        assert_eq!(error.code(), "period_too_long");
    }
}
