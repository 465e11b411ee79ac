//! Queries by partition key, on the table and on each index.

use std::sync::Arc;

use brokeros_store::{Condition, Index, Item, Query, SortKeyRange, Store, StoreError, Table};

use crate::common::*;

fn prefix(p: &str) -> SortKeyRange {
    SortKeyRange::Prefix(p.to_string())
}

fn between(low: &str, high: &str) -> SortKeyRange {
    SortKeyRange::Between(low.to_string(), high.to_string())
}

pub async fn sort_key_ranges_in_both_directions(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let sks = ["a#1", "a#2", "b", "b#1", "b#2", "b#3", "ba", "c#1"];
    let mut items: Vec<Item> = sks
        .iter()
        .map(|sk| item("Q", sk, 1, &format!("Q {sk}")))
        .collect();
    // Neighbouring partitions, one sharing the prefix of the partition key.
    items.push(item("Q2", "a#1", 1, "other"));
    items.push(item("QQ", "b#1", 1, "other"));
    items.push(item("P", "b#1", 1, "other"));
    items.reverse();
    put_all(store, Table::Main, &items).await;

    let cases: Vec<(SortKeyRange, Vec<&str>)> = vec![
        (SortKeyRange::All, sks.to_vec()),
        (prefix(""), sks.to_vec()),
        (prefix("b#"), vec!["b#1", "b#2", "b#3"]),
        (prefix("b"), vec!["b", "b#1", "b#2", "b#3", "ba"]),
        (prefix("a#2"), vec!["a#2"]),
        (prefix("z"), vec![]),
        (between("a#2", "b#2"), vec!["a#2", "b", "b#1", "b#2"]),
        (between("b", "b#2"), vec!["b", "b#1", "b#2"]),
        (
            between("a", "bz"),
            vec!["a#1", "a#2", "b", "b#1", "b#2", "b#3", "ba"],
        ),
        (between("b#2", "b#2"), vec!["b#2"]),
        (between("b#15", "b#25"), vec!["b#2"]),
        (between("", "a#9"), vec!["a#1", "a#2"]),
        (between("c", "\u{10FFFF}"), vec!["c#1"]),
        (between("c#2", "c#1"), vec![]),
        (between("d", "e"), vec![]),
    ];
    for (range, expected) in cases {
        let ascending = query(store, Query::new(Table::Main, None, "Q").sk(range.clone())).await;
        assert_eq!(sort_keys(&ascending.items), expected, "ascending {range:?}");
        assert_eq!(ascending.next, None);
        let mut reversed = expected.clone();
        reversed.reverse();
        let descending = query(
            store,
            Query::new(Table::Main, None, "Q")
                .sk(range.clone())
                .descending(),
        )
        .await;
        assert_eq!(
            sort_keys(&descending.items),
            reversed,
            "descending {range:?}"
        );
        assert!(
            descending
                .items
                .iter()
                .all(|i| i.key.pk == "Q" && i.data == format!("Q {}", i.key.sk))
        );
    }
    let nobody = query(store, Query::new(Table::Main, None, "nobody")).await;
    assert!(nobody.items.is_empty());
    assert_eq!(nobody.next, None);
    assert!(
        query(store, Query::new(Table::Audit, None, "Q"))
            .await
            .items
            .is_empty()
    );
}

pub async fn index_queries_on_every_index(store: Arc<dyn Store>) {
    let store = store.as_ref();
    // Items in different table partitions share index partitions; some are in no index.
    let i1 = item("LEAD#1", "META", 1, "1")
        .with_index(Index::Gsi1, "BROKER#b", "2024-01-05#LEAD#1")
        .with_index(Index::Gsi2, "STATUS#new", "2024-01-05#LEAD#1");
    let i2 = item("LEAD#2", "META", 1, "2")
        .with_index(Index::Gsi1, "BROKER#b", "2024-02-01#LEAD#2")
        .with_index(Index::Gsi3, "EMAIL#x@y", "LEAD#2");
    let i3 = item("LEAD#3", "META", 1, "3")
        .with_index(Index::Gsi1, "BROKER#c", "2024-01-01#LEAD#3")
        .with_index(Index::Gsi4, "PHONE#+1", "LEAD#3");
    let i4 =
        item("LEAD#4", "META", 1, "4").with_index(Index::Gsi1, "BROKER#b", "2023-12-31#LEAD#4");
    let none = item("LEAD#5", "META", 1, "5");
    // An item whose table partition key equals an index partition key is not in that index.
    let decoy = item("BROKER#b", "2024-01-06", 1, "decoy");
    put_all(
        store,
        Table::Main,
        &[
            i1.clone(),
            i2.clone(),
            i3.clone(),
            i4.clone(),
            none.clone(),
            decoy.clone(),
        ],
    )
    .await;

    let by = |index: Index, pk: &str| Query::new(Table::Main, Some(index), pk);
    assert_eq!(
        query(store, by(Index::Gsi1, "BROKER#b")).await.items,
        vec![i4.clone(), i1.clone(), i2.clone()]
    );
    assert_eq!(
        query(store, by(Index::Gsi1, "BROKER#b").descending())
            .await
            .items,
        vec![i2.clone(), i1.clone(), i4.clone()]
    );
    assert_eq!(
        query(store, by(Index::Gsi1, "BROKER#b").sk(prefix("2024-")))
            .await
            .items,
        vec![i1.clone(), i2.clone()]
    );
    assert_eq!(
        query(
            store,
            by(Index::Gsi1, "BROKER#b").sk(between("2024-01-01", "2024-01-31"))
        )
        .await
        .items,
        vec![i1.clone()]
    );
    assert_eq!(
        query(
            store,
            by(Index::Gsi1, "BROKER#b")
                .sk(between("2023", "2024-01-05#LEAD#1"))
                .descending()
        )
        .await
        .items,
        vec![i1.clone(), i4.clone()]
    );
    assert_eq!(
        query(store, by(Index::Gsi1, "BROKER#c")).await.items,
        vec![i3.clone()]
    );
    assert_eq!(
        query(store, by(Index::Gsi2, "STATUS#new")).await.items,
        vec![i1.clone()]
    );
    assert_eq!(
        query(store, by(Index::Gsi3, "EMAIL#x@y")).await.items,
        vec![i2.clone()]
    );
    assert_eq!(
        query(store, by(Index::Gsi4, "PHONE#+1")).await.items,
        vec![i3.clone()]
    );
    // Index partitions are per index.
    for index in [Index::Gsi2, Index::Gsi3, Index::Gsi4] {
        assert!(
            query(store, by(index, "BROKER#b")).await.items.is_empty(),
            "{index:?}"
        );
    }
    assert!(
        query(store, by(Index::Gsi1, "STATUS#new"))
            .await
            .items
            .is_empty()
    );
    // The table query sees the decoy only.
    assert_eq!(
        query(store, Query::new(Table::Main, None, "BROKER#b"))
            .await
            .items,
        vec![decoy]
    );

    // The audit table has gsi1.
    let event = item("LEAD#1", "EVENT#0001", 1, "e").with_index(
        Index::Gsi1,
        "BROKER#b",
        "2024-01-05#EVENT#0001",
    );
    put_all(store, Table::Audit, std::slice::from_ref(&event)).await;
    assert_eq!(
        query(
            store,
            Query::new(Table::Audit, Some(Index::Gsi1), "BROKER#b")
        )
        .await
        .items,
        vec![event]
    );
    assert_eq!(
        query(store, by(Index::Gsi1, "BROKER#b")).await.items.len(),
        3,
        "main's index is apart"
    );
}

pub async fn indexes_follow_updates_and_deletes(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let a = item("A", "1", 1, "a").with_index(Index::Gsi2, "OPEN", "a");
    let b = item("B", "1", 1, "b").with_index(Index::Gsi2, "OPEN", "b");
    let c = item("C", "1", 1, "c").with_index(Index::Gsi2, "OPEN", "c");
    create_all(store, Table::Main, &[a.clone(), b.clone(), c.clone()]).await;
    let open = || Query::new(Table::Main, Some(Index::Gsi2), "OPEN");

    // Moving b to another partition of the index, giving a a new sort key, dropping c.
    let b2 = item("B", "1", 2, "b closed").with_index(Index::Gsi2, "CLOSED", "b");
    let a2 = item("A", "1", 2, "a later").with_index(Index::Gsi2, "OPEN", "z");
    store
        .transact(vec![
            put(Table::Main, b2.clone(), Condition::VersionIs(1)),
            put(Table::Main, a2.clone(), Condition::VersionIs(1)),
            delete(Table::Main, c.key.clone(), Condition::VersionIs(1)),
        ])
        .await
        .unwrap();
    assert_eq!(query(store, open()).await.items, vec![a2.clone()]);
    assert_eq!(
        query(store, Query::new(Table::Main, Some(Index::Gsi2), "CLOSED"))
            .await
            .items,
        vec![b2]
    );

    // A failed transaction leaves the index alone.
    let result = store
        .transact(vec![
            put(
                Table::Main,
                item("D", "1", 1, "d").with_index(Index::Gsi2, "OPEN", "d"),
                Condition::NotExists,
            ),
            delete(Table::Main, a2.key.clone(), Condition::VersionIs(1)),
        ])
        .await;
    assert_eq!(result, Err(StoreError::ConditionFailed { index: 1 }));
    assert_eq!(query(store, open()).await.items, vec![a2]);
}

pub async fn invalid_queries_are_refused(store: Arc<dyn Store>) {
    let store = store.as_ref();
    put_all(store, Table::Main, &[item("Q", "1", 1, "x")]).await;
    for (what, bad) in [
        ("limit 0", Query::new(Table::Main, None, "Q").limit(0)),
        ("limit 1001", Query::new(Table::Main, None, "Q").limit(1001)),
        ("an empty partition key", Query::new(Table::Main, None, "")),
        (
            "an empty index partition key",
            Query::new(Table::Main, Some(Index::Gsi1), ""),
        ),
    ] {
        let result = store.query(bad).await;
        assert!(
            matches!(result, Err(StoreError::Invalid(_))),
            "{what}: {result:?}"
        );
    }
    assert_eq!(
        query(store, Query::new(Table::Main, None, "Q").limit(1000))
            .await
            .items
            .len(),
        1
    );
    assert_eq!(
        query(store, Query::new(Table::Main, None, "Q").limit(1))
            .await
            .next,
        None
    );
}
