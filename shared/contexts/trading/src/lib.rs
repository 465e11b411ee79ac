//! The trading platform port and its simulated adapter.
//!
//! [`TradingPlatform`] is what Broker OS asks of MT5, cTrader or any other platform: open an
//! account, move balance and credit (idempotently, by the caller's operation id), read balance
//! and equity, and read closed deals after a cursor. Adapters implement it;
//! [`SimulatedPlatform`] is the one for local runs and tests, keeping its state in the storage
//! port so it runs on the embedded store and on DynamoDB alike.
//!
//! Money is `rust_decimal::Decimal` at the account currency's scale ([`ACCOUNT_CURRENCIES`]);
//! an amount that would need rounding is refused, never rounded.

mod currency;
mod error;
mod port;
mod simulated;

pub use currency::{
    ACCOUNT_CURRENCIES, CurrencySpec, checked_amount, currency_scale, currency_spec,
};
pub use error::{TradingError, platform_error};
pub use port::{
    AccountState, BalanceOperation, BalanceOperationKind, Deal, DealCursor, DealScope, DealSide,
    DealsPage, MAX_COMMENT_CHARS, MAX_DEALS_PER_PAGE, MAX_ID_CHARS, MAX_LEVERAGE, NewAccount,
    OperationReceipt, TradingAccount, TradingPlatform,
};
/// The money type of the port, re-exported so callers use the very version the port does.
pub use rust_decimal::Decimal;
pub use simulated::{FIRST_LOGIN, FIRST_TICKET, MAX_GENERATED_DEALS, SimulatedPlatform};
