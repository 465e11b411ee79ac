//! Pages and opaque cursors.

use std::sync::Arc;

use brokeros_store::{Condition, Index, Item, Page, Query, SortKeyRange, Store, StoreError, Table};

use crate::common::*;

fn sizes(pages: &[Page]) -> Vec<usize> {
    pages.iter().map(|p| p.items.len()).collect()
}

fn flatten(pages: Vec<Page>) -> Vec<Item> {
    pages.into_iter().flat_map(|p| p.items).collect()
}

fn reversed(items: &[Item]) -> Vec<Item> {
    items.iter().rev().cloned().collect()
}

/// `n` items in partition `pk` with sort keys `item#00`…, written in a scrambled order.
async fn numbered(store: &dyn Store, pk: &str, n: usize) -> Vec<Item> {
    let items: Vec<Item> = (0..n)
        .map(|i| item(pk, &format!("item#{i:02}"), 1, &format!("{pk} {i}")))
        .collect();
    let mut scrambled = items.clone();
    // 10007 is prime, so the order key differs for every item.
    scrambled
        .sort_by_key(|it| (it.key.sk["item#".len()..].parse::<usize>().unwrap() * 7919) % 10007);
    put_all(store, Table::Main, &scrambled).await;
    items
}

pub async fn pages_visit_every_item_once(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let items = numbered(store, "L", 25).await;
    // Neighbours inside the partition (outside the prefix) and in other partitions.
    put_all(
        store,
        Table::Main,
        &[
            item("L", "aaa", 1, "x"),
            item("L", "zzz", 1, "x"),
            item("L2", "item#00", 1, "x"),
        ],
    )
    .await;
    let in_prefix = || {
        Query::new(Table::Main, None, "L")
            .sk(SortKeyRange::Prefix("item#".into()))
            .limit(7)
    };

    let pages = all_pages(store, in_prefix()).await;
    assert_eq!(sizes(&pages), [7, 7, 7, 4]);
    assert_eq!(
        flatten(pages),
        items,
        "ascending pages visit every item once, in order"
    );

    let pages = all_pages(store, in_prefix().descending()).await;
    assert_eq!(sizes(&pages), [7, 7, 7, 4]);
    assert_eq!(
        flatten(pages),
        reversed(&items),
        "descending pages visit every item once, in order"
    );

    let pages = all_pages(store, Query::new(Table::Main, None, "L").limit(7)).await;
    assert_eq!(sizes(&pages), [7, 7, 7, 6]);
    let all = flatten(pages);
    assert_eq!(sort_keys(&all[..2]), ["aaa", "item#00"]);
    assert_eq!(sort_keys(&all[25..]), ["item#24", "zzz"]);

    let range = SortKeyRange::Between("item#05".into(), "item#19".into());
    let pages = all_pages(
        store,
        Query::new(Table::Main, None, "L")
            .sk(range.clone())
            .limit(4),
    )
    .await;
    assert_eq!(sizes(&pages), [4, 4, 4, 3]);
    assert_eq!(flatten(pages), items[5..20].to_vec());
    let pages = all_pages(
        store,
        Query::new(Table::Main, None, "L")
            .sk(range)
            .limit(4)
            .descending(),
    )
    .await;
    assert_eq!(flatten(pages), reversed(&items[5..20]));

    // Cursors hold no server state: the same cursor gives the same page again.
    let first = query(store, in_prefix()).await;
    let again = query(store, in_prefix().after(first.next.clone())).await;
    let once_more = query(store, in_prefix().after(first.next.clone())).await;
    assert_eq!(again, once_more);
    assert_eq!(again.items, items[7..14].to_vec());
    // A cursor may continue with another page size.
    let wider = query(store, in_prefix().limit(100).after(first.next)).await;
    assert_eq!(wider.items, items[7..].to_vec());
    assert_eq!(wider.next, None);
}

pub async fn an_exact_multiple_ends_without_a_cursor(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let items = numbered(store, "E", 21).await;
    let base = || Query::new(Table::Main, None, "E");

    let pages = all_pages(store, base().limit(7)).await;
    assert_eq!(
        sizes(&pages),
        [7, 7, 7],
        "the third page is the last and has no cursor"
    );
    assert!(pages[0].next.is_some() && pages[1].next.is_some() && pages[2].next.is_none());
    assert_eq!(flatten(pages), items);

    let pages = all_pages(store, base().limit(7).descending()).await;
    assert_eq!(sizes(&pages), [7, 7, 7]);
    assert_eq!(flatten(pages), reversed(&items));

    assert_eq!(sizes(&all_pages(store, base().limit(21)).await), [21]);
    assert_eq!(sizes(&all_pages(store, base().limit(20)).await), [20, 1]);
    assert_eq!(sizes(&all_pages(store, base().limit(22)).await), [21]);
    assert_eq!(sizes(&all_pages(store, base().limit(3)).await), [3; 7]);
    let singles = all_pages(store, base().limit(1).descending()).await;
    assert_eq!(sizes(&singles), [1; 21]);
    assert_eq!(flatten(singles), reversed(&items));
}

pub async fn index_pages_visit_every_item_once(store: Arc<dyn Store>) {
    let store = store.as_ref();
    // 25 items in their own table partitions, each in every index under another order.
    let items: Vec<Item> = (0..25usize)
        .map(|i| {
            let mut it = item(&format!("ITEM#{i:02}"), "META", 1, &i.to_string());
            for (n, index) in Index::ALL.into_iter().enumerate() {
                let position = (i * (2 * n + 3) + n) % 25;
                it = it.with_index(index, "LIST", format!("{position:02}#ITEM#{i:02}"));
            }
            it
        })
        .collect();
    let mut others: Vec<Item> = (0..3)
        .map(|i| {
            let mut it = item(&format!("OTHER#{i}"), "META", 1, "x");
            for index in Index::ALL {
                it = it.with_index(index, "LIST2", format!("{i:02}"));
            }
            it
        })
        .collect();
    others.push(item("LIST", "00", 1, "a table item, in no index"));
    put_all(store, Table::Main, &items).await;
    put_all(store, Table::Main, &others).await;

    for index in Index::ALL {
        let mut expected = items.clone();
        expected.sort_by(|a, b| a.indexes[&index].sk.cmp(&b.indexes[&index].sk));
        let list = || Query::new(Table::Main, Some(index), "LIST").limit(7);

        let pages = all_pages(store, list()).await;
        assert_eq!(sizes(&pages), [7, 7, 7, 4], "{index:?}");
        assert_eq!(flatten(pages), expected, "{index:?} ascending");

        let pages = all_pages(store, list().descending()).await;
        assert_eq!(flatten(pages), reversed(&expected), "{index:?} descending");

        let range = SortKeyRange::Between("05".into(), "15".into());
        let pages = all_pages(store, list().sk(range).limit(3)).await;
        let got = flatten(pages);
        assert_eq!(index_sort_keys(index, &got).len(), 10, "{index:?} range");
        assert_eq!(got, expected[5..15].to_vec(), "{index:?} range");
    }
}

pub async fn pages_resume_after_the_boundary_item_changes(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let items = numbered(store, "B", 10).await;
    let base = || Query::new(Table::Main, None, "B").limit(4);

    let first = query(store, base()).await;
    assert_eq!(first.items, items[..4].to_vec());
    // Delete the item the cursor points after; add one before and one after it.
    store
        .transact(vec![
            delete(Table::Main, items[3].key.clone(), Condition::Exists),
            put(
                Table::Main,
                item("B", "item#01x", 1, "new"),
                Condition::NotExists,
            ),
            put(
                Table::Main,
                item("B", "item#03x", 1, "new"),
                Condition::NotExists,
            ),
        ])
        .await
        .unwrap();
    let second = query(store, base().after(first.next)).await;
    assert_eq!(
        sort_keys(&second.items),
        ["item#03x", "item#04", "item#05", "item#06"]
    );
    let third = query(store, base().after(second.next)).await;
    assert_eq!(sort_keys(&third.items), ["item#07", "item#08", "item#09"]);
    assert_eq!(third.next, None);

    // The same in an index, descending.
    let indexed: Vec<Item> = (0..6)
        .map(|i| {
            item(&format!("X#{i}"), "META", 1, "x").with_index(
                Index::Gsi4,
                "IDX",
                format!("{i:02}"),
            )
        })
        .collect();
    put_all(store, Table::Main, &indexed).await;
    let by_index = || {
        Query::new(Table::Main, Some(Index::Gsi4), "IDX")
            .limit(2)
            .descending()
    };
    let first = query(store, by_index()).await;
    assert_eq!(index_sort_keys(Index::Gsi4, &first.items), ["05", "04"]);
    store
        .transact(vec![delete(
            Table::Main,
            indexed[4].key.clone(),
            Condition::Exists,
        )])
        .await
        .unwrap();
    let rest = query(store, by_index().limit(10).after(first.next)).await;
    assert_eq!(
        index_sort_keys(Index::Gsi4, &rest.items),
        ["03", "02", "01", "00"]
    );
    assert_eq!(rest.next, None);
}

pub async fn foreign_cursors_are_refused(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let items: Vec<Item> = ["a#1", "a#2", "b#1", "b#2"]
        .iter()
        .flat_map(|sk| {
            [
                item("A", sk, 1, "x")
                    .with_index(Index::Gsi1, "G", format!("A{sk}"))
                    .with_index(Index::Gsi2, "G", format!("A{sk}")),
                item("B", sk, 1, "x").with_index(Index::Gsi1, "H", format!("B{sk}")),
            ]
        })
        .collect();
    put_all(store, Table::Main, &items).await;
    // The audit table has gsi1 only.
    let audit_items: Vec<Item> = items
        .iter()
        .cloned()
        .map(|mut i| {
            i.indexes.retain(|index, _| *index == Index::Gsi1);
            i
        })
        .collect();
    put_all(store, Table::Audit, &audit_items).await;

    let table_a = || Query::new(Table::Main, None, "A").limit(1);
    let gsi1_g = || Query::new(Table::Main, Some(Index::Gsi1), "G").limit(1);
    let from_table_a = query(store, table_a()).await.next.expect("a cursor");
    let from_gsi1_g = query(store, gsi1_g()).await.next.expect("a cursor");
    let from_prefix_a = query(store, table_a().sk(SortKeyRange::Prefix("a#".into())))
        .await
        .next
        .expect("a cursor");

    // Each cursor works on its own query.
    assert_eq!(
        sort_keys(
            &query(store, table_a().after(Some(from_table_a.clone())))
                .await
                .items
        ),
        ["a#2"]
    );
    assert_eq!(
        index_sort_keys(
            Index::Gsi1,
            &query(store, gsi1_g().after(Some(from_gsi1_g.clone())))
                .await
                .items
        ),
        ["Aa#2"]
    );

    let refused = [
        (
            "another partition",
            Query::new(Table::Main, None, "B"),
            from_table_a.clone(),
        ),
        (
            "the other table",
            Query::new(Table::Audit, None, "A"),
            from_table_a.clone(),
        ),
        (
            "an index with the same key",
            Query::new(Table::Main, Some(Index::Gsi1), "A"),
            from_table_a.clone(),
        ),
        (
            "the table",
            Query::new(Table::Main, None, "G"),
            from_gsi1_g.clone(),
        ),
        (
            "another index",
            Query::new(Table::Main, Some(Index::Gsi2), "G"),
            from_gsi1_g.clone(),
        ),
        (
            "another index partition",
            Query::new(Table::Main, Some(Index::Gsi1), "H"),
            from_gsi1_g.clone(),
        ),
        (
            "the other table's index",
            Query::new(Table::Audit, Some(Index::Gsi1), "G"),
            from_gsi1_g.clone(),
        ),
        (
            "a range without the cursor's sort key",
            Query::new(Table::Main, None, "A").sk(SortKeyRange::Prefix("b#".into())),
            from_prefix_a.clone(),
        ),
        ("garbage", table_a(), "not a cursor!".to_string()),
        ("empty", table_a(), String::new()),
        ("base64 of nothing useful", table_a(), "e30".to_string()),
        ("base64 of text", table_a(), "aGVsbG8gd29ybGQ".to_string()),
        (
            "truncated",
            table_a(),
            from_table_a[..from_table_a.len() / 2].to_string(),
        ),
    ];
    for (what, query, cursor) in refused {
        let result = store.query(query.after(Some(cursor))).await;
        assert_eq!(
            result,
            Err(StoreError::InvalidCursor),
            "a cursor used on {what}"
        );
    }
}
