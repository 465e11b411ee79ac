//! `brokeros pamm simulate`: an offer's history replayed from files by the rollover engine
//! the live rollover runs, writing nothing.
//!
//! * The offer (JSON): `{"manager": "m-1", "terms": {…}, "ib_chains": {"alice": ["ib-7"]}}` —
//!   the manager's holder id, the terms as the offer API takes them, and optionally each
//!   investor's IB chain (level 1 first) for the IB share of their fees.
//! * The events (CSV): `at,event,investor,amount`, in time order; `event` is
//!   - `deposit`, `withdrawal` (`amount`) or `exit`: an investor's request, executed at the
//!     first rollover at least the offer's cut-off after `at`;
//!   - `stop`: the investor's stop level from now on (`amount`; empty clears it);
//!   - `result`: the account's trading result since the last event (`amount`, signed);
//!   - `rollover`: a rollover at `at`; `rollover_fees_held`: one whose fees the account's
//!     margin keeps in (they become fee debt).
//!
//! Times are RFC 3339 in UTC or milliseconds since the epoch; amounts follow the kernel's
//! grammar. Every refusal names the file, the line and the column.

use std::collections::BTreeMap;

use brokeros_kernel::csv::Record;
use brokeros_kernel::csv_columns::{Columns, FileError, one_of};
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::model::fund::{Flow, Fund, Mark, Request, Rollover};
use crate::model::terms::Terms;

pub const EVENT_COLUMNS: [&str; 4] = ["at", "event", "investor", "amount"];

/// The offer file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    pub manager: String,
    pub terms: Terms,
    #[serde(default)]
    pub ib_chains: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deposit,
    Withdrawal,
    Exit,
    Stop,
    Result,
    Rollover,
    RolloverFeesHeld,
}

/// One line of the events file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Request(Request),
    Stop {
        investor: String,
        stop_equity: Option<Decimal>,
    },
    Result(Decimal),
    Rollover {
        fees_payable: bool,
    },
}

/// An events file's columns ([`EVENT_COLUMNS`]).
pub struct EventColumns(Columns<4>);

impl EventColumns {
    pub fn events(file: &str, header: &Record) -> std::result::Result<EventColumns, FileError> {
        Columns::from_header(file, header, EVENT_COLUMNS).map(EventColumns)
    }

    /// One line: its time and event.
    pub fn event(
        &self,
        record: &Record,
    ) -> std::result::Result<(OffsetDateTime, Event), FileError> {
        let columns = &self.0;
        let at = columns.time(record, 0)?;
        let kinds = [
            ("deposit", Kind::Deposit),
            ("withdrawal", Kind::Withdrawal),
            ("exit", Kind::Exit),
            ("stop", Kind::Stop),
            ("result", Kind::Result),
            ("rollover", Kind::Rollover),
            ("rollover_fees_held", Kind::RolloverFeesHeld),
        ];
        let kind = one_of(columns.cell(record, 1)?, &kinds)
            .map_err(|m| columns.error(record, 1, Error::invalid("invalid_event", "event", m)))?;
        let investor = || -> std::result::Result<String, FileError> {
            let id = columns.cell(record, 2)?;
            if id.is_empty() || id.chars().count() > 64 || id.chars().any(char::is_control) {
                return Err(columns.error(
                    record,
                    2,
                    Error::invalid(
                        "invalid_investor",
                        "investor",
                        "an investor is 1 to 64 characters without control characters",
                    ),
                ));
            }
            Ok(id.to_string())
        };
        let line = record.line;
        let request = |flow| -> std::result::Result<Event, FileError> {
            Ok(Event::Request(Request {
                id: format!("line-{line}"),
                investor: investor()?,
                flow,
                stop_equity: None,
            }))
        };
        let event = match kind {
            Kind::Deposit => request(Flow::Deposit {
                amount: columns.amount(record, 3)?,
            })?,
            Kind::Withdrawal => request(Flow::Withdrawal {
                amount: columns.amount(record, 3)?,
            })?,
            Kind::Exit => request(Flow::Exit)?,
            Kind::Stop => Event::Stop {
                investor: investor()?,
                stop_equity: if columns.cell(record, 3)?.is_empty() {
                    None
                } else {
                    Some(columns.amount(record, 3)?)
                },
            },
            Kind::Result => Event::Result(columns.amount(record, 3)?),
            Kind::Rollover => Event::Rollover { fees_payable: true },
            Kind::RolloverFeesHeld => Event::Rollover {
                fees_payable: false,
            },
        };
        Ok((at, event))
    }

    /// The refusal of this line's `amount` (or of the line) by the engine.
    pub fn refusal(&self, record: &Record, error: Error) -> FileError {
        let column = match &error {
            Error::Validation { field: Some(f), .. } if f == "amount" || f == "stop_equity" => 3,
            _ => 1,
        };
        self.0.error(record, column, error)
    }
}

/// An offer's history replayed event by event.
pub struct Simulation {
    offer: Offer,
    fund: Fund,
    /// The account's equity: what the last rollover left, plus the trading results since.
    equity: Decimal,
    /// Requests waiting, each with the rollover time from which it is due.
    queue: Vec<(OffsetDateTime, Request)>,
    last_at: Option<OffsetDateTime>,
}

impl Simulation {
    pub fn new(offer: Offer) -> Result<Simulation> {
        offer.terms.validate()?;
        let fund = Fund::new(&offer.manager);
        Ok(Simulation {
            offer,
            fund,
            equity: Decimal::ZERO,
            queue: Vec::new(),
            last_at: None,
        })
    }

    pub fn fund(&self) -> &Fund {
        &self.fund
    }

    /// Applies one event; a rollover answers what it did.
    pub fn apply(&mut self, at: OffsetDateTime, event: Event) -> Result<Option<Rollover>> {
        if self.last_at.is_some_and(|last| at < last) {
            return Err(Error::invalid(
                "out_of_order",
                "at",
                "events must be in time order",
            ));
        }
        self.last_at = Some(at);
        let terms = &self.offer.terms;
        match event {
            Event::Request(request) => {
                request.validate(terms.currency()?)?;
                let due = terms.rollover.executes_at(at, terms.cutoff())?;
                self.queue.push((due, request));
                Ok(None)
            }
            Event::Stop {
                investor,
                stop_equity,
            } => {
                if let Some(stop) = stop_equity {
                    terms.currency()?.exact("stop_equity", stop)?;
                }
                self.fund.set_stop(&investor, stop_equity)?;
                Ok(None)
            }
            Event::Result(amount) => {
                terms.currency()?.exact("amount", amount)?;
                self.equity += amount;
                Ok(None)
            }
            Event::Rollover { fees_payable } => {
                let (due, waiting): (Vec<_>, Vec<_>) =
                    self.queue.drain(..).partition(|(due, _)| *due <= at);
                self.queue = waiting;
                let requests: Vec<Request> = due.into_iter().map(|(_, r)| r).collect();
                let rollover = self.fund.roll_over(
                    terms,
                    &Mark {
                        at,
                        equity: self.equity,
                        requests: &requests,
                        ib_chains: &self.offer.ib_chains,
                        fees_payable,
                    },
                )?;
                self.equity = rollover.equity_after;
                Ok(Some(rollover))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fund::Outcome;
    use brokeros_kernel::csv::parse;

    fn offer() -> Offer {
        serde_json::from_value(serde_json::json!({
            "manager": "manager",
            "terms": {
                "currency": "USD",
                "performance_fee": [{ "from": "0", "percent": "30" }],
                "management_fee": "0",
                "entry_fee": "1",
                "min_investment": "100",
                "min_manager_capital": "1000",
                "rollover": { "every": "day", "at": "00:00", "utc_offset": "+02:00" },
                "cutoff_minutes": 60
            },
            "ib_chains": { "alice": ["ib-1"] }
        }))
        .unwrap()
    }

    fn run(text: &str) -> std::result::Result<Vec<Rollover>, FileError> {
        let records = parse(text).unwrap();
        let columns = EventColumns::events("events.csv", &records[0])?;
        let mut simulation = Simulation::new(offer()).unwrap();
        let mut rollovers = Vec::new();
        for record in &records[1..] {
            let (at, event) = columns.event(record)?;
            if let Some(r) = simulation
                .apply(at, event)
                .map_err(|e| columns.refusal(record, e))?
            {
                rollovers.push(r);
            }
        }
        Ok(rollovers)
    }

    #[test]
    fn a_history_replays_requests_at_their_rollover_and_results_into_the_nav() {
        let rollovers = run("at,event,investor,amount\n\
             2026-12-01T20:00:00Z,deposit,manager,1000.00\n\
             2026-12-01T20:30:00Z,deposit,alice,1010.00\n\
             2026-12-01T21:30:00Z,deposit,bob,500.00\n\
             2026-12-01T22:00:00Z,rollover,,\n\
             2026-12-02T09:00:00Z,result,,199.99\n\
             2026-12-02T22:00:00Z,rollover,,\n")
        .unwrap();
        // Bob asked inside the hour's cut-off: his deposit waits for the second rollover.
        assert_eq!(rollovers[0].executions.len(), 2);
        assert_eq!(rollovers[0].equity_after, "1999.90".parse().unwrap());
        let second = &rollovers[1];
        assert_eq!(second.gross_nav, "1.1".parse().unwrap());
        assert_eq!(second.fees[0].performance, "29.99".parse().unwrap());
        assert!(matches!(
            second.executions[0].outcome,
            Outcome::Executed { .. }
        ));
        assert_eq!(second.executions[0].investor, "bob");
    }

    #[test]
    fn refusals_name_the_line_and_column() {
        let e =
            run("at,event,investor,amount\n2026-12-01T20:00:00Z,deposit,manager,-5\n").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.code.as_str()),
            (2, Some(4), "invalid_amount")
        );
        let e =
            run("at,event,investor,amount\n2026-12-01T20:00:00Z,donate,manager,5\n").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.code.as_str()),
            (2, Some(2), "invalid_event")
        );
        let e = run("at,event,investor,amount\n2026-12-02T20:00:00Z,result,,5\n2026-12-01T20:00:00Z,result,,5\n")
            .unwrap_err();
        assert_eq!((e.line, e.code.as_str()), (3, "out_of_order"));
        let e = run("at,event,investor,amount\n2026-12-01T20:00:00Z,deposit,manager,1.001\n")
            .unwrap_err();
        assert_eq!(
            (e.column_name.as_deref(), e.code.as_str()),
            (Some("amount"), "amount_too_precise")
        );
    }
}
