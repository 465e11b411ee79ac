//! Money between a client's wallet and their trading accounts, as deposits fund an account
//! (`deposits::tasks::fund`) and internal transfers move it in every direction
//! (`transfers`): where each place keeps its money in the ledger, the ledger move between two
//! places, and the platform's balance operation that books an account's side.
//!
//! The platform is idempotent by operation id, so a call repeated after a lost reply books
//! once; a refusal is told apart from a failure, because only a refusal proves that nothing
//! was booked and lets the caller undo its side.

use brokeros_kernel::Result;
use brokeros_kernel::money::Money;
use brokeros_ledger::model::{AccountId, Transfer as LedgerTransfer, TransferId};
use brokeros_trading::{
    BalanceOperation, BalanceOperationKind, OperationReceipt, TradingError, platform_error,
};
use serde::{Deserialize, Serialize};

use crate::Services;

/// Where a client's money is: their wallet, or one of their trading accounts (by login).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Wallet,
    Account(u64),
}

impl Place {
    /// The ledger account that holds the client's money at this place in `money`'s currency.
    pub fn ledger_account(self, client_id: &str, money: Money) -> Result<AccountId> {
        match self {
            Place::Wallet => AccountId::client_wallet(client_id, money.currency()),
            Place::Account(login) => AccountId::trading_account(login, money.currency()),
        }
    }
}

/// The balanced ledger move of `money` from one place of the client's to another.
pub fn ledger_move(
    transfer_id: TransferId,
    client_id: &str,
    from: Place,
    to: Place,
    money: Money,
    memo: &str,
) -> Result<LedgerTransfer> {
    Ok(LedgerTransfer::between(
        transfer_id,
        from.ledger_account(client_id, money)?,
        to.ledger_account(client_id, money)?,
        money.amount(),
        memo,
    ))
}

/// What the platform did with a balance operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Booking {
    Booked(OperationReceipt),
    /// Refused for good (no such account, not enough free to leave, an amount it cannot
    /// book): nothing was booked, so the caller may undo its side.
    Refused(TradingError),
}

/// Whether a platform error proves that the operation was not booked and will not be.
fn is_refusal(e: &TradingError) -> bool {
    matches!(
        e,
        TradingError::AccountNotFound { .. }
            | TradingError::InsufficientFunds { .. }
            | TradingError::InsufficientCredit { .. }
            | TradingError::InvalidAmount(_)
            | TradingError::InvalidRequest(_)
    )
}

/// Books `kind` of `money` on account `login` under `operation_id`. An error is a platform
/// that did not answer (or an id reused for another operation): it may have booked it, so
/// the caller keeps its side and asks again with the same id.
pub async fn book(
    services: &Services,
    login: u64,
    operation_id: &str,
    kind: BalanceOperationKind,
    money: Money,
    comment: &str,
) -> Result<Booking> {
    let operation = BalanceOperation {
        login,
        operation_id: operation_id.to_string(),
        kind,
        amount: money.amount(),
        comment: comment.to_string(),
    };
    match services.trading.balance_operation(operation).await {
        Ok(receipt) => Ok(Booking::Booked(receipt)),
        Err(e) if is_refusal(&e) => Ok(Booking::Refused(e)),
        Err(e) => Err(platform_error(e)),
    }
}

/// The receipt of the operation booked under `operation_id`, if the platform booked it: what
/// a caller asks before undoing anything after it lost the platform's replies (a crash).
pub async fn booked(services: &Services, operation_id: &str) -> Result<Option<OperationReceipt>> {
    services
        .trading
        .operation(operation_id)
        .await
        .map_err(platform_error)
}
