//! What decisions may rest on: reads by key see every committed transaction at once, on both
//! engines, while index queries may lag behind (on DynamoDB they do; `LaggingIndexes` makes
//! the tests see it). A use case that lost a race to create a unique item reads the item by
//! key and finds the winner.

use std::sync::Arc;

use brokeros_store::testing::LaggingIndexes;
use brokeros_store::{Condition, Index, Query, SortKeyRange, Store, StoreError, Table};

use crate::common::{get, item, key, put};

pub async fn keyed_reads_see_a_commit_at_once_while_indexes_may_lag(store: Arc<dyn Store>) {
    let lagging = Arc::new(LaggingIndexes::new(store));
    let store: Arc<dyn Store> = lagging.clone();
    let marker = key("UNIQ#USER#portal-1", "UNIQ");
    let client =
        item("CLIENT#c1", "CLIENT", 1, "c1").with_index(Index::Gsi1, "USER#portal-1", "c1");
    let claim = item(&marker.pk, &marker.sk, 1, "c1");
    store
        .transact(vec![
            put(Table::Main, client, Condition::NotExists),
            put(Table::Main, claim, Condition::NotExists),
        ])
        .await
        .unwrap();
    // By key: at once, every way.
    assert_eq!(
        get(store.as_ref(), Table::Main, &marker)
            .await
            .unwrap()
            .data,
        "c1"
    );
    let both = store
        .get_many(Table::Main, &[marker.clone(), key("CLIENT#c1", "CLIENT")])
        .await
        .unwrap();
    assert!(both.iter().all(Option::is_some), "{both:?}");
    let own_keys = Query::new(Table::Main, None, "CLIENT#c1").sk(SortKeyRange::All);
    assert_eq!(store.query(own_keys).await.unwrap().items.len(), 1);
    // By index: not yet.
    let by_user = Query::new(Table::Main, Some(Index::Gsi1), "USER#portal-1");
    assert!(store.query(by_user.clone()).await.unwrap().items.is_empty());
    lagging.catch_up();
    assert_eq!(store.query(by_user).await.unwrap().items.len(), 1);
}

pub async fn a_refused_creation_finds_the_winner_by_key(store: Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(LaggingIndexes::new(store));
    let marker = key("UNIQ#USER#portal-2", "UNIQ");
    let creators: Vec<_> = (0..8usize)
        .map(|creator| {
            let (store, marker) = (store.clone(), marker.clone());
            tokio::spawn(async move {
                loop {
                    let claim = item(&marker.pk, &marker.sk, 1, &format!("client {creator}"));
                    match store
                        .transact(vec![put(Table::Main, claim, Condition::NotExists)])
                        .await
                    {
                        Ok(()) => return (creator, None),
                        // The loser's next read explains the refusal: the winner's claim.
                        Err(StoreError::ConditionFailed { index: 0 }) => {
                            let found = get(store.as_ref(), Table::Main, &marker).await;
                            return (creator, Some(found.expect("the winner's claim").data));
                        }
                        Err(StoreError::TransactionConflict) => {
                            tokio::time::sleep(std::time::Duration::from_millis(
                                5 + creator as u64,
                            ))
                            .await;
                        }
                        Err(other) => panic!("creator {creator}: unexpected {other:?}"),
                    }
                }
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut seen = Vec::new();
    for creator in creators {
        match creator.await.expect("a creator panicked") {
            (winner, None) => winners.push(winner),
            (_, Some(data)) => seen.push(data),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let winner = format!("client {}", winners[0]);
    assert!(seen.iter().all(|d| *d == winner), "{seen:?} vs {winner}");
}
