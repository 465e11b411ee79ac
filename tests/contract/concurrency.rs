//! Concurrent writers: optimistic concurrency loses no update.

use std::sync::Arc;
use std::time::Duration;

use brokeros_store::{Condition, Key, Store, StoreError, Table};

use crate::common::*;

const WRITERS: usize = 20;
const MAX_ATTEMPTS: usize = 500;

/// A short pause that differs per writer and attempt, so retries spread out.
async fn back_off(writer: usize, attempt: usize) {
    let millis = ((writer * 7 + attempt * 13) % 11) as u64 + 1;
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// Reads the counter and writes it back plus one at the next version, retrying until its write
/// is the one that lands. Returns how many attempts lost.
async fn increment(store: Arc<dyn Store>, counter: Key, writer: usize) -> usize {
    for attempt in 0..MAX_ATTEMPTS {
        let current = store
            .get(Table::Main, &counter)
            .await
            .unwrap()
            .expect("the counter exists");
        let n: u64 = current.data.parse().expect("the counter holds a number");
        let mut next = current.clone();
        next.version = current.version + 1;
        next.data = (n + 1).to_string();
        match store
            .transact(vec![put(
                Table::Main,
                next,
                Condition::VersionIs(current.version),
            )])
            .await
        {
            Ok(()) => return attempt,
            Err(StoreError::ConditionFailed { index: 0 })
            | Err(StoreError::TransactionConflict) => back_off(writer, attempt).await,
            Err(other) => panic!("writer {writer}: unexpected {other:?}"),
        }
    }
    panic!("writer {writer} did not get its update in after {MAX_ATTEMPTS} attempts");
}

pub async fn concurrent_writers_lose_no_update(store: Arc<dyn Store>) {
    let counter = key("COUNTER", "1");
    create_all(store.as_ref(), Table::Main, &[item("COUNTER", "1", 1, "0")]).await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| tokio::spawn(increment(store.clone(), counter.clone(), writer)))
        .collect();
    let mut lost = 0;
    for writer in writers {
        lost += writer.await.expect("a writer panicked");
    }
    let last = get(store.as_ref(), Table::Main, &counter).await.unwrap();
    assert_eq!(
        last.data,
        WRITERS.to_string(),
        "every increment landed exactly once"
    );
    assert_eq!(last.version, WRITERS as u64 + 1);
    // Not asserted, but telling when run with --nocapture: how contended the writers were.
    println!("{WRITERS} writers lost {lost} attempts in all");
}

pub async fn concurrent_creators_have_one_winner(store: Arc<dyn Store>) {
    let contested = key("UNIQUE#email@example.com", "CLAIM");
    let creators: Vec<_> = (0..10usize)
        .map(|creator| {
            let store = store.clone();
            let contested = contested.clone();
            tokio::spawn(async move {
                for attempt in 0..MAX_ATTEMPTS {
                    let claim = item(
                        &contested.pk,
                        &contested.sk,
                        1,
                        &format!("creator {creator}"),
                    );
                    match store
                        .transact(vec![put(Table::Main, claim, Condition::NotExists)])
                        .await
                    {
                        Ok(()) => return Some(creator),
                        Err(StoreError::ConditionFailed { index: 0 }) => return None,
                        Err(StoreError::TransactionConflict) => back_off(creator, attempt).await,
                        Err(other) => panic!("creator {creator}: unexpected {other:?}"),
                    }
                }
                panic!("creator {creator} got no answer after {MAX_ATTEMPTS} attempts");
            })
        })
        .collect();
    let mut winners = Vec::new();
    for creator in creators {
        winners.extend(creator.await.expect("a creator panicked"));
    }
    assert_eq!(winners.len(), 1, "exactly one create wins: {winners:?}");
    let stored = get(store.as_ref(), Table::Main, &contested).await.unwrap();
    assert_eq!(stored.data, format!("creator {}", winners[0]));
    assert_eq!(stored.version, 1);
}

/// Many reads at once, of every kind, all answered: readers never run out.
pub async fn concurrent_readers_are_all_served(store: Arc<dyn Store>) {
    create_all(
        store.as_ref(),
        Table::Main,
        &[item("READ#1", "A", 1, "a"), item("READ#1", "B", 1, "b")],
    )
    .await;
    let readers: Vec<_> = (0..64usize)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                match n % 3 {
                    0 => assert_eq!(
                        store
                            .get(Table::Main, &key("READ#1", "A"))
                            .await
                            .unwrap()
                            .unwrap()
                            .data,
                        "a"
                    ),
                    1 => {
                        let found = store
                            .get_many(Table::Main, &[key("READ#1", "B"), key("READ#1", "Z")])
                            .await
                            .unwrap();
                        assert!(found[0].is_some() && found[1].is_none());
                    }
                    _ => {
                        let page = store
                            .query(brokeros_store::Query::new(Table::Main, None, "READ#1"))
                            .await
                            .unwrap();
                        assert_eq!(page.items.len(), 2);
                    }
                }
            })
        })
        .collect();
    for reader in readers {
        reader.await.expect("a read failed");
    }
}
