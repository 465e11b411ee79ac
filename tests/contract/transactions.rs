//! Multi-item transactions: all or nothing, one request.

use std::sync::Arc;

use brokeros_store::{
    Condition, Index, Item, MAX_ITEM_DATA_BYTES, MAX_TRANSACTION_OPS, Query, Store, StoreError,
    Table, WriteOp,
};

use crate::common::*;

/// Everything a store holds in the given partitions, for before/after comparisons.
async fn snapshot(store: &dyn Store, partitions: &[(Table, &str)]) -> Vec<Vec<Item>> {
    let mut all = Vec::new();
    for (table, pk) in partitions {
        all.push(
            query(store, Query::new(*table, None, *pk).limit(1000))
                .await
                .items,
        );
    }
    all
}

pub async fn a_failed_condition_aborts_the_whole_transaction(store: Arc<dyn Store>) {
    let store = store.as_ref();
    create_all(
        store,
        Table::Main,
        &[
            item("T", "existing#1", 1, "e1"),
            item("T", "existing#2", 1, "e2").with_index(Index::Gsi2, "G", "e2"),
        ],
    )
    .await;
    let before = snapshot(store, &[(Table::Main, "T"), (Table::Audit, "T")]).await;

    let ops = vec![
        put(
            Table::Main,
            item("T", "new#1", 1, "n1"),
            Condition::NotExists,
        ),
        put(
            Table::Main,
            item("T", "existing#1", 2, "e1 v2"),
            Condition::VersionIs(1),
        ),
        delete(Table::Main, key("T", "existing#2"), Condition::Always),
        put(
            Table::Audit,
            item("T", "event#1", 1, "audit"),
            Condition::NotExists,
        ),
        put(
            Table::Main,
            item("T", "missing", 6, "x"),
            Condition::VersionIs(5),
        ),
        put(
            Table::Main,
            item("T", "new#2", 1, "n2").with_index(Index::Gsi2, "G", "n2"),
            Condition::NotExists,
        ),
        delete(Table::Main, key("T", "existing#1x"), Condition::Always),
    ];
    assert_eq!(
        store.transact(ops.clone()).await,
        Err(StoreError::ConditionFailed { index: 4 })
    );
    assert_eq!(
        snapshot(store, &[(Table::Main, "T"), (Table::Audit, "T")]).await,
        before,
        "nothing from the operations before or after the failing one was written"
    );
    assert_eq!(
        keys_of(
            &query(store, Query::new(Table::Main, Some(Index::Gsi2), "G"))
                .await
                .items
        ),
        vec![key("T", "existing#2")]
    );
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 2);
    assert_eq!(store.count_items(Table::Audit).await.unwrap(), 0);

    // Without the failing operation the rest applies as a whole.
    let mut passing = ops;
    passing.remove(4);
    store
        .transact(passing)
        .await
        .expect("the transaction without its failing operation");
    let main = query(store, Query::new(Table::Main, None, "T")).await.items;
    assert_eq!(sort_keys(&main), ["existing#1", "new#1", "new#2"]);
    assert_eq!((main[0].version, main[0].data.as_str()), (2, "e1 v2"));
    assert_eq!(
        get(store, Table::Audit, &key("T", "event#1"))
            .await
            .unwrap()
            .data,
        "audit"
    );
    assert_eq!(
        keys_of(
            &query(store, Query::new(Table::Main, Some(Index::Gsi2), "G"))
                .await
                .items
        ),
        vec![key("T", "new#2")]
    );
}

pub async fn the_failing_operation_is_reported_by_position(store: Arc<dyn Store>) {
    let store = store.as_ref();
    create_all(store, Table::Main, &[item("X", "taken", 3, "taken")]).await;
    let failing_kinds: [fn() -> WriteOp; 4] = [
        || {
            put(
                Table::Main,
                item("X", "taken", 1, "dup"),
                Condition::NotExists,
            )
        },
        || {
            put(
                Table::Main,
                item("X", "taken", 9, "wrong"),
                Condition::VersionIs(8),
            )
        },
        || delete(Table::Main, key("X", "absent"), Condition::Exists),
        || check(Table::Main, key("X", "taken"), Condition::VersionIs(2)),
    ];
    for (kind, failing) in failing_kinds.iter().enumerate() {
        for position in [0, 1, 5, 9] {
            let mut ops: Vec<WriteOp> = (0..9)
                .map(|i| {
                    put(
                        Table::Main,
                        item("X", &format!("new#{kind}#{position}#{i}"), 1, "n"),
                        Condition::NotExists,
                    )
                })
                .collect();
            ops.insert(position, failing());
            assert_eq!(
                store.transact(ops).await,
                Err(StoreError::ConditionFailed { index: position }),
                "failing operation kind {kind} at position {position}"
            );
        }
    }
    // Two failing operations: the first is reported.
    let result = store
        .transact(vec![
            put(Table::Main, item("X", "a", 1, "a"), Condition::NotExists),
            put(
                Table::Main,
                item("X", "taken", 1, "dup"),
                Condition::NotExists,
            ),
            delete(Table::Main, key("X", "absent"), Condition::Exists),
        ])
        .await;
    assert_eq!(result, Err(StoreError::ConditionFailed { index: 1 }));
    assert_eq!(
        store.count_items(Table::Main).await.unwrap(),
        1,
        "no failed transaction wrote anything"
    );
}

pub async fn a_transaction_spans_both_tables(store: Arc<dyn Store>) {
    let store = store.as_ref();
    // The same key in both tables is two items, so one transaction may touch both.
    store
        .transact(vec![
            put(Table::Main, item("S", "1", 1, "main"), Condition::NotExists),
            put(
                Table::Audit,
                item("S", "1", 1, "audit").with_index(Index::Gsi1, "A", "1"),
                Condition::NotExists,
            ),
        ])
        .await
        .expect("the same key in both tables");
    assert_eq!(
        get(store, Table::Main, &key("S", "1")).await.unwrap().data,
        "main"
    );
    assert_eq!(
        get(store, Table::Audit, &key("S", "1")).await.unwrap().data,
        "audit"
    );
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 1);
    assert_eq!(store.count_items(Table::Audit).await.unwrap(), 1);

    // A failing audit write undoes the main write and the other way round.
    assert_eq!(
        store
            .transact(vec![
                put(Table::Main, item("S", "2", 1, "main"), Condition::NotExists),
                put(
                    Table::Audit,
                    item("S", "1", 1, "again"),
                    Condition::NotExists
                ),
            ])
            .await,
        Err(StoreError::ConditionFailed { index: 1 })
    );
    assert_eq!(
        store
            .transact(vec![
                put(
                    Table::Audit,
                    item("S", "2", 1, "audit"),
                    Condition::NotExists
                ),
                check(Table::Main, key("S", "1"), Condition::VersionIs(2)),
            ])
            .await,
        Err(StoreError::ConditionFailed { index: 1 })
    );
    assert_eq!(get(store, Table::Main, &key("S", "2")).await, None);
    assert_eq!(get(store, Table::Audit, &key("S", "2")).await, None);
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 1);
    assert_eq!(store.count_items(Table::Audit).await.unwrap(), 1);
}

pub async fn transaction_limits_are_enforced(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let invalid = |result: Result<(), StoreError>, what: &str| {
        assert!(
            matches!(result, Err(StoreError::Invalid(_))),
            "{what}: expected Invalid, got {result:?}"
        );
    };

    invalid(store.transact(vec![]).await, "an empty transaction");
    invalid(
        store
            .transact(vec![
                put(Table::Main, item("D", "1", 1, "a"), Condition::Always),
                put(Table::Main, item("D", "1", 1, "b"), Condition::Always),
            ])
            .await,
        "the same item twice",
    );
    invalid(
        store
            .transact(vec![
                put(Table::Main, item("D", "1", 1, "a"), Condition::NotExists),
                put(Table::Main, item("D", "2", 1, "b"), Condition::NotExists),
                check(Table::Main, key("D", "1"), Condition::NotExists),
            ])
            .await,
        "a put and a check of the same item",
    );
    invalid(
        store
            .transact(vec![put(
                Table::Main,
                item("D", "", 1, "a"),
                Condition::Always,
            )])
            .await,
        "an empty sort key",
    );
    invalid(
        store
            .transact(vec![put(
                Table::Main,
                item("D", "1", 1, "a").with_index(Index::Gsi1, "", "x"),
                Condition::Always,
            )])
            .await,
        "an empty index key",
    );
    invalid(
        store
            .transact(vec![put(
                Table::Main,
                item("D", "1", 1, &"x".repeat(MAX_ITEM_DATA_BYTES + 1)),
                Condition::Always,
            )])
            .await,
        "too much data",
    );
    let too_many: Vec<WriteOp> = (0..=MAX_TRANSACTION_OPS)
        .map(|i| {
            put(
                Table::Main,
                item("D", &format!("{i:03}"), 1, "x"),
                Condition::NotExists,
            )
        })
        .collect();
    assert_eq!(too_many.len(), 101);
    invalid(store.transact(too_many.clone()).await, "101 operations");
    assert_eq!(
        store.count_items(Table::Main).await.unwrap(),
        0,
        "refused transactions wrote nothing"
    );

    // The largest transaction is fine, and so is the largest item.
    let mut largest = too_many;
    largest.pop();
    store.transact(largest).await.expect("100 operations");
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 100);
    let big = item("D", "big", 1, &"é".repeat(MAX_ITEM_DATA_BYTES / 2));
    store
        .transact(vec![put(Table::Main, big.clone(), Condition::NotExists)])
        .await
        .expect("an item of the largest size");
    assert_eq!(get(store, Table::Main, &big.key).await, Some(big));
}

/// Limits DynamoDB enforces hold on every engine: a 4 MB transaction, key sizes, and index keys
/// only of indexes the table has.
pub async fn engine_limits_are_the_same_everywhere(store: Arc<dyn Store>) {
    let big = "x".repeat(300 * 1024);
    let ops: Vec<WriteOp> = (0..14)
        .map(|n| {
            put(
                Table::Main,
                item("BIG", &format!("{n:02}"), 1, &big),
                Condition::NotExists,
            )
        })
        .collect();
    assert!(matches!(
        store.transact(ops).await,
        Err(StoreError::Invalid(_))
    ));
    let long_pk = "p".repeat(2049);
    let r = store
        .transact(vec![put(
            Table::Main,
            item(&long_pk, "s", 1, "d"),
            Condition::Always,
        )])
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))));
    let long_sk = "s".repeat(1025);
    let r = store
        .transact(vec![put(
            Table::Main,
            item("p", &long_sk, 1, "d"),
            Condition::Always,
        )])
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))));
    let audit_with_gsi2 = item("A", "1", 1, "d").with_index(brokeros_store::Index::Gsi2, "x", "y");
    let r = store
        .transact(vec![put(Table::Audit, audit_with_gsi2, Condition::Always)])
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))));
    let q = brokeros_store::Query::new(Table::Audit, Some(brokeros_store::Index::Gsi3), "x");
    assert!(matches!(store.query(q).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 0);
    assert_eq!(store.count_items(Table::Audit).await.unwrap(), 0);
}
