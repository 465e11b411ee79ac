//! `Store::count`: how many live items a query selects, counted by the engine.

use std::sync::Arc;

use brokeros_store::{Index, Query, SortKeyRange, Store, Table};

use crate::common::*;

/// What the engine counts is what the query's pages return, on the table's keys and an index,
/// for every kind of sort-key range, without expired items, other partitions or the cursor and
/// limit of the query.
pub async fn counts_are_what_queries_return(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mut items = Vec::new();
    for n in 0..7 {
        let sk = format!("a#{n}");
        items.push(item("C", &sk, 1, "x").with_index(Index::Gsi2, "G", &sk));
    }
    for n in 0..3 {
        let sk = format!("b#{n}");
        items.push(item("C", &sk, 1, "x").with_index(Index::Gsi2, "G", &sk));
    }
    items.push(
        item("C", "a#dead", 1, "x")
            .with_index(Index::Gsi2, "G", "a#dead")
            .expiring_at(past()),
    );
    items.push(
        item("C", "a#later", 1, "x")
            .with_index(Index::Gsi2, "G", "a#later")
            .expiring_at(future()),
    );
    items.push(item("C", "ab", 1, "x").with_index(Index::Gsi2, "OTHER", "ab"));
    items.push(item("D", "a#0", 1, "x"));
    put_all(store, Table::Main, &items).await;

    let ranges = [
        (SortKeyRange::All, 12),
        (SortKeyRange::Prefix("a#".into()), 8),
        (SortKeyRange::Prefix("b".into()), 3),
        (SortKeyRange::Prefix("z".into()), 0),
        (SortKeyRange::Between("a#2".into(), "b#0".into()), 8),
        (SortKeyRange::Between("b#9".into(), "a".into()), 0),
    ];
    for (range, table_count) in ranges {
        // The index holds the same sort keys but "ab", which is in another index partition.
        let index_count = table_count - u64::from(range.contains("ab"));
        for (index, pk, expected) in [
            (None, "C", table_count),
            (Some(Index::Gsi2), "G", index_count),
        ] {
            let query = Query::new(Table::Main, index, pk)
                .sk(range.clone())
                .limit(2)
                .descending();
            let counted = store.count(query.clone()).await.unwrap();
            let returned: usize = all_pages(store, query.clone())
                .await
                .iter()
                .map(|p| p.items.len())
                .sum();
            assert_eq!(counted, expected, "{query:?}");
            assert_eq!(
                counted, returned as u64,
                "{query:?}: the count is what the pages return"
            );
        }
    }
    assert_eq!(
        store
            .count(Query::new(Table::Audit, None, "C"))
            .await
            .unwrap(),
        0,
        "tables are separate"
    );
}

/// A partition larger than one DynamoDB page (1 MB read per request) is counted whole.
pub async fn counts_span_the_engines_pages(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let payload = "p".repeat(100_000);
    let items: Vec<_> = (0..25)
        .map(|n| {
            let sk = format!("{n:03}");
            item("BIG", &sk, 1, &payload).with_index(Index::Gsi1, "BIGI", &sk)
        })
        .collect();
    put_all(store, Table::Main, &items).await;
    assert_eq!(
        store
            .count(Query::new(Table::Main, None, "BIG"))
            .await
            .unwrap(),
        25
    );
    assert_eq!(
        store
            .count(
                Query::new(Table::Main, Some(Index::Gsi1), "BIGI")
                    .sk(SortKeyRange::Between("005".into(), "019".into()))
            )
            .await
            .unwrap(),
        15
    );
}
