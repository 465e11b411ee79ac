//! The what-if preview's file formats: a plan (or a list of plan versions), a tree, deals as
//! MT5 exports them (CSV), and optional exchange rates (CSV), read line by line so a file of
//! millions of deals streams; and the preview's output lines. The computation is the live
//! engine's ([`crate::model::engine`]); nothing here writes anywhere.

use std::str::FromStr;

use brokeros_kernel::money::{Currency, parse_amount};
use brokeros_kernel::{Error, Result, csv};
use brokeros_trading::{DealAction, DealEntry, PlatformDeal};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::model::{
    Accrual, CommissionPlan, FixedRates, FxRate, Hierarchy, PeriodStatement, PlanBook, SymbolGroups,
};

/// The columns of a deals file, in any order (a header line names them).
pub const DEAL_COLUMNS: [&str; 20] = [
    "deal",
    "login",
    "order",
    "position_id",
    "symbol",
    "action",
    "entry",
    "volume",
    "price",
    "profit",
    "commission",
    "swap",
    "currency",
    "group",
    "contract_size",
    "digits",
    "market_bid",
    "market_ask",
    "rate_profit",
    "time_msc",
];

/// Reads one plan document, or a JSON list of plan versions; errors name the field with the
/// version's index first (`[1].rules[0].earns.per_lot`).
pub fn read_plans(text: &str, groups: &SymbolGroups) -> Result<PlanBook> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Error::invalid(
            "invalid_plan",
            "",
            format!("the plan is not valid JSON: {e}"),
        )
    })?;
    let documents = match value {
        Value::Array(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Some(i), v))
            .collect(),
        one => vec![(None, one)],
    };
    let mut book = PlanBook::default();
    for (index, document) in documents {
        let prefixed = |e: Error| match (index, e) {
            (
                Some(i),
                Error::Validation {
                    code,
                    message,
                    field,
                },
            ) => Error::Validation {
                code,
                message,
                field: Some(format!("[{i}].{}", field.unwrap_or_default())),
            },
            (_, e) => e,
        };
        let plan = CommissionPlan::from_value(&document, groups).map_err(prefixed)?;
        book.insert(plan).map_err(prefixed)?;
    }
    Ok(book)
}

/// Reads a tree file and checks it against the plans: every plan an IB names exists, every IB
/// is paid in a currency Broker OS books. A cycle or an unknown parent is refused.
pub fn read_tree(text: &str, plans: &PlanBook) -> Result<Hierarchy> {
    let tree = Hierarchy::from_json(text)?;
    for ib in tree.ibs() {
        Currency::parse(&format!("ibs[{}].currency", ib.id), &ib.currency)?;
        for entry in ib.plans.entries() {
            if let Some(unknown) = entry.value.iter().find(|p| !plans.contains(p)) {
                return Err(Error::invalid(
                    "unknown_plan",
                    format!("ibs[{}].plans", ib.id),
                    format!(
                        "IB {} names plan {unknown}, which the plan file lacks",
                        ib.id
                    ),
                ));
            }
        }
    }
    Ok(tree)
}

/// Reads `from,to,rate,as_of_msc[,source]` lines after a header.
pub fn read_rates(text: &str) -> Result<FixedRates> {
    let records = csv::parse(text)
        .map_err(|e| Error::invalid("invalid_rates", format!("rates[{}]", e.line), e.reason))?;
    let mut rates = FixedRates::default();
    for record in records.iter().skip(1).filter(|r| !r.is_blank()) {
        let field = |i: usize, name: &str| -> Result<&str> {
            record.fields.get(i).map(|f| f.trim()).ok_or_else(|| {
                Error::invalid(
                    "invalid_rates",
                    format!("rates[{}].{name}", record.line),
                    format!("line {} lacks {name}", record.line),
                )
            })
        };
        let rate = parse_amount(&format!("rates[{}].rate", record.line), field(2, "rate")?)?;
        if rate <= Decimal::ZERO {
            return Err(Error::invalid(
                "invalid_rates",
                format!("rates[{}].rate", record.line),
                "a rate must be positive",
            ));
        }
        rates.insert(FxRate {
            from: field(0, "from")?.to_string(),
            to: field(1, "to")?.to_string(),
            rate,
            as_of_msc: number(
                &format!("rates[{}].as_of_msc", record.line),
                field(3, "as_of_msc")?,
            )?,
            source: record
                .fields
                .get(4)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "file".to_string()),
        });
    }
    Ok(rates)
}

/// Where each deal column is in a deals file.
#[derive(Debug, Clone)]
pub struct DealColumns {
    at: [usize; DEAL_COLUMNS.len()],
}

impl DealColumns {
    /// Reads the header; a missing column is refused by name.
    pub fn from_header(header: &str) -> Result<DealColumns> {
        let names: Vec<&str> = header
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(str::trim)
            .collect();
        let mut at = [0; DEAL_COLUMNS.len()];
        for (slot, column) in at.iter_mut().zip(DEAL_COLUMNS) {
            *slot = names.iter().position(|n| *n == column).ok_or_else(|| {
                Error::invalid(
                    "missing_column",
                    format!("deals.{column}"),
                    format!("the deals file has no column {column}"),
                )
            })?;
        }
        Ok(DealColumns { at })
    }

    /// One line of the file as a deal; `line` (1-based) names the field of an error.
    pub fn parse(&self, text: &str, line: usize) -> Result<PlatformDeal> {
        let owned;
        let fields: Vec<&str> = if text.contains('"') {
            owned = csv::parse(text)
                .ok()
                .and_then(|mut r| r.pop())
                .map(|r| r.fields)
                .unwrap_or_default();
            owned.iter().map(String::as_str).collect()
        } else {
            text.split(',').collect()
        };
        let get = |i: usize| -> Result<&str> {
            fields.get(self.at[i]).map(|f| f.trim()).ok_or_else(|| {
                Error::invalid(
                    "invalid_deal",
                    format!("deals[{line}].{}", DEAL_COLUMNS[i]),
                    format!("line {line} has no {}", DEAL_COLUMNS[i]),
                )
            })
        };
        let field = |i: usize| format!("deals[{line}].{}", DEAL_COLUMNS[i]);
        let amount = |i: usize| -> Result<Decimal> { parse_amount(&field(i), get(i)?) };
        let action = one_of(
            &field(5),
            get(5)?,
            &[
                ("buy", DealAction::Buy),
                ("sell", DealAction::Sell),
                ("balance", DealAction::Balance),
                ("credit", DealAction::Credit),
            ],
        )?;
        let entry = one_of(
            &field(6),
            get(6)?,
            &[
                ("in", DealEntry::In),
                ("out", DealEntry::Out),
                ("inout", DealEntry::InOut),
                ("out_by", DealEntry::OutBy),
            ],
        )?;
        let volume = amount(7)?;
        if action.is_trade() && volume <= Decimal::ZERO {
            return Err(Error::invalid(
                "volume_not_positive",
                field(7),
                format!("line {line}: a trade's volume must be positive, not {volume}"),
            ));
        }
        Ok(PlatformDeal {
            deal: number(&field(0), get(0)?)?,
            login: number(&field(1), get(1)?)?,
            order: number(&field(2), get(2)?)?,
            position_id: number(&field(3), get(3)?)?,
            symbol: get(4)?.to_string(),
            action,
            entry,
            volume,
            price: amount(8)?,
            profit: amount(9)?,
            commission: amount(10)?,
            swap: amount(11)?,
            currency: get(12)?.to_string(),
            group: get(13)?.to_string(),
            contract_size: amount(14)?,
            digits: number(&field(15), get(15)?)?,
            market_bid: amount(16)?,
            market_ask: amount(17)?,
            rate_profit: amount(18)?,
            time_msc: number(&field(19), get(19)?)?,
        })
    }
}

/// A value named in `choices`, or given by its position there (MT5's enum numbers).
fn one_of<T: Copy>(field: &str, text: &str, choices: &[(&str, T)]) -> Result<T> {
    let lower = text.to_ascii_lowercase();
    choices
        .iter()
        .enumerate()
        .find(|(i, (name, _))| *name == lower || i.to_string() == lower)
        .map(|(_, (_, value))| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
            Error::invalid(
                "invalid_deal",
                field,
                format!("'{text}' is not one of {}", names.join(", ")),
            )
        })
}

fn number<T: FromStr>(field: &str, text: &str) -> Result<T> {
    text.parse().map_err(|_| {
        Error::invalid(
            "invalid_number",
            field,
            format!(
                "{field}: '{}' is not a whole number",
                text.chars().take(24).collect::<String>()
            ),
        )
    })
}

/// The header of the preview's per-leg CSV.
pub const LEG_CSV_HEADER: &str = "id,deal,login,client,time_msc,period,beneficiary,level,kind,plan,plan_version,rule,method,rate,deal_lots,entry_lots,hedged_lots,held_ms,excluded,modifier,counted_lots,basis_amount,basis_currency,level_fraction,capped,leg_in_basis_currency,fx_rate,fx_source,fx_as_of_msc,amount,currency,note";

/// Appends one leg as a CSV line (see [`LEG_CSV_HEADER`]).
pub fn push_leg_csv(leg: &Accrual, out: &mut String) {
    use std::fmt::Write;
    let e = &leg.explanation;
    let b = &e.basis;
    let v = &b.volume;
    let (fx_rate, fx_source, fx_as_of) = match &e.fx {
        Some(fx) => (
            fx.rate.to_string(),
            fx.source.as_str(),
            fx.as_of_msc.to_string(),
        ),
        None => ("1".to_string(), "identity", String::new()),
    };
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        leg.id(),
        leg.deal,
        leg.login,
        leg.client,
        leg.time_msc,
        b.period.label(),
        leg.beneficiary,
        leg.level,
        leg.kind.name(),
        b.plan_id,
        b.plan_version,
        b.rule_id.as_deref().unwrap_or(""),
        b.method.name(),
        b.rate,
        v.deal_lots,
        v.entry_lots,
        v.hedged_lots,
        v.held_ms.map(|h| h.to_string()).unwrap_or_default(),
        v.excluded.map(|x| x.name()).unwrap_or(""),
        v.modifier,
        v.counted_lots,
        b.amount,
        b.currency,
        e.level_fraction,
        e.capped,
        e.amount_in_basis_currency,
        fx_rate,
        fx_source,
        fx_as_of,
        leg.amount,
        leg.currency,
        e.note
            .map(|n| format!("\"{}\"", n.text()))
            .unwrap_or_default(),
    );
}

/// One leg as a JSON object (its stored form, amounts as strings), with its id and period.
pub fn leg_json(leg: &Accrual) -> Value {
    tagged(
        json!({ "type": "leg", "id": leg.id(), "period": leg.period().label() }),
        leg,
    )
}

/// `head`'s fields, then `body`'s.
fn tagged(mut head: Value, body: &impl serde::Serialize) -> Value {
    if let (Value::Object(head), Ok(Value::Object(body))) = (&mut head, serde_json::to_value(body))
    {
        head.extend(body);
    }
    head
}

/// The header of the preview's per-IB statement CSV.
pub const STATEMENT_CSV_HEADER: &str = "beneficiary,currency,period,commission,tier_adjustment,tiers,cpa,rebate,revenue_share_payable,revenue_share_carried,accrued,carried_in,paid,carried_out";

/// One period statement as a CSV line (see [`STATEMENT_CSV_HEADER`]).
pub fn statement_csv(s: &PeriodStatement) -> String {
    let tiers: Vec<String> = s
        .tiers
        .iter()
        .map(|t| {
            format!(
                "{}: {} lots >= {} x{}",
                t.plan_id, t.period_lots, t.tier_min_lots, t.multiplier
            )
        })
        .collect();
    format!(
        "{},{},{},{},{},\"{}\",{},{},{},{},{},{},{},{}",
        s.beneficiary,
        s.currency,
        s.period.label(),
        s.commission,
        s.tiers.iter().map(|t| t.amount).sum::<Decimal>(),
        tiers.join("; "),
        s.cpa,
        s.rebate,
        s.revenue_share.iter().map(|r| r.payable).sum::<Decimal>(),
        s.revenue_share
            .iter()
            .map(|r| r.carried_out)
            .sum::<Decimal>(),
        s.accrued,
        s.carried_in,
        s.paid,
        s.carried_out
    )
}

/// One period statement as a JSON object, with its period's label.
pub fn statement_json(statement: &PeriodStatement) -> Value {
    tagged(
        json!({ "type": "statement", "label": statement.period.label() }),
        statement,
    )
}

/// The symbol groups file: `{"majors": ["EURUSD", ...], ...}`.
pub fn read_symbol_groups(text: &str) -> Result<SymbolGroups> {
    let mut de = serde_json::Deserializer::from_str(text);
    let groups: SymbolGroups = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| Error::from_serde("invalid_symbol_groups", e))?;
    for (name, symbols) in &groups {
        if symbols.is_empty() {
            return Err(Error::invalid(
                "invalid_symbol_groups",
                name.clone(),
                format!("symbol group {name} is empty"),
            ));
        }
    }
    Ok(groups)
}
