//! `brokeros platform`: trading on the simulated platform of a data directory, as its clients
//! would on a real one, so contest leaderboards and IB earnings have deals to work on locally.
//!
//! The platform's state is in the data directory's store (`TP#` items, each change one
//! conditional transaction), so these commands open the store beside a running `serve` as
//! `recon` and `audit` do: SQLite serializes the writers, and `serve` reads the deals at its next
//! pass (IB accrual every 5 seconds; contest scoring every minute, or at once on
//! `POST /contests/{id}/scoring`). Nothing else of Broker OS runs here: no workflow is resumed.

use std::time::Duration;

use brokeros_local::SimulatedPlatform;
use brokeros_trading::{DealSide, PlatformDeal};
use clap::Subcommand;
use rust_decimal::Decimal;

use crate::local::{DataDirArg, open_store};
use crate::{CliResult, print_json_lines};

#[derive(Subcommand)]
pub enum PlatformCommand {
    /// Open a position now at the simulated market's price, and with --close-after close it
    /// that long after its opening (the closing deal is dated then, at that time's price).
    /// Prints each deal as a JSON line.
    Trade {
        /// The trading account (a login `serve` opened).
        #[arg(long)]
        login: u64,
        #[arg(long, default_value = "EURUSD")]
        symbol: String,
        #[arg(long, value_enum)]
        side: Side,
        /// 0.01 to 100, in steps of 0.01.
        #[arg(long)]
        lots: Decimal,
        /// How long the position is held before it closes: 90s, 2m (left open without it).
        #[arg(long, value_parser = brokeros_http::server::parse_duration)]
        close_after: Option<Duration>,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// Trade `steps` steps from now on, drawn from `seed` (the simulator's mix: trades, partial
    /// closes, reversals, hedges, scalps, dealers' corrections). Prints each history entry as a
    /// JSON line; the same seed on the same open positions trades the same way.
    Generate {
        #[arg(long)]
        login: u64,
        #[arg(long, default_value_t = 20)]
        steps: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
}

/// The simulated platform over the store of the data directory `data_dir` names (never created).
fn platform_of(
    data_dir: &DataDirArg,
    durability: brokeros_store_sqlite::Durability,
) -> Result<SimulatedPlatform, String> {
    let store = open_store(&data_dir.resolve().existing()?, durability)?;
    Ok(SimulatedPlatform::new(store))
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Side {
    Buy,
    Sell,
}

pub async fn run(
    command: PlatformCommand,
    durability: brokeros_store_sqlite::Durability,
) -> CliResult {
    let now_msc = brokeros_ib::millis(time::OffsetDateTime::now_utc());
    match command {
        PlatformCommand::Trade {
            login,
            symbol,
            side,
            lots,
            close_after,
            data_dir,
        } => {
            let platform = platform_of(&data_dir, durability)?;
            let side = match side {
                Side::Buy => DealSide::Buy,
                Side::Sell => DealSide::Sell,
            };
            let opened = platform
                .open_position(login, &symbol, side, lots, now_msc)
                .await
                .map_err(|e| e.to_string())?;
            let mut deals: Vec<PlatformDeal> = vec![opened.clone()];
            if let Some(held) = close_after {
                let closed_at =
                    now_msc + i64::try_from(held.as_millis()).map_err(|e| e.to_string())?;
                let closed = platform
                    .close_position(login, opened.position_id, lots, closed_at)
                    .await
                    .map_err(|e| e.to_string())?;
                deals.push(closed);
            }
            print_json_lines(deals.iter().map(serde_json::to_value))?;
            eprintln!(
                "{} deal(s) booked on account {login}: position {}{}",
                deals.len(),
                opened.position_id,
                if close_after.is_some() {
                    " opened and closed"
                } else {
                    " open"
                }
            );
        }
        PlatformCommand::Generate {
            login,
            steps,
            seed,
            data_dir,
        } => {
            let platform = platform_of(&data_dir, durability)?;
            let changes = platform
                .generate_trading(login, steps, seed, now_msc)
                .await
                .map_err(|e| e.to_string())?;
            print_json_lines(changes.iter().map(serde_json::to_value))?;
            eprintln!(
                "{} history entries booked on account {login}",
                changes.len()
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
