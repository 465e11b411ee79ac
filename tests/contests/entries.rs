//! Entries over HTTP: every eligibility rule refused with nothing written, the registration
//! window, one entry per person across clients, a dedicated account opened on the simulated
//! platform, marketing's decisions and a client's withdrawal with roles enforced, and
//! enrolment by a lead's campaign when onboarding opens the account.

use std::sync::Arc;

use brokeros_app::config::BrokerConfig;
use brokeros_http::client::Call;
use brokeros_kernel::AheadClock;
use brokeros_kernel::principal::Role;
use brokeros_trading::{BalanceOperation, BalanceOperationKind, TradingPlatform};
use serde_json::{Value, json};

use crate::common::*;
use crate::harness::{App, Build, token};

pub async fn registrations_the_rules_refuse_write_nothing(app: App) {
    let (ann, login) = onboarded(
        &app,
        &Identity::of("u-ann", "Lee", "ann@example.com", "C01X00T47"),
    )
    .await;
    let (bob, bob_login) = onboarded(
        &app,
        &Identity::of("u-bob", "Park", "bob@example.com", "C02X00T48"),
    )
    .await;
    // Registration opens now: both accounts are older than it.
    let opened_before = text(time::OffsetDateTime::now_utc());
    let cases: Vec<(Value, &str)> = vec![
        (
            contest("demo-only", |d| d["mode"] = json!("demo")),
            "account_mode_mismatch",
        ),
        (
            contest("euro", |d| d["currency"] = json!("EUR")),
            "account_currency_mismatch",
        ),
        (
            contest("vip", |d| {
                d["eligibility"] = json!({ "groups": ["real\\vip-usd"] })
            }),
            "account_group_not_eligible",
        ),
        (
            contest("france", |d| {
                d["eligibility"] = json!({ "countries": ["FR"] })
            }),
            "country_not_eligible",
        ),
        (
            contest("new-accounts", |d| {
                d["eligibility"] = json!({ "accounts": "new" });
                d["registration"]["from"] = json!(opened_before);
            }),
            "account_not_new",
        ),
        (
            contest("old-accounts", |d| {
                d["eligibility"] = json!({ "accounts": "existing" })
            }),
            "account_not_existing",
        ),
        (
            contest("funded", |d| {
                d["eligibility"] = json!({ "min_deposit": "100.00" })
            }),
            "deposit_below_minimum",
        ),
    ];
    for (document, code) in cases {
        published(&app, &document).await;
        let id = document["id"].as_str().unwrap();
        refused(
            &app,
            Call::post(
                &format!("/contests/{id}/entries"),
                &json!({ "login": login }),
            )
            .token(&ann.token()),
            409,
            code,
            None,
        )
        .await;
    }

    // Someone else's account is not one the client holds.
    refused(
        &app,
        entry("funded", &ann, json!({ "login": bob_login })),
        404,
        "not_found",
        None,
    )
    .await;
    // Funded, the account enters the contest that asks for a deposit.
    app.platform
        .balance_operation(BalanceOperation {
            login,
            operation_id: format!("fund-{login}"),
            kind: BalanceOperationKind::Deposit,
            amount: "250.00".parse().unwrap(),
            comment: String::new(),
        })
        .await
        .unwrap();
    let (status, entrant) = enter(&app, "funded", &ann, json!({ "login": login })).await;
    assert_eq!(status, 201, "{entrant}");
    assert_eq!(entrant["how"], "self");
    assert_eq!(entrant["display_name"], "Anna L.");
    assert_eq!(entrant["country"], "DE");
    assert_eq!(entrant["status"], "active");

    // An entry made twice.
    refused(
        &app,
        entry("funded", &ann, json!({ "login": login })),
        409,
        "already_entered",
        None,
    )
    .await;
    // KYC required: a registered client who is not approved is refused before their account
    // is looked at.
    let carl = registered(
        &app,
        &Identity::of("u-carl", "Kim", "carl@example.com", "C03X00T49"),
    )
    .await;
    published(
        &app,
        &contest("approved-only", |d| {
            d["eligibility"] = json!({ "kyc": "approved" })
        }),
    )
    .await;
    refused(
        &app,
        entry("approved-only", &carl, json!({ "login": 1 })),
        409,
        "kyc_not_approved",
        None,
    )
    .await;
    // A contest without dedicated accounts opens none.
    refused(
        &app,
        Call::post(
            "/contests/approved-only/entries",
            &json!({ "open_contest_account": true }),
        )
        .token(&bob.token()),
        409,
        "no_contest_account",
        None,
    )
    .await;
    // Marketing's enrolment goes through the same checks.
    refused(
        &app,
        enrollment(
            "france",
            json!({ "client_id": bob.client_id, "login": bob_login }),
        ),
        409,
        "country_not_eligible",
        None,
    )
    .await;
    let (status, enrolled) = app
        .send(enrollment(
            "approved-only",
            json!({ "client_id": bob.client_id, "login": bob_login }),
        ))
        .await;
    assert_eq!(status, 201, "{enrolled}");
    assert_eq!(enrolled["how"], "staff");
    assert_eq!(enrolled["enrolled_by"], "mkt-1");
    assert_eq!(
        app.audit_actions("contest_entrant", enrolled["id"].as_str().unwrap())
            .await,
        ["contest_entrant.enrolled"]
    );
    // The roster of a contest is its entered logins, read by key.
    let roster = brokeros_contests::entry_roster(&app.services.contests, "approved-only")
        .await
        .unwrap();
    assert_eq!(
        roster,
        [(bob_login, enrolled["id"].as_str().unwrap().to_string())]
    );
}

pub async fn registration_outside_the_window_writes_nothing(app: App) {
    let (ann, login) = onboarded(
        &app,
        &Identity::of("u-ann", "Lee", "ann@example.com", "C01X00T47"),
    )
    .await;
    published(
        &app,
        &contest("next-month", |d| {
            d["registration"] = json!({ "from": hours_from_now(2), "until": hours_from_now(48) });
        }),
    )
    .await;
    refused(
        &app,
        entry("next-month", &ann, json!({ "login": login })),
        409,
        "registration_not_open",
        None,
    )
    .await;
    let (status, _) = app
        .send(Call::post("/contests", &contest("draft-cup", |_| {})).token(&marketing()))
        .await;
    assert_eq!(status, 201);
    refused(
        &app,
        entry("draft-cup", &ann, json!({ "login": login })),
        404,
        "not_found",
        None,
    )
    .await;
    refused(
        &app,
        enrollment(
            "draft-cup",
            json!({ "client_id": ann.client_id, "login": login }),
        ),
        409,
        "contest_not_published",
        None,
    )
    .await;

    // Broker OS's clock moves past the close of registration of a published contest.
    let clock = Arc::new(AheadClock::default());
    let later = App::configured(
        app.store.clone(),
        BrokerConfig::embedded_default(),
        Build {
            clock: Some(clock.clone()),
            ..Build::default()
        },
    )
    .await;
    published(&later, &contest("closing", |_| {})).await;
    clock.advance(time::Duration::hours(49));
    refused(
        &later,
        entry("closing", &ann, json!({ "login": login })),
        409,
        "registration_closed",
        None,
    )
    .await;
}

pub async fn one_person_enters_once_across_clients(app: App) {
    let (ann, login) = onboarded(
        &app,
        &Identity {
            phone: Some("+44 20 7946 0958"),
            ..Identity::of("u-ann", "Lee", "ann@example.com", "C01X00T47")
        },
    )
    .await;
    published(&app, &contest("summer-cup", |_| {})).await;
    let (status, entrant) = enter(&app, "summer-cup", &ann, json!({ "login": login })).await;
    assert_eq!(status, 201, "{entrant}");

    // The same person as other clients: by phone, by email, by identity document.
    let same_phone = Identity {
        phone: Some("+442079460958"),
        ..Identity::of("u-ann-2", "Lee", "ann.lee@example.org", "C04X00T50")
    };
    let same_email = Identity::of("u-ann-3", "Lee", "ANN@example.com", "C05X00T51");
    let same_passport = Identity::of("u-ann-4", "Lee", "a.lee@example.net", "C01X00T47");
    for who in [same_phone, same_email, same_passport] {
        let (other, other_login) = onboarded(&app, &who).await;
        refused(
            &app,
            Call::post(
                "/contests/summer-cup/entries",
                &json!({ "login": other_login }),
            )
            .token(&other.token()),
            409,
            "already_entered",
            None,
        )
        .await;
    }
    // A second account of the same client is the same person too.
    let (status, second) = app
        .send(enrollment(
            "summer-cup",
            json!({ "client_id": ann.client_id, "login": login }),
        ))
        .await;
    assert_eq!(
        (status, second["code"].as_str()),
        (409, Some("already_entered"))
    );

    // A contest that allows several entries per person keeps each login to one.
    published(
        &app,
        &contest("open-cup", |d| {
            d["eligibility"] = json!({ "one_entry_per_person": false })
        }),
    )
    .await;
    let (status, _) = enter(&app, "open-cup", &ann, json!({ "login": login })).await;
    assert_eq!(status, 201);
    refused(
        &app,
        entry("open-cup", &ann, json!({ "login": login })),
        409,
        "already_entered",
        None,
    )
    .await;
    // Someone new enters.
    let (dan, dan_login) = onboarded(
        &app,
        &Identity::of("u-dan", "Weber", "dan@example.com", "C06X00T52"),
    )
    .await;
    let (status, entrant) = enter(&app, "summer-cup", &dan, json!({ "login": dan_login })).await;
    assert_eq!(status, 201, "{entrant}");
}

pub async fn a_dedicated_contest_account_is_opened_on_the_platform(app: App) {
    let eve = registered(
        &app,
        &Identity::of("u-eve", "Novak", "eve@example.com", "C07X00T53"),
    )
    .await;
    published(
        &app,
        &contest("demo-cup", |d| {
            d["mode"] = json!("demo");
            d["contest_account"] = json!({ "group": "demo\\contest-usd", "leverage": 200 });
        }),
    )
    .await;
    let body = json!({ "open_contest_account": true });
    let (status, entrant) = app
        .post_keyed("/contests/demo-cup/entries", &body, &eve.token(), "entry-1")
        .await;
    assert_eq!(status, 201, "{entrant}");
    assert_eq!(entrant["contest_account"], true);
    let login = entrant["login"].as_u64().unwrap();

    // The platform opened it in the contest's group and currency; the client holds it.
    let state = app.platform.account_state(login).await.unwrap();
    assert_eq!(state.currency, "USD");
    let client = app.client(&eve.client_id).await;
    let account = &client["trading_accounts"][0];
    assert_eq!(account["login"], login);
    assert_eq!(account["group"], "demo\\contest-usd");
    assert_eq!(account["leverage"], 200);
    assert!(account["opened_at"].is_string(), "{account}");
    assert_eq!(
        brokeros_onboarding::clients_of_logins(&app.services.core, &[login])
            .await
            .unwrap(),
        [(login, eve.client_id.clone())]
    );
    assert_eq!(
        app.audit_actions("client", &eve.client_id)
            .await
            .last()
            .unwrap(),
        "client.account_opened"
    );

    // The same request again answers the same entry; a new one is refused before the
    // platform is asked.
    let before = app.counts().await;
    let (status, again) = app
        .post_keyed("/contests/demo-cup/entries", &body, &eve.token(), "entry-1")
        .await;
    assert_eq!((status, &again), (201, &entrant));
    assert_eq!(app.counts().await, before);
    refused(
        &app,
        entry("demo-cup", &eve, body.clone()),
        409,
        "already_entered",
        None,
    )
    .await;
    // Her own new account is live, not demo.
    let live_login = onboard(&app, &eve.client_id).await;
    published(
        &app,
        &contest("live-cup", |d| {
            d["eligibility"] = json!({ "one_entry_per_person": false })
        }),
    )
    .await;
    refused(
        &app,
        entry("live-cup", &eve, json!({ "login": login })),
        409,
        "account_mode_mismatch",
        None,
    )
    .await;
    let (status, _) = enter(&app, "live-cup", &eve, json!({ "login": live_login })).await;
    assert_eq!(status, 201);
}

pub async fn marketing_decides_on_entries_and_clients_withdraw_their_own(app: App) {
    let (ann, ann_login) = onboarded(
        &app,
        &Identity::of("u-ann", "Lee", "ann@example.com", "C01X00T47"),
    )
    .await;
    let (bob, bob_login) = onboarded(
        &app,
        &Identity::of("u-bob", "Park", "bob@example.com", "C02X00T48"),
    )
    .await;
    published(&app, &contest("summer-cup", |_| {})).await;
    let (_, ann_entry) = enter(&app, "summer-cup", &ann, json!({ "login": ann_login })).await;
    let (_, bob_entry) = enter(&app, "summer-cup", &bob, json!({ "login": bob_login })).await;
    let ann_id = ann_entry["id"].as_str().unwrap();
    let bob_id = bob_entry["id"].as_str().unwrap();
    let path =
        |entrant: &str, action: &str| format!("/contests/summer-cup/entries/{entrant}/{action}");

    // Sales may not disqualify; a reason is required.
    let reason = json!({ "reason": "hedging with another entry" });
    refused(
        &app,
        Call::post(&path(ann_id, "disqualify"), &reason).token(&token("sales-1", Role::Sales)),
        403,
        "forbidden",
        None,
    )
    .await;
    refused(
        &app,
        Call::post(&path(ann_id, "disqualify"), &json!({})).token(&marketing()),
        400,
        "invalid_body",
        None,
    )
    .await;
    refused(
        &app,
        Call::post(&path(ann_id, "reinstate"), &reason).token(&marketing()),
        409,
        "not_disqualified",
        None,
    )
    .await;
    refused(
        &app,
        Call::post("/contests/other/entries/ent_x/disqualify", &reason).token(&marketing()),
        404,
        "not_found",
        None,
    )
    .await;
    let (status, disqualified) = app
        .send(Call::post(&path(ann_id, "disqualify"), &reason).token(&marketing()))
        .await;
    assert_eq!(status, 200, "{disqualified}");
    assert_eq!(disqualified["status"], "disqualified");
    assert_eq!(disqualified["disqualification"]["by"], "mkt-1");
    let (status, reinstated) = app
        .send(
            Call::post(
                &path(ann_id, "reinstate"),
                &json!({ "reason": "reviewed: no hedging" }),
            )
            .token(&admin()),
        )
        .await;
    assert_eq!(status, 200, "{reinstated}");
    assert_eq!(reinstated["status"], "active");
    assert_eq!(
        app.audit_actions("contest_entrant", ann_id).await,
        [
            "contest_entrant.registered",
            "contest_entrant.disqualified",
            "contest_entrant.reinstated"
        ]
    );

    // Each client reads and withdraws their own entries only.
    app.catch_up_indexes();
    let (status, mine) = app
        .send(Call::get("/contests/mine").token(&ann.token()))
        .await;
    assert_eq!(status, 200, "{mine}");
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ann_id]);
    refused(
        &app,
        Call::get("/contests/summer-cup/entries").token(&ann.token()),
        403,
        "forbidden",
        None,
    )
    .await;
    refused(
        &app,
        Call::delete(&format!("/contests/summer-cup/entries/{bob_id}")).token(&ann.token()),
        404,
        "not_found",
        None,
    )
    .await;
    let (status, withdrawn) = app
        .send(Call::delete(&format!("/contests/summer-cup/entries/{ann_id}")).token(&ann.token()))
        .await;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["status"], "withdrawn");
    refused(
        &app,
        Call::delete(&format!("/contests/summer-cup/entries/{ann_id}")).token(&ann.token()),
        409,
        "entrant_withdrawn",
        None,
    )
    .await;
    refused(
        &app,
        Call::post(&path(ann_id, "disqualify"), &reason).token(&marketing()),
        409,
        "entrant_withdrawn",
        None,
    )
    .await;

    // Marketing lists the entries, newest first.
    app.catch_up_indexes();
    let (status, listed) = app
        .send(Call::get("/contests/summer-cup/entries?limit=1").token(&marketing()))
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["id"], bob_id);
    let cursor = listed["next"].as_str().unwrap();
    let (status, rest) = app
        .send(
            Call::get(&format!(
                "/contests/summer-cup/entries?limit=1&cursor={cursor}"
            ))
            .token(&marketing()),
        )
        .await;
    assert_eq!(status, 200, "{rest}");
    assert_eq!(rest["items"][0]["id"], ann_id);
    assert_eq!(rest["items"][0]["status"], "withdrawn");
}

pub async fn new_accounts_of_a_campaign_are_enrolled_and_an_ineligible_contest_is_skipped(
    app: App,
) {
    published(
        &app,
        &contest("summer-cup", |d| {
            d["enrollment"] = json!({ "campaign": "summer-fx" });
            d["eligibility"] = json!({ "accounts": "new", "kyc": "approved" });
        }),
    )
    .await;
    // The same campaign later, for France only: the client is not eligible.
    published(
        &app,
        &contest("autumn-cup", |d| {
            d["registration"] = json!({ "from": hours_from_now(-1), "until": hours_from_now(300) });
            d["period"] = json!({ "from": hours_from_now(300), "until": hours_from_now(400) });
            d["enrollment"] = json!({ "campaign": "summer-fx" });
            d["eligibility"] = json!({ "countries": ["FR"] });
        }),
    )
    .await;
    published(
        &app,
        &contest("other-cup", |d| {
            d["enrollment"] = json!({ "campaign": "winter-fx" })
        }),
    )
    .await;

    let lead = json!({
        "first_name": "Anna", "last_name": "Lee", "email": "ann@example.com", "country": "DE",
        "utm_source": "google", "utm_campaign": "summer-fx", "marketing_consent": false
    });
    let (status, captured) = app.send(Call::post("/leads", &lead)).await;
    assert_eq!(status, 202, "{captured}");
    let lead_id = captured["lead_id"].as_str().unwrap();
    for status in ["contacted", "qualified"] {
        let (code, body) = app
            .send(
                Call::post(
                    &format!("/leads/{lead_id}/status"),
                    &json!({ "status": status }),
                )
                .token(&admin()),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    let (status, client) = app
        .send(
            Call::post(
                &format!("/leads/{lead_id}/convert"),
                &json!({ "user_id": "u-ann" }),
            )
            .token(&admin()),
        )
        .await;
    assert_eq!(status, 201, "{client}");
    let client_id = client["id"].as_str().unwrap().to_string();
    let profile = json!({ "client_type": "individual", "date_of_birth": "1990-01-15",
        "nationality": "DE", "residence_country": "DE", "source_of_funds": "salary",
        "pep_declared": false });
    let (status, body) = app
        .send(Call::put(&format!("/clients/{client_id}/profile"), &profile).token(&admin()))
        .await;
    assert_eq!(status, 200, "{body}");
    for document in [
        json!({ "type": "passport", "issuing_country": "DE", "number": "C01X00T47" }),
        json!({ "type": "proof_of_address", "issuing_country": "DE", "number": "POA-2026-0001" }),
    ] {
        let (status, body) = app
            .send(Call::post(&format!("/clients/{client_id}/documents"), &document).token(&admin()))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let login = onboard(&app, &client_id).await;

    let ann = Person {
        user: "u-ann".into(),
        client_id: client_id.clone(),
    };
    let (status, mine) = app
        .send(Call::get("/contests/mine").token(&ann.token()))
        .await;
    assert_eq!(status, 200, "{mine}");
    let entries = mine["items"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        1,
        "only the eligible contest of the campaign: {mine}"
    );
    let entry = &entries[0];
    assert_eq!(entry["contest_id"], "summer-cup");
    assert_eq!(entry["login"], login);
    assert_eq!(entry["how"], "campaign");
    let events = app
        .audit_events("contest_entrant", entry["id"].as_str().unwrap())
        .await;
    assert_eq!(events[0]["action"], "contest_entrant.enrolled");
    assert_eq!(
        events[0]["actor"]["kind"], "workflow",
        "{}",
        events[0]["actor"]
    );
    assert!(
        brokeros_contests::entry_roster(&app.services.contests, "autumn-cup")
            .await
            .unwrap()
            .is_empty()
    );
}
