//! The copy trading sizing benchmark (issue 15): one provider deal (an open of 1.37 lots)
//! sized for 10,000 followers by the copier (`Follower::follow`, each follower's mode fitted to
//! the symbol's minimum, maximum and step), the five modes in turn, then the close of half of
//! it. Each run starts from the same followers (cloned outside the timing); the median and the
//! slowest of `RUNS` are printed. Run on one core (see `bench/copy-fanout.sh`).

use std::time::{Duration, Instant};

use brokeros_copy::model::copier::{Follower, Outcome, ProviderDeal, Side};
use brokeros_copy::model::sizing::{Figures, Sizing, VolumeLimits};
use rust_decimal::Decimal;

const FOLLOWERS: usize = 10_000;
const RUNS: usize = 30;

fn main() {
    let limits = VolumeLimits {
        min: Decimal::new(1, 2),
        max: Decimal::from(100),
        step: Decimal::new(1, 2),
    };
    let followers: Vec<(Follower, Figures)> = (0..FOLLOWERS)
        .map(|i| {
            let sizing = match i % 5 {
                0 => Sizing::FixedLot {
                    lots: Decimal::new(10 + (i % 7) as i64, 2),
                },
                1 => Sizing::Multiplier {
                    factor: Decimal::new(5 + (i % 20) as i64, 1),
                },
                2 => Sizing::Balance,
                3 => Sizing::Equity,
                _ => Sizing::BalanceRatio {
                    ratio: Decimal::new(15, 1),
                },
            };
            let balance = Decimal::new(50_000 + (i as i64 * 7_919) % 5_000_000, 2);
            let figures = Figures {
                provider_volume: Decimal::new(137, 2),
                provider_balance: Decimal::from(25_000),
                provider_equity: Decimal::new(2_480_000, 2),
                follower_balance: balance,
                follower_equity: balance - Decimal::new((i % 300) as i64, 0),
            };
            (Follower::new(sizing), figures)
        })
        .collect();
    let open = ProviderDeal::Open {
        deal: 1,
        position: 1,
        symbol: "EURUSD".into(),
        side: Side::Buy,
        volume: Decimal::new(137, 2),
    };
    let close = ProviderDeal::Close {
        deal: 2,
        position: 1,
        volume: Decimal::new(68, 2),
    };
    let mut open_times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut close_times: Vec<Duration> = Vec::with_capacity(RUNS);
    let (mut opened, mut skipped, mut closed) = (0, 0, 0);
    for _ in 0..RUNS {
        let mut run = followers.clone();
        let started = Instant::now();
        let outcomes: Vec<Outcome> = run
            .iter_mut()
            .map(|(follower, figures)| follower.follow(&open, figures, &limits))
            .collect();
        open_times.push(started.elapsed());
        let started = Instant::now();
        let closes: Vec<Outcome> = run
            .iter_mut()
            .map(|(follower, figures)| follower.follow(&close, figures, &limits))
            .collect();
        close_times.push(started.elapsed());
        opened = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Open { .. }))
            .count();
        skipped = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Skipped { .. }))
            .count();
        closed = closes
            .iter()
            .filter(|o| matches!(o, Outcome::Close { .. }))
            .count();
    }
    open_times.sort();
    close_times.sort();
    println!(
        "followers {FOLLOWERS} (five modes), open: {opened} opened, {skipped} skipped; half close: {closed} closed"
    );
    for (name, times) in [("open", &open_times), ("half close", &close_times)] {
        println!(
            "{name} sized for every follower, over {RUNS} runs: median {:.3} ms, fastest {:.3} ms, slowest {:.3} ms",
            ms(times[RUNS / 2]),
            ms(times[0]),
            ms(times[RUNS - 1])
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
