//! The copy trading API: each role's routes with its tokens, another's refused, bad bodies
//! refused with nothing written.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_tests::app::token;
use brokeros_tests::people::admin;
use serde_json::json;

use crate::common::*;
use crate::harness::App;

pub async fn the_api_serves_each_role_its_own_and_refuses_the_rest(app: App) {
    let (provider, provider_login) = funded(&app, "cp-prov", "10000").await;
    let (follower, login) = funded(&app, "cp-fol", "2500").await;
    let (stranger, _) = funded(&app, "cp-stranger", "100").await;
    let strategy = json!({ "strategy_id": "trend", "name": "Trend", "login": provider_login,
                           "terms": terms() });
    let (status, body) = app
        .send(Call::post("/copy/strategies", &strategy).token(&provider.token()))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "pending_approval");
    // Sales may not approve; the provider may not approve their own; an admin does.
    let sales = token("sales-1", Role::Sales);
    let approve = "/copy/strategies/trend/approve";
    let (status, _) = app.send(Call::post_empty(approve).token(&sales)).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .send(Call::post_empty(approve).token(&provider.token()))
        .await;
    assert_eq!(status, 403);
    let (status, body) = app.send(Call::post_empty(approve).token(&admin())).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("active")),
        "{body}"
    );

    // Bad bodies: nothing written.
    let before = app.counts().await;
    for (body, code) in [
        (
            json!({ "subscription_id": "sub-x", "strategy_id": "trend", "login": login, "sizing": { "mode": "fixed_lot" } }),
            400,
        ),
        (
            json!({ "subscription_id": "sub-x", "strategy_id": "trend", "login": login, "sizing": { "mode": "equity" }, "x": 1 }),
            400,
        ),
        (
            json!({ "subscription_id": "sub-x", "strategy_id": "trend", "login": "1", "sizing": { "mode": "equity" } }),
            400,
        ),
        (
            json!({ "subscription_id": "sub-x", "strategy_id": "trend", "login": provider_login, "sizing": { "mode": "equity" } }),
            404,
        ),
    ] {
        let (status, answer) = app
            .send(Call::post("/copy/subscriptions", &body).token(&follower.token()))
            .await;
        assert_eq!(status, code, "{body}: {answer}");
        assert!(answer["code"].is_string(), "{answer}");
    }
    let (status, answer) = app
        .send(
            Call::post(
                "/copy/subscriptions",
                &json!({ "subscription_id": "sub-x", "strategy_id": "trend", "login": provider_login, "sizing": { "mode": "equity" } }),
            )
            .token(&provider.token()),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("own_strategy")),
        "{answer}"
    );
    assert_eq!(app.counts().await, before, "nothing written");

    wallet_holds(&app, &follower, "100.00").await;
    let subscribe = json!({ "subscription_id": "sub-1", "strategy_id": "trend", "login": login,
                            "sizing": { "mode": "multiplier", "factor": "0.5" } });
    let (status, body) = app
        .send(Call::post("/copy/subscriptions", &subscribe).token(&follower.token()))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .send(Call::get("/copy/subscriptions/mine").token(&follower.token()))
        .await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{body}"
    );
    let (status, body) = app
        .send(Call::get("/copy/strategies/trend/followers").token(&provider.token()))
        .await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{body}"
    );
    // Someone else's subscription and followers are not found.
    for call in [
        Call::get("/copy/subscriptions/sub-1/trades").token(&stranger.token()),
        Call::get("/copy/strategies/trend/followers").token(&stranger.token()),
        Call::post(
            "/copy/subscriptions/sub-1/changes",
            &json!({ "action": "pause" }),
        )
        .token(&stranger.token()),
    ] {
        let (status, body) = app.send(call).await;
        assert_eq!(status, 404, "{body}");
    }
    let (status, body) = app
        .send(
            Call::post(
                "/copy/subscriptions/sub-1/changes",
                &json!({ "action": "pause" }),
            )
            .token(&follower.token()),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("paused")),
        "{body}"
    );
    let (status, body) = app
        .send(Call::get("/copy/subscriptions/sub-1/trades").token(&follower.token()))
        .await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{body}"
    );
    // Clients list the active strategies; only admins the others.
    let (status, _) = app
        .send(Call::get("/copy/strategies?status=pending_approval").token(&follower.token()))
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .send(Call::get("/copy/strategies").token(&follower.token()))
        .await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{body}"
    );
    let (status, body) = app
        .send(
            Call::post(
                "/copy/strategies/trend/suspend",
                &json!({ "reason": "review" }),
            )
            .token(&admin()),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("suspended")),
        "{body}"
    );
}
