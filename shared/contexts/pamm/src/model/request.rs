//! An investor's request to a PAMM offer, as it is kept between the moment it is made and the
//! rollover that executes it: money in (its amount reserved in the investor's wallet until
//! then), money out, a full exit, or a new stop level. A request is due at the first rollover
//! at least the offer's cut-off after it was made, and may be cancelled until that cut-off.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use brokeros_kernel::{Error, Result};

use super::fund::{Flow, Outcome, Request};

/// What the investor asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammAsk)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Ask {
    /// Money from the investor's wallet into the pooled account; with a stop level from then on.
    Invest {
        amount: Decimal,
        #[serde(default)]
        stop_equity: Option<Decimal>,
    },
    /// Part of the holding back to the wallet.
    Withdraw { amount: Decimal },
    /// The whole holding back to the wallet.
    Exit,
    /// A new stop level (none clears it): at or below it the holding exits at a rollover.
    Stop {
        #[serde(default)]
        stop_equity: Option<Decimal>,
    },
}

impl Ask {
    pub fn name(&self) -> &'static str {
        match self {
            Ask::Invest { .. } => "invest",
            Ask::Withdraw { .. } => "withdraw",
            Ask::Exit => "exit",
            Ask::Stop { .. } => "stop",
        }
    }

    /// The money the request moves out of the investor's wallet now (reserved until the
    /// rollover).
    pub fn reserved(&self) -> Option<Decimal> {
        match self {
            Ask::Invest { amount, .. } => Some(*amount),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammRequestStatus)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for its rollover.
    Pending,
    Executed,
    /// Not executed at its rollover (the reason is in the outcome).
    Refused,
    /// Withdrawn by the investor before the cut-off.
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Executed => "executed",
            RequestStatus::Refused => "refused",
            RequestStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammInvestorRequest)]
pub struct InvestorRequest {
    pub id: String,
    pub offer_id: String,
    /// The investor's (or the manager's, for their own capital) client id.
    pub client_id: String,
    #[serde(flatten)]
    pub ask: Ask,
    pub status: RequestStatus,
    /// The rollover it executes at.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Until when it may be cancelled: the due rollover less the cut-off.
    #[serde(with = "time::serde::rfc3339")]
    pub cancellable_until: OffsetDateTime,
    /// The ledger transfer that reserved an investment's amount in the wallet.
    #[serde(default)]
    pub reservation: Option<String>,
    /// The rollover that executed or refused it.
    #[serde(default)]
    pub rollover_id: Option<String>,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl InvestorRequest {
    /// The transfer id of an investment's reservation, and of what closes it at the rollover.
    pub fn reservation_id(id: &str) -> String {
        format!("pamm-req-{id}")
    }

    /// The request as the rollover engine takes it (a stop level is applied before the
    /// engine runs, so it has none).
    pub fn engine_request(&self) -> Option<Request> {
        let flow = match &self.ask {
            Ask::Invest { amount, .. } => Flow::Deposit { amount: *amount },
            Ask::Withdraw { amount } => Flow::Withdrawal { amount: *amount },
            Ask::Exit => Flow::Exit,
            Ask::Stop { .. } => return None,
        };
        let stop_equity = match &self.ask {
            Ask::Invest { stop_equity, .. } => *stop_equity,
            _ => None,
        };
        Some(Request {
            id: self.id.clone(),
            investor: self.client_id.clone(),
            flow,
            stop_equity,
        })
    }

    pub fn cancel(&mut self, now: OffsetDateTime) -> Result<()> {
        if self.status != RequestStatus::Pending {
            return Err(Error::conflict(
                "request_status",
                format!(
                    "request {} is {}: it cannot be cancelled",
                    self.id,
                    self.status.as_str()
                ),
            ));
        }
        if now > self.cancellable_until {
            return Err(Error::conflict(
                "past_cutoff",
                format!(
                    "request {} executes at the rollover of {}; its cut-off has passed",
                    self.id, self.due_at
                ),
            ));
        }
        self.status = RequestStatus::Cancelled;
        self.updated_at = now;
        Ok(())
    }

    /// Records what rollover `rollover_id` did with the request.
    pub fn conclude(&mut self, rollover_id: &str, outcome: Outcome, now: OffsetDateTime) {
        self.status = match outcome {
            Outcome::Executed { .. } => RequestStatus::Executed,
            Outcome::Refused { .. } => RequestStatus::Refused,
        };
        self.rollover_id = Some(rollover_id.to_string());
        self.outcome = Some(outcome);
        self.updated_at = now;
    }
}

/// When a request made at `now` may still be cancelled: `cutoff` before the rollover it is due at.
pub fn cancellable_until(due_at: OffsetDateTime, cutoff: Duration) -> OffsetDateTime {
    due_at - cutoff
}
