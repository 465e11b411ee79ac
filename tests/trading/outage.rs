//! The outage switches: a platform that is down, and one that loses a reply after acting.

use std::sync::Arc;

use brokeros_store::Store;
use brokeros_trading::BalanceOperationKind::Deposit;
use brokeros_trading::{DealScope, TradingError, TradingPlatform};

use crate::common::*;

fn is_unavailable<T: std::fmt::Debug>(result: &Result<T, TradingError>) -> bool {
    match result {
        Err(e) => {
            e.is_transient()
                && e.error_name() == "TradingPlatformUnavailable"
                && matches!(e, TradingError::PlatformUnavailable(_))
        }
        Ok(_) => false,
    }
}

pub async fn failed_calls_do_nothing(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    let items = count_items(store.as_ref()).await;

    platform.fail_next_calls(4);
    let deposit = operation(login, "pay-1", Deposit, "100");
    assert!(is_unavailable(
        &platform.balance_operation(deposit.clone()).await
    ));
    assert!(is_unavailable(
        &platform
            .create_account(new_account("kyc-c2", GROUP, "USD"))
            .await
    ));
    assert!(is_unavailable(&platform.account_state(login).await));
    assert!(is_unavailable(
        &platform
            .closed_deals(DealScope::Login(login), None, 10)
            .await
    ));
    assert_eq!(
        count_items(store.as_ref()).await,
        items,
        "nothing was executed"
    );

    // The outage is over: the retry executes, once.
    let receipt = platform.balance_operation(deposit).await.unwrap();
    assert_eq!(receipt.balance_after, dec("100"));
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        dec("100")
    );
}

pub async fn a_lost_reply_is_recovered_by_a_retry(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;

    platform.lose_next_replies(1);
    let deposit = operation(login, "pay-1", Deposit, "100");
    assert!(is_unavailable(
        &platform.balance_operation(deposit.clone()).await
    ));
    // The deposit happened although its caller was told otherwise.
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        dec("100")
    );
    // The caller's retry, with the same id, learns the outcome and does not deposit again.
    let receipt = platform.balance_operation(deposit).await.unwrap();
    assert_eq!(receipt.balance_after, dec("100"));
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        dec("100")
    );

    // Account creation recovers the same way.
    platform.lose_next_replies(1);
    let request = new_account("kyc-c2", GROUP, "USD");
    assert!(is_unavailable(
        &platform.create_account(request.clone()).await
    ));
    let items = count_items(store.as_ref()).await;
    let account = platform.create_account(request).await.unwrap();
    assert_eq!(account.login, login + 1);
    assert_eq!(
        count_items(store.as_ref()).await,
        items,
        "no second account"
    );
}

pub async fn a_caller_that_lost_every_reply_finds_the_operation_by_its_id(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    assert_eq!(
        platform.operation("pay-1").await.unwrap(),
        None,
        "not booked yet"
    );

    // Refused before it ran: still not booked.
    platform.fail_next_calls(1);
    let deposit = operation(login, "pay-1", Deposit, "100");
    assert!(is_unavailable(
        &platform.balance_operation(deposit.clone()).await
    ));
    assert_eq!(platform.operation("pay-1").await.unwrap(), None);

    // Booked, and every reply lost: the lookup tells the caller it was booked, once.
    platform.lose_next_replies(3);
    for _ in 0..3 {
        assert!(is_unavailable(
            &platform.balance_operation(deposit.clone()).await
        ));
    }
    let receipt = platform
        .operation("pay-1")
        .await
        .unwrap()
        .expect("the deposit was booked");
    assert_eq!((receipt.login, receipt.amount), (login, dec("100")));
    assert_eq!(receipt.balance_after, dec("100"));
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        dec("100")
    );

    let items = count_items(store.as_ref()).await;
    for bad in ["", "has space", &"x".repeat(129)] {
        assert!(matches!(
            platform.operation(bad).await,
            Err(TradingError::InvalidRequest(_))
        ));
    }
    assert_eq!(
        count_items(store.as_ref()).await,
        items,
        "lookups write nothing"
    );
}
