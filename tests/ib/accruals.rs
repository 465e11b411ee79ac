//! The live accrual path (`brokeros_ib::accruals`) end to end: IBs and clients set up over
//! HTTP, a plan stored, trades booked on the simulated platform, then ingested and accrued;
//! the legs read back from the store by beneficiary and period.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::str::FromStr;

use brokeros_ib::accruals::{self, AccrualOutcome, StoredLeg};
use brokeros_ib::fx::FxRates;
use brokeros_ib::fx::PreloadedRates;
use brokeros_ib::model::{
    Accrual, Beneficiary, Engine, EngineState, LegKind, Millis, Period, PeriodKind,
};
use brokeros_ib::{deals, keys, plans};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_local::{DealCorrection, SIMULATED_SERVER, SimulatedFxRates};
use brokeros_store::{Item, Table, WriteOp};
use brokeros_trading::{
    AccountState, BalanceOperation, BalanceOperationKind, DealAction, DealChange, DealChangeKind,
    DealChangesPage, DealCursor, DealEntry, DealScope, DealSide, DealsPage, Decimal, Fill,
    MarketOrder, NewAccount, OperationReceipt, PlatformDeal, SymbolSpec, TradingAccount,
    TradingError, TradingPlatform,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{App, token};
use crate::partners::{get, msc, new_ib, onboarded_client, pm, post, text};

pub(crate) const MINUTE: Millis = 60_000;

/// The portal user the sub-IB signs in as.
const SUB_USER: &str = "sub-user";

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// Stores plan `standard` (which `new_ib` assigns): daily periods, earning $10 a lot on close,
/// 70 % to the client's IB and 30 % to the one above, nothing for a position held under a
/// minute or hedged. In force from a minute from now.
async fn store_plan(app: &App, now: OffsetDateTime) {
    store_plan_with(app, now, json!({})).await;
}

/// [`store_plan`] with `extra` fields over its document.
async fn store_plan_with(app: &App, now: OffsetDateTime, extra: Value) {
    let mut document = json!({
        "id": "standard", "version": 1,
        "effective_from": text(now + time::Duration::minutes(1)),
        "currency": "USD", "period": "daily", "earn_on": "close",
        "min_lots": "0.01", "min_hold_seconds": 60, "exclude_hedged": true,
        "rules": [ { "id": "all", "priority": 0, "match": {}, "earns": { "per_lot": "10.00" } } ],
        "levels": { "mode": "fixed", "percents": ["70", "30"] }
    });
    for (field, value) in extra.as_object().expect("fields").clone() {
        document[field] = value;
    }
    let principal = Principal {
        sub: "pm-1".into(),
        roles: [Role::Partners].into(),
    };
    plans::put_plan_version(&app.services.ib, &principal, document, None, "test")
        .await
        .unwrap();
}

/// A master IB, a sub-IB under it, and a funded client of the sub-IB: (master, sub, client,
/// login).
async fn chain_with_client(app: &App) -> (String, String, String, u64) {
    let master = new_ib(app, "Master", None, None, &[]).await;
    let sub = new_ib(app, "Sub", Some(&master), Some(SUB_USER), &[]).await;
    let (client, login) = funded_client_of(app, &sub, "Berg").await;
    (master, sub, client, login)
}

/// A client of IB `ib`: onboarded, assigned to it, its trading account funded: its id and
/// login.
pub(crate) async fn funded_client_of(app: &App, ib: &str, last_name: &str) -> (String, u64) {
    let (client, login) = onboarded_client(app, last_name).await;
    let (status, body) = post(
        app,
        &format!("/partners/clients/{client}/ib"),
        json!({ "ib_id": ib }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.platform
        .balance_operation(BalanceOperation {
            login,
            operation_id: format!("fund-{login}"),
            kind: BalanceOperationKind::Deposit,
            amount: dec("100000"),
            comment: String::new(),
        })
        .await
        .unwrap();
    (client, login)
}

/// Runs the accrual until the feed is caught up: the batches that wrote.
pub(crate) async fn accrue(app: &App) -> u32 {
    let mut batches = 0;
    loop {
        match accruals::accrue_next_batch(
            &app.services.ib,
            app.platform.as_ref(),
            &SimulatedFxRates::new(),
            SIMULATED_SERVER,
        )
        .await
        .unwrap()
        {
            AccrualOutcome::CaughtUp => return batches,
            AccrualOutcome::Accrued(_) => batches += 1,
            AccrualOutcome::Raced => panic!("no other run races this one"),
        }
    }
}

/// Every leg of `who` counted in `period`, read page by page.
pub(crate) async fn legs(app: &App, who: &Beneficiary, period: Period) -> Vec<StoredLeg> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = accruals::legs_in_period(&app.services.ib.core, who, period, cursor, 2)
            .await
            .unwrap();
        all.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

fn of_deal(legs: &[StoredLeg], deal: u64) -> Vec<&StoredLeg> {
    legs.iter().filter(|l| l.leg.deal == deal).collect()
}

pub(crate) fn day(at: Millis) -> Period {
    PeriodKind::Daily.period_of(at)
}

pub(crate) async fn round_trip(
    app: &App,
    login: u64,
    open_at: Millis,
    held: Millis,
) -> PlatformDeal {
    let open = app
        .platform
        .open_position(login, "EURUSD", DealSide::Buy, dec("1"), open_at)
        .await
        .unwrap();
    app.platform
        .close_position(login, open.position_id, dec("1"), open_at + held)
        .await
        .unwrap()
}

pub async fn deals_accrue_explained_legs_per_level_and_scalps_and_hedges_earn_nothing(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (master, sub, _, login) = chain_with_client(&app).await;
    let t0 = msc(now) + 60 * MINUTE;
    let earning = round_trip(&app, login, t0, 5 * MINUTE).await;
    let scalp = round_trip(&app, login, t0 + 10 * MINUTE, 30_000).await;
    let long = app
        .platform
        .open_position(login, "GBPUSD", DealSide::Buy, dec("1"), t0 + 20 * MINUTE)
        .await
        .unwrap();
    let short = app
        .platform
        .open_position(login, "GBPUSD", DealSide::Sell, dec("1"), t0 + 21 * MINUTE)
        .await
        .unwrap();
    let hedged = app
        .platform
        .close_position(login, short.position_id, dec("1"), t0 + 30 * MINUTE)
        .await
        .unwrap();
    assert!(long.position_id != short.position_id);

    assert!(accrue(&app).await >= 1);
    let period = day(t0);
    let sub_legs = legs(&app, &Beneficiary::Ib(sub.clone()), period).await;
    let master_legs = legs(&app, &Beneficiary::Ib(master.clone()), period).await;

    let paid = of_deal(&sub_legs, earning.deal);
    assert_eq!(paid.len(), 1, "{paid:?}");
    let leg = &paid[0].leg;
    assert_eq!(
        (leg.level, leg.kind, leg.amount),
        (0, LegKind::Commission, dec("7"))
    );
    let why = &leg.explanation;
    assert_eq!(why.basis.plan_id, "standard");
    assert_eq!(why.basis.plan_version, 1);
    assert_eq!(why.basis.rule_id.as_deref(), Some("all"));
    assert_eq!(why.basis.rate, dec("10"));
    assert_eq!(why.basis.volume.counted_lots, dec("1"));
    assert_eq!(why.basis.volume.held_ms, Some(5 * MINUTE));
    assert_eq!(why.level_fraction, dec("0.7"));
    assert_eq!(why.fx, None, "USD to USD");
    assert_eq!((paid[0].period, paid[0].late_from), (period, None));
    let above = of_deal(&master_legs, earning.deal);
    assert_eq!(
        above
            .iter()
            .map(|l| (l.leg.level, l.leg.amount))
            .collect::<Vec<_>>(),
        [(1, dec("3"))]
    );

    let scalped = of_deal(&sub_legs, scalp.deal);
    assert_eq!(scalped.len(), 1);
    assert_eq!(scalped[0].leg.amount, Decimal::ZERO);
    assert_eq!(
        scalped[0]
            .leg
            .explanation
            .basis
            .volume
            .excluded
            .map(|e| e.name()),
        Some("held_too_short")
    );
    let hedge = of_deal(&sub_legs, hedged.deal);
    assert_eq!(hedge.len(), 1);
    assert_eq!(hedge[0].leg.amount, Decimal::ZERO);
    assert_eq!(hedge[0].leg.explanation.basis.volume.hedged_lots, dec("1"));
    // Opening deals earn nothing under a plan that pays on close.
    assert!(sub_legs.iter().all(|l| l.leg.deal != long.deal));

    let (beneficiaries, _) =
        accruals::period_beneficiaries(&app.services.ib.core, period, None, 10)
            .await
            .unwrap();
    assert_eq!(
        beneficiaries,
        [
            Beneficiary::Ib(master.clone()),
            Beneficiary::Ib(sub.clone())
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );

    // The portal: the sub-IB reads its own legs; a partner manager reads any IB's.
    let query = format!("period=daily:{}", period.label());
    let ib_token = token(SUB_USER, Role::Ib);
    let (status, own) = get(&app, &format!("/ib/me/accruals?{query}"), &ib_token).await;
    assert_eq!(status, 200, "{own}");
    let items = own["items"].as_array().unwrap();
    assert_eq!(items.len(), sub_legs.len());
    assert!(
        items
            .iter()
            .all(|i| i["leg"]["beneficiary"] == format!("ib:{sub}"))
    );
    let (status, theirs) = get(
        &app,
        &format!("/partners/ibs/{master}/accruals?{query}&limit=1"),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    assert!(theirs["next_cursor"].is_string());
    let (status, _) = get(
        &app,
        &format!("/partners/ibs/{master}/accruals?{query}"),
        &ib_token,
    )
    .await;
    assert_eq!(status, 403, "an IB reads no other IB's legs");
    for bad in ["period=daily:2026-02-30", "period=yearly:2026", ""] {
        let before = app.counts().await;
        let (status, body) = get(&app, &format!("/ib/me/accruals?{bad}"), &ib_token).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(app.counts().await, before);
    }

    // A second run finds nothing new and writes nothing.
    let before = app.counts().await;
    assert_eq!(accrue(&app).await, 0);
    assert_eq!(app.counts().await, before);
}

pub async fn corrections_and_cancellations_reverse_and_late_deals_land_in_the_next_open_period(
    app: App,
) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (_, sub, _, login) = chain_with_client(&app).await;
    let sub = Beneficiary::Ib(sub);
    let t0 = msc(now) + 60 * MINUTE;
    let corrected = round_trip(&app, login, t0, 5 * MINUTE).await;
    let cancelled = round_trip(&app, login, t0 + 10 * MINUTE, 5 * MINUTE).await;
    accrue(&app).await;

    app.platform
        .correct_deal(
            corrected.deal,
            DealCorrection {
                volume: Some(dec("0.5")),
                price: None,
            },
            t0 + 60 * MINUTE,
        )
        .await
        .unwrap();
    app.platform
        .cancel_deal(cancelled.deal, t0 + 61 * MINUTE)
        .await
        .unwrap();
    accrue(&app).await;
    let period = day(t0);
    let all = legs(&app, &sub, period).await;
    let mut by_id: BTreeMap<String, Decimal> = BTreeMap::new();
    for l in of_deal(&all, corrected.deal) {
        by_id.insert(l.leg.id(), l.leg.amount);
    }
    let first = format!("{SIMULATED_SERVER}:{}:0:{sub}:0:commission", corrected.deal);
    assert_eq!(by_id.get(&first), Some(&dec("7")));
    assert_eq!(
        by_id.get(&format!("{first}:x")),
        Some(&dec("-7")),
        "{by_id:?}"
    );
    let net: Decimal = by_id.values().sum();
    // Half a lot: the position's close counts 0.5 lots at $10, 70 % of it.
    assert_eq!(net, dec("3.5"), "{by_id:?}");
    let cancelled_net: Decimal = of_deal(&all, cancelled.deal)
        .iter()
        .map(|l| l.leg.amount)
        .sum();
    assert_eq!(cancelled_net, Decimal::ZERO);
    assert!(of_deal(&all, cancelled.deal).iter().any(|l| l.leg.reversal));

    // The next day is closed before its deal arrives: its legs count in the day after, saying so.
    let next_day = day(period.end_msc());
    app.store
        .transact(vec![WriteOp::Put {
            table: Table::Main,
            item: Item::new(keys::period_closed(next_day), 1, "{}"),
            condition: brokeros_store::Condition::NotExists,
        }])
        .await
        .unwrap();
    let late = round_trip(&app, login, next_day.start_msc + 60 * MINUTE, 5 * MINUTE).await;
    accrue(&app).await;
    assert!(
        legs(&app, &sub, next_day).await.is_empty(),
        "a closed period takes no leg"
    );
    let landed = legs(&app, &sub, day(next_day.end_msc())).await;
    let landed = of_deal(&landed, late.deal);
    assert_eq!(landed.len(), 1);
    assert_eq!(landed[0].late_from, Some(next_day));
    assert_eq!(landed[0].leg.amount, dec("7"));
}

pub async fn a_suspended_ib_forfeits_and_a_moved_client_pays_its_new_chain(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (master, sub, client, login) = chain_with_client(&app).await;
    let other = new_ib(&app, "Other", None, None, &[]).await;
    let t0 = msc(now) + 60 * MINUTE;
    let suspend_at = now + time::Duration::hours(2);
    let (status, body) = post(
        &app,
        &format!("/partners/ibs/{master}/suspend"),
        json!({ "reason": "KYC refresh overdue", "effective_at": text(suspend_at) }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let move_at = now + time::Duration::hours(3);
    let (status, body) = post(
        &app,
        &format!("/partners/clients/{client}/ib"),
        json!({ "ib_id": other, "effective_at": text(move_at) }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let before_suspension = round_trip(&app, login, t0, 5 * MINUTE).await;
    let suspended = round_trip(&app, login, msc(suspend_at) + MINUTE, 5 * MINUTE).await;
    let moved = round_trip(&app, login, msc(move_at) + MINUTE, 5 * MINUTE).await;
    accrue(&app).await;

    let mut net: BTreeMap<(u64, String), Decimal> = BTreeMap::new();
    let mut forfeited = Vec::new();
    for who in [&master, &sub, &other] {
        let beneficiary = Beneficiary::Ib(who.clone());
        // The days the round trips closed on (a leg is the closing deal's day's: a trip begun
        // a few minutes before midnight UTC closes on the next day).
        for period in [&before_suspension, &suspended, &moved]
            .iter()
            .map(|deal| day(deal.time_msc))
            .collect::<std::collections::BTreeSet<_>>()
            .iter()
        {
            for l in legs(&app, &beneficiary, *period).await {
                *net.entry((l.leg.deal, who.clone())).or_default() += l.leg.amount;
                if l.leg.explanation.note.is_some() {
                    forfeited.push((l.leg.deal, who.clone()));
                }
            }
        }
    }
    assert_eq!(
        net.get(&(before_suspension.deal, master.clone())),
        Some(&dec("3"))
    );
    assert_eq!(
        net.get(&(suspended.deal, master.clone())),
        Some(&Decimal::ZERO)
    );
    assert_eq!(net.get(&(suspended.deal, sub.clone())), Some(&dec("7")));
    assert_eq!(forfeited, [(suspended.deal, master.clone())]);
    // After the move the deal pays the new chain only: the other IB at level 0, alone.
    assert_eq!(net.get(&(moved.deal, other.clone())), Some(&dec("7")));
    assert_eq!(net.get(&(moved.deal, sub.clone())), None);
    assert_eq!(net.get(&(moved.deal, master.clone())), None);
}

pub async fn a_bad_accrual_request_writes_nothing(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (_, _, _, login) = chain_with_client(&app).await;
    round_trip(&app, login, msc(now) + 60 * MINUTE, 5 * MINUTE).await;
    let before = app.counts().await;
    for limit in [0, 91] {
        let refused = accruals::accrue_batch_of(
            &app.services.ib,
            app.platform.as_ref(),
            &SimulatedFxRates::new(),
            SIMULATED_SERVER,
            limit,
        )
        .await
        .unwrap_err();
        assert_eq!(refused.code(), "invalid_batch_size");
    }
    let unknown = accruals::accrue_next_batch(
        &app.services.ib,
        app.platform.as_ref(),
        &SimulatedFxRates::new(),
        "no-such-server",
    )
    .await;
    assert!(unknown.is_err() || matches!(unknown, Ok(AccrualOutcome::CaughtUp)));
    assert_eq!(app.counts().await, before, "nothing written");
}

/// A platform whose deal history is a given list of changes, in the given order.
struct FixedFeed(Vec<DealChange>);

#[async_trait::async_trait]
impl TradingPlatform for FixedFeed {
    async fn create_account(&self, _: NewAccount) -> Result<TradingAccount, TradingError> {
        unimplemented!("the property reads deals only")
    }

    async fn balance_operation(
        &self,
        _: BalanceOperation,
    ) -> Result<OperationReceipt, TradingError> {
        unimplemented!("the property reads deals only")
    }

    async fn operation(&self, _: &str) -> Result<Option<OperationReceipt>, TradingError> {
        unimplemented!("the property reads deals only")
    }

    async fn account_state(&self, _: u64) -> Result<AccountState, TradingError> {
        unimplemented!("the property reads deals only")
    }

    async fn closed_deals(
        &self,
        _: DealScope,
        _: Option<DealCursor>,
        _: u32,
    ) -> Result<DealsPage, TradingError> {
        unimplemented!("the property reads deals only")
    }

    async fn deal_changes(
        &self,
        _: &str,
        since: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealChangesPage, TradingError> {
        let from: usize = since.map_or(0, |c| c.as_str().parse().unwrap());
        let to = (from + limit as usize).min(self.0.len());
        Ok(DealChangesPage {
            changes: self.0[from..to].to_vec(),
            next_cursor: Some(DealCursor::from_token(to.to_string())),
            has_more: to < self.0.len(),
        })
    }
    async fn symbol(&self, _: &str) -> Result<SymbolSpec, TradingError> {
        unimplemented!("the property reads deals only")
    }

    async fn place_order(&self, _: MarketOrder) -> Result<Fill, TradingError> {
        unimplemented!("the property reads deals only")
    }
}

/// One generated position: opened and closed, and perhaps corrected or cancelled later.
#[derive(Debug, Clone)]
struct Trade {
    buy: bool,
    lots: i64,
    open_minute: i64,
    held_seconds: i64,
    /// 0: as booked, 1: the close corrected to fewer lots, 2: the close cancelled.
    afterwards: u8,
}

fn trades() -> impl Strategy<Value = Vec<Trade>> {
    prop::collection::vec(
        (
            any::<bool>(),
            1..=20i64,
            0..180i64,
            prop::sample::select(vec![30i64, 90, 600]),
            0..3u8,
        )
            .prop_map(|(buy, lots, open_minute, held_seconds, afterwards)| Trade {
                buy,
                lots,
                open_minute,
                held_seconds,
                afterwards,
            }),
        1..6,
    )
}

#[allow(clippy::too_many_arguments)]
fn platform_deal(
    symbol: &str,
    ticket: u64,
    position: u64,
    login: u64,
    buy: bool,
    entry: DealEntry,
    lots: i64,
    at: Millis,
) -> PlatformDeal {
    PlatformDeal {
        deal: ticket,
        login,
        order: ticket,
        position_id: position,
        symbol: symbol.into(),
        action: if buy {
            DealAction::Buy
        } else {
            DealAction::Sell
        },
        entry,
        volume: Decimal::new(lots, 1),
        price: dec("1.08512"),
        profit: Decimal::ZERO,
        commission: Decimal::ZERO,
        swap: Decimal::ZERO,
        currency: "USD".into(),
        group: "real".into(),
        contract_size: Decimal::from(100_000),
        digits: 5,
        market_bid: dec("1.08500"),
        market_ask: dec("1.08512"),
        rate_profit: Decimal::ONE,
        time_msc: at,
    }
}

/// Every change of `trades` in `symbol` (tickets from `first_ticket`, times from `start`), and
/// the deals as they finally stand.
fn changes_of(
    symbol: &str,
    trades: &[Trade],
    login: u64,
    first_ticket: u64,
    start: Millis,
) -> (Vec<DealChange>, Vec<PlatformDeal>) {
    let mut changes = Vec::new();
    let mut finals = Vec::new();
    for (i, t) in trades.iter().enumerate() {
        let open_ticket = first_ticket + 2 * i as u64;
        let open_at = start + t.open_minute * MINUTE;
        let open = platform_deal(
            symbol,
            open_ticket,
            open_ticket,
            login,
            t.buy,
            DealEntry::In,
            t.lots,
            open_at,
        );
        let close = platform_deal(
            symbol,
            open_ticket + 1,
            open_ticket,
            login,
            !t.buy,
            DealEntry::Out,
            t.lots,
            open_at + t.held_seconds * 1000,
        );
        let added = |deal: &PlatformDeal| DealChange {
            kind: DealChangeKind::Added,
            revision: 0,
            deal: deal.clone(),
            changed_at_msc: deal.time_msc,
        };
        changes.push(added(&open));
        changes.push(added(&close));
        finals.push(open);
        match t.afterwards {
            1 => {
                let mut fewer = close.clone();
                fewer.volume = Decimal::new((t.lots + 1) / 2, 1);
                changes.push(DealChange {
                    kind: DealChangeKind::Corrected,
                    revision: 1,
                    deal: fewer.clone(),
                    changed_at_msc: close.time_msc + MINUTE,
                });
                finals.push(fewer);
            }
            2 => changes.push(DealChange {
                kind: DealChangeKind::Cancelled,
                revision: 1,
                deal: close.clone(),
                changed_at_msc: close.time_msc + MINUTE,
            }),
            _ => finals.push(close),
        }
    }
    (changes, finals)
}

type NetLegs = BTreeMap<(u64, Beneficiary, u32, LegKind), Decimal>;

fn net<'a>(legs: impl IntoIterator<Item = &'a Accrual>) -> NetLegs {
    let mut net = NetLegs::new();
    for l in legs {
        *net.entry((l.deal, l.beneficiary.clone(), l.level, l.kind))
            .or_default() += l.amount;
    }
    net.retain(|_, amount| !amount.is_zero());
    net
}

/// The net legs of one computation over `deals` (as they finally stand) in time order, on the
/// tree of `logins` and plan `standard`, every IB paid in USD.
async fn recomputed(app: &App, logins: &[u64], deals: &[PlatformDeal]) -> NetLegs {
    let tree = brokeros_ib::load_hierarchy(&app.services.ib, logins)
        .await
        .unwrap();
    let book = plans::plan_book(
        &app.services.ib.core,
        &app.services.ib.config.symbol_groups,
        ["standard"],
    )
    .await
    .unwrap();
    let rates = PreloadedRates::new();
    let engine = Engine {
        plans: &book,
        tree: &tree,
        rates: &rates,
        server: "all".into(),
    };
    let mut state = EngineState::streaming();
    let mut legs = Vec::new();
    let mut in_order = deals.to_vec();
    in_order.sort_by_key(|d| (d.time_msc, d.deal));
    for deal in &in_order {
        state.apply_deal(&engine, deal, &mut legs).unwrap();
    }
    net(&legs)
}

pub async fn random_arrival_and_batch_sizes_accrue_as_one_recomputation(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (master, sub, _, login) = chain_with_client(&app).await;
    let base = msc(now) + 60 * MINUTE;
    let handle = tokio::runtime::Handle::current();
    // Cases share the client's book, so each case compares everything stored so far with one
    // recomputation over every deal so far; each trades its own symbol, so that a position a
    // cancelled close left open hedges that case's deals only.
    let all_final: RefCell<Vec<PlatformDeal>> = RefCell::default();
    let periods: RefCell<std::collections::BTreeSet<Period>> = RefCell::default();
    let cases = Cell::new(0u64);
    let legs_seen = Cell::new(0usize);
    let mut runner = TestRunner::new(ProptestConfig::with_cases(8));
    let strategy = (
        trades(),
        prop::collection::vec(1..=10u32, 1..5),
        any::<u64>(),
    );
    runner
        .run(&strategy, |(trades, sizes, seed)| {
            let case = cases.get() + 1;
            cases.set(case);
            let start = base + case as i64 * 2 * 86_400_000;
            let (mut changes, finals) =
                changes_of(&format!("SYM{case}"), &trades, login, case * 1000, start);
            // Any order of arrival: a seeded shuffle.
            let mut state = seed | 1;
            for i in (1..changes.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                changes.swap(i, (state % (i as u64 + 1)) as usize);
            }
            for deal in &finals {
                periods.borrow_mut().insert(day(deal.time_msc));
            }
            for c in &changes {
                periods.borrow_mut().insert(day(c.deal.time_msc));
            }
            all_final.borrow_mut().extend(finals);
            let feed = FixedFeed(changes);
            let server = format!("prop-{case}");
            let stored = tokio::task::block_in_place(|| {
                handle.block_on(async {
                    let mut round = 0;
                    loop {
                        let size = sizes[round % sizes.len()];
                        round += 1;
                        let outcome = accruals::accrue_batch_of(
                            &app.services.ib,
                            &feed,
                            &SimulatedFxRates::new(),
                            &server,
                            size,
                        )
                        .await
                        .unwrap();
                        if outcome == AccrualOutcome::CaughtUp {
                            break;
                        }
                    }
                    let mut stored = Vec::new();
                    let touched = periods.borrow().clone();
                    for who in [&sub, &master] {
                        for period in touched.iter().copied() {
                            stored.extend(
                                legs(&app, &Beneficiary::Ib(who.clone()), period)
                                    .await
                                    .into_iter()
                                    .map(|l| l.leg),
                            );
                        }
                    }
                    stored
                })
            });
            let expected = tokio::task::block_in_place(|| {
                handle.block_on(recomputed(&app, &[login], &all_final.borrow()))
            });
            legs_seen.set(legs_seen.get().max(expected.len()));
            prop_assert_eq!(net(&stored), expected);
            Ok(())
        })
        .unwrap();
    assert!(legs_seen.get() > 0, "the cases earned something");
}

pub async fn a_batch_too_big_for_one_transaction_is_read_again_smaller(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (master, sub, _, login) = chain_with_client(&app).await;
    let t0 = msc(now) + 60 * MINUTE;
    let trips = 40;
    for n in 0..trips {
        round_trip(&app, login, t0 + n * 10 * MINUTE, 5 * MINUTE).await;
    }
    let mut batches = 0;
    let mut legs_written = 0;
    loop {
        let outcome = accruals::accrue_batch_of(
            &app.services.ib,
            app.platform.as_ref(),
            &SimulatedFxRates::new(),
            SIMULATED_SERVER,
            deals::MAX_CHANGES_PER_BATCH,
        )
        .await
        .unwrap();
        match outcome {
            AccrualOutcome::CaughtUp => break,
            AccrualOutcome::Accrued(report) => {
                assert!(report.writes as usize <= brokeros_store::MAX_TRANSACTION_OPS);
                batches += 1;
                legs_written += report.legs;
            }
            AccrualOutcome::Raced => panic!("no other run races this one"),
        }
    }
    assert!(batches > 1, "{batches}");
    // Each close pays both levels.
    assert_eq!(legs_written, 2 * trips as u32);
    let mut paid = Decimal::ZERO;
    let periods: std::collections::BTreeSet<Period> = (0..trips)
        .map(|n| day(t0 + n * 10 * MINUTE + 5 * MINUTE))
        .collect();
    for who in [&sub, &master] {
        for period in &periods {
            paid += legs(&app, &Beneficiary::Ib(who.clone()), *period)
                .await
                .iter()
                .map(|l| l.leg.amount)
                .sum::<Decimal>();
        }
    }
    assert_eq!(paid, Decimal::from(10 * trips));
}

/// A master IB paid in EUR on plan `standard`: its id.
async fn euro_ib(app: &App) -> String {
    let (status, application) = post(
        app,
        "/partners/applications",
        json!({ "name": "Euro IB", "payout_currency": "EUR" }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{application}");
    let (status, ib) = post(
        app,
        &format!(
            "/partners/applications/{}/approve",
            application["id"].as_str().unwrap()
        ),
        json!({ "plans": ["standard"], "referral_codes": [] }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{ib}");
    ib["id"].as_str().unwrap().to_string()
}

pub async fn an_ib_paid_in_another_currency_gets_the_converted_leg_naming_its_rate(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let euro_ib = euro_ib(&app).await;
    let (_, _, client, login) = chain_with_client(&app).await;
    let (status, body) = post(
        &app,
        &format!("/partners/clients/{client}/ib"),
        json!({ "ib_id": euro_ib }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let t0 = msc(now) + 60 * MINUTE;
    let close = round_trip(&app, login, t0, 5 * MINUTE).await;
    accrue(&app).await;

    let stored = legs(&app, &Beneficiary::Ib(euro_ib), day(t0)).await;
    let paid = of_deal(&stored, close.deal);
    assert_eq!(paid.len(), 1, "a master IB alone: level 0 only");
    let leg = &paid[0].leg;
    let fx = leg.explanation.fx.as_ref().expect("USD converted to EUR");
    let quote = SimulatedFxRates::new()
        .rate("USD", "EUR", close.time_msc)
        .await
        .unwrap();
    assert_eq!(fx, &quote, "the rate, its source and time");
    assert_eq!(leg.currency.code, "EUR");
    assert_eq!(leg.explanation.amount_in_basis_currency, dec("7"));
    assert_eq!(
        leg.amount,
        (dec("7") * quote.rate).round_dp(brokeros_ib::model::engine::LEG_SCALE)
    );
}

/// Accrues `feed` as server `server` in batches of `limit` until caught up: the reports.
async fn accrue_feed(
    app: &App,
    feed: &dyn TradingPlatform,
    server: &str,
    limit: u32,
) -> Vec<accruals::AccrualReport> {
    let mut reports = Vec::new();
    loop {
        match accruals::accrue_batch_of(
            &app.services.ib,
            feed,
            &SimulatedFxRates::new(),
            server,
            limit,
        )
        .await
        .unwrap()
        {
            AccrualOutcome::CaughtUp => return reports,
            AccrualOutcome::Accrued(report) => reports.push(report),
            AccrualOutcome::Raced => panic!("no other run races this one"),
        }
    }
}

fn added(deal: &PlatformDeal) -> DealChange {
    DealChange {
        kind: DealChangeKind::Added,
        revision: 0,
        deal: deal.clone(),
        changed_at_msc: deal.time_msc,
    }
}

/// A position of `lots` tenths on `login` opened at `at` and closed five minutes later: its
/// opening (ticket `ticket`) and closing (`ticket + 1`) deals.
fn trip(ticket: u64, login: u64, at: Millis, lots: i64) -> [PlatformDeal; 2] {
    [
        platform_deal(
            "EURUSD",
            ticket,
            ticket,
            login,
            true,
            DealEntry::In,
            lots,
            at,
        ),
        platform_deal(
            "EURUSD",
            ticket + 1,
            ticket,
            login,
            false,
            DealEntry::Out,
            lots,
            at + 5 * MINUTE,
        ),
    ]
}

async fn deal_feed(app: &App, server: &str) -> deals::DealFeed {
    app.services
        .ib
        .core
        .get::<deals::DealFeed>(server)
        .await
        .unwrap()
        .entity
}

pub async fn a_deal_the_engine_refuses_is_quarantined_and_the_feed_moves_on(app: App) {
    let now = OffsetDateTime::now_utc();
    // The client's rebate is paid in the deal's currency, which must be one Broker OS books.
    store_plan_with(&app, now, json!({ "rebate": { "percent": "10" } })).await;
    let (master, sub, client, login) = chain_with_client(&app).await;
    let t0 = msc(now) + 60 * MINUTE;
    let before = trip(1, login, t0, 10);
    let mut refused = trip(3, login, t0 + 10 * MINUTE, 10);
    for deal in &mut refused {
        deal.currency = "XYZ".into();
    }
    let after = trip(5, login, t0 + 20 * MINUTE, 10);
    let mut changes: Vec<DealChange> = [&before, &refused, &after]
        .into_iter()
        .flatten()
        .map(added)
        .collect();
    let feed = FixedFeed(changes.clone());
    let reports = accrue_feed(&app, &feed, SIMULATED_SERVER, 30).await;
    assert_eq!(
        reports.iter().map(|r| r.quarantined).sum::<u32>(),
        1,
        "{reports:?}"
    );

    // The feed went on: the deals after the refused one accrued; the refused one has no leg.
    let period = day(t0);
    let sub_legs = legs(&app, &Beneficiary::Ib(sub.clone()), period).await;
    let paid: BTreeMap<u64, Decimal> = sub_legs
        .iter()
        .map(|l| (l.leg.deal, l.leg.amount))
        .collect();
    assert_eq!(
        paid,
        BTreeMap::from([(before[1].deal, dec("6.3")), (after[1].deal, dec("6.3"))]),
        "70 % of $10 less the client's 10 % rebate"
    );
    let rebates = legs(&app, &Beneficiary::Client(client.clone()), period).await;
    assert_eq!(rebates.len(), 2);
    assert_eq!(
        deal_feed(&app, SIMULATED_SERVER).await.changes_quarantined,
        1
    );

    // Partner managers see it, with why; its record is audited.
    let (status, listed) = get(&app, "/partners/quarantined-deals", &pm()).await;
    assert_eq!(status, 200, "{listed}");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    let quarantined = &items[0];
    assert_eq!(quarantined["deal"], refused[1].deal);
    assert_eq!(quarantined["revision"], 0);
    assert_eq!(quarantined["code"], "unknown_currency");
    assert!(
        quarantined["message"].as_str().unwrap().contains("XYZ"),
        "{quarantined}"
    );
    assert_eq!(quarantined["client"], client.as_str());
    assert_eq!(quarantined["change"]["deal"]["currency"], "XYZ");
    let id = quarantined["id"].as_str().unwrap();
    assert_eq!(
        app.audit_actions("ib_quarantined_deal", id).await,
        ["ib_deal.quarantined"]
    );
    let (status, _) = get(
        &app,
        "/partners/quarantined-deals",
        &token(SUB_USER, Role::Ib),
    )
    .await;
    assert_eq!(status, 403, "an IB reads no quarantine");
    for bad in ["server=mt5-elsewhere", "limit=0", "status=open"] {
        let counts = app.counts().await;
        let (status, body) = get(&app, &format!("/partners/quarantined-deals?{bad}"), &pm()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(app.counts().await, counts, "{bad}: nothing written");
    }

    // Nothing is dropped: a dealer's correction into a booked currency accrues the deal.
    let mut fixed = refused[1].clone();
    fixed.currency = "USD".into();
    changes.push(DealChange {
        kind: DealChangeKind::Corrected,
        revision: 1,
        deal: fixed,
        changed_at_msc: t0 + 60 * MINUTE,
    });
    let feed = FixedFeed(changes);
    accrue_feed(&app, &feed, SIMULATED_SERVER, 30).await;
    let corrected: Vec<StoredLeg> = legs(&app, &Beneficiary::Ib(sub.clone()), period)
        .await
        .into_iter()
        .filter(|l| l.leg.deal == refused[1].deal)
        .collect();
    assert_eq!(corrected.len(), 1);
    assert_eq!(
        (corrected[0].leg.revision, corrected[0].leg.amount),
        (1, dec("6.3"))
    );
    let master_paid: Decimal = legs(&app, &Beneficiary::Ib(master), period)
        .await
        .iter()
        .map(|l| l.leg.amount)
        .sum();
    assert_eq!(master_paid, dec("9"), "3 on each of the three closes");

    // A second run finds nothing new and writes nothing.
    let counts = app.counts().await;
    assert!(
        accrue_feed(&app, &feed, SIMULATED_SERVER, 30)
            .await
            .is_empty()
    );
    assert_eq!(app.counts().await, counts);
}

/// The simulated FX feed, answering quotes two days old while `stale` (as a feed that stopped
/// updating does): too old to pay with.
struct StalledFx {
    stale: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl FxRates for StalledFx {
    async fn rate(
        &self,
        from: &str,
        to: &str,
        at_msc: Millis,
    ) -> brokeros_kernel::Result<brokeros_ib::model::FxRate> {
        let stale = self.stale.load(std::sync::atomic::Ordering::SeqCst);
        let asked = if stale {
            at_msc - 2 * 86_400_000
        } else {
            at_msc
        };
        SimulatedFxRates::new().rate(from, to, asked).await
    }
}

pub async fn a_missing_fx_rate_holds_the_feed_until_the_rate_is_quoted(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let euro_ib = euro_ib(&app).await;
    let (client, login) = onboarded_client(&app, "Vogel").await;
    let (status, body) = post(
        &app,
        &format!("/partners/clients/{client}/ib"),
        json!({ "ib_id": euro_ib }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let t0 = msc(now) + 60 * MINUTE;
    let close = round_trip(&app, login, t0, 5 * MINUTE).await;

    let fx = StalledFx {
        stale: std::sync::atomic::AtomicBool::new(true),
    };
    let run = || {
        accruals::accrue_next_batch(
            &app.services.ib,
            app.platform.as_ref(),
            &fx,
            SIMULATED_SERVER,
        )
    };
    let counts = app.counts().await;
    for _ in 0..2 {
        let waiting = run().await.unwrap_err();
        assert_eq!(waiting.code(), "fx_rate_missing", "{waiting}");
        assert_eq!(
            app.counts().await,
            counts,
            "nothing ingested, nothing quarantined"
        );
    }
    fx.stale.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(run().await.unwrap(), AccrualOutcome::Accrued(r) if r.quarantined == 0));
    let paid = legs(&app, &Beneficiary::Ib(euro_ib), day(t0)).await;
    let leg = &of_deal(&paid, close.deal)[0].leg;
    let quote = leg.explanation.fx.as_ref().expect("converted to EUR");
    assert_eq!(quote.as_of_msc, close.time_msc - close.time_msc % MINUTE);
}

pub async fn two_servers_with_the_same_tickets_keep_separate_books(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (_, sub, _, login) = chain_with_client(&app).await;
    let t0 = msc(now) + 60 * MINUTE;
    // The same tickets and position ids on both servers, interleaved in time.
    let on_a = trip(1, login, t0, 10);
    let on_b = trip(1, login, t0 + MINUTE, 20);
    let mut b_corrected = on_b[1].clone();
    b_corrected.volume = dec("1.5");
    let feed_a = FixedFeed(on_a.iter().map(added).collect());
    let mut feed_b: Vec<DealChange> = on_b.iter().map(added).collect();
    feed_b.push(DealChange {
        kind: DealChangeKind::Corrected,
        revision: 1,
        deal: b_corrected,
        changed_at_msc: t0 + 30 * MINUTE,
    });
    accrue_feed(&app, &feed_a, "mt5-a", 30).await;
    // Server b's changes one at a time: its correction replays its own book alone.
    accrue_feed(&app, &FixedFeed(feed_b), "mt5-b", 1).await;

    let mut net: BTreeMap<String, Decimal> = BTreeMap::new();
    for l in legs(&app, &Beneficiary::Ib(sub), day(t0)).await {
        *net.entry(format!("{}:{}", l.leg.server, l.leg.deal))
            .or_default() += l.leg.amount;
    }
    assert_eq!(
        net,
        BTreeMap::from([
            (format!("mt5-a:{}", on_a[1].deal), dec("7")),
            // Two lots booked, corrected to one and a half: 70 % of $15.
            (format!("mt5-b:{}", on_b[1].deal), dec("10.5")),
        ])
    );
}

pub async fn a_replay_too_large_for_one_transaction_is_written_in_steps_exactly_once(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (master, sub, client, login) = chain_with_client(&app).await;
    let t0 = msc(now) + 60 * MINUTE;
    // A long position hedges every short one opened and closed while it is open: they earn
    // nothing.
    let long = app
        .platform
        .open_position(login, "EURUSD", DealSide::Buy, dec("1"), t0)
        .await
        .unwrap();
    let trips = 40;
    let mut closes = Vec::new();
    for n in 0..trips {
        let short = app
            .platform
            .open_position(
                login,
                "EURUSD",
                DealSide::Sell,
                dec("1"),
                t0 + (n + 1) * 10 * MINUTE,
            )
            .await
            .unwrap();
        let close = app
            .platform
            .close_position(
                login,
                short.position_id,
                dec("1"),
                t0 + (n + 1) * 10 * MINUTE + 5 * MINUTE,
            )
            .await
            .unwrap();
        closes.push(close.deal);
    }
    accrue(&app).await;
    let periods: std::collections::BTreeSet<Period> =
        (0..=trips + 1).map(|n| day(t0 + n * 10 * MINUTE)).collect();
    let ibs = [sub.as_str(), master.as_str()];
    let paid = net_by_deal(&app, &ibs, &periods).await;
    assert!(
        paid.keys().all(|(deal, _)| closes.contains(deal)),
        "only closes earn"
    );
    assert!(paid.values().all(Decimal::is_zero), "hedged");

    // The dealer cancels the long position's opening: none of the shorts was hedged after all.
    // Their corrections (a reversal and a new leg per level and close, and the close's book
    // entry) pass one transaction's 100 writes.
    app.platform
        .cancel_deal(long.deal, t0 + 600 * MINUTE)
        .await
        .unwrap();
    let first = accruals::accrue_next_batch(
        &app.services.ib,
        app.platform.as_ref(),
        &SimulatedFxRates::new(),
        SIMULATED_SERVER,
    )
    .await
    .unwrap();
    let AccrualOutcome::Accrued(first) = first else {
        panic!("{first:?}")
    };
    assert_eq!(first.ingestion.applied, 1, "the cancellation, alone");
    assert!(first.writes as usize <= brokeros_store::MAX_TRANSACTION_OPS);
    assert_eq!(
        deal_feed(&app, SIMULATED_SERVER).await.replaying,
        std::slice::from_ref(&client)
    );
    let partly = net_by_deal(&app, &ibs, &periods).await;
    let corrected = partly.values().filter(|a| !a.is_zero()).count();
    assert!(
        corrected > 0 && corrected < 2 * trips as usize,
        "the first step corrects some closes, not all: {corrected}"
    );

    // Two runs finish it side by side (a crash between steps is the same: the next run reads
    // where the last commit left); each step is one transaction, none written twice.
    let finish = || async {
        let mut steps = 0;
        loop {
            match accruals::accrue_next_batch(
                &app.services.ib,
                app.platform.as_ref(),
                &SimulatedFxRates::new(),
                SIMULATED_SERVER,
            )
            .await
            .unwrap()
            {
                AccrualOutcome::CaughtUp => return steps,
                AccrualOutcome::Accrued(report) => {
                    assert!(report.writes as usize <= brokeros_store::MAX_TRANSACTION_OPS);
                    assert_eq!(
                        report.ingestion.applied, 0,
                        "no new change before the replay ends"
                    );
                    steps += 1;
                }
                AccrualOutcome::Raced => {}
            }
        }
    };
    let (a, b) = tokio::join!(finish(), finish());
    assert!(a + b >= 1, "the replay took more than one transaction");
    assert!(deal_feed(&app, SIMULATED_SERVER).await.replaying.is_empty());
    let net = net_by_deal(&app, &ibs, &periods).await;
    for close in &closes {
        assert_eq!(
            net.get(&(*close, sub.clone())),
            Some(&dec("7")),
            "deal {close}"
        );
        assert_eq!(
            net.get(&(*close, master.clone())),
            Some(&dec("3")),
            "deal {close}"
        );
    }
}

/// The net legs per deal and IB of `ibs` counted in `periods`.
async fn net_by_deal(
    app: &App,
    ibs: &[&str],
    periods: &std::collections::BTreeSet<Period>,
) -> BTreeMap<(u64, String), Decimal> {
    let mut net: BTreeMap<(u64, String), Decimal> = BTreeMap::new();
    for who in ibs {
        for period in periods {
            for l in legs(app, &Beneficiary::Ib(who.to_string()), *period).await {
                *net.entry((l.leg.deal, who.to_string())).or_default() += l.leg.amount;
            }
        }
    }
    net
}

/// Every deal of the simulated server as it finally stands (cancelled ones left out).
async fn final_deals(app: &App) -> Vec<PlatformDeal> {
    let mut latest: BTreeMap<u64, DealChange> = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = app
            .platform
            .deal_changes(SIMULATED_SERVER, cursor, 1000)
            .await
            .unwrap();
        for change in page.changes {
            latest.insert(change.deal.deal, change);
        }
        cursor = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    latest
        .into_values()
        .filter(|c| c.kind != DealChangeKind::Cancelled)
        .map(|c| c.deal)
        .collect()
}

pub async fn a_long_history_accrues_as_one_recomputation_reading_books_from_checkpoints(app: App) {
    let now = OffsetDateTime::now_utc();
    store_plan(&app, now).await;
    let (_, _, client, login) = chain_with_client(&app).await;
    // Opens, closes, partial closes, reversals, hedges, scalps, and dealers' corrections and
    // cancellations of recent deals.
    let history = app
        .platform
        .generate_trading(login, 400, 7, msc(now) + 60 * MINUTE)
        .await
        .unwrap();
    assert!(
        history.iter().any(|c| c.kind == DealChangeKind::Corrected)
            && history.iter().any(|c| c.kind == DealChangeKind::Cancelled)
    );
    let pass = accruals::accrue_servers(
        &app.services.ib,
        app.platform.as_ref(),
        &SimulatedFxRates::new(),
        1000,
    )
    .await
    .unwrap();
    assert_eq!(pass.quarantined, 0);

    let recording = app.recording.as_ref().expect("a recording store");
    // One transaction per batch, moving the feed; every leg commits with its batch's ingestion.
    let committed = recording.committed();
    let feed = deals::keys::deal_feed(SIMULATED_SERVER);
    let moves_feed = |ops: &Vec<WriteOp>| ops.iter().any(|op| op.key() == &feed);
    let writes_legs = |ops: &Vec<WriteOp>| ops.iter().any(|op| op.key().pk.starts_with("IBLEG#"));
    assert_eq!(
        committed.iter().filter(|ops| moves_feed(ops)).count(),
        pass.batches as usize
    );
    assert!(
        committed
            .iter()
            .filter(|ops| writes_legs(ops))
            .all(moves_feed)
    );
    let stored: Vec<Accrual> = committed
        .iter()
        .flatten()
        .filter_map(|op| match op {
            WriteOp::Put { item, .. } if item.key.pk.starts_with("IBLEG#") => {
                Some(serde_json::from_str::<StoredLeg>(&item.data).unwrap().leg)
            }
            _ => None,
        })
        .collect();
    let finals = final_deals(&app).await;
    let expected = recomputed(&app, &[login], &finals).await;
    assert!(expected.len() > 100, "{} deals earned", expected.len());
    assert_eq!(net(&stored), expected);

    // A late or corrected deal read the client's book from a checkpoint, not from its first
    // deal: no read of the book came near its size.
    let book = keys::client_deals(&client, SIMULATED_SERVER);
    let reads: Vec<usize> = recording
        .queried()
        .into_iter()
        .filter(|(pk, _)| *pk == book)
        .map(|(_, items)| items)
        .collect();
    let book_size = finals.len();
    assert!(reads.len() > 10, "corrections read the book: {reads:?}");
    assert!(
        reads.iter().all(|items| *items < 100) && book_size > 300,
        "reads {reads:?} of a book of {book_size} deals"
    );
}
