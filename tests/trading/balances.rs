//! Balance and credit operations: what they do to balance, credit and equity, and what is
//! refused.

use std::sync::Arc;

use brokeros_store::Store;
use brokeros_trading::BalanceOperationKind::{CreditIn, CreditOut, Deposit, Withdrawal};
use brokeros_trading::{DealScope, TradingError, TradingPlatform};

use crate::common::*;

pub async fn deposits_withdrawals_and_credit_move_balance_and_equity(store: Arc<dyn Store>) {
    let platform = platform(store);
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;

    let deposit = execute(&platform, login, "pay-1", Deposit, "1000").await;
    assert_eq!(deposit.amount.to_string(), "1000.00");
    assert_eq!(deposit.balance_after, dec("1000"));
    assert_eq!(deposit.credit_after, dec("0"));
    let bonus = execute(&platform, login, "bonus-1", CreditIn, "200.50").await;
    assert_eq!(
        (bonus.balance_after, bonus.credit_after),
        (dec("1000"), dec("200.50"))
    );
    let withdrawal = execute(&platform, login, "pay-2", Withdrawal, "300.25").await;
    assert_eq!(withdrawal.balance_after, dec("699.75"));
    let bonus_back = execute(&platform, login, "bonus-2", CreditOut, "50").await;
    assert_eq!(bonus_back.credit_after, dec("150.50"));

    let tickets = [
        deposit.deal_id,
        bonus.deal_id,
        withdrawal.deal_id,
        bonus_back.deal_id,
    ];
    assert!(
        tickets.windows(2).all(|w| w[0] < w[1]),
        "each operation is a deal with a newer ticket: {tickets:?}"
    );

    let state = platform.account_state(login).await.unwrap();
    assert_eq!(state.balance.to_string(), "699.75");
    assert_eq!(state.credit.to_string(), "150.50");
    assert_eq!(state.equity, dec("850.25"), "equity counts credit");
    assert_eq!(state.margin, dec("0"));
    assert_eq!(state.free_margin, dec("850.25"));
    assert_eq!(state.currency, "USD");

    // Balance operations are not trades: the closed-deal feed stays empty.
    let deals = platform
        .closed_deals(DealScope::Login(login), None, 10)
        .await
        .unwrap();
    assert!(deals.deals.is_empty());

    // A currency without decimals.
    let yen = open(&platform, "kyc-c2", GROUP, "JPY").await.login;
    let receipt = execute(&platform, yen, "pay-3", Deposit, "150000").await;
    assert_eq!(receipt.balance_after.to_string(), "150000");
}

pub async fn refused_operations_change_nothing(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    execute(&platform, login, "pay-1", Deposit, "100").await;
    execute(&platform, login, "bonus-1", CreditIn, "50").await;
    let before = platform.account_state(login).await.unwrap();
    let items = count_items(store.as_ref()).await;

    // Credit is the broker's money: 100.01 is more than the balance, though equity is 150.
    let too_much = platform
        .balance_operation(operation(login, "pay-2", Withdrawal, "100.01"))
        .await;
    assert_eq!(
        too_much,
        Err(TradingError::InsufficientFunds {
            login,
            requested: dec("100.01"),
            available: dec("100.00"),
        })
    );
    let too_much_credit = platform
        .balance_operation(operation(login, "bonus-2", CreditOut, "50.01"))
        .await;
    assert!(matches!(
        too_much_credit,
        Err(TradingError::InsufficientCredit { .. })
    ));

    assert_eq!(
        count_items(store.as_ref()).await,
        items,
        "no item written or added"
    );
    assert_eq!(platform.account_state(login).await.unwrap(), before);

    // A refusal records nothing, so its id may succeed once the money is there.
    execute(&platform, login, "pay-3", Deposit, "0.01").await;
    let retried = execute(&platform, login, "pay-2", Withdrawal, "100.01").await;
    assert_eq!(retried.balance_after, dec("0"));
}

pub async fn withdrawals_are_limited_by_free_margin(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    execute(&platform, login, "pay-1", Deposit, "1000").await;
    // Open positions losing 200 and holding 500 of margin: equity 800, free margin 300.
    let state = platform
        .set_open_positions(login, dec("-200"), dec("500"))
        .await
        .unwrap();
    assert_eq!((state.equity, state.free_margin), (dec("800"), dec("300")));
    assert_eq!(platform.account_state(login).await.unwrap(), state);

    let items = count_items(store.as_ref()).await;
    let refused = platform
        .balance_operation(operation(login, "pay-2", Withdrawal, "300.01"))
        .await;
    assert_eq!(
        refused,
        Err(TradingError::InsufficientFunds {
            login,
            requested: dec("300.01"),
            available: dec("300.00"),
        })
    );
    assert_eq!(count_items(store.as_ref()).await, items);
    let done = execute(&platform, login, "pay-3", Withdrawal, "300").await;
    assert_eq!(done.balance_after, dec("700"));
    let state = platform.account_state(login).await.unwrap();
    assert_eq!((state.equity, state.free_margin), (dec("500"), dec("0")));
}

pub async fn amounts_are_checked_against_the_account_currency(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let dollars = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    let yen = open(&platform, "kyc-c2", GROUP, "JPY").await.login;
    let bitcoin = open(&platform, "kyc-c3", GROUP, "BTC").await.login;
    let items = count_items(store.as_ref()).await;

    let refused = [
        (dollars, "10.001"),
        (dollars, "0"),
        (dollars, "-10"),
        (yen, "100.5"),
        (bitcoin, "0.000000001"),
    ];
    for (n, (login, amount)) in refused.into_iter().enumerate() {
        let result = platform
            .balance_operation(operation(login, &format!("pay-{n}"), Deposit, amount))
            .await;
        assert!(
            matches!(result, Err(TradingError::InvalidAmount(_))),
            "{amount} on {login}: {result:?}"
        );
    }
    assert_eq!(count_items(store.as_ref()).await, items, "nothing written");

    // Trailing zeros are no extra precision; amounts come back at the currency's scale.
    let receipt = execute(&platform, dollars, "pay-ok", Deposit, "10.000").await;
    assert_eq!(receipt.amount.to_string(), "10.00");
    let receipt = execute(&platform, bitcoin, "pay-btc", Deposit, "0.00000001").await;
    assert_eq!(receipt.balance_after.to_string(), "0.00000001");
}

pub async fn unknown_accounts_are_reported(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let missing = 999_999;
    let not_found = TradingError::AccountNotFound { login: missing };
    assert_eq!(
        platform
            .balance_operation(operation(missing, "pay-1", Deposit, "10"))
            .await,
        Err(not_found.clone())
    );
    assert_eq!(
        platform.account_state(missing).await,
        Err(not_found.clone())
    );
    assert_eq!(
        platform
            .closed_deals(DealScope::Login(missing), None, 10)
            .await,
        Err(not_found.clone())
    );
    assert_eq!(platform.generate_deals(missing, 1, 1).await, Err(not_found));
    assert_eq!(count_items(store.as_ref()).await, 0);
}
