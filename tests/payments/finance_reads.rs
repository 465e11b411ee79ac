//! What finance reads of payments: the providers with their health and routing statistics
//! (`GET /payments/providers`), deposits per day by provider (`GET /payments/deposits/daily`), and
//! a client's trading accounts with their money on the platform (`GET /clients/{id}/accounts`).

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use rust_decimal::Decimal;
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

pub async fn deposits_per_day_count_and_add_up_by_provider_status_and_currency(app: App) {
    app.run_payment_providers();
    let finance = token("finance-1", Role::Finance);
    let client_id = approved_client(&app, "Berg").await;
    let mut expected: std::collections::BTreeMap<(String, String), (u64, Decimal)> =
        Default::default();
    let mut today = String::new();
    for (id, amount) in [("dep_day_1", "60.00"), ("dep_day_2", "40.50")] {
        app.create_deposit(&client_id, id, amount, "USD").await;
        let (_, deposit) = deposit_finished(&app, id).await;
        assert_eq!(deposit["status"], "credited", "{deposit}");
        today = deposit["created_at"].as_str().unwrap()[..10].to_string();
        let attempts = deposit["attempts"].as_array().unwrap();
        let provider = attempts.last().unwrap()["provider"].as_str().unwrap();
        let row = expected
            .entry((today.clone(), provider.to_string()))
            .or_default();
        row.0 += 1;
        row.1 += amount.parse::<Decimal>().unwrap();
    }

    let path = format!("/payments/deposits/daily?from={today}&to={today}");
    let (status, report) = app.send(Call::get(&path).token(&finance)).await;
    assert_eq!(status, 200, "{report}");
    let rows: std::collections::BTreeMap<(String, String), (u64, Decimal)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            assert_eq!(row["status"], "credited", "{row}");
            assert_eq!(row["currency"], "USD", "{row}");
            assert!(row["amount"].is_string(), "a decimal string: {row}");
            (
                (
                    row["day"].as_str().unwrap().to_string(),
                    row["provider"].as_str().unwrap().to_string(),
                ),
                (
                    row["count"].as_u64().unwrap(),
                    row["amount"].as_str().unwrap().parse().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(rows, expected, "{report}");

    // A period without deposits has no rows.
    let (status, report) = app
        .send(Call::get("/payments/deposits/daily?from=2020-01-01&to=2020-03-31").token(&finance))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["items"], serde_json::json!([]), "{report}");

    let before = app.counts().await;
    let refused = [
        (
            "from=2020-01-01&to=2020-04-03",
            "period_too_long",
            Some("to"),
        ),
        (
            "from=2020-01-02&to=2020-01-01",
            "invalid_period",
            Some("to"),
        ),
        (
            "from=2020-02-30&to=2020-03-01",
            "invalid_date",
            Some("from"),
        ),
        ("from=2020-01-01", "invalid_query", None),
        (
            "from=2020-01-01&to=2020-01-02&client=x",
            "invalid_query",
            None,
        ),
    ];
    for (query, code, field) in refused {
        let path = format!("/payments/deposits/daily?{query}");
        let (status, reply) = app.send(Call::get(&path).token(&finance)).await;
        assert_eq!(status, 400, "{query}: {reply}");
        assert_eq!(reply["code"], code, "{query}: {reply}");
        assert_eq!(reply["field"].as_str(), field, "{query}: {reply}");
    }
    for role in [Role::Client, Role::Sales, Role::Compliance] {
        let path = format!("/payments/deposits/daily?from={today}&to={today}");
        let (status, reply) = app
            .send(Call::get(&path).token(&token("someone", role)))
            .await;
        assert_eq!(status, 403, "{role:?}: {reply}");
    }
    assert_eq!(app.counts().await, before, "reads write nothing");
}

pub async fn trading_accounts_show_the_platform_s_balance_and_equity(app: App) {
    app.run_payment_providers();
    let finance = token("finance-1", Role::Finance);
    let client_id = approved_client(&app, "Berg").await;
    app.create_deposit(&client_id, "dep_acct", "75.25", "USD")
        .await;
    let (_, deposit) = deposit_finished(&app, "dep_acct").await;
    assert_eq!(deposit["funding"]["status"], "funded", "{deposit}");
    let login = deposit["funding"]["login"].as_u64().unwrap();
    let path = format!("/clients/{client_id}/accounts");

    let before = app.counts().await;
    // Finance, and the account manager who registered the client.
    for reader in [finance.clone(), token("sales-1", Role::Sales)] {
        let (status, accounts) = app.send(Call::get(&path).token(&reader)).await;
        assert_eq!(status, 200, "{accounts}");
        assert_eq!(accounts["client_id"], client_id.as_str());
        let items = accounts["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{accounts}");
        let account = &items[0];
        assert_eq!(account["login"], login, "{account}");
        assert_eq!(account["currency"], "USD", "{account}");
        let platform = app.platform_account(login).await;
        assert_eq!(
            platform.balance,
            Decimal::new(7_525, 2),
            "the deposit's funding"
        );
        assert_eq!(
            account["money"]["balance"],
            platform.balance.to_string(),
            "{account}"
        );
        assert_eq!(
            account["money"]["equity"],
            platform.equity.to_string(),
            "{account}"
        );
        assert_eq!(
            account["money"]["free_margin"],
            platform.free_margin.to_string(),
            "{account}"
        );
    }

    for stranger in [
        token("portal-mallory", Role::Client),
        token("sales-2", Role::Sales),
    ] {
        let (status, reply) = app.send(Call::get(&path).token(&stranger)).await;
        assert_eq!(status, 403, "{reply}");
    }
    let (status, reply) = app
        .send(Call::get("/clients/client_nobody/accounts").token(&finance))
        .await;
    assert_eq!(status, 404, "{reply}");
    // A platform that does not answer fails the read; it never shows a balance of zero.
    app.platform.fail_next_calls(1);
    let (status, reply) = app.send(Call::get(&path).token(&finance)).await;
    assert_eq!(status, 503, "{reply}");
    assert_eq!(app.counts().await, before, "reads write nothing");
}
