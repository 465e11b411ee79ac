//! The seeded fault simulation: a brokerage day — registrations and onboardings with every KYC
//! outcome, reviews, deposits (declines, outages, silent providers, duplicated and reordered
//! webhooks), withdrawals with approvals and rejections, lead capture — under faults: storage
//! transactions refused or timing out after they applied, secondary indexes that lag, crashes
//! between a commit and its side effects, restarts from the store, and Broker OS's clock jumping
//! (forward by up to a day and more, back by minutes; the relay runs after such jumps). After every step and at the end the invariants are checked
//! (`invariants.rs`); a broken one stops the run naming the seed, the step and the rule.
//!
//! ```sh
//! cargo test -p brokeros-tests --test simulation                       # the fixed seeds
//! cargo test -p brokeros-tests --test simulation -- --seed 7 --steps 300
//! cargo test --release -p brokeros-tests --test simulation -- --seeds 1..1000 --steps 120
//! ```
//!
//! A seed replays exactly: the plan (operations, their parameters and the faults) is drawn from
//! the seed alone, and the run is deterministic — one thread, tokio's clock paused (it moves only
//! when every task waits, straight to the next timer; the local engine's timers and Broker OS's
//! clock follow it), and the SQLite store committing on that thread
//! (`SqliteStore::open_inline`). Each seed ends with its outcome (every answer in order, each
//! client's KYC status and wallet, each deposit's and withdrawal's status) and its digest; the
//! test command's run replays its first seed and fails on any difference, and `--replay` replays
//! every seed.

mod faults;
mod invariants;
mod world;

use std::time::Instant;

/// The seeds the test command runs.
const FIXED_SEEDS: [u64; 4] = [1, 2, 3, 4];
const DEFAULT_STEPS: usize = 60;

struct Args {
    seeds: Vec<u64>,
    steps: usize,
    replay: Replay,
}

/// Which seeds run twice, the second time required to come to the same outcome.
#[derive(Clone, Copy)]
enum Replay {
    None,
    /// The test command's run: its first seed, so that lost determinism fails it.
    First,
    /// `--replay`: every seed.
    All,
}

fn args() -> Args {
    let mut args = Args {
        seeds: FIXED_SEEDS.to_vec(),
        steps: DEFAULT_STEPS,
        replay: Replay::None,
    };
    let mut chosen = false;
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--seed" => {
                let seed = given.next().and_then(|s| s.parse().ok()).expect("--seed N");
                args.seeds = vec![seed];
                chosen = true;
            }
            "--seeds" => {
                let range = given.next().expect("--seeds A..B");
                let (a, b) = range.split_once("..").expect("--seeds A..B");
                let (a, b): (u64, u64) = (a.parse().expect("A"), b.parse().expect("B"));
                args.seeds = (a..=b).collect();
                chosen = true;
            }
            "--replay" => args.replay = Replay::All,
            "--steps" => {
                args.steps = given
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--steps M");
            }
            // What the test harness passes to every test binary.
            _ => {}
        }
    }
    if !chosen && matches!(args.replay, Replay::None) {
        args.replay = Replay::First;
    }
    args
}

fn main() {
    let args = args();
    let runtime = || {
        // One thread, tokio's clock paused (it moves only when every task waits, straight to
        // the next timer) and the store committing on that thread: what runs next depends on
        // the plan alone.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime")
    };
    let started = Instant::now();
    let mut failed = Vec::new();
    for (n, &seed) in args.seeds.iter().enumerate() {
        let mut outcome = runtime().block_on(run(seed, args.steps));
        let replayed = match args.replay {
            Replay::None => false,
            Replay::First => n == 0,
            Replay::All => true,
        };
        if let (Ok((_, first)), true) = (&outcome, replayed) {
            match runtime().block_on(run(seed, args.steps)) {
                Ok((_, again)) if &again == first => {}
                Ok((_, again)) => {
                    outcome = Err(format!(
                        "a replay of the seed came to another outcome:\n--- first\n{first}\n--- replay\n{again}"
                    ))
                }
                Err(e) => outcome = Err(format!("the replay broke an invariant: {e}")),
            }
        }
        match outcome {
            Ok((summary, digest)) => println!(
                "seed {seed}: {summary}; outcome {}{}",
                &sha256_hex(&digest)[..16],
                if replayed {
                    " (replayed: the same)"
                } else {
                    ""
                }
            ),
            Err(broken) => {
                eprintln!("seed {seed}: {broken}");
                eprintln!(
                    "replay: cargo test -p brokeros-tests --test simulation -- --seed {seed} --steps {}",
                    args.steps
                );
                failed.push(seed);
            }
        }
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    println!(
        "{} seeds × {} steps in {:.1} min ({:.1} seeds/min); invariants broken in {} seeds {failed:?}",
        args.seeds.len(),
        args.steps,
        minutes,
        args.seeds.len() as f64 / minutes.max(1e-9),
        failed.len()
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}

fn sha256_hex(text: &str) -> String {
    brokeros_kernel::canonical::sha256_hex(text.as_bytes())
}

/// Carries out the seed's plan; answers the summary and the outcome a replay must reproduce.
async fn run(seed: u64, steps: usize) -> Result<(String, String), String> {
    let plan = world::plan(seed, steps);
    let mut world = world::World::new(seed).await;
    for (n, op) in plan.iter().enumerate() {
        world.step(op).await;
        let broken = invariants::always(&world).await;
        if !broken.is_empty() {
            return Err(format!("after step {n} {op:?}:\n  {}", broken.join("\n  ")));
        }
    }
    world.catch_up().await;
    let broken = invariants::at_the_end(&world).await;
    if !broken.is_empty() {
        return Err(format!("at the end:\n  {}", broken.join("\n  ")));
    }
    let injected = world
        .faults
        .injected
        .load(std::sync::atomic::Ordering::Relaxed);
    let outcome = world.outcome().await;
    let summary = format!(
        "{steps} steps, {} clients, {} deposits, {} withdrawals, {} leads, {injected} storage faults, answers {:?}: invariants held",
        world.asked.clients.len(),
        world.asked.deposits.len(),
        world.asked.withdrawals.len(),
        world.asked.leads.len(),
        world.asked.statuses
    );
    Ok((summary, outcome))
}
