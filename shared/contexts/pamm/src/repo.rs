//! The PAMM repository: the only code of the context that builds its store items, keys,
//! indexes and queries. Offers, funds, requests and rollovers are audited entities; holdings
//! and a rollover's lines are bookkeeping written in the changeset of the step they follow
//! (a holding is the fund's record of one holder, as the last rollover left it; a line is one
//! holder's statement of one rollover).

use std::collections::BTreeMap;

use brokeros_kernel::changeset::{Audited, Entity, decode, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Key, Query, SortKeyRange, Table, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys;
use crate::model::cycle::{FundState, RolloverLine, RolloverRecord};
use crate::model::fund::Holding;
use crate::model::request::{InvestorRequest, RequestStatus};
use crate::model::{Offer, OfferStatus};

impl Entity for Offer {
    const TYPE: &'static str = "pamm_offer";
    const NOUN: &'static str = "PAMM offer";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::offer(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let created = keys::by_time(self.created_at, &self.id);
        vec![
            (
                Index::Gsi1,
                keys::offers_in_status(self.status.as_str()),
                created.clone(),
            ),
            (
                Index::Gsi2,
                keys::offers_of_manager(&self.manager_client_id),
                created,
            ),
        ]
    }
}

impl Entity for FundState {
    const TYPE: &'static str = "pamm_fund";
    const NOUN: &'static str = "PAMM fund";

    fn id(&self) -> &str {
        &self.offer_id
    }

    fn key_for(id: &str) -> Key {
        keys::fund(id)
    }
}

impl Entity for InvestorRequest {
    const TYPE: &'static str = "pamm_request";
    const NOUN: &'static str = "PAMM request";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::request(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![
            (
                Index::Gsi1,
                keys::requests_in_status(&self.offer_id, self.status.as_str()),
                keys::request_due(self.due_at, self.created_at, &self.id),
            ),
            (
                Index::Gsi2,
                keys::requests_of_client(&self.offer_id, &self.client_id),
                keys::by_time(self.created_at, &self.id),
            ),
        ]
    }
}

impl Entity for RolloverRecord {
    const TYPE: &'static str = "pamm_rollover";
    const NOUN: &'static str = "PAMM rollover";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::rollover(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::rollovers_of(&self.offer_id),
            keys::by_time(self.at, &self.id),
        )]
    }
}

/// A holder's holding as stored: the rollover that left it so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHolding {
    pub offer_id: String,
    pub client_id: String,
    pub holding: Holding,
    pub rollover_id: String,
}

fn decoded<T: serde::de::DeserializeOwned>(item: &Item, what: &str) -> Result<T> {
    serde_json::from_str(&item.data).map_err(|e| {
        Error::Internal(format!(
            "a PAMM {what} is unreadable ({}): {e}",
            item.key.sk
        ))
    })
}

/// One page of `query`'s bookkeeping items of one kind (`what`, for the error), decoded.
async fn page_of<T: serde::de::DeserializeOwned>(
    core: &Core,
    query: Query,
    what: &str,
) -> Result<(Vec<T>, Option<String>)> {
    let page = core.store.query(query).await.map_err(store_error)?;
    let items = page
        .items
        .iter()
        .map(|item| decoded(item, what))
        .collect::<Result<Vec<_>>>()?;
    Ok((items, page.next))
}

fn encoded(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// Every holding of an offer's fund, by holder (a keyed query: consistent).
pub(crate) async fn holdings(core: &Core, offer_id: &str) -> Result<BTreeMap<String, Holding>> {
    let query = Query::new(Table::Main, None, keys::offer_partition(offer_id))
        .sk(SortKeyRange::Prefix(keys::HOLDING_PREFIX.into()));
    brokeros_kernel::paging::every_item(core.store.as_ref(), query)
        .await?
        .iter()
        .map(|item| decoded::<StoredHolding>(item, "holding").map(|h| (h.client_id, h.holding)))
        .collect()
}

/// A holder's holding, if they hold units.
pub(crate) async fn holding(
    core: &Core,
    offer_id: &str,
    client_id: &str,
) -> Result<Option<StoredHolding>> {
    let item = core
        .store
        .get(Table::Main, &keys::holding(offer_id, client_id))
        .await
        .map_err(store_error)?;
    item.map(|item| decoded(&item, "holding")).transpose()
}

/// A page of an offer's holdings, by holder id.
pub(crate) async fn holdings_page(
    core: &Core,
    offer_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<StoredHolding>, Option<String>)> {
    let query = Query::new(Table::Main, None, keys::offer_partition(offer_id))
        .sk(SortKeyRange::Prefix(keys::HOLDING_PREFIX.into()))
        .limit(limit)
        .after(cursor);
    page_of(core, query, "holding").await
}

/// Whether anyone but the manager holds units in the offer or has asked to (a pending
/// request): the offer's terms then change only after their notice.
pub(crate) async fn has_investors(core: &Core, offer_id: &str, manager: &str) -> Result<bool> {
    let (holdings, _) = holdings_page(core, offer_id, 2, None).await?;
    if holdings.iter().any(|h| h.client_id != manager) {
        return Ok(true);
    }
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::requests_in_status(offer_id, RequestStatus::Pending.as_str()),
    );
    let pending = brokeros_kernel::paging::every_item(core.store.as_ref(), query).await?;
    for item in &pending {
        if decode::<InvestorRequest>(item)?.entity.client_id != manager {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A page of a client's holdings across offers.
pub(crate) async fn holdings_of_client(
    core: &Core,
    client_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<StoredHolding>, Option<String>)> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::holdings_of_client(client_id),
    )
    .limit(limit)
    .after(cursor);
    page_of(core, query, "holding").await
}

/// The write that stores (or, with no holding left, removes) a holder's holding as
/// rollover `rollover_id` left it.
pub(crate) fn holding_write(
    offer_id: &str,
    client_id: &str,
    holding: Option<&Holding>,
    rollover_id: &str,
) -> Result<WriteOp> {
    let key = keys::holding(offer_id, client_id);
    Ok(match holding {
        Some(holding) => {
            let stored = StoredHolding {
                offer_id: offer_id.to_string(),
                client_id: client_id.to_string(),
                holding: holding.clone(),
                rollover_id: rollover_id.to_string(),
            };
            WriteOp::Put {
                table: Table::Main,
                item: Item::new(key, 1, encoded(&stored)?).with_index(
                    Index::Gsi1,
                    keys::holdings_of_client(client_id),
                    offer_id,
                ),
                condition: Condition::Always,
            }
        }
        None => WriteOp::Delete {
            table: Table::Main,
            key,
            condition: Condition::Always,
        },
    })
}

/// The pending requests of an offer due at or before `at`, in the order received for each
/// rollover.
pub(crate) async fn requests_due(
    core: &Core,
    offer_id: &str,
    at: time::OffsetDateTime,
) -> Result<Vec<Audited<InvestorRequest>>> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::requests_in_status(offer_id, RequestStatus::Pending.as_str()),
    )
    .sk(SortKeyRange::Between(
        String::new(),
        keys::requests_due_by(at),
    ));
    brokeros_kernel::paging::every_item(core.store.as_ref(), query)
        .await?
        .iter()
        .map(decode::<InvestorRequest>)
        .collect()
}

/// Every request of a client to an offer (a client has few: their own list).
pub(crate) async fn requests_of_client(
    core: &Core,
    offer_id: &str,
    client_id: &str,
) -> Result<Vec<InvestorRequest>> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi2),
        keys::requests_of_client(offer_id, client_id),
    );
    brokeros_kernel::paging::every_item(core.store.as_ref(), query)
        .await?
        .iter()
        .map(|item| decode::<InvestorRequest>(item).map(|stored| stored.entity))
        .collect()
}

/// A page of a client's requests to an offer, newest first, each as `view` shows it.
pub(crate) async fn requests_of_client_page(
    core: &Core,
    offer_id: &str,
    client_id: &str,
    limit: u32,
    cursor: Option<String>,
    view: impl Fn(&InvestorRequest) -> Value,
) -> Result<Value> {
    brokeros_kernel::paging::newest_first(
        core.store.as_ref(),
        Index::Gsi2,
        keys::requests_of_client(offer_id, client_id),
        limit,
        cursor,
        view,
    )
    .await
}

/// A page of an offer's requests in `status`, by due rollover.
pub(crate) async fn requests_in_status_page(
    core: &Core,
    offer_id: &str,
    status: RequestStatus,
    limit: u32,
    cursor: Option<String>,
) -> Result<Value> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::requests_in_status(offer_id, status.as_str()),
    )
    .limit(limit)
    .after(cursor);
    let page = core.store.query(query).await.map_err(store_error)?;
    let items = page
        .items
        .iter()
        .map(|item| decode::<InvestorRequest>(item).map(|r| serde_json::json!(r.entity)))
        .collect::<Result<Vec<_>>>()?;
    Ok(serde_json::json!({ "items": items, "next": page.next }))
}

/// The offers in `status` (the scheduler's work list; a moment behind on DynamoDB, so each
/// rollover reads its offer again by key).
pub(crate) async fn offers_in_status(core: &Core, status: OfferStatus) -> Result<Vec<Offer>> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::offers_in_status(status.as_str()),
    );
    brokeros_kernel::paging::every_item(core.store.as_ref(), query)
        .await?
        .iter()
        .map(|item| decode::<Offer>(item).map(|stored| stored.entity))
        .collect()
}

/// A page of the offers in `status`, or of a manager's offers, newest first.
pub(crate) async fn offers_page(
    core: &Core,
    partition: OfferListing<'_>,
    limit: u32,
    cursor: Option<String>,
    view: impl Fn(&Offer) -> Value,
) -> Result<Value> {
    let (index, partition) = match partition {
        OfferListing::InStatus(status) => (Index::Gsi1, keys::offers_in_status(status.as_str())),
        OfferListing::OfManager(client) => (Index::Gsi2, keys::offers_of_manager(client)),
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

pub(crate) enum OfferListing<'a> {
    InStatus(OfferStatus),
    OfManager(&'a str),
}

/// A page of an offer's rollovers, newest first: its NAV history.
pub(crate) async fn rollovers_page(
    core: &Core,
    offer_id: &str,
    limit: u32,
    cursor: Option<String>,
    view: impl Fn(&RolloverRecord) -> Value,
) -> Result<Value> {
    brokeros_kernel::paging::newest_first(
        core.store.as_ref(),
        Index::Gsi1,
        keys::rollovers_of(offer_id),
        limit,
        cursor,
        view,
    )
    .await
}

/// The write of a rollover's line (lines are computed once and written until all are stored:
/// a rerun writes the same content again).
pub(crate) fn line_put(line: &RolloverLine) -> Result<WriteOp> {
    let item = Item::new(
        keys::rollover_line(&line.rollover_id, &line.holder),
        1,
        encoded(line)?,
    )
    .with_index(
        Index::Gsi1,
        keys::lines_of_holder(&line.offer_id, &line.holder),
        keys::by_time(line.at, &line.rollover_id),
    );
    Ok(WriteOp::Put {
        table: Table::Main,
        item,
        condition: Condition::Always,
    })
}

/// A page of a rollover's lines, by holder.
pub(crate) async fn lines_page(
    core: &Core,
    rollover_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<RolloverLine>, Option<String>)> {
    let query = Query::new(Table::Main, None, keys::rollover_partition(rollover_id))
        .sk(SortKeyRange::Prefix(keys::LINE_PREFIX.into()))
        .limit(limit)
        .after(cursor);
    page_of(core, query, "rollover line").await
}

/// A page of a holder's lines in an offer, newest first: their statements.
pub(crate) async fn lines_of_holder_page(
    core: &Core,
    offer_id: &str,
    holder: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<RolloverLine>, Option<String>)> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::lines_of_holder(offer_id, holder),
    )
    .descending()
    .limit(limit)
    .after(cursor);
    page_of(core, query, "rollover line").await
}
