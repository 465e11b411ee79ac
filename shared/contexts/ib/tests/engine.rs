//! The commission engine rule by rule: each test builds a tree, a plan and a few deals, and
//! checks the legs against amounts worked out from the plan's numbers.

mod common;

use brokeros_ib::model::engine::{Exclusion, Note};
use brokeros_ib::model::{
    Accrual, Beneficiary, Carry, EngineState, FixedRates, FxRate, LegKind, PlanBook, Standing,
    close_periods,
};
use brokeros_trading::{DealAction, DealChange, DealChangeKind, DealEntry};
use common::*;
use rust_decimal::Decimal;

fn ib_legs(legs: &[brokeros_ib::model::Accrual], deal: u64) -> Vec<(String, u32, Decimal)> {
    legs.iter()
        .filter(|l| l.deal == deal && l.kind == LegKind::Commission)
        .map(|l| (l.beneficiary.to_string(), l.level, l.amount))
        .collect()
}

#[test]
fn a_closed_deal_pays_each_level_its_share_with_the_explanation() {
    let tree = line(3);
    let rate = d("10");
    let percents = [d("60"), d("30"), d("10")];
    let p = plan(&format!(
        r#"{},"levels":{{"percents":["{}","{}","{}"]}}"#,
        per_lot("10"),
        percents[0],
        percents[1],
        percents[2]
    ));
    let legs = run(
        &tree,
        p,
        &FixedRates::default(),
        &round_trip(10, 1, "1.5", JAN_1, 120_000),
    );
    assert!(
        ib_legs(&legs, 10).is_empty(),
        "the opening deal earns nothing on close-only plans"
    );
    let expected: Vec<(String, u32, Decimal)> = ["ib:ib_2", "ib:ib_1", "ib:ib_0"]
        .iter()
        .zip(percents)
        .enumerate()
        .map(|(level, (ib, p))| {
            (
                ib.to_string(),
                level as u32,
                rate * d("1.5") * p / Decimal::ONE_HUNDRED,
            )
        })
        .collect();
    assert_eq!(ib_legs(&legs, 11), expected);
    let leg = &legs[0];
    let basis = &leg.explanation.basis;
    assert_eq!((basis.plan_id.as_str(), basis.plan_version), ("p", 1));
    assert_eq!(basis.rule_id.as_deref(), Some("all"));
    assert_eq!(basis.volume.counted_lots, d("1.5"));
    assert_eq!(basis.volume.held_ms, Some(120_000));
    assert_eq!(basis.period.label(), "2026-01");
    assert_eq!(leg.explanation.fx, None);
    assert_eq!(leg.id(), "mt5-1:11:0:ib:ib_2:0:commission");
    let stored = serde_json::to_string(leg).unwrap();
    assert_eq!(&serde_json::from_str::<Accrual>(&stored).unwrap(), leg);
}

#[test]
fn a_deal_under_the_minimum_lots_earns_nothing() {
    let tree = line(1);
    let p = plan(&format!(r#"{},"min_lots":"0.5""#, per_lot("7")));
    let mut deals = round_trip(10, 1, "0.4", JAN_1, 600_000).to_vec();
    deals.extend(round_trip(20, 1, "0.5", JAN_1 + DAY, 600_000));
    let legs = run(&tree, p, &FixedRates::default(), &deals);
    let small = ib_legs(&legs, 11);
    assert_eq!(small, [("ib:ib_0".to_string(), 0, Decimal::ZERO)]);
    let small_leg = legs.iter().find(|l| l.deal == 11).unwrap();
    assert_eq!(
        small_leg.explanation.basis.volume.excluded,
        Some(Exclusion::BelowMinLots)
    );
    assert_eq!(
        ib_legs(&legs, 21),
        [("ib:ib_0".to_string(), 0, d("7") * d("0.5"))]
    );
}

#[test]
fn a_sub_minute_scalp_earns_nothing() {
    let tree = line(1);
    let p = plan(&format!(r#"{},"min_hold_seconds":60"#, per_lot("7")));
    let mut deals = round_trip(10, 1, "1", JAN_1, 59_999).to_vec();
    deals.extend(round_trip(20, 1, "1", JAN_1 + DAY, 60_000));
    let legs = run(&tree, p, &FixedRates::default(), &deals);
    assert_eq!(
        sum_for(&legs[..1], "ib:ib_0", LegKind::Commission),
        Decimal::ZERO
    );
    assert_eq!(
        legs[0].explanation.basis.volume.excluded,
        Some(Exclusion::HeldTooShort)
    );
    assert_eq!(ib_legs(&legs, 21), [("ib:ib_0".to_string(), 0, d("7"))]);
}

#[test]
fn a_position_opened_against_an_open_opposite_one_earns_nothing_while_hedged() {
    let tree = line(1);
    let p = plan(&format!(r#"{},"exclude_hedged":true"#, per_lot("5")));
    let deals = [
        trade(1, 1, 100, DealAction::Buy, DealEntry::In, "1", JAN_1),
        trade(
            2,
            1,
            200,
            DealAction::Sell,
            DealEntry::In,
            "1",
            JAN_1 + 1_000,
        ),
        // closes the hedging sell while the buy is still open: hedged, nothing
        trade(
            3,
            1,
            200,
            DealAction::Buy,
            DealEntry::Out,
            "1",
            JAN_1 + 2_000,
        ),
        // closes the buy, unhedged all along: earns
        trade(
            4,
            1,
            100,
            DealAction::Sell,
            DealEntry::Out,
            "1",
            JAN_1 + 3_000,
        ),
    ];
    let legs = run(&tree, p.clone(), &FixedRates::default(), &deals);
    assert_eq!(
        ib_legs(&legs, 3),
        [("ib:ib_0".to_string(), 0, Decimal::ZERO)]
    );
    let hedged = legs.iter().find(|l| l.deal == 3).unwrap();
    assert_eq!(hedged.explanation.basis.volume.hedged_lots, d("1"));
    assert_eq!(ib_legs(&legs, 4), [("ib:ib_0".to_string(), 0, d("5"))]);

    let on_open = plan(&format!(
        r#"{},"exclude_hedged":true,"earn_on":"open""#,
        per_lot("5")
    ));
    let legs = run(&tree, on_open, &FixedRates::default(), &deals);
    assert_eq!(ib_legs(&legs, 1), [("ib:ib_0".to_string(), 0, d("5"))]);
    assert_eq!(
        ib_legs(&legs, 2),
        [("ib:ib_0".to_string(), 0, Decimal::ZERO)]
    );
}

#[test]
fn the_levels_of_a_deal_never_exceed_its_cap() {
    let tree = line(3);
    let (rate, cap) = (d("10"), d("6"));
    let p = plan(&format!(
        r#"{},"levels":{{"percents":["50","30","20"],"cap_per_deal":"{cap}"}}"#,
        per_lot("10")
    ));
    let legs = run(
        &tree,
        p,
        &FixedRates::default(),
        &round_trip(1, 1, "1", JAN_1, 60_000),
    );
    let level0 = rate * d("0.5");
    assert_eq!(
        ib_legs(&legs, 2),
        [
            ("ib:ib_2".to_string(), 0, level0),
            ("ib:ib_1".to_string(), 1, cap - level0),
            ("ib:ib_0".to_string(), 2, Decimal::ZERO),
        ]
    );
    assert!(
        legs.iter()
            .filter(|l| l.level > 0)
            .all(|l| l.explanation.capped)
    );
}

#[test]
fn a_suspended_ib_forfeits_its_leg_and_the_others_keep_theirs() {
    let mut tree = Hierarchy::default();
    let mut middle = ib("mid", Some("top"));
    middle
        .standing
        .change("standing", JAN_1 + DAY, Standing::Suspended)
        .unwrap();
    tree.insert_ib(ib("top", None)).unwrap();
    tree.insert_ib(middle).unwrap();
    tree.insert_ib(ib("own", Some("mid"))).unwrap();
    tree.insert_client(client("c1", "own", &[1])).unwrap();
    let p = plan(&format!(
        r#"{},"levels":{{"percents":["50","30","20"]}}"#,
        per_lot("10")
    ));
    let mut deals = round_trip(1, 1, "1", JAN_1, 60_000).to_vec();
    deals.extend(round_trip(3, 1, "1", JAN_1 + 2 * DAY, 60_000));
    let legs = run(&tree, p, &FixedRates::default(), &deals);
    assert_eq!(ib_legs(&legs, 2)[1], ("ib:mid".to_string(), 1, d("3")));
    let after = ib_legs(&legs, 4);
    assert_eq!(after[0], ("ib:own".to_string(), 0, d("5")));
    assert_eq!(after[1], ("ib:mid".to_string(), 1, Decimal::ZERO));
    assert_eq!(
        after[2],
        ("ib:top".to_string(), 2, d("2")),
        "not redistributed"
    );
    let forfeited = legs.iter().find(|l| l.deal == 4 && l.level == 1).unwrap();
    assert_eq!(forfeited.explanation.note, Some(Note::Forfeited));
}

use brokeros_ib::model::Hierarchy;

#[test]
fn a_move_mid_period_sends_later_deals_to_the_new_chain_only() {
    let mut tree = Hierarchy::default();
    tree.insert_ib(ib("old_master", None)).unwrap();
    tree.insert_ib(ib("new_master", None)).unwrap();
    let mut sub = ib("sub", Some("old_master"));
    let moved_at = JAN_1 + 10 * DAY;
    sub.parent
        .change("parent", moved_at, Some("new_master".into()))
        .unwrap();
    tree.insert_ib(sub).unwrap();
    tree.insert_client(client("c1", "sub", &[1])).unwrap();
    let p = plan(&format!(
        r#"{},"levels":{{"percents":["70","30"]}}"#,
        per_lot("10")
    ));
    let mut deals = round_trip(1, 1, "1", moved_at - 120_000, 60_000).to_vec();
    deals.extend(round_trip(3, 1, "1", moved_at - 30_000, 60_000));
    let legs = run(&tree, p, &FixedRates::default(), &deals);
    let beneficiaries =
        |deal| -> Vec<String> { ib_legs(&legs, deal).into_iter().map(|l| l.0).collect() };
    assert_eq!(beneficiaries(2), ["ib:sub", "ib:old_master"]);
    // opened before the move, closed after it: the closing deal's time decides
    assert_eq!(beneficiaries(4), ["ib:sub", "ib:new_master"]);
}

#[test]
fn the_tier_reached_at_period_close_applies_to_the_whole_period() {
    let tree = line(1);
    let p = plan(&format!(
        r#"{},"tiers":[{{"min_lots":"0","multiplier":"1"}},{{"min_lots":"10","multiplier":"1.5"}}]"#,
        per_lot("4")
    ));
    let mut deals = round_trip(1, 1, "6", JAN_1 + 4 * DAY, 60_000).to_vec();
    deals.extend(round_trip(3, 1, "6", JAN_1 + 19 * DAY, 60_000));
    deals.extend(round_trip(5, 1, "3", JAN_1 + 40 * DAY, 60_000));
    let legs = run(&tree, p.clone(), &FixedRates::default(), &deals);
    let book = PlanBook::new([p]).unwrap();
    let statements = close_periods(&legs, &book, &mut Carry::default());
    let jan = &statements[0];
    assert_eq!(jan.period.label(), "2026-01");
    let base = d("4") * d("12");
    assert_eq!(jan.commission, base);
    assert_eq!(jan.tiers.len(), 1);
    assert_eq!(jan.tiers[0].period_lots, d("12"));
    assert_eq!(jan.tiers[0].amount, (d("1.5") - Decimal::ONE) * base);
    assert_eq!(jan.paid, base * d("1.5"));
    let feb = &statements[1];
    assert_eq!(feb.period.label(), "2026-02");
    assert!(feb.tiers.is_empty());
    assert_eq!(feb.paid, d("4") * d("3"));
}

#[test]
fn the_rebate_goes_back_to_the_client_from_level_0() {
    let tree = line(2);
    let p = plan(&format!(
        r#"{},"levels":{{"percents":["80","20"]}},"rebate":{{"percent":"25"}}"#,
        per_lot("10")
    ));
    let legs = run(
        &tree,
        p,
        &FixedRates::default(),
        &round_trip(1, 1, "1", JAN_1, 60_000),
    );
    let level0 = d("10") * d("0.8");
    let rebate = level0 * d("0.25");
    assert_eq!(sum_for(&legs, "client:c1", LegKind::Rebate), rebate);
    assert_eq!(
        sum_for(&legs, "ib:ib_1", LegKind::Commission),
        level0 - rebate
    );
    assert_eq!(sum_for(&legs, "ib:ib_0", LegKind::Commission), d("2"));
}

/// One master IB paid in EUR, its client `c1` trading in USD on login 1.
fn euro_tree() -> Hierarchy {
    let mut tree = Hierarchy::default();
    let mut euro_ib = ib("eu", None);
    euro_ib.currency = "EUR".into();
    tree.insert_ib(euro_ib).unwrap();
    tree.insert_client(client("c1", "eu", &[1])).unwrap();
    tree
}

fn usd_eur(rate: &str, as_of_msc: i64) -> FxRate {
    FxRate {
        from: "USD".into(),
        to: "EUR".into(),
        rate: d(rate),
        source: "simulated".into(),
        as_of_msc,
    }
}

#[test]
fn shares_of_the_spread_and_of_the_commission_are_in_the_deal_currency_converted_for_the_ib() {
    let tree = euro_tree();
    let p = plan(
        r#","rules":[{"id":"fx","priority":1,"match":{"symbol_groups":["majors"]},"earns":{"spread_share":"50"}},
                     {"id":"rest","match":{},"earns":{"commission_share":"40"}}]"#,
    );
    let quote = usd_eur("0.9", JAN_1 - 1);
    let rates = FixedRates::new([quote.clone()]);
    let mut deals = round_trip(1, 1, "2", JAN_1, 60_000).to_vec();
    let mut gold = round_trip(3, 1, "1", JAN_1 + 1000, 60_000);
    gold.iter_mut().for_each(|g| g.symbol = "XAUUSD".into());
    deals.extend(gold.clone());
    let legs = run(&tree, p, &rates, &deals);
    let close = &deals[1];
    let spread = (close.market_ask - close.market_bid) * close.contract_size * close.volume;
    let spread_leg = legs.iter().find(|l| l.deal == 2).unwrap();
    assert_eq!(
        spread_leg.explanation.amount_in_basis_currency,
        spread * d("0.5")
    );
    assert_eq!(spread_leg.amount, spread * d("0.5") * d("0.9"));
    assert_eq!(spread_leg.explanation.fx, Some(quote));
    let commission_leg = legs.iter().find(|l| l.deal == 4).unwrap();
    assert_eq!(
        commission_leg.explanation.basis.rule_id.as_deref(),
        Some("rest")
    );
    assert_eq!(
        commission_leg.amount,
        -gold[1].commission * d("0.4") * d("0.9")
    );
    let no_rates = FixedRates::default();
    let book = PlanBook::new([plan(&per_lot("1"))]).unwrap();
    let engine = engine(&book, &tree, &no_rates);
    let err = EngineState::live()
        .apply_deal(
            &engine,
            &round_trip(1, 1, "1", JAN_1, 1)[1],
            &mut Vec::new(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "fx_rate_missing");
}

#[test]
fn cpa_is_paid_once_when_the_client_qualifies() {
    let tree = line(1);
    let p = plan(
        r#","cpa":{"min_first_deposit":"200","min_lots":"2","within_days":30,"amount":"150"}"#,
    );
    let mut deals = vec![deposit(1, 1, "250", JAN_1)];
    deals.extend(round_trip(2, 1, "1.5", JAN_1 + DAY, 60_000));
    deals.extend(round_trip(4, 1, "0.5", JAN_1 + 2 * DAY, 60_000));
    deals.extend(round_trip(6, 1, "5", JAN_1 + 3 * DAY, 60_000));
    let legs = run(&tree, p.clone(), &FixedRates::default(), &deals);
    let cpa: Vec<_> = legs.iter().filter(|l| l.kind == LegKind::Cpa).collect();
    assert_eq!(cpa.len(), 1);
    assert_eq!((cpa[0].deal, cpa[0].amount), (5, d("150")));

    let mut small = deals.clone();
    small[0] = deposit(1, 1, "199.99", JAN_1);
    assert!(
        run(&tree, p.clone(), &FixedRates::default(), &small)
            .iter()
            .all(|l| l.kind != LegKind::Cpa)
    );
    let mut late = deals.clone();
    late.truncate(3);
    late.extend(round_trip(4, 1, "0.5", JAN_1 + 31 * DAY, 60_000));
    assert!(
        run(&tree, p, &FixedRates::default(), &late)
            .iter()
            .all(|l| l.kind != LegKind::Cpa)
    );
}

#[test]
fn revenue_share_pays_losses_and_carries_gains_forward() {
    let tree = line(1);
    let p = plan(r#","revenue_share":{"percent":"25"}"#);
    let month = 31 * DAY;
    let mut deals = Vec::new();
    for (n, profit) in ["-100", "300", "-400"].iter().enumerate() {
        let mut pair = round_trip(
            10 * n as u64 + 1,
            1,
            "1",
            JAN_1 + n as i64 * month + DAY,
            60_000,
        );
        pair[1].profit = d(profit);
        deals.extend(pair);
    }
    let legs = run(&tree, p.clone(), &FixedRates::default(), &deals);
    let loss = |pair: &[brokeros_trading::PlatformDeal]| -> Decimal {
        -pair
            .iter()
            .map(|x| x.profit + x.swap + x.commission)
            .sum::<Decimal>()
            * d("0.25")
    };
    let (jan, feb, mar) = (loss(&deals[0..2]), loss(&deals[2..4]), loss(&deals[4..6]));
    assert!(jan > Decimal::ZERO && feb < Decimal::ZERO && mar + feb > Decimal::ZERO);
    let book = PlanBook::new([p]).unwrap();
    let mut carry = Carry::default();
    let statements = close_periods(&legs, &book, &mut carry);
    let paid: Vec<Decimal> = statements.iter().map(|s| s.paid).collect();
    let round = |x: Decimal| {
        x.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
    };
    assert_eq!(
        paid,
        [
            round(jan),
            Decimal::ZERO,
            round(mar + feb + (jan - round(jan)))
        ]
    );
    assert_eq!(statements[1].revenue_share[0].carried_out, feb);
    let accrued: Decimal = statements.iter().map(|s| s.accrued).sum();
    let ib = Beneficiary::Ib("ib_0".into());
    assert_eq!(
        paid.iter().sum::<Decimal>() + carry.total(&ib, brokeros_kernel::money::USD),
        accrued
    );
}

#[test]
fn corrections_and_cancellations_answer_with_reversals() {
    let tree = line(2);
    let p = plan(&per_lot("10"));
    let book = PlanBook::new([p]).unwrap();
    let rates = FixedRates::default();
    let engine = engine(&book, &tree, &rates);
    let mut state = EngineState::live();
    let mut legs = Vec::new();
    let [open, close] = round_trip(1, 1, "1", JAN_1, 60_000);
    state.apply_deal(&engine, &open, &mut legs).unwrap();
    state.apply_deal(&engine, &close, &mut legs).unwrap();
    let mut corrected = close.clone();
    corrected.volume = d("0.5");
    let change = |kind, revision, deal: &brokeros_trading::PlatformDeal| DealChange {
        kind,
        revision,
        deal: deal.clone(),
        changed_at_msc: JAN_1 + DAY,
    };
    let mut lengths = Vec::new();
    for _ in 0..2 {
        let correction = change(DealChangeKind::Corrected, 1, &corrected);
        state.apply(&engine, &correction, &mut legs).unwrap();
        lengths.push(legs.len());
    }
    assert_eq!(
        lengths[0], lengths[1],
        "a change applied twice causes nothing"
    );
    assert!(legs.iter().any(|l| l.reversal && l.id().ends_with(":x")));
    let fresh = run(
        &tree,
        plan(&per_lot("10")),
        &rates,
        &[open.clone(), corrected.clone()],
    );
    assert_eq!(net(&legs), net(&fresh));
    state
        .apply(
            &engine,
            &change(DealChangeKind::Cancelled, 2, &corrected),
            &mut legs,
        )
        .unwrap();
    assert!(net(&legs).is_empty());
}

#[test]
fn a_single_pass_refuses_deals_out_of_time_order() {
    let tree = line(1);
    let book = PlanBook::new([plan(&per_lot("1"))]).unwrap();
    let rates = FixedRates::default();
    let engine = engine(&book, &tree, &rates);
    let mut state = EngineState::streaming();
    let [open, close] = round_trip(1, 1, "1", JAN_1, 60_000);
    state.apply_deal(&engine, &close, &mut Vec::new()).unwrap();
    let err = state
        .apply_deal(&engine, &open, &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.code(), "deals_out_of_order");
    let mut empty = open.clone();
    empty.volume = Decimal::ZERO;
    assert_eq!(
        state
            .apply_deal(&engine, &empty, &mut Vec::new())
            .unwrap_err()
            .body()
            .field
            .as_deref(),
        Some("deals.volume")
    );
}

#[test]
fn a_deal_that_fails_leaves_the_state_as_it_was_for_its_retry() {
    let tree = euro_tree();
    let book = PlanBook::new([plan(&per_lot("10"))]).unwrap();
    let (no_rates, rates) = (FixedRates::default(), FixedRates::new([usd_eur("0.9", 0)]));
    let [open, close] = round_trip(1, 1, "1", JAN_1, 60_000);
    let mut state = EngineState::live();
    let mut legs = Vec::new();
    state
        .apply_deal(&engine(&book, &tree, &no_rates), &open, &mut legs)
        .unwrap();
    let failed = state.apply_deal(&engine(&book, &tree, &no_rates), &close, &mut legs);
    assert_eq!(failed.unwrap_err().code(), "fx_rate_missing");
    assert!(legs.is_empty());
    state
        .apply_deal(&engine(&book, &tree, &rates), &close, &mut legs)
        .unwrap();
    let fresh = run(&tree, plan(&per_lot("10")), &rates, &[open, close]);
    assert_eq!(net(&legs), net(&fresh));
    assert_eq!(legs[0].explanation.basis.volume.held_ms, Some(60_000));
}

#[test]
fn each_deal_is_paid_by_the_plan_version_in_force_at_its_time() {
    let tree = line(1);
    let version = |n: u32, from: i64, rate: &str| {
        brokeros_ib::model::CommissionPlan::from_json(
            &format!(
                r#"{{"id":"p","version":{n},"effective_from":{from},"currency":"USD"{}}}"#,
                per_lot(rate)
            ),
            &groups(),
        )
        .unwrap()
    };
    let change_at = JAN_1 + 10 * DAY;
    let book = PlanBook::new([version(1, 0, "5"), version(2, change_at, "8")]).unwrap();
    let rates = FixedRates::default();
    let mut deals = round_trip(1, 1, "1", change_at - 120_000, 60_000).to_vec();
    deals.extend(round_trip(3, 1, "1", change_at - 30_000, 60_000));
    let mut state = EngineState::live();
    let mut legs = Vec::new();
    for deal in &deals {
        state
            .apply_deal(&engine(&book, &tree, &rates), deal, &mut legs)
            .unwrap();
    }
    let paid: Vec<(u64, u32, Decimal)> = legs
        .iter()
        .map(|l| (l.deal, l.explanation.basis.plan_version, l.amount))
        .collect();
    assert_eq!(paid, [(2, 1, d("5")), (4, 2, d("8"))]);
}
