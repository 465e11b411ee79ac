//! Point reads, batch reads and counting.

use std::sync::Arc;

use brokeros_store::{Condition, Index, Key, Query, Store, StoreError, Table};

use crate::common::*;

pub async fn items_round_trip_exactly(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let items = vec![
        item("R", "empty", 1, ""),
        item(
            "R",
            "json",
            7,
            "{ \"spaced\" : [1, 2.50, null],\n\t\"k\": \"v\" }",
        ),
        item(
            "R",
            "unicode ✓ 名前",
            1,
            "emoji 🚀, quotes \" ' \\ and NUL-free control \u{1}",
        ),
        item("R", "all", u64::from(u32::MAX) + 5, "x")
            .with_index(Index::Gsi1, "G1#ü", "s1")
            .with_index(Index::Gsi2, "G2", "s2")
            .with_index(Index::Gsi3, "G3", "s3")
            .with_index(Index::Gsi4, "G4", "s4")
            .expiring_at(future()),
        item("R#with#hashes", "a/b:c d", 1, "not json at all"),
    ];
    put_all(store, Table::Main, &items).await;
    for expected in &items {
        assert_eq!(
            get(store, Table::Main, &expected.key).await.as_ref(),
            Some(expected)
        );
    }
    let found = store.get_many(Table::Main, &keys_of(&items)).await.unwrap();
    assert_eq!(found, items.iter().cloned().map(Some).collect::<Vec<_>>());
    let partition = query(store, Query::new(Table::Main, None, "R")).await.items;
    let mut expected: Vec<_> = items.iter().filter(|i| i.key.pk == "R").cloned().collect();
    expected.sort_by(|a, b| a.key.sk.cmp(&b.key.sk));
    assert_eq!(
        partition, expected,
        "queries return whole items in sort key order"
    );
    for (index, pk) in [
        (Index::Gsi1, "G1#ü"),
        (Index::Gsi2, "G2"),
        (Index::Gsi3, "G3"),
        (Index::Gsi4, "G4"),
    ] {
        assert_eq!(
            query(store, Query::new(Table::Main, Some(index), pk))
                .await
                .items,
            vec![items[3].clone()],
            "index {} returns the whole item",
            index.name()
        );
    }
}

pub async fn get_many_answers_in_the_order_asked(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let items: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, sk)| item("M", sk, i as u64 + 1, &format!("data {sk}")))
        .collect();
    put_all(store, Table::Main, &items).await;

    let asked = vec![
        key("M", "d"),
        key("M", "missing"),
        key("M", "a"),
        key("other", "a"),
        key("M", "c"),
        key("M", "a"),
        key("M", "b"),
    ];
    let found = store.get_many(Table::Main, &asked).await.unwrap();
    assert_eq!(found.len(), asked.len());
    for (asked, found) in asked.iter().zip(&found) {
        let expected = items.iter().find(|i| &i.key == asked).cloned();
        assert_eq!(found, &expected, "get_many of {asked:?}");
    }
    assert_eq!(found[0].as_ref().unwrap().data, "data d");
    assert_eq!(found[5].as_ref().unwrap().version, 1);

    assert_eq!(store.get_many(Table::Main, &[]).await.unwrap(), vec![]);
    // Empty keys name no item (no write can make one).
    assert_eq!(get(store, Table::Main, &key("", "a")).await, None);
    assert_eq!(get(store, Table::Main, &key("M", "")).await, None);
    assert_eq!(
        store
            .get_many(Table::Main, &[key("M", ""), key("M", "a"), key("", "")])
            .await
            .unwrap(),
        vec![None, Some(items[0].clone()), None]
    );
    assert_eq!(
        store
            .get_many(Table::Audit, &keys_of(&items))
            .await
            .unwrap(),
        vec![None; 4]
    );

    // A full batch of 100 keys, most missing.
    let mut hundred: Vec<Key> = (0..96).map(|i| key("M", &format!("none#{i}"))).collect();
    hundred.splice(40..40, keys_of(&items));
    let found = store.get_many(Table::Main, &hundred).await.unwrap();
    assert_eq!(found.len(), 100);
    assert_eq!(found.iter().flatten().cloned().collect::<Vec<_>>(), items);
    assert!(found[40..44].iter().all(Option::is_some));

    let too_many: Vec<Key> = (0..101).map(|i| key("M", &format!("k{i}"))).collect();
    assert!(
        matches!(
            store.get_many(Table::Main, &too_many).await,
            Err(StoreError::Invalid(_))
        ),
        "more than 100 keys are refused"
    );
}

pub async fn tables_are_separate(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let main = item("K", "1", 1, "main").with_index(Index::Gsi1, "G", "1");
    let audit = item("K", "1", 1, "audit").with_index(Index::Gsi1, "G", "2");
    create_all(store, Table::Main, std::slice::from_ref(&main)).await;
    assert_eq!(get(store, Table::Audit, &main.key).await, None);
    create_all(store, Table::Audit, std::slice::from_ref(&audit)).await;
    assert_eq!(get(store, Table::Main, &main.key).await, Some(main.clone()));
    assert_eq!(
        get(store, Table::Audit, &main.key).await,
        Some(audit.clone())
    );
    assert_eq!(
        query(store, Query::new(Table::Main, None, "K")).await.items,
        vec![main.clone()]
    );
    assert_eq!(
        query(store, Query::new(Table::Audit, None, "K"))
            .await
            .items,
        vec![audit.clone()]
    );
    assert_eq!(
        query(store, Query::new(Table::Main, Some(Index::Gsi1), "G"))
            .await
            .items,
        vec![main.clone()]
    );
    assert_eq!(
        query(store, Query::new(Table::Audit, Some(Index::Gsi1), "G"))
            .await
            .items,
        vec![audit.clone()]
    );
    store
        .transact(vec![delete(
            Table::Audit,
            audit.key.clone(),
            Condition::Exists,
        )])
        .await
        .unwrap();
    assert_eq!(get(store, Table::Main, &main.key).await, Some(main));
    assert_eq!(get(store, Table::Audit, &audit.key).await, None);
}

pub async fn count_items_counts_each_table(store: Arc<dyn Store>) {
    let store = store.as_ref();
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 0);
    assert_eq!(store.count_items(Table::Audit).await.unwrap(), 0);
    let main: Vec<_> = (0..7)
        .map(|i| item(&format!("P{}", i % 3), &i.to_string(), 1, "m"))
        .collect();
    put_all(store, Table::Main, &main).await;
    put_all(
        store,
        Table::Audit,
        &[item("E", "1", 1, "a"), item("E", "2", 1, "a")],
    )
    .await;
    // Dead items still count: counting reads the table, live or not.
    put_all(
        store,
        Table::Main,
        &[item("dead", "1", 1, "x").expiring_at(past())],
    )
    .await;
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 8);
    assert_eq!(store.count_items(Table::Audit).await.unwrap(), 2);
    store
        .transact(vec![
            delete(Table::Main, key("P0", "0"), Condition::Exists),
            delete(Table::Audit, key("E", "2"), Condition::Exists),
        ])
        .await
        .unwrap();
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 7);
    assert_eq!(store.count_items(Table::Audit).await.unwrap(), 1);
}
