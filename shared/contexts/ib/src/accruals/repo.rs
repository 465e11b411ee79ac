//! The accrual repository: the only code of the module that builds store items, keys and
//! queries. Legs, period beneficiaries and each client's deal book are unaudited bookkeeping
//! items that commit in the changeset of the ingestion batch whose deals caused them (its
//! feed's audit event covers the batch).

use std::collections::BTreeSet;

use brokeros_kernel::changeset::store_error;
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Item, MAX_GET_MANY_KEYS, Query, Table, WriteOp};
use serde::de::DeserializeOwned;

use super::{ClientDeal, StoredLeg};
use crate::keys;
use crate::model::{Beneficiary, Period};

fn decode<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T> {
    serde_json::from_str(&item.data)
        .map_err(|e| Error::Internal(format!("{what} {} is unreadable: {e}", item.key.pk)))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// Every deal of `client` as the accrual last computed it, in time order, each with the
/// version it was read at: a keyed (consistent) query.
pub(crate) async fn client_deals(core: &Core, client: &str) -> Result<Vec<(u64, ClientDeal)>> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::new(Table::Main, None, keys::client_deals(client))
            .limit(1000)
            .after(cursor);
        let page = core.store.query(query).await.map_err(store_error)?;
        for item in &page.items {
            found.push((item.version, decode(item, "client deal")?));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// Stores `deal` over the version read (`None`: new), so two runs cannot both rewrite a
/// client's book.
pub(crate) fn client_deal_put(
    client: &str,
    deal: &ClientDeal,
    read_version: Option<u64>,
) -> Result<WriteOp> {
    let d = &deal.booked.deal;
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::client_deal(client, d.time_msc, &deal.server, d.deal),
            read_version.map_or(1, |v| v + 1),
            encode(deal)?,
        ),
        condition: read_version.map_or(Condition::NotExists, Condition::VersionIs),
    })
}

/// Removes `deal` (cancelled, or moved to another time by a correction) as read.
pub(crate) fn client_deal_delete(client: &str, deal: &ClientDeal, read_version: u64) -> WriteOp {
    let d = &deal.booked.deal;
    WriteOp::Delete {
        table: Table::Main,
        key: keys::client_deal(client, d.time_msc, &deal.server, d.deal),
        condition: Condition::VersionIs(read_version),
    }
}

/// A leg is written once: its id never repeats.
pub(crate) fn leg_put(leg: &StoredLeg) -> Result<WriteOp> {
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::leg(&leg.leg.beneficiary, leg.period, &leg.leg.id()),
            1,
            encode(leg)?,
        ),
        condition: Condition::NotExists,
    })
}

/// `beneficiary`'s entry in `period`'s list, written with each batch of its legs (the same
/// item every time).
pub(crate) fn period_beneficiary_put(period: Period, beneficiary: &Beneficiary) -> Result<WriteOp> {
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::period_beneficiary(period, beneficiary),
            1,
            encode(beneficiary)?,
        ),
        condition: Condition::Always,
    })
}

/// Fails the batch if `period` closed after it was read open.
pub(crate) fn period_open_check(period: Period) -> WriteOp {
    WriteOp::Check {
        table: Table::Main,
        key: keys::period_closed(period),
        condition: Condition::NotExists,
    }
}

/// Which of `periods` are closed: their markers, read by key.
pub(crate) async fn closed_periods(core: &Core, periods: &[Period]) -> Result<BTreeSet<Period>> {
    let mut closed = BTreeSet::new();
    for chunk in periods.chunks(MAX_GET_MANY_KEYS) {
        let keys: Vec<_> = chunk.iter().map(|p| keys::period_closed(*p)).collect();
        let items = core
            .store
            .get_many(Table::Main, &keys)
            .await
            .map_err(store_error)?;
        for (period, item) in chunk.iter().zip(items) {
            if item.is_some() {
                closed.insert(*period);
            }
        }
    }
    Ok(closed)
}

/// A page of `beneficiary`'s legs counted in `period`, in id order (keyed, consistent).
pub(crate) async fn legs_page(
    core: &Core,
    beneficiary: &Beneficiary,
    period: Period,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<StoredLeg>, Option<String>)> {
    let pk = keys::legs_partition(beneficiary, period);
    keyed_page(core, pk, "leg", cursor, limit).await
}

/// A page of the beneficiaries with legs in `period` (keyed, consistent).
pub(crate) async fn period_beneficiaries_page(
    core: &Core,
    period: Period,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<Beneficiary>, Option<String>)> {
    let pk = keys::period_beneficiaries(period);
    keyed_page(core, pk, "period beneficiary", cursor, limit).await
}

/// A page (up to `limit`, 1 to 1000) of partition `pk`'s items, each decoded as a `what`.
async fn keyed_page<T: DeserializeOwned>(
    core: &Core,
    pk: String,
    what: &str,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<T>, Option<String>)> {
    let query = Query::new(Table::Main, None, pk)
        .limit(limit.clamp(1, 1000))
        .after(cursor);
    let page = core.store.query(query).await.map_err(store_error)?;
    let found = page
        .items
        .iter()
        .map(|item| decode(item, what))
        .collect::<Result<_>>()?;
    Ok((found, page.next))
}

/// Writes legs as the live path does (each into its period's partition, the beneficiary into
/// the period's list, refused when a period is closed), for tests that arrange accruals
/// without trading.
#[cfg(any(test, feature = "testing"))]
pub async fn store_legs(core: &Core, legs: &[StoredLeg]) -> Result<()> {
    for chunk in legs.chunks(30) {
        let mut ops = Vec::new();
        let mut periods = BTreeSet::new();
        let mut listed = BTreeSet::new();
        for stored in chunk {
            ops.push(leg_put(stored)?);
            if listed.insert((stored.period, stored.leg.beneficiary.clone())) {
                ops.push(period_beneficiary_put(
                    stored.period,
                    &stored.leg.beneficiary,
                )?);
            }
            periods.insert(stored.period);
        }
        ops.extend(periods.into_iter().map(period_open_check));
        core.store.transact(ops).await.map_err(store_error)?;
    }
    Ok(())
}
