//! The commission engine's benchmark (issue 12): a 200-rule plan, 100 chains of 10 IBs, 10,000
//! clients trading round turns in time order.
//!
//! `engine N...`: feeds N generated deals to the engine alone (one core) for each N and prints
//! accrual legs per second. `files DIR N`: writes the plan, tree and symbol groups into DIR and
//! N deals as CSV to standard output, for `brokeros ib preview` (see `bench/ib-engine.sh`).

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use brokeros_ib::model::{
    ClientNode, CommissionPlan, Engine, EngineState, FixedRates, Hierarchy, IbNode, PlanBook,
    Standing, SymbolGroups, Timeline,
};
use brokeros_trading::{DealAction, DealEntry, PlatformDeal};
use rust_decimal::Decimal;

const RULES: usize = 200;
const CHAINS: usize = 100;
const DEPTH: usize = 10;
const CLIENTS: u64 = 10_000;
/// Positions stay open this many steps: about half a client's round turn.
const OPEN_STEPS: u64 = 5_000;
const START_MSC: i64 = 1_767_225_600_000;

fn plan_json() -> String {
    let rules: Vec<String> = (0..RULES)
        .map(|r| {
            let group = if r % 2 == 0 { r"real\std" } else { r"real\pro" };
            format!(
                r#"{{"id":"r{r}","priority":{},"match":{{"symbols":["SYM{:03}"],"account_groups":["{}"]}},"earns":{{"per_lot":"{}.{:02}"}}}}"#,
                r % 7,
                r / 2,
                group.replace('\\', "\\\\"),
                1 + r % 9,
                r % 100
            )
        })
        .collect();
    format!(
        r#"{{"id":"bench","version":1,"effective_from":0,"currency":"USD","period":"monthly","earn_on":"both",
        "min_lots":"0.01","min_hold_seconds":60,"exclude_hedged":true,"rules":[{}],
        "tiers":[{{"min_lots":"0","multiplier":"1"}},{{"min_lots":"100000","multiplier":"1.1"}}],
        "levels":{{"mode":"fixed","percents":["30","20","10","10","10","5","5","4","3","3"],"cap_per_deal":"50"}}}}"#,
        rules.join(",")
    )
}

fn ib_id(chain: usize, level: usize) -> String {
    format!("ib{chain}_{level}")
}

fn tree() -> Hierarchy {
    let mut tree = Hierarchy::default();
    for chain in 0..CHAINS {
        for level in 0..DEPTH {
            let parent = (level > 0).then(|| ib_id(chain, level - 1));
            tree.insert_ib(IbNode {
                id: ib_id(chain, level),
                currency: "USD".into(),
                parent: Timeline::starting(0, parent),
                standing: Timeline::starting(0, Standing::Active),
                plans: Timeline::starting(0, vec!["bench".into()]),
            })
            .unwrap();
        }
    }
    for client in 0..CLIENTS {
        tree.insert_client(ClientNode {
            id: format!("c{client}"),
            ib: Timeline::starting(0, Some(ib_id(client as usize % CHAINS, DEPTH - 1))),
            logins: vec![100_000 + client],
        })
        .unwrap();
    }
    tree
}

/// Deal `n` of the stream: at step s the position s opens and the position s − OPEN_STEPS
/// closes, so every client has about one open position and every deal is in time order.
struct Deals {
    next: u64,
    step: u64,
    closing: bool,
}

impl Deals {
    fn new() -> Deals {
        Deals {
            next: 1,
            step: 0,
            closing: false,
        }
    }
}

impl Iterator for Deals {
    type Item = PlatformDeal;

    fn next(&mut self) -> Option<PlatformDeal> {
        let (position, entry) = if self.closing {
            self.closing = false;
            let position = self.step - OPEN_STEPS;
            self.step += 1;
            (position, DealEntry::Out)
        } else {
            self.closing = self.step >= OPEN_STEPS;
            if !self.closing {
                self.step += 1;
            }
            (
                if self.closing {
                    self.step
                } else {
                    self.step - 1
                },
                DealEntry::In,
            )
        };
        let deal = self.next;
        self.next += 1;
        let buy = (position % 7 != 0) == (entry == DealEntry::In);
        let symbol = position % RULES as u64 / 2;
        let lots = Decimal::new(1 + (position % 300) as i64, 2);
        Some(PlatformDeal {
            deal,
            login: 100_000 + position % CLIENTS,
            order: deal,
            position_id: position + 1,
            symbol: format!("SYM{symbol:03}"),
            action: if buy {
                DealAction::Buy
            } else {
                DealAction::Sell
            },
            entry,
            volume: lots,
            price: Decimal::new(110_000, 5),
            profit: if entry == DealEntry::Out {
                Decimal::new((position % 200) as i64 - 100, 0)
            } else {
                Decimal::ZERO
            },
            commission: -lots * Decimal::new(35, 1),
            swap: Decimal::ZERO,
            currency: "USD".into(),
            group: if position % 2 == 0 {
                r"real\std"
            } else {
                r"real\pro"
            }
            .into(),
            contract_size: Decimal::new(100_000, 0),
            digits: 5,
            market_bid: Decimal::new(110_000, 5),
            market_ask: Decimal::new(110_012, 5),
            rate_profit: Decimal::ONE,
            time_msc: START_MSC + deal as i64 * 50,
        })
    }
}

fn engine_run(count: u64) {
    let plans =
        PlanBook::new([CommissionPlan::from_json(&plan_json(), &SymbolGroups::new()).unwrap()])
            .unwrap();
    let tree = tree();
    let rates = FixedRates::default();
    let engine = Engine {
        plans: &plans,
        tree: &tree,
        rates: &rates,
        server: Arc::from("bench"),
    };
    let mut state = EngineState::streaming();
    let mut legs = Vec::with_capacity(32);
    let (mut leg_count, mut total) = (0u64, Decimal::ZERO);
    // Deals are generated ahead in blocks, outside the measured time: the engine is measured.
    let mut generator = Deals::new();
    let (mut fed, mut elapsed) = (0u64, std::time::Duration::ZERO);
    while fed < count {
        let block: Vec<PlatformDeal> = generator
            .by_ref()
            .take((count - fed).min(100_000) as usize)
            .collect();
        let started = Instant::now();
        for deal in &block {
            legs.clear();
            state.apply_deal(&engine, deal, &mut legs).unwrap();
            leg_count += legs.len() as u64;
            if let Some(leg) = legs.first() {
                total += leg.amount;
            }
        }
        elapsed += started.elapsed();
        fed += block.len() as u64;
    }
    let seconds = elapsed.as_secs_f64();
    println!(
        "RESULT deals={count} legs={leg_count} seconds={seconds:.2} legs_per_second={:.0} deals_per_second={:.0} open_positions={} checksum={total}",
        leg_count as f64 / seconds,
        count as f64 / seconds,
        state.open_positions()
    );
}

fn files(dir: &str, count: u64) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(format!("{dir}/plan.json"), plan_json()).unwrap();
    std::fs::write(
        format!("{dir}/tree.json"),
        serde_json::to_string(&tree()).unwrap(),
    )
    .unwrap();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    writeln!(out, "{}", brokeros_ib::preview::DEAL_COLUMNS.join(",")).unwrap();
    for d in Deals::new().take(count as usize) {
        let action = if d.action == DealAction::Buy {
            "buy"
        } else {
            "sell"
        };
        let entry = if d.entry == DealEntry::In {
            "in"
        } else {
            "out"
        };
        writeln!(
            out,
            "{},{},{},{},{},{action},{entry},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            d.deal,
            d.login,
            d.order,
            d.position_id,
            d.symbol,
            d.volume,
            d.price,
            d.profit,
            d.commission,
            d.swap,
            d.currency,
            d.group,
            d.contract_size,
            d.digits,
            d.market_bid,
            d.market_ask,
            d.rate_profit,
            d.time_msc
        )
        .unwrap();
    }
    out.flush().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("engine") => args[1..]
            .iter()
            .for_each(|n| engine_run(n.parse().unwrap())),
        Some("files") => files(&args[1], args[2].parse().unwrap()),
        _ => eprintln!("usage: ib_engine_bench engine N... | files DIR N"),
    }
}
