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

use crate::error::TradingError;

/// Where a reader of a deal feed (closed deals, a server's deal history) stopped: the next read with it returns the deals closed
/// after the last one it has seen, none twice and none left out. Opaque, and issued for one
/// [`DealScope`] by one platform; it serializes as a string, so a poller can store it between
/// runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DealCursor(String);

impl DealCursor {
    /// Wraps a token the platform issued (as read back from where a poller kept it).
    pub fn from_token(token: impl Into<String>) -> DealCursor {
        DealCursor(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a deal did (MT5's `EnDealAction`, the actions Broker OS reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

impl PlatformDeal {
    /// Whether the deal is one a reader may account for: a trade moves a positive volume of a
    /// named symbol at a positive price, and no deal's time is before the epoch. Platforms have
    /// been seen to book zero-volume deals (a dealer's correction to zero instead of a
    /// cancellation); a reader records such a deal as rejected rather than trusting it.
    ///
    /// Errors: `InvalidRequest` naming the field and the value.
    pub fn validate(&self) -> Result<(), TradingError> {
        let refused = |message: String| {
            Err(TradingError::InvalidRequest(format!(
                "deal {} of login {}: {message}",
                self.deal, self.login
            )))
        };
        if self.time_msc < 0 {
            return refused(format!("time_msc {} is before the epoch", self.time_msc));
        }
        if !self.action.is_trade() {
            return Ok(());
        }
        if self.volume <= Decimal::ZERO {
            return refused(format!(
                "volume {} of a {:?} deal is not positive",
                self.volume, self.action
            ));
        }
        if self.price <= Decimal::ZERO {
            return refused(format!(
                "price {} of a {:?} deal is not positive",
                self.price, self.action
            ));
        }
        if self.symbol.is_empty() {
            return refused("a trade names no symbol".to_string());
        }
        Ok(())
    }
}

/// What happened to a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DealChange {
    pub kind: DealChangeKind,
    /// 0 when added, one more with each correction or cancellation of the same deal.
    pub revision: u32,
    /// The deal as it stands after this change (for a cancellation, as it stood before).
    pub deal: PlatformDeal,
    /// When the server recorded the change, milliseconds since the Unix epoch.
    pub changed_at_msc: i64,
}

/// The most changes one [`crate::TradingPlatform::deal_changes`] call returns.
pub const MAX_DEAL_CHANGES_PER_PAGE: u32 = 1000;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn trade() -> PlatformDeal {
        PlatformDeal {
            deal: 10_000_002,
            login: 100_001,
            order: 10_000_001,
            position_id: 10_000_002,
            symbol: "EURUSD".into(),
            action: DealAction::Buy,
            entry: DealEntry::In,
            volume: Decimal::new(10, 2),
            price: Decimal::new(108_512, 5),
            profit: Decimal::ZERO,
            commission: Decimal::new(-35, 2),
            swap: Decimal::ZERO,
            currency: "USD".into(),
            group: "real\\retail-usd".into(),
            contract_size: Decimal::from(100_000),
            digits: 5,
            market_bid: Decimal::new(108_500, 5),
            market_ask: Decimal::new(108_512, 5),
            rate_profit: Decimal::ONE,
            time_msc: 1_772_461_800_000,
        }
    }

    #[test]
    fn trades_need_a_positive_volume_and_price_and_a_symbol() {
        assert_eq!(trade().validate(), Ok(()));
        let refused = |change: fn(&mut PlatformDeal)| {
            let mut deal = trade();
            change(&mut deal);
            matches!(deal.validate(), Err(TradingError::InvalidRequest(_)))
        };
        assert!(refused(|d| d.volume = Decimal::ZERO));
        assert!(refused(|d| d.volume = Decimal::new(-1, 2)));
        assert!(refused(|d| d.price = Decimal::ZERO));
        assert!(refused(|d| d.symbol.clear()));
        assert!(refused(|d| d.time_msc = -1));
    }

    #[test]
    fn balance_operations_carry_no_volume() {
        let mut deposit = trade();
        deposit.action = DealAction::Balance;
        deposit.volume = Decimal::ZERO;
        deposit.price = Decimal::ZERO;
        deposit.symbol.clear();
        deposit.profit = Decimal::from(100);
        assert_eq!(deposit.validate(), Ok(()));
    }

    #[test]
    fn entries_serialize_with_mt5_names() {
        let names: Vec<String> = [
            DealEntry::In,
            DealEntry::Out,
            DealEntry::InOut,
            DealEntry::OutBy,
        ]
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
        assert_eq!(names, ["\"in\"", "\"out\"", "\"inout\"", "\"out_by\""]);
    }

    #[test]
    fn cursors_serialize_as_their_token() {
        let cursor = DealCursor::from_token("abc");
        assert_eq!(serde_json::to_string(&cursor).unwrap(), "\"abc\"");
        let back: DealCursor = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, cursor);
    }
}
