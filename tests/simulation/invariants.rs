//! What must hold after every step of any plan, and at the end once the relay caught up. Each
//! check answers the broken rule in words (with the entity), never a bare `false`.

use std::collections::BTreeMap;

use brokeros_kernel::changeset::{Entity, load};
use brokeros_kernel::keys;
use brokeros_kernel::money::Currency;
use brokeros_ledger::model::{AccountId, TransferId};
use brokeros_store::{Query, Table};
use rust_decimal::Decimal;

use crate::world::World;

type Broken = Vec<String>;

/// The invariants that hold at any moment.
pub async fn always(world: &World) -> Broken {
    let mut broken = Vec::new();
    wallets_and_books(world, &mut broken).await;
    deposits_credited_once_from_a_provider_event(world, &mut broken).await;
    versions_match_audit_streams(world, &mut broken).await;
    broken
}

/// The invariants that hold once the relay has caught up: every committed request's workflow
/// ran, the whole audit trail exports and verifies, signed, and holds no personal data it must
/// not (`brokeros_kernel::audit::personal_data`).
pub async fn at_the_end(world: &World) -> Broken {
    let mut broken = always(world).await;
    let app = world.app();
    let entries = app.outbox_entries().await;
    if !entries.is_empty() {
        broken.push(format!(
            "{} outbox entries left after the relay: {entries:?}",
            entries.len()
        ));
    }
    let engine = &app.engine;
    let started = |machine: &str, id: &str| {
        let arn = brokeros_sfn::execution_arn(machine, id);
        async move { (arn.clone(), engine.describe_execution(&arn).await.is_ok()) }
    };
    for id in &world.asked.deposits {
        if stored::<brokeros_payments::deposits::model::Deposit>(world, id)
            .await
            .is_some()
        {
            let (arn, ok) = started("deposit", id).await;
            if !ok {
                broken.push(format!(
                    "deposit {id} is stored but its workflow {arn} never started"
                ));
            }
        }
    }
    for id in &world.asked.withdrawals {
        if stored::<brokeros_withdrawals::model::Withdrawal>(world, id)
            .await
            .is_some()
        {
            let (arn, ok) = started("withdrawal", id).await;
            if !ok {
                broken.push(format!(
                    "withdrawal {id} is stored but its workflow {arn} never started"
                ));
            }
        }
    }
    for client in &world.asked.clients {
        let Some(record) = stored::<brokeros_onboarding::model::Client>(world, client).await else {
            continue;
        };
        if let Some(onboarding) = &record.onboarding_id {
            let (arn, ok) = started("onboarding", onboarding).await;
            if !ok {
                broken.push(format!(
                    "onboarding {onboarding} of {client} never started {arn}"
                ));
            }
        }
    }
    audit_exports_and_verifies_signed(world, &mut broken).await;
    // Document numbers only masked, emails and phones only where the rule allows them.
    broken.extend(
        brokeros_tests::audit_scan::violations(world.store.as_ref(), &world.asked.document_numbers)
            .await,
    );
    broken
}

async fn stored<T: Entity>(world: &World, id: &str) -> Option<T> {
    load::<T>(world.store.as_ref(), &T::key_for(id))
        .await
        .expect("a stored entity reads")
        .map(|a| a.entity)
}

fn usd() -> Currency {
    Currency::from_code("USD").expect("USD")
}

/// No wallet below zero or with a negative reservation, and the books balance: the totals of
/// every account in USD (client wallets, their trading accounts, every provider's clearing and
/// fee accounts, revenue, suspense) add up to zero. The balances are read one by one while
/// workflows move money, so a sum is judged on a stable read: the same balances twice in a row.
async fn wallets_and_books(world: &World, broken: &mut Broken) {
    let accounts = accounts(world).await;
    let mut previous: Option<Vec<(Decimal, Decimal)>> = None;
    for _ in 0..50 {
        let read = balances(world, &accounts).await;
        if previous.as_ref() == Some(&read) {
            for (account, (available, reserved)) in accounts.iter().zip(&read) {
                if account.is_client_wallet()
                    && (*available < Decimal::ZERO || *reserved < Decimal::ZERO)
                {
                    broken.push(format!(
                        "wallet {account:?}: available {available} reserved {reserved}"
                    ));
                }
            }
            let sum: Decimal = read.iter().map(|(a, r)| a + r).sum();
            if !sum.is_zero() {
                broken.push(format!(
                    "the books do not balance in USD: the accounts add up to {sum}"
                ));
            }
            return;
        }
        previous = Some(read);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    broken.push("the balances never held still for two reads in a row".into());
}

async fn balances(world: &World, accounts: &[AccountId]) -> Vec<(Decimal, Decimal)> {
    let core = &world.app().services.core;
    let mut read = Vec::with_capacity(accounts.len());
    for account in accounts {
        let balance = brokeros_ledger::balance(core, account)
            .await
            .expect("a balance");
        read.push((balance.available, balance.reserved));
    }
    read
}

/// Every USD account money of the simulation can be in.
async fn accounts(world: &World) -> Vec<AccountId> {
    let mut accounts = Vec::new();
    let mut logins = BTreeMap::new();
    for client in &world.asked.clients {
        accounts.push(AccountId::client_wallet(client, usd()).expect("a wallet id"));
        if let Some(record) = stored::<brokeros_onboarding::model::Client>(world, client).await {
            let record = serde_json::to_value(&record).expect("a client serializes");
            for account in record["trading_accounts"].as_array().into_iter().flatten() {
                if let Some(login) = account["login"].as_u64() {
                    logins.insert(login, ());
                }
            }
        }
    }
    for login in logins.keys() {
        accounts.push(AccountId::trading_account(*login, usd()).expect("a trading account"));
    }
    for provider in world.providers() {
        accounts.push(AccountId::provider_clearing(&provider, usd()).expect("clearing"));
        accounts.push(AccountId::provider_fees(&provider, usd()).expect("fees"));
    }
    accounts.push(AccountId::broker_revenue(usd()));
    accounts.push(AccountId::suspense(usd()));
    accounts
}

/// A deposit is credited at most once (one ledger entry, keyed by its id, for its amount), and
/// only after its provider sent a `succeeded` webhook for it.
async fn deposits_credited_once_from_a_provider_event(world: &World, broken: &mut Broken) {
    let core = &world.app().services.core;
    let paid = world
        .asked
        .paid_by_provider
        .lock()
        .expect("paid lock")
        .clone();
    for id in &world.asked.deposits {
        let Some(deposit) = stored::<brokeros_payments::deposits::model::Deposit>(world, id).await
        else {
            continue;
        };
        let transfer = TransferId::new("deposit_id", id).expect("a transfer id");
        let entry = brokeros_ledger::entry(core, &transfer)
            .await
            .expect("an entry reads");
        let credited = deposit.status.as_str() == "credited";
        match (&entry, credited) {
            (Some(_), _) | (None, false) => {}
            (None, true) => broken.push(format!("deposit {id} is credited without a ledger entry")),
        }
        if entry.is_some() && !paid.contains(id) {
            broken.push(format!(
                "deposit {id} was credited ({}) though no provider sent a success for it",
                deposit.status.as_str()
            ));
        }
    }
}

/// Every audited entity's version equals the number of events in its audit stream.
async fn versions_match_audit_streams(world: &World, broken: &mut Broken) {
    use brokeros_onboarding::model::Client;
    use brokeros_payments::deposits::model::Deposit;
    use brokeros_withdrawals::model::Withdrawal;
    for id in &world.asked.clients {
        version_matches::<Client>(world, id, broken).await;
    }
    for id in &world.asked.deposits {
        version_matches::<Deposit>(world, id, broken).await;
    }
    for id in &world.asked.withdrawals {
        version_matches::<Withdrawal>(world, id, broken).await;
    }
    for id in &world.asked.leads {
        version_matches::<brokeros_crm::model::Lead>(world, id, broken).await;
    }
}

/// Judged on a stable read: the stream's length the same before and after the entity is read
/// (a change commits the entity and its event together, so in between they must agree).
async fn version_matches<T: Entity>(world: &World, id: &str, broken: &mut Broken) {
    for _ in 0..50 {
        let before = audit_events(world, T::TYPE, id).await;
        let Some(stored) = load::<T>(world.store.as_ref(), &T::key_for(id))
            .await
            .expect("a stored entity reads")
        else {
            return;
        };
        if audit_events(world, T::TYPE, id).await != before {
            continue;
        }
        if stored.version != before {
            broken.push(format!(
                "{} {id} is at version {} with {before} audit events",
                T::TYPE,
                stored.version
            ));
        }
        return;
    }
    broken.push(format!("{} {id} never held still for a read", T::TYPE));
}

async fn audit_events(world: &World, entity_type: &str, id: &str) -> u64 {
    let mut events = 0u64;
    let mut cursor = None;
    loop {
        let page = world
            .store
            .query(
                Query::new(Table::Audit, None, keys::audit_stream(entity_type, id))
                    .limit(1000)
                    .after(cursor),
            )
            .await
            .expect("an audit stream reads");
        events += page.items.len() as u64;
        cursor = page.next;
        if cursor.is_none() {
            return events;
        }
    }
}

/// The whole audit trail, exported and signed, verifies against the signer's public key.
async fn audit_exports_and_verifies_signed(world: &World, broken: &mut Broken) {
    use brokeros_kernel::audit_export::{Selection, export_to_memory, raced_writes, verify_files};
    use brokeros_kernel::signing::{Ed25519Signer, PublicKey, Signer};
    world.lagging.catch_up();
    let (signer, _) = Ed25519Signer::generate();
    let now = time::OffsetDateTime::now_utc();
    let selection = Selection::TimeRange {
        from: now - time::Duration::days(1),
        to: now + time::Duration::days(1),
    };
    // Workflows may still be writing: an export that finds events committing behind its
    // cursor refuses (no gap in what it writes), and exporting again a moment later succeeds.
    let mut attempts = 0;
    let files = loop {
        attempts += 1;
        match export_to_memory(world.store.as_ref(), &selection, now, Some(&signer)).await {
            Ok(files) => break files,
            Err(e) if raced_writes(&e) && attempts < 5 => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                world.lagging.catch_up();
            }
            Err(e) => {
                broken.push(format!("the audit export failed: {e}"));
                return;
            }
        }
    };
    let manifest = serde_json::to_value(&files.manifest).expect("a manifest serializes");
    let public_key = PublicKey::from_der(&signer.public_key_der()).expect("a public key");
    if let Err(e) = verify_files(&files, &manifest, Some(&public_key)) {
        broken.push(format!("the signed audit export does not verify: {e}"));
    }
}
