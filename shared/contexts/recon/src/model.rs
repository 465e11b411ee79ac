//! Reconciliation of a payment provider's settlement report against the ledger, as pure rules:
//! the strict reading of the report (CSV) and the matching of its rows against the postings of
//! the provider's clearing and fees accounts.
//!
//! # The report
//!
//! UTF-8 CSV, a header row, then one row per settled transaction, with exactly these columns
//! (in this order):
//!
//! `provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at`
//!
//! * `provider_reference`: our id of the operation (a deposit id `dep_1`, or a transfer id
//!   `dep_1:credit`); letters, digits, `-`, `_`, `.`, `:`.
//! * `provider_transaction_id`: the provider's own id, 1 to 128 printable characters.
//! * `type`: `deposit`, `withdrawal`, `refund` or `chargeback`.
//! * `amount`: the gross amount, positive, at most the currency's decimals, in the one grammar
//!   of amounts (`brokeros_kernel::money::amount`: `100.50`, never `1e2`, `+100.5` or `0100.5`).
//! * `currency`: a code of the currency table (`USD`, `JPY`, `BTC`, ...).
//! * `fee`: the provider's fee, zero or more, at most the currency's decimals.
//! * `settled_at`: RFC 3339 (`2026-03-02T10:00:00Z`).
//!
//! Fields may be quoted (`"…"`, with `""` for a quote). Any bad field refuses the whole report
//! with an error naming its line and column; a report is all or nothing.
//!
//! # Matching
//!
//! A ledger posting belongs to the reference that is its transfer id up to the first `:`
//! (`dep_1:credit` and `dep_1:fee` both belong to `dep_1`); a row's `provider_reference` is read
//! the same way. For a reference and the row's currency, the ledger's amount is
//!
//! * deposit: minus the sum of its clearing postings (a deposit moves clearing → wallet);
//! * withdrawal, refund, chargeback: the sum of its clearing postings plus its fee postings
//!   (a payout settles the reserved amount to clearing less the fee, which goes to fees);
//!
//! and the ledger's fee is the sum of its postings on the provider's fees account. Each row is
//! then one of: `matched`, `amount_mismatch`, `currency_mismatch` (the reference is booked only
//! in other currencies), `missing_in_ledger`, `duplicate_in_report` (its reference or provider
//! transaction id came earlier in the report), `fee_mismatch` (amount agrees, the fees do not)
//! or `fee_not_booked` (amount agrees, the report has a fee, the ledger none). References with
//! ledger postings that no row names are `missing_in_report` (unless they net to zero, as a
//! reversed transfer does).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use utoipa::ToSchema;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use brokeros_kernel::money::{Currency, Money, parse_amount};
use brokeros_kernel::{Error, Result};

/// The columns of a settlement report, in order.
pub const COLUMNS: [&str; 7] = [
    "provider_reference",
    "provider_transaction_id",
    "type",
    "amount",
    "currency",
    "fee",
    "settled_at",
];
/// The most rows one report may have.
pub const MAX_REPORT_ROWS: usize = 2000;
/// The largest report, in bytes.
pub const MAX_REPORT_BYTES: usize = 2 * 1024 * 1024;
const MAX_ID_CHARS: usize = 128;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RowType {
    Deposit,
    Withdrawal,
    Refund,
    Chargeback,
}

impl RowType {
    pub fn as_str(self) -> &'static str {
        match self {
            RowType::Deposit => "deposit",
            RowType::Withdrawal => "withdrawal",
            RowType::Refund => "refund",
            RowType::Chargeback => "chargeback",
        }
    }

    fn parse(text: &str) -> Option<RowType> {
        [
            RowType::Deposit,
            RowType::Withdrawal,
            RowType::Refund,
            RowType::Chargeback,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }

    /// Money out through the provider (the fee is carved out of the payout).
    fn is_payout(self) -> bool {
        self != RowType::Deposit
    }
}

/// One row of a report, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// The row's line in the file (the header is line 1).
    pub line: u32,
    pub provider_reference: String,
    pub provider_transaction_id: String,
    #[serde(rename = "type")]
    pub kind: RowType,
    pub amount: Decimal,
    pub currency: Currency,
    pub fee: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub settled_at: OffsetDateTime,
}

impl ReportRow {
    /// The reference the row's ledger postings are grouped under.
    pub fn reference(&self) -> &str {
        reference_of(&self.provider_reference)
    }
}

/// The reference a transfer id belongs to: its text up to the first `:`.
pub fn reference_of(transfer_id: &str) -> &str {
    transfer_id.split(':').next().unwrap_or(transfer_id)
}

fn bad(line: usize, column: usize, code: &'static str, message: impl fmt::Display) -> Error {
    let name = COLUMNS.get(column).copied().unwrap_or("row");
    Error::invalid(
        code,
        format!("line {line}, column {} ({name})", column + 1),
        format!("line {line}, column {} ({name}): {message}", column + 1),
    )
}

fn check_id(line: usize, column: usize, value: &str, transfer_id_chars: bool) -> Result<String> {
    let ok = !value.is_empty()
        && value.chars().count() <= MAX_ID_CHARS
        && value.chars().all(|c| {
            if transfer_id_chars {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
            } else {
                c.is_ascii_graphic()
            }
        });
    if ok {
        Ok(value.to_string())
    } else if transfer_id_chars {
        Err(bad(
            line,
            column,
            "invalid_reference",
            format!("must be 1 to {MAX_ID_CHARS} letters, digits, '-', '_', '.' or ':'"),
        ))
    } else {
        Err(bad(
            line,
            column,
            "invalid_id",
            format!("must be 1 to {MAX_ID_CHARS} printable ASCII characters without spaces"),
        ))
    }
}

fn amount(
    line: usize,
    column: usize,
    text: &str,
    currency: Currency,
    positive: bool,
) -> Result<Decimal> {
    let checked = parse_amount(COLUMNS[column], text).and_then(|value| {
        if positive {
            Money::positive(COLUMNS[column], value, currency)
        } else {
            Money::non_negative(COLUMNS[column], value, currency)
        }
    });
    checked.map(|m| m.amount()).map_err(|e| match e {
        Error::Validation { code, message, .. } => bad(line, column, code, message),
        other => other,
    })
}

fn shown(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Reads a settlement report strictly (see the module documentation): every row or an error
/// naming the first bad line and column.
pub fn parse_report(csv: &str) -> Result<Vec<ReportRow>> {
    if csv.len() > MAX_REPORT_BYTES {
        return Err(Error::invalid(
            "report_too_large",
            "report",
            format!("a report is at most {MAX_REPORT_BYTES} bytes"),
        ));
    }
    let records = brokeros_kernel::csv::parse(csv)
        .map_err(|e| bad(e.line, e.column, "malformed_csv", e.reason))?;
    let mut records = records.into_iter();
    let header = match records.next() {
        Some(h) if !h.is_blank() => h,
        _ => {
            return Err(Error::invalid(
                "empty_report",
                "line 1",
                "line 1: the report is empty; it starts with the header row",
            ));
        }
    };
    if header
        .fields
        .iter()
        .map(|n| n.trim())
        .ne(COLUMNS.iter().copied())
    {
        return Err(Error::invalid(
            "invalid_header",
            "line 1",
            format!(
                "line 1: the header must be exactly '{}', not '{}'",
                COLUMNS.join(","),
                shown(&header.fields.join(","))
            ),
        ));
    }
    let mut rows = Vec::new();
    let mut trailing_blank = None;
    for record in records {
        let line = record.line;
        if record.fields.iter().all(|f| f.is_empty()) {
            trailing_blank.get_or_insert(line);
            continue;
        }
        if let Some(blank) = trailing_blank {
            return Err(Error::invalid(
                "malformed_csv",
                format!("line {blank}"),
                format!("line {blank}: an empty line inside the report"),
            ));
        }
        if rows.len() == MAX_REPORT_ROWS {
            return Err(Error::invalid(
                "report_too_large",
                format!("line {line}"),
                format!("line {line}: a report has at most {MAX_REPORT_ROWS} rows"),
            ));
        }
        rows.push(parse_row(line, record.fields)?);
    }
    if rows.is_empty() {
        return Err(Error::invalid(
            "empty_report",
            "line 2",
            "line 2: the report has no rows",
        ));
    }
    Ok(rows)
}

fn parse_row(line: usize, fields: Vec<String>) -> Result<ReportRow> {
    if fields.len() != COLUMNS.len() {
        return Err(Error::invalid(
            "malformed_csv",
            format!("line {line}"),
            format!(
                "line {line}: {} fields, the header has {}",
                fields.len(),
                COLUMNS.len()
            ),
        ));
    }
    let provider_reference = check_id(line, 0, &fields[0], true)?;
    let provider_transaction_id = check_id(line, 1, &fields[1], false)?;
    let kind = RowType::parse(&fields[2]).ok_or_else(|| {
        bad(
            line,
            2,
            "invalid_type",
            format!(
                "'{}' is not deposit, withdrawal, refund or chargeback",
                shown(&fields[2])
            ),
        )
    })?;
    let currency = Currency::parse(COLUMNS[4], &fields[4]).map_err(|e| match e {
        Error::Validation { code, message, .. } => bad(line, 4, code, message),
        other => other,
    })?;
    let amount_value = amount(line, 3, &fields[3], currency, true)?;
    let fee = amount(line, 5, &fields[5], currency, false)?;
    let settled_at = OffsetDateTime::parse(&fields[6], &Rfc3339).map_err(|_| {
        bad(
            line,
            6,
            "invalid_time",
            format!(
                "'{}' is not an RFC 3339 time such as 2026-03-02T10:00:00Z",
                shown(&fields[6])
            ),
        )
    })?;
    Ok(ReportRow {
        line: line as u32,
        provider_reference,
        provider_transaction_id,
        kind,
        amount: amount_value,
        currency,
        fee,
        settled_at,
    })
}

/// The settlement period of a report: its earliest and latest `settled_at`.
pub fn period(rows: &[ReportRow]) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let min = rows.iter().map(|r| r.settled_at).min()?;
    let max = rows.iter().map(|r| r.settled_at).max()?;
    Some((min, max))
}

/// Which provider account a ledger posting is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerSide {
    Clearing,
    Fees,
}

/// A posting of the provider's clearing or fees account, as the matcher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerItem {
    pub transfer_id: String,
    pub side: LedgerSide,
    pub currency: Currency,
    /// Signed, as posted.
    pub amount: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub posted_at: OffsetDateTime,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Matched,
    MissingInLedger,
    MissingInReport,
    AmountMismatch,
    CurrencyMismatch,
    DuplicateInReport,
    FeeMismatch,
    FeeNotBooked,
}

impl MatchKind {
    pub const ALL: [MatchKind; 8] = [
        MatchKind::Matched,
        MatchKind::MissingInLedger,
        MatchKind::MissingInReport,
        MatchKind::AmountMismatch,
        MatchKind::CurrencyMismatch,
        MatchKind::DuplicateInReport,
        MatchKind::FeeMismatch,
        MatchKind::FeeNotBooked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Matched => "matched",
            MatchKind::MissingInLedger => "missing_in_ledger",
            MatchKind::MissingInReport => "missing_in_report",
            MatchKind::AmountMismatch => "amount_mismatch",
            MatchKind::CurrencyMismatch => "currency_mismatch",
            MatchKind::DuplicateInReport => "duplicate_in_report",
            MatchKind::FeeMismatch => "fee_mismatch",
            MatchKind::FeeNotBooked => "fee_not_booked",
        }
    }
}

impl fmt::Display for MatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One result of a reconciliation: a report row (with what the ledger has for it), or a
/// reference the ledger has and the report does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MatchItem {
    pub kind: MatchKind,
    pub reference: String,
    /// The report row's line; none for `missing_in_report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub row_type: Option<RowType>,
    /// The row's currency, or the ledger's for `missing_in_report`.
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_fee: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_fee: Option<Decimal>,
    /// The ledger's transfer ids of the reference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer_ids: Vec<String>,
    pub detail: String,
}

/// Sums per currency: the report's (rows that are not duplicates) and the ledger's (references
/// the report names in that currency, and those missing in the report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CurrencyTotals {
    pub report_amount: Decimal,
    pub report_fees: Decimal,
    pub ledger_amount: Decimal,
    pub ledger_fees: Decimal,
    /// `report_amount - ledger_amount`.
    pub difference: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matching {
    pub items: Vec<MatchItem>,
    pub counts: BTreeMap<MatchKind, u32>,
    pub totals: BTreeMap<Currency, CurrencyTotals>,
}

impl Matching {
    pub fn count(&self, kind: MatchKind) -> u32 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// Whether every item matched.
    pub fn all_matched(&self) -> bool {
        self.items.iter().all(|i| i.kind == MatchKind::Matched)
    }
}

/// What the ledger has for one reference in one currency.
#[derive(Default)]
struct Booked {
    clearing: Decimal,
    fees: Decimal,
    transfer_ids: BTreeSet<String>,
}

/// Matches report rows against the ledger items of the provider's clearing and fees accounts
/// (see the module documentation). Items come in report order, then the references missing in
/// the report, by reference and currency.
pub fn reconcile(rows: &[ReportRow], ledger: &[LedgerItem]) -> Matching {
    let mut booked: BTreeMap<(&str, Currency), Booked> = BTreeMap::new();
    for item in ledger {
        let b = booked
            .entry((reference_of(&item.transfer_id), item.currency))
            .or_default();
        match item.side {
            LedgerSide::Clearing => b.clearing += item.amount,
            LedgerSide::Fees => b.fees += item.amount,
        }
        b.transfer_ids.insert(item.transfer_id.clone());
    }
    let mut items = Vec::with_capacity(rows.len());
    let mut totals: BTreeMap<Currency, CurrencyTotals> = BTreeMap::new();
    let mut seen_refs: BTreeMap<&str, u32> = BTreeMap::new();
    let mut seen_txids: BTreeMap<&str, u32> = BTreeMap::new();
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    for row in rows {
        let reference = row.reference();
        claimed.insert(reference);
        let mut item = MatchItem {
            kind: MatchKind::Matched,
            reference: reference.to_string(),
            line: Some(row.line),
            provider_transaction_id: Some(row.provider_transaction_id.clone()),
            row_type: Some(row.kind),
            currency: row.currency,
            report_amount: Some(row.amount),
            report_fee: Some(row.fee),
            ledger_amount: None,
            ledger_fee: None,
            transfer_ids: Vec::new(),
            detail: String::new(),
        };
        let earlier = seen_refs
            .get(reference)
            .map(|l| format!("reference {reference} is on line {l} already"))
            .or_else(|| {
                seen_txids
                    .get(row.provider_transaction_id.as_str())
                    .map(|l| {
                        format!(
                            "provider transaction {} is on line {l} already",
                            row.provider_transaction_id
                        )
                    })
            });
        if let Some(detail) = earlier {
            item.kind = MatchKind::DuplicateInReport;
            item.detail = detail;
            items.push(item);
            continue;
        }
        seen_refs.insert(reference, row.line);
        seen_txids.insert(&row.provider_transaction_id, row.line);
        let t = totals.entry(row.currency).or_default();
        t.report_amount += row.amount;
        t.report_fees += row.fee;

        let Some(b) = booked.get(&(reference, row.currency)) else {
            let elsewhere: Vec<&str> = booked
                .keys()
                .filter(|(r, _)| *r == reference)
                .map(|(_, c)| c.code)
                .collect();
            if elsewhere.is_empty() {
                item.kind = MatchKind::MissingInLedger;
                item.detail = format!("the ledger has no posting of {reference} in the period");
            } else {
                item.kind = MatchKind::CurrencyMismatch;
                item.detail = format!(
                    "the report says {}, the ledger booked {reference} in {}",
                    row.currency,
                    elsewhere.join(", ")
                );
                for ((_, c), other) in booked.iter().filter(|((r, _), _)| *r == reference) {
                    item.transfer_ids.extend(other.transfer_ids.iter().cloned());
                    let t = totals.entry(*c).or_default();
                    t.ledger_amount += other.clearing.abs();
                    t.ledger_fees += other.fees;
                }
            }
            items.push(item);
            continue;
        };
        let ledger_amount = if row.kind.is_payout() {
            b.clearing + b.fees
        } else {
            -b.clearing
        };
        item.ledger_amount = Some(ledger_amount);
        item.ledger_fee = Some(b.fees);
        item.transfer_ids = b.transfer_ids.iter().cloned().collect();
        t.ledger_amount += ledger_amount;
        t.ledger_fees += b.fees;
        if ledger_amount != row.amount {
            item.kind = MatchKind::AmountMismatch;
            item.detail = format!(
                "the report says {} {}, the ledger {ledger_amount} (difference {})",
                row.amount,
                row.currency,
                row.amount - ledger_amount
            );
        } else if row.fee != b.fees && b.fees.is_zero() {
            item.kind = MatchKind::FeeNotBooked;
            item.detail = format!(
                "the report has a fee of {} {}, the ledger booked none",
                row.fee, row.currency
            );
        } else if row.fee != b.fees {
            item.kind = MatchKind::FeeMismatch;
            item.detail = format!(
                "the report has a fee of {} {}, the ledger booked {}",
                row.fee, row.currency, b.fees
            );
        }
        items.push(item);
    }
    for ((reference, currency), b) in &booked {
        if claimed.contains(reference) || (b.clearing.is_zero() && b.fees.is_zero()) {
            continue;
        }
        let t = totals.entry(*currency).or_default();
        t.ledger_amount += b.clearing.abs();
        t.ledger_fees += b.fees;
        items.push(MatchItem {
            kind: MatchKind::MissingInReport,
            reference: reference.to_string(),
            line: None,
            provider_transaction_id: None,
            row_type: None,
            currency: *currency,
            report_amount: None,
            report_fee: None,
            ledger_amount: Some(b.clearing),
            ledger_fee: Some(b.fees),
            transfer_ids: b.transfer_ids.iter().cloned().collect(),
            detail: format!(
                "the ledger moved {} {currency} on clearing for {reference}; the report does not have it",
                b.clearing
            ),
        });
    }
    for (currency, t) in totals.iter_mut() {
        t.difference = t.report_amount - t.ledger_amount;
        for value in [
            &mut t.report_amount,
            &mut t.report_fees,
            &mut t.ledger_amount,
            &mut t.ledger_fees,
            &mut t.difference,
        ] {
            value.rescale(currency.scale);
        }
    }
    let mut counts: BTreeMap<MatchKind, u32> = MatchKind::ALL.iter().map(|k| (*k, 0)).collect();
    for item in &items {
        *counts.entry(item.kind).or_default() += 1;
    }
    Matching {
        items,
        counts,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_kernel::money::{EUR, JPY, USD};
    use std::str::FromStr;
    use time::macros::datetime;

    const HEADER: &str =
        "provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at";

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn report(rows: &[&str]) -> String {
        let mut text = HEADER.to_string();
        for r in rows {
            text.push('\n');
            text.push_str(r);
        }
        text.push('\n');
        text
    }

    fn field_of(e: Error) -> (String, &'static str, String) {
        let message = e.to_string();
        match e {
            Error::Validation { field, code, .. } => (field.unwrap(), code, message),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn item(tid: &str, side: LedgerSide, currency: Currency, amount: &str) -> LedgerItem {
        LedgerItem {
            transfer_id: tid.into(),
            side,
            currency,
            amount: dec(amount),
            posted_at: datetime!(2026-03-02 10:00 UTC),
        }
    }

    #[test]
    fn a_good_report_is_read_exactly() {
        let rows = parse_report(&report(&[
            "dep_1:credit,tx-1,deposit,100.50,USD,1.5,2026-03-02T10:00:00Z",
            "\"wd_1\",\"tx,\"\"2\"\"\",withdrawal,1500,JPY,0,2026-03-02T11:00:00+01:00",
        ]))
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].reference(), "dep_1");
        assert_eq!(rows[0].amount.to_string(), "100.50");
        assert_eq!(rows[0].fee.to_string(), "1.50");
        assert_eq!(rows[1].provider_transaction_id, "tx,\"2\"");
        assert_eq!(rows[1].kind, RowType::Withdrawal);
        assert_eq!(rows[1].currency, JPY);
        assert_eq!(rows[1].settled_at, datetime!(2026-03-02 10:00 UTC));
        let (from, to) = period(&rows).unwrap();
        assert_eq!((from, to), (rows[0].settled_at, rows[0].settled_at));
        // CRLF line ends and a byte order mark are fine.
        let crlf =
            format!("\u{feff}{HEADER}\r\ndep_2,tx-3,refund,1,EUR,0,2026-03-02T10:00:00Z\r\n");
        assert_eq!(parse_report(&crlf).unwrap()[0].kind, RowType::Refund);
    }

    #[test]
    fn bad_reports_name_the_line_and_column() {
        let cases: [(&str, &str, &str); 11] = [
            (
                "dep_1,tx-1,deposit,10.001,USD,0,2026-03-02T10:00:00Z",
                "line 2, column 4 (amount)",
                "amount_too_precise",
            ),
            (
                "dep_1,tx-1,deposit,10,XYZ,0,2026-03-02T10:00:00Z",
                "line 2, column 5 (currency)",
                "unknown_currency",
            ),
            (
                "dep_1,tx-1,deposit,ten,USD,0,2026-03-02T10:00:00Z",
                "line 2, column 4 (amount)",
                "invalid_amount",
            ),
            (
                "dep_1,tx-1,deposit,1e3,USD,0,2026-03-02T10:00:00Z",
                "line 2, column 4 (amount)",
                "invalid_amount",
            ),
            (
                "dep_1,tx-1,deposit,0,USD,0,2026-03-02T10:00:00Z",
                "line 2, column 4 (amount)",
                "amount_not_positive",
            ),
            (
                "dep_1,tx-1,deposit,10,USD,-1,2026-03-02T10:00:00Z",
                "line 2, column 6 (fee)",
                "amount_negative",
            ),
            (
                "dep_1,tx-1,deposit,10,JPY,0.5,2026-03-02T10:00:00Z",
                "line 2, column 6 (fee)",
                "amount_too_precise",
            ),
            (
                "dep_1,tx-1,payout,10,USD,0,2026-03-02T10:00:00Z",
                "line 2, column 3 (type)",
                "invalid_type",
            ),
            (
                "dep_1,tx-1,deposit,10,USD,0,2026-03-02",
                "line 2, column 7 (settled_at)",
                "invalid_time",
            ),
            (
                "dep 1,tx-1,deposit,10,USD,0,2026-03-02T10:00:00Z",
                "line 2, column 1 (provider_reference)",
                "invalid_reference",
            ),
            (
                "dep_1,\"tx-1,deposit,10,USD,0,2026-03-02T10:00:00Z",
                "line 2, column 2 (provider_transaction_id)",
                "malformed_csv",
            ),
        ];
        for (row, field, code) in cases {
            let (f, c, message) = field_of(parse_report(&report(&[row])).unwrap_err());
            assert_eq!((f.as_str(), c), (field, code), "{row}");
            assert!(message.starts_with(field), "{message}");
        }
        // The error names the first bad line, after good ones.
        let (f, _, _) = field_of(
            parse_report(&report(&[
                "dep_1,tx-1,deposit,10,USD,0,2026-03-02T10:00:00Z",
                "dep_2,tx-2,deposit,10,USD",
            ]))
            .unwrap_err(),
        );
        assert_eq!(f, "line 3");
        for (text, code) in [
            ("", "empty_report"),
            (&format!("{HEADER}\n") as &str, "empty_report"),
            ("reference,amount\nx,1\n", "invalid_header"),
            (
                &report(&[
                    "dep_1,tx-1,deposit,10,USD,0,2026-03-02T10:00:00Z",
                    "",
                    "dep_2,tx-2,deposit,10,USD,0,2026-03-02T10:00:00Z",
                ]),
                "malformed_csv",
            ),
        ] {
            assert_eq!(field_of(parse_report(text).unwrap_err()).1, code, "{text}");
        }
    }

    #[test]
    fn amounts_and_fees_follow_the_one_grammar() {
        for text in [
            "1e3", "1_000", "+10.00", ".5", "5.", "00010.00", " 10", "1,000", "--1", "-",
        ] {
            let quoted = format!("\"{text}\"");
            let amount = format!("dep_1,tx-1,deposit,{quoted},USD,0,2026-03-02T10:00:00Z");
            let (f, c, message) = field_of(parse_report(&report(&[&amount])).unwrap_err());
            assert_eq!(
                (f.as_str(), c),
                ("line 2, column 4 (amount)", "invalid_amount"),
                "{text:?}: {message}"
            );
            let fee = format!("dep_1,tx-1,deposit,10.00,USD,{quoted},2026-03-02T10:00:00Z");
            let (f, c, _) = field_of(parse_report(&report(&[&fee])).unwrap_err());
            assert_eq!(
                (f.as_str(), c),
                ("line 2, column 6 (fee)", "invalid_amount"),
                "{text:?}"
            );
        }
        let rows = parse_report(&report(&[
            "dep_1,tx-1,deposit,\"10.50\",USD,0,2026-03-02T10:00:00Z",
            "dep_2,tx-2,deposit,0.01,USD,0.00,2026-03-02T10:00:00Z",
        ]))
        .unwrap();
        assert_eq!(rows[0].amount.to_string(), "10.50");
        assert_eq!(rows[1].amount.to_string(), "0.01");
    }

    #[test]
    fn each_kind_is_classified() {
        let rows = parse_report(&report(&[
            // matched deposit with its fee booked
            "dep_ok,tx-1,deposit,100.00,USD,2.00,2026-03-02T10:00:00Z",
            // matched withdrawal: settle put 49.50 on clearing and 0.50 on fees
            "wd_ok,tx-2,withdrawal,50.00,USD,0.50,2026-03-02T10:00:00Z",
            "dep_amount,tx-3,deposit,75.00,USD,0,2026-03-02T10:00:00Z",
            "dep_ccy,tx-4,deposit,20.00,USD,0,2026-03-02T10:00:00Z",
            "dep_none,tx-5,deposit,30.00,USD,0,2026-03-02T10:00:00Z",
            "dep_ok,tx-6,deposit,100.00,USD,2.00,2026-03-02T10:00:00Z",
            "dep_fee,tx-7,deposit,40.00,USD,1.00,2026-03-02T10:00:00Z",
            "dep_nofee,tx-8,deposit,60.00,USD,1.20,2026-03-02T10:00:00Z",
            "dep_other,tx-1,deposit,10.00,USD,0,2026-03-02T10:00:00Z",
        ]))
        .unwrap();
        use LedgerSide::{Clearing, Fees};
        let ledger = [
            item("dep_ok:credit", Clearing, USD, "-100.00"),
            item("dep_ok:fee", Fees, USD, "2.00"),
            item("wd_ok:settle", Clearing, USD, "49.50"),
            item("wd_ok:settle", Fees, USD, "0.50"),
            item("dep_amount:credit", Clearing, USD, "-70.00"),
            item("dep_ccy:credit", Clearing, EUR, "-20.00"),
            item("dep_fee:credit", Clearing, USD, "-40.00"),
            item("dep_fee:fee", Fees, USD, "1.50"),
            item("dep_nofee:credit", Clearing, USD, "-60.00"),
            item("dep_extra:credit", Clearing, USD, "-15.00"),
            // reversed: nets to zero, not missing in the report
            item("dep_rev:credit", Clearing, USD, "-5.00"),
            item("dep_rev:credit:reversal", Clearing, USD, "5.00"),
        ];
        let m = reconcile(&rows, &ledger);
        let kinds: Vec<(String, MatchKind)> = m
            .items
            .iter()
            .map(|i| (i.reference.clone(), i.kind))
            .collect();
        use MatchKind::*;
        assert_eq!(
            kinds,
            [
                ("dep_ok", Matched),
                ("wd_ok", Matched),
                ("dep_amount", AmountMismatch),
                ("dep_ccy", CurrencyMismatch),
                ("dep_none", MissingInLedger),
                ("dep_ok", DuplicateInReport),
                ("dep_fee", FeeMismatch),
                ("dep_nofee", FeeNotBooked),
                ("dep_other", DuplicateInReport),
                ("dep_extra", MissingInReport),
            ]
            .map(|(r, k)| (r.to_string(), k))
        );
        assert_eq!(m.count(Matched), 2);
        assert_eq!(m.count(DuplicateInReport), 2);
        assert_eq!(m.count(MissingInReport), 1);
        assert!(!m.all_matched());
        assert_eq!(m.items[2].ledger_amount, Some(dec("70.00")));
        assert_eq!(m.items[6].ledger_fee, Some(dec("1.50")));
        assert!(m.items[3].detail.contains("EUR"), "{}", m.items[3].detail);
        assert_eq!(m.items[5].detail, "reference dep_ok is on line 2 already");
        assert_eq!(
            m.items[8].detail,
            "provider transaction tx-1 is on line 2 already"
        );
        let usd = &m.totals[&USD];
        // Rows that are not duplicates: 100 + 50 + 75 + 20 + 30 + 40 + 60.
        assert_eq!(usd.report_amount, dec("375.00"));
        assert_eq!(usd.report_fees, dec("4.70"));
        // Ledger: 100 + 50 + 70 + 40 + 60, and 15 missing in the report; 20 EUR (the
        // currency mismatch) in the EUR totals.
        assert_eq!(usd.ledger_amount, dec("335.00"));
        assert_eq!(usd.ledger_fees, dec("4.00"));
        assert_eq!(usd.difference, dec("40.00"));
        assert_eq!(m.totals[&EUR].ledger_amount, dec("20.00"));
    }

    #[test]
    fn a_clean_report_matches_everything() {
        let rows = parse_report(&report(&[
            "dep_1,tx-1,deposit,10,USD,0,2026-03-02T10:00:00Z",
            "cb_1,tx-2,chargeback,10,USD,0,2026-03-02T10:00:00Z",
        ]))
        .unwrap();
        let ledger = [
            item("dep_1:credit", LedgerSide::Clearing, USD, "-10.00"),
            item("cb_1", LedgerSide::Clearing, USD, "10.00"),
        ];
        let m = reconcile(&rows, &ledger);
        assert!(m.all_matched());
        assert_eq!(m.count(MatchKind::Matched), 2);
        assert_eq!(m.totals[&USD].difference, Decimal::ZERO);
        // A payout booked in the wrong direction does not match.
        let flipped = [
            item("dep_1:credit", LedgerSide::Clearing, USD, "-10.00"),
            item("cb_1", LedgerSide::Clearing, USD, "-10.00"),
        ];
        assert_eq!(
            reconcile(&rows, &flipped).items[1].kind,
            MatchKind::AmountMismatch
        );
    }
}
