//! The PAMM chapter of `brokeros demo`: Mia offers her trading account as a PAMM account, an
//! admin approves it, and Noor invests. Rollovers run as the schedule runs them (the
//! `pamm-rollover` workflow on the local engine, at midnight UTC on the demo's clock): Mia's
//! deposit becomes her capital at the initial NAV, Noor's money buys units at the NAV of her
//! rollover, a loss takes the NAV below her high-water mark, a recovery still below it costs no
//! fee, and a gain above it pays the manager 20 % of the new profit, into Mia's wallet.
//!
//! Everything goes through the public API except what has no route: the trading results (the
//! simulated platform's open positions), the demo's clock, and the schedule that starts each
//! rollover (what the SAM template's schedule invokes).

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_kernel::{AheadClock, Clock};
use brokeros_sfn::ExecutionStatus;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::trades::{Person, client, fund, parse};
use super::{Demo, amount, finished, text};
use crate::local::LocalBrokerOs;
use brokeros_pamm::model::fund::NAV_SCALE;

const OFFER_ID: &str = "mia-fx";

const MIA: Person = Person {
    first_name: "Mia",
    last_name: "Rossi",
    country: "IT",
    date_of_birth: "1984-02-17",
    documents: [
        ("passport", "YA4417203"),
        ("proof_of_address", "ENEL-2026-08"),
    ],
};

const NOOR: Person = Person {
    first_name: "Noor",
    last_name: "Haddad",
    country: "GB",
    date_of_birth: "1993-09-21",
    documents: [
        ("passport", "549302116"),
        ("proof_of_address", "COUNCIL-TAX-77"),
    ],
};

/// Daily at midnight UTC, requests an hour before it wait for the next; 20 % of each
/// investor's new profit, no other fee.
fn terms() -> Value {
    json!({
        "currency": "USD",
        "performance_fee": [{ "from": "0", "percent": "20" }],
        "management_fee": "0", "entry_fee": "0", "min_investment": "500.00",
        "min_manager_capital": "1000.00",
        "rollover": { "every": "day", "at": "00:00", "utc_offset": "+00:00" },
        "cutoff_minutes": 60, "lockup_days": 0, "ib_share": [], "notice_days": 14
    })
}

pub(super) async fn chapter(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
) -> Result<(), String> {
    println!(
        "\n== A PAMM account: a manager's pooled account in units, an investor's money at the NAV of \
         her rollover, a loss, a recovery below her high-water mark (no fee), a gain above it (the fee)"
    );
    demo.say("Mia, a money manager, and Noor, an investor, register and are onboarded");
    let (mia, mia_token, login) = client(demo, local, &MIA).await?;
    let (noor, noor_token, noor_login) = client(demo, local, &NOOR).await?;
    demo.say("Money arrives on their trading accounts (5000.00 for Mia, 2000.00 for Noor); Noor brings hers to her wallet (POST /clients/{id}/transfers)");
    fund(local, login, "pamm-demo-mia", "5000.00").await?;
    fund(local, noor_login, "pamm-demo-noor", "2000.00").await?;
    let back = json!({
        "transfer_id": "tr_demo_noor", "from": { "account": noor_login }, "to": { "wallet": "USD" },
        "amount": "2000.00", "currency": "USD"
    });
    demo.expect(
        Call::post(&format!("/clients/{noor}/transfers"), &back).token(&noor_token),
        201,
    )
    .await?;

    demo.say(&format!(
        "Mia offers her account {login} as a PAMM account (POST /pamm/offers); an admin approves it (not Mia)"
    ));
    let offer =
        json!({ "offer_id": OFFER_ID, "name": "Mia's FX", "login": login, "terms": terms() });
    demo.expect(Call::post("/pamm/offers", &offer).token(&mia_token), 201)
        .await?;
    let admin = demo.token("admin-1", Role::Admin);
    let approved = demo
        .expect(
            Call::post(&format!("/pamm/offers/{OFFER_ID}/approve"), &json!({})).token(&admin),
            200,
        )
        .await?;
    println!(
        "   {} is {}: 20 % of each investor's new profit, rollovers daily at 00:00 UTC, requests due an hour before",
        text(&approved["id"]),
        text(&approved["status"])
    );

    demo.say("The first rollover: what the account holds (Mia's 5000.00) is her capital, 5000 units at NAV 1");
    roll(demo, local, clock).await?;

    demo.say("Noor invests 1000.00 from her wallet (reserved now, executed at the next rollover)");
    let request = demo
        .expect(
            Call::post(
                &format!("/pamm/offers/{OFFER_ID}/requests"),
                &json!({ "request_id": "noor-1", "kind": "invest", "amount": "1000.00" }),
            )
            .token(&noor_token),
            202,
        )
        .await?;
    println!(
        "   request {} {}, due at the rollover of {}",
        text(&request["id"]),
        text(&request["status"]),
        text(&request["due_at"])
    );
    roll(demo, local, clock).await?;
    statement(demo, &noor_token).await?;

    for (story, floating) in [
        (
            "Mia's trades lose 600.00: the NAV falls to 0.9, Noor's 900.00 is below her mark of 1000.00",
            "-600.00",
        ),
        (
            "Half of it comes back (NAV 0.95): still below Noor's mark, so no fee",
            "-300.00",
        ),
        (
            "A gain to NAV 1.1: Noor's 1100.00 is 100.00 above her mark: 20 % of it to Mia",
            "600.00",
        ),
    ] {
        demo.say(story);
        local
            .platform
            .set_open_positions(login, parse(floating)?, Decimal::ZERO)
            .await
            .map_err(|e| e.to_string())?;
        roll(demo, local, clock).await?;
        statement(demo, &noor_token).await?;
    }

    demo.say(&format!(
        "Mia's fee income (GET /pamm/offers/{OFFER_ID}/fees) and her wallet"
    ));
    let fees = demo
        .expect(
            Call::get(&format!("/pamm/offers/{OFFER_ID}/fees")).token(&mia_token),
            200,
        )
        .await?;
    for row in fees["items"].as_array().into_iter().flatten() {
        println!(
            "   {}: performance {}, to Mia {}",
            text(&row["rollover_id"]),
            amount(&row["fees"]["performance"]),
            amount(&row["manager"])
        );
    }
    let wallet = demo
        .expect(
            Call::get(&format!("/clients/{mia}/wallet")).token(&mia_token),
            200,
        )
        .await?;
    for balance in wallet["wallets"].as_array().into_iter().flatten() {
        println!(
            "   Mia's {} wallet: {} available",
            text(&balance["currency"]),
            text(&balance["available"])
        );
    }
    Ok(())
}

/// Moves the clock past the next midnight UTC and runs the schedule (what EventBridge invokes):
/// the rollover's execution, to its end; prints the rollover as the NAV history shows it.
async fn roll(demo: &Demo, local: &LocalBrokerOs, clock: &AheadClock) -> Result<(), String> {
    let now = clock.now();
    let midnight = OffsetDateTime::new_utc(
        now.date().next_day().ok_or("the calendar ends")?,
        time::Time::MIDNIGHT,
    );
    clock.advance_to(midnight + Duration::minutes(1));
    let started = brokeros_pamm::tasks::start_scheduled(&local.services.pamm)
        .await
        .map_err(|e| e.to_string())?;
    for arn in &started {
        let done = finished(local, arn).await?;
        println!("   pamm-rollover execution: {:?}", done.status);
        if done.status != ExecutionStatus::Succeeded {
            return Err(format!(
                "rollover {arn} ended {:?}: {:?}",
                done.status, done.cause
            ));
        }
    }
    let history = demo
        .expect(
            Call::get(&format!("/pamm/offers/{OFFER_ID}/rollovers?limit=1"))
                .token(&demo.token("admin-1", Role::Admin)),
            200,
        )
        .await?;
    let r = &history["items"][0];
    println!(
        "   rollover {}: equity {} over {} units = gross NAV {}; fees {}; NAV {}; in {}, out {}",
        text(&r["id"]),
        amount(&r["equity_before"]),
        amount(&r["units_before"]),
        nav(&r["gross_nav"]),
        amount(&r["fees"]["performance"]),
        nav(&r["nav_after"]),
        amount(&r["invested"]),
        amount(&r["paid_out"])
    );
    Ok(())
}

/// A NAV as statements show it: to eight decimals.
fn nav(value: &Value) -> String {
    value
        .as_str()
        .and_then(|n| n.parse::<Decimal>().ok())
        .map(|n| n.round_dp(NAV_SCALE).normalize().to_string())
        .unwrap_or_default()
}

/// Noor's holding as her statement shows it.
async fn statement(demo: &Demo, token: &str) -> Result<(), String> {
    let mine = demo
        .expect(
            Call::get(&format!("/pamm/offers/{OFFER_ID}/statement?limit=1")).token(token),
            200,
        )
        .await?;
    let holding = &mine["holding"];
    let line = &mine["rollovers"]["items"][0];
    println!(
        "   Noor: {} units, equity {}, high-water mark {}, fee this rollover {}",
        amount(&holding["units"]),
        amount(&holding["equity"]),
        amount(&holding["hwm"]),
        line["fees"]["performance"].as_str().unwrap_or("0")
    );
    Ok(())
}
