//! Operation ids: a replay answers the first receipt, a conflicting reuse is refused, and
//! concurrency neither doubles an operation nor loses one.

use std::collections::BTreeSet;
use std::sync::Arc;

use brokeros_store::Store;
use brokeros_trading::BalanceOperationKind::{CreditIn, Deposit, Withdrawal};
use brokeros_trading::{Decimal, TradingPlatform};
use tokio::sync::Barrier;

use crate::common::*;

pub async fn a_replayed_operation_returns_its_first_receipt(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    let first = execute(&platform, login, "pay-1", Deposit, "100").await;
    execute(&platform, login, "pay-2", Deposit, "5").await;
    let items = count_items(store.as_ref()).await;

    // Replayed after a later operation: the receipt is the first one, balance_after included.
    let replay = execute(&platform, login, "pay-1", Deposit, "100").await;
    assert_eq!(replay, first);
    // 100.00 is the same amount as 100.
    let replay = execute(&platform, login, "pay-1", Deposit, "100.00").await;
    assert_eq!(replay, first);
    assert_eq!(count_items(store.as_ref()).await, items, "nothing written");
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        dec("105")
    );
}

pub async fn a_reused_operation_id_with_other_data_is_refused(store: Arc<dyn Store>) {
    let platform = platform(store.clone());
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    let other = open(&platform, "kyc-c2", GROUP, "USD").await.login;
    execute(&platform, login, "pay-1", Deposit, "100").await;
    let items = count_items(store.as_ref()).await;

    let mut other_comment = operation(login, "pay-1", Deposit, "100");
    other_comment.comment = "another comment".into();
    let reuses = [
        operation(login, "pay-1", Deposit, "100.01"),
        operation(login, "pay-1", CreditIn, "100"),
        operation(login, "pay-1", Withdrawal, "100"),
        operation(other, "pay-1", Deposit, "100"),
        other_comment,
    ];
    for reuse in reuses {
        let result = platform.balance_operation(reuse.clone()).await;
        assert!(is_conflict(&result), "{reuse:?} gave {result:?}");
    }
    assert_eq!(count_items(store.as_ref()).await, items, "nothing written");
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        dec("100")
    );
    assert_eq!(
        platform.account_state(other).await.unwrap().balance,
        dec("0")
    );
}

pub async fn concurrent_replays_take_effect_once(store: Arc<dyn Store>) {
    const REPLAYS: usize = 16;
    const ROUNDS: usize = 5;
    let platform = platform(store.clone());
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    let items = count_items(store.as_ref()).await;
    for round in 1..=ROUNDS {
        let operation_id = format!("pay-{round}");
        // All replays start together, so that they race rather than follow one another.
        let start = Arc::new(Barrier::new(REPLAYS));
        let tasks: Vec<_> = (0..REPLAYS)
            .map(|_| {
                let platform = platform.clone();
                let start = start.clone();
                let deposit = operation(login, &operation_id, Deposit, "250");
                tokio::spawn(async move {
                    start.wait().await;
                    execute_with_retries(&platform, deposit).await
                })
            })
            .collect();
        let mut receipts = Vec::new();
        for task in tasks {
            receipts.push(task.await.expect("a replay panicked"));
        }
        assert!(
            receipts.iter().all(|r| *r == receipts[0]),
            "round {round}: every caller got the one receipt"
        );
        let expected = Decimal::from(250 * round as i64);
        assert_eq!(receipts[0].balance_after, expected);
        assert_eq!(
            platform.account_state(login).await.unwrap().balance,
            expected,
            "round {round}: the deposit landed once"
        );
    }
    // Per round one operation record and one deal history entry; the ticket and history
    // counters; nothing else.
    assert_eq!(
        count_items(store.as_ref()).await,
        items + 2 * ROUNDS as u64 + 2
    );
}

pub async fn concurrent_deposits_lose_no_update(store: Arc<dyn Store>) {
    const DEPOSITS: i64 = 20;
    let platform = platform(store);
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    let tasks: Vec<_> = (1..=DEPOSITS)
        .map(|n| {
            let platform = platform.clone();
            // n dollars and n cents, so any lost or doubled deposit shows in the sum.
            let amount = Decimal::new(n * 101, 2).to_string();
            tokio::spawn(async move {
                execute_with_retries(
                    &platform,
                    operation(login, &format!("pay-{n}"), Deposit, &amount),
                )
                .await
            })
        })
        .collect();
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.push(task.await.expect("a depositor panicked"));
    }
    let expected = Decimal::new((1..=DEPOSITS).map(|n| n * 101).sum(), 2);
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        expected
    );
    let tickets: BTreeSet<u64> = receipts.iter().map(|r| r.deal_id).collect();
    assert_eq!(
        tickets.len(),
        DEPOSITS as usize,
        "every deposit its own ticket"
    );
    // Ordered by ticket, the receipts' balances step up by each deposit in turn: every
    // deposit saw the one before it.
    receipts.sort_by_key(|r| r.deal_id);
    let mut balance = Decimal::ZERO;
    for receipt in &receipts {
        balance += receipt.amount;
        assert_eq!(receipt.balance_after, balance);
    }
}
