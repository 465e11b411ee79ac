//! Volume tiers and client rebates on the stored path: legs from the live accrual path under a
//! tiered plan with a rebate, periods closed, statements built and paid. The tier reached at
//! period close lifts the whole period (its own line on the statement); a client's rebate is
//! its own statement, credited to the client's wallet through the ledger; per beneficiary,
//! Σ paid + carried = Σ accrued (tier lines included), which the ledger holds.

use std::sync::Arc;

use brokeros_ib::model::payout::{IbStatement, StatementStatus, statement_id};
use brokeros_ib::model::statement::TierLine;
use brokeros_ib::model::{Beneficiary, LegKind, Period};
use brokeros_kernel::money::Currency;
use brokeros_ledger::model::AccountId;
use brokeros_store::Store;
use brokeros_trading::Decimal;
use serde_json::json;
use time::OffsetDateTime;

use crate::accruals::funded_client_of;
use crate::accruals::{accrue, day, legs};
use crate::dashboard::{DAY, clocked_app, dec, store_daily_plan, trade_in};
use crate::harness::App;
use crate::partners::{msc, new_ib};
use crate::payout::{run_period, run_periods_through};

/// Tier thresholds of the plan: from 2 lots in a day, the day's rule amounts count 1.5 times.
const TIER_LOTS: &str = "2";
const TIER_MULTIPLIER: &str = "1.5";
/// Of level 0's leg, the client's cashback.
const REBATE_PERCENT: &str = "10";

async fn statement(app: &App, who: &Beneficiary, period: Period) -> IbStatement {
    let id = statement_id(who, period, "USD");
    app.services
        .ib
        .find::<IbStatement>(&id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{who} has a statement of {}", period.label()))
        .entity
}

async fn balance(app: &App, account: &AccountId) -> Decimal {
    brokeros_ledger::balance(&app.services.core, account)
        .await
        .unwrap()
        .available
}

fn usd() -> Currency {
    Currency::parse("currency", "USD").unwrap()
}

/// What `who`'s legs of `period` add up to: (counted lots of its commission legs, their
/// amounts, every leg's amount).
async fn leg_sums(app: &App, who: &Beneficiary, period: Period) -> (Decimal, Decimal, Decimal) {
    let (mut lots, mut commission, mut all) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for l in legs(app, who, period).await {
        all += l.leg.amount;
        if l.leg.kind == LegKind::Commission {
            commission += l.leg.amount;
            lots += l.leg.explanation.basis.volume.counted_lots;
        }
    }
    (lots, commission, all)
}

pub async fn the_tier_reached_at_close_lifts_the_whole_period_and_rebates_reach_the_client(
    store: Arc<dyn Store>,
) {
    let (app, clock) = clocked_app(store).await;
    let now = OffsetDateTime::now_utc();
    store_daily_plan(
        &app,
        "10.37",
        json!({
            "tiers": [
                { "min_lots": "0", "multiplier": "1" },
                { "min_lots": TIER_LOTS, "multiplier": TIER_MULTIPLIER }
            ],
            "rebate": { "percent": REBATE_PERCENT }
        }),
    )
    .await;
    let master = new_ib(&app, "Tier Master", None, None, &[]).await;
    let sub = new_ib(&app, "Tier Sub", Some(&master), None, &[]).await;
    let (client, login) = funded_client_of(&app, &sub, "Rebate").await;

    // Three lots on the first day (the tier is reached by the third deal), one on the next.
    let first = day(msc(now) + 2 * DAY);
    let second = day(first.end_msc());
    trade_in(&app, login, first, 3).await;
    trade_in(&app, login, second, 1).await;
    accrue(&app).await;
    clock.advance(time::Duration::days(5));
    let wallet = AccountId::client_wallet(&client, usd()).unwrap();
    let wallet_before = balance(&app, &wallet).await;
    run_periods_through(&app, second).await;

    let (tier_lots, multiplier) = (dec(TIER_LOTS), dec(TIER_MULTIPLIER));
    for ib in [&sub, &master] {
        let who = Beneficiary::Ib(ib.clone());
        let (mut paid, mut accrued, mut legs_total) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let mut carried = Decimal::ZERO;
        for period in [first, second] {
            let s = statement(&app, &who, period).await;
            let (lots, commission, all) = leg_sums(&app, &who, period).await;
            assert_eq!(s.status, StatementStatus::Paid, "{ib} {}", period.label());
            assert_eq!(s.lines.commission, commission);
            assert_eq!(
                s.lines.rebate,
                Decimal::ZERO,
                "an IB's own legs hold no rebate"
            );
            assert_eq!(
                s.lines.carried_in, carried,
                "carries in what the last one left"
            );
            if lots >= tier_lots {
                // The tier applies to every deal of the day, the ones before the threshold too.
                assert_eq!(
                    s.lines.tiers,
                    [TierLine {
                        plan_id: "standard".into(),
                        period_lots: lots,
                        tier_min_lots: tier_lots,
                        multiplier,
                        base: commission,
                        amount: (multiplier - Decimal::ONE) * commission,
                    }],
                    "{ib} {}",
                    period.label()
                );
            } else {
                assert!(s.lines.tiers.is_empty(), "{ib}: under the tier");
            }
            let tier_total: Decimal = s.lines.tiers.iter().map(|t| t.amount).sum();
            assert_eq!(s.lines.accrued, all + tier_total);
            paid += s.lines.paid;
            accrued += s.lines.accrued;
            legs_total += all;
            carried = s.lines.carried_out;
        }
        assert!(legs_total > Decimal::ZERO);
        assert_eq!(paid + carried, accrued, "{ib}: paid + carried = accrued");
        let payable = AccountId::ib_payable(ib, usd()).unwrap();
        assert_eq!(
            balance(&app, &payable).await,
            paid,
            "{ib}: the ledger holds it"
        );
    }
    // The first day reached the tier for both levels (3 lots), the second did not (1 lot).
    assert_eq!(
        statement(&app, &Beneficiary::Ib(sub.clone()), first)
            .await
            .lines
            .tiers
            .len(),
        1
    );

    // The client's rebates: a statement of their own each day, credited to their wallet.
    let who = Beneficiary::Client(client.clone());
    let (mut paid, mut rebates) = (Decimal::ZERO, Decimal::ZERO);
    let mut carried = Decimal::ZERO;
    for period in [first, second] {
        let s = statement(&app, &who, period).await;
        let rebate_legs = legs(&app, &who, period).await;
        assert!(!rebate_legs.is_empty());
        assert!(
            rebate_legs
                .iter()
                .all(|l| l.leg.kind == LegKind::Rebate && l.leg.level == 0)
        );
        let rebate: Decimal = rebate_legs.iter().map(|l| l.leg.amount).sum();
        // Taken from level 0's leg: the sub-IB keeps the rest of it.
        let (_, level0, _) = leg_sums(&app, &Beneficiary::Ib(sub.clone()), period).await;
        assert_eq!(
            rebate,
            (level0 + rebate) * dec(REBATE_PERCENT) / Decimal::ONE_HUNDRED
        );
        assert_eq!(s.ib_id, None, "a client's statement is no IB's");
        assert_eq!(s.status, StatementStatus::Paid);
        assert_eq!(
            (s.lines.rebate, s.lines.commission),
            (rebate, Decimal::ZERO)
        );
        assert!(s.lines.tiers.is_empty(), "tiers lift IBs' amounts only");
        assert_eq!(s.lines.carried_in, carried);
        paid += s.lines.paid;
        rebates += rebate;
        carried = s.lines.carried_out;
    }
    assert_eq!(paid + carried, rebates, "client: paid + carried = accrued");
    assert_eq!(
        balance(&app, &wallet).await - wallet_before,
        paid,
        "the rebates are in the client's wallet"
    );

    // Running the days again pays nothing twice.
    let before = app.counts().await;
    for period in [first, second] {
        run_period(&app, period, "schedule").await;
    }
    assert_eq!(app.counts().await, before, "a rerun writes nothing");
    assert_eq!(balance(&app, &wallet).await - wallet_before, paid);
}
