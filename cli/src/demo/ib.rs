//! The IB chapter of `brokeros demo`: a partner manager's commission plan, a three-level tree
//! of introducing brokers, referred clients trading on the simulated platform, the accrual
//! with each leg's explanation, a day paid out by the `commission-payout` workflow with
//! finance's maker-checker approval, and the IBs' statements.
//!
//! Everything goes through the public API except what has no route: the clients' trades (the
//! simulated trading platform's own calls), the accrual pass `brokeros serve` runs on a timer,
//! the demo's clock, and the IB wallets' ledger balances.

use std::collections::HashMap;

use brokeros_http::client::{Call, call_raw};
use brokeros_ib::model::{Period, PeriodKind};
use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::Role;
use brokeros_kernel::{AheadClock, Clock};
use brokeros_ledger::model::AccountId;
use brokeros_trading::DealSide;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::trades::{Trades, at_msc, held_text, onboarded};
use super::{Demo, amount, decimal, finished, form_key, print_states, rfc3339, text, whole_second};
use crate::local::LocalBrokerOs;

/// The plan every IB of the chapter is agreed on.
const PLAN_ID: &str = "demo-daily";

/// How long the trading session takes on the demo's clock, at most: its deals must fall on one
/// day, the one the payout closes.
const SESSION: Duration = Duration::minutes(30);

/// An IB of the chapter: who it is and the portal user it signs in as.
struct Partner {
    id: String,
    name: String,
    user: &'static str,
    currency: String,
    /// Its ledger wallet (`IB:<id>:<currency>`).
    wallet: String,
}

/// The chapter's IBs: a master, its sub-IB, and the sub-IB's own sub-IB.
struct Tree {
    master: Partner,
    sub: Partner,
    sub_sub: Partner,
}

impl Tree {
    /// The IBs from the one nearest the clients up to the master.
    fn closest_first(&self) -> [&Partner; 3] {
        [&self.sub_sub, &self.sub, &self.master]
    }
}

/// The referred clients' trading logins.
#[derive(Clone, Copy)]
struct Logins {
    dana: u64,
    emil: u64,
}

pub(super) async fn chapter(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
) -> Result<(), String> {
    println!(
        "\n== Introducing brokers: a commission plan, a three-level tree, referred clients trading, \
         accruals explained, a day paid out"
    );
    let pm = demo.token("pm-1", Role::Partners);
    let plan_from = put_plan(demo, &pm, clock).await?;
    let tree = build_tree(demo, &pm).await?;
    let logins = refer_clients(demo, local, &pm, &tree).await?;
    let (day, labels) = trade(demo, local, clock, plan_from, logins).await?;
    accrue(demo, local).await?;
    read_accruals(demo, &tree, day, &labels).await?;
    pay_out(demo, local, clock, &tree, day).await?;
    read_statements(demo, local, &tree, day).await
}

/// A partner manager stores the chapter's plan, in force from the next minute: when it is.
async fn put_plan(demo: &mut Demo, pm: &str, clock: &AheadClock) -> Result<OffsetDateTime, String> {
    demo.say("A partner manager puts a daily commission plan in force from the next minute");
    let plan_from = whole_second(clock.now()) + Duration::minutes(1);
    let plan = json!({
        "id": PLAN_ID, "version": 1, "effective_from": rfc3339(plan_from),
        "currency": "USD", "period": "daily", "earn_on": "close",
        "min_lots": "0.01", "min_hold_seconds": 60, "exclude_hedged": true,
        "rules": [
            { "id": "majors", "priority": 10, "match": { "symbol_groups": ["majors"] },
              "earns": { "per_lot": "10" } },
            { "id": "other", "priority": 0, "match": {}, "earns": { "commission_share": "50" } }
        ],
        "tiers": [
            { "min_lots": "0", "multiplier": "1" },
            { "min_lots": "4", "multiplier": "1.1" }
        ],
        "levels": { "mode": "share_of_above", "percents": ["60", "40", "50"], "cap_per_deal": "20" }
    });
    print_plan(&plan);
    let record = demo
        .expect(Call::post("/partners/plans", &plan).token(pm), 201)
        .await?;
    for version in record["versions"].as_array().into_iter().flatten() {
        println!(
            "   stored: {} v{} in force from {} (sha256 {}…)",
            text(&record["id"]),
            version["version"],
            version["effective_from_msc"]
                .as_i64()
                .map_or_else(String::new, |msc| rfc3339(at_msc(msc))),
            version["sha256"]
                .as_str()
                .unwrap_or("")
                .get(..12)
                .unwrap_or("")
        );
    }
    Ok(plan_from)
}

/// The master IB (staff's application), its sub-IB (through the master's invitation) and the
/// sub-IB's sub-IB (staff's, under a parent).
async fn build_tree(demo: &mut Demo, pm: &str) -> Result<Tree, String> {
    demo.say("The master IB: a partner manager records an application and approves it with the plan and a referral code");
    let master = new_ib(
        demo,
        pm,
        json!({ "name": "Lisbon Markets", "payout_currency": "USD", "user_id": "portal-lisbon" }),
        "portal-lisbon",
        ("LSB-MASTER", "web"),
    )
    .await?;

    demo.say("The master invites a sub-IB from its portal; the invitee applies with the invitation and is approved under the master");
    let master_portal = demo.token(master.user, Role::Ib);
    let invitation = demo
        .expect(
            Call::post("/ib/me/invitations", &json!({})).token(&master_portal),
            201,
        )
        .await?;
    println!(
        "   invitation {} -> {}",
        text(&invitation["id"]),
        text(&invitation["link"])
    );
    let invitee = demo.token("portal-porto", Role::Client);
    let application = demo
        .expect(
            Call::post(
                "/ib/applications",
                &json!({ "name": "Porto Traders", "payout_currency": "USD",
                         "invitation_id": invitation["id"] }),
            )
            .token(&invitee),
            201,
        )
        .await?;
    println!(
        "   application {} {}, under {}",
        text(&application["id"]),
        text(&application["status"]),
        text(&application["parent_ib"])
    );
    let sub = approve(
        demo,
        pm,
        &application,
        "portal-porto",
        ("PRT-SUB", "telegram"),
    )
    .await?;

    demo.say("A partner manager adds a sub-sub-IB under the sub-IB");
    let sub_sub = new_ib(
        demo,
        pm,
        json!({ "name": "Braga FX Club", "payout_currency": "USD", "user_id": "portal-braga",
                "parent_ib_id": sub.id }),
        "portal-braga",
        ("BRG-CLUB", "instagram"),
    )
    .await?;
    let tree = demo
        .expect(
            Call::get(&format!("/partners/tree?root={}", master.id)).token(pm),
            200,
        )
        .await?;
    for member in tree["items"].as_array().into_iter().flatten() {
        let depth = member["level"].as_u64().unwrap_or(0) as usize;
        println!(
            "   {}level {}: {} ({}) {}",
            "  ".repeat(depth),
            member["level"],
            text(&member["name"]),
            text(&member["id"]),
            text(&member["standing"])
        );
    }
    Ok(Tree {
        master,
        sub,
        sub_sub,
    })
}

/// Dana (a lead with the sub-sub-IB's code, converted) and Emil (registered with the
/// sub-IB's code), onboarded with trading accounts.
async fn refer_clients(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    pm: &str,
    tree: &Tree,
) -> Result<Logins, String> {
    demo.say("Dana comes through the sub-sub-IB's link: her lead carries its code; she is qualified, converted and onboarded");
    let admin = demo.token("admin-1", Role::Admin);
    let lead = demo
        .expect(
            Call::post(
                "/leads",
                &json!({ "first_name": "Dana", "last_name": "Sousa", "email": "dana.sousa@example.pt",
                         "country": "PT", "language": "pt", "referral_code": "BRG-CLUB",
                         "marketing_consent": false }),
            )
            .header("idempotency-key", form_key(10)),
            202,
        )
        .await?;
    let lead_path = format!("/leads/{}", text(&lead["lead_id"]));
    for status in ["contacted", "qualified"] {
        demo.expect(
            Call::post(&format!("{lead_path}/status"), &json!({ "status": status })).token(&admin),
            200,
        )
        .await?;
    }
    let dana = demo
        .expect(
            Call::post(
                &format!("{lead_path}/convert"),
                &json!({ "user_id": "portal-dana" }),
            )
            .token(&admin),
            201,
        )
        .await?;
    let dana_id = text(&dana["id"]);
    let dana_token = demo.token("portal-dana", Role::Client);
    demo.put_individual_profile(&dana_id, "1991-06-20", "PT", &dana_token)
        .await?;
    let dana_login = onboarded(
        demo,
        local,
        &dana_id,
        [
            ("national_id", "PT8801234"),
            ("proof_of_address", "EDP-2026-12"),
        ],
        "PT",
        &dana_token,
    )
    .await?;

    demo.say("Emil registers in the portal himself with the sub-IB's code, and is onboarded");
    let emil_token = demo.token("portal-emil", Role::Client);
    let emil = demo
        .expect(
            Call::post(
                "/clients",
                &json!({
                    "first_name": "Emil", "last_name": "Hart", "email": "emil.hart@example.co.uk",
                    "country": "GB", "referral_code": "PRT-SUB",
                    "profile": {
                        "client_type": "individual", "date_of_birth": "1987-02-11", "nationality": "GB",
                        "residence_country": "GB", "source_of_funds": "salary", "pep_declared": false
                    }
                }),
            )
            .token(&emil_token),
            201,
        )
        .await?;
    let emil_id = text(&emil["id"]);
    let emil_login = onboarded(
        demo,
        local,
        &emil_id,
        [
            ("passport", "802114563"),
            ("proof_of_address", "COUNCIL-TAX-26"),
        ],
        "GB",
        &emil_token,
    )
    .await?;
    for (name, client) in [("Dana", &dana_id), ("Emil", &emil_id)] {
        let attribution = demo
            .expect(
                Call::get(&format!("/partners/clients/{client}/ib")).token(pm),
                200,
            )
            .await?;
        println!(
            "   {name} ({client}) belongs to {} (attributed by {})",
            text(&attribution["current_ib"]),
            text(&attribution["attributed_by"])
        );
    }
    let master_portal = demo.token(tree.master.user, Role::Ib);
    let seen = demo
        .expect(
            Call::get(&format!("/ib/me/clients?ib={}", tree.sub_sub.id)).token(&master_portal),
            200,
        )
        .await?;
    for client in seen["items"].as_array().into_iter().flatten() {
        println!(
            "   the master sees its sub-sub-IB's client {} {}. {} (masked)",
            text(&client["first_name"]),
            text(&client["last_name_initial"]),
            text(&client["email"])
        );
    }
    Ok(Logins {
        dana: dana_login,
        emil: emil_login,
    })
}

/// The clients trade on the simulated platform as the demo's clock moves on: a round trip, a
/// scalp, and a hedge against an open position. Answers the day they traded on and what each
/// closing deal stands for.
async fn trade(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
    plan_from: OffsetDateTime,
    logins: Logins,
) -> Result<(Period, HashMap<u64, String>), String> {
    let Logins {
        dana: dana_login,
        emil: emil_login,
    } = logins;
    let session_start = session_start(clock.now().max(plan_from + Duration::minutes(1)));
    clock.advance_to(session_start);
    demo.say(&format!(
        "They trade on the simulated platform; the demo's clock runs from {} (the plan is in force)",
        rfc3339(whole_second(clock.now()))
    ));
    let mut trades = Trades::new(local, clock);
    let dana_open = trades
        .open("Dana", dana_login, "EURUSD", DealSide::Buy, "1.37")
        .await?;
    clock.advance(Duration::minutes(4));
    trades
        .close("Dana's round trip", dana_login, &dana_open, "1.37")
        .await?;
    clock.advance(Duration::minutes(1));
    let scalp = trades
        .open("Dana", dana_login, "EURUSD", DealSide::Sell, "1")
        .await?;
    clock.advance(Duration::seconds(30));
    trades
        .close("Dana's scalp", dana_login, &scalp, "1")
        .await?;
    clock.advance(Duration::minutes(1));
    let long = trades
        .open("Emil", emil_login, "GBPUSD", DealSide::Buy, "3")
        .await?;
    clock.advance(Duration::minutes(1));
    let hedge = trades
        .open(
            "Emil (against his open long)",
            emil_login,
            "GBPUSD",
            DealSide::Sell,
            "3",
        )
        .await?;
    clock.advance(Duration::minutes(5));
    trades
        .close("Emil's hedge", emil_login, &hedge, "3")
        .await?;
    clock.advance(Duration::minutes(2));
    trades.close("Emil's long", emil_login, &long, "3").await?;
    Ok((
        PeriodKind::Daily.period_of(dana_open.time_msc),
        trades.labels,
    ))
}

/// The accrual pass `brokeros serve` runs on a timer, until the deal feed is caught up.
async fn accrue(demo: &mut Demo, local: &LocalBrokerOs) -> Result<(), String> {
    demo.say("The accrual (what `brokeros serve` runs every few seconds) ingests the server's new deals into explained legs");
    let fx = brokeros_local::SimulatedFxRates::new();
    let mut total = brokeros_ib::accruals::AccrualPass::default();
    loop {
        let pass = brokeros_ib::accruals::accrue_servers(
            &local.services.ib,
            local.services.ports.trading.as_ref(),
            &fx,
            crate::ACCRUAL_BATCHES_PER_PASS,
        )
        .await
        .map_err(|e| e.to_string())?;
        total.batches += pass.batches;
        total.changes += pass.changes;
        total.legs += pass.legs;
        if pass.batches == 0 {
            break;
        }
    }
    println!(
        "   {} batch(es): {} deal changes, {} legs",
        total.batches, total.changes, total.legs
    );
    Ok(())
}

/// Each IB reads its legs of `day`, each with its explanation.
async fn read_accruals(
    demo: &mut Demo,
    tree: &Tree,
    day: Period,
    labels: &HashMap<u64, String>,
) -> Result<(), String> {
    let period = format!("daily:{}", day.label());
    demo.say(&format!(
        "Each IB reads its legs of {period} in its portal, each with why it is what it is"
    ));
    for partner in tree.closest_first() {
        let portal = demo.token(partner.user, Role::Ib);
        let legs = demo
            .expect(
                Call::get(&format!("/ib/me/accruals?period={period}")).token(&portal),
                200,
            )
            .await?;
        println!("   {}:", partner.name);
        for item in legs["items"].as_array().into_iter().flatten() {
            println!("     {}", leg_line(&item["leg"], labels));
        }
    }
    Ok(())
}

/// The next morning finance pays `day` out through the workflow, a second person in finance
/// approving the statement held over the threshold.
async fn pay_out(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
    tree: &Tree,
    day: Period,
) -> Result<(), String> {
    clock.advance_to(at_msc(day.end_msc()) + Duration::hours(8));
    let threshold = local
        .services
        .config
        .ib
        .payout
        .approval_threshold
        .get("USD")
        .map(|t| format!("{t} USD"))
        .unwrap_or_else(|| "no threshold".into());
    demo.say(&format!(
        "The next morning ({}): day {} has ended. Finance starts its payout, the commission-payout workflow; statements over {threshold} wait for a second person in finance",
        rfc3339(whole_second(clock.now())),
        day.label()
    ));
    let maker = demo.token("finance-1", Role::Finance);
    let started = demo
        .expect(
            Call::post("/partners/payouts", &json!({ "schedule": "daily" })).token(&maker),
            200,
        )
        .await?;
    let run_id = text(&started["period_id"]);
    let execution = text(&started["execution_arn"]);
    println!("   run {run_id}, workflow {execution}");
    let run_path = format!("/partners/payouts/{run_id}");
    demo.poll_get(&run_path, &maker, |status, run| {
        status == 200 && run["status"] != "building"
    })
    .await?;
    let statements = demo
        .expect(
            Call::get(&format!("{run_path}/statements")).token(&maker),
            200,
        )
        .await?;
    let names: HashMap<&str, &str> = tree
        .closest_first()
        .into_iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    let mut held = Vec::new();
    for statement in statements["items"].as_array().into_iter().flatten() {
        let ib = text(&statement["ib_id"]);
        println!(
            "   {}: accrued {} -> pays {} ({})",
            names.get(ib.as_str()).copied().unwrap_or(ib.as_str()),
            amount(&statement["lines"]["accrued"]),
            amount(&statement["lines"]["paid"]),
            text(&statement["status"])
        );
        if statement["status"] == "awaiting_approval" {
            held.push(text(&statement["id"]));
        }
    }
    if !held.is_empty() {
        demo.say("Maker-checker: finance-1 started the run, so it may not approve what the run holds; finance-2 approves");
        let checker = demo.token("finance-2", Role::Finance);
        for id in &held {
            let path = format!("/partners/statements/{id}/approve");
            let (status, refused) = demo.send(Call::post(&path, &json!({})).token(&maker)).await;
            println!(
                "   finance-1 refused ({status}): {}",
                text(&refused["message"])
            );
            let approved = demo
                .expect(Call::post(&path, &json!({})).token(&checker), 200)
                .await?;
            println!(
                "   finance-2: statement {} {}",
                text(&approved["id"]),
                text(&approved["status"])
            );
        }
    }
    let done = finished(local, &execution).await?;
    print_states(local, &execution).await?;
    let run = demo.expect(Call::get(&run_path).token(&maker), 200).await?;
    println!(
        "   {:?}: run {} {}, {} statements, {} paid",
        done.status,
        text(&run["id"]),
        text(&run["status"]),
        run["statements"],
        run["paid"]
    );
    Ok(())
}

/// Each IB reads its statement of `day` (one as CSV), next to its wallet's balance.
async fn read_statements(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    tree: &Tree,
    day: Period,
) -> Result<(), String> {
    demo.say("Each IB reads its statement in its portal (and as CSV); its wallet holds what the statement paid");
    for partner in tree.closest_first() {
        let portal = demo.token(partner.user, Role::Ib);
        let mine = demo
            .expect(Call::get("/ib/me/statements").token(&portal), 200)
            .await?;
        let Some(statement) = mine["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|s| s["lines"]["period"]["start_msc"] == json!(day.start_msc))
        }) else {
            println!("   {}: no statement of {}", partner.name, day.label());
            continue;
        };
        print_statement(&partner.name, statement);
        let balance = wallet_balance(local, partner).await?;
        println!(
            "     wallet {} holds {} = statement paid {}",
            partner.wallet,
            balance.normalize(),
            amount(&statement["lines"]["paid"])
        );
        if partner.id == tree.sub.id {
            let path = format!("/ib/me/statements/{}/csv", text(&statement["id"]));
            let (status, _, csv) = call_raw(&demo.router, Call::get(&path).token(&portal)).await;
            println!("   GET {path} -> {status}");
            for line in String::from_utf8_lossy(&csv).lines() {
                println!("     | {line}");
            }
        }
    }
    Ok(())
}

/// Records `application` (staff's, for anyone) and approves it: the new IB.
async fn new_ib(
    demo: &Demo,
    pm: &str,
    application: Value,
    user: &'static str,
    code: (&str, &str),
) -> Result<Partner, String> {
    let application = demo
        .expect(
            Call::post("/partners/applications", &application).token(pm),
            201,
        )
        .await?;
    approve(demo, pm, &application, user, code).await
}

/// Approves `application` with the chapter's plan and referral `code` (code, campaign).
async fn approve(
    demo: &Demo,
    pm: &str,
    application: &Value,
    user: &'static str,
    (code, campaign): (&str, &str),
) -> Result<Partner, String> {
    let approval = json!({
        "plans": [PLAN_ID],
        "referral_codes": [{ "code": code, "campaign": campaign,
                             "utm": { "source": "ib", "medium": "referral" } }],
        "sub_ib_allowance": 2
    });
    let path = format!(
        "/partners/applications/{}/approve",
        text(&application["id"])
    );
    let ib = demo
        .expect(Call::post(&path, &approval).token(pm), 201)
        .await?;
    let links: Vec<String> = ib["referral_codes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {}", text(&c["code"]), text(&c["link"])))
        .collect();
    println!(
        "   IB {} {}: {}, parent {}, wallet {}, plans {}, code {}",
        text(&ib["id"]),
        text(&ib["name"]),
        text(&ib["current_standing"]),
        text(&ib["current_parent"]),
        text(&ib["wallet"]),
        ib["plans"][0]["value"],
        links.join(", ")
    );
    Ok(Partner {
        id: text(&ib["id"]),
        name: text(&ib["name"]),
        user,
        currency: text(&ib["currency"]),
        wallet: text(&ib["wallet"]),
    })
}

/// When the session starts: `earliest`, or just after midnight when the session would cross
/// one (its deals must share a day, the one that is paid out).
fn session_start(earliest: OffsetDateTime) -> OffsetDateTime {
    if (earliest + SESSION).date() == earliest.date() {
        earliest
    } else {
        earliest.date().next_day().map_or(earliest, |day| {
            day.midnight().assume_utc() + Duration::minutes(1)
        })
    }
}

/// One leg as its IB reads it, with why: the plan's rule, the lots counted and what kept
/// lots from counting (hold time, hedging), the level's share and the cap.
fn leg_line(leg: &Value, labels: &HashMap<u64, String>) -> String {
    let why = &leg["explanation"];
    let basis = &why["basis"];
    let volume = &basis["volume"];
    let deal = leg["deal"].as_u64().unwrap_or_default();
    let mut reasons = vec![format!(
        "plan {} v{} rule {} ({} {})",
        text(&basis["plan_id"]),
        basis["plan_version"],
        text(&basis["rule_id"]),
        text(&basis["method"]),
        amount(&basis["rate"])
    )];
    reasons.push(format!(
        "{} of {} lots counted",
        amount(&volume["counted_lots"]),
        amount(&volume["deal_lots"])
    ));
    if let Some(held) = volume["held_ms"].as_i64() {
        reasons.push(format!("held {}", held_text(held)));
    }
    match volume["excluded"].as_str() {
        Some(excluded @ "held_too_short") => reasons.push(format!(
            "excluded: {excluded} (closed before the plan's minimum hold time)"
        )),
        Some(excluded @ "below_min_lots") => reasons.push(format!(
            "excluded: {excluded} (fewer lots than the plan's minimum)"
        )),
        Some(excluded) => reasons.push(format!("excluded: {excluded}")),
        None => {}
    }
    if decimal(&volume["hedged_lots"]).is_some_and(|lots| !lots.is_zero()) {
        reasons.push(format!(
            "{} lots hedged by an open opposite position: no earnings while hedged",
            amount(&volume["hedged_lots"])
        ));
    }
    reasons.push(format!(
        "deal earned {}, level share {}",
        amount(&basis["amount"]),
        amount(&why["level_fraction"])
    ));
    if why["capped"] == true {
        reasons.push("cut by the per-deal cap".into());
    }
    if let Some(note) = why["note"].as_str() {
        reasons.push(note.to_string());
    }
    format!(
        "{}: deal {deal} level {} {} amount {} {} | {}",
        labels.get(&deal).map_or("deal", String::as_str),
        leg["level"],
        text(&leg["kind"]),
        amount(&leg["amount"]),
        text(&leg["currency"]),
        reasons.join("; ")
    )
}

/// A statement's lines: what accrued (commission, tiers), what was carried, what was paid.
fn print_statement(name: &str, statement: &Value) {
    let lines = &statement["lines"];
    println!(
        "   {name}: statement {} {}",
        text(&statement["id"]),
        text(&statement["status"])
    );
    println!("     commission {}", amount(&lines["commission"]));
    for tier in lines["tiers"].as_array().into_iter().flatten() {
        println!(
            "     tier: {} lots over the day reached {} -> x{}: +{} on {}",
            amount(&tier["period_lots"]),
            amount(&tier["tier_min_lots"]),
            amount(&tier["multiplier"]),
            amount(&tier["amount"]),
            amount(&tier["base"])
        );
    }
    println!(
        "     accrued {}, carried in {}, paid {}, carried out {}",
        amount(&lines["accrued"]),
        amount(&lines["carried_in"]),
        amount(&lines["paid"]),
        amount(&lines["carried_out"])
    );
}

/// The ledger balance of `partner`'s IB wallet (no route reads it).
async fn wallet_balance(local: &LocalBrokerOs, partner: &Partner) -> Result<Decimal, String> {
    let currency = Currency::from_code(&partner.currency)
        .ok_or_else(|| format!("unknown currency {}", partner.currency))?;
    let account = AccountId::ib_payable(&partner.id, currency).map_err(|e| e.to_string())?;
    let balance = brokeros_ledger::balance(&local.services.core, &account)
        .await
        .map_err(|e| e.to_string())?;
    Ok(balance.available)
}

fn print_plan(plan: &Value) {
    let rules: Vec<String> = plan["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rule| format!("{} {}", text(&rule["id"]), rule["earns"]))
        .collect();
    println!(
        "   rules: {}; levels {}; {}-period, min hold {} s, hedged volume excluded: {}; tiers {}",
        rules.join(", "),
        plan["levels"],
        text(&plan["period"]),
        plan["min_hold_seconds"],
        plan["exclude_hedged"],
        plan["tiers"]
    );
}
