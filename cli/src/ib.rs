//! `brokeros ib preview`: what a commission plan would have paid on a set of deals, computed by
//! the live engine over files, writing nothing. A broker tries a plan change on last month's
//! deals before rolling it out. The deals stream: memory holds open positions, CPA progress and
//! per-IB period sums, never the deals.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use brokeros_ib::model::{Carry, Engine, EngineState, FixedRates, PeriodSums, SymbolGroups};
use brokeros_ib::preview::{self, DealColumns};
use brokeros_kernel::Error;
use clap::Subcommand;

use crate::CliResult;

#[derive(Subcommand)]
pub enum IbCommand {
    /// Compute a plan's accruals over deals: per-deal legs with their explanations, then each
    /// beneficiary's period statements. Exits 2 on invalid input (`{code, message, field}`).
    Preview {
        /// The plan: one plan document, or a JSON list of its versions.
        #[arg(long)]
        plan: PathBuf,
        /// The IB tree: `{"ibs": [...], "clients": [...]}` with effective-dated relations.
        #[arg(long)]
        tree: PathBuf,
        /// MT5 deals, CSV with a header, in time order (`-` reads standard input).
        #[arg(long)]
        deals: PathBuf,
        /// Exchange rates, CSV `from,to,rate,as_of_msc[,source]`; same-currency amounts need none.
        #[arg(long)]
        rates: Option<PathBuf>,
        /// Named symbol sets the plan's rules may name: `{"majors": ["EURUSD", ...]}`.
        #[arg(long)]
        symbol_groups: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Print the statements only, not one line per leg.
        #[arg(long)]
        totals_only: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    /// One JSON object per line: `"type": "leg"`, then `"type": "statement"`.
    Json,
}

pub fn run(command: IbCommand) -> CliResult {
    match command {
        IbCommand::Preview {
            plan,
            tree,
            deals,
            rates,
            symbol_groups,
            format,
            totals_only,
        } => preview_files(
            &plan,
            &tree,
            &deals,
            rates.as_deref(),
            symbol_groups.as_deref(),
            format,
            totals_only,
        ),
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The error as the HTTP edge would answer it.
fn invalid(error: Error) -> String {
    serde_json::to_string(&error.body()).unwrap_or_else(|_| error.to_string())
}

fn preview_files(
    plan: &Path,
    tree: &Path,
    deals: &Path,
    rates: Option<&Path>,
    symbol_groups: Option<&Path>,
    format: Format,
    totals_only: bool,
) -> CliResult {
    let groups = match symbol_groups {
        Some(path) => preview::read_symbol_groups(&read(path)?).map_err(invalid)?,
        None => SymbolGroups::new(),
    };
    let plans = preview::read_plans(&read(plan)?, &groups).map_err(invalid)?;
    let tree = preview::read_tree(&read(tree)?, &plans).map_err(invalid)?;
    let rates = match rates {
        Some(path) => preview::read_rates(&read(path)?).map_err(invalid)?,
        None => FixedRates::default(),
    };
    let input: Box<dyn BufRead> = if deals == Path::new("-") {
        Box::new(BufReader::with_capacity(1 << 20, std::io::stdin().lock()))
    } else {
        let file = std::fs::File::open(deals)
            .map_err(|e| format!("cannot read {}: {e}", deals.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let engine = Engine {
        plans: &plans,
        tree: &tree,
        rates: &rates,
        server: Arc::from("preview"),
    };
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let write_err = |e: std::io::Error| format!("cannot write the preview: {e}");
    if format == Format::Csv && !totals_only {
        writeln!(out, "{}", preview::LEG_CSV_HEADER).map_err(write_err)?;
    }
    let mut state = EngineState::streaming();
    let mut sums = PeriodSums::default();
    let mut legs = Vec::new();
    let mut text = String::new();
    let mut columns: Option<DealColumns> = None;
    let mut deal_count = 0u64;
    for (index, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", deals.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let Some(columns) = &columns else {
            columns = Some(DealColumns::from_header(&line).map_err(invalid)?);
            continue;
        };
        let deal = columns.parse(&line, index + 1).map_err(invalid)?;
        deal_count += 1;
        legs.clear();
        state
            .apply_deal(&engine, &deal, &mut legs)
            .map_err(invalid)?;
        for leg in &legs {
            sums.add(leg);
            if totals_only {
                continue;
            }
            match format {
                Format::Csv => preview::push_leg_csv(leg, &mut text),
                Format::Json => {
                    text.push_str(&preview::leg_json(leg).to_string());
                    text.push('\n');
                }
            }
        }
        if text.len() > 1 << 16 {
            out.write_all(text.as_bytes()).map_err(write_err)?;
            text.clear();
        }
    }
    out.write_all(text.as_bytes()).map_err(write_err)?;
    let statements = sums.close(&plans, &mut Carry::default());
    if format == Format::Csv {
        if !totals_only {
            writeln!(out).map_err(write_err)?;
        }
        writeln!(out, "{}", preview::STATEMENT_CSV_HEADER).map_err(write_err)?;
    }
    for statement in &statements {
        let line = match format {
            Format::Csv => preview::statement_csv(statement),
            Format::Json => preview::statement_json(statement).to_string(),
        };
        writeln!(out, "{line}").map_err(write_err)?;
    }
    out.flush().map_err(write_err)?;
    eprintln!(
        "{deal_count} deals, {} statements; nothing was written",
        statements.len()
    );
    Ok(ExitCode::SUCCESS)
}
