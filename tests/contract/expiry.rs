//! Items past `expires_at` are dead: invisible to reads, absent for conditions.

use std::sync::Arc;

use brokeros_store::{Condition, Index, Item, Query, Store, StoreError, Table, unix_now};

use crate::common::*;

pub async fn expired_items_are_invisible(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let live = item("X", "live", 1, "l").with_index(Index::Gsi1, "G", "live");
    let later = item("X", "later", 1, "l")
        .with_index(Index::Gsi1, "G", "later")
        .expiring_at(future());
    let dead = item("X", "dead", 1, "d")
        .with_index(Index::Gsi1, "G", "dead")
        .expiring_at(past());
    let just_dead = item("X", "just", 1, "d")
        .with_index(Index::Gsi1, "G", "just")
        .expiring_at(unix_now() - 1);
    put_all(
        store,
        Table::Main,
        &[live.clone(), later.clone(), dead.clone(), just_dead.clone()],
    )
    .await;
    put_all(store, Table::Audit, std::slice::from_ref(&dead)).await;

    assert_eq!(get(store, Table::Main, &live.key).await, Some(live.clone()));
    assert_eq!(
        get(store, Table::Main, &later.key).await,
        Some(later.clone())
    );
    assert_eq!(get(store, Table::Main, &dead.key).await, None);
    assert_eq!(get(store, Table::Main, &just_dead.key).await, None);
    assert_eq!(get(store, Table::Audit, &dead.key).await, None);
    assert_eq!(
        store
            .get_many(
                Table::Main,
                &keys_of(&[dead.clone(), live.clone(), just_dead.clone(), later.clone()])
            )
            .await
            .unwrap(),
        vec![None, Some(live.clone()), None, Some(later.clone())]
    );
    assert_eq!(
        query(store, Query::new(Table::Main, None, "X")).await.items,
        vec![later.clone(), live.clone()]
    );
    assert_eq!(
        query(store, Query::new(Table::Main, None, "X").descending())
            .await
            .items,
        vec![live.clone(), later.clone()]
    );
    assert_eq!(
        query(store, Query::new(Table::Main, Some(Index::Gsi1), "G"))
            .await
            .items,
        vec![later.clone(), live.clone()]
    );
    assert!(
        query(store, Query::new(Table::Audit, None, "X"))
            .await
            .items
            .is_empty()
    );
    assert_eq!(
        store.count_items(Table::Main).await.unwrap(),
        4,
        "dead items still count until deleted"
    );
}

pub async fn expired_items_do_not_block_creation(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let dead = item("C", "1", 7, "old")
        .with_index(Index::Gsi2, "G", "old")
        .expiring_at(past());
    put_all(store, Table::Main, std::slice::from_ref(&dead)).await;

    let reborn = item("C", "1", 1, "new");
    store
        .transact(vec![put(Table::Main, reborn.clone(), Condition::NotExists)])
        .await
        .expect("NotExists holds over a dead item");
    assert_eq!(
        get(store, Table::Main, &dead.key).await,
        Some(reborn),
        "the new item replaced the dead one whole"
    );
    assert!(
        query(store, Query::new(Table::Main, Some(Index::Gsi2), "G"))
            .await
            .items
            .is_empty()
    );

    // A check and a delete on NotExists hold for a dead item too.
    put_all(
        store,
        Table::Main,
        &[item("C", "2", 3, "old").expiring_at(past())],
    )
    .await;
    store
        .transact(vec![
            check(Table::Main, key("C", "2"), Condition::NotExists),
            put(Table::Main, item("C", "3", 1, "n"), Condition::NotExists),
        ])
        .await
        .expect("check NotExists on a dead item");
    store
        .transact(vec![delete(
            Table::Main,
            key("C", "2"),
            Condition::NotExists,
        )])
        .await
        .expect("delete NotExists on a dead item");
    assert_eq!(
        get(store, Table::Main, &key("C", "3")).await.unwrap().data,
        "n"
    );
}

pub async fn expired_items_fail_conditions_on_live_items(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let dead = item("V", "1", 3, "old").expiring_at(past());
    put_all(store, Table::Main, std::slice::from_ref(&dead)).await;
    let k = dead.key.clone();

    for (what, op) in [
        (
            "put VersionIs",
            put(Table::Main, item("V", "1", 4, "x"), Condition::VersionIs(3)),
        ),
        (
            "put Exists",
            put(Table::Main, item("V", "1", 4, "x"), Condition::Exists),
        ),
        (
            "delete VersionIs",
            delete(Table::Main, k.clone(), Condition::VersionIs(3)),
        ),
        (
            "delete Exists",
            delete(Table::Main, k.clone(), Condition::Exists),
        ),
        (
            "check VersionIs",
            check(Table::Main, k.clone(), Condition::VersionIs(3)),
        ),
        (
            "check Exists",
            check(Table::Main, k.clone(), Condition::Exists),
        ),
    ] {
        let ops = vec![
            put(
                Table::Main,
                item("V", "other", 1, "o"),
                Condition::NotExists,
            ),
            op,
        ];
        assert_eq!(
            store.transact(ops).await,
            Err(StoreError::ConditionFailed { index: 1 }),
            "{what} on a dead item"
        );
    }
    assert_eq!(get(store, Table::Main, &key("V", "other")).await, None);
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 1);

    // An unconditional put brings the key back to life, with a later expiry.
    let revived = item("V", "1", 4, "revived").expiring_at(future());
    store
        .transact(vec![put(Table::Main, revived.clone(), Condition::Always)])
        .await
        .unwrap();
    assert_eq!(get(store, Table::Main, &k).await, Some(revived));
    store
        .transact(vec![put(
            Table::Main,
            item("V", "1", 5, "live"),
            Condition::VersionIs(4),
        )])
        .await
        .expect("VersionIs on the revived item");
}

pub async fn pages_skip_expired_items(store: Arc<dyn Store>) {
    let store = store.as_ref();
    // Every odd item is dead.
    let items: Vec<Item> = (0..20)
        .map(|i| {
            let it = item("P", &format!("{i:02}"), 1, "x").with_index(
                Index::Gsi2,
                "G",
                format!("{:02}", 19 - i),
            );
            if i % 2 == 1 {
                it.expiring_at(past())
            } else {
                it
            }
        })
        .collect();
    put_all(store, Table::Main, &items).await;
    let live: Vec<Item> = items
        .iter()
        .filter(|i| i.expires_at.is_none())
        .cloned()
        .collect();

    let pages = all_pages(store, Query::new(Table::Main, None, "P").limit(3)).await;
    let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, [3, 3, 3, 1], "pages count live items only");
    assert_eq!(
        pages.into_iter().flat_map(|p| p.items).collect::<Vec<_>>(),
        live
    );

    let pages = all_pages(
        store,
        Query::new(Table::Main, Some(Index::Gsi2), "G").limit(4),
    )
    .await;
    let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, [4, 4, 2]);
    let mut live_by_index = live.clone();
    live_by_index.reverse();
    assert_eq!(
        pages.into_iter().flat_map(|p| p.items).collect::<Vec<_>>(),
        live_by_index
    );

    // Exactly `limit` live items followed only by dead ones: one page, no cursor.
    let tail: Vec<Item> = (0..13)
        .map(|i| {
            let it = item("T", &format!("{i:02}"), 1, "x");
            if i < 3 { it } else { it.expiring_at(past()) }
        })
        .collect();
    put_all(store, Table::Main, &tail).await;
    let page = query(store, Query::new(Table::Main, None, "T").limit(3)).await;
    assert_eq!(page.items, tail[..3].to_vec());
    assert_eq!(page.next, None, "no live item follows, so no cursor");

    // Dead items before the live ones, read one at a time.
    let head: Vec<Item> = (0..12)
        .map(|i| {
            let it = item("H", &format!("{i:02}"), 1, "x");
            if i < 10 { it.expiring_at(past()) } else { it }
        })
        .collect();
    put_all(store, Table::Main, &head).await;
    let pages = all_pages(store, Query::new(Table::Main, None, "H").limit(1)).await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].items, vec![head[10].clone()]);
    assert_eq!(pages[1].items, vec![head[11].clone()]);

    // Nothing but dead items.
    put_all(
        store,
        Table::Main,
        &[item("Z", "1", 1, "x").expiring_at(past())],
    )
    .await;
    let page = query(store, Query::new(Table::Main, None, "Z").limit(1)).await;
    assert!(page.items.is_empty());
    assert_eq!(page.next, None);
}
