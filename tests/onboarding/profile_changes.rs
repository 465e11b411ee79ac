//! Changes of an approved client's KYC profile (`PUT /clients/{id}/profile`): material fields
//! (per jurisdiction) are re-screened and, where the rules say so, re-verified through the
//! onboarding workflow, with money held meanwhile; a change that makes the client ineligible is
//! never left approved; non-material changes leave the approval alone; the jurisdiction rules
//! that say which fields are material refuse names they do not know.

use brokeros_http::client::Call;
use brokeros_kernel::keys::audit_stream;
use brokeros_kernel::principal::Role;
use brokeros_sfn::ExecutionStatus;
use brokeros_store::{Query, Table};
use serde_json::{Value, json};

use crate::harness::{App, token};

const CLEAR: &str = "C01X00T47";

fn profile() -> Value {
    json!({
        "client_type": "individual", "date_of_birth": "1990-01-15", "nationality": "DE",
        "residence_country": "DE", "source_of_funds": "salary", "pep_declared": false
    })
}

/// Registers an individual resident in Germany with the portal login `user` (as their account
/// manager) and onboards them; answers the client id once KYC approved them.
async fn approved_client(app: &App, last_name: &str, user: &str) -> String {
    let sales = token("sales-1", Role::Sales);
    let body = json!({
        "first_name": "Anna", "last_name": last_name, "country": "DE", "user_id": user,
        "email": format!("{}@example.com", last_name.to_lowercase()), "profile": profile()
    });
    let (status, client) = app.send(Call::post("/clients", &body).token(&sales)).await;
    assert_eq!(status, 201, "{client}");
    let id = client["id"].as_str().unwrap().to_string();
    for document in [
        json!({ "type": "passport", "issuing_country": "DE", "number": CLEAR }),
        json!({ "type": "proof_of_address", "issuing_country": "DE", "number": "POA-2026-0001" }),
    ] {
        let path = format!("/clients/{id}/documents");
        let (status, reply) = app.send(Call::post(&path, &document).token(&sales)).await;
        assert_eq!(status, 201, "{reply}");
    }
    let (_, arn) = app.start(&id).await;
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(app.client(&id).await["kyc_status"], "approved");
    id
}

async fn put_profile(app: &App, client_id: &str, user: &str, body: &Value) -> (u16, Value) {
    let path = format!("/clients/{client_id}/profile");
    app.send(Call::put(&path, body).token(&token(user, Role::Client)))
        .await
}

async fn withdraw(app: &App, client_id: &str, user: &str, id: &str) -> (u16, Value) {
    let body = json!({
        "withdrawal_id": id, "amount": "50.00", "currency": "USD", "method": "card",
        "destination": "4111111111111111"
    });
    let path = format!("/clients/{client_id}/withdrawals");
    app.send(Call::post(&path, &body).token(&token(user, Role::Client)))
        .await
}

/// The client's KYC checks, newest first, as compliance reads them (a listing, which may lag:
/// the indexes catch up first).
async fn checks(app: &App, client_id: &str) -> Vec<Value> {
    app.catch_up_indexes();
    let compliance = token("compliance-1", Role::Compliance);
    let path = format!("/clients/{client_id}/kyc/checks");
    let (status, checks) = app.send(Call::get(&path).token(&compliance)).await;
    assert_eq!(status, 200, "{checks}");
    checks["items"].as_array().unwrap().clone()
}

async fn onboardings(app: &App, client_id: &str) -> Vec<Value> {
    app.catch_up_indexes();
    let admin = token("admin-1", Role::Admin);
    let path = format!("/clients/{client_id}/onboarding");
    let (status, list) = app.send(Call::get(&path).token(&admin)).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

/// An entity's audit events, oldest first.
async fn events(app: &App, entity_type: &str, id: &str) -> Vec<Value> {
    let query = Query::new(Table::Audit, None, audit_stream(entity_type, id)).limit(500);
    let page = app.store.query(query).await.unwrap();
    page.items
        .iter()
        .map(|i| serde_json::from_str(&i.data).unwrap())
        .collect()
}

fn change<'e>(event: &'e Value, field: &str) -> &'e Value {
    event["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == field)
        .map(|c| &c["after"])
        .unwrap_or_else(|| panic!("no change of {field} in {event}"))
}

fn reason_codes(check: &Value) -> Vec<&str> {
    check["decision"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect()
}

fn reverification_arn(client: &Value) -> String {
    let onboarding_id = client["reverification"]["onboarding_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a re-verifying onboarding: {client}"));
    brokeros_sfn::execution_arn("onboarding", onboarding_id)
}

/// The probe of issue 11: an approved client rewrites their profile into a minor, national and
/// resident of a sanctioned country, and a politically exposed person.
pub async fn an_approved_client_made_ineligible_by_their_profile_is_no_longer_approved(app: App) {
    let user = "portal-berg";
    let client_id = approved_client(&app, "Berg", user).await;
    app.credit_wallet(&client_id, "dep_berg", "300.00").await;
    let ten_years_old = time::OffsetDateTime::now_utc().date() - time::Duration::days(3653);
    let mut rewritten = profile();
    rewritten["date_of_birth"] = json!(ten_years_old.to_string());
    rewritten["nationality"] = json!("KP");
    rewritten["residence_country"] = json!("KP");
    rewritten["pep_declared"] = json!(true);

    let (status, client) = put_profile(&app, &client_id, user, &rewritten).await;
    assert_eq!(status, 200, "{client}");
    assert_ne!(client["kyc_status"], "approved", "{client}");
    assert_eq!(client["kyc_status"], "pending", "{client}");
    assert_eq!(client["profile_change"]["effect"], "reverify", "{client}");
    assert_eq!(
        client["profile_change"]["material_fields"],
        json!([
            "date_of_birth",
            "nationality",
            "residence_country",
            "pep_declared"
        ])
    );
    assert_eq!(
        client["reverification"]["while_reverifying"],
        json!({ "withdrawals": "blocked", "deposits": "held" })
    );

    // At once: a withdrawal is refused, and nothing of it is written.
    let (status, refused) = withdraw(&app, &client_id, user, "wd_berg_1").await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "withdrawals_blocked", "{refused}");
    let admin = token("admin-1", Role::Admin);
    let (status, _) = app
        .send(Call::get("/withdrawals/wd_berg_1").token(&admin))
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        ("300.00".parse().unwrap(), "0.00".parse().unwrap())
    );

    // The re-verification runs the onboarding workflow, whose check the hard rules reject.
    let done = app.finished(&reverification_arn(&client)).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "rejected");
    let after = app.client(&client_id).await;
    assert_eq!(after["kyc_status"], "rejected", "{after}");
    assert_eq!(
        after["trading_accounts"].as_array().unwrap().len(),
        1,
        "{after}"
    );
    let checks = checks(&app, &client_id).await;
    assert_eq!(checks.len(), 3, "onboarding, re-screening, re-verification");
    let (reverified, rescreened) = (&checks[0], &checks[1]);
    assert_eq!(reverified["trigger"]["kind"], "profile_changed");
    assert_eq!(reverified["decision"]["outcome"], "reject");
    assert!(
        reverified["provider"].is_null(),
        "nothing sent to the provider"
    );
    for code in [
        "under_minimum_age",
        "nationality_blacklisted",
        "residence_not_allowed",
    ] {
        assert!(reason_codes(reverified).contains(&code), "{reverified}");
    }
    assert_eq!(rescreened["scope"], "screening");
    assert_eq!(rescreened["decision"]["outcome"], "reject");

    // Still nothing moves, and a refused request writes nothing.
    let before = app.counts().await;
    let (status, refused) = withdraw(&app, &client_id, user, "wd_berg_2").await;
    assert_eq!(
        (status, &refused["code"]),
        (409, &json!("withdrawals_blocked"))
    );
    let deposit = json!({ "deposit_id": "dep_berg_2", "amount": "100.00", "currency": "USD", "method": "card" });
    let (status, refused) = app
        .send(
            Call::post(&format!("/clients/{client_id}/deposits"), &deposit)
                .token(&token(user, Role::Client)),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(app.counts().await, before);

    // Audited: the change names its material fields and what it set off; the re-verification
    // has its own events.
    let client_events = events(&app, "client", &client_id).await;
    let started = client_events
        .iter()
        .find(|e| e["action"] == "client.reverification_started")
        .expect("the change's event");
    let what = change(started, "profile_change");
    assert_eq!(what["effect"], "reverify");
    assert_eq!(
        what["material_fields"],
        json!([
            "date_of_birth",
            "nationality",
            "residence_country",
            "pep_declared"
        ])
    );
    assert_eq!(what["rescreen_check_id"], rescreened["id"]);
    assert_eq!(change(started, "kyc_status"), "pending");
    let onboarding_id = what["onboarding_id"].as_str().unwrap();
    let actions: Vec<Value> = events(&app, "onboarding", onboarding_id)
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions[0], "onboarding.reverification_started");
    assert!(
        actions.contains(&json!("onboarding.rejected")),
        "{actions:?}"
    );
    let rescreen_events = events(&app, "kyc_check", rescreened["id"].as_str().unwrap()).await;
    assert_eq!(rescreen_events[0]["action"], "kyc_check.rescreened");
}

pub async fn a_change_of_a_field_that_is_not_material_leaves_the_approval_alone(app: App) {
    let user = "portal-weber";
    let client_id = approved_client(&app, "Weber", user).await;
    let mut savings = profile();
    savings["source_of_funds"] = json!("savings");
    let (status, client) = put_profile(&app, &client_id, user, &savings).await;
    assert_eq!(status, 200, "{client}");
    assert_eq!(client["kyc_status"], "approved");
    assert_eq!(
        client["profile_change"],
        json!({ "material_fields": [], "effect": "none" })
    );
    assert!(client.get("reverification").is_none(), "{client}");
    assert_eq!(checks(&app, &client_id).await.len(), 1, "not re-screened");
    assert_eq!(onboardings(&app, &client_id).await.len(), 1);
    let last = events(&app, "client", &client_id).await.pop().unwrap();
    assert_eq!(last["action"], "client.profile_updated");
    assert_eq!(change(&last, "profile_change")["effect"], "none");

    // The approval stands: money moves.
    app.credit_wallet(&client_id, "dep_weber", "300.00").await;
    let (status, accepted) = withdraw(&app, &client_id, user, "wd_weber").await;
    assert_eq!(status, 202, "{accepted}");
}

/// Compliance puts the EU rules at re-screening only: a material change re-screens and, clear,
/// keeps the approval; one the re-screening does not clear (a declared PEP) is re-verified,
/// with withdrawals blocked and deposits held in the wallet until compliance approves again.
pub async fn under_rescreen_only_rules_a_clear_material_change_stays_approved(app: App) {
    let compliance = token("compliance-1", Role::Compliance);
    let (status, history) = app
        .send(Call::get("/compliance/jurisdictions/eu").token(&compliance))
        .await;
    assert_eq!(status, 200, "{history}");
    let mut eu = history["items"][0].clone();
    eu["version"] = json!(2);
    eu["profile_changes"]["on_material_change"] = json!("rescreen");
    let (status, reply) = app
        .send(Call::put("/compliance/jurisdictions", &eu).token(&compliance))
        .await;
    assert_eq!(status, 200, "{reply}");

    let user = "portal-schmidt";
    let client_id = approved_client(&app, "Schmidt", user).await;
    let mut moved = profile();
    moved["address"] =
        json!({ "line1": "Hauptstrasse 5", "city": "Berlin", "postal_code": "10115" });
    let (status, client) = put_profile(&app, &client_id, user, &moved).await;
    assert_eq!(status, 200, "{client}");
    assert_eq!(client["kyc_status"], "approved", "{client}");
    assert_eq!(
        client["profile_change"],
        json!({ "material_fields": ["address"], "effect": "rescreened" })
    );
    assert!(client.get("reverification").is_none(), "{client}");
    let rescreened = &checks(&app, &client_id).await[0];
    assert_eq!(rescreened["scope"], "screening");
    assert_eq!(
        rescreened["trigger"],
        json!({ "kind": "profile_changed", "fields": ["address"] })
    );
    assert_eq!(rescreened["decision"]["outcome"], "approve");
    assert_eq!(
        rescreened["jurisdiction"],
        json!({ "id": "eu", "version": 2 })
    );
    assert_eq!(
        onboardings(&app, &client_id).await.len(),
        1,
        "no re-verification"
    );
    let last = events(&app, "client", &client_id).await.pop().unwrap();
    assert_eq!(last["action"], "client.profile_rescreened");

    // A declared PEP is not clear: re-verified, through a compliance review.
    let mut pep = moved.clone();
    pep["pep_declared"] = json!(true);
    let (status, client) = put_profile(&app, &client_id, user, &pep).await;
    assert_eq!(status, 200, "{client}");
    assert_eq!(client["kyc_status"], "pending", "{client}");
    assert_eq!(client["profile_change"]["effect"], "reverify");
    let onboarding_id = client["reverification"]["onboarding_id"]
        .as_str()
        .unwrap()
        .to_string();
    let arn = reverification_arn(&client);
    let review = app.pending_review(&onboarding_id, "compliance").await;
    app.waiting_task_checkpointed(&arn).await;
    assert_eq!(app.client(&client_id).await["kyc_status"], "in_review");

    // While it is verified: no material change, no withdrawal, and neither writes anything.
    let before = app.counts().await;
    let mut again = pep.clone();
    again["nationality"] = json!("AT");
    let (status, refused) = put_profile(&app, &client_id, user, &again).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "verification_in_progress");
    let (status, refused) = withdraw(&app, &client_id, user, "wd_schmidt").await;
    assert_eq!(
        (status, &refused["code"]),
        (409, &json!("withdrawals_blocked"))
    );
    assert_eq!(app.counts().await, before);

    // A deposit is received and credited, but held in the wallet.
    app.run_payment_providers();
    let created = app
        .create_deposit(&client_id, "dep_schmidt", "100.00", "USD")
        .await;
    assert_eq!(created["status"], "created");
    let deposited = app
        .finished(&brokeros_sfn::execution_arn("deposit", "dep_schmidt"))
        .await;
    assert_eq!(
        deposited.status,
        ExecutionStatus::Succeeded,
        "{deposited:?}"
    );
    let deposit = app.deposit("dep_schmidt").await;
    assert_eq!(deposit["status"], "credited", "{deposit}");
    assert_eq!(deposit["funding"]["status"], "skipped", "{deposit}");
    assert!(
        deposit["funding"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("held in the wallet"),
        "{deposit}"
    );
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        ("100.00".parse().unwrap(), "0.00".parse().unwrap())
    );

    // Compliance approves: the approval holds again, on the account the client has.
    let (status, decided) = app
        .decide(
            review["id"].as_str().unwrap(),
            "compliance-1",
            Role::Compliance,
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let after = app.client(&client_id).await;
    assert_eq!(after["kyc_status"], "approved", "{after}");
    assert!(after.get("reverification").is_none(), "{after}");
    assert_eq!(after["trading_accounts"].as_array().unwrap().len(), 1);
    let reverified = &checks(&app, &client_id).await[0];
    assert_eq!(
        reverified["trigger"],
        json!({ "kind": "profile_changed", "fields": ["pep_declared"] })
    );
}

pub async fn jurisdiction_rules_refuse_profile_fields_they_do_not_know(app: App) {
    let compliance = token("compliance-1", Role::Compliance);
    let (_, history) = app
        .send(Call::get("/compliance/jurisdictions/row").token(&compliance))
        .await;
    let mut row = history["items"][0].clone();
    row["version"] = json!(2);
    let before = app.counts().await;

    let mut unknown = row.clone();
    unknown["profile_changes"]["material_fields"] = json!(["client_type", "favourite_colour"]);
    let (status, refused) = app
        .send(Call::put("/compliance/jurisdictions", &unknown).token(&compliance))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["field"]
            .as_str()
            .unwrap()
            .starts_with("profile_changes.material_fields"),
        "{refused}"
    );
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("favourite_colour"),
        "{refused}"
    );

    let mut without_type = row.clone();
    without_type["profile_changes"]["material_fields"] = json!(["date_of_birth"]);
    let (status, refused) = app
        .send(Call::put("/compliance/jurisdictions", &without_type).token(&compliance))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("client_type"),
        "{refused}"
    );

    let mut unknown_rule = row.clone();
    unknown_rule["profile_changes"]["while_reverifying"]["deposits"] = json!("sometimes");
    let (status, _) = app
        .send(Call::put("/compliance/jurisdictions", &unknown_rule).token(&compliance))
        .await;
    assert_eq!(status, 400);
    assert_eq!(app.counts().await, before, "refusals write nothing");

    let mut narrower = row;
    narrower["profile_changes"]["material_fields"] = json!(["client_type", "date_of_birth"]);
    let (status, reply) = app
        .send(Call::put("/compliance/jurisdictions", &narrower).token(&compliance))
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["profile_changes"]["material_fields"],
        json!(["date_of_birth", "client_type"])
    );
}
