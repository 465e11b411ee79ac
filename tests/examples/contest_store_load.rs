//! Benchmark (issue 13): loading a contest's entry deals from the store, as the live path keeps
//! them — one item per deal in its entrant's `CONTESTDEALS#<contest>#<login>` partition, the
//! latest revision as JSON — and as the full recompute at the end of a contest reads them
//! (`live::scoring_from_store`: one query per entrant, by key, so strongly consistent; each
//! entrant's deals decoded, made into trades and entered into one scoring), on a fresh SQLite
//! database (full durability, as `brokeros serve` runs) or on DynamoDB Local.
//!
//! Set-up, untimed: each entrant's deals (positions opened and closed, half the deals each)
//! written with the live path's keys, versions and JSON, as many a transaction as the store
//! takes. Timed: the load; then, apart, scoring what it loaded (`update`, the ranking). The
//! peak RSS is the process's (bench/contest-store-load.sh runs it under `/usr/bin/time`).
//!
//! Usage: `contest_store_load sqlite|dynamodb [entrants] [deals per entrant]` (defaults
//! 10,000 and 100); `bash bench/contest-store-load.sh` runs it, numbers in docs/PERFORMANCE.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use brokeros_contests::live::{EntryDeal, Roster, RosterEntrant, keys, scoring_from_store};
use brokeros_contests::model::Entrant;
use brokeros_contests::model::definition::ContestDefinition;
use brokeros_contests::model::ranking::Ranking;
use brokeros_store::{Condition, Item, MAX_TRANSACTION_OPS, Store, Table, WriteOp};
use brokeros_trading::{DealAction, DealEntry, PlatformDeal};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

const CONTEST: &str = r#"{
    "id": "store-cup", "version": 1, "name": "Store Cup", "mode": "live", "currency": "USD",
    "registration": { "from": "2026-06-01T00:00:00Z", "until": "2026-06-30T00:00:00Z" },
    "period": { "from": "2026-06-15T00:00:00Z", "until": "2026-07-15T00:00:00Z" },
    "metric": { "kind": "return_over_drawdown", "min_drawdown": "0.02" },
    "rules": { "min_trades": 5, "min_hold_seconds": 60 },
    "prizes": { "pool": "10000.00", "payment": { "kind": "cash" },
                "tiers": [ { "from_rank": 1, "to_rank": 10, "share": "0.1" } ] }
}"#;
const START: i64 = 1_781_481_600_000; // 2026-06-15T00:00:00Z
const MINUTE: i64 = 60_000;
const SYMBOLS: [&str; 4] = ["EURUSD", "GBPUSD", "XAUUSD", "US30"];

/// Transactions written at once while setting up (each waits for its commit).
const WRITES_IN_FLIGHT: usize = 8;

fn entrant(i: u64) -> RosterEntrant {
    RosterEntrant {
        entrant: Entrant {
            id: format!("entrant-{i:06}"),
            login: 5_000_000 + i,
            registered_msc: START - 24 * 60 * MINUTE,
        },
        client_id: format!("client-{i:06}"),
        opening_balance: Decimal::from(1000 + (i % 50) * 100),
        disqualified: None,
        display_name: format!("Trader {i}"),
        country: "GB".to_string(),
    }
}

/// Entrant `i`'s `count` deals: positions opened and closed one after the other over the
/// contest's first 29 days.
fn deals(i: u64, count: u64) -> Vec<PlatformDeal> {
    let login = 5_000_000 + i;
    // Seeded: the same deals on every run.
    let mut r = StdRng::seed_from_u64(i);
    let step = 29 * 24 * 60 * MINUTE / (count as i64 / 2).max(1);
    let mut deals = Vec::with_capacity(count as usize);
    for k in 0..count / 2 {
        let opened = START + k as i64 * step + r.random_range(0..=step / 4);
        let closed = opened + r.random_range(1..=120) * MINUTE;
        let symbol = SYMBOLS[r.random_range(0..SYMBOLS.len())];
        let volume = Decimal::new(r.random_range(1..=300), 2);
        let buy = r.random_bool(0.5);
        let ticket = i * 1_000_000 + 2 * k;
        let deal = |ticket: u64, action, entry, at| PlatformDeal {
            deal: ticket,
            login,
            order: ticket,
            position_id: i * 1_000_000 + 2 * k,
            symbol: symbol.to_string(),
            action,
            entry,
            volume,
            price: Decimal::new(108_512, 5),
            profit: Decimal::ZERO,
            commission: -(volume * Decimal::new(35, 1)).round_dp(2),
            swap: Decimal::ZERO,
            currency: "USD".to_string(),
            group: "real\\contest".to_string(),
            contract_size: Decimal::from(100_000),
            digits: 5,
            market_bid: Decimal::new(108_510, 5),
            market_ask: Decimal::new(108_512, 5),
            rate_profit: Decimal::ONE,
            time_msc: at,
        };
        let (open, close) = if buy {
            (DealAction::Buy, DealAction::Sell)
        } else {
            (DealAction::Sell, DealAction::Buy)
        };
        deals.push(deal(ticket, open, DealEntry::In, opened));
        let mut out = deal(ticket + 1, close, DealEntry::Out, closed);
        out.profit = Decimal::new(r.random_range(-4_000..=4_200), 2);
        deals.push(out);
    }
    deals
}

/// The items of `deals` as the live feed first stores them (version 1, never stored before).
fn items(contest: &str, deals: Vec<PlatformDeal>) -> Vec<WriteOp> {
    deals
        .into_iter()
        .map(|deal| {
            let key = keys::entry_deal(contest, deal.login, deal.deal);
            let entry = EntryDeal {
                revision: 1,
                cancelled: false,
                deal,
            };
            WriteOp::Put {
                table: Table::Main,
                item: Item::new(key, 1, serde_json::to_string(&entry).unwrap()),
                condition: Condition::NotExists,
            }
        })
        .collect()
}

async fn write_all(store: &Arc<dyn Store>, ops: Vec<WriteOp>) {
    let transactions: Vec<Vec<WriteOp>> = ops
        .chunks(MAX_TRANSACTION_OPS)
        .map(<[WriteOp]>::to_vec)
        .collect();
    for group in transactions.chunks(WRITES_IN_FLIGHT) {
        let mut writes = tokio::task::JoinSet::new();
        for ops in group {
            let (store, ops) = (store.clone(), ops.clone());
            writes.spawn(async move { store.transact(ops).await });
        }
        while let Some(written) = writes.join_next().await {
            written.unwrap().expect("the set-up writes");
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let engine = args.first().map_or("sqlite", String::as_str);
    let entrants: u64 = args.get(1).map_or(10_000, |a| a.parse().unwrap());
    let per_entrant: u64 = args.get(2).map_or(100, |a| a.parse().unwrap());
    let store = match engine {
        "sqlite" => brokeros_tests::fresh_sqlite_store(),
        "dynamodb" => brokeros_tests::fresh_dynamo_store().await,
        other => panic!("unknown engine {other}: sqlite or dynamodb"),
    };
    let services = brokeros_local::services(
        store.clone(),
        brokeros_app::config::BrokerConfig::embedded_default(),
    )
    .contests;
    let roster = Roster {
        definition: ContestDefinition::from_json(CONTEST).unwrap(),
        entrants: (0..entrants).map(entrant).collect(),
    };

    let started = Instant::now();
    let mut bytes = 0usize;
    for i in 0..entrants {
        let ops = items(roster.contest(), deals(i, per_entrant));
        bytes += ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { item, .. } => item.data.len(),
                _ => 0,
            })
            .sum::<usize>();
        write_all(&store, ops).await;
    }
    let deals_written = entrants * per_entrant;
    println!(
        "RESULT engine={engine} entrants={entrants} deals={deals_written} json_mb={:.1} setup_seconds={:.1}",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut scoring = scoring_from_store(&services, &roster).await.unwrap();
    let load = started.elapsed();
    // A deposit for each entrant's opening balance, a trade for each position.
    assert_eq!(
        scoring.events() as u64,
        entrants * (1 + per_entrant / 2),
        "every deal read back"
    );
    println!(
        "RESULT engine={engine} load_seconds={:.3} deals_per_second={:.0} entrants_per_second={:.0}",
        load.as_secs_f64(),
        deals_written as f64 / load.as_secs_f64(),
        entrants as f64 / load.as_secs_f64(),
    );

    let started = Instant::now();
    scoring.update();
    let ranking = Ranking::new(scoring.scores(), scoring.rules(), &HashMap::new());
    let top = ranking.standing(0);
    println!(
        "RESULT engine={engine} scoring_seconds={:.3} events={} top={}:{}",
        started.elapsed().as_secs_f64(),
        scoring.events(),
        top.entrant,
        top.score.metric,
    );
}
