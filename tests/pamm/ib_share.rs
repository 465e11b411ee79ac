//! An investor's fees shared with their IB chain through the ledger: each level its share of
//! the offer's terms into the IB's payable, the manager the rest; a client without an IB
//! leaves the whole fee to the manager.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_ledger::model::AccountId;
use brokeros_tests::people::{Identity, onboarded};
use serde_json::{Value, json};

use crate::cycle::{approved_offer, dec, plain_terms, request, roll_at};
use crate::harness::{App, token};

fn partners() -> String {
    token("pm-1", Role::Partners)
}

/// An approved IB under `parent`, on plan `standard`.
async fn new_ib(app: &App, name: &str, parent: Option<&str>) -> String {
    let (status, application) = app
        .send(
            Call::post(
                "/partners/applications",
                &json!({ "name": name, "payout_currency": "USD", "parent_ib_id": parent }),
            )
            .token(&partners()),
        )
        .await;
    assert_eq!(status, 201, "{application}");
    let path = format!(
        "/partners/applications/{}/approve",
        application["id"].as_str().unwrap()
    );
    let (status, ib) = app
        .send(
            Call::post(
                &path,
                &json!({ "plans": ["standard"], "referral_codes": [] }),
            )
            .token(&partners()),
        )
        .await;
    assert_eq!(status, 201, "{ib}");
    ib["id"].as_str().unwrap().to_string()
}

async fn store_plan(app: &App) {
    let from = (time::OffsetDateTime::now_utc() + time::Duration::minutes(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let plan = json!({
        "id": "standard", "version": 1, "effective_from": from,
        "currency": "USD", "period": "monthly", "earn_on": "close",
        "min_lots": "0.1", "min_hold_seconds": 60, "exclude_hedged": true,
        "rules": [{ "id": "all", "priority": 0, "match": {}, "earns": { "per_lot": "5" } }],
        "levels": { "mode": "fixed", "percents": ["80", "20"] }
    });
    let (status, body) = app
        .send(Call::post("/partners/plans", &plan).token(&partners()))
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn payable(app: &App, ib: &str) -> rust_decimal::Decimal {
    let usd = brokeros_kernel::money::Currency::from_code("USD").unwrap();
    let account = AccountId::ib_payable(ib, usd).unwrap();
    brokeros_ledger::balance(&app.services, &account)
        .await
        .unwrap()
        .available
}

pub async fn an_investors_fees_are_shared_with_their_ib_chain(app: App) {
    let offer = "mia-fx";
    let mut terms: Value = plain_terms();
    terms["entry_fee"] = json!("1");
    terms["ib_share"] = json!(["50", "20"]);
    let (manager, _) = approved_offer(&app, offer, terms).await;
    store_plan(&app).await;
    let master = new_ib(&app, "Master", None).await;
    let sub = new_ib(&app, "Sub", Some(&master)).await;
    let (ann, _) = onboarded(
        &app,
        &Identity::of("portal-ann", "Ann", "ann@example.com", "C01X00T63"),
    )
    .await;
    let (status, body) = app
        .send(
            Call::post(
                &format!("/partners/clients/{}/ib", ann.client_id),
                &json!({ "ib_id": sub }),
            )
            .token(&partners()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.credit_wallet(&manager.client_id, "dep-mia-1", "2000.00")
        .await;
    app.credit_wallet(&ann.client_id, "dep-ann-1", "1000.00")
        .await;
    let capital = request(
        &app,
        &manager,
        offer,
        json!({ "request_id": "mia-capital", "kind": "invest", "amount": "2000.00" }),
    )
    .await;
    let due = |r: &Value| {
        time::OffsetDateTime::parse(
            r["due_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    roll_at(&app, offer, due(&capital)).await;
    let investment = request(
        &app,
        &ann,
        offer,
        json!({ "request_id": "ann-1", "kind": "invest", "amount": "1000.00" }),
    )
    .await;
    let rollover = roll_at(&app, offer, due(&investment)).await;
    // 1 % entry fee on 1000.00: 10.00, of which the sub-IB 50 %, the master 20 %, the manager 30 %.
    assert_eq!(rollover.fees.entry, dec("10.00"));
    assert_eq!(payable(&app, &sub).await, dec("5.00"));
    assert_eq!(payable(&app, &master).await, dec("2.00"));
    assert_eq!(
        app.wallet(&manager.client_id, "USD").await,
        (dec("3.00"), dec("0"))
    );
    // 990.00 invested at NAV 1.
    let investors = brokeros_pamm::reads::investors(
        &app.services.pamm,
        &crate::cycle::client(&manager),
        offer,
        Default::default(),
    )
    .await
    .unwrap();
    let ann_units = investors["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["client_id"] == ann.client_id.as_str())
        .map(|h| crate::cycle::num(&h["units"]))
        .unwrap();
    assert_eq!(ann_units, dec("990"));
}
