//! Payout runs, statements and carried balances as stored (audited entities), the period's
//! closed marker, and the statements of a run or an IB.

use brokeros_kernel::changeset::Entity;
use brokeros_kernel::{Core, QueueFilter, Result};
use brokeros_store::{Condition, Index, Item, Query, Table, WriteOp};
use serde_json::Value;

use crate::keys;
use crate::model::Period;
use crate::model::payout::{CarriedBalance, IbStatement, PayoutRun, PayoutSequence};

impl Entity for PayoutRun {
    const TYPE: &'static str = "ib_payout_run";
    const NOUN: &'static str = "payout run";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> brokeros_store::Key {
        keys::payout_run(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::PAYOUT_RUNS.to_string(),
            keys::by_time(self.started_at, &self.id),
        )]
    }
}

impl Entity for IbStatement {
    const TYPE: &'static str = "ib_statement";
    const NOUN: &'static str = "statement";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> brokeros_store::Key {
        keys::statement(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let mut indexes = vec![(
            Index::Gsi1,
            keys::statements_of_run(&self.run_id),
            self.id.clone(),
        )];
        if let Some(ib) = &self.ib_id {
            indexes.push((
                Index::Gsi2,
                keys::statements_of_ib(ib),
                keys::by_time(self.created_at, &self.id),
            ));
        }
        indexes
    }
}

impl Entity for PayoutSequence {
    const TYPE: &'static str = "ib_payout_sequence";
    const NOUN: &'static str = "payout sequence";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> brokeros_store::Key {
        keys::payout_sequence(id)
    }
}

impl Entity for CarriedBalance {
    const TYPE: &'static str = "ib_carried_balance";
    const NOUN: &'static str = "carried balance";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> brokeros_store::Key {
        keys::carried_balance(id)
    }
}

/// Closes `period`: from its commit on, no leg lands in it (every accrual batch checks this).
pub(crate) fn period_closed_marker(period: Period, run_id: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::period_closed(period), 1, run_id.to_string()),
        condition: Condition::NotExists,
    }
}

/// A page of the ids of run `run_id`'s statements (an index read: each is read again by key
/// before anything is decided on it).
pub(crate) async fn statement_ids_of_run(
    core: &Core,
    run_id: &str,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<String>, Option<String>)> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::statements_of_run(run_id),
    )
    .limit(limit)
    .after(cursor);
    let page = core
        .store
        .query(query)
        .await
        .map_err(brokeros_kernel::changeset::store_error)?;
    let ids = page
        .items
        .iter()
        .map(|item| brokeros_kernel::changeset::decode::<IbStatement>(item).map(|s| s.entity.id))
        .collect::<Result<Vec<_>>>()?;
    Ok((ids, page.next))
}

/// Which statements a page lists.
pub(crate) enum StatementList<'a> {
    /// An IB's, oldest first.
    OfIb(&'a str),
    /// A run's, by id.
    OfRun(&'a str),
}

/// A page of the statements `list` names.
pub(crate) async fn statements_page(
    core: &Core,
    list: StatementList<'_>,
    filter: QueueFilter,
    view: impl Fn(&IbStatement) -> Value,
) -> Result<Value> {
    let (index, partition) = match list {
        StatementList::OfIb(ib_id) => (Index::Gsi2, keys::statements_of_ib(ib_id)),
        StatementList::OfRun(run_id) => (Index::Gsi1, keys::statements_of_run(run_id)),
    };
    filter
        .page(core.store.as_ref(), index, partition, view)
        .await
}
