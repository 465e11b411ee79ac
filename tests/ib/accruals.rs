//! The live accrual path (`brokeros_ib::accruals`) end to end: IBs and clients set up over
//! HTTP, a plan stored, trades booked on the simulated platform, then ingested and accrued;
//! the legs read back from the store by beneficiary and period.

use std::collections::BTreeMap;
use std::str::FromStr;

use brokeros_ib::accruals::{self, AccrualOutcome, StoredLeg};
use brokeros_ib::model::{Beneficiary, LegKind, Millis, Period, PeriodKind};
use brokeros_ib::{keys, plans};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_local::{DealCorrection, SIMULATED_SERVER, SimulatedFxRates};
use brokeros_store::{Item, Table, WriteOp};
use brokeros_trading::{
    BalanceOperation, BalanceOperationKind, DealSide, Decimal, PlatformDeal, TradingPlatform,
};
use serde_json::json;
use time::OffsetDateTime;

use crate::harness::App;
use crate::partners::{msc, new_ib, onboarded_client, pm, post, text};

const MINUTE: Millis = 60_000;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// Stores plan `standard` (which `new_ib` assigns): daily periods, earning $10 a lot on close,
/// 70 % to the client's IB and 30 % to the one above, nothing for a position held under a
/// minute or hedged. In force from a minute from now.
async fn store_plan(app: &App, now: OffsetDateTime) {
    let document = json!({
        "id": "standard", "version": 1,
        "effective_from": text(now + time::Duration::minutes(1)),
        "currency": "USD", "period": "daily", "earn_on": "close",
        "min_lots": "0.01", "min_hold_seconds": 60, "exclude_hedged": true,
        "rules": [ { "id": "all", "priority": 0, "match": {}, "earns": { "per_lot": "10.00" } } ],
        "levels": { "mode": "fixed", "percents": ["70", "30"] }
    });
    let principal = Principal {
        sub: "pm-1".into(),
        roles: [Role::Partners].into(),
    };
    plans::put_plan_version(
        &app.services.ib,
        &principal,
        &app.services.ib.config.symbol_groups,
        document,
        None,
        "test",
    )
    .await
    .unwrap();
}

/// A master IB, a sub-IB under it, and a funded client of the sub-IB: (master, sub, client,
/// login).
async fn chain_with_client(app: &App) -> (String, String, String, u64) {
    let master = new_ib(app, "Master", None, None, &[]).await;
    let sub = new_ib(app, "Sub", Some(&master), None, &[]).await;
    let (client, login) = onboarded_client(app, "Berg").await;
    let (status, body) = post(
        app,
        &format!("/partners/clients/{client}/ib"),
        json!({ "ib_id": sub }),
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
    (master, sub, client, login)
}

/// Runs the accrual until the feed is caught up: the batches that wrote.
async fn accrue(app: &App) -> u32 {
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
async fn legs(app: &App, who: &Beneficiary, period: Period) -> Vec<StoredLeg> {
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

fn day(at: Millis) -> Period {
    PeriodKind::Daily.period_of(at)
}

async fn round_trip(app: &App, login: u64, open_at: Millis, held: Millis) -> PlatformDeal {
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
        for period in [day(t0), day(msc(move_at) + MINUTE)]
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
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
