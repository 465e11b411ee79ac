//! The trading platform port.
//!
//! [`TradingPlatform`] is what Broker OS asks of MT5, cTrader or any other platform: open an
//! account, move balance and credit (idempotently, by the caller's operation id), read balance
//! and equity, and read closed deals after a cursor. Adapters implement it; the simulated
//! platform of local runs and tests is `brokeros_local::trading::SimulatedPlatform`.
//!
//! Money is `rust_decimal::Decimal` at the account currency's scale ([`ACCOUNT_CURRENCIES`]);
//! an amount that would need rounding is refused, never rounded.

mod currency;
mod deals;
mod error;
mod port;
pub mod positions;

pub use currency::{
    ACCOUNT_CURRENCIES, CurrencySpec, checked_amount, checked_signed_amount, currency_scale,
    currency_spec,
};
pub use deals::{
    DealAction, DealChange, DealChangeKind, DealChangesPage, DealCursor, DealEntry,
    MAX_DEAL_CHANGES_PER_PAGE, PlatformDeal,
};
pub use error::{TradingError, platform_error};
pub use port::{
    AccountState, BalanceOperation, BalanceOperationKind, Deal, DealScope, DealSide, DealsPage,
    Fill, MAX_COMMENT_CHARS, MAX_DEALS_PER_PAGE, MAX_ID_CHARS, MAX_LEVERAGE, MarketOrder,
    NewAccount, OperationReceipt, SymbolSpec, TradingAccount, TradingPlatform, check_id,
    fitted_comment,
};
/// The money type of the port, re-exported so callers use the very version the port does.
pub use rust_decimal::Decimal;
