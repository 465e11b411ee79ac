//! `brokeros copy size`: the follower's volume for a provider's deal, by the sizing the live
//! copier uses, for one case given by flags or a file of cases (README: "Copy trading sizes").

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use brokeros_copy::model::{Figures, Size, Sizing, VolumeLimits};
use brokeros_kernel::Error;
use brokeros_kernel::csv::{Record, text_field};
use brokeros_kernel::csv_columns::{Columns, FileError, one_of};
use clap::{Args, Subcommand, ValueEnum};
use rust_decimal::Decimal;

use crate::CliResult;
use crate::files::each_record;

#[derive(Subcommand)]
pub enum CopyCommand {
    /// Print the follower's volume: `mode,asked,volume,note` for each case. Exits 2 naming
    /// the flag, or the file, line and column, of the first bad value.
    Size(SizeArgs),
}

#[derive(Args)]
pub struct SizeArgs {
    /// A file of cases instead of the flags: mode,parameter,provider_volume,provider_balance,
    /// provider_equity,follower_balance,follower_equity,min,max,step.
    #[arg(long, conflicts_with_all = ["mode", "parameter"])]
    cases: Option<PathBuf>,
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// The mode's parameter: lots (fixed_lot), factor (multiplier), ratio (balance_ratio).
    #[arg(long)]
    parameter: Option<Decimal>,
    #[arg(long, default_value = "0")]
    provider_volume: Decimal,
    #[arg(long, default_value = "0")]
    provider_balance: Decimal,
    #[arg(long, default_value = "0")]
    provider_equity: Decimal,
    #[arg(long, default_value = "0")]
    follower_balance: Decimal,
    #[arg(long, default_value = "0")]
    follower_equity: Decimal,
    /// The symbol's smallest volume, largest volume and step.
    #[arg(long, default_value = "0.01")]
    min: Decimal,
    #[arg(long, default_value = "100")]
    max: Decimal,
    #[arg(long, default_value = "0.01")]
    step: Decimal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
enum Mode {
    FixedLot,
    Multiplier,
    Balance,
    Equity,
    BalanceRatio,
}

const CASE_COLUMNS: [&str; 10] = [
    "mode",
    "parameter",
    "provider_volume",
    "provider_balance",
    "provider_equity",
    "follower_balance",
    "follower_equity",
    "min",
    "max",
    "step",
];

/// A mode's name as the flags and the cases file write it (clap's, in snake case).
fn mode_name(mode: Mode) -> String {
    mode.to_possible_value()
        .map(|value| value.get_name().to_string())
        .unwrap_or_default()
}

/// The sizing of `mode` with its parameter; a mode that needs one refuses its absence.
fn sizing(mode: Mode, parameter: Option<Decimal>) -> Result<Sizing, Error> {
    let needed = |name: &str| {
        parameter.ok_or_else(|| {
            Error::invalid(
                "parameter_required",
                "parameter",
                format!("mode {} needs its {name} as the parameter", mode_name(mode)),
            )
        })
    };
    let sizing = match mode {
        Mode::FixedLot => Sizing::FixedLot {
            lots: needed("lots")?,
        },
        Mode::Multiplier => Sizing::Multiplier {
            factor: needed("factor")?,
        },
        Mode::BalanceRatio => Sizing::BalanceRatio {
            ratio: needed("ratio")?,
        },
        Mode::Balance => Sizing::Balance,
        Mode::Equity => Sizing::Equity,
    };
    sizing.validate()?;
    Ok(sizing)
}

fn write_size(out: &mut impl Write, mode: Mode, size: &Size) -> Result<(), String> {
    let note = size
        .note
        .map(|n| serde_json::to_value(n).unwrap_or_default())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let volume = size.volume.map(|v| v.to_string()).unwrap_or_default();
    writeln!(
        out,
        "{},{},{volume},{}",
        mode_name(mode),
        size.asked.round_dp(8).normalize(),
        text_field(&note)
    )
    .map_err(|e| e.to_string())
}

pub fn run(command: CopyCommand) -> CliResult {
    let CopyCommand::Size(args) = command;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match &args.cases {
        Some(path) => {
            writeln!(out, "{HEADER}").map_err(|e| e.to_string())?;
            cases(path, &mut out)?
        }
        None => {
            let (mode, size) = flag_case(&args)?;
            writeln!(out, "{HEADER}").map_err(|e| e.to_string())?;
            write_size(&mut out, mode, &size)?;
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

const HEADER: &str = "mode,asked,volume,note";

/// The case the flags give.
fn flag_case(args: &SizeArgs) -> Result<(Mode, Size), String> {
    let mode = args.mode.ok_or(
        "give --mode (or --cases FILE): fixed_lot, multiplier, balance, equity, balance_ratio",
    )?;
    let sizing = sizing(mode, args.parameter).map_err(|e| format!("--{}", flag_error(&e)))?;
    let limits = VolumeLimits {
        min: args.min,
        max: args.max,
        step: args.step,
    };
    limits
        .validate()
        .map_err(|e| format!("--min/--max/--step: {e}"))?;
    let figures = Figures {
        provider_volume: args.provider_volume,
        provider_balance: args.provider_balance,
        provider_equity: args.provider_equity,
        follower_balance: args.follower_balance,
        follower_equity: args.follower_equity,
    };
    Ok((mode, sizing.size(&figures, &limits)))
}

/// A refusal as a flag's: `parameter: mode fixed_lot needs its lots … (parameter_required)`.
fn flag_error(error: &Error) -> String {
    let body = error.body();
    format!(
        "{}: {} ({})",
        body.field.unwrap_or_default(),
        body.message,
        body.code
    )
}

fn cases(path: &Path, out: &mut impl Write) -> Result<(), String> {
    let names: Vec<(String, Mode)> = Mode::value_variants()
        .iter()
        .map(|mode| (mode_name(*mode), *mode))
        .collect();
    let modes: Vec<(&str, Mode)> = names
        .iter()
        .map(|(name, mode)| (name.as_str(), *mode))
        .collect();
    let mut failed = None;
    each_record(
        path,
        |file, header| Columns::from_header(file, header, CASE_COLUMNS),
        |columns, record| {
            let (mode, size) = case(columns, record, &modes)?;
            if let Err(e) = write_size(out, mode, &size) {
                failed.get_or_insert(e);
            }
            Ok(())
        },
    )?;
    failed.map_or(Ok(()), Err)
}

/// One line of a cases file; `modes` names every mode (built once for the file).
fn case(
    columns: &Columns<10>,
    record: &Record,
    modes: &[(&str, Mode)],
) -> Result<(Mode, Size), FileError> {
    let mode = one_of(columns.cell(record, 0)?, modes)
        .map_err(|m| columns.error(record, 0, Error::invalid("invalid_mode", "mode", m)))?;
    let parameter = match columns.cell(record, 1)? {
        "" => None,
        _ => Some(columns.amount(record, 1)?),
    };
    let sizing = sizing(mode, parameter).map_err(|e| columns.error(record, 1, e))?;
    let figures = Figures {
        provider_volume: columns.amount(record, 2)?,
        provider_balance: columns.amount(record, 3)?,
        provider_equity: columns.amount(record, 4)?,
        follower_balance: columns.amount(record, 5)?,
        follower_equity: columns.amount(record, 6)?,
    };
    let limits = VolumeLimits {
        min: columns.amount(record, 7)?,
        max: columns.amount(record, 8)?,
        step: columns.amount(record, 9)?,
    };
    limits.validate().map_err(|e| columns.error(record, 7, e))?;
    Ok((mode, sizing.size(&figures, &limits)))
}
