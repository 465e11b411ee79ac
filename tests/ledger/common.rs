//! Helpers shared by the ledger scenarios, and the check of a whole store's books.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;

use brokeros_app::Services;
use brokeros_app::config::BrokerConfig;
use brokeros_kernel::OpContext;
use brokeros_kernel::audit::Actor;
use brokeros_kernel::money::Currency;
use brokeros_ledger::keys;
use brokeros_ledger::model::{
    AccountId, Balance, Bucket, ClosedHow, Entry, EntryKind, TransferId, sums,
};
use brokeros_ledger::{self as ledger, HistoryQuery, PostingRecord, Transfer};
use brokeros_store::{Query, Store, Table};
use rust_decimal::Decimal;

pub fn services(store: Arc<dyn Store>) -> Services {
    brokeros_local::services(store, BrokerConfig::embedded_default())
}

pub fn ctx() -> OpContext {
    OpContext {
        actor: Actor::system("ledger-test"),
        correlation_id: "corr-ledger-test".into(),
        now: time::OffsetDateTime::now_utc(),
    }
}

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_else(|e| panic!("{text} is not a decimal: {e}"))
}

pub fn tid(text: &str) -> TransferId {
    TransferId::new("transfer_id", text).unwrap()
}

pub fn wallet(client: &str, currency: Currency) -> AccountId {
    AccountId::client_wallet(client, currency).unwrap()
}

pub fn clearing(provider: &str, currency: Currency) -> AccountId {
    AccountId::provider_clearing(provider, currency).unwrap()
}

pub fn deposit(id: &str, client: &str, currency: Currency, amount: &str) -> Transfer {
    Transfer::between(
        tid(id),
        clearing("psp-card", currency),
        wallet(client, currency),
        dec(amount),
        &format!("deposit {id}"),
    )
}

/// Items in the main and audit tables.
pub async fn counts(store: &dyn Store) -> (u64, u64) {
    (
        store.count_items(Table::Main).await.unwrap(),
        store.count_items(Table::Audit).await.unwrap(),
    )
}

pub async fn available(services: &Services, account: &AccountId) -> Decimal {
    ledger::balance(services, account).await.unwrap().available
}

/// Every posting in an account's history, oldest first, page by page.
pub async fn full_history(services: &Services, account: &AccountId) -> Vec<PostingRecord> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = ledger::history(
            services,
            account,
            HistoryQuery {
                limit: Some(7),
                cursor: cursor.take(),
                ..HistoryQuery::default()
            },
        )
        .await
        .unwrap();
        all.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

/// Checks the books of a store that holds nothing but the ledger entries `posted`:
///
/// * each entry's postings, and all postings together, sum to zero per currency;
/// * every account's history holds exactly its postings, and its balance (each part) is the
///   sum of them;
/// * no client wallet or IB payable is below zero, now or after any entry of its history;
/// * a wallet's reserved part is the sum of its open reservations, and every closure closes
///   an entry of the right kind, by an entry that exists;
/// * the store holds exactly the items and audit events these entries make, so nothing else
///   (no refused request) wrote anything.
pub async fn check_books(services: &Services, posted: &BTreeSet<TransferId>) {
    let store = services.store.as_ref();
    let mut entries: BTreeMap<TransferId, Entry> = BTreeMap::new();
    let mut closures = BTreeMap::new();
    for id in posted {
        let record = ledger::entry(services, id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("posted entry {id} is missing"));
        assert!(record.entry.is_balanced(), "{id} does not balance");
        if let Some(c) = record.closure {
            closures.insert(id.clone(), c);
        }
        entries.insert(id.clone(), record.entry);
    }
    let all = entries.values().flat_map(|e| &e.postings);
    for (currency, sum) in sums(all.map(|p| (p.account.currency(), p.amount))) {
        assert!(sum.is_zero(), "{currency} postings sum to {sum}");
    }

    // Expected postings per account, from the entries.
    let mut expected: BTreeMap<AccountId, Vec<(TransferId, u32, Bucket, Decimal)>> =
        BTreeMap::new();
    for e in entries.values() {
        for (leg, p) in e.postings.iter().enumerate() {
            expected.entry(p.account.clone()).or_default().push((
                e.transfer_id.clone(),
                leg as u32,
                p.bucket,
                p.amount,
            ));
        }
    }
    let mut posting_items = 0u64;
    let mut balance_items = 0u64;
    for (account, mut postings) in expected {
        let history = full_history(services, &account).await;
        let mut found: Vec<_> = history
            .iter()
            .map(|p| (p.transfer_id.clone(), p.leg, p.bucket, p.amount))
            .collect();
        postings.sort();
        found.sort();
        assert_eq!(found, postings, "history of {account}");
        posting_items += history.len() as u64;

        let mut from_history = Balance::zero(account.clone());
        for p in &history {
            match p.bucket {
                Bucket::Available => from_history.available += p.amount,
                Bucket::Reserved => from_history.reserved += p.amount,
            }
            if account.must_stay_non_negative() {
                let after = p.balance_after.as_ref().expect("a running balance");
                assert!(
                    after.available >= Decimal::ZERO && after.reserved >= Decimal::ZERO,
                    "{account} went below zero after {}: {after:?}",
                    p.transfer_id
                );
            }
        }
        let balance = ledger::balance(services, &account).await.unwrap();
        assert_eq!(
            (balance.available, balance.reserved),
            (from_history.available, from_history.reserved),
            "balance of {account} is not the sum of its postings"
        );
        if account.must_stay_non_negative() {
            assert!(
                balance.available >= Decimal::ZERO && balance.reserved >= Decimal::ZERO,
                "{account} is below zero: {balance:?}"
            );
        }
        if account.is_client_wallet() {
            let open: Decimal = entries
                .values()
                .filter_map(|e| e.reservation().map(|(w, a)| (e, w, a)))
                .filter(|(e, w, _)| *w == &account && !closures.contains_key(&e.transfer_id))
                .map(|(_, _, a)| a)
                .sum();
            assert_eq!(balance.reserved, open, "reserved part of {account}");
            let of_client = ledger::balances_of_client(services, account.client_id().unwrap())
                .await
                .unwrap();
            assert!(
                of_client.contains(&balance),
                "{account} in its client's balances"
            );
        }
        balance_items += if account.is_house() {
            let shards = store
                .query(Query::new(
                    Table::Main,
                    None,
                    keys::ledger_balances(&account.to_string()),
                ))
                .await
                .unwrap();
            shards.items.len() as u64
        } else {
            1
        };
    }
    for (id, c) in &closures {
        assert_eq!(&c.entry, id);
        let closed = &entries[id];
        let by = entries
            .get(&c.closed_by)
            .unwrap_or_else(|| panic!("{id} closed by {}, not posted", c.closed_by));
        match (c.how, &by.kind) {
            (ClosedHow::Reversed, EntryKind::Reversal { reverses }) => {
                assert_eq!(reverses, id);
                assert_eq!(closed.kind, EntryKind::Transfer);
            }
            (ClosedHow::Released, EntryKind::Release { reservation })
            | (ClosedHow::Settled, EntryKind::Settle { reservation }) => {
                assert_eq!(reservation, id);
                assert_eq!(closed.kind, EntryKind::Reserve);
            }
            other => panic!("closure {other:?} of {id}"),
        }
    }
    // Every entry that closes another has its closure marker.
    for e in entries.values() {
        let closed = match &e.kind {
            EntryKind::Reversal { reverses } => Some(reverses),
            EntryKind::Release { reservation } | EntryKind::Settle { reservation } => {
                Some(reservation)
            }
            EntryKind::Transfer | EntryKind::Reserve => None,
        };
        if let Some(closed) = closed {
            assert_eq!(closures[closed].closed_by, e.transfer_id);
        }
    }
    let expected_items =
        entries.len() as u64 + closures.len() as u64 + posting_items + balance_items;
    assert_eq!(
        counts(store).await,
        (expected_items, entries.len() as u64),
        "the store holds exactly the posted entries' items and one audit event per entry"
    );
}
