//! Where legs are read (and, for tests, written): one partition per beneficiary and period,
//! and the list of a period's beneficiaries.

use brokeros_kernel::changeset::store_error;
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Query, Table};

use super::StoredLeg;
use crate::keys;
use crate::model::{Beneficiary, Period};

/// A page of `beneficiary`'s legs counted in `period`, by leg id (a keyed, consistent read).
pub async fn legs_in_period(
    core: &Core,
    beneficiary: &Beneficiary,
    period: Period,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<StoredLeg>, Option<String>)> {
    let query = Query::new(Table::Main, None, keys::legs_partition(beneficiary, period))
        .limit(limit)
        .after(cursor);
    let page = core.store.query(query).await.map_err(store_error)?;
    let legs = page
        .items
        .iter()
        .map(|item| {
            serde_json::from_str(&item.data)
                .map_err(|e| Error::Internal(format!("leg {}: {e}", item.key.sk)))
        })
        .collect::<Result<Vec<StoredLeg>>>()?;
    Ok((legs, page.next))
}

/// A page of the beneficiaries with legs in `period`.
pub async fn period_beneficiaries(
    core: &Core,
    period: Period,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<Beneficiary>, Option<String>)> {
    let query = Query::new(Table::Main, None, keys::period_beneficiaries(period))
        .limit(limit)
        .after(cursor);
    let page = core.store.query(query).await.map_err(store_error)?;
    let beneficiaries = page
        .items
        .iter()
        .map(|item| Beneficiary::try_from(item.key.sk.clone()).map_err(Error::Internal))
        .collect::<Result<Vec<_>>>()?;
    Ok((beneficiaries, page.next))
}

/// Writes legs as the live path does (each into its period's partition, the beneficiary into
/// the period's list), refused when a period is closed; for tests that arrange accruals.
#[cfg(any(test, feature = "testing"))]
pub async fn store_legs(core: &Core, legs: &[StoredLeg]) -> Result<()> {
    use brokeros_store::{Condition, Item, WriteOp};
    for chunk in legs.chunks(30) {
        let mut ops = Vec::new();
        let mut periods = std::collections::BTreeSet::new();
        let mut listed = std::collections::BTreeSet::new();
        for stored in chunk {
            let data = serde_json::to_string(stored).map_err(|e| Error::Internal(e.to_string()))?;
            ops.push(WriteOp::Put {
                table: Table::Main,
                item: Item::new(
                    keys::leg(&stored.leg.beneficiary, stored.period, &stored.leg.id()),
                    1,
                    data,
                ),
                condition: Condition::Always,
            });
            if listed.insert((stored.period, stored.leg.beneficiary.clone())) {
                ops.push(WriteOp::Put {
                    table: Table::Main,
                    item: Item::new(
                        keys::period_beneficiary(stored.period, &stored.leg.beneficiary),
                        1,
                        String::new(),
                    ),
                    condition: Condition::Always,
                });
            }
            periods.insert(stored.period);
        }
        for period in periods {
            ops.push(WriteOp::Check {
                table: Table::Main,
                key: keys::period_closed(period),
                condition: Condition::NotExists,
            });
        }
        core.store.transact(ops).await.map_err(store_error)?;
    }
    Ok(())
}
