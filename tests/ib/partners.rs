//! Partners end to end: what partner managers and IBs do over HTTP, and the tree the commission
//! engine will read ([`brokeros_ib::load_hierarchy`]).

use std::sync::Arc;
use std::time::Instant;

use brokeros_app::config::BrokerConfig;
use brokeros_http::client::Call;
use brokeros_ib::model::{AttributionPolicy, Ib, Millis};
use brokeros_kernel::AheadClock;
use brokeros_kernel::principal::Role;
use brokeros_sfn::ExecutionStatus;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::{App, Build, token};

/// A passport number the simulated KYC provider clears.
pub(crate) const CLEAR: &str = "C01X00T47";

pub(crate) fn pm() -> String {
    token("pm-1", Role::Partners)
}

pub(crate) fn text(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

pub(crate) fn msc(at: OffsetDateTime) -> Millis {
    brokeros_ib::millis(at)
}

pub(crate) async fn post(app: &App, path: &str, body: Value, token: &str) -> (u16, Value) {
    app.send(Call::post(path, &body).token(token)).await
}

pub(crate) async fn get(app: &App, path: &str, token: &str) -> (u16, Value) {
    app.send(Call::get(path).token(token)).await
}

/// An application by a partner manager, approved with plan `standard` (stored first when it is
/// not): answers the IB's id.
pub(crate) async fn new_ib(
    app: &App,
    name: &str,
    parent: Option<&str>,
    user: Option<&str>,
    codes: &[(&str, &str)],
) -> String {
    let (status, application) = post(
        app,
        "/partners/applications",
        json!({ "name": name, "payout_currency": "USD", "parent_ib_id": parent, "user_id": user }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{application}");
    let codes: Vec<Value> = codes
        .iter()
        .map(|(code, campaign)| json!({ "code": code, "campaign": campaign }))
        .collect();
    let path = format!(
        "/partners/applications/{}/approve",
        application["id"].as_str().unwrap()
    );
    crate::plans::ensure_plan(app, "standard").await;
    let (status, ib) = post(
        app,
        &path,
        json!({ "plans": ["standard"], "referral_codes": codes }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{ib}");
    ib["id"].as_str().unwrap().to_string()
}

async fn ib(app: &App, id: &str) -> Value {
    let (status, ib) = get(app, &format!("/partners/ibs/{id}"), &pm()).await;
    assert_eq!(status, 200, "{ib}");
    ib
}

/// A client registered by its account manager and onboarded: its id and trading login.
pub(crate) async fn onboarded_client(app: &App, last_name: &str) -> (String, u64) {
    let client_id = app.register(last_name, CLEAR).await;
    let (_, arn) = app.start(&client_id).await;
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let login = done.output.unwrap()["account"]["login"].as_u64().unwrap();
    (client_id, login)
}

/// Asserts `request` is refused with `status` and `code` and writes nothing; answers the
/// refusal's body.
pub(crate) async fn refused(app: &App, request: Call<'_>, status: u16, code: &str) -> Value {
    let before = app.counts().await;
    let (got, body) = app.send(request).await;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(app.counts().await, before, "{code}: nothing written");
    body
}

pub async fn an_approved_application_makes_an_ib_with_wallet_codes_and_agreement(app: App) {
    for plan in ["standard", "std-rebate", "cpa-2026"] {
        crate::plans::ensure_plan(&app, plan).await;
    }
    let anna = token("u-anna", Role::Client);
    let (status, client) = post(
        &app,
        "/clients",
        json!({ "first_name": "Anna", "country": "DE", "email": "anna@example.com" }),
        &anna,
    )
    .await;
    assert_eq!(status, 201, "{client}");
    let (status, application) = post(
        &app,
        "/ib/applications",
        json!({ "name": "Anna Partners", "payout_currency": "EUR" }),
        &anna,
    )
    .await;
    assert_eq!(status, 201, "{application}");
    assert_eq!(application["status"], "pending");
    assert_eq!(application["user_id"], "u-anna");
    assert_eq!(application["client_id"], client["id"]);
    let application_id = application["id"].as_str().unwrap().to_string();
    app.catch_up_indexes();
    let (status, queue) = get(&app, "/partners/applications", &pm()).await;
    assert_eq!(status, 200, "{queue}");
    assert!(
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == application_id.as_str()),
        "{queue}"
    );
    // A client cannot review, nor read another's application.
    refused(
        &app,
        Call::post(
            &format!("/partners/applications/{application_id}/approve"),
            &json!({ "plans": ["standard"], "referral_codes": [] }),
        )
        .token(&anna),
        403,
        "forbidden",
    )
    .await;

    let before = app.counts().await;
    let approval = json!({
        "plans": ["std-rebate", "cpa-2026"],
        "referral_codes": [
            { "code": "ANNA-SPRING", "campaign": "spring", "utm": { "source": "ib", "medium": "social" } },
            { "code": "ANNA-WEB", "campaign": "web" }
        ],
        "sub_ib_allowance": 3
    });
    let path = format!("/partners/applications/{application_id}/approve");
    let (status, created) = post(&app, &path, approval.clone(), &pm()).await;
    assert_eq!(status, 201, "{created}");
    let after = app.counts().await;
    // The IB, its two codes' markers and its user's marker; one event each for the
    // application and the IB.
    assert_eq!((after.0 - before.0, after.1 - before.1), (4, 2));
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["wallet"], format!("IB:{id}:EUR"));
    assert_eq!(created["current_standing"], "active");
    assert_eq!(created["current_parent"], Value::Null);
    assert_eq!(created["sub_ib_allowance"], 3);
    assert_eq!(
        created["plans"][0]["value"],
        json!(["std-rebate", "cpa-2026"])
    );
    assert_eq!(
        created["referral_codes"][0]["link"],
        "https://portal.broker.example/register?ref=ANNA-SPRING&utm_source=ib&utm_medium=social&utm_campaign=spring"
    );
    let (_, decided) = get(
        &app,
        &format!("/partners/applications/{application_id}"),
        &pm(),
    )
    .await;
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["ib_id"], id.as_str());
    assert_eq!(
        app.audit_actions("ib_application", &application_id).await,
        ["ib_application.submitted", "ib_application.approved"]
    );
    assert_eq!(app.audit_actions("ib", &id).await, ["ib.created"]);
    // The applicant signs in to the portal as the IB.
    let (status, me) = get(&app, "/ib/me", &token("u-anna", Role::Ib)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["dashboard"]["direct_clients"], 0);
    let (_, links) = get(&app, "/ib/me/referral-links", &token("u-anna", Role::Ib)).await;
    assert_eq!(links["items"], created["referral_codes"]);

    let codes = format!("/partners/ibs/{id}/referral-codes");
    let (status, more) = post(
        &app,
        &codes,
        json!({ "code": "ANNA-FALL", "campaign": "fall" }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{more}");
    assert_eq!(more["referral_codes"].as_array().unwrap().len(), 3);
    let again = json!({ "code": "ANNA-FALL-2", "campaign": "fall" });
    refused(
        &app,
        Call::post(&codes, &again).token(&pm()),
        409,
        "campaign_has_code",
    )
    .await;
    // Decided once; a code belongs to one IB (compared without case); one IB per user.
    refused(
        &app,
        Call::post(&path, &approval).token(&pm()),
        409,
        "application_decided",
    )
    .await;
    let (_, other) = post(
        &app,
        "/partners/applications",
        json!({ "name": "Other", "payout_currency": "USD" }),
        &pm(),
    )
    .await;
    let other_path = format!(
        "/partners/applications/{}/approve",
        other["id"].as_str().unwrap()
    );
    let taken = json!({ "plans": ["standard"], "referral_codes": [{ "code": "anna-spring", "campaign": "x" }] });
    refused(
        &app,
        Call::post(&other_path, &taken).token(&pm()),
        409,
        "referral_code_taken",
    )
    .await;
    refused(
        &app,
        Call::post(
            "/ib/applications",
            &json!({ "name": "Again", "payout_currency": "EUR" }),
        )
        .token(&anna),
        409,
        "already_ib",
    )
    .await;
    let (_, still) = get(
        &app,
        &format!("/partners/applications/{}", other["id"].as_str().unwrap()),
        &pm(),
    )
    .await;
    assert_eq!(still["status"], "pending");
    // Rejection takes a reason.
    let reject = format!(
        "/partners/applications/{}/reject",
        other["id"].as_str().unwrap()
    );
    refused(
        &app,
        Call::post(&reject, &json!({ "reason": " " })).token(&pm()),
        400,
        "required",
    )
    .await;
    let (status, rejected) = post(&app, &reject, json!({ "reason": "incomplete" }), &pm()).await;
    assert_eq!(
        (status, rejected["status"].as_str()),
        (200, Some("rejected"))
    );
}

pub async fn a_150_level_tree_refuses_a_move_under_a_descendant(app: App) {
    const DEPTH: usize = 150;
    let started = Instant::now();
    let mut ids: Vec<String> = Vec::new();
    for n in 0..DEPTH {
        let parent = ids.last().cloned();
        ids.push(new_ib(&app, &format!("Level {n}"), parent.as_deref(), None, &[]).await);
    }
    let built = started.elapsed();
    let (status, tree) = get(&app, &format!("/partners/tree?root={}", ids[0]), &pm()).await;
    assert_eq!(status, 200);
    let items = tree["items"].as_array().unwrap();
    assert_eq!(items.len(), DEPTH);
    let deepest = items
        .iter()
        .find(|i| i["id"] == ids[DEPTH - 1].as_str())
        .unwrap();
    assert_eq!(deepest["level"], (DEPTH - 1) as u64);
    assert_eq!(deepest["parent"], ids[DEPTH - 2].as_str());

    let move_root = format!("/partners/ibs/{}/move", ids[0]);
    let started = Instant::now();
    refused(
        &app,
        Call::post(&move_root, &json!({ "parent_ib_id": ids[DEPTH - 1] })).token(&pm()),
        409,
        "move_creates_cycle",
    )
    .await;
    let refused_in = started.elapsed();
    refused(
        &app,
        Call::post(&move_root, &json!({ "parent_ib_id": ids[0] })).token(&pm()),
        409,
        "move_creates_cycle",
    )
    .await;
    let middle = format!("/partners/ibs/{}/move", ids[40]);
    refused(
        &app,
        Call::post(&middle, &json!({ "parent_ib_id": ids[41] })).token(&pm()),
        409,
        "move_creates_cycle",
    )
    .await;
    // Moving the deepest IB up to be a master is allowed.
    let (status, moved) = post(
        &app,
        &format!("/partners/ibs/{}/move", ids[DEPTH - 1]),
        json!({ "parent_ib_id": null }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["current_parent"], Value::Null);
    eprintln!(
        "150-level tree: built through the API in {built:?}; the refused move under the deepest descendant answered in {refused_in:?}"
    );
}

pub async fn effective_dated_moves_change_the_chain_from_their_time_on(app: App) {
    let master_a = new_ib(&app, "Master A", None, None, &[]).await;
    let master_m = new_ib(&app, "Master M", None, None, &[]).await;
    let b = new_ib(&app, "B", Some(&master_a), None, &[]).await;
    let (client_id, login) = onboarded_client(&app, "Berg").await;
    let assign = format!("/partners/clients/{client_id}/ib");
    let (status, assigned) = post(&app, &assign, json!({ "ib_id": b }), &pm()).await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["attributed_by"], "assignment");
    assert_eq!(assigned["current_ib"], b.as_str());

    let now = OffsetDateTime::now_utc();
    let t1 = now + time::Duration::hours(1);
    let t2 = now + time::Duration::hours(2);
    let (status, moved) = post(
        &app,
        &format!("/partners/ibs/{b}/move"),
        json!({ "parent_ib_id": master_m, "effective_at": text(t1) }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let (status, reassigned) = post(
        &app,
        &assign,
        json!({ "ib_id": master_a, "effective_at": text(t2) }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{reassigned}");

    crate::plans::ensure_plan(&app, "vip").await;
    let (status, replanned) = post(
        &app,
        &format!("/partners/ibs/{b}/plans"),
        json!({ "plans": ["vip"], "effective_at": text(t1) }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{replanned}");
    let stored: Ib = serde_json::from_value(ib(&app, &b).await).unwrap();
    assert_eq!(
        stored.node.plans.at(msc(t1) - 1),
        Some(&vec!["standard".to_string()])
    );
    assert_eq!(
        stored.node.plans.at(msc(t1)),
        Some(&vec!["vip".to_string()])
    );

    let tree = brokeros_ib::load_hierarchy(&app.services.ib, &[login, 999_999_999])
        .await
        .unwrap();
    let chain =
        |at: Millis| -> Vec<String> { tree.chain_at(login, at).map(|l| l.ib.id.clone()).collect() };
    assert_eq!(chain(msc(t1) - 1), [b.clone(), master_a.clone()]);
    assert_eq!(chain(msc(t1)), [b.clone(), master_m.clone()]);
    assert_eq!(chain(msc(t2) - 1), [b.clone(), master_m.clone()]);
    assert_eq!(chain(msc(t2)), std::slice::from_ref(&master_a));
    assert_eq!(tree.chain_at(999_999_999, msc(t2)).count(), 0);

    // A move names its parent (null for the top of the tree): an empty body moves nothing.
    for body in [
        json!({}),
        json!({ "effective_at": text(now + time::Duration::hours(5)) }),
    ] {
        let refusal = refused(
            &app,
            Call::post(&format!("/partners/ibs/{b}/move"), &body).token(&pm()),
            400,
            "invalid_body",
        )
        .await;
        assert_eq!(refusal["field"], "parent_ib_id", "{refusal}");
    }
    // A change never takes effect in the past, nor before one already recorded.
    let past = text(now - time::Duration::hours(1));
    refused(
        &app,
        Call::post(
            &format!("/partners/ibs/{b}/move"),
            &json!({ "parent_ib_id": master_a, "effective_at": past }),
        )
        .token(&pm()),
        400,
        "effective_in_past",
    )
    .await;
    let before_t1 = text(now + time::Duration::minutes(30));
    refused(
        &app,
        Call::post(
            &format!("/partners/ibs/{b}/move"),
            &json!({ "parent_ib_id": master_a, "effective_at": before_t1 }),
        )
        .token(&pm()),
        409,
        "change_out_of_order",
    )
    .await;
    // Moving a master under the subtree it will have from t1 on closes a cycle then.
    let later = text(now + time::Duration::hours(3));
    refused(
        &app,
        Call::post(
            &format!("/partners/ibs/{master_m}/move"),
            &json!({ "parent_ib_id": b, "effective_at": later }),
        )
        .token(&pm()),
        409,
        "move_creates_cycle",
    )
    .await;
}

pub async fn suspension_and_termination_follow_their_rules_with_reasons(app: App) {
    let id = new_ib(&app, "Sam", None, None, &[]).await;
    let path = |action: &str| format!("/partners/ibs/{id}/{action}");
    refused(
        &app,
        Call::post(&path("suspend"), &json!({ "reason": "" })).token(&pm()),
        400,
        "required",
    )
    .await;
    let (status, suspended) = post(
        &app,
        &path("suspend"),
        json!({ "reason": "KYC refresh overdue" }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!(suspended["current_standing"], "suspended");
    assert_eq!(
        suspended["standing_changes"][0]["reason"],
        "KYC refresh overdue"
    );
    assert_eq!(suspended["standing_changes"][0]["by"], "pm-1");
    refused(
        &app,
        Call::post(&path("suspend"), &json!({ "reason": "again" })).token(&pm()),
        409,
        "invalid_standing",
    )
    .await;
    let back = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let (status, _) = post(
        &app,
        &path("reinstate"),
        json!({ "reason": "refreshed", "effective_at": text(back) }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200);
    let stored: Ib = serde_json::from_value(ib(&app, &id).await).unwrap();
    let suspended_at = stored.standing_changes[0].from_msc;
    assert!(
        stored.node.earns_at(suspended_at - 1),
        "earned before the suspension"
    );
    assert!(
        !stored.node.earns_at(suspended_at),
        "nothing while suspended"
    );
    assert!(!stored.node.earns_at(msc(back) - 1));
    assert!(stored.node.earns_at(msc(back)), "again once reinstated");

    let terminate_at = text(back + time::Duration::hours(1));
    let (status, terminated) = post(
        &app,
        &path("terminate"),
        json!({ "reason": "contract ended", "effective_at": terminate_at }),
        &pm(),
    )
    .await;
    assert_eq!(
        (status, terminated["current_standing"].as_str()),
        (200, Some("terminated"))
    );
    for action in ["reinstate", "suspend", "terminate"] {
        refused(
            &app,
            Call::post(&path(action), &json!({ "reason": "x" })).token(&pm()),
            409,
            "invalid_standing",
        )
        .await;
    }
    refused(
        &app,
        Call::post(&path("move"), &json!({ "parent_ib_id": null })).token(&pm()),
        409,
        "ib_terminated",
    )
    .await;
    assert_eq!(
        app.audit_actions("ib", &id).await,
        [
            "ib.created",
            "ib.suspended",
            "ib.reinstated",
            "ib.terminated"
        ]
    );
}

async fn capture(app: &App, email: &str, code: &str) -> String {
    let body = json!({ "first_name": "Lee", "email": email, "country": "GB", "referral_code": code, "marketing_consent": false });
    let (status, reply) = app.send(Call::post("/leads", &body)).await;
    assert_eq!(status, 202, "{reply}");
    reply["lead_id"].as_str().unwrap().to_string()
}

/// Qualifies and converts a lead (as an admin): the new client's id.
async fn convert(app: &App, lead: &str) -> String {
    let admin = token("admin-1", Role::Admin);
    for status in ["contacted", "qualified"] {
        let (got, reply) = post(
            app,
            &format!("/leads/{lead}/status"),
            json!({ "status": status }),
            &admin,
        )
        .await;
        assert_eq!(got, 200, "{reply}");
    }
    let (status, client) = post(app, &format!("/leads/{lead}/convert"), json!({}), &admin).await;
    assert_eq!(status, 201, "{client}");
    client["id"].as_str().unwrap().to_string()
}

async fn attribution(app: &App, client: &str) -> Value {
    let (status, a) = get(app, &format!("/partners/clients/{client}/ib"), &pm()).await;
    assert_eq!(status, 200, "{a}");
    a
}

pub async fn attribution_follows_the_first_or_last_touch_within_the_window(app: App) {
    let clock = Arc::new(AheadClock::default());
    let build = || Build {
        clock: Some(clock.clone()),
        ..Build::default()
    };
    let last_touch =
        App::configured(app.store.clone(), BrokerConfig::embedded_default(), build()).await;
    assert_eq!(
        last_touch.services.ib.config.attribution,
        AttributionPolicy::LastTouch { window_days: 30 }
    );
    let alpha = new_ib(&last_touch, "Alpha", None, None, &[("ALPHA-1", "web")]).await;
    let beta = new_ib(&last_touch, "Beta", None, None, &[("BETA-1", "web")]).await;

    // Two captures of one person ten days apart, with two IBs' codes: the last one counts.
    let lead = capture(&last_touch, "lee1@example.com", "ALPHA-1").await;
    clock.advance(time::Duration::days(10));
    assert_eq!(
        capture(&last_touch, "lee1@example.com", "BETA-1").await,
        lead
    );
    let client = convert(&last_touch, &lead).await;
    let a = attribution(&last_touch, &client).await;
    assert_eq!(a["current_ib"], beta.as_str(), "{a}");
    assert_eq!(a["attributed_by"], "last_touch");
    assert_eq!(a["touches"].as_array().unwrap().len(), 2);
    // A touch older than the window attributes nothing.
    let old = capture(&last_touch, "lee2@example.com", "ALPHA-1").await;
    clock.advance(time::Duration::days(31));
    let unattributed = convert(&last_touch, &old).await;
    let a = attribution(&last_touch, &unattributed).await;
    assert_eq!(
        (a["current_ib"].clone(), a["attributed_by"].clone()),
        (Value::Null, json!("none"))
    );
    // A registration's own code is a touch too.
    let (status, registered) = post(
        &last_touch,
        "/clients",
        json!({ "first_name": "Ria", "country": "DE", "referral_code": "BETA-1" }),
        &token("u-ria", Role::Client),
    )
    .await;
    assert_eq!(status, 201, "{registered}");
    let a = attribution(&last_touch, registered["id"].as_str().unwrap()).await;
    assert_eq!(a["current_ib"], beta.as_str());
    assert_eq!(a["touches"][0]["source"], "registration");

    let mut config = BrokerConfig::embedded_default();
    config.ib.attribution = AttributionPolicy::FirstTouch;
    let first_touch = App::configured(app.store.clone(), config, build()).await;
    let lead = capture(&first_touch, "lee3@example.com", "ALPHA-1").await;
    clock.advance(time::Duration::days(45));
    capture(&first_touch, "lee3@example.com", "BETA-1").await;
    let client = convert(&first_touch, &lead).await;
    let a = attribution(&first_touch, &client).await;
    assert_eq!(a["current_ib"], alpha.as_str(), "{a}");
    assert_eq!(a["attributed_by"], "first_touch");
}

pub async fn an_unknown_referral_code_is_recorded_and_the_lead_captured(app: App) {
    new_ib(&app, "Known", None, None, &[("KNOWN-1", "web")]).await;
    let lead = capture(&app, "who@example.com", "NOBODY-9").await;
    let admin = token("admin-1", Role::Admin);
    let (status, captured) = get(&app, &format!("/leads/{lead}"), &admin).await;
    assert_eq!(status, 200, "{captured}");
    assert_eq!(captured["referral_code"], "NOBODY-9");
    let (status, referrals) = get(&app, &format!("/partners/leads/{lead}/referrals"), &pm()).await;
    assert_eq!(status, 200, "{referrals}");
    assert_eq!(referrals["touches"][0]["code"], "NOBODY-9");
    assert!(
        referrals["touches"][0].get("ib_id").is_none(),
        "{referrals}"
    );
    assert_eq!(
        app.audit_actions("ib_lead", &lead).await,
        ["ib_lead.unknown_referral_code"]
    );
    // The same person again with a known code: recorded beside the unknown one.
    capture(&app, "who@example.com", "KNOWN-1").await;
    let (_, referrals) = get(&app, &format!("/partners/leads/{lead}/referrals"), &pm()).await;
    assert_eq!(referrals["touches"].as_array().unwrap().len(), 2);
    assert!(referrals["touches"][1]["ib_id"].is_string(), "{referrals}");
    // A registration with an unknown code registers; the code is kept on its attribution.
    let (status, client) = post(
        &app,
        "/clients",
        json!({ "first_name": "Una", "country": "DE", "referral_code": "NOBODY-9" }),
        &token("u-una", Role::Client),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    let a = attribution(&app, client["id"].as_str().unwrap()).await;
    assert_eq!(a["current_ib"], Value::Null);
    assert_eq!(a["touches"][0]["code"], "NOBODY-9");
    // A capture replayed under its Idempotency-Key records its touch once.
    let body = json!({ "first_name": "Rex", "email": "rex@example.com", "country": "GB", "referral_code": "KNOWN-1", "marketing_consent": false });
    let key = "6f1c2a9e-4b7d-4e21-9a3f-0c5d8e7b1a24";
    let first = app
        .send(Call::post("/leads", &body).header("idempotency-key", key))
        .await;
    assert_eq!(first.0, 202, "{}", first.1);
    let counts = app.counts().await;
    let again = app
        .send(Call::post("/leads", &body).header("idempotency-key", key))
        .await;
    assert_eq!(again, first);
    assert_eq!(app.counts().await, counts);
}

pub async fn sub_ib_invitations_stop_at_the_allowance(app: App) {
    crate::plans::ensure_plan(&app, "standard").await;
    let (_, application) = post(
        &app,
        "/partners/applications",
        json!({ "name": "Pia", "payout_currency": "USD", "user_id": "u-pia" }),
        &pm(),
    )
    .await;
    let approve = format!(
        "/partners/applications/{}/approve",
        application["id"].as_str().unwrap()
    );
    let (status, pia) = post(
        &app,
        &approve,
        json!({ "plans": ["standard"], "referral_codes": [], "sub_ib_allowance": 1 }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{pia}");
    let pia_id = pia["id"].as_str().unwrap().to_string();
    let as_pia = token("u-pia", Role::Ib);
    let (status, invitation) = post(&app, "/ib/me/invitations", json!({}), &as_pia).await;
    assert_eq!(status, 201, "{invitation}");
    let invitation_id = invitation["id"].as_str().unwrap().to_string();
    assert!(
        invitation["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("invitation={invitation_id}"))
    );
    refused(
        &app,
        Call::post("/ib/me/invitations", &json!({})).token(&as_pia),
        409,
        "invitation_allowance_exhausted",
    )
    .await;
    app.catch_up_indexes();
    let (_, listed) = get(&app, "/ib/me/invitations", &as_pia).await;
    assert_eq!(
        (listed["allowance"].clone(), listed["issued"].clone()),
        (json!(1), json!(1))
    );

    let quinn = token("u-quinn", Role::Client);
    let apply =
        json!({ "name": "Quinn", "payout_currency": "USD", "invitation_id": invitation_id });
    let (status, applied) = post(&app, "/ib/applications", apply.clone(), &quinn).await;
    assert_eq!(status, 201, "{applied}");
    assert_eq!(applied["parent_ib"], pia_id.as_str());
    refused(
        &app,
        Call::post("/ib/applications", &apply).token(&token("u-rory", Role::Client)),
        409,
        "invitation_used",
    )
    .await;
    let approve = format!(
        "/partners/applications/{}/approve",
        applied["id"].as_str().unwrap()
    );
    let (status, quinn_ib) = post(
        &app,
        &approve,
        json!({ "plans": ["standard"], "referral_codes": [] }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{quinn_ib}");
    assert_eq!(quinn_ib["current_parent"], pia_id.as_str());
    assert_eq!(
        quinn_ib["sub_ib_allowance"], 10,
        "the configuration's default"
    );
    app.catch_up_indexes();
    let (_, subs) = get(&app, "/ib/me/sub-ibs", &as_pia).await;
    assert_eq!(subs["items"][0]["id"], quinn_ib["id"]);
}

pub async fn an_ib_sees_only_its_own_subtree(app: App) {
    let a = new_ib(&app, "A", None, Some("u-a"), &[]).await;
    let a1 = new_ib(&app, "A1", Some(&a), Some("u-a1"), &[]).await;
    let a2 = new_ib(&app, "A2", Some(&a1), None, &[]).await;
    let b = new_ib(&app, "B", None, Some("u-b"), &[]).await;
    let of_a2 = app.register("Adler", CLEAR).await;
    let of_b = app.register("Bauer", CLEAR).await;
    for (client, ib) in [(&of_a2, &a2), (&of_b, &b)] {
        let (status, reply) = post(
            &app,
            &format!("/partners/clients/{client}/ib"),
            json!({ "ib_id": ib }),
            &pm(),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
    }
    let (as_a, as_a1, as_b) = (
        token("u-a", Role::Ib),
        token("u-a1", Role::Ib),
        token("u-b", Role::Ib),
    );

    let (_, me) = get(&app, "/ib/me", &as_a).await;
    let mut dashboard = me["dashboard"].clone();
    let earnings = dashboard
        .as_object_mut()
        .unwrap()
        .remove("earnings")
        .unwrap();
    assert_eq!(
        dashboard,
        json!({ "direct_clients": 0, "subtree_clients": 1, "sub_ibs": 2, "direct_sub_ibs": 1 })
    );
    assert!(
        earnings["periods"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["legs"] == 0 && p["statement"].is_null()),
        "nothing traded yet: {earnings}"
    );
    let (_, subs) = get(&app, "/ib/me/sub-ibs", &as_a).await;
    let levels: Vec<(String, u64)> = subs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["level"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(levels, [(a1.clone(), 1), (a2.clone(), 2)]);
    let (status, deep) = get(&app, &format!("/ib/me/sub-ibs/{a2}"), &as_a).await;
    assert_eq!((status, deep["level"].as_u64()), (200, Some(2)));
    let (status, clients) = get(&app, &format!("/ib/me/clients?ib={a2}"), &as_a).await;
    assert_eq!(status, 200, "{clients}");
    let shown = &clients["items"][0];
    assert_eq!(shown["client_id"], of_a2.as_str());
    let email = shown["email"].as_str().unwrap();
    assert!(
        email.starts_with("***") && email.ends_with("com") && !email.contains('@'),
        "masked: {shown}"
    );
    assert_eq!(shown["last_name_initial"], "A");
    assert!(shown.get("last_name").is_none() && !clients.to_string().contains("adler@"));

    let before = app.counts().await;
    let outside = [
        (as_a.clone(), format!("/ib/me/sub-ibs/{b}")),
        (as_a.clone(), format!("/ib/me/clients?ib={b}")),
        (as_b.clone(), format!("/ib/me/sub-ibs/{a1}")),
        (as_b.clone(), format!("/ib/me/clients?ib={a2}")),
        (as_a1.clone(), format!("/ib/me/sub-ibs/{a}")),
        (as_a1.clone(), format!("/ib/me/clients?ib={a}")),
        (token("u-nobody", Role::Ib), "/ib/me".to_string()),
    ];
    for (who, path) in &outside {
        let (status, body) = get(&app, path, who).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {body}"
        );
    }
    for (who, path) in [
        (as_a.clone(), "/partners/ibs".to_string()),
        (as_a.clone(), format!("/partners/ibs/{b}")),
        (as_a.clone(), format!("/partners/clients/{of_b}/ib")),
        (as_a.clone(), "/partners/tree".to_string()),
        (token("u-a", Role::Client), "/ib/me".to_string()),
        (token("sales-1", Role::Sales), "/ib/me/sub-ibs".to_string()),
    ] {
        let (status, body) = get(&app, &path, &who).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{path}: {body}"
        );
    }
    refused(
        &app,
        Call::post(
            &format!("/partners/ibs/{b}/suspend"),
            &json!({ "reason": "x" }),
        )
        .token(&as_a),
        403,
        "forbidden",
    )
    .await;
    assert_eq!(app.counts().await, before, "refused reads write nothing");
    let (_, b_clients) = get(&app, "/ib/me/clients", &as_b).await;
    assert_eq!(b_clients["items"].as_array().unwrap().len(), 1);
    assert_eq!(b_clients["items"][0]["client_id"], of_b.as_str());
}

pub async fn bad_partner_requests_write_nothing(app: App) {
    let target = new_ib(&app, "Target", None, None, &[]).await;
    let (_, pending) = post(
        &app,
        "/partners/applications",
        json!({ "name": "P", "payout_currency": "USD" }),
        &pm(),
    )
    .await;
    let approve = format!(
        "/partners/applications/{}/approve",
        pending["id"].as_str().unwrap()
    );
    let huge = "x".repeat(300 * 1024);
    let move_target = format!("/partners/ibs/{target}/move");
    let add_code = format!("/partners/ibs/{target}/referral-codes");
    let cases: Vec<(Call<'_>, u16, &str)> = vec![
        (
            Call::post(
                "/partners/applications",
                &json!({ "name": 5, "payout_currency": "USD" }),
            ),
            400,
            "invalid_body",
        ),
        (
            Call::post(
                "/partners/applications",
                &json!({ "name": "N", "payout_currency": "USD", "colour": "red" }),
            ),
            400,
            "invalid_body",
        ),
        (
            Call::post(
                "/partners/applications",
                &json!({ "name": "N", "payout_currency": "XXX" }),
            ),
            400,
            "unknown_currency",
        ),
        (
            Call::post(
                "/partners/applications",
                &json!({ "name": "N".repeat(121), "payout_currency": "USD" }),
            ),
            400,
            "too_long",
        ),
        (
            Call::post(
                "/partners/applications",
                &json!({ "name": huge, "payout_currency": "USD" }),
            ),
            413,
            "payload_too_large",
        ),
        (
            Call::post(
                "/partners/applications",
                &json!({ "name": "N", "payout_currency": "USD", "parent_ib_id": "ib_missing" }),
            ),
            404,
            "not_found",
        ),
        (
            Call::post(
                "/partners/applications/ibapp_missing/approve",
                &json!({ "plans": ["standard"], "referral_codes": [] }),
            ),
            404,
            "not_found",
        ),
        (
            Call::post(&approve, &json!({ "plans": [], "referral_codes": [] })),
            400,
            "invalid_plans",
        ),
        (
            Call::post(
                &approve,
                &json!({ "plans": ["standard"], "referral_codes": [{ "code": "A B", "campaign": "c" }] }),
            ),
            400,
            "invalid_code",
        ),
        (
            Call::post(
                &approve,
                &json!({ "plans": ["standard"], "referral_codes": [{ "code": "A1", "campaign": "c" }, { "code": "A2", "campaign": "c" }] }),
            ),
            400,
            "duplicate_code",
        ),
        (
            Call::post(
                &approve,
                &json!({ "plans": ["standard"], "referral_codes": [], "sub_ib_allowance": -1 }),
            ),
            400,
            "invalid_body",
        ),
        (
            Call::post(&move_target, &json!({ "parent_ib_id": 7 })),
            400,
            "invalid_body",
        ),
        (
            Call::post(
                &move_target,
                &json!({ "parent_ib_id": null, "effective_at": "tomorrow" }),
            ),
            400,
            "invalid_body",
        ),
        (
            Call::post(&move_target, &json!({ "parent_ib_id": "ib_missing" })),
            404,
            "not_found",
        ),
        (
            Call::post(
                "/partners/ibs/ib_missing/suspend",
                &json!({ "reason": "r" }),
            ),
            404,
            "not_found",
        ),
        (
            Call::post(&add_code, &json!({ "code": "C-1" })),
            400,
            "invalid_body",
        ),
        (
            Call::post(
                "/partners/clients/client_missing/ib",
                &json!({ "ib_id": target }),
            ),
            404,
            "not_found",
        ),
        (
            Call::post(
                "/partners/clients/client_missing/ib",
                &json!({ "ib_id": "ib_missing" }),
            ),
            404,
            "not_found",
        ),
    ];
    for (call, status, code) in cases {
        refused(&app, call.token(&pm()), status, code).await;
    }
    refused(
        &app,
        Call::post(
            "/ib/applications",
            &json!({ "name": "N", "payout_currency": "USD", "parent_ib_id": target }),
        )
        .token(&token("u-x", Role::Client)),
        400,
        "field_not_allowed",
    )
    .await;
    refused(
        &app,
        Call::post(
            "/partners/applications",
            &json!({ "name": "N", "payout_currency": "USD" }),
        )
        .token(&token("sales-1", Role::Sales)),
        403,
        "forbidden",
    )
    .await;
    let (status, body) = get(&app, "/partners/applications?status=lost", &pm()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_status"))
    );
}
