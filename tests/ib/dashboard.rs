//! The IB portal's dashboard (`GET /ib/me`) per period, on the live accrual path: deals booked
//! on the simulated platform in two days, accrued, the first day paid; each IB's dashboard
//! answers its own lots, accruals and payments per period — read by key from its legs and
//! statements — and never another IB's.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use brokeros_ib::model::payout::{IbStatement, StatementStatus, statement_id};
use brokeros_ib::model::{Beneficiary, LegKind, Millis, Period, PeriodKind};
use brokeros_kernel::principal::Role;
use brokeros_store::Store;
use brokeros_trading::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;

use brokeros_kernel::AheadClock;

use crate::accruals::{MINUTE, accrue, day, funded_client_of, legs, round_trip};
use crate::harness::{App, token};
use crate::partners::{get, msc, new_ib, pm, text};
use crate::payout::run_periods_through;
use crate::plans::store_plan_document;

pub(crate) const DAY: Millis = 86_400_000;
const HOUR: Millis = 3_600_000;

pub(crate) fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// The local Broker OS over `store` with a clock the scenario moves forward (it starts at the
/// system's time).
pub(crate) async fn clocked_app(store: Arc<dyn Store>) -> (App, Arc<AheadClock>) {
    let clock = Arc::new(AheadClock::default());
    (App::with_clock(store, clock.clone()).await, clock)
}

/// Plan `standard` (which `new_ib` agrees), daily, from a minute from now: `per_lot` a lot on
/// close, 70 % to the client's IB and 30 % to the one above, and `extra`'s fields.
pub(crate) async fn store_daily_plan(app: &App, per_lot: &str, extra: Value) {
    let mut document = json!({
        "id": "standard", "version": 1,
        "effective_from": text(OffsetDateTime::now_utc() + time::Duration::minutes(1)),
        "currency": "USD", "period": "daily", "earn_on": "close",
        "rules": [ { "id": "all", "match": {}, "earns": { "per_lot": per_lot } } ],
        "levels": { "mode": "fixed", "percents": ["70", "30"] }
    });
    for (field, value) in extra.as_object().unwrap() {
        document[field] = value.clone();
    }
    store_plan_document(app, &document).await;
}

/// `trips` round trips of one lot on `login`, an hour apart from an hour into `period`.
pub(crate) async fn trade_in(app: &App, login: u64, period: Period, trips: i64) {
    for n in 1..=trips {
        round_trip(app, login, period.start_msc + n * HOUR, 5 * MINUTE).await;
    }
}

/// A decimal the API wrote as a string, without trailing zeros (to compare by value).
fn amount(v: &Value) -> Decimal {
    dec(v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is a decimal string")))
    .normalize()
}

/// What the dashboard must show of `ib`'s `period`: from its legs and its statement, read
/// here from the store.
async fn expected(app: &App, ib: &str, period: Period) -> Value {
    let who = Beneficiary::Ib(ib.to_string());
    let mut lots: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, Decimal> = BTreeMap::new();
    let stored = legs(app, &who, period).await;
    for l in &stored {
        *by_kind.entry(l.leg.kind.name()).or_default() += l.leg.amount;
        if l.leg.kind == LegKind::Commission {
            let counted = l.leg.explanation.basis.volume.counted_lots;
            *lots
                .entry(l.leg.explanation.basis.plan_id.clone())
                .or_default() += if l.leg.reversal { -counted } else { counted };
        }
    }
    let id = statement_id(&who, period, "USD");
    let statement = app.services.ib.find::<IbStatement>(&id).await.unwrap();
    let paid = statement
        .as_ref()
        .filter(|s| s.entity.status == StatementStatus::Paid)
        .map(|s| s.entity.lines.paid)
        .unwrap_or_default();
    lots.values_mut().for_each(|l| *l = l.normalize());
    json!({
        "legs": stored.len(),
        "lots": lots,
        "commission": by_kind.get("commission").copied().unwrap_or_default().normalize(),
        "total": by_kind.values().sum::<Decimal>().normalize(),
        "statement": statement.map(|s| (s.entity.id, s.entity.lines.paid.normalize())),
        "paid": paid.normalize(),
    })
}

/// The dashboard's figures of one period, in the shape of [`expected`].
fn shown(entry: &Value) -> Value {
    let lots: BTreeMap<String, Decimal> = entry["lots"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(plan, lots)| (plan.clone(), amount(lots)))
        .collect();
    json!({
        "legs": entry["legs"],
        "lots": lots,
        "commission": amount(&entry["accrued"]["commission"]),
        "total": amount(&entry["accrued"]["total"]),
        "statement": entry["statement"].as_object().map(|s| (s["id"].clone(), amount(&s["paid"]))),
        "paid": amount(&entry["paid"]),
    })
}

/// `user`'s dashboard periods, newest first, by label.
async fn dashboard(app: &App, user: &str, periods: u32) -> Vec<(String, Value)> {
    let (status, me) = get(
        app,
        &format!("/ib/me?periods={periods}"),
        &token(user, Role::Ib),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    let earnings = &me["dashboard"]["earnings"];
    assert_eq!(earnings["period_kind"], "daily", "{earnings}");
    assert_eq!(earnings["currency"], "USD");
    earnings["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["period"].as_str().unwrap().to_string(), p.clone()))
        .collect()
}

fn label(period: Period) -> String {
    format!("daily:{}", period.label())
}

pub async fn the_dashboard_shows_each_periods_volume_and_earnings_of_the_ib_alone(
    store: Arc<dyn Store>,
) {
    let (app, clock) = clocked_app(store).await;
    let now = OffsetDateTime::now_utc();
    store_daily_plan(&app, "10.37", json!({})).await;
    let master = new_ib(&app, "Dash Master", None, Some("dash-master"), &[]).await;
    let sub = new_ib(&app, "Dash Sub", Some(&master), Some("dash-sub"), &[]).await;
    let other = new_ib(&app, "Dash Other", None, Some("dash-other"), &[]).await;
    let (_, login) = funded_client_of(&app, &sub, "Dash").await;
    let (_, other_login) = funded_client_of(&app, &other, "Elsewhere").await;

    // Two days after today: the sub-IB's client trades twice on the first, once on the next;
    // the other IB's client three times on the first.
    let first = day(msc(now) + 2 * DAY);
    let second = day(first.end_msc());
    trade_in(&app, login, first, 2).await;
    trade_in(&app, other_login, first, 3).await;
    trade_in(&app, login, second, 1).await;
    assert!(accrue(&app).await >= 1);
    // Five days on, the first day is paid; the second has ended but is not closed yet.
    clock.advance(time::Duration::days(5));
    run_periods_through(&app, first).await;

    for (user, ib, lots) in [
        ("dash-sub", &sub, [2, 1]),
        ("dash-master", &master, [2, 1]),
        ("dash-other", &other, [3, 0]),
    ] {
        let shown_periods = dashboard(&app, user, 6).await;
        let labels: Vec<&str> = shown_periods.iter().map(|(l, _)| l.as_str()).collect();
        let today = PeriodKind::Daily.period_of(msc(now) + 5 * DAY);
        let mut newest_first = vec![label(today)];
        let mut p = today;
        for _ in 1..6 {
            p = PeriodKind::Daily.period_of(p.start_msc - 1);
            newest_first.push(label(p));
        }
        assert_eq!(
            labels, newest_first,
            "{user}: the current day and five before"
        );
        for (text, entry) in &shown_periods {
            let period = brokeros_ib::accruals::parse_period("period", text).unwrap();
            assert_eq!(
                shown(entry),
                expected(&app, ib, period).await,
                "{user} {text}: {entry}"
            );
            if period != first && period != second {
                assert_eq!(entry["legs"], 0, "{user} {text}: no deal then");
            }
        }
        let of = |period: Period| {
            &shown_periods
                .iter()
                .find(|(l, _)| *l == label(period))
                .unwrap()
                .1
        };
        // Each IB's volume is its own clients' (and its subtree's) alone: the master counts
        // the sub-IB's client's lots, never the other IB's.
        for (period, lots) in [first, second].into_iter().zip(lots) {
            let counted = of(period)["lots"]["standard"].as_str().map(dec);
            let want = (lots > 0).then(|| Decimal::from(lots));
            assert_eq!(counted, want, "{user} {}", label(period));
        }
        let paid_day = of(first);
        if lots[0] > 0 {
            assert_eq!(paid_day["statement"]["status"], "paid", "{paid_day}");
            assert!(amount(&paid_day["paid"]) > Decimal::ZERO, "{paid_day}");
            assert_eq!(paid_day["paid"], paid_day["statement"]["paid"]);
        }
        let unpaid = of(second);
        assert_eq!(unpaid["statement"], Value::Null, "not closed yet");
        assert_eq!(unpaid["paid"], "0.00");
    }

    // The default shows six periods; bad parameters are refused and write nothing; the
    // dashboard is the IB role's.
    let (status, me) = get(&app, "/ib/me", &token("dash-sub", Role::Ib)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me["dashboard"]["earnings"]["periods"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    for bad in [
        "periods=0",
        "periods=32",
        "periods=six",
        "period=daily:2026-01-01",
    ] {
        let before = app.counts().await;
        let (status, body) =
            get(&app, &format!("/ib/me?{bad}"), &token("dash-sub", Role::Ib)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{body}"
        );
        assert_eq!(app.counts().await, before, "{bad}: nothing written");
    }
    let (status, body) = get(&app, "/ib/me?periods=0", &token("dash-sub", Role::Ib)).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("periods")));
    let (status, _) = get(&app, "/ib/me", &pm()).await;
    assert_eq!(status, 403, "partner managers read IBs through /partners");
    let (status, _) = get(&app, "/ib/me", &token("not-an-ib", Role::Ib)).await;
    assert_eq!(status, 404);
}
