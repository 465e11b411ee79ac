//! The ledger's storage layout on the embedded engine. The behaviour on both engines, with
//! property tests, is in `tests/ledger`.

use std::str::FromStr;
use std::sync::Arc;

use brokeros_kernel::audit::Actor;
use brokeros_kernel::money::{EUR, USD};
use brokeros_store::{Query, Table};
use time::macros::datetime;

use super::*;

struct Fixture {
    services: Core,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store =
        brokeros_store_sqlite::SqliteStore::open(&dir.path().join("ledger.sqlite3")).unwrap();
    Fixture {
        services: Core::new(Arc::new(store)),
        _dir: dir,
    }
}

fn ctx(now: OffsetDateTime) -> OpContext {
    OpContext {
        actor: Actor::system("ledger-test"),
        correlation_id: "corr-ledger".into(),
        now,
    }
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn tid(text: &str) -> TransferId {
    TransferId::new("transfer_id", text).unwrap()
}

fn deposit(id: &str, client: &str, amount: &str) -> Transfer {
    Transfer::between(
        tid(id),
        AccountId::provider_clearing("psp", USD).unwrap(),
        AccountId::client_wallet(client, USD).unwrap(),
        dec(amount),
        "deposit",
    )
}

#[tokio::test]
async fn an_entry_is_one_transaction_with_its_audit_event() {
    let f = fixture();
    let at = datetime!(2026-11-24 09:00:00 UTC);
    let posted = post(&f.services, &ctx(at), deposit("d1", "c1", "25"))
        .await
        .unwrap();
    assert!(!posted.replayed);
    let store = f.services.store.as_ref();
    // The entry, two postings, the wallet and one clearing shard; one audit event.
    assert_eq!(store.count_items(Table::Main).await.unwrap(), 5);
    assert_eq!(store.count_items(Table::Audit).await.unwrap(), 1);
    let audit = store
        .query(Query::new(Table::Audit, None, "ledger_entry#d1"))
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert!(
        audit.items[0]
            .data
            .contains("\"action\":\"ledger.transfer\"")
    );

    let record = entry(&f.services, &tid("d1")).await.unwrap().unwrap();
    assert_eq!(record.entry, posted.entry);
    assert_eq!(record.closure, None);
    let wallet = AccountId::client_wallet("c1", USD).unwrap();
    let page = history(&f.services, &wallet, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].amount, dec("25.00"));
    assert_eq!(
        page.items[0].balance_after,
        Some(BalanceParts {
            available: dec("25"),
            reserved: dec("0"),
        })
    );
    let clearing = AccountId::provider_clearing("psp", USD).unwrap();
    let page = history(&f.services, &clearing, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(
        page.items[0].balance_after, None,
        "house accounts are sharded"
    );
}

#[tokio::test]
async fn house_balances_are_spread_over_shards_and_summed() {
    let f = fixture();
    let at = datetime!(2026-11-24 09:00:00 UTC);
    for n in 0..40 {
        post(
            &f.services,
            &ctx(at),
            deposit(&format!("d{n}"), &format!("c{}", n % 4), "1.5"),
        )
        .await
        .unwrap();
    }
    let clearing = AccountId::provider_clearing("psp", USD).unwrap();
    let shards = f
        .services
        .store
        .query(Query::new(
            Table::Main,
            None,
            keys::ledger_balances(&clearing.to_string()),
        ))
        .await
        .unwrap();
    assert!(
        shards.items.len() > 4 && shards.items.len() <= HOUSE_SHARDS as usize,
        "{} shards",
        shards.items.len()
    );
    assert_eq!(
        balance(&f.services, &clearing).await.unwrap().available,
        dec("-60")
    );
    let balances = balances_of_client(&f.services, "c1").await.unwrap();
    assert_eq!(balances.len(), 1);
    assert_eq!(balances[0].available, dec("15"));
    assert!(balances_of_client(&f.services, "no#such").await.is_err());
}

#[tokio::test]
async fn history_pages_by_time_in_both_directions() {
    let f = fixture();
    let wallet = AccountId::client_wallet("c1", USD).unwrap();
    let start = datetime!(2026-11-24 09:00:00 UTC);
    for n in 0..7i64 {
        let at = start + time::Duration::minutes(n);
        post(&f.services, &ctx(at), deposit(&format!("d{n}"), "c1", "1"))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = history(
            &f.services,
            &wallet,
            HistoryQuery {
                limit: Some(3),
                cursor: cursor.take(),
                ..HistoryQuery::default()
            },
        )
        .await
        .unwrap();
        seen.extend(page.items.iter().map(|p| p.transfer_id.to_string()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["d0", "d1", "d2", "d3", "d4", "d5", "d6"]);
    let newest = history(
        &f.services,
        &wallet,
        HistoryQuery {
            limit: Some(2),
            newest_first: true,
            ..HistoryQuery::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(newest.items[0].transfer_id.as_str(), "d6");
    assert_eq!(
        newest.items[0].balance_after.as_ref().unwrap().available,
        dec("7")
    );
    // [from, to): minutes 2, 3 and 4.
    let window = history(
        &f.services,
        &wallet,
        HistoryQuery {
            from: Some(start + time::Duration::minutes(2)),
            to: Some(start + time::Duration::minutes(5)),
            ..HistoryQuery::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<&str> = window
        .items
        .iter()
        .map(|p| p.transfer_id.as_str())
        .collect();
    assert_eq!(ids, ["d2", "d3", "d4"]);
    for bad in [Some(0), Some(1001)] {
        let query = HistoryQuery {
            limit: bad,
            ..HistoryQuery::default()
        };
        assert!(history(&f.services, &wallet, query).await.is_err());
    }
}

#[tokio::test]
async fn an_entry_stages_into_the_callers_changeset() {
    let f = fixture();
    let c = ctx(datetime!(2026-11-24 09:00:00 UTC));
    let request: Request = deposit("d1", "c1", "10").into();
    let mut changes = Changeset::new();
    let Staged::New(staged) = stage(&f.services, &c, &request, &mut changes)
        .await
        .unwrap()
    else {
        panic!("a new entry")
    };
    // Nothing is posted until the caller commits.
    assert_eq!(f.services.store.count_items(Table::Main).await.unwrap(), 0);
    let (ops, _) = changes.into_parts();
    f.services.store.transact(ops).await.unwrap();
    let mut again = Changeset::new();
    assert_eq!(
        stage(&f.services, &c, &request, &mut again).await.unwrap(),
        Staged::Replayed(staged)
    );
    assert!(again.into_parts().0.is_empty());
    let eur = Transfer::between(
        tid("d1"),
        AccountId::provider_clearing("psp", EUR).unwrap(),
        AccountId::client_wallet("c1", EUR).unwrap(),
        dec("10"),
        "deposit",
    );
    let e = stage(&f.services, &c, &eur.into(), &mut Changeset::new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "transfer_id_reused");
}
