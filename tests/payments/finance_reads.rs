//! What finance reads of payments: the providers with their health and routing statistics
//! (`GET /payments/providers`).

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use serde_json::Value;

use crate::deposit_flows::{approved_client, deposit_finished};
use crate::harness::{App, token};

/// The provider `id` of a `GET /payments/providers` answer.
fn provider<'a>(overview: &'a Value, id: &str) -> &'a Value {
    overview["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("{id} is listed: {overview}"))
}

pub async fn providers_show_their_health_who_set_it_and_routing_statistics(app: App) {
    app.run_payment_providers();
    let finance = token("finance-1", Role::Finance);
    let client_id = approved_client(&app, "Berg").await;
    app.create_deposit(&client_id, "dep_stats", "60.00", "USD")
        .await;
    let (_, deposit) = deposit_finished(&app, "dep_stats").await;
    assert_eq!(deposit["status"], "credited", "{deposit}");
    let attempts = deposit["attempts"].as_array().unwrap();
    let paid_by = attempts.last().unwrap()["provider"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, overview) = app
        .send(Call::get("/payments/providers").token(&finance))
        .await;
    assert_eq!(status, 200, "{overview}");
    assert_eq!(overview["rules_version"], 1, "{overview}");
    let paid = provider(&overview, &paid_by);
    assert_eq!(paid["health"], "up", "{paid}");
    assert!(paid["health_set"].is_null(), "never set: {paid}");
    assert_eq!(paid["recent"]["succeeded"], 1, "{paid}");
    assert_eq!(paid["volume_today"]["USD"], "60.00", "{paid}");

    let body = serde_json::json!({ "health": "degraded", "note": "INC-7" });
    let path = format!("/payments/providers/{paid_by}/health");
    let (status, reply) = app.send(Call::put(&path, &body).token(&finance)).await;
    assert_eq!(status, 200, "{reply}");
    let (_, overview) = app
        .send(Call::get("/payments/providers").token(&finance))
        .await;
    let paid = provider(&overview, &paid_by);
    assert_eq!(paid["health"], "degraded", "{paid}");
    assert_eq!(paid["health_set"]["set_by"], "finance-1", "{paid}");
    assert_eq!(paid["health_set"]["source"], "ops", "{paid}");
    assert_eq!(paid["health_set"]["note"], "INC-7", "{paid}");
    assert_eq!(paid["health_set"]["since"], reply["since"], "{paid}");

    for role in [Role::Sales, Role::Client, Role::Compliance] {
        let (status, reply) = app
            .send(Call::get("/payments/providers").token(&token("someone", role)))
            .await;
        assert_eq!(status, 403, "{role:?}: {reply}");
    }
}
