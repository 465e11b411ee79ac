//! Small helpers shared by the scenarios.

use std::str::FromStr;
use std::sync::Arc;

use brokeros_local::SimulatedPlatform;
use brokeros_store::{Store, Table};
use brokeros_trading::{
    BalanceOperation, BalanceOperationKind, Decimal, NewAccount, OperationReceipt, TradingAccount,
    TradingError, TradingPlatform,
};

pub const GROUP: &str = "real\\retail-usd";

pub fn platform(store: Arc<dyn Store>) -> Arc<SimulatedPlatform> {
    Arc::new(SimulatedPlatform::new(store))
}

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_else(|e| panic!("{text} is not a decimal: {e}"))
}

pub fn new_account(request_id: &str, group: &str, currency: &str) -> NewAccount {
    NewAccount {
        request_id: request_id.to_string(),
        client_id: format!("client_{request_id}"),
        group: group.to_string(),
        leverage: 100,
        currency: currency.to_string(),
        name: "Ann Lee".to_string(),
    }
}

/// Opens a fresh account in `group`.
pub async fn open(
    platform: &SimulatedPlatform,
    request_id: &str,
    group: &str,
    currency: &str,
) -> TradingAccount {
    platform
        .create_account(new_account(request_id, group, currency))
        .await
        .unwrap_or_else(|e| panic!("opening account {request_id} failed: {e}"))
}

pub fn operation(
    login: u64,
    operation_id: &str,
    kind: BalanceOperationKind,
    amount: &str,
) -> BalanceOperation {
    BalanceOperation {
        login,
        operation_id: operation_id.to_string(),
        kind,
        amount: dec(amount),
        comment: format!("test {operation_id}"),
    }
}

/// Executes an operation that must succeed.
pub async fn execute(
    platform: &SimulatedPlatform,
    login: u64,
    operation_id: &str,
    kind: BalanceOperationKind,
    amount: &str,
) -> OperationReceipt {
    platform
        .balance_operation(operation(login, operation_id, kind, amount))
        .await
        .unwrap_or_else(|e| panic!("{kind:?} {operation_id} of {amount} failed: {e}"))
}

/// Executes an operation, repeating it with the same id while the platform reports a
/// transient failure, as a workflow's retry policy does.
pub async fn execute_with_retries(
    platform: &SimulatedPlatform,
    operation: BalanceOperation,
) -> OperationReceipt {
    for _ in 0..20 {
        match platform.balance_operation(operation.clone()).await {
            Ok(receipt) => return receipt,
            Err(e) if e.is_transient() => continue,
            Err(e) => panic!("{} failed: {e}", operation.operation_id),
        }
    }
    panic!("{} kept failing transiently", operation.operation_id);
}

pub async fn count_items(store: &dyn Store) -> u64 {
    store
        .count_items(Table::Main)
        .await
        .expect("counting items failed")
}

pub fn is_conflict<T: std::fmt::Debug>(result: &Result<T, TradingError>) -> bool {
    matches!(result, Err(TradingError::Conflict(_)))
}
