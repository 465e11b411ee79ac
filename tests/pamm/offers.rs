//! PAMM offers through their use cases: the manager's proposal, an admin's governance, and
//! the refusals.

use brokeros_kernel::Error;
use brokeros_kernel::idempotency::IdempotencyKey;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_pamm::offers::{Governance, NewOffer, Reason, govern, offer, propose};
use brokeros_tests::people::{Identity, onboarded};
use serde_json::{Value, json};

use crate::harness::App;

fn principal(sub: &str, role: Role) -> Principal {
    Principal {
        sub: sub.to_string(),
        roles: [role].into(),
    }
}

fn terms() -> Value {
    json!({
        "currency": "USD",
        "performance_fee": [{ "from": "0", "percent": "25" }, { "from": "50000", "percent": "20" }],
        "management_fee": "2", "entry_fee": "0.5", "min_investment": "500",
        "min_manager_capital": "5000",
        "rollover": { "every": "day", "at": "00:00", "utc_offset": "+02:00" },
        "cutoff_minutes": 60, "lockup_days": 3, "ib_share": ["10", "5"], "notice_days": 14
    })
}

fn proposal(id: &str, login: u64, change: impl FnOnce(&mut Value)) -> NewOffer {
    let mut body = json!({ "offer_id": id, "name": "FX Alpha", "login": login, "terms": terms() });
    change(&mut body);
    serde_json::from_value(body).unwrap()
}

/// `result` is the refusal `code` (naming `field` when given) and nothing was written.
async fn assert_refused(
    app: &App,
    before: (u64, u64),
    result: Result<brokeros_kernel::Answer, Error>,
    code: &str,
    field: Option<&str>,
) {
    let error = result.expect_err(code);
    let body = error.body();
    assert_eq!(body.code, code, "{error:?}");
    if let Some(field) = field {
        assert_eq!(body.field.as_deref(), Some(field), "{error:?}");
    }
    assert_eq!(app.counts().await, before, "{code}: nothing written");
}

pub async fn an_offer_is_proposed_approved_suspended_and_reinstated_with_audit_events(app: App) {
    let (lee, login) = onboarded(
        &app,
        &Identity::of("portal-lee", "Lee", "lee@example.com", "C01X00T61"),
    )
    .await;
    let s = &app.services.pamm;
    let manager = principal(&lee.user, Role::Client);
    let admin = principal("admin-1", Role::Admin);
    let answer = propose(
        s,
        &manager,
        proposal("fx-alpha", login, |_| {}),
        None,
        "c-1",
    )
    .await
    .unwrap();
    let proposed = answer.body;
    assert_eq!(proposed["status"], "pending_approval", "{proposed}");
    assert_eq!(proposed["manager_client_id"], lee.client_id.as_str());
    assert_eq!(proposed["terms_in_force"]["version"], 1);

    // Proposed by the manager, approved by an admin; a second approval is refused.
    let approved = govern(
        s,
        &admin,
        "fx-alpha",
        Governance::Approve,
        None,
        None,
        "c-2",
    )
    .await
    .unwrap();
    assert_eq!(approved.body["status"], "active");
    assert_eq!(approved.body["approved_by"], "admin-1");
    let before = app.counts().await;
    let again = govern(
        s,
        &admin,
        "fx-alpha",
        Governance::Approve,
        None,
        None,
        "c-3",
    )
    .await;
    assert_refused(&app, before, again, "offer_status", None).await;

    // Suspended and reinstated with their reasons; the manager may not.
    let before = app.counts().await;
    let by_manager = govern(
        s,
        &manager,
        "fx-alpha",
        Governance::Suspend,
        Some(Reason { reason: "x".into() }),
        None,
        "c-4",
    )
    .await;
    assert_refused(&app, before, by_manager, "forbidden", None).await;
    let reason = |text: &str| {
        Some(Reason {
            reason: text.into(),
        })
    };
    govern(
        s,
        &admin,
        "fx-alpha",
        Governance::Suspend,
        reason("capital under the minimum"),
        None,
        "c-5",
    )
    .await
    .unwrap();
    let reinstated = govern(
        s,
        &admin,
        "fx-alpha",
        Governance::Reinstate,
        reason("capital restored"),
        None,
        "c-6",
    )
    .await
    .unwrap();
    assert_eq!(reinstated.body["status_reason"], "capital restored");
    assert_eq!(
        app.audit_actions("pamm_offer", "fx-alpha").await,
        [
            "pamm.offer_proposed",
            "pamm.offer_approved",
            "pamm.offer_suspended",
            "pamm.offer_reinstated"
        ]
    );

    // The manager reads their offer; so does any client, now that it is approved.
    assert_eq!(
        offer(s, &manager, "fx-alpha").await.unwrap()["status"],
        "active"
    );
    let other = principal("portal-someone", Role::Client);
    assert_eq!(
        offer(s, &other, "fx-alpha").await.unwrap()["id"],
        "fx-alpha"
    );

    // Replayed under its Idempotency-Key, a proposal answers the same and writes nothing.
    let key =
        IdempotencyKey::new("pamm-offer", "offer-key-1", &json!({ "offer": "fx-beta" })).unwrap();
    let first = propose(
        s,
        &admin,
        proposal("fx-beta", login, |b| {
            b["manager_client_id"] = json!(lee.client_id)
        }),
        Some(&key),
        "c-7",
    )
    .await
    .unwrap();
    let before = app.counts().await;
    let second = propose(
        s,
        &admin,
        proposal("fx-beta", login, |b| {
            b["manager_client_id"] = json!(lee.client_id)
        }),
        Some(&key),
        "c-8",
    )
    .await
    .unwrap();
    assert_eq!(first.body, second.body);
    assert_eq!(app.counts().await, before);
}

pub async fn offers_the_rules_refuse_write_nothing(app: App) {
    let (lee, login) = onboarded(
        &app,
        &Identity::of("portal-lee", "Lee", "lee@example.com", "C01X00T62"),
    )
    .await;
    let s = &app.services.pamm;
    let manager = principal(&lee.user, Role::Client);
    let before = app.counts().await;
    let cases: Vec<(NewOffer, &str, Option<&str>)> = vec![
        (
            proposal("o1", login, |b| {
                b["terms"]["performance_fee"][0]["percent"] = json!("101")
            }),
            "invalid_percent",
            Some("performance_fee[0].percent"),
        ),
        (
            proposal("o2", login, |b| {
                b["terms"]["ib_share"] = json!(["60", "41"])
            }),
            "invalid_percent",
            Some("ib_share"),
        ),
        (
            proposal("o3", login, |b| {
                b["terms"]["rollover"]["at"] = json!("25:00")
            }),
            "invalid_time",
            Some("rollover.at"),
        ),
        (
            proposal("o4", login, |b| b["terms"]["currency"] = json!("EUR")),
            "currency_mismatch",
            Some("login"),
        ),
        (proposal("o5", login + 1_000, |_| {}), "not_found", None),
        (
            proposal("o6", login, |b| b["name"] = json!("  ")),
            "invalid_name",
            Some("name"),
        ),
        (
            proposal("o7", login, |b| {
                b["manager_client_id"] = json!("cl-someone-else")
            }),
            "not_allowed",
            Some("manager_client_id"),
        ),
        (
            proposal("bad id!", login, |_| {}),
            "invalid_code",
            Some("offer_id"),
        ),
    ];
    for (body, code, field) in cases {
        let result = propose(s, &manager, body, None, "c-1").await;
        assert_refused(&app, before, result, code, field).await;
    }
    // Another role may not propose; an id taken is refused.
    let sales = principal("sales-1", Role::Sales);
    let result = propose(s, &sales, proposal("o8", login, |_| {}), None, "c-2").await;
    assert_refused(&app, before, result, "forbidden", None).await;
    propose(s, &manager, proposal("taken", login, |_| {}), None, "c-3")
        .await
        .unwrap();
    let before = app.counts().await;
    let result = propose(s, &manager, proposal("taken", login, |_| {}), None, "c-4").await;
    assert_refused(&app, before, result, "offer_exists", None).await;
    // A suspension needs a reason.
    let admin = principal("admin-1", Role::Admin);
    govern(s, &admin, "taken", Governance::Approve, None, None, "c-5")
        .await
        .unwrap();
    let before = app.counts().await;
    let result = govern(
        s,
        &admin,
        "taken",
        Governance::Suspend,
        Some(Reason { reason: " ".into() }),
        None,
        "c-6",
    )
    .await;
    assert_refused(&app, before, result, "required", Some("reason")).await;
}
