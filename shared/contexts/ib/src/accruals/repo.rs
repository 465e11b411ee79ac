//! The accrual repository: the only code of the module that builds store items, keys and
//! queries. Legs, period beneficiaries and each client's book (its head and its deals) are
//! unaudited bookkeeping items that commit in the changeset of the ingestion batch whose deals
//! caused them (its feed's audit event covers the batch); a quarantined deal change is an
//! audited entity of its own.

use std::collections::BTreeSet;

use brokeros_kernel::QueueFilter;
use brokeros_kernel::changeset::{Entity, store_error};
use brokeros_kernel::money::Currency;
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{
    Condition, Index, Item, Key, MAX_GET_MANY_KEYS, Query, SortKeyRange, Table, WriteOp,
};
use brokeros_trading::{Decimal, PlatformDeal};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BookHead, ClientDeal, QuarantinedDeal, StoredLeg};
use crate::keys;
use crate::model::engine::{Basis, Note};
use crate::model::{
    Accrual, Beneficiary, ClientState, FxRate, LegKind, Millis, PassedDeal, Period,
};

fn decode<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T> {
    serde_json::from_str(&item.data)
        .map_err(|e| Error::Internal(format!("{what} {} is unreadable: {e}", item.key.pk)))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

impl Entity for QuarantinedDeal {
    const TYPE: &'static str = "ib_quarantined_deal";
    const NOUN: &'static str = "quarantined deal";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        // The id is `<server>:<deal>:<revision>` (server names have no ':').
        let mut parts = id.rsplitn(3, ':');
        let revision = parts
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or(u32::MAX);
        let deal = parts
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(u64::MAX);
        keys::quarantined_deal(parts.next().unwrap_or_default(), deal, revision)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::quarantined_deals(&self.server),
            keys::by_time(self.quarantined_at, &self.id),
        )]
    }
}

/// A page of `server`'s quarantined deal changes, oldest first: a listing (from an index, so
/// a moment behind on DynamoDB), never what a decision rests on.
pub(crate) async fn quarantined_page(
    core: &Core,
    server: &str,
    filter: QueueFilter,
    view: impl Fn(&QuarantinedDeal) -> Value,
) -> Result<Value> {
    filter
        .page(
            core.store.as_ref(),
            Index::Gsi1,
            keys::quarantined_deals(server),
            view,
        )
        .await
}

/// The heads of `clients`' books on `server`, each with the version read (`None`: no book
/// yet), read by key in the order asked.
pub(crate) async fn book_heads(
    core: &Core,
    clients: &[&str],
    server: &str,
) -> Result<Vec<Option<(u64, BookHead)>>> {
    let mut heads = Vec::with_capacity(clients.len());
    for chunk in clients.chunks(MAX_GET_MANY_KEYS) {
        let keys: Vec<Key> = chunk.iter().map(|c| keys::client_book(c, server)).collect();
        let items = core
            .store
            .get_many(Table::Main, &keys)
            .await
            .map_err(store_error)?;
        for item in items {
            heads.push(match item {
                Some(item) => Some((item.version, decode(&item, "client book")?)),
                None => None,
            });
        }
    }
    Ok(heads)
}

/// Writes `head` over the version read (`None`: the book's first), so two runs cannot both
/// move a client's book.
pub(crate) fn book_head_put(
    client: &str,
    server: &str,
    head: &BookHead,
    read_version: Option<u64>,
) -> Result<WriteOp> {
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::client_book(client, server),
            read_version.map_or(1, |v| v + 1),
            encode(head)?,
        ),
        condition: read_version.map_or(Condition::NotExists, Condition::VersionIs),
    })
}

/// `client`'s book on `server` as the accrual last computed it, read from the checkpoint after
/// the deal at `after` (its state: `None` when `after` is, the book then read from its first
/// deal) by a keyed (consistent) query: the deals before `kept_from` passed (only what moving
/// past them takes is decoded: the deal and the CPA its legs paid), the others whole, each with
/// the version it was read at, in time order. Other checkpoints in the range are skipped.
pub(crate) async fn client_book(
    core: &Core,
    client: &str,
    server: &str,
    after: Option<(Millis, u64)>,
    kept_from: (Millis, u64),
) -> Result<BookFrom> {
    let from = after.map(|(time, deal)| keys::client_checkpoint_sk(time, deal));
    let kept_sk = keys::client_deal(client, server, kept_from.0, kept_from.1).sk;
    let mut book = BookFrom::default();
    let mut cursor = None;
    loop {
        let mut query = Query::new(Table::Main, None, keys::client_deals(client, server))
            .limit(1000)
            .after(cursor);
        if let Some(from) = &from {
            // Sort keys are digits and '#': '~' sorts after every one of them.
            query = query.sk(SortKeyRange::Between(from.clone(), "~".to_string()));
        }
        let page = core.store.query(query).await.map_err(store_error)?;
        for item in &page.items {
            if item.key.sk.ends_with(keys::CHECKPOINT_SUFFIX) {
                if Some(&item.key.sk) == from.as_ref() {
                    book.state = Some(decode(item, "client checkpoint")?);
                }
            } else if item.key.sk < kept_sk {
                let passed: PassedEntry = decode(item, "client deal")?;
                book.passed.push(passed.into());
            } else {
                book.deals
                    .push((item.version, decode(item, "client deal")?));
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if after.is_some() && book.state.is_none() {
        return Err(Error::Internal(format!(
            "the book of client {client} on {server} names a checkpoint at {after:?} that is not stored"
        )));
    }
    Ok(book)
}

/// A client's book as [`client_book`] read it.
#[derive(Default)]
pub(crate) struct BookFrom {
    /// The checkpoint's state.
    pub state: Option<ClientState>,
    /// The deals before the first kept, in time order.
    pub passed: Vec<PassedDeal>,
    /// The deals kept, with the versions read, in time order.
    pub deals: Vec<(u64, ClientDeal)>,
}

/// What moving past a stored [`ClientDeal`] takes of it: the deal, and of its legs which paid a
/// CPA under which plan (the rest of the entry is skipped, not decoded).
#[derive(Deserialize)]
struct PassedEntry {
    booked: PassedBooked,
}

#[derive(Deserialize)]
struct PassedBooked {
    deal: PlatformDeal,
    legs: Vec<PassedLeg>,
}

#[derive(Deserialize)]
struct PassedLeg {
    kind: LegKind,
    reversal: bool,
    explanation: PassedExplanation,
}

#[derive(Deserialize)]
struct PassedExplanation {
    basis: PassedBasis,
}

#[derive(Deserialize)]
struct PassedBasis {
    plan_id: String,
}

impl From<PassedEntry> for PassedDeal {
    fn from(entry: PassedEntry) -> PassedDeal {
        let cpa_paid = (entry.booked.legs.into_iter())
            .filter(|l| l.kind == LegKind::Cpa && !l.reversal)
            .map(|l| l.explanation.basis.plan_id)
            .collect();
        PassedDeal {
            deal: entry.booked.deal,
            cpa_paid,
        }
    }
}

/// The engine's state after the deal at `at` of `client`'s book on `server` (a checkpoint is
/// rewritten whole when it is taken again at the same deal).
pub(crate) fn checkpoint_put(
    client: &str,
    server: &str,
    at: (Millis, u64),
    state: &ClientState,
) -> Result<WriteOp> {
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::client_checkpoint(client, server, at.0, at.1),
            1,
            encode(state)?,
        ),
        condition: Condition::Always,
    })
}

/// Stores `deal` over the version read (`None`: new), so two runs cannot both rewrite a
/// client's book. `legs` are the JSON of `deal`'s legs, in order, as its leg items hold them
/// (encoded once for both).
pub(crate) fn client_deal_put_with(
    client: &str,
    deal: &ClientDeal,
    read_version: Option<u64>,
    legs: &[&str],
) -> Result<WriteOp> {
    let d = &deal.booked.deal;
    let booked = &deal.booked;
    // As serde writes a `ClientDeal`, with the legs' JSON spliced in.
    let (server, platform_deal) = (encode(&deal.server)?, encode(&booked.deal)?);
    let size =
        100 + server.len() + platform_deal.len() + legs.iter().map(|l| l.len() + 1).sum::<usize>();
    let mut data = String::with_capacity(size);
    data.push_str(r#"{"server":"#);
    data.push_str(&server);
    data.push_str(r#","booked":{"deal":"#);
    data.push_str(&platform_deal);
    data.push_str(&format!(
        r#","revision":{},"generation":{},"legs":["#,
        booked.revision, booked.generation
    ));
    for (n, leg) in legs.iter().enumerate() {
        if n > 0 {
            data.push(',');
        }
        data.push_str(leg);
    }
    data.push_str("]}}");
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::client_deal(client, &deal.server, d.time_msc, d.deal),
            read_version.map_or(1, |v| v + 1),
            data,
        ),
        condition: read_version.map_or(Condition::NotExists, Condition::VersionIs),
    })
}

/// Removes `deal` (cancelled, or moved to another time by a correction) as read.
pub(crate) fn client_deal_delete(client: &str, deal: &ClientDeal, read_version: u64) -> WriteOp {
    let d = &deal.booked.deal;
    WriteOp::Delete {
        table: Table::Main,
        key: keys::client_deal(client, &deal.server, d.time_msc, d.deal),
        condition: Condition::VersionIs(read_version),
    }
}

/// A leg is written once: its id never repeats.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn leg_put(leg: &StoredLeg) -> Result<WriteOp> {
    let accrual = encode(&leg.leg)?;
    encoded_leg_put(leg, &leg.leg.id(), &accrual)
}

/// [`leg_put`] with the leg's id and its accrual already encoded (`accrual`, the JSON of
/// `leg.leg`), which the deal's book entry shares ([`client_deal_put_with`]).
pub(crate) fn encoded_leg_put(leg: &StoredLeg, id: &str, accrual: &str) -> Result<WriteOp> {
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::leg(&leg.leg.beneficiary, leg.period, id),
            1,
            stored_leg_json(leg, accrual)?,
        ),
        condition: Condition::NotExists,
    })
}

/// The JSON of `leg` as serde writes an [`Accrual`], with its basis's JSON (which the legs of
/// one deal and kind share) given.
pub(crate) fn accrual_json(leg: &Accrual, basis: &str) -> Result<String> {
    /// The accrual's fields before its explanation, in order.
    #[derive(Serialize)]
    struct Head<'a> {
        server: &'a str,
        deal: u64,
        revision: u32,
        generation: u32,
        reversal: bool,
        beneficiary: &'a Beneficiary,
        level: u32,
        kind: LegKind,
        login: u64,
        client: &'a str,
        time_msc: Millis,
        currency: Currency,
        amount: Decimal,
    }
    /// The explanation's fields after its basis, in order.
    #[derive(Serialize)]
    struct Rest<'a> {
        level_fraction: Decimal,
        amount_in_basis_currency: Decimal,
        capped: bool,
        fx: &'a Option<FxRate>,
        note: Option<Note>,
    }
    let why = &leg.explanation;
    let head = encode(&Head {
        server: &leg.server,
        deal: leg.deal,
        revision: leg.revision,
        generation: leg.generation,
        reversal: leg.reversal,
        beneficiary: &leg.beneficiary,
        level: leg.level,
        kind: leg.kind,
        login: leg.login,
        client: &leg.client,
        time_msc: leg.time_msc,
        currency: leg.currency,
        amount: leg.amount,
    })?;
    let rest = encode(&Rest {
        level_fraction: why.level_fraction,
        amount_in_basis_currency: why.amount_in_basis_currency,
        capped: why.capped,
        fx: &why.fx,
        note: why.note,
    })?;
    // `{head…,"explanation":{"basis":…,rest…}}`: both parts are objects with fields.
    let mut data = String::with_capacity(head.len() + basis.len() + rest.len() + 32);
    data.push_str(&head[..head.len() - 1]);
    data.push_str(r#","explanation":{"basis":"#);
    data.push_str(basis);
    data.push(',');
    data.push_str(&rest[1..]);
    data.push('}');
    Ok(data)
}

/// The JSON of a basis, for [`accrual_json`].
pub(crate) fn basis_json(basis: &Basis) -> Result<String> {
    encode(basis)
}

/// The JSON of `leg` (as serde writes a [`StoredLeg`]) around its accrual's JSON.
fn stored_leg_json(leg: &StoredLeg, accrual: &str) -> Result<String> {
    let (period, late_from) = (encode(&leg.period)?, encode(&leg.late_from)?);
    let mut data = String::with_capacity(40 + accrual.len() + period.len() + late_from.len());
    data.push_str(r#"{"leg":"#);
    data.push_str(accrual);
    data.push_str(r#","period":"#);
    data.push_str(&period);
    data.push_str(r#","late_from":"#);
    data.push_str(&late_from);
    data.push('}');
    Ok(data)
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::sync::Arc;

    use brokeros_trading::{DealAction, DealEntry, Decimal, PlatformDeal};

    use super::*;
    use crate::model::{BookedDeal, Engine, EngineState, FixedRates, Hierarchy, PlanBook};

    /// A client's closing deal and its legs, computed by the engine under a two-level plan.
    fn booked() -> (BookedDeal, Vec<StoredLeg>) {
        let tree = Hierarchy::from_json(
            r#"{"ibs":[
                {"id":"m","currency":"USD","parent":[{"from_msc":0,"value":null}],
                 "standing":[{"from_msc":0,"value":"active"}],"plans":[{"from_msc":0,"value":["p"]}]},
                {"id":"s","currency":"USD","parent":[{"from_msc":0,"value":"m"}],
                 "standing":[{"from_msc":0,"value":"active"}],"plans":[{"from_msc":0,"value":["p"]}]}],
              "clients":[{"id":"c","ib":[{"from_msc":0,"value":"s"}],"logins":[7]}]}"#,
        )
        .unwrap();
        let plan = crate::model::CommissionPlan::from_json(
            r#"{"id":"p","version":1,"effective_from":0,"currency":"USD","period":"daily",
                "rules":[{"id":"all","match":{},"earns":{"per_lot":"10"}}],
                "levels":{"mode":"fixed","percents":["70","30"]}}"#,
            &Default::default(),
        )
        .unwrap();
        let book = PlanBook::new([plan]).unwrap();
        let engine = Engine {
            plans: &book,
            tree: &tree,
            rates: &FixedRates::default(),
            server: Arc::from("mt5-1"),
        };
        let deal = |ticket: u64, action, entry, at| PlatformDeal {
            deal: ticket,
            login: 7,
            order: ticket,
            position_id: 1,
            symbol: "EURUSD \"quoted\"".into(),
            action,
            entry,
            volume: Decimal::from_str("1.5").unwrap(),
            price: Decimal::from_str("1.1").unwrap(),
            profit: Decimal::ZERO,
            commission: Decimal::ZERO,
            swap: Decimal::ZERO,
            currency: "USD".into(),
            group: "real\\std".into(),
            contract_size: Decimal::from(100_000),
            digits: 5,
            market_bid: Decimal::ONE,
            market_ask: Decimal::ONE,
            rate_profit: Decimal::ONE,
            time_msc: at,
        };
        let mut state = EngineState::live();
        let mut legs = Vec::new();
        state
            .apply_deal(
                &engine,
                &deal(1, DealAction::Buy, DealEntry::In, 0),
                &mut legs,
            )
            .unwrap();
        let close = deal(2, DealAction::Sell, DealEntry::Out, 600_000);
        state.apply_deal(&engine, &close, &mut legs).unwrap();
        let booked = state.booked_deals("c").pop().unwrap();
        let stored = legs
            .into_iter()
            .map(|leg| StoredLeg {
                period: leg.period(),
                late_from: Some(leg.period()),
                leg,
            })
            .collect();
        (booked, stored)
    }

    #[test]
    fn spliced_legs_read_back_as_serde_writes_them() {
        let (booked, legs) = booked();
        assert_eq!(legs.len(), 2, "both levels earn");
        let mut accruals = Vec::new();
        for leg in &legs {
            let basis = basis_json(&leg.leg.explanation.basis).unwrap();
            let accrual = accrual_json(&leg.leg, &basis).unwrap();
            let as_serde: serde_json::Value =
                serde_json::from_str(&encode(&leg.leg).unwrap()).unwrap();
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&accrual).unwrap(),
                as_serde
            );
            let put = encoded_leg_put(leg, &leg.leg.id(), &accrual).unwrap();
            let WriteOp::Put { item, .. } = put else {
                panic!("a put")
            };
            let read: StoredLeg = serde_json::from_str(&item.data).unwrap();
            assert_eq!(&read, leg);
            let as_serde: serde_json::Value = serde_json::from_str(&encode(leg).unwrap()).unwrap();
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&item.data).unwrap(),
                as_serde
            );
            accruals.push(accrual);
        }
        let deal = ClientDeal {
            server: "mt5-\"1\"".into(),
            booked,
        };
        let spliced: Vec<&str> = accruals.iter().map(String::as_str).collect();
        let WriteOp::Put { item, .. } =
            client_deal_put_with("c", &deal, Some(3), &spliced).unwrap()
        else {
            panic!("a put")
        };
        assert_eq!(item.version, 4);
        let read: ClientDeal = serde_json::from_str(&item.data).unwrap();
        assert_eq!(read, deal);
        let as_serde: serde_json::Value = serde_json::from_str(&encode(&deal).unwrap()).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&item.data).unwrap(),
            as_serde
        );
    }
}
