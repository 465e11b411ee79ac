//! Contest definitions over HTTP: versions stored and audited with the fields they changed,
//! publication and cancellation, what anyone and what marketing reads; bad documents, changes
//! to a started contest and overlapping contests refused with nothing written.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use serde_json::{Value, json};

use crate::common::*;
use crate::harness::{App, token};

pub async fn definitions_are_versioned_published_and_cancelled_with_audit_events(app: App) {
    let (status, record) = app
        .send(Call::post("/contests", &contest("summer-cup", |_| {})).token(&marketing()))
        .await;
    assert_eq!(status, 201, "{record}");
    assert_eq!(record["status"], "draft");
    assert_eq!(record["version"], 1);
    assert_eq!(record["phase"], "registration_open");
    assert_eq!(
        record["registration_open"], false,
        "a draft takes no entries"
    );

    // Before the contest starts anything may change: the rules, the name.
    let v2 = contest("summer-cup", |d| {
        d["version"] = json!(2);
        d["name"] = json!("Summer FX Cup 2026");
        d["rules"]["min_trades"] = json!(5);
    });
    let (status, record) = app.send(Call::post("/contests", &v2).token(&admin())).await;
    assert_eq!(status, 201, "{record}");
    assert_eq!(record["version"], 2);
    assert_eq!(record["definition"]["rules"]["min_trades"], 5);
    let versions = record["versions"].as_array().unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| v["by"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["mkt-1", "admin-1"]
    );
    assert!(
        versions
            .iter()
            .all(|v| v["sha256"].as_str().unwrap().len() == 64)
    );

    // Anyone reads published contests only; marketing reads drafts.
    let (status, _) = app.send(Call::get("/contests/summer-cup")).await;
    assert_eq!(status, 404, "a draft is not public");
    let (status, drafts) = app
        .send(Call::get("/marketing/contests?status=draft").token(&marketing()))
        .await;
    assert_eq!(status, 200, "{drafts}");
    assert_eq!(drafts["items"][0]["id"], "summer-cup");
    let (status, stored) = app
        .send(Call::get("/contests/summer-cup/versions/1").token(&marketing()))
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["definition"]["rules"]["min_trades"], 3, "as stored");
    assert_eq!(stored["sha256"], versions[0]["sha256"]);
    let (status, _) = app
        .send(Call::get("/contests/summer-cup/versions/3").token(&marketing()))
        .await;
    assert_eq!(status, 404);

    let record = publish(&app, "summer-cup").await;
    assert_eq!(record["published_by"], "mkt-1");
    assert_eq!(record["registration_open"], true);
    let (status, public) = app.send(Call::get("/contests")).await;
    assert_eq!(status, 200, "{public}");
    let listed = &public["items"][0];
    assert_eq!(listed["id"], "summer-cup");
    assert_eq!(listed["phase"], "registration_open");
    assert_eq!(listed["definition"]["name"], "Summer FX Cup 2026");
    let (status, one) = app.send(Call::get("/contests/summer-cup")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["version"], 2);

    // A published contest that has not started may be cancelled, with a reason.
    let (status, cancelled) = app
        .send(
            Call::post(
                "/contests/summer-cup/cancel",
                &json!({ "reason": "budget cut" }),
            )
            .token(&marketing()),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancellation"]["reason"], "budget cut");
    let (_, public) = app.send(Call::get("/contests")).await;
    assert_eq!(public["items"], json!([]), "no longer public");

    assert_eq!(
        app.audit_actions("contest", "summer-cup").await,
        [
            "contest.created",
            "contest.version_added",
            "contest.published",
            "contest.cancelled"
        ]
    );
    let events = app.audit_events("contest", "summer-cup").await;
    let fields: Vec<&str> = events[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    for changed in ["definition.name", "definition.rules.min_trades"] {
        assert!(fields.contains(&changed), "{changed} named: {fields:?}");
    }
    assert!(
        !fields.contains(&"definition.prizes.tiers"),
        "unchanged fields are not named: {fields:?}"
    );
}

pub async fn bad_definitions_and_changes_to_a_started_contest_write_nothing(app: App) {
    let marketer = marketing();
    let post = |document: Value| Call::post("/contests", &document).token(&marketer);
    let bad: Vec<(Value, &str, &str)> = vec![
        (
            contest("inverted", |d| {
                d["period"]["until"] = json!(hours_from_now(2))
            }),
            "inverted_window",
            "period.until",
        ),
        (
            contest("late-registration", |d| {
                d["registration"]["until"] = json!(hours_from_now(300))
            }),
            "registration_after_period",
            "registration.until",
        ),
        (
            contest("no-min-drawdown", |d| {
                d["metric"] = json!({ "kind": "return_over_drawdown" })
            }),
            "metric_parameter_missing",
            "metric.min_drawdown",
        ),
        (
            contest("over-pool", |d| {
                d["prizes"]["tiers"][0]["share"] = json!("0.9")
            }),
            "prizes_exceed_pool",
            "prizes.tiers",
        ),
        (
            contest("too-precise", |d| {
                d["prizes"]["tiers"][1]["amount"] = json!("100.001")
            }),
            "amount_too_precise",
            "prizes.tiers[1].amount",
        ),
        (
            contest("unknown-field", |d| d["rules"]["surprise"] = json!(1)),
            "invalid_contest",
            "rules.surprise",
        ),
        (
            contest("demo-in-live", |d| {
                d["mode"] = json!("demo");
                d["contest_account"] = json!({ "group": "contest\\usd", "leverage": 100 });
            }),
            "contest_account_mode_mismatch",
            "contest_account.group",
        ),
        (
            contest("tether", |d| {
                d["currency"] = json!("USDT");
                d["contest_account"] = json!({ "group": "contest\\usdt", "leverage": 100 });
            }),
            "invalid_contest",
            "currency",
        ),
        (
            contest("version-2-first", |d| d["version"] = json!(2)),
            "contest_version_conflict",
            "",
        ),
    ];
    for (document, code, field) in bad {
        let status = if code == "contest_version_conflict" {
            409
        } else {
            400
        };
        let field = (!field.is_empty()).then_some(field);
        refused(&app, post(document), status, code, field).await;
    }

    // Roles: a client or a sales agent may not store contests.
    for role in [Role::Client, Role::Sales, Role::Partners] {
        refused(
            &app,
            Call::post("/contests", &contest("by-others", |_| {})).token(&token("u-1", role)),
            403,
            "forbidden",
            None,
        )
        .await;
    }

    // A contest that has started keeps its rules; its prizes may only rise.
    let started = contest("started", |d| {
        d["registration"] = json!({ "from": hours_from_now(-2), "until": hours_from_now(24) });
        d["period"] = json!({ "from": hours_from_now(-1), "until": hours_from_now(100) });
    });
    published(&app, &started).await;
    let next = |change: &dyn Fn(&mut Value)| {
        let mut document = started.clone();
        document["version"] = json!(2);
        change(&mut document);
        document
    };
    for change in [
        &(|d: &mut Value| d["rules"]["min_hold_seconds"] = json!(0)) as &dyn Fn(&mut Value),
        &|d: &mut Value| d["metric"] = json!({ "kind": "profit" }),
        &|d: &mut Value| d["prizes"]["tiers"][1]["amount"] = json!("50.00"),
        &|d: &mut Value| d["period"]["until"] = json!(hours_from_now(120)),
    ] {
        refused(
            &app,
            post(next(change)),
            409,
            "started_contest_rules_locked",
            None,
        )
        .await;
    }
    refused(
        &app,
        post(next(&|d| d["version"] = json!(3))),
        409,
        "contest_version_conflict",
        None,
    )
    .await;
    let (status, record) = app
        .send(post(next(&|d| {
            d["prizes"]["tiers"][1]["amount"] = json!("150.00")
        })))
        .await;
    assert_eq!(status, 201, "higher prizes are taken: {record}");
    refused(
        &app,
        Call::post("/contests/started/cancel", &json!({ "reason": "too late" }))
            .token(&marketing()),
        409,
        "contest_started",
        None,
    )
    .await;

    // Publication needs registration to be open still; a cancellation needs a reason.
    let closed = contest("closed", |d| {
        d["registration"] = json!({ "from": hours_from_now(-3), "until": hours_from_now(-2) });
        d["period"] = json!({ "from": hours_from_now(-2), "until": hours_from_now(100) });
    });
    let (status, _) = app.send(post(closed)).await;
    assert_eq!(status, 201);
    refused(
        &app,
        Call::post("/contests/closed/publish", &json!({})).token(&marketing()),
        409,
        "registration_closed",
        None,
    )
    .await;
    refused(
        &app,
        Call::post("/contests/closed/cancel", &json!({ "reason": " " })).token(&marketing()),
        400,
        "required",
        Some("reason"),
    )
    .await;
    refused(
        &app,
        Call::post("/contests/started/publish", &json!({})).token(&marketing()),
        409,
        "already_published",
        None,
    )
    .await;
    refused(
        &app,
        Call::post("/contests/nowhere/publish", &json!({})).token(&marketing()),
        404,
        "not_found",
        None,
    )
    .await;
}

pub async fn overlapping_contests_may_not_share_an_account_group_or_a_campaign(app: App) {
    let with_group = |id: &str, from: i64, until: i64| {
        contest(id, |d| {
            d["registration"] =
                json!({ "from": hours_from_now(-1), "until": hours_from_now(from) });
            d["period"] = json!({ "from": hours_from_now(from), "until": hours_from_now(until) });
            d["contest_account"] = json!({ "group": "contest\\usd", "leverage": 100 });
        })
    };
    published(&app, &with_group("june", 24, 240)).await;
    let overlapping = with_group("late-june", 200, 400);
    let (status, _) = app
        .send(Call::post("/contests", &overlapping).token(&marketing()))
        .await;
    assert_eq!(status, 201, "a draft may overlap");
    let body = refused(
        &app,
        Call::post("/contests/late-june/publish", &json!({})).token(&marketing()),
        409,
        "overlapping_contest",
        None,
    )
    .await;
    assert!(
        body["message"].as_str().unwrap().contains("june"),
        "names the other: {body}"
    );
    // Moved after the other ends, it publishes.
    let mut moved = with_group("late-june", 240, 400);
    moved["version"] = json!(2);
    let (status, record) = app
        .send(Call::post("/contests", &moved).token(&marketing()))
        .await;
    assert_eq!(status, 201, "{record}");
    let (status, record) = app
        .send(Call::post("/contests/late-june/publish", &json!({})).token(&marketing()))
        .await;
    assert_eq!(status, 200, "{record}");
    // A new version of a published contest may not move it onto the other's time.
    let mut back = with_group("late-june", 200, 400);
    back["version"] = json!(3);
    refused(
        &app,
        Call::post("/contests", &back).token(&marketing()),
        409,
        "overlapping_contest",
        None,
    )
    .await;

    let campaign = |id: &str| contest(id, |d| d["enrollment"] = json!({ "campaign": "gold-q4" }));
    published(&app, &campaign("gold-a")).await;
    let (status, _) = app
        .send(Call::post("/contests", &campaign("gold-b")).token(&marketing()))
        .await;
    assert_eq!(status, 201);
    refused(
        &app,
        Call::post("/contests/gold-b/publish", &json!({})).token(&marketing()),
        409,
        "overlapping_contest",
        None,
    )
    .await;
    // Once the other is cancelled, the campaign is free.
    let (status, _) = app
        .send(
            Call::post("/contests/gold-a/cancel", &json!({ "reason": "replaced" }))
                .token(&marketing()),
        )
        .await;
    assert_eq!(status, 200);
    let (status, record) = app
        .send(Call::post("/contests/gold-b/publish", &json!({})).token(&marketing()))
        .await;
    assert_eq!(status, 200, "{record}");
}
