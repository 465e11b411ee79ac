//! `brokeros contest score`: a contest scored over files by the engine that scores it live,
//! writing nothing: the ranking with each entrant's numbers, prizes and hedging flags, and the
//! explanations, for audits and disputes. The files are read a record at a time; memory holds
//! the entrants' events, as the live engine does.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use brokeros_contests::model::definition::ContestDefinition;
use brokeros_contests::model::hedging::{HedgeFlag, hedging_flags};
use brokeros_contests::model::prizes::{PrizeProposal, propose};
use brokeros_contests::model::ranking::{Standing, StandingStatus, rank};
use brokeros_contests::model::scoring::Explanation;
use brokeros_contests::model::{Entrant, Scoring};
use brokeros_contests::offline::{CashFlowColumns, DealColumns, EntrantColumns};
use brokeros_kernel::csv::text_field;
use clap::Subcommand;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::CliResult;
use crate::files::{document_error, each_record};

#[derive(Subcommand)]
pub enum ContestCommand {
    /// Score a contest over files and print the ranking (README: "Offline contest scoring").
    /// Exits 2 naming the file, line and column of the first bad value.
    Score {
        /// The contest definition (JSON, as the contest API takes it).
        #[arg(long)]
        contest: PathBuf,
        /// Closed trades: deal,login,symbol,side,volume,opened_at,closed_at,profit,commission,swap
        #[arg(long)]
        deals: PathBuf,
        /// Balance and credit operations: id,login,kind,amount,at
        #[arg(long)]
        cashflows: PathBuf,
        /// entrant,login,registered_at; without it every login of the files enters, named by
        /// its login, registered when registration opened.
        #[arg(long)]
        entrants: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Explain this login's score only: in JSON its explanation alone; in CSV its events
        /// after the ranking.
        #[arg(long)]
        explain: Option<u64>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The ranking, one line per entrant.
    Csv,
    /// One document: the ranking with explanations, the prizes, the hedging flags.
    Json,
}

pub fn run(command: ContestCommand) -> CliResult {
    match command {
        ContestCommand::Score {
            contest,
            deals,
            cashflows,
            entrants,
            format,
            explain,
        } => score(
            &contest,
            &deals,
            &cashflows,
            entrants.as_deref(),
            format,
            explain,
        ),
    }
}

/// What the files held beyond the entrants' events.
#[derive(Default)]
struct Ignored {
    deals: u64,
    cash_flows: u64,
}

fn score(
    contest: &Path,
    deals: &Path,
    cashflows: &Path,
    entrants: Option<&Path>,
    format: Format,
    explain: Option<u64>,
) -> CliResult {
    let text = std::fs::read_to_string(contest)
        .map_err(|e| format!("cannot read {}: {e}", contest.display()))?;
    let definition =
        ContestDefinition::from_json(&text).map_err(|e| document_error(contest, &e))?;
    let mut scoring = Scoring::new(&definition);
    if let Some(path) = entrants {
        let mut ids = HashSet::new();
        each_record(path, EntrantColumns::entrants, |columns, record| {
            let entrant = columns.entrant(record)?;
            if !ids.insert(entrant.id.clone()) {
                return Err(columns.error(
                    record,
                    0,
                    brokeros_kernel::Error::invalid(
                        "entrant_repeated",
                        "entrant",
                        format!("entrant {} is listed twice", entrant.id),
                    ),
                ));
            }
            scoring
                .enter(entrant)
                .map_err(|e| columns.error(record, 1, e))
        })?;
    }
    let registration_opens = definition.registration.from_msc();
    // Without an entrants file, whoever the files name enters.
    let enter = |scoring: &mut Scoring, login: u64| {
        if entrants.is_none() && scoring.score_of(login).is_none() {
            scoring
                .enter(Entrant {
                    id: login.to_string(),
                    login,
                    registered_msc: registration_opens,
                })
                .expect("a login not yet entered");
        }
    };
    let mut ignored = Ignored::default();
    each_record(deals, DealColumns::deals, |columns, record| {
        let trade = columns.trade(record)?;
        enter(&mut scoring, trade.login);
        if !scoring
            .add_trade(&trade)
            .map_err(|e| columns.error(record, 0, e))?
        {
            ignored.deals += 1;
        }
        Ok(())
    })?;
    each_record(cashflows, CashFlowColumns::cash_flows, |columns, record| {
        let flow = columns.cash_flow(record)?;
        enter(&mut scoring, flow.login);
        if !scoring
            .add_cash_flow(&flow)
            .map_err(|e| columns.error(record, 0, e))?
        {
            ignored.cash_flows += 1;
        }
        Ok(())
    })?;
    if let Some(login) = explain
        && scoring.score_of(login).is_none()
    {
        return Err(format!("--explain {login}: no entrant has this login"));
    }
    scoring.update();
    let standings = rank(scoring.scores(), scoring.rules(), &HashMap::new());
    let prizes = propose(&definition, &standings);
    let flags = hedging_flags(&scoring, &definition.hedging);
    let report = Report {
        definition: &definition,
        scoring: &scoring,
        standings: &standings,
        prizes: &prizes,
        flags: &flags,
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    let written = match format {
        Format::Csv => report.csv(explain, &mut out),
        Format::Json => report.json(explain, &ignored, &mut out),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the ranking: {e}"))?;
    eprintln!(
        "{} entrants ({} ranked), {} events; ignored for naming no entrant: {} deals, {} cash flows; nothing was written",
        scoring.entrants(),
        standings.iter().filter(|s| s.rank.is_some()).count(),
        scoring.events(),
        ignored.deals,
        ignored.cash_flows
    );
    Ok(ExitCode::SUCCESS)
}

struct Report<'a> {
    definition: &'a ContestDefinition,
    scoring: &'a Scoring,
    standings: &'a [Standing],
    prizes: &'a PrizeProposal,
    flags: &'a [HedgeFlag],
}

const RANKING_HEADER: &str = "rank,entrant,login,status,metric,return,profit,volume,max_drawdown,trades,excluded,cash_flows,prize,hedge_review";
const EXPLANATION_HEADER: &str =
    "login,event,id,at,symbol,side,volume,opened_at,amount,reason,equity,index";

fn status_name(status: StandingStatus) -> &'static str {
    match status {
        StandingStatus::Ranked => "ranked",
        StandingStatus::TooFewTrades => "too_few_trades",
        StandingStatus::DrawdownExceeded => "drawdown_exceeded",
        StandingStatus::Disqualified => "disqualified",
    }
}

fn shown_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// An enum's JSON name (`held_too_short`), given as `json!(value)`.
fn name_of(value: Value) -> String {
    match value {
        Value::String(name) => name,
        other => other.to_string(),
    }
}

impl Report<'_> {
    fn prize_of(&self, entrant: &str) -> Option<Decimal> {
        self.prizes
            .awards
            .iter()
            .find(|a| a.entrant == entrant)
            .map(|a| a.amount)
    }

    /// The entrants each entrant is flagged with for hedging.
    fn hedged_with(&self, entrant: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter_map(|f| match &f.entrants {
                [a, b] if a == entrant => Some(b.as_str()),
                [a, b] if b == entrant => Some(a.as_str()),
                _ => None,
            })
            .collect()
    }

    fn csv(&self, explain: Option<u64>, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{RANKING_HEADER}")?;
        for s in self.standings {
            let score = &s.score;
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                s.rank.map(|r| r.to_string()).unwrap_or_default(),
                text_field(&s.entrant),
                s.login,
                status_name(s.status),
                score.metric,
                score.return_,
                score.profit,
                score.volume,
                score.max_drawdown,
                score.trades,
                score.excluded_trades,
                score.cash_flows,
                self.prize_of(&s.entrant)
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                text_field(&self.hedged_with(&s.entrant).join(";")),
            )?;
        }
        if let Some(login) = explain
            && let Some(explanation) = self.scoring.explain(login)
        {
            writeln!(out)?;
            writeln!(out, "{EXPLANATION_HEADER}")?;
            explanation_csv(&explanation, self.definition, out)?;
        }
        Ok(())
    }

    fn json(
        &self,
        explain: Option<u64>,
        ignored: &Ignored,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let d = self.definition;
        let standings: Vec<Value> = self
            .standings
            .iter()
            .map(|s| {
                let mut row = json!({
                    "rank": s.rank,
                    "entrant": s.entrant,
                    "login": s.login,
                    "status": s.status,
                    "prize_eligible": s.prize_eligible,
                    "metric": s.score.metric,
                    "return": s.score.return_,
                    "profit": s.score.profit,
                    "volume": s.score.volume,
                    "max_drawdown": s.score.max_drawdown,
                    "trades": s.score.trades,
                    "excluded_trades": s.score.excluded_trades,
                    "cash_flows": s.score.cash_flows,
                    "prize": self.prize_of(&s.entrant),
                    "hedge_review": self.hedged_with(&s.entrant),
                });
                if explain.is_none_or(|login| login == s.login) {
                    row["explanation"] = json!(self.scoring.explain(s.login));
                }
                row
            })
            .collect();
        let document = json!({
            "contest": {
                "id": d.id, "version": d.version, "name": d.name, "currency": d.currency,
                "metric": d.metric.kind, "period": d.period,
            },
            "standings": standings,
            "prizes": self.prizes,
            "hedge_flags": self.flags,
            "ignored": { "deals": ignored.deals, "cash_flows": ignored.cash_flows },
        });
        serde_json::to_writer_pretty(&mut *out, &document)?;
        writeln!(out)
    }
}

/// An explanation as CSV lines in the fold's order: the equity the period starts from, each
/// counted or excluded trade and each cash flow, with the equity and growth index after it
/// where the fold marks them, and the equity it ends with.
fn explanation_csv(
    e: &Explanation,
    definition: &ContestDefinition,
    out: &mut impl Write,
) -> std::io::Result<()> {
    struct Line {
        key: (OffsetDateTime, bool, u64),
        marked: bool,
        text: String,
    }
    let mut lines: Vec<Line> = Vec::new();
    for t in &e.counted {
        lines.push(Line {
            key: (t.closed_at, true, t.deal),
            marked: true,
            text: format!(
                "counted,{},{},{},{},{},{},{},",
                t.deal,
                shown_time(t.closed_at),
                text_field(&t.symbol),
                name_of(json!(t.side)),
                t.volume,
                shown_time(t.opened_at),
                t.net
            ),
        });
    }
    for t in &e.excluded {
        lines.push(Line {
            key: (t.closed_at, true, t.deal),
            marked: false,
            text: format!(
                "excluded,{},{},{},,{},{},{},{}",
                t.deal,
                shown_time(t.closed_at),
                text_field(&t.symbol),
                t.volume,
                shown_time(t.opened_at),
                t.net,
                name_of(json!(t.reason))
            ),
        });
    }
    for f in &e.cash_flows {
        lines.push(Line {
            key: (f.at, false, f.id),
            marked: true,
            text: format!(
                "{},{},{},,,,,{},",
                name_of(json!(f.kind)),
                f.id,
                shown_time(f.at),
                f.amount
            ),
        });
    }
    lines.sort_by_key(|l| l.key);
    // The equity path has a mark for each counted trade and cash flow, in the same order.
    let mut marks = e.equity_path.iter();
    writeln!(
        out,
        "{},start,,{},,,,,,,{},1",
        e.login,
        shown_time(definition.period.from),
        e.starting_equity
    )?;
    for line in &lines {
        let (equity, index) = match line.marked.then(|| marks.next()).flatten() {
            Some(mark) => (mark.equity.to_string(), mark.index.to_string()),
            None => (String::new(), String::new()),
        };
        writeln!(out, "{},{},{equity},{index}", e.login, line.text)?;
    }
    writeln!(
        out,
        "{},end,,{},,,,,,,{},",
        e.login,
        shown_time(definition.period.until),
        e.final_equity
    )
}
