//! The copy trading chapter of `brokeros demo`: Omar offers his account as a strategy, an admin
//! approves it, and three followers subscribe, each sized by another rule — a fixed lot, a
//! multiple of Omar's lots, and in proportion to their balance. Omar buys 1.00 lot and later
//! closes half of it; each deal reaches the followers as the copy pass of `serve` (what the
//! `copy-trading` function does in AWS) carries it: read from the platform's deal history,
//! one message per follower on the copy queue, one market order each.
//!
//! Everything goes through the public API except what has no route: the accounts' money and
//! Omar's trades (the simulated platform's own calls), and the copy pass.

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_kernel::{AheadClock, Clock};
use brokeros_trading::DealSide;
use serde_json::{Value, json};
use time::Duration;

use super::trades::{Person, client, fund, parse};
use super::{Demo, amount, text};
use crate::local::LocalBrokerOs;

const STRATEGY_ID: &str = "omar-trend";

const OMAR: Person = Person {
    first_name: "Omar",
    last_name: "Farouk",
    country: "GB",
    date_of_birth: "1981-05-30",
    documents: [
        ("passport", "512907734"),
        ("proof_of_address", "COUNCIL-TAX-58"),
    ],
};

/// The followers: who, how much their account holds, and how they size Omar's deals.
const FOLLOWERS: [(Person, &str, &str); 3] = [
    (
        Person {
            first_name: "Pia",
            last_name: "Lund",
            country: "SE",
            date_of_birth: "1995-01-11",
            documents: [
                ("passport", "SE8812770"),
                ("proof_of_address", "VATTEN-2026-4"),
            ],
        },
        "2000.00",
        r#"{"mode": "fixed_lot", "lots": "0.10"}"#,
    ),
    (
        Person {
            first_name: "Quinn",
            last_name: "Murphy",
            country: "IE",
            date_of_birth: "1988-08-02",
            documents: [
                ("passport", "PX5520913"),
                ("proof_of_address", "ESB-2026-19"),
            ],
        },
        "5000.00",
        r#"{"mode": "multiplier", "factor": "0.5"}"#,
    ),
    (
        Person {
            first_name: "Rhea",
            last_name: "Kaur",
            country: "GB",
            date_of_birth: "1990-12-24",
            documents: [
                ("passport", "533017829"),
                ("proof_of_address", "COUNCIL-TAX-64"),
            ],
        },
        "25000.00",
        r#"{"mode": "balance"}"#,
    ),
];

pub(super) async fn chapter(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
) -> Result<(), String> {
    println!(
        "\n== Copy trading: one provider deal copied to three followers, each sized by their own rule"
    );
    demo.say("Omar registers and is onboarded; 10000.00 arrive on his account; he offers it as a strategy (POST /copy/strategies) and an admin approves it");
    let (_, omar_token, omar_login) = client(demo, local, &OMAR).await?;
    fund(local, omar_login, "copy-demo-omar", "10000.00").await?;
    let strategy = json!({
        "strategy_id": STRATEGY_ID, "name": "Omar's trend", "login": omar_login,
        "terms": { "currency": "USD" }
    });
    demo.expect(
        Call::post("/copy/strategies", &strategy).token(&omar_token),
        201,
    )
    .await?;
    let admin = demo.token("admin-1", Role::Admin);
    let approved = demo
        .expect(
            Call::post(
                &format!("/copy/strategies/{STRATEGY_ID}/approve"),
                &json!({}),
            )
            .token(&admin),
            200,
        )
        .await?;
    println!(
        "   {} is {}",
        text(&approved["id"]),
        text(&approved["status"])
    );

    demo.say("Three followers subscribe (POST /copy/subscriptions): Pia a fixed 0.10 lot, Quinn half of Omar's lots, Rhea in proportion to her balance (25000.00 against Omar's 10000.00)");
    let mut subscriptions: Vec<(&str, String, String)> = Vec::new();
    for (person, balance, sizing) in &FOLLOWERS {
        let (_, token, login) = client(demo, local, person).await?;
        fund(local, login, &format!("copy-demo-{login}"), balance).await?;
        let sizing: Value = serde_json::from_str(sizing).map_err(|e| e.to_string())?;
        let subscribed = demo
            .expect(
                Call::post(
                    "/copy/subscriptions",
                    &json!({
                        "subscription_id": format!("{}-follows", person.first_name.to_lowercase()),
                        "strategy_id": STRATEGY_ID, "login": login, "sizing": sizing
                    }),
                )
                .token(&token),
                201,
            )
            .await?;
        println!(
            "   {} follows with account {login}: {}",
            person.first_name, subscribed["sizing"]
        );
        subscriptions.push((person.first_name, text(&subscribed["id"]), token));
    }

    demo.say("Omar buys 1.00 lot of EURUSD; the copy pass carries the deal to each follower");
    let opened = local
        .platform
        .open_position(
            omar_login,
            "EURUSD",
            DealSide::Buy,
            parse("1.00")?,
            (clock.now().unix_timestamp_nanos() / 1_000_000) as i64,
        )
        .await
        .map_err(|e| e.to_string())?;
    copy_pass(local).await?;
    show(demo, &subscriptions, opened.deal).await?;

    clock.advance(Duration::minutes(5));
    demo.say("Five minutes later Omar closes half of the position: each follower closes the same half of theirs");
    let closed = local
        .platform
        .close_position(
            omar_login,
            opened.position_id,
            parse("0.50")?,
            (clock.now().unix_timestamp_nanos() / 1_000_000) as i64,
        )
        .await
        .map_err(|e| e.to_string())?;
    copy_pass(local).await?;
    show(demo, &subscriptions, closed.deal).await?;
    Ok(())
}

/// One copy pass, as `serve` runs it every second: the deal history read and fanned out, the
/// copy queue drained.
async fn copy_pass(local: &LocalBrokerOs) -> Result<(), String> {
    let pass = crate::copy_trading_pass(&local.services)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "   copy pass: {} copied, {} failed",
        pass.copied, pass.failed
    );
    Ok(())
}

/// What each follower's copy of provider deal `deal` was (GET /copy/subscriptions/{id}/trades).
async fn show(
    demo: &Demo,
    subscriptions: &[(&str, String, String)],
    deal: u64,
) -> Result<(), String> {
    for (name, id, token) in subscriptions {
        let trades = demo
            .expect(
                Call::get(&format!("/copy/subscriptions/{id}/trades")).token(token),
                200,
            )
            .await?;
        let copy = trades["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["provider_deal"]["deal"].as_u64() == Some(deal))
            .ok_or_else(|| format!("{name}'s copy of deal {deal} is not recorded"))?;
        println!(
            "   {name}: {} {} lot(s) at {}, {} ms after Omar's deal",
            text(&copy["status"]),
            amount(&copy["volume"]),
            amount(&copy["fill"]["price"]),
            copy["delay_ms"]
        );
    }
    Ok(())
}
