//! `brokeros pamm simulate`: an offer's history replayed from files by the rollover engine the
//! live rollover runs, writing nothing; after each rollover, every holder's units, the NAV,
//! their equity, the fees they paid and their high-water mark (README: "Offline PAMM
//! simulation").

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use brokeros_kernel::csv::text_field;
use brokeros_pamm::model::fund::{Flow, InvestorFees, NAV_SCALE, Outcome, Rollover};
use brokeros_pamm::offline::{EventColumns, Offer, Simulation};
use clap::Subcommand;
use rust_decimal::Decimal;
use time::format_description::well_known::Rfc3339;

use crate::CliResult;
use crate::files::{document_error, each_record};

#[derive(Subcommand)]
pub enum PammCommand {
    /// Replay an offer's cash flows, trading results and rollovers. Exits 2 naming the file,
    /// line and column of the first bad value.
    Simulate {
        /// The offer: {"manager", "terms", "ib_chains"?} (README: "Offline PAMM simulation").
        #[arg(long)]
        offer: PathBuf,
        /// at,event,investor,amount — deposit, withdrawal, exit, stop, result, rollover,
        /// rollover_fees_held.
        #[arg(long)]
        events: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per holder after each rollover.
    Csv,
    /// One JSON document per rollover, with every fee, execution and payout.
    Json,
}

pub fn run(command: PammCommand) -> CliResult {
    match command {
        PammCommand::Simulate {
            offer,
            events,
            format,
        } => simulate(&offer, &events, format),
    }
}

const CSV_HEADER: &str = "rollover_at,holder,units,nav,equity,management_fee,performance_fee,fee_debt_taken,fee_debt,hwm,requests";

fn read_offer(path: &Path) -> Result<Offer, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let offer: Offer =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    offer
        .terms
        .validate()
        .map_err(|e| document_error(path, &e))?;
    Ok(offer)
}

fn simulate(offer: &Path, events: &Path, format: Format) -> CliResult {
    let mut simulation =
        Simulation::new(read_offer(offer)?).map_err(|e| document_error(offer, &e))?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let write_error = |e: std::io::Error| e.to_string();
    if format == Format::Csv {
        writeln!(out, "{CSV_HEADER}").map_err(write_error)?;
    }
    let mut failed = None;
    each_record(events, EventColumns::events, |columns, record| {
        let (at, event) = columns.event(record)?;
        let rollover = simulation
            .apply(at, event)
            .map_err(|e| columns.refusal(record, e))?;
        if let Some(rollover) = rollover
            && let Err(e) = print(&mut out, &rollover, format)
        {
            failed.get_or_insert(e);
        }
        Ok(())
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush().map_err(write_error)?;
    Ok(ExitCode::SUCCESS)
}

/// A holder's requests at the rollover in words: `deposit +4975.00`, `withdrawal -5000.00`,
/// `exit -4561.85` (`stop_level` for an exit at the stop level), `refused locked_up`.
fn requests_of(rollover: &Rollover, holder: &str) -> String {
    rollover
        .executions
        .iter()
        .filter(|e| e.investor == holder)
        .map(|e| {
            let kind = match (&e.flow, e.request.starts_with("stop:")) {
                (_, true) => "stop_level",
                (Flow::Deposit { .. }, _) => "deposit",
                (Flow::Withdrawal { .. }, _) => "withdrawal",
                (Flow::Exit, _) => "exit",
            };
            match &e.outcome {
                Outcome::Executed { amount, units, .. } if units.is_sign_negative() => {
                    format!("{kind} -{amount}")
                }
                Outcome::Executed { amount, .. } => format!("{kind} +{amount}"),
                Outcome::Refused { reason } => {
                    let reason = serde_json::to_value(reason).unwrap_or_default();
                    format!("{kind} refused {}", reason.as_str().unwrap_or_default())
                }
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn print(out: &mut impl Write, rollover: &Rollover, format: Format) -> Result<(), String> {
    let at = rollover.at.format(&Rfc3339).map_err(|e| e.to_string())?;
    match format {
        Format::Json => {
            let line = serde_json::to_string(rollover).map_err(|e| e.to_string())?;
            writeln!(out, "{line}").map_err(|e| e.to_string())
        }
        Format::Csv => {
            let nav = rollover.nav_after.round_dp(NAV_SCALE);
            for statement in &rollover.statements {
                let fees = rollover
                    .fees
                    .iter()
                    .find(|f| f.investor == statement.holder);
                let of = |pick: fn(&InvestorFees) -> Decimal| fees.map_or(Decimal::ZERO, pick);
                writeln!(
                    out,
                    "{at},{},{},{nav},{},{},{},{},{},{},{}",
                    text_field(&statement.holder),
                    statement.units,
                    statement.equity,
                    of(|f| f.management),
                    of(|f| f.performance),
                    of(|f| f.debt_taken),
                    statement.fee_debt,
                    statement.hwm,
                    text_field(&requests_of(rollover, &statement.holder)),
                )
                .map_err(|e| e.to_string())?;
            }
            // Who left at this rollover: no units, and what they were paid.
            let mut left: Vec<&str> = Vec::new();
            for execution in &rollover.executions {
                let holder = execution.investor.as_str();
                if rollover.statements.iter().all(|s| s.holder != holder) && !left.contains(&holder)
                {
                    left.push(holder);
                    let fees = rollover.fees.iter().find(|f| f.investor == holder);
                    let of = |pick: fn(&InvestorFees) -> Decimal| fees.map_or(Decimal::ZERO, pick);
                    writeln!(
                        out,
                        "{at},{},0,{nav},0,{},{},{},0,0,{}",
                        text_field(holder),
                        of(|f| f.management),
                        of(|f| f.performance),
                        of(|f| f.debt_taken),
                        text_field(&requests_of(rollover, holder)),
                    )
                    .map_err(|e| e.to_string())?;
                }
            }
            Ok(())
        }
    }
}
