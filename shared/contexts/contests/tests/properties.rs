//! Properties of the contest engine over generated contests: incremental scoring equals a full
//! recompute whatever the batching and arrival order, the ranking is a total order, cash flows
//! never move a time-weighted return by themselves, and prizes go to each paid rank once.

use std::collections::{BTreeSet, HashMap, HashSet};

use brokeros_contests::model::definition::{ContestDefinition, MetricKind, TieBreak};
use brokeros_contests::model::prizes::propose;
use brokeros_contests::model::ranking::{Standing, StandingStatus, compare, rank};
use brokeros_contests::model::scoring::{ScoreStatus, ScoringRules};
use brokeros_contests::model::{
    CashFlow, CashFlowKind, Entrant, Millis, Score, Scoring, Side, Trade,
};
use proptest::prelude::*;
use proptest::sample::Index;
use rust_decimal::Decimal;
use serde_json::json;

const START: Millis = 1_781_481_600_000; // 2026-06-15T00:00:00Z, the period's start
const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
const END: Millis = START + 30 * DAY; // 2026-07-15T00:00:00Z
const SYMBOLS: [&str; 3] = ["EURUSD", "GBPUSD", "XAUUSD"];

/// The rules a generated contest varies.
#[derive(Debug, Clone)]
struct RulesSpec {
    metric: MetricKind,
    min_trades: u32,
    min_hold_seconds: u32,
    max_counted_trades: Option<u32>,
    max_lots_per_trade: Option<&'static str>,
    disqualify_drawdown: Option<&'static str>,
}

fn rules_spec() -> impl Strategy<Value = RulesSpec> {
    (
        prop_oneof![
            Just(MetricKind::Return),
            Just(MetricKind::Profit),
            Just(MetricKind::Volume),
            Just(MetricKind::ReturnOverDrawdown),
        ],
        1u32..4,
        prop_oneof![Just(0u32), Just(30), Just(60), Just(300)],
        prop::option::of(4u32..16),
        prop::option::of(prop_oneof![Just("1"), Just("5")]),
        prop::option::of(prop_oneof![Just("0.2"), Just("0.5")]),
    )
        .prop_map(
            |(metric, min_trades, min_hold_seconds, cap, lots, drawdown)| RulesSpec {
                metric,
                min_trades,
                min_hold_seconds,
                max_counted_trades: cap,
                max_lots_per_trade: lots,
                disqualify_drawdown: drawdown,
            },
        )
}

fn definition(spec: &RulesSpec) -> ContestDefinition {
    let mut metric = json!({ "kind": spec.metric });
    if spec.metric == MetricKind::ReturnOverDrawdown {
        metric["min_drawdown"] = json!("0.02");
    }
    let mut rules = json!({
        "min_trades": spec.min_trades,
        "min_hold_seconds": spec.min_hold_seconds,
    });
    if let Some(cap) = spec.max_counted_trades {
        rules["max_counted_trades"] = json!(cap);
    }
    if let Some(lots) = spec.max_lots_per_trade {
        rules["max_lots_per_trade"] = json!(lots);
    }
    if let Some(drawdown) = spec.disqualify_drawdown {
        rules["disqualify_drawdown"] = json!(drawdown);
    }
    ContestDefinition::from_value(&json!({
        "id": "cup", "version": 1, "name": "Cup", "mode": "live", "currency": "USD",
        "registration": { "from": "2026-06-01T00:00:00Z", "until": "2026-06-30T00:00:00Z" },
        "period": { "from": "2026-06-15T00:00:00Z", "until": "2026-07-15T00:00:00Z" },
        "metric": metric, "rules": rules,
        "tie_breaks": ["higher_profit"],
        "prizes": { "payment": { "kind": "cash" },
                    "tiers": [ { "from_rank": 1, "to_rank": 3, "amount": "100.00" } ] }
    }))
    .expect("a generated contest is valid")
}

fn cents(value: i64) -> Decimal {
    Decimal::new(value, 2)
}

/// A closed trade without its login and deal: when it opened, how long it was held (around the
/// minimum hold time, for hours, or past the period's end), its lots and net result.
#[derive(Debug, Clone)]
struct TradeSpec {
    opened: Millis,
    held: Millis,
    volume_hundredths: i64,
    net_cents: i64,
    symbol: usize,
    side: Side,
}

fn trade_spec(min_hold_seconds: u32) -> impl Strategy<Value = TradeSpec> {
    let min_hold = i64::from(min_hold_seconds) * 1000;
    (
        prop_oneof![
            // many on a coarse grid: trades that close at the same millisecond
            3 => (0i64..40).prop_map(|m| START + m * MINUTE),
            6 => (0i64..(30 * DAY - HOUR)).prop_map(|t| START + t),
            1 => (-2 * HOUR..0).prop_map(|t| START + t),
        ],
        prop_oneof![
            2 => prop_oneof![Just(min_hold), Just((min_hold - 1).max(0)), 0..=2 * min_hold],
            5 => MINUTE..8 * HOUR,
            1 => 29 * DAY..32 * DAY,
        ],
        prop_oneof![1i64..=100, 100i64..=800],
        -30_000i64..=40_000,
        0..SYMBOLS.len(),
        prop_oneof![Just(Side::Buy), Just(Side::Sell)],
    )
        .prop_map(
            |(opened, held, volume_hundredths, net_cents, symbol, side)| TradeSpec {
                opened,
                held,
                volume_hundredths,
                net_cents,
                symbol,
                side,
            },
        )
}

impl TradeSpec {
    fn trade(&self, deal: u64, login: u64) -> Trade {
        Trade {
            deal,
            login,
            symbol: SYMBOLS[self.symbol].to_string(),
            side: self.side,
            volume: Decimal::new(self.volume_hundredths, 2),
            opened_msc: self.opened,
            closed_msc: self.opened + self.held,
            net: cents(self.net_cents),
        }
    }
}

#[derive(Debug, Clone)]
struct FlowSpec {
    at: Millis,
    kind: CashFlowKind,
    cents: i64,
}

fn flow_spec() -> impl Strategy<Value = FlowSpec> {
    (
        prop_oneof![
            3 => (0i64..40).prop_map(|m| START + m * MINUTE),
            6 => (-DAY..30 * DAY).prop_map(|t| START + t),
        ],
        prop_oneof![
            Just(CashFlowKind::Deposit),
            Just(CashFlowKind::Withdrawal),
            Just(CashFlowKind::CreditIn),
            Just(CashFlowKind::CreditOut),
        ],
        1i64..=500_000,
    )
        .prop_map(|(at, kind, cents)| FlowSpec { at, kind, cents })
}

impl FlowSpec {
    fn flow(&self, id: u64, login: u64) -> CashFlow {
        let amount = if self.kind.is_inflow() {
            cents(self.cents)
        } else {
            -cents(self.cents)
        };
        CashFlow {
            id,
            login,
            kind: self.kind,
            amount,
            at_msc: self.at,
        }
    }
}

/// One entrant's account: a starting deposit before the period, trades and cash flows.
#[derive(Debug, Clone)]
struct AccountSpec {
    deposit_cents: i64,
    trades: Vec<TradeSpec>,
    flows: Vec<FlowSpec>,
}

fn account_spec(min_hold_seconds: u32, max_trades: usize) -> impl Strategy<Value = AccountSpec> {
    (
        10_000i64..=10_000_000,
        prop::collection::vec(trade_spec(min_hold_seconds), 0..max_trades),
        prop::collection::vec(flow_spec(), 0..4),
    )
        .prop_map(|(deposit_cents, trades, flows)| AccountSpec {
            deposit_cents,
            trades,
            flows,
        })
}

fn starting_deposit(id: u64, login: u64, cents_: i64) -> CashFlow {
    CashFlow {
        id,
        login,
        kind: CashFlowKind::Deposit,
        amount: cents(cents_),
        at_msc: START - DAY,
    }
}

fn entrant(login: u64) -> Entrant {
    Entrant {
        id: format!("e{login}"),
        login,
        // several entrants registered at one instant: the id decides
        registered_msc: START - (login as i64 % 3) * HOUR,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Trade(Trade),
    Flow(CashFlow),
    Remove { login: u64, trade: bool, id: u64 },
}

impl Op {
    fn apply(&self, scoring: &mut Scoring) {
        match self {
            Op::Trade(trade) => assert_eq!(scoring.add_trade(trade), Ok(true)),
            Op::Flow(flow) => assert_eq!(scoring.add_cash_flow(flow), Ok(true)),
            Op::Remove { login, trade, id } => assert!(scoring.remove(*login, *trade, *id)),
        }
    }
}

/// How an event that stays reaches the engine: once, twice, first with other amounts, first
/// at another time then taken back, or taken back and added again.
#[derive(Debug, Clone, Copy)]
enum Arrival {
    Once,
    Repeated,
    Corrected,
    Moved,
    RemovedAndReadded,
}

fn arrival() -> impl Strategy<Value = Arrival> {
    prop_oneof![
        6 => Just(Arrival::Once),
        1 => Just(Arrival::Repeated),
        1 => Just(Arrival::Corrected),
        1 => Just(Arrival::Moved),
        1 => Just(Arrival::RemovedAndReadded),
    ]
}

/// The arrivals of one event, in the order they must keep.
fn chain(event: &Op, how: Arrival) -> Vec<Op> {
    let removal = match event {
        Op::Trade(t) => Op::Remove {
            login: t.login,
            trade: true,
            id: t.deal,
        },
        Op::Flow(f) => Op::Remove {
            login: f.login,
            trade: false,
            id: f.id,
        },
        Op::Remove { .. } => unreachable!("events only"),
    };
    let altered = |shift: Millis| match event {
        Op::Trade(t) => {
            let mut t = t.clone();
            t.net += Decimal::new(1234, 2);
            t.volume += Decimal::ONE;
            t.closed_msc += shift;
            Op::Trade(t)
        }
        Op::Flow(f) => {
            let mut f = f.clone();
            f.amount *= Decimal::TWO;
            f.at_msc += shift;
            Op::Flow(f)
        }
        Op::Remove { .. } => unreachable!("events only"),
    };
    match how {
        Arrival::Once => vec![event.clone()],
        Arrival::Repeated => vec![event.clone(), event.clone()],
        Arrival::Corrected => vec![altered(0), event.clone()],
        Arrival::Moved => vec![altered(7 * MINUTE), removal, event.clone()],
        Arrival::RemovedAndReadded => vec![event.clone(), removal, event.clone()],
    }
}

/// A contest's final events (what stays) and the arrivals that lead there, with deals the
/// platform cancelled (added, then taken back) among them.
#[derive(Debug, Clone)]
struct Contest {
    rules: RulesSpec,
    logins: Vec<u64>,
    finals: Vec<Op>,
    chains: Vec<Vec<Op>>,
}

fn contest() -> impl Strategy<Value = Contest> {
    rules_spec()
        .prop_flat_map(|rules| {
            let hold = rules.min_hold_seconds;
            (
                Just(rules),
                prop::collection::vec((account_spec(hold, 24), any::<bool>()), 1..5),
                prop::collection::vec(arrival(), 128),
                prop::collection::vec(trade_spec(hold), 0..4),
            )
        })
        .prop_map(|(rules, accounts, arrivals, cancelled)| {
            let mut finals = Vec::new();
            let mut logins = Vec::new();
            // Deals and cash flows are numbered apart, so ids repeat across the two kinds.
            let (mut deal, mut flow_id) = (1u64, 1u64);
            for (i, (account, _)) in accounts.iter().enumerate() {
                let login = 1000 + i as u64;
                logins.push(login);
                finals.push(Op::Flow(starting_deposit(
                    flow_id,
                    login,
                    account.deposit_cents,
                )));
                flow_id += 1;
                for t in &account.trades {
                    finals.push(Op::Trade(t.trade(deal, login)));
                    deal += 1;
                }
                for f in &account.flows {
                    finals.push(Op::Flow(f.flow(flow_id, login)));
                    flow_id += 1;
                }
            }
            let mut chains: Vec<Vec<Op>> = finals
                .iter()
                .zip(arrivals.iter().cycle())
                .map(|(event, how)| chain(event, *how))
                .collect();
            for (i, t) in cancelled.iter().enumerate() {
                let login = logins[i % logins.len()];
                let trade = t.trade(deal, login);
                deal += 1;
                chains.push(vec![
                    Op::Trade(trade.clone()),
                    Op::Remove {
                        login,
                        trade: true,
                        id: trade.deal,
                    },
                ]);
            }
            Contest {
                rules,
                logins,
                finals,
                chains,
            }
        })
}

/// The chains interleaved by `picks` (each step takes the next arrival of one chain, so every
/// chain keeps its order).
fn interleave(chains: &[Vec<Op>], picks: &[Index]) -> Vec<Op> {
    let mut next: Vec<usize> = vec![0; chains.len()];
    let mut open: Vec<usize> = (0..chains.len()).collect();
    let mut out = Vec::new();
    let mut step = 0;
    while !open.is_empty() {
        let slot = picks[step % picks.len()].index(open.len());
        step += 1;
        let c = open[slot];
        out.push(chains[c][next[c]].clone());
        next[c] += 1;
        if next[c] == chains[c].len() {
            open.swap_remove(slot);
        }
    }
    out
}

fn scores_by_login(scoring: &Scoring) -> HashMap<u64, Score> {
    scoring
        .scores()
        .map(|(e, s)| (e.login, s.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn incremental_scoring_in_any_batching_and_order_equals_a_full_recompute(
        contest in contest(),
        picks in prop::collection::vec(any::<Index>(), 64),
        updates in prop::collection::vec(prop::bool::weighted(0.15), 64),
    ) {
        let definition = definition(&contest.rules);
        let mut incremental = Scoring::new(&definition);
        for login in &contest.logins {
            incremental.enter(entrant(*login)).unwrap();
        }
        let arrivals = interleave(&contest.chains, &picks);
        for (i, op) in arrivals.iter().enumerate() {
            op.apply(&mut incremental);
            if updates[i % updates.len()] {
                incremental.update();
            }
        }
        incremental.update();
        prop_assert_eq!(incremental.differences(), Vec::new());

        // Everything that stays, in one batch, entered in the other order.
        let mut one_batch = Scoring::new(&definition);
        for login in contest.logins.iter().rev() {
            one_batch.enter(entrant(*login)).unwrap();
        }
        for op in contest.finals.iter().rev() {
            op.apply(&mut one_batch);
        }
        one_batch.update();
        prop_assert_eq!(scores_by_login(&incremental), scores_by_login(&one_batch));
        for login in &contest.logins {
            prop_assert_eq!(incremental.explain(*login), one_batch.explain(*login));
        }
        let recomputed: Vec<Score> = incremental.recompute();
        let kept: Vec<Score> = incremental.scores().map(|(_, s)| s.clone()).collect();
        prop_assert_eq!(kept, recomputed);
    }
}

fn score_strategy() -> impl Strategy<Value = Score> {
    // Few distinct values, so ties are common and every tie-break gets its turn.
    (
        prop_oneof![
            4 => Just(ScoreStatus::Ranked),
            1 => Just(ScoreStatus::TooFewTrades),
            1 => Just(ScoreStatus::DrawdownExceeded),
        ],
        -2i64..3,
        // apart from the metric (return over drawdown): an entrant below the minimum return
        // for a prize may rank above one who reached it
        -2i64..3,
        -2i64..3,
        1i64..3,
        0i64..3,
        0u32..3,
        // one value written at several scales; past 9 decimals the ranking compares decimals
        prop_oneof![3 => Just(1u32), 1 => Just(4), 1 => Just(12)],
    )
        .prop_map(
            |(status, metric, return_, profit, volume, drawdown, trades, scale)| Score {
                status,
                metric: Decimal::new(metric * 10i64.pow(scale - 1), scale),
                return_: Decimal::new(return_, 1),
                profit: Decimal::from(profit * 100),
                volume: Decimal::from(volume),
                max_drawdown: Decimal::new(drawdown, 1),
                trades,
                excluded_trades: 0,
                cash_flows: 0,
            },
        )
}

fn tie_breaks() -> impl Strategy<Value = Vec<TieBreak>> {
    Just(vec![
        TieBreak::HigherProfit,
        TieBreak::HigherVolume,
        TieBreak::LowerDrawdown,
        TieBreak::MoreTrades,
        TieBreak::FewerTrades,
    ])
    .prop_shuffle()
    .prop_flat_map(|all| (0..=all.len()).prop_map(move |n| all[..n].to_vec()))
}

/// Entrants with scores (unique ids, registrations often equal), who is disqualified, and the
/// same entrants in another order.
fn field() -> impl Strategy<Value = (Vec<(Entrant, Score)>, Vec<bool>, Vec<usize>)> {
    prop::collection::vec((score_strategy(), 0i64..3, any::<bool>()), 1..40).prop_flat_map(|rows| {
        let n = rows.len();
        let entrants: Vec<(Entrant, Score)> = rows
            .iter()
            .enumerate()
            .map(|(i, (score, registered, _))| {
                (
                    Entrant {
                        // ids that sort apart from the entry order
                        id: format!("entrant-{:02}", (i * 7) % 97),
                        login: 5000 + i as u64,
                        registered_msc: START - registered * HOUR,
                    },
                    score.clone(),
                )
            })
            .collect();
        let disqualified: Vec<bool> = rows.iter().map(|r| r.2 && r.1 == 0).collect();
        (
            Just(entrants),
            Just(disqualified),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        )
    })
}

/// The entrants a manager disqualified (`disqualified` says which), by id, with a reason.
fn disqualified_by_hand(
    entrants: &[(Entrant, Score)],
    disqualified: &[bool],
) -> HashMap<String, String> {
    entrants
        .iter()
        .zip(disqualified)
        .filter(|(_, out)| **out)
        .map(|((e, _), _)| (e.id.clone(), "hedging with another entrant".to_string()))
        .collect()
}

fn ranking_rules(tie_breaks: Vec<TieBreak>, min_return: Option<&str>) -> ScoringRules {
    let spec = RulesSpec {
        metric: MetricKind::Return,
        min_trades: 1,
        min_hold_seconds: 0,
        max_counted_trades: None,
        max_lots_per_trade: None,
        disqualify_drawdown: None,
    };
    let mut rules = ScoringRules::of(&definition(&spec));
    rules.tie_breaks = tie_breaks;
    rules.min_return_for_prize = min_return.map(|m| m.parse().unwrap());
    rules
}

fn check_ranking(standings: &[Standing], tie_breaks: &[TieBreak]) -> Result<(), TestCaseError> {
    let ranked: Vec<u32> = standings.iter().filter_map(|s| s.rank).collect();
    let expected: Vec<u32> = (1..=ranked.len() as u32).collect();
    prop_assert_eq!(&ranked, &expected, "ranks are 1..=n in order, each once");
    for s in standings {
        prop_assert_eq!(s.rank.is_some(), s.status == StandingStatus::Ranked);
    }
    for pair in standings.windows(2) {
        prop_assert_eq!(
            compare(&pair[0], &pair[1], tie_breaks),
            std::cmp::Ordering::Less,
            "strictly ordered: {:?} before {:?}",
            pair[0],
            pair[1]
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_ranking_is_a_total_order_whatever_the_entry_order(
        (entrants, disqualified, order) in field(),
        tie_breaks in tie_breaks(),
    ) {
        let rules = ranking_rules(tie_breaks.clone(), None);
        let manual = disqualified_by_hand(&entrants, &disqualified);
        let standings = rank(entrants.iter().map(|(e, s)| (e, s)), &rules, &manual);
        let shuffled = rank(order.iter().map(|&i| (&entrants[i].0, &entrants[i].1)), &rules, &manual);
        prop_assert_eq!(&standings, &shuffled);
        prop_assert_eq!(standings.len(), entrants.len());
        check_ranking(&standings, &tie_breaks)?;
        for s in &standings {
            prop_assert_eq!(s.status == StandingStatus::Disqualified, manual.contains_key(&s.entrant));
        }
    }
}

/// A single entrant's scoring over `account`'s events, amounts multiplied by `scale`.
fn scored(rules: &RulesSpec, account: &AccountSpec, scale: Decimal) -> Scoring {
    let mut s = Scoring::new(&definition(rules));
    s.enter(entrant(1)).unwrap();
    let mut deposit = starting_deposit(1, 1, account.deposit_cents);
    deposit.amount *= scale;
    s.add_cash_flow(&deposit).unwrap();
    for (i, t) in account.trades.iter().enumerate() {
        let mut trade = t.trade(i as u64 + 1, 1);
        trade.net *= scale;
        s.add_trade(&trade).unwrap();
    }
    for (i, f) in account.flows.iter().enumerate() {
        let mut flow = f.flow(i as u64 + 2, 1);
        flow.amount *= scale;
        s.add_cash_flow(&flow).unwrap();
    }
    s.update();
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_cash_flow_with_no_trade_after_it_leaves_the_score_unchanged(
        rules in rules_spec(),
        account in account_spec(60, 30),
        after_permille in 0i64..1000,
        withdraw in any::<bool>(),
        fraction_percent in 1i64..=99,
        deposit_cents in 1i64..=10_000_000,
    ) {
        let mut s = scored(&rules, &account, Decimal::ONE);
        let before = s.score_of(1).unwrap().clone();
        let explanation = s.explain(1).unwrap();
        // After every trade and cash flow of the period: no trade follows it.
        let last = account
            .trades
            .iter()
            .map(|t| t.opened + t.held)
            .chain(account.flows.iter().map(|f| f.at))
            .filter(|at| *at < END)
            .max()
            .unwrap_or(START)
            .max(START);
        prop_assume!(last + 1 < END);
        let at = last + 1 + (END - last - 2) * after_permille / 1000;
        let equity = explanation.final_equity;
        let amount = if withdraw && equity > Decimal::ONE {
            // leaves equity positive
            -(equity * Decimal::new(fraction_percent, 2)).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero)
        } else {
            cents(deposit_cents)
        };
        prop_assume!(!amount.is_zero());
        let flow = CashFlow {
            id: 9999,
            login: 1,
            kind: if amount > Decimal::ZERO { CashFlowKind::Deposit } else { CashFlowKind::Withdrawal },
            amount,
            at_msc: at,
        };
        s.add_cash_flow(&flow).unwrap();
        s.update();
        let after_flow = s.score_of(1).unwrap().clone();
        prop_assert_eq!(after_flow.cash_flows, before.cash_flows + 1);
        let mut expected = before;
        expected.cash_flows += 1;
        prop_assert_eq!(after_flow, expected);
        prop_assert_eq!(s.explain(1).unwrap().final_equity, equity + amount);
    }

    #[test]
    fn scaling_every_amount_of_an_entrant_leaves_the_return_unchanged(
        rules in rules_spec(),
        account in account_spec(60, 30),
        scale in prop_oneof![
            Just(Decimal::TWO),
            Just(Decimal::TEN),
            Just(Decimal::new(5, 1)),
            Just(Decimal::new(125, 2)),
            Just(Decimal::from(7)),
            Just(Decimal::from(1000)),
            Just(Decimal::new(3, 3)),
        ],
    ) {
        let one = scored(&rules, &account, Decimal::ONE);
        let scaled = scored(&rules, &account, scale);
        let (a, b) = (one.score_of(1).unwrap(), scaled.score_of(1).unwrap());
        prop_assert_eq!(a.return_, b.return_);
        prop_assert_eq!(a.max_drawdown, b.max_drawdown);
        prop_assert_eq!(a.status, b.status);
        prop_assert_eq!((a.trades, a.excluded_trades, a.cash_flows), (b.trades, b.excluded_trades, b.cash_flows));
        prop_assert_eq!(a.profit * scale, b.profit);
        prop_assert_eq!(a.volume, b.volume);
        if matches!(rules.metric, MetricKind::Return | MetricKind::ReturnOverDrawdown) {
            prop_assert_eq!(a.metric, b.metric);
        }
    }
}

/// A prize table that stays within its pool: tiers of ranks in order, each a fixed amount or
/// (with a pool) a share.
#[derive(Debug, Clone)]
struct TierSpec {
    gap: u32,
    width: u32,
    amount_cents: i64,
    share_thousandths: Option<i64>,
}

fn prize_table() -> impl Strategy<Value = (serde_json::Value, bool)> {
    (
        prop::collection::vec(
            (
                0u32..3,
                1u32..5,
                1i64..=100_000,
                prop::option::of(1i64..=40),
            )
                .prop_map(|(gap, width, amount_cents, share)| TierSpec {
                    gap,
                    width,
                    amount_cents,
                    share_thousandths: share,
                }),
            1..5,
        ),
        any::<bool>(),
        0i64..=1_000_000,
    )
        .prop_map(|(tiers, pooled, spare_cents)| {
            let mut next = 1;
            let mut json_tiers = Vec::new();
            let (mut fixed, mut shared_ranks) = (0i64, 0i64);
            for tier in &tiers {
                let from = next + tier.gap;
                let to = from + tier.width - 1;
                next = to + 1;
                let ranks = i64::from(tier.width);
                match tier.share_thousandths.filter(|_| pooled) {
                    Some(_) => shared_ranks += ranks,
                    None => fixed += tier.amount_cents * ranks,
                }
                json_tiers.push((from, to, tier.clone()));
            }
            // Shares of at most 1/(2·shared ranks) each take at most half the pool; the pool is
            // at least twice the fixed amounts.
            let pool = 2 * fixed + 100 + spare_cents;
            let tiers: Vec<serde_json::Value> = json_tiers
                .into_iter()
                .map(
                    |(from, to, tier)| match tier.share_thousandths.filter(|_| pooled) {
                        Some(t) => {
                            let share =
                                Decimal::new(t.min(1000 / (2 * shared_ranks).max(1)).max(1), 3);
                            json!({ "from_rank": from, "to_rank": to, "share": share.to_string() })
                        }
                        None => json!({
                            "from_rank": from, "to_rank": to,
                            "amount": cents(tier.amount_cents).to_string()
                        }),
                    },
                )
                .collect();
            let mut prizes = json!({ "payment": { "kind": "cash" }, "tiers": tiers });
            if pooled {
                prizes["pool"] = json!(cents(pool).to_string());
            }
            (prizes, pooled)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prizes_go_to_each_paid_rank_once_within_the_pool(
        (prizes, pooled) in prize_table(),
        (entrants, disqualified, _) in field(),
        min_return in prop::option::of(prop_oneof![Just("0"), Just("0.1"), Just("-0.1")]),
    ) {
        let mut document = json!({
            "id": "cup", "version": 1, "name": "Cup", "mode": "live", "currency": "USD",
            "registration": { "from": "2026-06-01T00:00:00Z", "until": "2026-06-30T00:00:00Z" },
            "period": { "from": "2026-06-15T00:00:00Z", "until": "2026-07-15T00:00:00Z" },
            "metric": { "kind": "return" },
            "prizes": prizes,
        });
        if let Some(min) = min_return {
            document["rules"] = json!({ "min_return_for_prize": min });
        }
        let definition = ContestDefinition::from_value(&document).expect("a table within its pool");
        let rules = ScoringRules::of(&definition);
        let manual = disqualified_by_hand(&entrants, &disqualified);
        let standings = rank(entrants.iter().map(|(e, s)| (e, s)), &rules, &manual);
        let proposal = propose(&definition, &standings);
        let currency = definition.currency();

        let mut ranks = HashSet::new();
        let mut winners = HashSet::new();
        for award in &proposal.awards {
            prop_assert!(ranks.insert(award.rank), "rank {} awarded twice", award.rank);
            prop_assert!(winners.insert(award.entrant.clone()), "{} awarded twice", award.entrant);
            prop_assert_eq!(award.amount, definition.prizes.for_rank(award.rank, currency));
            let standing = standings.iter().find(|s| s.entrant == award.entrant).unwrap();
            prop_assert_eq!(standing.rank, Some(award.rank));
            prop_assert!(standing.prize_eligible);
        }
        let total: Decimal = proposal.awards.iter().map(|a| a.amount).sum();
        prop_assert_eq!(proposal.total, total);
        if pooled {
            prop_assert!(total <= definition.prizes.pool.unwrap());
        }
        let mut covered = BTreeSet::new();
        for rank in proposal.awards.iter().map(|a| a.rank).chain(proposal.withheld.iter().map(|w| w.rank)) {
            prop_assert!(covered.insert(rank), "rank {} is both awarded and withheld, or withheld twice", rank);
        }
        let paid: BTreeSet<u32> = (1..=definition.prizes.last_rank())
            .filter(|r| !definition.prizes.for_rank(*r, currency).is_zero())
            .collect();
        prop_assert_eq!(covered, paid);
        for withheld in &proposal.withheld {
            prop_assert_eq!(withheld.amount, definition.prizes.for_rank(withheld.rank, currency));
        }
    }
}
