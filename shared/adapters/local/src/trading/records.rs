//! Where the simulated platform keeps its state in the main table, and in what form.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | account | `TP#ACCOUNT#<login>` | `ACCOUNT` |
//! | account request (idempotency) | `TP#ACCOUNT_REQUEST#<request id>` | `REQUEST` |
//! | balance operation (idempotency, receipt) | `TP#OPERATION#<operation id>` | `OPERATION` |
//! | market order (idempotency, fill) | `TP#ORDER#<order id>` | `ORDER` |
//! | login counter | `TP#COUNTER#LOGIN` | `COUNTER` |
//! | ticket counter | `TP#COUNTER#TICKET` | `COUNTER` |
//! | closed deal, per account | `TP#LOGIN_DEALS#<login>` | `<ticket, 20 digits>` |
//! | closed deal, per group | `TP#GROUP_DEALS#<group>` | `<ticket, 20 digits>` |
//! | deal history counter (the next entry's number) | `TP#COUNTER#HISTORY` | `COUNTER` |
//! | deal history entry (a [`DealChange`]) | `TP#HISTORY#<server>` | `<entry number, 20 digits>` |
//! | a deal's latest revision | `TP#DEAL#<ticket>` | `DEAL` |
//! | open position | `TP#POSITIONS#<login>` | `<position id, 20 digits>` |
//!
//! Every prefix starts with `TP#`, which no other item of the application uses (see
//! `shared/app/src/keys.rs`). Deal feeds are table partitions, not index entries, because
//! table queries are strongly consistent on DynamoDB and index queries are not: a poller must
//! never see a deal before an earlier one, or its cursor would pass the earlier one for good.

use brokeros_store::{Condition, Item, Key, Table, WriteOp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use brokeros_trading::TradingError;
use time::OffsetDateTime;

use brokeros_trading::{
    BalanceOperation, DealScope, DealSide, Fill, MarketOrder, NewAccount, OperationReceipt,
    PlatformDeal, TradingAccount,
};

/// The first ticket; far from the logins, so the two are not mistaken for each other in logs.
pub const FIRST_TICKET: u64 = 10_000_001;

pub(crate) fn account(login: u64) -> Key {
    Key::new(format!("TP#ACCOUNT#{login}"), "ACCOUNT")
}

pub(crate) fn account_request(request_id: &str) -> Key {
    Key::new(format!("TP#ACCOUNT_REQUEST#{request_id}"), "REQUEST")
}

pub(crate) fn operation(operation_id: &str) -> Key {
    Key::new(format!("TP#OPERATION#{operation_id}"), "OPERATION")
}

pub(crate) fn order(order_id: &str) -> Key {
    Key::new(format!("TP#ORDER#{order_id}"), "ORDER")
}

pub(crate) fn login_counter() -> Key {
    Key::new("TP#COUNTER#LOGIN", "COUNTER")
}

pub(crate) fn ticket_counter() -> Key {
    Key::new("TP#COUNTER#TICKET", "COUNTER")
}

pub(crate) fn history_counter() -> Key {
    Key::new("TP#COUNTER#HISTORY", "COUNTER")
}

/// The partition of a server's deal history.
pub(crate) fn history(server: &str) -> String {
    format!("TP#HISTORY#{server}")
}

pub(crate) fn deal(ticket: u64) -> Key {
    Key::new(format!("TP#DEAL#{ticket}"), "DEAL")
}

/// The partition of an account's open positions.
pub(crate) fn positions(login: u64) -> String {
    format!("TP#POSITIONS#{login}")
}

pub(crate) fn position(login: u64, position_id: u64) -> Key {
    Key::new(positions(login), deal_sort_key(position_id))
}

/// The partition of a deal feed.
pub(crate) fn deal_feed(scope: &DealScope) -> String {
    match scope {
        DealScope::Login(login) => format!("TP#LOGIN_DEALS#{login}"),
        DealScope::Group(group) => format!("TP#GROUP_DEALS#{group}"),
    }
}

/// Fixed width, so text order is ticket order.
pub(crate) fn deal_sort_key(ticket: u64) -> String {
    format!("{ticket:020}")
}

/// An account and its money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountRecord {
    pub login: u64,
    pub client_id: String,
    pub name: String,
    pub group: String,
    pub leverage: u32,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub balance: Decimal,
    pub credit: Decimal,
    /// The simulated open positions: their result if closed now, and the margin they hold.
    pub floating_profit: Decimal,
    pub margin: Decimal,
}

impl AccountRecord {
    pub fn account(&self) -> TradingAccount {
        TradingAccount {
            login: self.login,
            client_id: self.client_id.clone(),
            group: self.group.clone(),
            leverage: self.leverage,
            currency: self.currency.clone(),
            created_at: self.created_at,
        }
    }

    pub fn equity(&self) -> Decimal {
        self.balance + self.credit + self.floating_profit
    }

    pub fn free_margin(&self) -> Decimal {
        self.equity() - self.margin
    }

    /// What a withdrawal may take: balance only (credit is the broker's money), and no more
    /// than the free margin (the rest holds open positions). Never negative.
    pub fn withdrawable(&self) -> Decimal {
        self.balance.min(self.free_margin()).max(Decimal::ZERO)
    }
}

/// A counter's next value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CounterRecord {
    pub next: u64,
}

/// An executed account request: what was asked, and the login it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountRequestRecord {
    pub request: NewAccount,
    pub login: u64,
}

/// An executed balance operation: what was asked, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OperationRecord {
    pub request: BalanceOperation,
    pub receipt: OperationReceipt,
}

/// An executed market order: what was asked, and its fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderRecord {
    pub request: MarketOrder,
    pub fill: Fill,
}

/// A deal as it stands now (its latest revision), with what a correction needs to recompute it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DealRecord {
    pub revision: u32,
    pub cancelled: bool,
    pub deal: PlatformDeal,
    /// For a deal that closed (part of) a position: the position's side and open price and
    /// time, from which its profit and swap follow.
    pub closed: Option<ClosedPart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClosedPart {
    pub side: DealSide,
    /// The lots of the position the deal closed (for a reversal, less than the deal's).
    pub volume: Decimal,
    pub open_price: Decimal,
    pub opened_at_msc: i64,
}

/// An open position of a hedging account: each opening deal opens its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PositionRecord {
    /// The ticket of the deal that opened it, as on MT5.
    pub position_id: u64,
    pub login: u64,
    pub symbol: String,
    pub side: DealSide,
    /// Lots still open.
    pub volume: Decimal,
    pub open_price: Decimal,
    pub opened_at_msc: i64,
}

/// A put of `value` at `key` as version `version`, on `condition`.
pub(crate) fn put(
    key: Key,
    version: u64,
    value: &impl Serialize,
    condition: Condition,
) -> Result<WriteOp, TradingError> {
    let data = serde_json::to_string(value)
        .map_err(|e| TradingError::Storage(format!("cannot encode {}: {e}", key.pk)))?;
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(key, version, data),
        condition,
    })
}
