//! The port: what Broker OS asks of a trading platform, shaped after what MT5's and cTrader's
//! manager interfaces offer (numeric logins allocated by the platform, groups that carry the
//! trading conditions, leverage as 1:N, balance and credit operations that become platform
//! deals with a ticket, closed deals read in ticket order).
//!
//! What the port adds to those platforms is idempotency: every call that changes money or
//! creates an account carries the caller's unique id, and repeating it (a Lambda retried after
//! a timeout) returns the first outcome instead of acting twice. Platforms do not all offer
//! that themselves, so an adapter keeps its own record of ids it has executed when needed.
//!
//! How a platform adapter maps onto it:
//! * `create_account`: the platform allocates the login in the group; the adapter records the
//!   request id with the login it got, and on an ambiguous failure looks the account up (by
//!   the client id it stored on the platform) before creating another.
//! * `balance_operation`: a balance or credit deal (MT5 balance operations carry a comment
//!   but no idempotency key). The adapter records the operation id before calling and, after
//!   an ambiguous failure, finds the deal by a reference it put in the comment.
//! * `account_state`: the platform's balance, credit, equity, margin and free margin as is.
//! * `closed_deals`: deals read by login or group from a point in time; the adapter's cursor
//!   holds the close time and ticket of the last deal it returned.
//! * `deal_changes`: see the method: the manager API's deal requests by time plus its deal
//!   event sinks, recorded in the order they arrive.

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::deals::{DealChangesPage, DealCursor};
use crate::error::TradingError;

/// A request to open a trading account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    /// The caller's idempotency key (1 to 128 visible ASCII characters): the same id returns
    /// the account it created, and is refused for a request with different content.
    pub request_id: String,
    /// The Broker OS client the account belongs to.
    pub client_id: String,
    /// The platform group, which sets the trading conditions, e.g. `real\retail-usd`.
    pub group: String,
    /// N of the leverage 1:N.
    pub leverage: u32,
    /// The deposit currency, one of [`crate::ACCOUNT_CURRENCIES`].
    pub currency: String,
    /// The account holder's name as the platform shows it.
    pub name: String,
}

/// An account on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradingAccount {
    /// The platform's account number, which the client logs in with.
    pub login: u64,
    pub client_id: String,
    pub group: String,
    pub leverage: u32,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceOperationKind {
    /// Money in: raises the balance.
    Deposit,
    /// Money out: lowers the balance, by no more than is free to leave.
    Withdrawal,
    /// A bonus or other credit the broker grants: raises the credit, which counts towards
    /// equity (so it can carry positions) but cannot be withdrawn.
    CreditIn,
    /// Takes credit back, by no more than the account holds.
    CreditOut,
}

/// A balance or credit operation on an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceOperation {
    pub login: u64,
    /// The caller's unique id of this movement (1 to 128 visible ASCII characters), e.g. the
    /// payment's id: repeating it with the same content returns the first receipt, with other
    /// content it is refused ([`TradingError::Conflict`]). Ids are unique across all accounts.
    pub operation_id: String,
    pub kind: BalanceOperationKind,
    /// Positive, with no more decimals than the account currency has.
    pub amount: Decimal,
    /// Shown to the client in the platform's history; at most
    /// [`MAX_COMMENT_CHARS`] characters.
    pub comment: String,
}

/// The most characters a balance operation comment may have: MetaTrader keeps a deal's comment
/// in 32 characters including its terminator, so a longer one would be cut on the platform.
pub const MAX_COMMENT_CHARS: usize = 31;

/// `text` cut to the characters a balance operation comment keeps: a comment is what the
/// client reads in the platform's history, while the operation id carries the whole reference,
/// so a long reference (an 80-character deposit id) must not make the platform refuse the
/// operation.
pub fn fitted_comment(text: &str) -> String {
    text.chars().take(MAX_COMMENT_CHARS).collect()
}

/// What a balance operation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationReceipt {
    pub operation_id: String,
    pub login: u64,
    pub kind: BalanceOperationKind,
    /// At the account currency's scale.
    pub amount: Decimal,
    /// The platform's ticket of the balance or credit deal it booked.
    pub deal_id: u64,
    pub balance_after: Decimal,
    pub credit_after: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub executed_at: OffsetDateTime,
}

/// An account's money at one moment, in its currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountState {
    pub login: u64,
    pub currency: String,
    /// Deposits less withdrawals plus the results of closed deals.
    pub balance: Decimal,
    pub credit: Decimal,
    /// The result open positions would have if closed now.
    pub floating_profit: Decimal,
    /// `balance + credit + floating_profit`.
    pub equity: Decimal,
    /// Held as margin by open positions.
    pub margin: Decimal,
    /// `equity - margin`: what new positions (or a withdrawal) may use.
    pub free_margin: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealSide {
    Buy,
    Sell,
}

/// A closed trade (a position's closing deal), amounts in the account currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    /// The platform ticket of the closing deal.
    pub deal_id: u64,
    pub login: u64,
    pub symbol: String,
    /// The side of the position that was closed.
    pub side: DealSide,
    /// Lots.
    pub volume: Decimal,
    pub open_price: Decimal,
    pub close_price: Decimal,
    pub profit: Decimal,
    /// Charged by the broker, so zero or negative.
    pub commission: Decimal,
    pub swap: Decimal,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub closed_at: OffsetDateTime,
}

/// Whose closed deals to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealScope {
    /// One account's deals.
    Login(u64),
    /// The deals of every account of a group, in the order the platform closed them (one
    /// feed to poll instead of one per account).
    Group(String),
}

/// The most deals one [`TradingPlatform::closed_deals`] call returns.
pub const MAX_DEALS_PER_PAGE: u32 = 1000;

/// One page of closed deals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealsPage {
    /// Oldest first.
    pub deals: Vec<Deal>,
    /// Where to resume: after the last deal of this page, or where the read began when the
    /// page is empty. `None` only when nothing has been read yet (no cursor was given and no
    /// deal exists), in which case the next read starts from the beginning again.
    pub next_cursor: Option<DealCursor>,
    /// More deals were already waiting when this page was read: read again at once rather
    /// than at the next polling interval.
    pub has_more: bool,
}

/// What a symbol trades, as the platform's symbol settings say (MT5's `IMTConSymbol`
/// `VolumeMin`/`VolumeMax`/`VolumeStep`, cTrader's `minVolume`/`maxVolume`/`stepVolume`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolSpec {
    pub name: String,
    /// Lots: the smallest order, the largest, and the step between order volumes.
    pub volume_min: Decimal,
    pub volume_max: Decimal,
    pub volume_step: Decimal,
    /// Units of the base asset in one lot.
    pub contract_size: Decimal,
    /// Decimal places of the symbol's price.
    pub digits: u32,
}

/// A market order on an account: a new position, or (with `closes_position`) the close of
/// `volume` of an open one (all of it or part), as MT5's `TRADE_ACTION_DEAL` with a position
/// ticket and cTrader's `ProtoOANewOrderReq`/`ProtoOAClosePositionReq` do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketOrder {
    /// The caller's unique id of this order (1 to 128 visible ASCII characters): repeating it
    /// with the same content returns the first fill, with other content it is refused
    /// ([`TradingError::Conflict`]). Ids are unique across all accounts.
    pub order_id: String,
    pub login: u64,
    pub symbol: String,
    /// The order's side; a close is the side opposite to the position's.
    pub side: DealSide,
    /// Lots, within the symbol's limits ([`TradingPlatform::symbol`]).
    pub volume: Decimal,
    /// The position this order closes (part of), if any.
    pub closes_position: Option<u64>,
    /// Shown in the platform's history; at most [`MAX_COMMENT_CHARS`] characters.
    pub comment: String,
}

/// What a market order did: the deal the platform booked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub order_id: String,
    pub login: u64,
    /// The deal's ticket in the server's deal history.
    pub deal: u64,
    /// The position the deal opened or closed (part of).
    pub position_id: u64,
    pub symbol: String,
    pub side: DealSide,
    pub volume: Decimal,
    pub price: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub executed_at: OffsetDateTime,
}

/// A trading platform (MT5, cTrader, or the simulated one) as Broker OS uses it.
#[async_trait]
pub trait TradingPlatform: Send + Sync {
    /// Opens an account, or returns the one this `request_id` opened before.
    ///
    /// Errors: `Conflict` (the request id opened an account from other data), `InvalidRequest`,
    /// `PlatformUnavailable`, `Storage`.
    async fn create_account(&self, request: NewAccount) -> Result<TradingAccount, TradingError>;

    /// Books a deposit, withdrawal, credit-in or credit-out as one platform deal, or returns
    /// the receipt of the first execution of this `operation_id`. A refused operation (e.g.
    /// insufficient funds) changes nothing and records nothing, so it may be retried later.
    ///
    /// Errors: `AccountNotFound`, `InsufficientFunds`, `InsufficientCredit`, `Conflict`,
    /// `InvalidAmount`, `InvalidRequest`, `PlatformUnavailable`, `Storage`.
    async fn balance_operation(
        &self,
        operation: BalanceOperation,
    ) -> Result<OperationReceipt, TradingError>;

    /// The receipt of the balance operation booked under `operation_id`, or `None` when the
    /// platform never booked it (MT5: the deal whose comment carries the id). A caller that lost
    /// every reply of [`TradingPlatform::balance_operation`] asks this before undoing anything.
    ///
    /// Errors: `InvalidRequest`, `PlatformUnavailable`, `Storage`.
    async fn operation(&self, operation_id: &str)
    -> Result<Option<OperationReceipt>, TradingError>;

    /// The account's balance, credit, equity and margin now.
    ///
    /// Errors: `AccountNotFound`, `PlatformUnavailable`, `Storage`.
    async fn account_state(&self, login: u64) -> Result<AccountState, TradingError>;

    /// Up to `limit` (1 to [`MAX_DEALS_PER_PAGE`]) deals of `scope` closed after `since`
    /// (from the first one when `None`), oldest first.
    ///
    /// Errors: `AccountNotFound` (a login scope naming no account), `InvalidCursor`,
    /// `InvalidRequest`, `PlatformUnavailable`, `Storage`.
    async fn closed_deals(
        &self,
        scope: DealScope,
        since: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealsPage, TradingError>;

    /// Up to `limit` (1 to [`crate::MAX_DEAL_CHANGES_PER_PAGE`]) entries of `server`'s deal
    /// history after `since` (from the first one when `None`), in the order the server recorded
    /// them: every deal booked (trades with their entry, balance and credit operations), and
    /// every later correction or cancellation of one as a new revision of it. A reader that
    /// keeps the page's `next_cursor` with what it made of the page sees each change once and
    /// skips none; a cursor names its server and is refused for another one.
    ///
    /// How an MT5 adapter maps it: MT5 has no change feed, so the adapter keeps one. It
    /// subscribes to the manager API's deal sink (`IMTDealSink::OnDealAdd`, `OnDealUpdate`,
    /// `OnDealDelete`) and appends each event, in the order it arrives, to its own log as
    /// `Added` (revision 0), `Corrected` or `Cancelled` (the deal's last revision plus one);
    /// after a reconnection it first catches up with `DealRequest` / `DealRequestByGroup` over
    /// the time since its last event (deals it has not logged become `Added`, logged ones whose
    /// fields differ become `Corrected`, logged ones missing become `Cancelled`). The cursor is
    /// the position in that log, prefixed with the server's name.
    ///
    /// Errors: `InvalidCursor` (not issued for this server), `InvalidRequest` (an unknown
    /// server, a limit out of range), `PlatformUnavailable`, `Storage`.
    async fn deal_changes(
        &self,
        server: &str,
        since: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealChangesPage, TradingError>;

    /// The trading settings of symbol `name` (volume limits, contract size, digits).
    ///
    /// Errors: `InvalidRequest` (an unknown symbol), `PlatformUnavailable`, `Storage`.
    async fn symbol(&self, name: &str) -> Result<SymbolSpec, TradingError>;

    /// Executes a market order at once, or returns the fill of the first execution of this
    /// `order_id`. The deal it books appears in the server's deal history
    /// ([`TradingPlatform::deal_changes`]) like any other trade. A refused order changes
    /// nothing and records nothing, so it may be retried.
    ///
    /// How an MT5 adapter maps it: the manager API's `DealerSend` with `TRADE_ACTION_DEAL`
    /// (and the position ticket for a close); MT5 keeps no idempotency key, so the adapter
    /// records the order id before sending and, after an ambiguous failure, finds the deal by a
    /// reference it put in the order's comment.
    ///
    /// Errors: `AccountNotFound`, `Conflict`, `InvalidRequest` (an unknown symbol, a volume
    /// outside the symbol's limits, a position not open or on the same side),
    /// `PlatformUnavailable`, `Storage`.
    async fn place_order(&self, order: MarketOrder) -> Result<Fill, TradingError>;
}

/// The highest leverage a request may ask for: a sanity bound against typos (1:100000); the
/// group's own limit is the platform's to enforce.
pub const MAX_LEVERAGE: u32 = 10_000;

/// The longest idempotency id (request or operation id) the port takes.
pub const MAX_ID_CHARS: usize = 128;

pub fn check_id(field: &str, value: &str) -> Result<(), TradingError> {
    let valid = !value.is_empty()
        && value.len() <= MAX_ID_CHARS
        && value.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(TradingError::InvalidRequest(format!(
            "{field} must be 1 to {MAX_ID_CHARS} visible ASCII characters"
        )))
    }
}

fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), TradingError> {
    let chars = value.chars().count();
    if chars == 0 || chars > max_chars || value.chars().any(char::is_control) {
        return Err(TradingError::InvalidRequest(format!(
            "{field} must be 1 to {max_chars} characters without control characters"
        )));
    }
    Ok(())
}

impl NewAccount {
    /// The checks every adapter applies before calling its platform.
    pub fn validate(&self) -> Result<(), TradingError> {
        check_id("request_id", &self.request_id)?;
        check_id("client_id", &self.client_id)?;
        // Group paths are short names; the bound keeps the keys built from them small.
        check_text("group", &self.group, 64)?;
        check_text("name", &self.name, 128)?;
        if !(1..=MAX_LEVERAGE).contains(&self.leverage) {
            return Err(TradingError::InvalidRequest(format!(
                "leverage must be 1 to {MAX_LEVERAGE}, not {}",
                self.leverage
            )));
        }
        if crate::currency_spec(&self.currency).is_none() {
            return Err(TradingError::InvalidRequest(format!(
                "{} is not an account currency",
                self.currency
            )));
        }
        Ok(())
    }
}

impl BalanceOperation {
    /// The checks that need no account: ids, comment, sign of the amount. Its scale depends on
    /// the account currency ([`crate::checked_amount`]).
    pub fn validate(&self) -> Result<(), TradingError> {
        check_id("operation_id", &self.operation_id)?;
        check_comment(&self.comment)?;
        if self.amount <= Decimal::ZERO {
            return Err(TradingError::InvalidAmount(format!(
                "the amount must be positive, not {}",
                self.amount
            )));
        }
        Ok(())
    }
}

impl MarketOrder {
    /// The checks that need no symbol: ids, comment, sign of the volume. Its limits are the
    /// symbol's ([`SymbolSpec::check_volume`]).
    pub fn validate(&self) -> Result<(), TradingError> {
        check_id("order_id", &self.order_id)?;
        check_comment(&self.comment)?;
        check_text("symbol", &self.symbol, 32)?;
        if self.volume <= Decimal::ZERO {
            return Err(TradingError::InvalidRequest(format!(
                "the volume must be positive, not {}",
                self.volume
            )));
        }
        Ok(())
    }
}

impl SymbolSpec {
    /// Refuses a volume under the minimum, over the maximum or off the step.
    pub fn check_volume(&self, volume: Decimal) -> Result<(), TradingError> {
        let on_step =
            self.volume_step > Decimal::ZERO && (volume / self.volume_step).fract().is_zero();
        if volume < self.volume_min || volume > self.volume_max || !on_step {
            return Err(TradingError::InvalidRequest(format!(
                "{} trades {} to {} lots in steps of {}, not {volume}",
                self.name, self.volume_min, self.volume_max, self.volume_step
            )));
        }
        Ok(())
    }
}

fn check_comment(comment: &str) -> Result<(), TradingError> {
    if comment.chars().count() > MAX_COMMENT_CHARS || comment.chars().any(char::is_control) {
        return Err(TradingError::InvalidRequest(format!(
            "comment must be at most {MAX_COMMENT_CHARS} characters without control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_account() -> NewAccount {
        NewAccount {
            request_id: "kyc-approved-c1".into(),
            client_id: "client_1".into(),
            group: "real\\retail-usd".into(),
            leverage: 500,
            currency: "USD".into(),
            name: "Ann Lee".into(),
        }
    }

    #[test]
    fn account_requests_are_checked() {
        assert_eq!(new_account().validate(), Ok(()));
        let refused = |change: fn(&mut NewAccount)| {
            let mut request = new_account();
            change(&mut request);
            matches!(request.validate(), Err(TradingError::InvalidRequest(_)))
        };
        assert!(refused(|r| r.request_id.clear()));
        assert!(refused(|r| r.request_id = "has space".into()));
        assert!(refused(|r| r.request_id = "x".repeat(129)));
        assert!(refused(|r| r.group.clear()));
        assert!(refused(|r| r.group = "g".repeat(65)));
        assert!(refused(|r| r.name = "Ann\nLee".into()));
        assert!(refused(|r| r.leverage = 0));
        assert!(refused(|r| r.leverage = MAX_LEVERAGE + 1));
        assert!(refused(|r| r.currency = "usd".into()));
    }

    #[test]
    fn a_fitted_comment_is_one_the_platform_takes() {
        let long = format!("Deposit {}", "é".repeat(40));
        let fitted = fitted_comment(&long);
        assert_eq!(fitted.chars().count(), MAX_COMMENT_CHARS);
        assert!(long.starts_with(&fitted));
        assert_eq!(fitted_comment("Deposit dep-1"), "Deposit dep-1");
        let mut operation = BalanceOperation {
            login: 1,
            operation_id: "op-1".into(),
            kind: BalanceOperationKind::Deposit,
            amount: Decimal::ONE,
            comment: long,
        };
        assert!(operation.validate().is_err());
        operation.comment = fitted;
        assert!(operation.validate().is_ok());
    }

    #[test]
    fn orders_are_checked_and_fitted_to_the_symbol() {
        let order = MarketOrder {
            order_id: "copy-1".into(),
            login: 1,
            symbol: "EURUSD".into(),
            side: DealSide::Buy,
            volume: Decimal::new(10, 2),
            closes_position: None,
            comment: "copy".into(),
        };
        assert_eq!(order.validate(), Ok(()));
        let refused = |change: fn(&mut MarketOrder)| {
            let mut o = order.clone();
            change(&mut o);
            o.validate().is_err()
        };
        assert!(refused(|o| o.order_id.clear()));
        assert!(refused(|o| o.volume = Decimal::ZERO));
        assert!(refused(|o| o.symbol.clear()));
        assert!(refused(|o| o.comment = "c".repeat(MAX_COMMENT_CHARS + 1)));
        let spec = SymbolSpec {
            name: "EURUSD".into(),
            volume_min: Decimal::new(1, 2),
            volume_max: Decimal::from(50),
            volume_step: Decimal::new(1, 2),
            contract_size: Decimal::from(100_000),
            digits: 5,
        };
        assert_eq!(spec.check_volume(Decimal::new(10, 2)), Ok(()));
        for volume in [Decimal::new(5, 3), Decimal::new(105, 3), Decimal::from(51)] {
            assert!(spec.check_volume(volume).is_err(), "{volume}");
        }
    }

    #[test]
    fn balance_operations_are_checked() {
        let operation = BalanceOperation {
            login: 1,
            operation_id: "pay_1".into(),
            kind: BalanceOperationKind::Deposit,
            amount: Decimal::new(1000, 2),
            comment: "Deposit pay_1".into(),
        };
        assert_eq!(operation.validate(), Ok(()));
        let mut long_comment = operation.clone();
        long_comment.comment = "c".repeat(MAX_COMMENT_CHARS + 1);
        assert!(matches!(
            long_comment.validate(),
            Err(TradingError::InvalidRequest(_))
        ));
        let mut negative = operation.clone();
        negative.amount = Decimal::new(-1000, 2);
        assert!(matches!(
            negative.validate(),
            Err(TradingError::InvalidAmount(_))
        ));
        let mut empty_comment = operation;
        empty_comment.comment.clear();
        assert_eq!(empty_comment.validate(), Ok(()), "a comment is optional");
    }
}
