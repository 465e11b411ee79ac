//! Routing rules and provider statistics on the embedded SQLite store.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::model::{
    Decimal, DepositIntent, Exclusion, Health, Outcome, PaymentMethod, RiskLevel, RoutingDocument,
    RoutingRules,
};
use brokeros_kernel::audit::AuditEvent;
use brokeros_kernel::money::Money;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_store::{Item, Query, StoreError, Table, WriteOp};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::keys;
use brokeros_kernel::AnswerKind;
use brokeros_kernel::Clock;
use brokeros_kernel::Core;
use brokeros_kernel::Error;
use brokeros_kernel::idempotency::IdempotencyKey;

const NOW: OffsetDateTime = datetime!(2026-03-01 10:30:00 UTC);

struct FixedClock(OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

struct Fixture {
    services: Core,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store =
        brokeros_store_sqlite::SqliteStore::open(&dir.path().join("payments.sqlite3")).unwrap();
    let mut services = Core::new(Arc::new(store));
    services.clock = Arc::new(FixedClock(NOW));
    Fixture {
        services,
        _dir: dir,
    }
}

fn principal(role: Role) -> Principal {
    Principal {
        sub: format!("{role}-1"),
        roles: BTreeSet::from([role]),
    }
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn eur(amount: &str) -> Money {
    Money::positive_in(dec(amount), "EUR").unwrap()
}

fn card(amount: &str) -> DepositIntent {
    DepositIntent {
        client_id: "client_1".into(),
        amount: eur(amount),
        method: PaymentMethod::Card,
        country: "DE".into(),
        risk_level: RiskLevel::Low,
        requested_at: NOW,
    }
}

impl Fixture {
    async fn counts(&self) -> (u64, u64) {
        let store = &self.services.store;
        (
            store.count_items(Table::Main).await.unwrap(),
            store.count_items(Table::Audit).await.unwrap(),
        )
    }

    async fn events(&self, entity_type: &str, id: &str) -> Vec<AuditEvent> {
        let query = Query::new(Table::Audit, None, keys::audit_stream(entity_type, id)).limit(100);
        let page = self.services.store.query(query).await.unwrap();
        page.items
            .iter()
            .map(|i| serde_json::from_str(&i.data).unwrap())
            .collect()
    }

    async fn commit(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.services.store.transact(ops).await
    }
}

/// The embedded rules with one more rule (EU cards: never globalpay) as version `version`.
fn changed(version: u32) -> RoutingDocument {
    let mut doc = RoutingRules::embedded_default().document().clone();
    doc.version = version;
    let rule = serde_json::from_value(json!({
        "id": "eu-cards-not-globalpay",
        "when": { "country_groups": ["eu"], "methods": ["card"] },
        "exclude": ["globalpay"]
    }))
    .unwrap();
    doc.rules.insert(0, rule);
    doc.ranking.min_attempts = 50;
    doc
}

// ---------------------------------------------------------------------------------------------
// Versioned rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_embedded_rules_are_version_1_until_changed_and_reading_writes_nothing() {
    let f = fixture();
    let rules = active_routing_rules(&f.services).await.unwrap();
    assert_eq!(rules.version(), 1);
    assert_eq!(
        routing_rules_version(&f.services, 1)
            .await
            .unwrap()
            .version(),
        1
    );
    assert!(routing_rules_version(&f.services, 2).await.is_err());
    let history = routing_rules_history(&f.services, &principal(Role::Finance))
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(f.counts().await, (0, 0));
}

#[tokio::test]
async fn a_change_is_a_new_immutable_version_audited_item_by_item() {
    let f = fixture();
    let finance = principal(Role::Finance);
    let answer = update_routing_rules(&f.services, &finance, changed(2), None, "corr-rules")
        .await
        .unwrap();
    assert_eq!(answer.kind, AnswerKind::Done);
    assert_eq!(answer.body["version"], json!(2));

    let events = f.events("payment_routing", ROUTING_RULES_ID).await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["payment_routing.adopted", "payment_routing.updated"]
    );
    let update = &events[1];
    assert_eq!(update.actor.id, "finance-1");
    assert_eq!(update.correlation_id, "corr-rules");
    let fields: Vec<&str> = update.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "rule_count",
            "sha256",
            "version",
            "ranking",
            "rules.eu-cards-not-globalpay",
            "rule_order"
        ]
    );
    let added = &update.changes[4];
    assert_eq!(added.before, json!(null));
    assert_eq!(added.after["exclude"], json!(["globalpay"]));

    // Version 2 is in force; version 1 is still there for deposits routed under it.
    let active = active_routing_rules(&f.services).await.unwrap();
    assert_eq!(active.version(), 2);
    let decision = active.route(&card("100"), &Default::default());
    assert_eq!(decision.rules_version, 2);
    assert_eq!(
        decision.excluded("globalpay").unwrap().reasons,
        [Exclusion::ExcludedByRule {
            rule: "eu-cards-not-globalpay".into()
        }]
    );
    let v1 = routing_rules_version(&f.services, 1).await.unwrap();
    assert_eq!(v1.route(&card("100"), &Default::default()).rules_version, 1);
    assert!(
        v1.route(&card("100"), &Default::default())
            .candidate("globalpay")
            .is_some()
    );
    let history = routing_rules_history(&f.services, &principal(Role::Admin))
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|d| d.version).collect::<Vec<_>>(),
        [1, 2]
    );

    // A version is immutable: writing it again is refused by the store.
    let again = WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::payment_routing_version(2), 1, "{}"),
        condition: brokeros_store::Condition::NotExists,
    };
    assert!(f.commit(vec![again]).await.is_err());

    // An admin makes version 3; a stale editor still sending version 3 is refused.
    let mut v3 = changed(3);
    v3.rules.remove(0);
    update_routing_rules(&f.services, &principal(Role::Admin), v3.clone(), None, "c")
        .await
        .unwrap();
    let before = f.counts().await;
    let err = update_routing_rules(&f.services, &finance, v3, None, "c")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "routing_rules_version_conflict");
    assert_eq!(f.counts().await, before);
    let removed = f.events("payment_routing", ROUTING_RULES_ID).await;
    let last = removed.last().unwrap();
    let change = last
        .changes
        .iter()
        .find(|c| c.field == "rules.eu-cards-not-globalpay")
        .unwrap();
    assert_eq!(change.after, json!(null));
}

#[tokio::test]
async fn callers_other_than_finance_and_admin_are_refused_with_nothing_written() {
    let f = fixture();
    for role in [Role::Client, Role::Ib, Role::Sales, Role::Compliance] {
        let before = f.counts().await;
        let err = update_routing_rules(&f.services, &principal(role), changed(2), None, "c")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }), "{role}");
        assert_eq!(f.counts().await, before, "{role}");
        let err = set_provider_health(
            &f.services,
            HealthSetter::Ops(&principal(role)),
            "quickcard",
            Health::Down,
            "",
            "c",
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }), "{role}");
        assert_eq!(f.counts().await, before, "{role}");
    }
    assert_eq!(f.counts().await, (0, 0));
    assert!(
        routing_rules_history(&f.services, &principal(Role::Sales))
            .await
            .is_err()
    );
    // Compliance may read the history.
    assert!(
        routing_rules_history(&f.services, &principal(Role::Compliance))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn invalid_or_misnumbered_documents_are_refused_before_anything_is_adopted() {
    let f = fixture();
    let finance = principal(Role::Finance);
    let mut invalid = changed(2);
    invalid.rules[0] =
        serde_json::from_value(json!({ "id": "bad", "prefer": ["nobody"] })).unwrap();
    let err = update_routing_rules(&f.services, &finance, invalid, None, "c")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }));
    assert!(
        err.to_string()
            .contains("rule 'bad': unknown provider 'nobody'"),
        "{err}"
    );
    let err = update_routing_rules(&f.services, &finance, changed(3), None, "c")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "routing_rules_version_conflict");
    assert_eq!(f.counts().await, (0, 0));
}

#[tokio::test]
async fn a_replayed_change_answers_the_same_and_stores_one_version() {
    let mut f = fixture();
    // Idempotency records expire against the store's real clock.
    f.services.clock = Arc::new(brokeros_kernel::SystemClock);
    let finance = principal(Role::Finance);
    let body = serde_json::to_value(changed(2)).unwrap();
    let key = IdempotencyKey::new("routing-rules", "change-7", &body).unwrap();
    let first = update_routing_rules(&f.services, &finance, changed(2), Some(&key), "c")
        .await
        .unwrap();
    let counts = f.counts().await;
    let replay = update_routing_rules(&f.services, &finance, changed(2), Some(&key), "c")
        .await
        .unwrap();
    assert_eq!(first, replay);
    assert_eq!(f.counts().await, counts);
}

#[tokio::test]
async fn tampered_stored_rules_are_detected_by_their_digest() {
    let f = fixture();
    // A document no other test makes: compiled rules are cached per process by digest.
    let mut unique = changed(2);
    unique.max_attempts = 7;
    update_routing_rules(&f.services, &principal(Role::Admin), unique, None, "c")
        .await
        .unwrap();
    let key = keys::payment_routing_version(2);
    let stored = f
        .services
        .store
        .get(Table::Main, &key)
        .await
        .unwrap()
        .unwrap();
    let mut doc: RoutingDocument = serde_json::from_str(&stored.data).unwrap();
    doc.rules.clear();
    let forged = WriteOp::Put {
        table: Table::Main,
        item: Item::new(key, 2, serde_json::to_string(&doc).unwrap()),
        condition: brokeros_store::Condition::VersionIs(1),
    };
    f.commit(vec![forged]).await.unwrap();
    let err = active_routing_rules(&f.services).await.unwrap_err();
    assert!(err.to_string().contains("SHA-256 mismatch"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Provider statistics
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn volume_counters_add_up_across_shards_and_days_and_never_lose_an_update() {
    let f = fixture();
    let s = &f.services;
    for (n, amount) in ["100.50", "200", "0.25", "1000", "49.25"]
        .iter()
        .enumerate()
    {
        let deposit = format!("dep_{n}");
        let op = volume_increment(s, "cardpay-eu", eur(amount), NOW, &deposit)
            .await
            .unwrap();
        f.commit(vec![op]).await.unwrap();
    }
    let usd = Money::positive_in(dec("70"), "USD").unwrap();
    f.commit(vec![
        volume_increment(s, "cardpay-eu", usd, NOW, "dep_x")
            .await
            .unwrap(),
    ])
    .await
    .unwrap();
    // Yesterday's volume does not count today.
    let yesterday = NOW - time::Duration::days(1);
    f.commit(vec![
        volume_increment(s, "cardpay-eu", eur("5000"), yesterday, "dep_y")
            .await
            .unwrap(),
    ])
    .await
    .unwrap();

    let rules = active_routing_rules(s).await.unwrap();
    let stats = load_routing_stats(s, &rules, NOW).await.unwrap();
    let cardpay = stats.get("cardpay-eu").unwrap();
    assert_eq!(cardpay.volume_today("EUR"), dec("1350"));
    assert_eq!(cardpay.volume_today("USD"), dec("70"));

    // Two increments prepared from the same read: the second one to commit is refused, so
    // its deposit's transaction re-runs on fresh reads instead of losing 10 EUR.
    let a = volume_increment(s, "cardpay-eu", eur("10"), NOW, "dep_0")
        .await
        .unwrap();
    let b = volume_increment(s, "cardpay-eu", eur("10"), NOW, "dep_0")
        .await
        .unwrap();
    f.commit(vec![a]).await.unwrap();
    assert!(matches!(
        f.commit(vec![b]).await,
        Err(StoreError::ConditionFailed { .. })
    ));
    let b = volume_increment(s, "cardpay-eu", eur("10"), NOW, "dep_0")
        .await
        .unwrap();
    f.commit(vec![b]).await.unwrap();
    let stats = load_routing_stats(s, &rules, NOW).await.unwrap();
    assert_eq!(
        stats.get("cardpay-eu").unwrap().volume_today("EUR"),
        dec("1370")
    );
    let shards: BTreeSet<u32> = (0..5).map(|n| counter_shard(&format!("dep_{n}"))).collect();
    assert!(shards.len() > 1, "deposits spread over shards");
}

#[tokio::test]
async fn a_provider_at_its_daily_cap_is_excluded_by_routing_on_stored_volume() {
    let f = fixture();
    let s = &f.services;
    // cardpay-eu takes at most 2,000,000 EUR a day.
    for n in 0..4 {
        let op = volume_increment(s, "cardpay-eu", eur("499000"), NOW, &format!("big_{n}"))
            .await
            .unwrap();
        f.commit(vec![op]).await.unwrap();
    }
    let rules = active_routing_rules(s).await.unwrap();
    let stats = load_routing_stats(s, &rules, NOW).await.unwrap();
    assert!(
        rules
            .route(&card("4000"), &stats)
            .candidate("cardpay-eu")
            .is_some()
    );
    let d = rules.route(&card("4000.01"), &stats);
    assert!(matches!(
        d.excluded("cardpay-eu").unwrap().reasons[0],
        Exclusion::DailyCapReached { .. }
    ));
}

#[tokio::test]
async fn outcomes_count_per_hour_and_only_the_window_ranks_providers() {
    let f = fixture();
    let s = &f.services;
    let record = |provider: &'static str, outcome: Outcome, at: OffsetDateTime, n: usize| async move {
        for i in 0..n {
            let op = outcome_increment(s, provider, outcome, at, &format!("{provider}-{at}-{i}"))
                .await
                .unwrap();
            s.store.transact(vec![op]).await.unwrap();
        }
    };
    // quickcard: 30 successes, 10 declines in the window (75 %); cardpay: 40 of 40.
    record("quickcard", Outcome::Succeeded, NOW, 20).await;
    record(
        "quickcard",
        Outcome::Succeeded,
        NOW - time::Duration::hours(5),
        10,
    )
    .await;
    record(
        "quickcard",
        Outcome::Declined,
        NOW - time::Duration::hours(2),
        10,
    )
    .await;
    record(
        "cardpay-eu",
        Outcome::Succeeded,
        NOW - time::Duration::hours(1),
        40,
    )
    .await;
    // Outside the 6-hour window (the hour of NOW and the 5 before it), and across midnight.
    record(
        "cardpay-eu",
        Outcome::Declined,
        NOW - time::Duration::hours(6),
        50,
    )
    .await;

    let window = window_outcomes(s, NOW, 6).await.unwrap();
    let quick = window["quickcard"];
    assert_eq!((quick.succeeded, quick.declined, quick.failed), (30, 10, 0));
    assert_eq!(window["cardpay-eu"].declined, 0);
    let late = datetime!(2026-03-02 03:00:00 UTC);
    record("quickcard", Outcome::Failed, late, 3).await;
    let across = window_outcomes(s, late, 24).await.unwrap();
    assert_eq!(across["quickcard"].attempts(), 43);

    let rules = active_routing_rules(s).await.unwrap();
    let stats = load_routing_stats(s, &rules, NOW).await.unwrap();
    let d = rules.route(&card("1000"), &stats);
    // Without outcomes quickcard is the cheapest and first. With them: cardpay (100 %), then
    // globalpay (too few attempts: assumed 90 %), then quickcard (75 %).
    assert_eq!(d.order(), ["cardpay-eu", "globalpay", "quickcard"]);
    assert_eq!(
        d.candidate("quickcard").unwrap().success_rate.basis_points,
        7500
    );
}

#[tokio::test]
async fn health_set_by_ops_is_audited_and_outage_detection_only_makes_it_worse() {
    let f = fixture();
    let s = &f.services;
    let admin = principal(Role::Admin);
    let down = set_provider_health(
        s,
        HealthSetter::Ops(&admin),
        "quickcard",
        Health::Down,
        "maintenance",
        "c1",
    )
    .await
    .unwrap();
    assert_eq!(
        (down.health, down.source),
        (Health::Down, HealthSource::Ops)
    );
    let rules = active_routing_rules(s).await.unwrap();
    let stats = load_routing_stats(s, &rules, NOW).await.unwrap();
    assert_eq!(
        rules
            .route(&card("100"), &stats)
            .excluded("quickcard")
            .unwrap()
            .reasons,
        [Exclusion::HealthDown]
    );

    // Detection may not bring it back up while ops hold it down.
    let counts = f.counts().await;
    let kept = set_provider_health(s, HealthSetter::Detector, "quickcard", Health::Up, "", "c2")
        .await
        .unwrap();
    assert_eq!(kept, down);
    assert_eq!(f.counts().await, counts);
    // Setting the same health again writes nothing either.
    set_provider_health(
        s,
        HealthSetter::Ops(&admin),
        "quickcard",
        Health::Down,
        "again",
        "c3",
    )
    .await
    .unwrap();
    assert_eq!(f.counts().await, counts);

    let finance = principal(Role::Finance);
    set_provider_health(
        s,
        HealthSetter::Ops(&finance),
        "quickcard",
        Health::Up,
        "back",
        "c4",
    )
    .await
    .unwrap();
    let worse = set_provider_health(
        s,
        HealthSetter::Detector,
        "quickcard",
        Health::Degraded,
        "errors",
        "c5",
    )
    .await
    .unwrap();
    assert_eq!(
        (worse.health, worse.source),
        (Health::Degraded, HealthSource::Detector)
    );
    let events = f.events("psp_health", "quickcard").await;
    let actors: Vec<&str> = events.iter().map(|e| e.actor.id.as_str()).collect();
    assert_eq!(actors, ["admin-1", "finance-1", OUTAGE_DETECTOR]);

    let err = set_provider_health(
        s,
        HealthSetter::Ops(&admin),
        "nobody",
        Health::Down,
        "",
        "c",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
}

#[tokio::test]
async fn outage_detection_marks_failing_providers_and_puts_idle_ones_on_probation() {
    let f = fixture();
    let s = &f.services;
    for i in 0..12 {
        let outcome = if i < 7 {
            Outcome::Failed
        } else {
            Outcome::Succeeded
        };
        let op = outcome_increment(s, "coinbridge", outcome, NOW, &format!("d{i}"))
            .await
            .unwrap();
        f.commit(vec![op]).await.unwrap();
    }
    for i in 0..12 {
        let op = outcome_increment(s, "walletco", Outcome::Declined, NOW, &format!("w{i}"))
            .await
            .unwrap();
        f.commit(vec![op]).await.unwrap();
    }
    let changed = detect_outages(s, NOW, "scan-1").await.unwrap();
    assert_eq!(changed.len(), 1, "declines are not failures: {changed:?}");
    assert_eq!(
        (changed[0].provider_id.as_str(), changed[0].health),
        ("coinbridge", Health::Down)
    );
    assert!(
        changed[0].note.contains("7 of 12 attempts failed"),
        "{}",
        changed[0].note
    );
    assert!(detect_outages(s, NOW, "scan-2").await.unwrap().is_empty());

    // Two hours later nothing was tried there (it was down): probation, one step at a time.
    let later = NOW + time::Duration::hours(2);
    let step = detect_outages(s, later, "scan-3").await.unwrap();
    assert_eq!(step[0].health, Health::Degraded);
    assert!(detect_outages(s, later, "scan-4").await.unwrap().is_empty());
}
