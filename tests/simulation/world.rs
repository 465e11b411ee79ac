//! A brokerage day driven by one seed: the plan of operations and faults is drawn from the
//! seed alone (never from what happened), so a seed names one plan; the simulation carries it
//! out against the local Broker OS and checks the invariants after every step.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_local::SimulatedBehavior;
use brokeros_payments::model::events::PaymentEventKind;
use brokeros_store::Store;
use brokeros_store::testing::{Lag, LaggingIndexes};
use brokeros_tests::app::{App, Build, token};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::faults::{Fault, FaultyStore};

/// What a registered client's KYC turns out to be (the simulated provider decides by the
/// document number).
#[derive(Debug, Clone, Copy)]
pub enum Kyc {
    Clear,
    Review,
    Fail,
}

impl Kyc {
    fn passport(self, n: usize) -> String {
        match self {
            Kyc::Clear => "C01X00T47".into(),
            Kyc::Review => format!("P{n:05}-REVIEW"),
            Kyc::Fail => format!("P{n:05}-FAIL"),
        }
    }
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub enum Op {
    Register(Kyc),
    StartOnboarding {
        client: usize,
        fault: Option<Fault>,
    },
    DecideReview {
        approve: bool,
        fault: Option<Fault>,
    },
    Deposit {
        client: usize,
        cents: u32,
        provider: SimulatedBehavior,
        fault: Option<Fault>,
    },
    Withdraw {
        client: usize,
        cents: u32,
        fault: Option<Fault>,
    },
    DecideWithdrawal {
        approve: bool,
        fault: Option<Fault>,
    },
    /// A deposit or withdrawal committed while its workflow could not start (Step Functions
    /// down, or the process stopped right after the commit), then a restart.
    CrashAfterCommit {
        client: usize,
        cents: u32,
        deposit: bool,
    },
    /// Every in-memory state dropped; the local Broker OS starts again from the store.
    Restart,
    /// A relay pass with the clock jumped past the grace period it leaves requests.
    RelayAfterClockJump,
    /// Broker OS's clock jumps by this many seconds (forward by up to a day and more, past the
    /// idempotency retention and day boundaries, or back by a few minutes, as NTP may).
    ClockJump {
        seconds: i64,
    },
    CaptureLead {
        fault: Option<Fault>,
    },
}

fn fault(rng: &mut StdRng) -> Option<Fault> {
    match rng.random_range(0..10) {
        0 => Some(Fault::Fail),
        1 => Some(Fault::TimeoutAfterCommit),
        _ => None,
    }
}

fn behavior(rng: &mut StdRng) -> SimulatedBehavior {
    match rng.random_range(0..20) {
        0..=13 => SimulatedBehavior::Approve,
        14..=16 => SimulatedBehavior::Decline("do_not_honor".into()),
        17..=18 => SimulatedBehavior::Outage,
        _ => SimulatedBehavior::Silent,
    }
}

/// The plan of `steps` operations for `seed`.
pub fn plan(seed: u64, steps: usize) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut registered = 0usize;
    let mut ops = Vec::with_capacity(steps);
    for _ in 0..steps {
        // Clients first, so that money has someone to move for.
        let roll = if registered < 3 {
            0
        } else {
            rng.random_range(0..100)
        };
        let client = rng.random_range(0..registered.max(1));
        let op = match roll {
            0..=11 => {
                registered += 1;
                Op::Register(match rng.random_range(0..6) {
                    0..=3 => Kyc::Clear,
                    4 => Kyc::Review,
                    _ => Kyc::Fail,
                })
            }
            12..=21 => Op::StartOnboarding {
                client,
                fault: fault(&mut rng),
            },
            22..=29 => Op::DecideReview {
                approve: rng.random_bool(0.7),
                fault: fault(&mut rng),
            },
            30..=51 => Op::Deposit {
                client,
                cents: rng.random_range(1_000..50_000),
                provider: behavior(&mut rng),
                fault: fault(&mut rng),
            },
            52..=67 => Op::Withdraw {
                client,
                cents: rng.random_range(100..30_000),
                fault: fault(&mut rng),
            },
            68..=75 => Op::DecideWithdrawal {
                approve: rng.random_bool(0.6),
                fault: fault(&mut rng),
            },
            76..=81 => Op::CrashAfterCommit {
                client,
                cents: rng.random_range(500..20_000),
                deposit: rng.random_bool(0.5),
            },
            82..=86 => Op::Restart,
            87..=89 => Op::RelayAfterClockJump,
            90..=91 => Op::ClockJump {
                seconds: if rng.random_bool(0.8) {
                    rng.random_range(60..=26 * 3600)
                } else {
                    -rng.random_range(1..=600)
                },
            },
            _ => Op::CaptureLead {
                fault: fault(&mut rng),
            },
        };
        ops.push(op);
    }
    ops
}

/// What the simulation has asked for, to check against what the system did.
#[derive(Default)]
pub struct Ledger {
    pub clients: Vec<String>,
    pub leads: Vec<String>,
    pub deposits: Vec<String>,
    pub withdrawals: Vec<String>,
    /// The document numbers sent, which no audit event may hold in clear.
    pub document_numbers: BTreeSet<String>,
    /// Deposits a simulated provider sent a `succeeded` webhook for.
    pub paid_by_provider: Arc<Mutex<BTreeSet<String>>>,
    /// How many answers of each status (and error code) the plan got.
    pub statuses: BTreeMap<String, u32>,
    /// Every answer, in order: part of what a replay must reproduce.
    pub answers: Vec<String>,
}

/// Broker OS's clock in the simulation: the wall time at the start plus the time tokio's
/// (paused, so virtual) clock has advanced since, moved by the jumps the plan made. Derived from
/// tokio's clock, it reads the same at the same point of a replay.
pub struct JumpingClock {
    wall: time::OffsetDateTime,
    start: tokio::time::Instant,
    offset_seconds: std::sync::atomic::AtomicI64,
}

impl JumpingClock {
    fn new() -> JumpingClock {
        JumpingClock {
            wall: time::macros::datetime!(2026-12-01 08:00:00 UTC),
            start: tokio::time::Instant::now(),
            offset_seconds: std::sync::atomic::AtomicI64::new(0),
        }
    }

    fn jump(&self, seconds: i64) {
        self.offset_seconds
            .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    }
}

impl brokeros_kernel::Clock for JumpingClock {
    fn now(&self) -> time::OffsetDateTime {
        let offset = self
            .offset_seconds
            .load(std::sync::atomic::Ordering::SeqCst);
        self.wall + self.start.elapsed() + time::Duration::seconds(offset)
    }
}

pub struct World {
    pub app: Option<App>,
    pub clock: Arc<JumpingClock>,
    pub store: Arc<dyn Store>,
    pub faults: Arc<FaultyStore>,
    pub lagging: Arc<LaggingIndexes<dyn Store>>,
    pub asked: Ledger,
    pub seed: u64,
    counter: usize,
}

impl World {
    pub async fn new(seed: u64) -> World {
        let sqlite = brokeros_tests::fresh_inline_sqlite_store();
        let faults = Arc::new(FaultyStore::new(sqlite));
        let inner: Arc<dyn Store> = faults.clone();
        let lagging = Arc::new(LaggingIndexes::with_lag(inner, Lag::Operations(25)));
        let store: Arc<dyn Store> = lagging.clone();
        let clock = Arc::new(JumpingClock::new());
        let mut world = World {
            app: None,
            clock: clock.clone(),
            store: store.clone(),
            faults,
            lagging,
            asked: Ledger::default(),
            seed,
            counter: 0,
        };
        world.start(App::with_clock(store, clock).await);
        world
    }

    pub fn app(&self) -> &App {
        self.app.as_ref().expect("a running app")
    }

    /// Takes `app` as the running one, its providers delivering every webhook twice (a
    /// provider's retry after a lost acknowledgement) and side by side (out of order).
    fn start(&mut self, app: App) {
        let paid = self.asked.paid_by_provider.clone();
        app.deliver_payment_webhooks(
            2,
            move |webhook| {
                if webhook.event.kind == PaymentEventKind::Succeeded {
                    let deposit = webhook.event.deposit_id.clone();
                    paid.lock().expect("paid lock").insert(deposit);
                }
            },
            false,
        );
        self.app = Some(app);
    }

    async fn restart(&mut self) {
        let app = self.app.take().expect("a running app");
        let restarted = app.restarted().await;
        self.start(restarted);
    }

    async fn send(&mut self, request: Call<'_>, fault: Option<Fault>) -> (u16, Value) {
        if let Some(fault) = fault {
            self.faults.arm(&[fault]);
        }
        let answer = self.app().send(request).await;
        self.faults.disarm();
        let code = answer.1["code"]
            .as_str()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        *self
            .asked
            .statuses
            .entry(format!("{}{code}", answer.0))
            .or_default() += 1;
        answer
    }

    /// Sends `path`/`body` with an idempotency key, and once more with the same key when the
    /// first answer was 503 (a fault), as a client retries.
    async fn send_retried(
        &mut self,
        path: &str,
        body: &Value,
        bearer: &str,
        key: &str,
        fault: Option<Fault>,
    ) -> (u16, Value) {
        let first = self
            .send(
                Call::post(path, body)
                    .token(bearer)
                    .header("idempotency-key", key),
                fault,
            )
            .await;
        if first.0 != 503 {
            return first;
        }
        self.send(
            Call::post(path, body)
                .token(bearer)
                .header("idempotency-key", key),
            None,
        )
        .await
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_s{}_{}", self.seed, self.counter)
    }

    fn client(&self, index: usize) -> Option<String> {
        self.asked.clients.get(index).cloned()
    }

    pub async fn step(&mut self, op: &Op) {
        let sales = token("sales-1", Role::Sales);
        let finance = token("finance-1", Role::Finance);
        match op.clone() {
            Op::Register(kyc) => {
                let n = self.asked.clients.len();
                let client = self
                    .app()
                    .register(&format!("Sim{n}x{}", self.seed), &kyc.passport(n))
                    .await;
                self.asked.clients.push(client.clone());
                let numbers = [kyc.passport(n), "POA-2026-0001".to_string()];
                self.asked
                    .document_numbers
                    .extend(numbers.map(|n| n.to_uppercase()));
                let key = self.next_id("start");
                let path = format!("/clients/{client}/onboarding");
                let (status, reply) = self
                    .send_retried(&path, &json!({ "product": "forex" }), &sales, &key, None)
                    .await;
                expect_one_of(status, &[202], &reply);
                // The KYC check takes its time; a review waits for a decision step.
                for _ in 0..100 {
                    if self.app().client(&client).await["kyc_status"] != "pending" {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Op::StartOnboarding { client, fault } => {
                let Some(client) = self.client(client) else {
                    return;
                };
                let key = self.next_id("start");
                let path = format!("/clients/{client}/onboarding");
                let (status, reply) = self
                    .send_retried(&path, &json!({ "product": "forex" }), &sales, &key, fault)
                    .await;
                expect_one_of(status, &[202, 409, 503], &reply);
            }
            Op::DecideReview { approve, fault } => {
                let compliance = token("compliance-1", Role::Compliance);
                let (_, queue) = self
                    .send(
                        Call::get("/compliance/reviews?status=pending").token(&compliance),
                        None,
                    )
                    .await;
                let Some(id) = queue["items"][0]["id"].as_str() else {
                    return;
                };
                let decision = if approve { "approve" } else { "reject" };
                let key = self.next_id("decide");
                let path = format!("/compliance/reviews/{id}/decision");
                let body = json!({ "decision": decision, "reason": "simulated" });
                let (status, reply) = self
                    .send_retried(&path, &body, &compliance, &key, fault)
                    .await;
                expect_one_of(status, &[200, 409, 503], &reply);
            }
            Op::Deposit {
                client,
                cents,
                provider,
                fault,
            } => {
                let Some(client) = self.client(client) else {
                    return;
                };
                for name in self.providers() {
                    self.app().gateway.set_behavior(&name, provider.clone());
                }
                let id = self.next_id("dep");
                let body = json!({ "deposit_id": id, "amount": money(cents), "currency": "USD", "method": "card" });
                let path = format!("/clients/{client}/deposits");
                let (status, reply) = self.send_retried(&path, &body, &sales, &id, fault).await;
                expect_one_of(status, &[201, 409, 503], &reply);
                self.asked.deposits.push(id);
            }
            Op::Withdraw {
                client,
                cents,
                fault,
            } => {
                let Some(client) = self.client(client) else {
                    return;
                };
                let id = self.next_id("wd");
                let body = withdrawal_body(&id, cents);
                let path = format!("/clients/{client}/withdrawals");
                let (status, reply) = self.send_retried(&path, &body, &finance, &id, fault).await;
                // 400: a client who never deposited has no wallet in the currency.
                expect_one_of(status, &[202, 400, 409, 503], &reply);
                self.asked.withdrawals.push(id);
            }
            Op::DecideWithdrawal { approve, fault } => {
                let (_, queue) = self
                    .send(Call::get("/finance/withdrawals").token(&finance), None)
                    .await;
                let Some(id) = queue["items"][0]["id"].as_str().map(String::from) else {
                    return;
                };
                let (action, body) = if approve {
                    ("approve", json!({}))
                } else {
                    ("reject", json!({ "reason": "simulated" }))
                };
                for approver in ["finance-2", "admin-1"] {
                    let role = if approver == "admin-1" {
                        Role::Admin
                    } else {
                        Role::Finance
                    };
                    let key = self.next_id("wdd");
                    let path = format!("/withdrawals/{id}/{action}");
                    let (status, reply) = self
                        .send_retried(&path, &body, &token(approver, role), &key, fault)
                        .await;
                    expect_one_of(status, &[200, 202, 409, 503], &reply);
                }
            }
            Op::CrashAfterCommit {
                client,
                cents,
                deposit,
            } => {
                let Some(client) = self.client(client) else {
                    return;
                };
                let options = Build {
                    workflow_down: true,
                    clock: Some(self.clock.clone()),
                    ..Build::default()
                };
                let down = App::with(self.store.clone(), options).await;
                let (path, body, id) = if deposit {
                    let id = self.next_id("dep");
                    let body = json!({ "deposit_id": id, "amount": money(cents), "currency": "USD", "method": "card" });
                    (format!("/clients/{client}/deposits"), body, id)
                } else {
                    let id = self.next_id("wd");
                    (
                        format!("/clients/{client}/withdrawals"),
                        withdrawal_body(&id, cents),
                        id,
                    )
                };
                let bearer = if deposit { &sales } else { &finance };
                let (status, reply) = down
                    .send(
                        Call::post(&path, &body)
                            .token(bearer)
                            .header("idempotency-key", &id),
                    )
                    .await;
                expect_one_of(status, &[201, 202, 400, 409], &reply);
                if deposit {
                    self.asked.deposits.push(id);
                } else {
                    self.asked.withdrawals.push(id);
                }
                down.engine.shutdown().await;
                drop(down);
                self.restart().await;
            }
            Op::Restart => self.restart().await,
            Op::RelayAfterClockJump => {
                self.app().relay_outbox().await;
            }
            Op::ClockJump { seconds } => self.clock.jump(seconds),
            Op::CaptureLead { fault } => {
                let n = self.asked.leads.len();
                let body = json!({
                    "first_name": "Lea", "last_name": format!("Sim{n}"), "country": "DE",
                    "email": format!("lead{n}.s{}@example.com", self.seed), "marketing_consent": false
                });
                let key = format!("sim-lead-{}-{n}-{}", self.seed, "k7Qz9vX2mP4wR8tY");
                let (status, reply) = self
                    .send(
                        Call::post("/leads", &body).header("idempotency-key", &key),
                        fault,
                    )
                    .await;
                expect_one_of(status, &[201, 202, 503], &reply);
                if let Some(id) = reply["lead_id"].as_str() {
                    self.asked.leads.push(id.to_string());
                }
            }
        }
        // Let the workflows and webhooks the step set going move on.
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    pub fn providers(&self) -> Vec<String> {
        self.app()
            .services
            .ports
            .psp
            .names()
            .map(String::from)
            .collect()
    }

    /// What the day came to, as text a replay of the seed must reproduce exactly: every answer
    /// in order, each client's KYC status and USD wallet, each deposit's and withdrawal's status.
    pub async fn outcome(&self) -> String {
        let mut text = self.asked.answers.join(",");
        for (n, client) in self.asked.clients.iter().enumerate() {
            let record = self.app().client(client).await;
            let (available, reserved) = self.app().wallet(client, "USD").await;
            text.push_str(&format!(
                "\nclient {n}: {} {available}/{reserved}",
                record["kyc_status"]
            ));
        }
        for id in &self.asked.deposits {
            let status =
                stored_status::<brokeros_payments::deposits::model::Deposit>(self, id).await;
            text.push_str(&format!("\n{id}: {status}"));
        }
        for id in &self.asked.withdrawals {
            let status = stored_status::<brokeros_withdrawals::model::Withdrawal>(self, id).await;
            text.push_str(&format!("\n{id}: {status}"));
        }
        text
    }

    /// After the plan: no more faults, a restart, the relay until the outbox is empty.
    pub async fn catch_up(&mut self) {
        self.faults.disarm();
        self.restart().await;
        // Time passes for the relay: an entry that failed waits up to its longest backoff.
        for _ in 0..5 {
            self.app().relay_outbox().await;
            if self.app().outbox_entries().await.is_empty() {
                break;
            }
            let wait = brokeros_kernel::outbox::MAX_BACKOFF.as_secs() as i64;
            self.clock.jump(wait);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.lagging.catch_up();
    }
}

/// The `status` of the stored entity `id`, or `absent`.
async fn stored_status<T: brokeros_kernel::changeset::Entity>(world: &World, id: &str) -> String {
    brokeros_kernel::changeset::load::<T>(world.store.as_ref(), &T::key_for(id))
        .await
        .expect("a stored entity reads")
        .and_then(|a| serde_json::to_value(&a.entity).ok())
        .map(|v| v["status"].to_string())
        .unwrap_or_else(|| "absent".into())
}

fn money(cents: u32) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn withdrawal_body(id: &str, cents: u32) -> Value {
    json!({
        "withdrawal_id": id, "amount": money(cents), "currency": "USD", "method": "card",
        "destination": "4111111111111111"
    })
}

/// A status the operation may answer; anything else (a 5xx other than an injected fault's
/// 503, a 4xx the request does not deserve) stops the simulation.
fn expect_one_of(status: u16, allowed: &[u16], reply: &Value) {
    assert!(
        allowed.contains(&status),
        "unexpected status {status} (allowed {allowed:?}): {reply}"
    );
}
