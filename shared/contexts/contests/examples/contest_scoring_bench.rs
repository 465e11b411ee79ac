//! The contest scoring benchmark (issue 13): 100,000 entrants and 10,000,000 closed trades
//! (plus their cash flows) held in memory, generated deterministically.
//!
//! `memory`: full scoring (every entrant folded from scratch, then the ranking), an incremental
//! update with 1 % new deals and the re-ranking (the ranking and its first page), `recompute()`,
//! the hedging review, the peak RSS, four more incremental passes, and the incremental step over
//! books that stay in the cache (what a touched entrant costs without waiting for memory);
//! `cache` runs that last step alone, for a profiler (`IN_CACHE_PASSES`, 20 by default, sets
//! its passes). `write DIR`: the same contest as `brokeros contest score`'s files (contest.json,
//! entrants.csv, cashflows.csv, deals.csv). `load DIR`: reads deals.csv with the kernel's reader
//! into a scoring holding the entrants and cash flows (parse + add), then scores and ranks.
//! Run each on one core (see `bench/contest-scoring.sh`).

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Write};
use std::time::{Duration, Instant};

use brokeros_contests::model::definition::ContestDefinition;
use brokeros_contests::model::hedging::hedging_flags;
use brokeros_contests::model::ranking::{Ranking, Standing};
use brokeros_contests::model::{CashFlow, CashFlowKind, Entrant, Millis, Scoring, Side, Trade};
use brokeros_contests::offline::{CASH_FLOW_COLUMNS, DEAL_COLUMNS, DealColumns, ENTRANT_COLUMNS};
use brokeros_kernel::csv::{Reader, Record};
use rust_decimal::Decimal;

const ENTRANTS: u64 = 100_000;
const DEALS: u64 = 10_000_000;
const NEW_DEALS: u64 = DEALS / 100;
/// The standings of a leaderboard page.
const PAGE_ROWS: usize = 50;
/// Incremental scoring passes, one after the other, each with `NEW_DEALS` new deals.
const INCREMENTAL_PASSES: usize = 5;
const FIRST_LOGIN: u64 = 5_000_000;
const START: Millis = 1_781_481_600_000; // 2026-06-15T00:00:00Z
const END: Millis = 1_784_073_600_000; // 2026-07-15T00:00:00Z
const REGISTRATION: Millis = 1_780_272_000_000; // 2026-06-01T00:00:00Z
const SECOND: Millis = 1000;
const MINUTE: Millis = 60 * SECOND;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
const SYMBOLS: [&str; 12] = [
    "EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCAD", "USDCHF", "NZDUSD", "EURGBP", "XAUUSD",
    "XAGUSD", "US30", "BTCUSD",
];
/// Pairs of entrants (2k, 2k+1 for k a multiple of this) that open opposite positions together.
const HEDGING_EVERY: u64 = 1000;

const CONTEST: &str = r#"{
        "id": "bench-cup", "version": 1, "name": "Benchmark Cup", "mode": "live", "currency": "USD",
        "registration": { "from": "2026-06-01T00:00:00Z", "until": "2026-06-30T00:00:00Z" },
        "period": { "from": "2026-06-15T00:00:00Z", "until": "2026-07-15T00:00:00Z" },
        "metric": { "kind": "return_over_drawdown", "min_drawdown": "0.02" },
        "rules": { "min_trades": 5, "min_hold_seconds": 60, "max_counted_trades": 150,
                   "max_lots_per_trade": "5", "disqualify_drawdown": "0.6",
                   "min_return_for_prize": "0" },
        "hedging": { "window_seconds": 60, "volume_tolerance": "0.2", "min_pairs": 3 },
        "tie_breaks": ["higher_profit", "fewer_trades"],
        "prizes": { "pool": "100000.00", "payment": { "kind": "cash" },
                    "tiers": [ { "from_rank": 1, "to_rank": 1, "share": "0.3" },
                               { "from_rank": 2, "to_rank": 10, "share": "0.05" },
                               { "from_rank": 11, "to_rank": 100, "amount": "100.00" } ] }
    }"#;

fn definition() -> ContestDefinition {
    ContestDefinition::from_json(CONTEST).expect("the benchmark contest is valid")
}

/// splitmix64: the same numbers on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }
}

fn login(entrant: u64) -> u64 {
    FIRST_LOGIN + entrant
}

/// How many trades entrant `i` closes: 40 to 160, pairs summing to 200 so the total is exact.
fn trades_of(i: u64) -> u64 {
    if is_hedger(i) {
        return 100;
    }
    let spread = |k: u64| (Random(k * 7919).next() % 121) as i64 - 60;
    let d = if i.is_multiple_of(2) {
        spread(i)
    } else {
        -spread(i - 1)
    };
    (100 + d) as u64
}

fn is_hedger(i: u64) -> bool {
    (i / 2).is_multiple_of(HEDGING_EVERY)
}

/// An entrant's account: a starting deposit (the scale of every amount), and the cash flows.
struct Account {
    deposit_cents: i64,
}

fn account(i: u64) -> Account {
    let mut r = Random(i ^ 0xacc0_u64);
    let dollars = match r.below(10) {
        0..=5 => r.between(100, 2_000),
        6..=8 => r.between(2_000, 20_000),
        _ => r.between(20_000, 250_000),
    };
    let deposit_cents = dollars * 100;
    Account { deposit_cents }
}

fn cash_flows(i: u64, mut each: impl FnMut(&CashFlow)) {
    let a = account(i);
    let mut r = Random(i ^ 0xf10_u64);
    let login = login(i);
    // Most fund before the start; a tenth register late and fund on entry.
    let funded = if r.below(10) == 0 {
        START + r.between(0, 10 * DAY)
    } else {
        START - r.between(HOUR, 10 * DAY)
    };
    each(&CashFlow {
        id: i * 10,
        login,
        kind: CashFlowKind::Deposit,
        amount: Decimal::new(a.deposit_cents, 2),
        at_msc: funded,
    });
    if r.below(10) < 3 {
        for k in 1..=r.between(1, 3) as u64 {
            let at = START + r.between(DAY, 29 * DAY);
            let (kind, cents) = match r.below(4) {
                0 => (CashFlowKind::Withdrawal, -(a.deposit_cents / 4).max(1)),
                1 => (CashFlowKind::CreditIn, a.deposit_cents / 10 + 1),
                _ => (CashFlowKind::Deposit, a.deposit_cents / 2 + 1),
            };
            each(&CashFlow {
                id: i * 10 + k,
                login,
                kind,
                amount: Decimal::new(cents, 2),
                at_msc: at,
            });
        }
    }
}

/// Entrant `i`'s trades from its `from`-th on, closing in time order; `trade` is reused.
fn trades(i: u64, count: u64, deal_base: u64, trade: &mut Trade, mut each: impl FnMut(&Trade)) {
    let a = account(i);
    let mut r = Random(i.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x7ade);
    let step = (29 * DAY) / count as i64;
    let hedger = is_hedger(i);
    for k in 0..count {
        let slot = START + k as i64 * step;
        let opened = if k == 0 && r.below(50) == 0 {
            START - r.between(MINUTE, 2 * HOUR) // opened before the start
        } else if hedger {
            slot // the pair opens together, on opposite sides
        } else {
            slot + r.between(0, step / 2)
        };
        let held = match r.below(100) {
            0..=9 => r.between(5, 59) * SECOND, // shorter than the minimum hold
            10..=14 => r.between(60, 70) * SECOND,
            15..=79 => r.between(MINUTE, 2 * HOUR),
            _ => r.between(2 * HOUR, step / 2 + 2 * HOUR),
        };
        let closed = if k + 1 == count && r.below(20) == 0 {
            END + r.between(0, DAY) // closed after the end
        } else {
            opened + held
        };
        let hundredths = if hedger {
            50 + k as i64 % 50
        } else {
            match r.below(100) {
                0..=59 => r.between(1, 100),
                60..=96 => r.between(100, 500),
                _ => r.between(501, 1500), // over the maximum lots
            }
        };
        // A result of -2 % to +2.1 % of the account's scale, commission and some swap.
        let profit = a.deposit_cents * r.between(-200, 210) / 10_000;
        let commission = -(hundredths * 35 / 10);
        let swap = if r.below(3) == 0 {
            r.between(-hundredths, hundredths / 2)
        } else {
            0
        };
        trade.deal = deal_base + k;
        trade.login = login(i);
        trade.symbol.clear();
        trade.symbol.push_str(
            SYMBOLS[if hedger {
                k as usize % 3
            } else {
                r.below(12) as usize
            }],
        );
        trade.side = if hedger {
            if i.is_multiple_of(2) == k.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            }
        } else if r.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        trade.volume = Decimal::new(hundredths, 2);
        trade.opened_msc = opened;
        trade.closed_msc = closed.max(opened);
        trade.net = Decimal::new(profit + commission + swap, 2);
        each(trade);
    }
}

fn blank_trade() -> Trade {
    Trade {
        deal: 0,
        login: 0,
        symbol: String::with_capacity(16),
        side: Side::Buy,
        volume: Decimal::ZERO,
        opened_msc: 0,
        closed_msc: 0,
        net: Decimal::ZERO,
    }
}

/// Every entrant's deals, numbered apart: entrant i's k-th is `i * 1000 + k`.
fn all_trades(mut each: impl FnMut(&Trade)) {
    let mut trade = blank_trade();
    for i in 0..ENTRANTS {
        trades(i, trades_of(i), i * 1000, &mut trade, &mut each);
    }
}

fn entrant(i: u64) -> Entrant {
    Entrant {
        id: format!("entrant-{i:06}"),
        login: login(i),
        registered_msc: REGISTRATION + (i as i64 * 7919) % (14 * DAY),
    }
}

fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// The re-ranking a scoring pass ends with: every entrant in order, and the first page of
/// standings a leaderboard reads (`?limit=50`).
fn ranking(scoring: &Scoring) -> (Ranking<'_>, Vec<Standing>) {
    let ranking = Ranking::new(scoring.scores(), scoring.rules(), &HashMap::new());
    let page = ranking.standings(0..PAGE_ROWS);
    (ranking, page)
}

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn millis_of(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// What the standings come to, to compare runs and builds: the top entrants and a sum; and how
/// long making every standing takes (what a full leaderboard snapshot reads), untimed above.
fn fingerprint((ranking, _): &(Ranking, Vec<Standing>)) -> String {
    let started = Instant::now();
    let standings = ranking.standings(0..ranking.len());
    let all_standings = started.elapsed();
    let ranked = standings.iter().filter(|s| s.rank.is_some()).count();
    let metric_sum: Decimal = standings.iter().map(|s| s.score.metric).sum();
    let top: Vec<String> = standings
        .iter()
        .take(3)
        .map(|s| format!("{}:{}", s.entrant, s.score.metric))
        .collect();
    format!(
        "all_standings_ms={} ranked={ranked} metric_sum={metric_sum} top={}",
        millis_of(all_standings),
        top.join(",")
    )
}

fn memory() {
    let definition = definition();
    let mut scoring = Scoring::new(&definition);
    for i in 0..ENTRANTS {
        scoring.enter(entrant(i)).unwrap();
        scoring.reserve(login(i), trades_of(i) as usize + 4);
    }
    let started = Instant::now();
    for i in 0..ENTRANTS {
        cash_flows(i, |f| {
            scoring.add_cash_flow(f).unwrap();
        });
    }
    // Entrants whose last trade closes near or after the end: new deals go to the others, so
    // every new deal arrives after its entrant's fold position.
    let mut late = vec![false; ENTRANTS as usize];
    all_trades(|t| {
        scoring.add_trade(t).unwrap();
        if t.closed_msc >= END - 2 * HOUR {
            late[(t.login - FIRST_LOGIN) as usize] = true;
        }
    });
    let adding = started.elapsed();
    let events = scoring.events();
    println!(
        "RESULT entrants={ENTRANTS} deals={DEALS} events={events} add_seconds={} (generation included) peak_rss_mb={}",
        seconds(adding),
        peak_rss_mb()
    );

    let started = Instant::now();
    let report = scoring.update();
    let folded = started.elapsed();
    let standings = ranking(&scoring);
    let full = started.elapsed();
    println!(
        "RESULT full_scoring_seconds={} update_seconds={} rank_seconds={} extended={} refolded={} peak_rss_mb={} {}",
        seconds(full),
        seconds(folded),
        seconds(full - folded),
        report.extended,
        report.refolded,
        peak_rss_mb(),
        fingerprint(&standings)
    );
    drop(standings);

    // 1 % new deals, after their entrant's fold position, spread over the entrants.
    let on_time: Vec<u64> = (0..ENTRANTS).filter(|i| !late[*i as usize]).collect();
    let mut passes = vec![incremental_pass(&mut scoring, &on_time, 0)];

    check_recompute(&scoring);

    let started = Instant::now();
    let flags = hedging_flags(&scoring, &definition.hedging);
    let hedging = started.elapsed();
    println!(
        "RESULT hedging_seconds={} flags={} pairs={}",
        seconds(hedging),
        flags.len(),
        flags.iter().map(|f| u64::from(f.pairs)).sum::<u64>()
    );
    println!("RESULT peak_rss_mb={}", peak_rss_mb());
    drop(flags);

    // More passes like the first, one after the other (after the hedging review, which would
    // otherwise see them crowd the contest's last half hour).
    for pass in 1..INCREMENTAL_PASSES {
        passes.push(incremental_pass(&mut scoring, &on_time, pass));
    }
    passes.sort();
    println!(
        "RESULT incremental_passes={INCREMENTAL_PASSES} min_ms={} median_ms={} max_ms={}",
        millis_of(passes[0]),
        millis_of(passes[INCREMENTAL_PASSES / 2]),
        millis_of(passes[INCREMENTAL_PASSES - 1])
    );
    check_recompute(&scoring);
    drop(scoring);
    in_cache();
}

/// The incremental step again over the first 1,000 entrants (those whose trades end early
/// enough), whose books stay in the cache: what a touched entrant costs when nothing waits for
/// memory — adding its deal and folding it, the arithmetic of the fold and the score.
fn in_cache() {
    let passes: i64 = std::env::var("IN_CACHE_PASSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(20);
    let mut scoring = Scoring::new(&definition());
    let mut entrants = Vec::new();
    let mut trade = blank_trade();
    for i in 0..1000 {
        let mut late = false;
        trades(i, trades_of(i), i * 1000, &mut trade, |t| {
            late |= t.closed_msc >= END - 2 * HOUR;
        });
        if late {
            continue;
        }
        entrants.push(i);
        scoring.enter(entrant(i)).unwrap();
        cash_flows(i, |f| {
            scoring.add_cash_flow(f).unwrap();
        });
        trades(i, trades_of(i), i * 1000, &mut trade, |t| {
            scoring.add_trade(t).unwrap();
        });
    }
    scoring.update();
    let mut took = Duration::ZERO;
    for pass in 0..passes {
        let mut new_deals = Vec::with_capacity(entrants.len());
        for &i in &entrants {
            trades(
                i,
                1,
                900_000_000_000 + i * 100 + pass as u64,
                &mut trade,
                |t| {
                    let mut t = t.clone();
                    t.opened_msc = END - HOUR + pass * (50 * MINUTE / passes);
                    t.closed_msc = t.opened_msc + 61 * SECOND;
                    new_deals.push(t);
                },
            );
        }
        let started = Instant::now();
        for t in &new_deals {
            scoring.add_trade(t).unwrap();
        }
        scoring.update();
        took += started.elapsed();
    }
    let touched = entrants.len() as f64 * passes as f64;
    println!(
        "RESULT in_cache_entrants={} passes={passes} add_and_update_ns_per_entrant={:.0}",
        entrants.len(),
        took.as_nanos() as f64 / touched
    );
}

/// One scoring pass of `NEW_DEALS` new deals (generated before the clock starts) for the
/// entrants `on_time`, after each entrant's fold position: added, `update()`, ranked. The
/// first pass's deals open in the contest's second-last hour and are held 30 minutes; each
/// later pass's close in their own six minutes of the last half hour.
fn incremental_pass(scoring: &mut Scoring, on_time: &[u64], pass: usize) -> Duration {
    let mut new_deals: Vec<Trade> = Vec::with_capacity(NEW_DEALS as usize);
    let mut trade = blank_trade();
    for n in 0..NEW_DEALS {
        let i = on_time[(n as usize * 7) % on_time.len()];
        let deal = 900_000_000_000 + pass as u64 * NEW_DEALS + n;
        trades(i, 1, deal, &mut trade, |t| {
            let mut t = t.clone();
            if pass == 0 {
                t.opened_msc = END - 2 * HOUR + (n % 3600) as i64 * SECOND;
                t.closed_msc = t.opened_msc + 30 * MINUTE;
            } else {
                t.opened_msc =
                    END - 30 * MINUTE + (pass as i64 - 1) * 6 * MINUTE + (n % 240) as i64 * SECOND;
                t.closed_msc = t.opened_msc + 90 * SECOND;
            }
            new_deals.push(t);
        });
    }
    let started = Instant::now();
    for t in &new_deals {
        scoring.add_trade(t).unwrap();
    }
    let added = started.elapsed();
    let report = scoring.update();
    let updated = started.elapsed();
    let standings = ranking(scoring);
    let incremental = started.elapsed();
    println!(
        "RESULT pass={pass} incremental_ms={} add_ms={} update_ms={} rank_ms={} new_deals={NEW_DEALS} extended={} refolded={} peak_rss_mb={} {}",
        millis_of(incremental),
        millis_of(added),
        millis_of(updated - added),
        millis_of(incremental - updated),
        report.extended,
        report.refolded,
        peak_rss_mb(),
        fingerprint(&standings)
    );
    incremental
}

/// `recompute()`, timed, and checked equal to the incremental scores.
fn check_recompute(scoring: &Scoring) {
    let started = Instant::now();
    let recomputed = scoring.recompute();
    let recompute = started.elapsed();
    let same = scoring
        .scores()
        .zip(&recomputed)
        .all(|((_, kept), full)| kept == full);
    println!(
        "RESULT recompute_seconds={} equal_to_incremental={same} peak_rss_mb={}",
        seconds(recompute),
        peak_rss_mb()
    );
    assert!(same, "a full recompute differs from the incremental scores");
}

fn create(dir: &str, name: &str) -> BufWriter<std::fs::File> {
    let file = std::fs::File::create(format!("{dir}/{name}")).unwrap();
    BufWriter::with_capacity(1 << 20, file)
}

/// The contest as `brokeros contest score`'s files in `dir`: contest.json, entrants.csv,
/// cashflows.csv and deals.csv.
fn write(dir: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(format!("{dir}/contest.json"), CONTEST).unwrap();
    let mut out = create(dir, "entrants.csv");
    writeln!(out, "{}", ENTRANT_COLUMNS.join(",")).unwrap();
    for i in 0..ENTRANTS {
        let e = entrant(i);
        writeln!(out, "{},{},{}", e.id, e.login, e.registered_msc).unwrap();
    }
    out.flush().unwrap();
    let mut out = create(dir, "cashflows.csv");
    writeln!(out, "{}", CASH_FLOW_COLUMNS.join(",")).unwrap();
    for i in 0..ENTRANTS {
        cash_flows(i, |f| {
            writeln!(
                out,
                "{},{},{},{},{}",
                f.id,
                f.login,
                CashFlowKind::as_str(f.kind),
                f.amount,
                f.at_msc
            )
            .unwrap();
        });
    }
    out.flush().unwrap();
    let mut out = create(dir, "deals.csv");
    writeln!(out, "{}", DEAL_COLUMNS.join(",")).unwrap();
    let mut line = String::with_capacity(128);
    all_trades(|t| {
        use std::fmt::Write;
        line.clear();
        let side = if t.side == Side::Buy { "buy" } else { "sell" };
        // The net result split the way a platform reports it: profit, commission, swap.
        let commission = -(t.volume * Decimal::new(35, 1)).round_dp(2);
        writeln!(
            line,
            "{},{},{},{side},{},{},{},{},{commission},0",
            t.deal,
            t.login,
            t.symbol,
            t.volume,
            t.opened_msc,
            t.closed_msc,
            t.net - commission
        )
        .unwrap();
        out.write_all(line.as_bytes()).unwrap();
    });
    out.flush().unwrap();
}

/// Reads `dir/deals.csv` with the kernel's reader into a scoring that holds the entrants and
/// their cash flows (generated, not timed): parse + add, then the update.
fn load(dir: &str) {
    let definition = definition();
    let mut scoring = Scoring::new(&definition);
    for i in 0..ENTRANTS {
        scoring.enter(entrant(i)).unwrap();
        cash_flows(i, |f| {
            scoring.add_cash_flow(f).unwrap();
        });
    }
    let path = format!("{dir}/deals.csv");
    let started = Instant::now();
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = Reader::new(BufReader::with_capacity(1 << 20, file));
    let mut record = Record::default();
    assert!(reader.read(&mut record).unwrap(), "a header");
    let columns = DealColumns::deals(&path, &record).unwrap();
    let mut deals = 0u64;
    while reader.read(&mut record).unwrap() {
        let trade = columns.trade(&record).unwrap();
        scoring.add_trade(&trade).unwrap();
        deals += 1;
    }
    let loaded = started.elapsed();
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "RESULT csv_deals={deals} csv_mb={} load_seconds={} deals_per_second={:.0} peak_rss_mb={}",
        size / 1_000_000,
        seconds(loaded),
        deals as f64 / loaded.as_secs_f64(),
        peak_rss_mb()
    );
    let started = Instant::now();
    scoring.update();
    let standings = ranking(&scoring);
    println!(
        "RESULT csv_scoring_seconds={} peak_rss_mb={} {}",
        seconds(started.elapsed()),
        peak_rss_mb(),
        fingerprint(&standings)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("memory"), _) => memory(),
        (Some("write"), Some(path)) => write(path),
        (Some("load"), Some(path)) => load(path),
        (Some("cache"), _) => in_cache(),
        _ => eprintln!("usage: contest_scoring_bench memory | cache | write DIR | load DIR"),
    }
}
