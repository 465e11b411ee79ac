//! The reconciliation scenarios: a ledger with one of each discrepancy, and the report of
//! `data/settlement.csv` against it.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use brokeros_app::Services;
use brokeros_app::config::BrokerConfig;
use brokeros_kernel::Error;
use brokeros_kernel::OpContext;
use brokeros_kernel::audit::Actor;
use brokeros_kernel::money::{Currency, EUR, USD};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_ledger::model::{AccountId, TransferId};
use brokeros_ledger::{Fee, Reserve, Settle, Transfer};
use brokeros_recon::ReconRun;
use brokeros_recon::model::{MatchItem, MatchKind};
use brokeros_store::{Store, Table};
use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::macros::datetime;

/// A provider of the embedded routing rules: reconciliation refuses providers it does not know.
const PROVIDER: &str = "cardpay-eu";
const REPORT: &str = include_str!("data/settlement.csv");

fn services(store: Arc<dyn Store>) -> Services {
    brokeros_local::services(store, BrokerConfig::embedded_default())
}

fn ctx(now: OffsetDateTime) -> OpContext {
    OpContext {
        actor: Actor::system("recon-test"),
        correlation_id: "corr-recon-test".into(),
        now,
    }
}

fn principal(roles: &[Role]) -> Principal {
    Principal {
        sub: "user-1".into(),
        roles: roles.iter().copied().collect(),
    }
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn tid(text: &str) -> TransferId {
    TransferId::new("transfer_id", text).unwrap()
}

fn clearing(provider: &str, currency: Currency) -> AccountId {
    AccountId::provider_clearing(provider, currency).unwrap()
}

fn fees(currency: Currency) -> AccountId {
    AccountId::provider_fees(PROVIDER, currency).unwrap()
}

fn wallet(currency: Currency) -> AccountId {
    AccountId::client_wallet("cli_1", currency).unwrap()
}

async fn transfer(
    services: &Services,
    at: OffsetDateTime,
    id: &str,
    from: AccountId,
    to: AccountId,
    amount: &str,
) {
    brokeros_ledger::post(
        services,
        &ctx(at),
        Transfer::between(tid(id), from, to, dec(amount), id),
    )
    .await
    .unwrap_or_else(|e| panic!("{id}: {e}"));
}

async fn deposit(
    services: &Services,
    at: OffsetDateTime,
    id: &str,
    currency: Currency,
    amount: &str,
) {
    transfer(
        services,
        at,
        id,
        clearing(PROVIDER, currency),
        wallet(currency),
        amount,
    )
    .await;
}

async fn fee(services: &Services, at: OffsetDateTime, id: &str, amount: &str) {
    transfer(
        services,
        at,
        id,
        AccountId::broker_revenue(USD),
        fees(USD),
        amount,
    )
    .await;
}

/// The ledger `data/settlement.csv` is reconciled against: one of each discrepancy.
async fn book(services: &Services) {
    let at = datetime!(2026-03-02 10:00 UTC);
    deposit(services, at, "dep_fund:credit", USD, "500.00").await;
    // matched, its fee booked
    deposit(services, at, "dep_ok:credit", USD, "100.00").await;
    fee(services, at, "dep_ok:fee", "2.00").await;
    // matched withdrawal: 49.50 to clearing, 0.50 to fees
    let next_day = datetime!(2026-03-03 07:00 UTC);
    brokeros_ledger::reserve(
        services,
        &ctx(next_day),
        Reserve {
            transfer_id: tid("wd_ok:reserve"),
            wallet: wallet(USD),
            amount: dec("50.00"),
            memo: String::new(),
        },
    )
    .await
    .unwrap();
    brokeros_ledger::settle(
        services,
        &ctx(next_day),
        Settle {
            transfer_id: tid("wd_ok:settle"),
            reservation: tid("wd_ok:reserve"),
            to: clearing(PROVIDER, USD),
            fee: Some(Fee {
                account: fees(USD),
                amount: dec("0.50"),
            }),
            memo: String::new(),
        },
    )
    .await
    .unwrap();
    // the report says 75.00
    deposit(services, at, "dep_amount:credit", USD, "70.00").await;
    // booked in EUR, the report says USD
    deposit(services, at, "dep_ccy:credit", EUR, "20.00").await;
    // the report says fee 1.00
    deposit(services, at, "dep_fee:credit", USD, "40.00").await;
    fee(services, at, "dep_fee:fee", "1.50").await;
    // the report has a fee of 1.20, the ledger none
    deposit(services, at, "dep_nofee:credit", USD, "60.00").await;
    // not in the report
    deposit(services, at, "dep_extra:credit", USD, "15.00").await;
    // reversed: nets to zero, so not missing in the report
    deposit(services, at, "dep_rev:credit", USD, "5.00").await;
    brokeros_ledger::reverse(
        services,
        &ctx(at),
        brokeros_ledger::Reverse {
            transfer_id: tid("dep_rev:credit:reversal"),
            reverses: tid("dep_rev:credit"),
            memo: String::new(),
        },
    )
    .await
    .unwrap();
    // outside the report's period (and its tolerance of a day): not read
    deposit(
        services,
        datetime!(2026-02-01 10:00 UTC),
        "dep_old:credit",
        USD,
        "9.00",
    )
    .await;
    // another provider's clearing: not read
    transfer(
        services,
        at,
        "dep_elsewhere:credit",
        clearing("psp-crypto", USD),
        wallet(USD),
        "11.00",
    )
    .await;
}

async fn counts(store: &dyn Store) -> (u64, u64) {
    (
        store.count_items(Table::Main).await.unwrap(),
        store.count_items(Table::Audit).await.unwrap(),
    )
}

fn find<'a>(run: &'a ReconRun, reference: &str, kind: MatchKind) -> &'a MatchItem {
    run.items
        .iter()
        .find(|i| i.reference == reference && i.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} item for {reference} in {:#?}", run.items))
}

pub async fn each_kind_is_classified_and_recorded(store: Arc<dyn Store>) {
    let services = services(store.clone());
    book(&services).await;
    let before = counts(store.as_ref()).await;
    let run = brokeros_recon::reconcile(
        &services.payments,
        &principal(&[Role::Finance]),
        PROVIDER,
        REPORT,
        "corr-recon-1",
    )
    .await
    .unwrap();

    let kinds: Vec<(&str, MatchKind)> = run
        .items
        .iter()
        .map(|i| (i.reference.as_str(), i.kind))
        .collect();
    use MatchKind::*;
    assert_eq!(
        kinds,
        [
            ("dep_fund", Matched),
            ("dep_ok", Matched),
            ("wd_ok", Matched),
            ("dep_amount", AmountMismatch),
            ("dep_ccy", CurrencyMismatch),
            ("dep_none", MissingInLedger),
            ("dep_ok", DuplicateInReport),
            ("dep_fee", FeeMismatch),
            ("dep_nofee", FeeNotBooked),
            ("dep_extra", MissingInReport),
        ]
    );
    for kind in MatchKind::ALL {
        let expected = match kind {
            Matched => 3,
            _ => 1,
        };
        assert_eq!(run.run.counts[&kind], expected, "{kind}");
    }
    assert!(!run.run.all_matched);
    assert_eq!(run.run.rows, 9);
    assert_eq!(run.mismatches().count(), 7);

    let withdrawal = find(&run, "wd_ok", Matched);
    assert_eq!(withdrawal.ledger_amount, Some(dec("50.00")));
    assert_eq!(withdrawal.ledger_fee, Some(dec("0.50")));
    let ok = find(&run, "dep_ok", Matched);
    assert_eq!(
        ok.transfer_ids,
        ["dep_ok:credit".to_string(), "dep_ok:fee".to_string()]
    );
    let amount = find(&run, "dep_amount", AmountMismatch);
    assert_eq!(
        (amount.report_amount, amount.ledger_amount),
        (Some(dec("75.00")), Some(dec("70.00")))
    );
    assert!(
        find(&run, "dep_ccy", CurrencyMismatch)
            .detail
            .contains("EUR"),
        "names the booked currency"
    );
    assert_eq!(find(&run, "dep_none", MissingInLedger).line, Some(7));
    assert_eq!(find(&run, "dep_ok", DuplicateInReport).line, Some(8));
    let fee_mismatch = find(&run, "dep_fee", FeeMismatch);
    assert_eq!(
        (fee_mismatch.report_fee, fee_mismatch.ledger_fee),
        (Some(dec("1.00")), Some(dec("1.50")))
    );
    assert_eq!(
        find(&run, "dep_nofee", FeeNotBooked).ledger_fee,
        Some(Decimal::ZERO)
    );
    let extra = find(&run, "dep_extra", MissingInReport);
    assert_eq!(extra.ledger_amount, Some(dec("-15.00")));
    assert_eq!(extra.line, None);
    let references: BTreeSet<&str> = run.items.iter().map(|i| i.reference.as_str()).collect();
    for not_read in ["dep_old", "dep_elsewhere", "dep_rev"] {
        assert!(!references.contains(not_read), "{not_read}");
    }

    let usd = &run.run.totals[&USD];
    // Report rows that are not duplicates: 500 + 100 + 50 + 75 + 20 + 30 + 40 + 60.
    assert_eq!(usd.report_amount, dec("875.00"));
    assert_eq!(usd.report_fees, dec("4.70"));
    // Ledger: 500 + 100 + 50 + 70 + 40 + 60, and 15 missing in the report.
    assert_eq!(usd.ledger_amount, dec("835.00"));
    assert_eq!(usd.ledger_fees, dec("4.00"));
    assert_eq!(usd.difference, dec("40.00"));
    assert_eq!(run.run.totals[&EUR].ledger_amount, dec("20.00"));

    // Stored: the run, its one chunk of items, and its audit event, together.
    assert_eq!(run.run.chunks, 1);
    let after = counts(store.as_ref()).await;
    assert_eq!(after, (before.0 + 2, before.1 + 1));
    let read = brokeros_recon::recon_run(&services, &principal(&[Role::Admin]), &run.run.id)
        .await
        .unwrap();
    assert_eq!(read, run);
    let missing = brokeros_recon::recon_run(&services, &principal(&[Role::Finance]), "recon_00")
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
}

pub async fn a_bad_report_changes_nothing(store: Arc<dyn Store>) {
    let services = services(store.clone());
    book(&services).await;
    let before = counts(store.as_ref()).await;
    let finance = principal(&[Role::Finance]);
    let header = REPORT.lines().next().unwrap();
    let good = "dep_ok,ptx-1,deposit,100.00,USD,2.00,2026-03-02T10:05:00Z";
    for (bad_row, field) in [
        (
            "dep_ok,ptx-2,deposit,100.001,USD,0,2026-03-02T10:05:00Z",
            "line 3, column 4 (amount)",
        ),
        (
            "dep_ok,ptx-2,deposit,100,XYZ,0,2026-03-02T10:05:00Z",
            "line 3, column 5 (currency)",
        ),
        (
            "dep_ok,ptx-2,deposit,100,JPY,0.5,2026-03-02T10:05:00Z",
            "line 3, column 6 (fee)",
        ),
        (
            "dep_ok,ptx-2,deposit,abc,USD,0,2026-03-02T10:05:00Z",
            "line 3, column 4 (amount)",
        ),
        (
            "dep_ok,ptx-2,payout,100,USD,0,2026-03-02T10:05:00Z",
            "line 3, column 3 (type)",
        ),
        (
            "dep_ok,ptx-2,deposit,100,USD,0,yesterday",
            "line 3, column 7 (settled_at)",
        ),
        ("dep_ok,ptx-2,deposit,100,USD", "line 3"),
        (
            "dep_ok,\"ptx-2,deposit,100,USD,0,2026-03-02T10:05:00Z",
            "line 3, column 2 (provider_transaction_id)",
        ),
    ] {
        let report = format!("{header}\n{good}\n{bad_row}\n");
        let e =
            brokeros_recon::reconcile(&services.payments, &finance, PROVIDER, &report, "corr-bad")
                .await
                .unwrap_err();
        match &e {
            Error::Validation { field: Some(f), .. } => assert_eq!(f, field, "{bad_row}"),
            other => panic!("{bad_row}: expected a validation error, got {other:?}"),
        }
        assert!(e.to_string().starts_with(field), "{e}");
    }
    for report in ["", "amount,currency\n1,USD\n", &format!("{header}\n")] {
        let e =
            brokeros_recon::reconcile(&services.payments, &finance, PROVIDER, report, "corr-bad")
                .await
                .unwrap_err();
        assert!(matches!(e, Error::Validation { .. }), "{e:?}");
    }
    let e = brokeros_recon::reconcile(
        &services.payments,
        &finance,
        "bad provider",
        REPORT,
        "corr-bad",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Validation { .. }), "{e:?}");
    // A well-formed name no routing rules or webhook registry knows.
    let e = brokeros_recon::reconcile(&services.payments, &finance, "nosuch", REPORT, "corr-bad")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { entity: "payment provider", id } if id == "nosuch"),
        "{e:?}"
    );
    assert_eq!(counts(store.as_ref()).await, before, "nothing was written");
}

pub async fn only_finance_and_admins_reconcile(store: Arc<dyn Store>) {
    let services = services(store.clone());
    book(&services).await;
    let before = counts(store.as_ref()).await;
    for roles in [
        vec![Role::Client],
        vec![Role::Ib],
        vec![Role::Sales],
        vec![Role::Compliance, Role::Sales],
    ] {
        let e = brokeros_recon::reconcile(
            &services.payments,
            &principal(&roles),
            PROVIDER,
            REPORT,
            "corr-no",
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::Forbidden { .. }), "{roles:?}: {e:?}");
    }
    assert_eq!(counts(store.as_ref()).await, before, "nothing was written");
    let run = brokeros_recon::reconcile(
        &services.payments,
        &principal(&[Role::Admin]),
        PROVIDER,
        REPORT,
        "c",
    )
    .await
    .unwrap();
    let e = brokeros_recon::recon_run(&services, &principal(&[Role::Compliance]), &run.run.id)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
}

pub async fn the_same_report_is_one_run(store: Arc<dyn Store>) {
    let services = services(store.clone());
    book(&services).await;
    let finance = principal(&[Role::Finance]);
    let before = counts(store.as_ref()).await;
    let (a, b) = tokio::join!(
        brokeros_recon::reconcile(&services.payments, &finance, PROVIDER, REPORT, "corr-a"),
        brokeros_recon::reconcile(&services.payments, &finance, PROVIDER, REPORT, "corr-b"),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b, "concurrent calls answer the one run");
    let once = counts(store.as_ref()).await;
    assert_eq!(once, (before.0 + 2, before.1 + 1));

    // Later, after the ledger changed: still the same run, nothing written.
    deposit(
        &services,
        datetime!(2026-03-02 11:00 UTC),
        "dep_late:credit",
        USD,
        "1.00",
    )
    .await;
    let with_late = counts(store.as_ref()).await;
    let again = brokeros_recon::reconcile(&services.payments, &finance, PROVIDER, REPORT, "corr-c")
        .await
        .unwrap();
    assert_eq!(again, a);
    assert_eq!(counts(store.as_ref()).await, with_late);

    // Other bytes are another report: another run, which sees the new deposit.
    let other = format!("{REPORT}dep_late,ptx-2000,deposit,1.00,USD,0,2026-03-02T11:00:00Z\n");
    let run = brokeros_recon::reconcile(&services.payments, &finance, PROVIDER, &other, "corr-d")
        .await
        .unwrap();
    assert_ne!(run.run.id, a.run.id);
    assert_eq!(run.run.counts[&MatchKind::Matched], 4);
}
