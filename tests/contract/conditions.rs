//! Conditional single-item writes.

use std::sync::Arc;

use brokeros_store::{Condition, Index, Query, Store, StoreError, Table};

use crate::common::*;

pub async fn create_if_absent(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let original =
        item("LEAD#1", "META", 1, r#"{"name":"first"}"#).with_index(Index::Gsi1, "G", "1");
    store
        .transact(vec![put(
            Table::Main,
            original.clone(),
            Condition::NotExists,
        )])
        .await
        .expect("the first create succeeds");
    assert_eq!(
        get(store, Table::Main, &original.key).await,
        Some(original.clone())
    );

    let second = item("LEAD#1", "META", 1, r#"{"name":"second"}"#);
    assert_eq!(
        store
            .transact(vec![put(Table::Main, second, Condition::NotExists)])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
    assert_eq!(
        get(store, Table::Main, &original.key).await,
        Some(original.clone()),
        "a refused create leaves the original untouched"
    );

    // The same key at position 2 of a transaction: reported as operation 2, nothing written.
    let result = store
        .transact(vec![
            put(
                Table::Main,
                item("LEAD#2", "META", 1, "b"),
                Condition::NotExists,
            ),
            put(
                Table::Main,
                item("LEAD#3", "META", 1, "c"),
                Condition::NotExists,
            ),
            put(
                Table::Main,
                item("LEAD#1", "META", 1, "again"),
                Condition::NotExists,
            ),
        ])
        .await;
    assert_eq!(result, Err(StoreError::ConditionFailed { index: 2 }));
    assert_eq!(get(store, Table::Main, &key("LEAD#2", "META")).await, None);
    assert_eq!(get(store, Table::Main, &key("LEAD#3", "META")).await, None);
    assert_eq!(
        get(store, Table::Main, &original.key).await,
        Some(original.clone())
    );

    // Same partition, other sort key: a different item.
    store
        .transact(vec![put(
            Table::Main,
            item("LEAD#1", "NOTE#1", 1, "n"),
            Condition::NotExists,
        )])
        .await
        .expect("another sort key is another item");

    // After a delete the key is free again.
    store
        .transact(vec![delete(
            Table::Main,
            original.key.clone(),
            Condition::Exists,
        )])
        .await
        .expect("delete");
    store
        .transact(vec![put(
            Table::Main,
            item("LEAD#1", "META", 1, "reborn"),
            Condition::NotExists,
        )])
        .await
        .expect("create after delete");
    assert_eq!(
        get(store, Table::Main, &original.key).await.unwrap().data,
        "reborn"
    );
}

pub async fn optimistic_concurrency(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let k = key("ACCOUNT#1", "META");
    create_all(store, Table::Main, &[item("ACCOUNT#1", "META", 1, "v1")]).await;

    store
        .transact(vec![put(
            Table::Main,
            item("ACCOUNT#1", "META", 2, "v2"),
            Condition::VersionIs(1),
        )])
        .await
        .expect("the right version wins");
    let current = get(store, Table::Main, &k).await.unwrap();
    assert_eq!((current.version, current.data.as_str()), (2, "v2"));

    // A writer still holding version 1 loses and changes nothing.
    assert_eq!(
        store
            .transact(vec![put(
                Table::Main,
                item("ACCOUNT#1", "META", 2, "stale"),
                Condition::VersionIs(1)
            )])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
    // So does one that guesses a version ahead.
    assert_eq!(
        store
            .transact(vec![put(
                Table::Main,
                item("ACCOUNT#1", "META", 4, "ahead"),
                Condition::VersionIs(3)
            )])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
    let current = get(store, Table::Main, &k).await.unwrap();
    assert_eq!((current.version, current.data.as_str()), (2, "v2"));

    // Two readers of version 2: the first write wins, the second is refused.
    let reader_a = get(store, Table::Main, &k).await.unwrap();
    let reader_b = get(store, Table::Main, &k).await.unwrap();
    let mut next_a = reader_a.clone();
    next_a.version = reader_a.version + 1;
    next_a.data = "from a".into();
    let mut next_b = reader_b.clone();
    next_b.version = reader_b.version + 1;
    next_b.data = "from b".into();
    store
        .transact(vec![put(
            Table::Main,
            next_a,
            Condition::VersionIs(reader_a.version),
        )])
        .await
        .expect("first writer");
    assert_eq!(
        store
            .transact(vec![put(
                Table::Main,
                next_b,
                Condition::VersionIs(reader_b.version)
            )])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
    let current = get(store, Table::Main, &k).await.unwrap();
    assert_eq!((current.version, current.data.as_str()), (3, "from a"));

    // VersionIs never holds for a missing item, for puts and deletes alike.
    assert_eq!(
        store
            .transact(vec![put(
                Table::Main,
                item("ACCOUNT#9", "META", 2, "x"),
                Condition::VersionIs(1)
            )])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
    assert_eq!(
        get(store, Table::Main, &key("ACCOUNT#9", "META")).await,
        None
    );

    // Versioned deletes.
    assert_eq!(
        store
            .transact(vec![delete(
                Table::Main,
                k.clone(),
                Condition::VersionIs(2)
            )])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
    assert!(get(store, Table::Main, &k).await.is_some());
    store
        .transact(vec![delete(
            Table::Main,
            k.clone(),
            Condition::VersionIs(3),
        )])
        .await
        .expect("delete at the right version");
    assert_eq!(get(store, Table::Main, &k).await, None);
    assert_eq!(
        store
            .transact(vec![delete(
                Table::Main,
                k.clone(),
                Condition::VersionIs(3)
            )])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
}

pub async fn exists_and_check_conditions(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let existing = item("E", "1", 5, "existing");
    create_all(store, Table::Main, std::slice::from_ref(&existing)).await;
    let missing = key("M", "1");

    // Exists on a missing item: puts and deletes fail and create nothing.
    assert_eq!(
        store
            .transact(vec![put(
                Table::Main,
                item("M", "1", 1, "x"),
                Condition::Exists
            )])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
    assert_eq!(get(store, Table::Main, &missing).await, None);
    assert_eq!(
        store
            .transact(vec![delete(
                Table::Main,
                missing.clone(),
                Condition::Exists
            )])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );

    // Exists on an existing item: the put replaces it.
    store
        .transact(vec![put(
            Table::Main,
            item("E", "1", 6, "updated"),
            Condition::Exists,
        )])
        .await
        .expect("put if exists");
    assert_eq!(
        get(store, Table::Main, &existing.key).await.unwrap().data,
        "updated"
    );

    // Checks write nothing, and fail the transaction at their position.
    let ok_ops = |condition| {
        vec![
            put(Table::Main, item("N", "1", 1, "n"), Condition::NotExists),
            check(Table::Main, existing.key.clone(), condition),
        ]
    };
    for failing in [
        Condition::NotExists,
        Condition::VersionIs(5),
        Condition::VersionIs(7),
    ] {
        assert_eq!(
            store.transact(ok_ops(failing)).await,
            Err(StoreError::ConditionFailed { index: 1 }),
            "check {failing:?} on an item at version 6"
        );
        assert_eq!(get(store, Table::Main, &key("N", "1")).await, None);
    }
    assert_eq!(
        store
            .transact(vec![
                check(Table::Main, missing.clone(), Condition::Exists),
                put(Table::Main, item("N", "1", 1, "n"), Condition::NotExists),
            ])
            .await,
        Err(StoreError::ConditionFailed { index: 0 })
    );
    assert_eq!(get(store, Table::Main, &key("N", "1")).await, None);

    store
        .transact(ok_ops(Condition::VersionIs(6)))
        .await
        .expect("check at the right version");
    let checked = get(store, Table::Main, &existing.key).await.unwrap();
    assert_eq!(
        (checked.version, checked.data.as_str()),
        (6, "updated"),
        "a check writes nothing"
    );
    assert_eq!(
        get(store, Table::Main, &key("N", "1")).await.unwrap().data,
        "n"
    );

    store
        .transact(vec![
            check(Table::Main, existing.key.clone(), Condition::Exists),
            check(Table::Main, missing.clone(), Condition::NotExists),
            check(Table::Main, key("M", "2"), Condition::Always),
            put(Table::Main, item("N", "2", 1, "n2"), Condition::NotExists),
        ])
        .await
        .expect("passing checks");
    assert_eq!(
        get(store, Table::Main, &missing).await,
        None,
        "a check creates nothing"
    );
    assert_eq!(
        get(store, Table::Main, &key("M", "2")).await,
        None,
        "a check creates nothing"
    );
    assert_eq!(
        get(store, Table::Main, &key("N", "2")).await.unwrap().data,
        "n2"
    );
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 3);
}

pub async fn always_writes_unconditionally(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let k = key("A", "1");
    store
        .transact(vec![put(
            Table::Main,
            item("A", "1", 1, "one"),
            Condition::Always,
        )])
        .await
        .expect("put on a missing item");
    // The caller's version is stored as given, even going down.
    store
        .transact(vec![put(
            Table::Main,
            item("A", "1", 9, "nine"),
            Condition::Always,
        )])
        .await
        .expect("put over an item");
    assert_eq!(get(store, Table::Main, &k).await.unwrap().version, 9);
    store
        .transact(vec![put(
            Table::Main,
            item("A", "1", 4, "four"),
            Condition::Always,
        )])
        .await
        .expect("put over an item");
    let current = get(store, Table::Main, &k).await.unwrap();
    assert_eq!((current.version, current.data.as_str()), (4, "four"));

    store
        .transact(vec![delete(Table::Main, k.clone(), Condition::Always)])
        .await
        .expect("delete");
    assert_eq!(get(store, Table::Main, &k).await, None);
    store
        .transact(vec![delete(Table::Main, k.clone(), Condition::Always)])
        .await
        .expect("deleting a missing item is a no-op");
    store
        .transact(vec![delete(
            Table::Main,
            key("never", "was"),
            Condition::NotExists,
        )])
        .await
        .expect("deleting a missing item on NotExists is a no-op");
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 0);
}

pub async fn put_replaces_the_whole_item(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let full = item("P", "1", 1, "full")
        .with_index(Index::Gsi1, "G1", "a")
        .with_index(Index::Gsi3, "G3", "c")
        .expiring_at(future());
    create_all(store, Table::Main, std::slice::from_ref(&full)).await;
    assert_eq!(get(store, Table::Main, &full.key).await, Some(full.clone()));
    assert_eq!(
        query(store, Query::new(Table::Main, Some(Index::Gsi1), "G1"))
            .await
            .items,
        vec![full.clone()]
    );

    // The replacement keeps one index, moves it, and drops the expiry.
    let replacement = item("P", "1", 2, "plain").with_index(Index::Gsi3, "G3", "d");
    store
        .transact(vec![put(
            Table::Main,
            replacement.clone(),
            Condition::VersionIs(1),
        )])
        .await
        .expect("replace");
    let stored = get(store, Table::Main, &full.key).await.unwrap();
    assert_eq!(stored, replacement);
    assert_eq!(stored.expires_at, None);
    assert!(
        query(store, Query::new(Table::Main, Some(Index::Gsi1), "G1"))
            .await
            .items
            .is_empty()
    );
    assert_eq!(
        query(store, Query::new(Table::Main, Some(Index::Gsi3), "G3"))
            .await
            .items,
        vec![replacement]
    );
}
