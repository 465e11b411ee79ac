//! The files of offline scoring (`brokeros contest score`): deals, cash flows and entrants as
//! CSV records (read with the kernel's reader), checked and turned into what the engine reads.
//! Every refusal names the file, the line and the column, so an auditor fixes the right cell.
//!
//! * deals: `deal,login,symbol,side,volume,opened_at,closed_at,profit,commission,swap`; one
//!   closed trade per line (`side` is the closed position's, `buy` or `sell`); its net result is
//!   profit + commission + swap.
//! * cash flows: `id,login,kind,amount,at`; `kind` is `deposit`, `withdrawal`, `credit_in`,
//!   `credit_out` or `opening_balance` (what a live entry account held when it entered, as its
//!   explanation shows it), the amount signed as the platform books it (money out is negative).
//! * entrants: `entrant,login,registered_at`.
//!
//! Columns may come in any order (the header names them; others are ignored). Amounts follow
//! the kernel's amount grammar; times are RFC 3339 in UTC (`2026-06-15T09:30:00Z`) or
//! milliseconds since the Unix epoch.

use brokeros_kernel::Error;
use brokeros_kernel::csv::Record;
use brokeros_kernel::csv_columns::one_of;
pub use brokeros_kernel::csv_columns::{Columns, FileError};

use crate::model::definition::millis;
use crate::model::scoring::{CashFlow, CashFlowKind, Entrant, Side, Trade};

pub const DEAL_COLUMNS: [&str; 10] = [
    "deal",
    "login",
    "symbol",
    "side",
    "volume",
    "opened_at",
    "closed_at",
    "profit",
    "commission",
    "swap",
];
pub const CASH_FLOW_COLUMNS: [&str; 5] = ["id", "login", "kind", "amount", "at"];
pub const ENTRANT_COLUMNS: [&str; 3] = ["entrant", "login", "registered_at"];

/// The longest entrant id a file may give.
pub const MAX_ENTRANT_CHARS: usize = 64;

/// A file's columns (the kernel's [`Columns`]) under a name of its own, which reads its lines.
macro_rules! file_columns {
    ($name:ident, $n:literal, $what:literal) => {
        #[doc = $what]
        #[derive(Debug, Clone)]
        pub struct $name(Columns<$n>);

        impl std::ops::Deref for $name {
            type Target = Columns<$n>;

            fn deref(&self) -> &Columns<$n> {
                &self.0
            }
        }
    };
}

file_columns!(DealColumns, 10, "A deals file's columns.");
file_columns!(CashFlowColumns, 5, "A cash flows file's columns.");
file_columns!(EntrantColumns, 3, "An entrants file's columns.");

/// The column (of [`DEAL_COLUMNS`]) a trade's own check names.
fn deal_column(field: Option<&str>) -> usize {
    match field {
        Some("symbol") => 2,
        Some("volume") => 4,
        Some("closed_at") => 6,
        _ => 0,
    }
}

impl DealColumns {
    /// A deals file's columns ([`DEAL_COLUMNS`]).
    pub fn deals(file: &str, header: &Record) -> Result<DealColumns, FileError> {
        Columns::from_header(file, header, DEAL_COLUMNS).map(DealColumns)
    }

    /// One line of a deals file as a checked trade.
    pub fn trade(&self, record: &Record) -> Result<Trade, FileError> {
        let side = one_of(
            self.cell(record, 3)?,
            &[("buy", Side::Buy), ("sell", Side::Sell)],
        )
        .map_err(|m| self.error(record, 3, Error::invalid("invalid_side", "side", m)))?;
        let net = self.amount(record, 7)? + self.amount(record, 8)? + self.amount(record, 9)?;
        let trade = Trade {
            deal: self.number(record, 0)?,
            login: self.number(record, 1)?,
            symbol: self.cell(record, 2)?.to_string(),
            side,
            volume: self.amount(record, 4)?,
            opened_msc: millis(self.time(record, 5)?),
            closed_msc: millis(self.time(record, 6)?),
            net,
        };
        trade.validate().map_err(|e| {
            let column = match &e {
                Error::Validation { field, .. } => deal_column(field.as_deref()),
                _ => 0,
            };
            self.error(record, column, e)
        })?;
        Ok(trade)
    }
}

impl CashFlowColumns {
    /// A cash flows file's columns ([`CASH_FLOW_COLUMNS`]).
    pub fn cash_flows(file: &str, header: &Record) -> Result<CashFlowColumns, FileError> {
        Columns::from_header(file, header, CASH_FLOW_COLUMNS).map(CashFlowColumns)
    }

    /// One line of a cash flows file as a checked cash flow.
    pub fn cash_flow(&self, record: &Record) -> Result<CashFlow, FileError> {
        let kinds = CashFlowKind::ALL.map(|kind| (kind.as_str(), kind));
        let kind = one_of(self.cell(record, 2)?, &kinds)
            .map_err(|m| self.error(record, 2, Error::invalid("invalid_kind", "kind", m)))?;
        let flow = CashFlow {
            id: self.number(record, 0)?,
            login: self.number(record, 1)?,
            kind,
            amount: self.amount(record, 3)?,
            at_msc: millis(self.time(record, 4)?),
        };
        flow.validate().map_err(|e| self.error(record, 3, e))?;
        Ok(flow)
    }
}

impl EntrantColumns {
    /// An entrants file's columns ([`ENTRANT_COLUMNS`]).
    pub fn entrants(file: &str, header: &Record) -> Result<EntrantColumns, FileError> {
        Columns::from_header(file, header, ENTRANT_COLUMNS).map(EntrantColumns)
    }

    /// One line of an entrants file.
    pub fn entrant(&self, record: &Record) -> Result<Entrant, FileError> {
        let id = self.cell(record, 0)?;
        if id.is_empty()
            || id.chars().count() > MAX_ENTRANT_CHARS
            || id.chars().any(char::is_control)
        {
            return Err(self.error(
                record,
                0,
                Error::invalid(
                    "invalid_entrant",
                    "entrant",
                    format!(
                        "an entrant is 1 to {MAX_ENTRANT_CHARS} characters without control characters"
                    ),
                ),
            ));
        }
        Ok(Entrant {
            id: id.to_string(),
            login: self.number(record, 1)?,
            registered_msc: millis(self.time(record, 2)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_kernel::csv::parse;
    use rust_decimal::Decimal;

    fn records(text: &str) -> Vec<Record> {
        parse(text).unwrap()
    }

    #[test]
    fn a_deal_reads_in_any_column_order_with_its_net_result() {
        let r = records(
            "login,deal,side,symbol,volume,closed_at,opened_at,swap,commission,profit,comment\n\
             7,42,SELL,EURUSD,0.5,2026-06-15T10:00:00Z,1781514000000,-0.25,-1.75,10.00,x\n",
        );
        let columns = DealColumns::deals("deals.csv", &r[0]).unwrap();
        let trade = columns.trade(&r[1]).unwrap();
        assert_eq!((trade.deal, trade.login), (42, 7));
        assert_eq!(trade.side, Side::Sell);
        assert_eq!(trade.net, Decimal::new(800, 2));
        assert_eq!(trade.opened_msc, 1_781_514_000_000);
        assert_eq!(trade.closed_msc, 1_781_517_600_000);
    }

    #[test]
    fn refusals_name_the_file_line_and_column() {
        let r = records(
            "deal,login,symbol,side,volume,opened_at,closed_at,profit,commission,swap\n\
             1,7,EURUSD,buy,1,1000,2000,1.00,0,0\n\
             2,7,EURUSD,buy,1,1000,2000,1,00,0,0\n\
             3,7,EURUSD,buy,0,1000,2000,1.00,0,0\n\
             4,7,EURUSD,buy,1,2026-06-15T10:00:00+02:00,2000,1.00,0,0\n\
             5,7,EURUSD,buy,1,3000,2000,1.00,0,0\n",
        );
        let columns = DealColumns::deals("DEALS.csv", &r[0]).unwrap();
        assert!(columns.trade(&r[1]).is_ok());
        let where_ = |i: usize| {
            let e = columns.trade(&r[i]).unwrap_err();
            (e.line, e.column, e.column_name.unwrap(), e.code)
        };
        assert_eq!(
            where_(2),
            (3, Some(9), "commission".into(), "invalid_amount".into())
        );
        assert_eq!(
            where_(3),
            (4, Some(5), "volume".into(), "invalid_trade".into())
        );
        assert_eq!(
            where_(4),
            (5, Some(6), "opened_at".into(), "invalid_time".into())
        );
        assert_eq!(
            where_(5),
            (6, Some(7), "closed_at".into(), "invalid_trade".into())
        );
        let e = columns.trade(&r[2]).unwrap_err().to_string();
        assert!(
            e.starts_with("DEALS.csv: line 3, column 9 (commission): "),
            "{e}"
        );
        let missing =
            CashFlowColumns::cash_flows("CASHFLOWS.csv", &records("id,login,kind,at\n")[0])
                .unwrap_err();
        assert_eq!((missing.line, missing.code.as_str()), (1, "missing_column"));
    }

    #[test]
    fn a_cash_flow_carries_its_sign_and_an_entrant_its_registration() {
        let r = records(
            "id,login,kind,amount,at\n9,7,withdrawal,-50.00,1781514000000\n10,7,withdrawal,50.00,1781514000000\n",
        );
        let columns = CashFlowColumns::cash_flows("c.csv", &r[0]).unwrap();
        assert_eq!(
            columns.cash_flow(&r[1]).unwrap().amount,
            Decimal::new(-5000, 2)
        );
        let wrong_sign = columns.cash_flow(&r[2]).unwrap_err();
        assert_eq!(
            (wrong_sign.column, wrong_sign.code.as_str()),
            (Some(4), "invalid_cash_flow")
        );
        let r = records("entrant,login,registered_at\nalice,7,2026-06-01T00:00:00Z\n");
        let entrant = EntrantColumns::entrants("e.csv", &r[0])
            .unwrap()
            .entrant(&r[1])
            .unwrap();
        assert_eq!(entrant.registered_msc, 1_780_272_000_000);
    }
}
