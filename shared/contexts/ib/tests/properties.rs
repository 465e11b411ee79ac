//! The engine's properties over generated trading histories: arrival order and batching do not
//! change what is owed, the levels of a deal never exceed its cap, statements pay exactly what
//! accrued over time, and a move never makes one deal pay two chains.

mod common;

use std::collections::{BTreeMap, HashMap};

use brokeros_ib::model::{
    Accrual, Beneficiary, Carry, CommissionPlan, Engine, EngineState, FixedRates, Hierarchy,
    LegKind, PlanBook, close_periods,
};
use brokeros_trading::{DealAction, DealChange, DealChangeKind, DealEntry, PlatformDeal};
use common::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Every feature at once, with rates that leave remainders.
fn rich_plan() -> CommissionPlan {
    plan(
        r#","earn_on":"both","min_lots":"0.2","min_hold_seconds":30,"exclude_hedged":true,
        "volume_modifiers":{"real\\cent":"0.01"},
        "rules":[{"id":"majors","priority":1,"match":{"symbol_groups":["majors"]},"earns":{"per_lot":"7.123"}},
                 {"id":"rest","match":{},"earns":{"commission_share":"33.3"}}],
        "tiers":[{"min_lots":"0","multiplier":"1"},{"min_lots":"3","multiplier":"1.17"}],
        "levels":{"mode":"fixed","percents":["50","30","15"],"cap_per_deal":"4.5"},
        "rebate":{"percent":"10"},
        "cpa":{"min_first_deposit":"100","min_lots":"1","within_days":2,"amount":"33.33"},
        "revenue_share":{"percent":"20"}"#,
    )
}

#[derive(Debug, Clone)]
enum Op {
    Open { buy: bool, lots: i64 },
    Close { which: usize, part: i64, buy: bool },
    Deposit { amount: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), 1i64..400).prop_map(|(buy, lots)| Op::Open { buy, lots }),
        3 => (any::<usize>(), 1i64..=100, any::<bool>())
            .prop_map(|(which, part, buy)| Op::Close { which, part, buy }),
        1 => (1i64..50_000).prop_map(|amount| Op::Deposit { amount }),
    ]
}

/// A trade of `hundredths` of a lot, charged 3.5 per lot.
fn lots_trade(
    id: u64,
    login: u64,
    position: u64,
    buy: bool,
    entry: DealEntry,
    hundredths: i64,
    at: i64,
) -> PlatformDeal {
    let action = if buy {
        DealAction::Buy
    } else {
        DealAction::Sell
    };
    let mut deal = trade(id, login, position, action, entry, "1", at);
    deal.volume = Decimal::new(hundredths, 2);
    deal.commission = -deal.volume * d("3.5");
    deal
}

/// A history of (login index, op, milliseconds after the previous deal) as deals.
fn history() -> impl Strategy<Value = Vec<PlatformDeal>> {
    prop::collection::vec(
        (0usize..3, op(), 0i64..(12 * 3_600_000), any::<bool>()),
        1..40,
    )
    .prop_map(|ops| {
        let logins = [1u64, 2, 3];
        let mut open: HashMap<u64, Vec<(u64, bool, i64)>> = HashMap::new();
        let (mut at, mut next) = (JAN_1, 1u64);
        let mut deals = Vec::new();
        for (who, op, gap, gold) in ops {
            at += gap;
            let login = logins[who];
            let positions = open.entry(login).or_default();
            let id = next;
            next += 1;
            let mut deal = match op {
                Op::Deposit { amount } => {
                    deposit(id, login, &Decimal::new(amount, 2).to_string(), at)
                }
                Op::Close { which, part, .. } if !positions.is_empty() => {
                    let i = which % positions.len();
                    let (position, buy, lots) = positions[i];
                    let closing = (lots * part / 100).max(1);
                    let mut deal =
                        lots_trade(id, login, position, !buy, DealEntry::Out, closing, at);
                    deal.profit = Decimal::new((part - 50) * 37, 2);
                    if closing == lots {
                        positions.remove(i);
                    } else {
                        positions[i].2 -= closing;
                    }
                    deal
                }
                // nothing to close: the client opens a sell instead
                Op::Open { buy, lots }
                | Op::Close {
                    part: lots, buy, ..
                } => {
                    positions.push((id, buy, lots));
                    lots_trade(id, login, id, buy, DealEntry::In, lots, at)
                }
            };
            if gold && deal.action.is_trade() {
                deal.symbol = "XAUUSD".into();
            }
            deals.push(deal);
        }
        deals
    })
}

/// The legs of the final deals, computed once in time order.
fn full_recomputation(engine: &Engine<'_>, deals: &[PlatformDeal]) -> Vec<Accrual> {
    let mut sorted = deals.to_vec();
    sorted.sort_by_key(|x| (x.time_msc, x.deal));
    let mut state = EngineState::live();
    let mut legs = Vec::new();
    for deal in &sorted {
        state.apply_deal(engine, deal, &mut legs).unwrap();
    }
    legs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arrival_order_and_batches_do_not_change_what_is_owed(
        deals in history(),
        corrections in prop::collection::vec((any::<prop::sample::Index>(), 1i64..300, -3_600_000i64..3_600_000, any::<bool>()), 0..6),
        order in any::<prop::sample::Index>(),
        batch_sizes in prop::collection::vec(1usize..8, 1..10),
        shuffle_seed in any::<u64>(),
    ) {
        let tree = line(4);
        let book = PlanBook::new([rich_plan()]).unwrap();
        let rates = FixedRates::default();
        let engine = engine(&book, &tree, &rates);

        let mut changes: Vec<DealChange> = deals.iter().map(|deal| DealChange {
            kind: DealChangeKind::Added, revision: 0, deal: deal.clone(), changed_at_msc: deal.time_msc,
        }).collect();
        let mut last: BTreeMap<u64, (DealChangeKind, u32, PlatformDeal)> =
            deals.iter().map(|x| (x.deal, (DealChangeKind::Added, 0, x.clone()))).collect();
        for (pick, lots, shift, cancel) in corrections {
            let target = pick.get(&deals).deal;
            let (_, revision, current) = last[&target].clone();
            let mut deal = current.clone();
            let kind = if cancel { DealChangeKind::Cancelled } else { DealChangeKind::Corrected };
            if !cancel && deal.action.is_trade() {
                deal.volume = Decimal::new(lots, 2);
                deal.time_msc = (deal.time_msc + shift).max(JAN_1);
            }
            changes.push(DealChange { kind, revision: revision + 1, deal: deal.clone(), changed_at_msc: 0 });
            last.insert(target, (kind, revision + 1, deal));
        }
        // A deterministic shuffle from the seed, rotated by `order`.
        let mut rng = shuffle_seed | 1;
        for i in (1..changes.len()).rev() {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            changes.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        let rotate = order.index(changes.len());
        changes.rotate_left(rotate);

        let mut state = EngineState::live();
        let mut legs = Vec::new();
        let mut rest = changes.as_slice();
        for size in batch_sizes.iter().cycle() {
            if rest.is_empty() { break; }
            let (batch, tail) = rest.split_at((*size).min(rest.len()));
            let mut batch = batch.to_vec();
            batch.sort_by_key(|c| (c.deal.time_msc, c.deal.deal));
            for change in &batch {
                state.apply(&engine, change, &mut legs).unwrap();
            }
            rest = tail;
        }
        let finals: Vec<PlatformDeal> = last.into_values()
            .filter(|(kind, _, _)| *kind != DealChangeKind::Cancelled)
            .map(|(_, _, deal)| deal)
            .collect();
        let expected = full_recomputation(&engine, &finals);
        prop_assert_eq!(net(&legs), net(&expected));

        // Statements over the legs with their reversals pay exactly what accrued.
        let mut carry = Carry::default();
        let statements = close_periods(&legs, &book, &mut carry);
        let mut accrued: BTreeMap<(Beneficiary, &'static str), Decimal> = BTreeMap::new();
        let mut paid: BTreeMap<(Beneficiary, &'static str), Decimal> = BTreeMap::new();
        for s in &statements {
            *accrued.entry((s.beneficiary.clone(), s.currency.code)).or_default() += s.accrued;
            *paid.entry((s.beneficiary.clone(), s.currency.code)).or_default() += s.paid;
            prop_assert!(s.paid >= Decimal::ZERO);
            prop_assert_eq!(s.paid.scale(), s.currency.scale);
        }
        for ((who, code), total) in &accrued {
            let currency = brokeros_kernel::money::Currency::from_code(code).unwrap();
            prop_assert_eq!(paid[&(who.clone(), *code)] + carry.total(who, currency), *total);
        }
        let legs_total: Decimal = legs.iter().map(|l| l.amount).sum();
        let tier_total: Decimal = statements.iter().flat_map(|s| &s.tiers).map(|t| t.amount).sum();
        prop_assert_eq!(accrued.values().sum::<Decimal>(), legs_total + tier_total);
    }

    #[test]
    fn the_levels_of_a_deal_never_exceed_its_cap(deals in history(), cap_cents in 0i64..2000) {
        let tree = line(4);
        let mut p = rich_plan();
        let cap = Decimal::new(cap_cents, 2);
        p.levels.cap_per_deal = Some(cap);
        let book = PlanBook::new([p]).unwrap();
        let rates = FixedRates::default();
        let legs = full_recomputation(&engine(&book, &tree, &rates), &deals);
        let mut per_deal: BTreeMap<u64, Decimal> = BTreeMap::new();
        for leg in legs.iter().filter(|l| matches!(l.kind, LegKind::Commission | LegKind::Rebate)) {
            prop_assert!(leg.amount >= Decimal::ZERO);
            *per_deal.entry(leg.deal).or_default() += leg.explanation.amount_in_basis_currency;
        }
        for total in per_deal.values() {
            prop_assert!(*total <= cap, "{} > cap {}", total, cap);
        }
    }

    #[test]
    fn a_move_never_makes_one_deal_pay_two_chains(
        deals in history(),
        moves in prop::collection::vec((0usize..4, 0usize..4, 0i64..(20 * 3_600_000)), 0..4),
        client_moves in prop::collection::vec((0usize..2, 0usize..5, 0i64..(20 * 3_600_000)), 0..3),
    ) {
        let mut tree = line(4);
        tree.insert_ib(ib("other", None)).unwrap();
        let names = ["ib_0", "ib_1", "ib_2", "ib_3", "other"];
        let mut moves = moves;
        moves.sort_by_key(|m| m.2);
        for (who, to, after) in moves {
            let at = JAN_1 + after;
            let (who, to) = (names[who], names[to]);
            let node = tree.ib(who).unwrap();
            if node.parent.last_change().is_some_and(|t| t >= at) || tree.check_move(who, Some(to), at).is_err() {
                continue;
            }
            let mut moved = node.clone();
            moved.parent.change("parent", at, Some(to.to_string())).unwrap();
            tree = rebuild(&tree, Some(moved), None);
        }
        for (c, to, after) in client_moves {
            let id = ["c1", "c2"][c];
            let mut client = tree.client(id).unwrap().clone();
            if client.ib.change("ib", JAN_1 + after, Some(names[to].to_string())).is_ok() {
                tree = rebuild(&tree, None, Some(client));
            }
        }
        let book = PlanBook::new([rich_plan()]).unwrap();
        let rates = FixedRates::default();
        let legs = full_recomputation(&engine(&book, &tree, &rates), &deals);
        let mut by_deal: BTreeMap<(u64, LegKind), Vec<(u32, String)>> = BTreeMap::new();
        for leg in &legs {
            if let Beneficiary::Ib(id) = &leg.beneficiary {
                by_deal.entry((leg.deal, leg.kind)).or_default().push((leg.level, id.clone()));
            }
        }
        for ((deal, _), paid) in by_deal {
            let deal = deals.iter().find(|x| x.deal == deal).unwrap();
            let chain: Vec<(u32, String)> = tree
                .chain_at(deal.login, deal.time_msc)
                .map(|l| (l.level, l.ib.id.clone()))
                .take(paid.len())
                .collect();
            prop_assert_eq!(paid, chain);
        }
    }
}

/// The tree with one IB or one client replaced.
fn rebuild(
    tree: &Hierarchy,
    ib: Option<brokeros_ib::model::IbNode>,
    client: Option<brokeros_ib::model::ClientNode>,
) -> Hierarchy {
    let mut next = Hierarchy::default();
    for node in tree.ibs() {
        let replaced = ib.as_ref().filter(|r| r.id == node.id);
        next.insert_ib(replaced.unwrap_or(node).clone()).unwrap();
    }
    for node in tree.clients() {
        let replaced = client.as_ref().filter(|r| r.id == node.id);
        next.insert_client(replaced.unwrap_or(node).clone())
            .unwrap();
    }
    next.validate().unwrap();
    next
}
