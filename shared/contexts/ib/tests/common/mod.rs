//! Trees, plans and deals for the engine's tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use brokeros_ib::model::{
    Accrual, ClientNode, CommissionPlan, Engine, EngineState, FixedRates, Hierarchy, IbNode,
    LegKind, PlanBook, Standing, SymbolGroups, Timeline,
};
use brokeros_trading::{DealAction, DealEntry, PlatformDeal};
use rust_decimal::Decimal;

pub const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
pub const JAN_1: i64 = 1_767_225_600_000;

pub fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub fn groups() -> SymbolGroups {
    SymbolGroups::from([(
        "majors".to_string(),
        BTreeSet::from(["EURUSD".to_string(), "GBPUSD".to_string()]),
    )])
}

pub fn ib(id: &str, parent: Option<&str>) -> IbNode {
    IbNode {
        id: id.into(),
        currency: "USD".into(),
        parent: Timeline::starting(0, parent.map(String::from)),
        standing: Timeline::starting(0, Standing::Active),
        plans: Timeline::starting(0, vec!["p".into()]),
    }
}

pub fn client(id: &str, ib: &str, logins: &[u64]) -> ClientNode {
    ClientNode {
        id: id.into(),
        ib: Timeline::starting(0, Some(ib.into())),
        logins: logins.to_vec(),
    }
}

/// `ib_0` is the master, `ib_{n}` is under `ib_{n-1}`; client `c1` (login 1) is under the
/// deepest, client `c2` (logins 2 and 3) too.
pub fn line(depth: usize) -> Hierarchy {
    let mut tree = Hierarchy::default();
    for n in 0..depth {
        let parent = (n > 0).then(|| format!("ib_{}", n - 1));
        tree.insert_ib(ib(&format!("ib_{n}"), parent.as_deref()))
            .unwrap();
    }
    let deepest = format!("ib_{}", depth - 1);
    tree.insert_client(client("c1", &deepest, &[1])).unwrap();
    tree.insert_client(client("c2", &deepest, &[2, 3])).unwrap();
    tree
}

/// A plan `p` version 1 from the epoch with `body` (fields after the header, comma first).
pub fn plan(body: &str) -> CommissionPlan {
    CommissionPlan::from_json(
        &format!(r#"{{"id":"p","version":1,"effective_from":0,"currency":"USD"{body}}}"#),
        &groups(),
    )
    .unwrap()
}

pub fn per_lot(rate: &str) -> String {
    format!(r#","rules":[{{"id":"all","match":{{}},"earns":{{"per_lot":"{rate}"}}}}]"#)
}

pub fn trade(
    deal: u64,
    login: u64,
    position: u64,
    action: DealAction,
    entry: DealEntry,
    volume: &str,
    time_msc: i64,
) -> PlatformDeal {
    PlatformDeal {
        deal,
        login,
        order: deal,
        position_id: position,
        symbol: "EURUSD".into(),
        action,
        entry,
        volume: d(volume),
        price: d("1.1000"),
        profit: Decimal::ZERO,
        commission: -d(volume) * d("3.5"),
        swap: Decimal::ZERO,
        currency: "USD".into(),
        group: "real\\std".into(),
        contract_size: d("100000"),
        digits: 5,
        market_bid: d("1.10000"),
        market_ask: d("1.10012"),
        rate_profit: Decimal::ONE,
        time_msc,
    }
}

pub fn deposit(deal: u64, login: u64, amount: &str, time_msc: i64) -> PlatformDeal {
    PlatformDeal {
        action: DealAction::Balance,
        entry: DealEntry::In,
        symbol: String::new(),
        volume: Decimal::ZERO,
        profit: d(amount),
        commission: Decimal::ZERO,
        position_id: 0,
        order: 0,
        ..trade(
            deal,
            login,
            0,
            DealAction::Balance,
            DealEntry::In,
            "0",
            time_msc,
        )
    }
}

/// Open then close `lots` of a buy position, `held_ms` apart.
pub fn round_trip(
    first_deal: u64,
    login: u64,
    lots: &str,
    at: i64,
    held_ms: i64,
) -> [PlatformDeal; 2] {
    [
        trade(
            first_deal,
            login,
            first_deal,
            DealAction::Buy,
            DealEntry::In,
            lots,
            at,
        ),
        trade(
            first_deal + 1,
            login,
            first_deal,
            DealAction::Sell,
            DealEntry::Out,
            lots,
            at + held_ms,
        ),
    ]
}

pub fn engine<'a>(book: &'a PlanBook, tree: &'a Hierarchy, rates: &'a FixedRates) -> Engine<'a> {
    Engine {
        plans: book,
        tree,
        rates,
        server: Arc::from("mt5-1"),
    }
}

pub fn run(
    tree: &Hierarchy,
    plan: CommissionPlan,
    rates: &FixedRates,
    deals: &[PlatformDeal],
) -> Vec<Accrual> {
    let book = PlanBook::new([plan]).unwrap();
    let engine = engine(&book, tree, rates);
    let mut state = EngineState::live();
    let mut legs = Vec::new();
    for deal in deals {
        state.apply_deal(&engine, deal, &mut legs).unwrap();
    }
    legs
}

/// Net amount per (deal, beneficiary, level, kind), zero sums left out.
pub fn net(legs: &[Accrual]) -> BTreeMap<(u64, String, u32, LegKind), Decimal> {
    let mut sums: BTreeMap<(u64, String, u32, LegKind), Decimal> = BTreeMap::new();
    for leg in legs {
        *sums
            .entry((leg.deal, leg.beneficiary.to_string(), leg.level, leg.kind))
            .or_default() += leg.amount;
    }
    sums.retain(|_, v| !v.is_zero());
    sums
}

pub fn sum_for(legs: &[Accrual], beneficiary: &str, kind: LegKind) -> Decimal {
    legs.iter()
        .filter(|l| l.beneficiary.to_string() == beneficiary && l.kind == kind)
        .map(|l| l.amount)
        .sum()
}
