//! Commission plans as versioned configuration over HTTP: partner managers (and finance,
//! admins) store versions that take effect from now on, each audited with what it changed;
//! plans that are inconsistent or backdated are refused with nothing written.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::{App, token};
use crate::partners::{pm, refused};

fn in_minutes(minutes: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::minutes(minutes))
        .format(&Rfc3339)
        .unwrap()
}

fn plan(version: u32, effective_from: &str, majors_rate: &str) -> Value {
    plan_named("standard", version, effective_from, majors_rate)
}

/// Version `version` of plan `id`: monthly, majors at `majors_rate` a lot, half the commission
/// on anything else, 80 % to the client's IB and 20 % to the one above.
pub(crate) fn plan_named(id: &str, version: u32, effective_from: &str, majors_rate: &str) -> Value {
    json!({
        "id": id, "version": version, "effective_from": effective_from,
        "currency": "USD", "period": "monthly", "earn_on": "close",
        "min_lots": "0.1", "min_hold_seconds": 60, "exclude_hedged": true,
        "rules": [
            { "id": "majors", "priority": 10, "match": { "symbol_groups": ["majors"] },
              "earns": { "per_lot": majors_rate } },
            { "id": "other", "priority": 0, "match": {}, "earns": { "commission_share": "50" } }
        ],
        "levels": { "mode": "fixed", "percents": ["80", "20"], "cap_per_deal": "15" }
    })
}

/// Stores `document` as a plan version through the API, as a partner manager.
pub(crate) async fn store_plan_document(app: &App, document: &Value) {
    let (status, record) = app
        .send(Call::post("/partners/plans", document).token(&pm()))
        .await;
    assert_eq!(status, 201, "{record}");
}

/// Makes sure plan `id` is stored, so an agreement may name it: when it is not, stores its
/// first version ([`plan_named`], from a minute from now).
pub(crate) async fn ensure_plan(app: &App, id: &str) {
    let (status, _) = app
        .send(Call::get(&format!("/partners/plans/{id}")).token(&pm()))
        .await;
    if status == 404 {
        store_plan_document(app, &plan_named(id, 1, &in_minutes(1), "10")).await;
    } else {
        assert_eq!(status, 200, "plan {id} reads");
    }
}

pub async fn plan_versions_are_stored_audited_and_listed(app: App) {
    let (status, record) = app
        .send(Call::post("/partners/plans", &plan(1, &in_minutes(5), "10")).token(&pm()))
        .await;
    assert_eq!(status, 201, "{record}");
    assert_eq!(record["versions"].as_array().unwrap().len(), 1);
    let v2 = plan(2, &in_minutes(60), "12");
    let (status, record) = app
        .send(Call::post("/partners/plans", &v2).token(&token("fin-1", Role::Finance)))
        .await;
    assert_eq!(status, 201, "{record}");
    let versions = record["versions"].as_array().unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| v["version"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(
        versions[1]["effective_from_msc"].as_i64() > versions[0]["effective_from_msc"].as_i64()
    );

    let (status, stored) = app
        .send(Call::get("/partners/plans/standard").token(&pm()))
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["versions"][1]["rules"][0]["earns"]["per_lot"], "12");
    let (status, list) = app.send(Call::get("/partners/plans").token(&pm())).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["id"], "standard");

    assert_eq!(
        app.audit_actions("commission_plan", "standard").await,
        ["commission_plan.created", "commission_plan.version_added"]
    );
    let query = brokeros_store::Query::new(
        brokeros_store::Table::Audit,
        None,
        "commission_plan#standard".to_string(),
    );
    let events = app.store.query(query).await.unwrap().items;
    let second: Value = serde_json::from_str(&events[1].data).unwrap();
    let fields: Vec<&str> = second["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"document.rules.majors"), "{fields:?}");
    assert!(!fields.contains(&"document.rules.other"), "{fields:?}");

    // Readers outside the partner business are refused.
    let (status, _) = app
        .send(Call::get("/partners/plans").token(&token("sales-1", Role::Sales)))
        .await;
    assert_eq!(status, 403);
}

pub async fn bad_plans_write_nothing(app: App) {
    let (status, body) = app
        .send(Call::post("/partners/plans", &plan(1, &in_minutes(5), "10")).token(&pm()))
        .await;
    assert_eq!(status, 201, "{body}");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut p = plan(2, &in_minutes(30), "10");
        change(&mut p);
        p
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            with(&|p| p["rules"][1]["priority"] = json!(10)),
            400,
            "overlapping_rules",
        ),
        (
            with(&|p| p["rules"][0]["earns"]["per_lot"] = json!("-1")),
            400,
            "negative_rate",
        ),
        (
            with(&|p| p["levels"]["percents"] = json!(["80", "30"])),
            400,
            "level_shares_over_100",
        ),
        (
            with(&|p| p["rules"][0]["match"]["symbol_groups"] = json!(["exotics"])),
            400,
            "unknown_symbol_group",
        ),
        (with(&|p| p["colour"] = json!("red")), 400, "invalid_plan"),
        (
            with(&|p| p["effective_from"] = json!("2020-01-01T00:00:00Z")),
            400,
            "plan_backdated",
        ),
        (
            with(&|p| p["version"] = json!(3)),
            409,
            "plan_version_conflict",
        ),
        (
            with(&|p| p["effective_from"] = json!(in_minutes(1))),
            400,
            "plan_version_out_of_order",
        ),
        // What beneficiaries carry between statements is kept per kind of period.
        (
            with(&|p| p["period"] = json!("daily")),
            400,
            "plan_period_changed",
        ),
    ];
    for (document, status, code) in cases {
        refused(
            &app,
            Call::post("/partners/plans", &document).token(&pm()),
            status,
            code,
        )
        .await;
    }
    refused(
        &app,
        Call::post("/partners/plans", &plan(2, &in_minutes(30), "10"))
            .token(&token("sales-1", Role::Sales)),
        403,
        "forbidden",
    )
    .await;
    refused(
        &app,
        Call::post("/partners/plans", &plan(2, &in_minutes(30), "10"))
            .token(&token("ib-user", Role::Ib)),
        403,
        "forbidden",
    )
    .await;
}
