//! The deal history of a platform server, shaped after MT5's deals (`IMTDeal`) and the manager
//! API's deal events (`OnDealAdd`, `OnDealUpdate`, `OnDealDelete`): every deal the server books
//! — a position opened, closed, reversed or closed by an opposite one, a balance or credit
//! operation — and every correction or cancellation a dealer makes to one afterwards.
//!
//! Readers (IB commissions, contests) consume the history as a feed of [`DealChange`]s by
//! cursor, per server, and apply each change exactly once by `(server, deal, revision)`: a
//! correction is the deal's next revision (which replaces the previous one), a cancellation is
//! a revision that removes it.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::port::DealCursor;

/// What a deal did (MT5's `EnDealAction`, the actions Broker OS reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealAction {
    Buy,
    Sell,
    /// A deposit or withdrawal (positive or negative `profit`).
    Balance,
    /// Credit granted or taken back.
    Credit,
}

impl DealAction {
    /// A trade (buy or sell), as opposed to a balance or credit operation.
    pub fn is_trade(self) -> bool {
        matches!(self, DealAction::Buy | DealAction::Sell)
    }
}

/// How a deal changed a position (MT5's `EnDealEntry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealEntry {
    /// Opened a position or added to it.
    In,
    /// Closed a position, or part of it.
    Out,
    /// Reversed a position: closed it and opened the opposite one with the rest of the volume.
    #[serde(rename = "inout")]
    InOut,
    /// Closed a position by an opposite one of the same symbol (both close).
    #[serde(rename = "out_by")]
    OutBy,
}

/// One deal as the server booked it, amounts in the account's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformDeal {
    /// The deal ticket, unique on its server.
    pub deal: u64,
    pub login: u64,
    /// The order that made the deal (0 for balance and credit operations).
    pub order: u64,
    /// The position the deal opened, changed or closed (0 for balance and credit operations).
    pub position_id: u64,
    /// Empty for balance and credit operations.
    pub symbol: String,
    pub action: DealAction,
    pub entry: DealEntry,
    /// Lots (zero for balance and credit operations).
    pub volume: Decimal,
    pub price: Decimal,
    /// The result a closing deal realized; for a balance or credit operation, the amount.
    pub profit: Decimal,
    /// Charged by the broker, so zero or negative.
    pub commission: Decimal,
    pub swap: Decimal,
    /// The account's currency, which every amount of the deal is in.
    pub currency: String,
    /// The account's group when the deal was booked.
    pub group: String,
    /// Units of the base asset in one lot (100 000 for EURUSD, 100 for XAUUSD).
    pub contract_size: Decimal,
    /// Decimal places of the symbol's price: one point is `10^-digits`.
    pub digits: u32,
    /// The market's bid and ask when the deal was made; their difference is the spread.
    pub market_bid: Decimal,
    pub market_ask: Decimal,
    /// Converts an amount in the symbol's profit currency into the account's currency (1 when
    /// they are the same).
    pub rate_profit: Decimal,
    /// When the deal was made, milliseconds since the Unix epoch (MT5's `TimeMsc`).
    pub time_msc: i64,
}

/// What happened to a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealChangeKind {
    /// The server booked the deal (revision 0).
    Added,
    /// A dealer corrected the deal: this revision replaces every earlier one.
    Corrected,
    /// A dealer cancelled the deal: it no longer counts, as if never booked.
    Cancelled,
}

/// One entry of a server's deal history feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealChange {
    pub kind: DealChangeKind,
    /// 0 when added, one more with each correction or cancellation of the same deal.
    pub revision: u32,
    /// The deal as it stands after this change (for a cancellation, as it stood before).
    pub deal: PlatformDeal,
    /// When the server recorded the change, milliseconds since the Unix epoch.
    pub changed_at_msc: i64,
}

/// One page of a server's deal history feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealChangesPage {
    /// In the order the server recorded them.
    pub changes: Vec<DealChange>,
    /// Where to resume: after the last change of this page, or where the read began when the
    /// page is empty. `None` only when nothing has been read yet and nothing exists.
    pub next_cursor: Option<DealCursor>,
    /// More changes were already waiting when this page was read.
    pub has_more: bool,
}
