//! Opening accounts: logins, idempotency by request id, validation.

use std::collections::BTreeSet;
use std::sync::Arc;

use brokeros_local::FIRST_LOGIN;
use brokeros_store::Store;
use brokeros_trading::{TradingError, TradingPlatform};

use crate::common::*;

pub async fn creating_an_account_twice_opens_one(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let request = new_account("kyc-c1", GROUP, "USD");
    let first = platform.create_account(request.clone()).await.unwrap();
    assert_eq!(first.login, FIRST_LOGIN);
    assert_eq!(
        (
            first.group.as_str(),
            first.leverage,
            first.currency.as_str()
        ),
        (GROUP, 100, "USD")
    );
    assert_eq!(first.client_id, "client_kyc-c1");
    let items = count_items(store.as_ref()).await;

    let again = platform.create_account(request).await.unwrap();
    assert_eq!(again, first, "the same request id answers the same account");
    assert_eq!(count_items(store.as_ref()).await, items, "nothing new");

    let state = platform.account_state(first.login).await.unwrap();
    assert_eq!(state.balance.to_string(), "0.00");
    assert_eq!(state.equity.to_string(), "0.00");

    let second = open(&platform, "kyc-c2", GROUP, "EUR").await;
    assert_eq!(
        second.login,
        FIRST_LOGIN + 1,
        "logins are handed out in order"
    );
}

pub async fn a_reused_request_id_with_other_data_is_refused(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let first = open(&platform, "kyc-c1", GROUP, "USD").await;
    let items = count_items(store.as_ref()).await;
    let mut other_leverage = new_account("kyc-c1", GROUP, "USD");
    other_leverage.leverage = 30;
    assert!(is_conflict(&platform.create_account(other_leverage).await));
    let other_currency = new_account("kyc-c1", GROUP, "EUR");
    assert!(is_conflict(&platform.create_account(other_currency).await));
    assert_eq!(count_items(store.as_ref()).await, items, "nothing written");
    let state = platform.account_state(first.login).await.unwrap();
    assert_eq!(state.currency, "USD");
    assert!(matches!(
        platform.account_state(first.login + 1).await,
        Err(TradingError::AccountNotFound { .. })
    ));
}

pub async fn concurrent_creations_get_distinct_logins(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    // Ten different requests at once, and five copies of one more request.
    let mut tasks = Vec::new();
    for n in 0..10 {
        let platform = platform.clone();
        tasks.push(tokio::spawn(async move {
            platform
                .create_account(new_account(&format!("kyc-{n}"), GROUP, "USD"))
                .await
        }));
    }
    for _ in 0..5 {
        let platform = platform.clone();
        tasks.push(tokio::spawn(async move {
            platform
                .create_account(new_account("kyc-same", GROUP, "USD"))
                .await
        }));
    }
    let mut accounts = Vec::new();
    for task in tasks {
        accounts.push(task.await.unwrap().expect("creation failed"));
    }
    let same: BTreeSet<u64> = accounts[10..].iter().map(|a| a.login).collect();
    assert_eq!(same.len(), 1, "one request id, one account: {same:?}");
    let logins: BTreeSet<u64> = accounts.iter().map(|a| a.login).collect();
    assert_eq!(
        logins,
        (FIRST_LOGIN..FIRST_LOGIN + 11).collect(),
        "eleven accounts, consecutive logins, none shared"
    );
}

pub async fn invalid_account_requests_write_nothing(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let items = count_items(store.as_ref()).await;
    let mut zero_leverage = new_account("kyc-c1", GROUP, "USD");
    zero_leverage.leverage = 0;
    let refused = [
        new_account("kyc-c1", GROUP, "XYZ"),
        new_account("kyc-c1", "", "USD"),
        new_account("", GROUP, "USD"),
        zero_leverage,
    ];
    for request in refused {
        let result = platform.create_account(request.clone()).await;
        assert!(
            matches!(result, Err(TradingError::InvalidRequest(_))),
            "{request:?} gave {result:?}"
        );
    }
    assert_eq!(count_items(store.as_ref()).await, items);
    // The refused request id is still free.
    let account = open(&platform, "kyc-c1", GROUP, "USD").await;
    assert_eq!(account.login, FIRST_LOGIN);
}
