//! `brokeros demo`: a scripted morning at the brokerage, against an embedded Broker OS.

mod contest;
mod copy;
mod ib;
mod pamm;
mod trades;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use brokeros_app::config::BrokerConfig;

use brokeros_http::client::{Call, call};
use brokeros_kernel::audit::Manifest;
use brokeros_kernel::audit_export::Selection;
use brokeros_kernel::money::{Currency, Money};
use brokeros_kernel::principal::Role;
use brokeros_kernel::{AheadClock, Clock};
use brokeros_local::{SimulatedBehavior, deliver_outbox};
use brokeros_payments::model::routing::DepositIntent;
use brokeros_payments::model::{PaymentMethod, RiskLevel};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use brokeros_store_sqlite::Durability;

use crate::CliResult;
use crate::local::LocalBrokerOs;

struct Demo {
    router: axum::Router,
    secret: Vec<u8>,
    step: usize,
}

impl Demo {
    fn token(&self, sub: &str, role: Role) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        brokeros_http::auth::mint_token(&self.secret, sub, &[role], 3600, now).expect("tokens sign")
    }

    fn say(&mut self, what: &str) {
        self.step += 1;
        println!("\n{}. {what}", self.step);
    }

    async fn send(&self, request: Call<'_>) -> (u16, Value) {
        let method = request.method.clone();
        let path = request.path.to_string();
        let (status, body) = call(&self.router, request).await;
        println!("   {method} {path} -> {status}");
        (status, body)
    }

    /// Completes an individual client's KYC profile: born on `date_of_birth`, a national and
    /// resident of `country`, living on a salary, not a PEP.
    async fn put_individual_profile(
        &self,
        client_id: &str,
        date_of_birth: &str,
        country: &str,
        token: &str,
    ) -> Result<Value, String> {
        let profile = json!({
            "client_type": "individual", "date_of_birth": date_of_birth, "nationality": country,
            "residence_country": country, "source_of_funds": "salary", "pep_declared": false
        });
        self.expect(
            Call::put(&format!("/clients/{client_id}/profile"), &profile).token(token),
            200,
        )
        .await
    }

    /// Adds the client's two documents (`country` issued) and starts onboarding for `product`;
    /// answers the workflow execution's ARN.
    async fn onboard(
        &self,
        client_id: &str,
        documents: [(&str, &str); 2],
        country: &str,
        product: &str,
        token: &str,
    ) -> Result<String, String> {
        for (doc_type, number) in documents {
            let document =
                json!({ "type": doc_type, "issuing_country": country, "number": number });
            self.expect(
                Call::post(&format!("/clients/{client_id}/documents"), &document).token(token),
                201,
            )
            .await?;
        }
        let onboarding = self
            .expect(
                Call::post(
                    &format!("/clients/{client_id}/onboarding"),
                    &json!({ "product": product }),
                )
                .token(token),
                202,
            )
            .await?;
        Ok(onboarding["execution_arn"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Asks `GET path` until `done` takes the answer (for up to ten seconds), printing only the
    /// call that ended the wait.
    async fn poll_get(
        &self,
        path: &str,
        token: &str,
        done: impl Fn(u16, &Value) -> bool,
    ) -> Result<Value, String> {
        for _ in 0..200 {
            let (status, body) = call(&self.router, Call::get(path).token(token)).await;
            if done(status, &body) {
                println!("   GET {path} -> {status}");
                return Ok(body);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(format!("GET {path} never answered what the demo waits for"))
    }

    async fn expect(&self, request: Call<'_>, status: u16) -> Result<Value, String> {
        let (got, body) = self.send(request).await;
        if got != status {
            return Err(format!("expected {status}, got {got}: {body}"));
        }
        Ok(body)
    }
}

fn lead_line(lead: &Value) -> String {
    let reasons: Vec<String> = lead["score_reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| format!("{}+{}", r["rule"].as_str().unwrap_or(""), r["points"]))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{} {:<7} {} status={} score={} ({}) assignee={} via {} touches={}",
        lead["id"].as_str().unwrap_or(""),
        lead["first_name"].as_str().unwrap_or(""),
        lead["country"].as_str().unwrap_or(""),
        lead["status"].as_str().unwrap_or(""),
        lead["score"],
        reasons.join(", "),
        lead["assignee"].as_str().unwrap_or(""),
        lead["assignment_rule"].as_str().unwrap_or(""),
        lead["touch_count"],
    )
}

pub async fn run(data_dir: Option<PathBuf>, durability: Durability) -> CliResult {
    let temp;
    let dir = match data_dir {
        Some(d) => d,
        None => {
            temp = std::env::temp_dir().join(format!("brokeros-demo-{}", uuid_like()));
            temp
        }
    };
    // The demo's own clock: the system's, moved forward when the story needs a day to end.
    let clock = Arc::new(AheadClock::default());
    let started = clock.now();
    let local = LocalBrokerOs::open_ahead(&dir, demo_config(), durability, clock.clone()).await?;
    let mut demo = Demo {
        router: local.router(),
        secret: local.secret.clone(),
        step: 0,
    };
    println!("Broker OS demo — embedded store in {}", dir.display());

    demo.say("Three leads arrive from landing pages and an affiliate (public POST /leads, with Idempotency-Key)");
    let arrivals = [
        json!({"first_name":"Ann","last_name":"Lee","email":"Ann.Lee@Example.com","phone":"020 7946 0958","country":"GB",
               "language":"en","utm_source":"google","utm_medium":"cpc","utm_campaign":"gold-q4","marketing_consent":true}),
        json!({"first_name":"Bernd","email":"bernd@example.de","country":"DE","language":"de","source":"affiliate",
               "affiliate_id":"aff-77","marketing_consent":false}),
        json!({"first_name":"Carla","phone":"+55 11 91234 5678","country":"BR","language":"pt-BR","referral_code":"IB-RIO-9",
               "marketing_consent":true}),
    ];
    let mut ids = Vec::new();
    for (n, body) in arrivals.iter().enumerate() {
        let body = demo
            .expect(
                Call::post("/leads", body).header("idempotency-key", form_key(n)),
                202,
            )
            .await?;
        ids.push(body["lead_id"].as_str().unwrap_or_default().to_string());
    }

    demo.say("The landing page retries Ann's submission with the same Idempotency-Key: the stored answer comes back");
    let replay = demo
        .expect(
            Call::post("/leads", &arrivals[0]).header("idempotency-key", form_key(0)),
            202,
        )
        .await?;
    println!("   same lead id: {}", replay["lead_id"] == json!(ids[0]));

    demo.say("Ann comes back a week later through another campaign, typing her email differently: merged, not duplicated");
    let again = json!({"first_name":"Ann","email":" ann.lee@EXAMPLE.com ","country":"GB","utm_source":"newsletter",
                       "utm_medium":"email","marketing_consent":true});
    let merged = demo.expect(Call::post("/leads", &again), 202).await?;
    println!(
        "   merged into {} (same lead: {})",
        merged["lead_id"].as_str().unwrap_or(""),
        merged["lead_id"] == json!(ids[0])
    );

    let admin = demo.token("admin-1", Role::Admin);
    demo.say("An admin lists the leads: scored by the configured rules, assigned by country/language rules in round robin");
    let list = demo.expect(Call::get("/leads").token(&admin), 200).await?;
    for lead in list["items"].as_array().into_iter().flatten() {
        println!("   {}", lead_line(lead));
    }

    let ann = demo
        .expect(Call::get(&format!("/leads/{}", ids[0])).token(&admin), 200)
        .await?;
    let agent = ann["assignee"].as_str().unwrap_or_default().to_string();
    let sales = demo.token(&agent, Role::Sales);
    let other_agent = demo.token("sales-de-1", Role::Sales);

    demo.say(&format!(
        "Another agent tries to read Ann's lead (assigned to {agent}): refused"
    ));
    let (_, refused) = demo
        .send(Call::get(&format!("/leads/{}", ids[0])).token(&other_agent))
        .await;
    println!("   {refused}");

    demo.say(&format!(
        "{agent} works the lead: contacted, a note, a follow-up task, done, qualified"
    ));
    let ann_path = format!("/leads/{}", ids[0]);
    demo.expect(
        Call::post(
            &format!("{ann_path}/status"),
            &json!({"status":"contacted"}),
        )
        .token(&sales),
        200,
    )
    .await?;
    demo.expect(
        Call::post(
            &format!("{ann_path}/notes"),
            &json!({"text":"Trades gold; wants a demo of MT5 mobile."}),
        )
        .token(&sales),
        201,
    )
    .await?;
    let task = demo
        .expect(
            Call::post(
                &format!("{ann_path}/tasks"),
                &json!({"title":"Call back about account types","due_at":"2026-12-01T10:00:00Z"}),
            )
            .token(&sales),
            201,
        )
        .await?;
    let task_id = task["id"].as_str().unwrap_or_default();
    demo.expect(
        Call::post(&format!("{ann_path}/tasks/{task_id}/complete"), &json!({})).token(&sales),
        200,
    )
    .await?;
    demo.expect(
        Call::post(
            &format!("{ann_path}/status"),
            &json!({"status":"qualified"}),
        )
        .token(&sales),
        200,
    )
    .await?;

    demo.say("A lead cannot skip the lifecycle: Bernd (new) cannot be converted");
    let bernd_path = format!("/leads/{}/convert", ids[1]);
    let (_, error) = demo
        .send(Call::post(&bernd_path, &json!({})).token(&admin))
        .await;
    println!("   {error}");

    demo.say("Ann converts into a client with her portal identity");
    let client = demo
        .expect(
            Call::post(
                &format!("{ann_path}/convert"),
                &json!({"user_id":"portal-ann"}),
            )
            .token(&sales),
            201,
        )
        .await?;
    let client_id = client["id"].as_str().unwrap_or_default().to_string();
    println!(
        "   client {client_id}, account manager {}",
        client["account_manager"].as_str().unwrap_or("")
    );

    demo.say("Ann reads her own profile; another client cannot");
    let me = demo.token("portal-ann", Role::Client);
    let profile = demo.expect(Call::get("/me").token(&me), 200).await?;
    println!("   /me is client {}", profile["id"].as_str().unwrap_or(""));
    let stranger = demo.token("portal-mallory", Role::Client);
    demo.expect(
        Call::get(&format!("/clients/{client_id}")).token(&stranger),
        403,
    )
    .await?;

    demo.say("Ann completes her KYC profile and documents, then starts onboarding");
    demo.put_individual_profile(&client_id, "1990-01-15", "GB", &me)
        .await?;
    let execution = demo
        .onboard(
            &client_id,
            [
                ("passport", "533401372"),
                ("proof_of_address", "UTIL-2026-11"),
            ],
            "GB",
            "forex",
            &me,
        )
        .await?;
    println!("   workflow {execution}");
    let done = finished(&local, &execution).await?;
    print_states(&local, &execution).await?;
    print_outcome(&done);

    demo.say(
        "Bruno's blurry ID needs a compliance review; sales cannot decide it, compliance approves",
    );
    let bruno = demo
        .expect(
            Call::post(
                "/clients",
                &json!({
                    "first_name": "Bruno", "last_name": "Costa", "country": "PT",
                    "profile": {
                        "client_type": "individual", "date_of_birth": "1984-03-02", "nationality": "PT",
                        "residence_country": "PT", "source_of_funds": "business", "pep_declared": false
                    }
                }),
            )
            .token(&sales),
            201,
        )
        .await?;
    let bruno_id = bruno["id"].as_str().unwrap_or_default().to_string();
    let execution = demo
        .onboard(
            &bruno_id,
            [
                ("national_id", "PT1234567-REVIEW"),
                ("proof_of_address", "EDP-2026-11"),
            ],
            "PT",
            "cfd",
            &sales,
        )
        .await?;
    let compliance = demo.token("compliance-1", Role::Compliance);
    let mut review = Value::Null;
    for _ in 0..200 {
        let queue = demo
            .expect(
                Call::get("/compliance/reviews?status=pending").token(&compliance),
                200,
            )
            .await?;
        if let Some(found) = queue["items"]
            .as_array()
            .and_then(|items| items.iter().find(|r| r["client_id"] == bruno_id.as_str()))
        {
            review = found.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let review_id = review["id"]
        .as_str()
        .ok_or("no review appeared")?
        .to_string();
    println!("   review {review_id} waits in the compliance queue");
    let decision = format!("/compliance/reviews/{review_id}/decision");
    demo.expect(
        Call::post(&decision, &json!({ "decision": "approve" })).token(&sales),
        403,
    )
    .await?;
    demo.expect(
        Call::post(&decision, &json!({ "decision": "approve" })).token(&compliance),
        200,
    )
    .await?;
    let done = finished(&local, &execution).await?;
    print_outcome(&done);

    deposit(&demo, &local, &bruno_id).await?;

    demo.say("Ann's timeline: every change, who made it and when (it is her lead's audit stream)");
    let timeline = demo
        .expect(
            Call::get(&format!("{ann_path}/timeline")).token(&sales),
            200,
        )
        .await?;
    for entry in timeline["items"].as_array().into_iter().flatten().rev() {
        let fields: Vec<&str> = entry["changes"]
            .as_array()
            .map(|c| c.iter().filter_map(|x| x["field"].as_str()).collect())
            .unwrap_or_default();
        println!(
            "   {} {:<20} by {:<14} changed: {}",
            entry["at"].as_str().unwrap_or(""),
            entry["action"].as_str().unwrap_or(""),
            entry["actor"]["id"].as_str().unwrap_or(""),
            fields.join(", ")
        );
    }

    ib::chapter(&mut demo, &local, &clock).await?;
    contest::chapter(&mut demo, &local, &clock).await?;
    pamm::chapter(&mut demo, &local, &clock).await?;
    copy::chapter(&mut demo, &local, &clock).await?;

    demo.say("Audit export of everything so far, then offline verification");
    let out = dir.join("exports").join("audit-demo");
    // Events are dated by the demo's clock, which the IB, contest, PAMM and copy chapters moved on.
    let selection = Selection::TimeRange {
        from: started - time::Duration::hours(1),
        to: clock.now() + time::Duration::seconds(1),
    };
    let signer = crate::local::audit_signer(&dir)?;
    let manifest: Manifest = crate::audit::export(
        local.services.store.as_ref(),
        &selection,
        &out,
        &signer,
        None,
    )
    .await?;
    println!(
        "   {} events, {} streams, sha256 {}",
        manifest.count, manifest.streams, manifest.ndjson.sha256
    );
    let public_key = dir.join("audit-public-key.pem");
    let key = brokeros_kernel::signing::PublicKey::from_der(
        &brokeros_kernel::signing::Signer::public_key_der(&signer),
    )?;
    std::fs::write(&public_key, key.to_pem()).map_err(|e| e.to_string())?;
    let paths = crate::audit::ExportPaths {
        ndjson: out.with_extension("ndjson"),
        manifest: out.with_extension("manifest.json"),
        heads: out.with_extension("heads.ndjson"),
        csv: out.with_extension("csv"),
    };
    match crate::audit::verify_paths(&paths, Some(&key), None, false) {
        Ok(report) => println!("   verify: {report}"),
        Err(e) => return Err(format!("the demo's own export does not verify: {e}")),
    }
    println!(
        "   files: {}.{{ndjson,csv,heads.ndjson,manifest.json}}",
        out.display()
    );
    println!(
        "   try: cargo run -p brokeros -- audit verify {}.ndjson --public-key {}",
        out.display(),
        public_key.display()
    );
    println!("\nDemo complete.");
    Ok(ExitCode::SUCCESS)
}

/// Bruno deposits by card: the rules route the deposit, the first provider declines, the next
/// one's signed webhook credits his wallet and the workflow funds his trading account.
async fn deposit(demo: &Demo, local: &LocalBrokerOs, client_id: &str) -> Result<(), String> {
    let rules = brokeros_payments::routing::active_routing_rules(&local.services.payments)
        .await
        .map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc();
    let stats =
        brokeros_payments::routing::load_routing_stats(&local.services.payments, &rules, now)
            .await
            .map_err(|e| e.to_string())?;
    let usd = Currency::from_code("USD").ok_or("currency table")?;
    let intent = DepositIntent {
        client_id: client_id.to_string(),
        amount: Money::positive("amount", Decimal::new(50_000, 2), usd)
            .map_err(|e| e.to_string())?,
        method: PaymentMethod::Card,
        country: "PT".into(),
        risk_level: RiskLevel::High,
        requested_at: now,
    };
    let order: Vec<String> = rules
        .route(&intent, &stats)
        .order()
        .into_iter()
        .map(String::from)
        .collect();
    let first = order.first().ok_or("the rules route card USD nowhere")?;
    println!(
        "\n== Bruno deposits 500.00 USD by card; routing rules v{} order: {} ({first} is set to decline)",
        rules.version(),
        order.join(" → ")
    );
    local
        .gateway
        .set_behavior(first, SimulatedBehavior::Decline("do_not_honor".into()));
    if let Some(outbox) = local.gateway.take_outbox() {
        let router = demo.router.clone();
        tokio::spawn(deliver_outbox(
            outbox,
            std::time::Duration::from_millis(50),
            move |webhook| {
                let router = router.clone();
                async move {
                    let path = webhook.path();
                    let request = Call::signed(&path, &webhook.headers, webhook.body.clone());
                    let (status, _) = call(&router, request).await;
                    println!("   {path} (signed by the provider) -> {status}");
                    Ok(status)
                }
            },
        ));
    }
    tokio::spawn(brokeros_payments::deposits::run_consumer(
        local.services.payments.clone(),
        std::time::Duration::from_millis(50),
    ));
    let admin = demo.token("admin-1", Role::Admin);
    demo.expect(
        Call::post(
            &format!("/clients/{client_id}/deposits"),
            &json!({ "deposit_id": "dep_demo_1", "amount": "500.00", "currency": "USD", "method": "card" }),
        )
        .token(&admin),
        201,
    )
    .await?;
    let execution = brokeros_sfn::execution_arn("deposit", "dep_demo_1");
    let done = finished(local, &execution).await?;
    let deposit = demo
        .expect(Call::get("/deposits/dep_demo_1").token(&admin), 200)
        .await?;
    for attempt in deposit["attempts"].as_array().into_iter().flatten() {
        println!(
            "   attempt {} at {}: {} ({})",
            attempt["number"],
            attempt["provider"].as_str().unwrap_or(""),
            attempt["result"]["result"].as_str().unwrap_or("open"),
            attempt["result"]["reason"].as_str().unwrap_or("")
        );
    }
    println!(
        "   {:?}: deposit {}, trading account funding {} (login {})",
        done.status,
        deposit["status"].as_str().unwrap_or(""),
        deposit["funding"]["status"].as_str().unwrap_or(""),
        deposit["funding"]["login"]
    );
    let wallet = demo
        .expect(
            Call::get(&format!("/clients/{client_id}/wallet")).token(&admin),
            200,
        )
        .await?;
    println!("   wallet: {wallet}");
    Ok(())
}

/// The embedded default configuration, with statements over 20.00 USD or EUR held for
/// finance's approval (the default's 5000.00 is more than a morning's demo commissions), so the
/// payout shows the maker-checker approval.
fn demo_config() -> BrokerConfig {
    let mut config = BrokerConfig::embedded_default();
    for threshold in config.ib.payout.approval_threshold.values_mut() {
        *threshold = Decimal::new(2000, 2);
    }
    config
}

/// Waits until workflow execution `arn` has finished: how it ended.
async fn finished(
    local: &LocalBrokerOs,
    arn: &str,
) -> Result<brokeros_sfn::ExecutionDescription, String> {
    local
        .engine
        .wait_for_completion(arn)
        .await
        .map_err(|e| e.to_string())
}

/// The states execution `arn` went through, in order.
async fn print_states(local: &LocalBrokerOs, arn: &str) -> Result<(), String> {
    let history = local
        .engine
        .get_execution_history(arn)
        .await
        .map_err(|e| e.to_string())?;
    let path: Vec<String> = history
        .iter()
        .filter_map(|e| {
            e.to_aws_json()["stateEnteredEventDetails"]["name"]
                .as_str()
                .map(String::from)
        })
        .collect();
    println!("   states: {}", path.join(" -> "));
    Ok(())
}

fn print_outcome(done: &brokeros_sfn::ExecutionDescription) {
    let output = done.output.clone().unwrap_or_default();
    println!(
        "   {:?}: {} with trading account {} (leverage 1:{})",
        done.status,
        output["outcome"].as_str().unwrap_or(""),
        output["account"]["login"],
        output["account"]["leverage"]
    );
}

fn uuid_like() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The `Idempotency-Key` a landing page makes for its `n`th form: random-looking, as public
/// keys must be (a fixed one here, so the demo's retry reuses it).
fn form_key(n: usize) -> String {
    format!("7f3c9a1e-5b2d-4c8f-9e6a-d1b4f2a8c0{n:02}")
}

/// A JSON string as text (other values as JSON).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn decimal(value: &Value) -> Option<Decimal> {
    value.as_str().and_then(|s| s.parse::<Decimal>().ok())
}

/// A decimal string without the trailing zeros legs keep (`8.220000000000` -> `8.22`).
fn amount(value: &Value) -> String {
    decimal(value).map_or_else(|| text(value), |d| d.normalize().to_string())
}

fn whole_second(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}
