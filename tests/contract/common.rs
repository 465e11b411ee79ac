//! Small helpers shared by the scenarios.

use brokeros_store::{Condition, Index, Item, Key, Page, Query, Store, Table, WriteOp, unix_now};

pub fn key(pk: &str, sk: &str) -> Key {
    Key::new(pk, sk)
}

pub fn item(pk: &str, sk: &str, version: u64, data: &str) -> Item {
    Item::new(key(pk, sk), version, data)
}

pub fn put(table: Table, item: Item, condition: Condition) -> WriteOp {
    WriteOp::Put {
        table,
        item,
        condition,
    }
}

pub fn delete(table: Table, key: Key, condition: Condition) -> WriteOp {
    WriteOp::Delete {
        table,
        key,
        condition,
    }
}

pub fn check(table: Table, key: Key, condition: Condition) -> WriteOp {
    WriteOp::Check {
        table,
        key,
        condition,
    }
}

/// Creates each item (condition `NotExists`), one transaction per item.
pub async fn create_all(store: &dyn Store, table: Table, items: &[Item]) {
    for item in items {
        store
            .transact(vec![put(table, item.clone(), Condition::NotExists)])
            .await
            .unwrap_or_else(|e| panic!("creating {:?} failed: {e}", item.key));
    }
}

/// Writes the items in transactions of up to 100 (condition `Always`).
pub async fn put_all(store: &dyn Store, table: Table, items: &[Item]) {
    for chunk in items.chunks(100) {
        let ops = chunk
            .iter()
            .map(|item| put(table, item.clone(), Condition::Always))
            .collect();
        store.transact(ops).await.expect("writing items failed");
    }
}

pub async fn get(store: &dyn Store, table: Table, key: &Key) -> Option<Item> {
    store.get(table, key).await.expect("get failed")
}

pub async fn query(store: &dyn Store, query: Query) -> Page {
    let described = format!("{query:?}");
    store
        .query(query)
        .await
        .unwrap_or_else(|e| panic!("query {described} failed: {e}"))
}

/// Every page of `query` (which must have no cursor), checking that only the last page lacks
/// a cursor and that no page is empty unless it is the only one.
pub async fn all_pages(store: &dyn Store, query: Query) -> Vec<Page> {
    assert!(query.cursor.is_none());
    let mut pages: Vec<Page> = Vec::new();
    let mut cursor = None;
    loop {
        let page = self::query(store, query.clone().after(cursor)).await;
        assert!(
            page.items.len() <= query.limit as usize,
            "a page holds at most `limit` items"
        );
        assert!(
            !page.items.is_empty() || pages.is_empty(),
            "a cursor led to an empty page"
        );
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() <= 1000, "pagination does not end");
    }
}

pub fn keys_of(items: &[Item]) -> Vec<Key> {
    items.iter().map(|i| i.key.clone()).collect()
}

pub fn sort_keys(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.key.sk.as_str()).collect()
}

pub fn index_sort_keys(index: Index, items: &[Item]) -> Vec<&str> {
    items
        .iter()
        .map(|i| {
            i.indexes
                .get(&index)
                .expect("item is in the index")
                .sk
                .as_str()
        })
        .collect()
}

/// An `expires_at` in the past (the item is dead) and one well in the future.
pub fn past() -> i64 {
    unix_now() - 120
}

pub fn future() -> i64 {
    unix_now() + 3600
}
