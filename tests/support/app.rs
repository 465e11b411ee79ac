//! The local Broker OS on one store for the scenario suites (onboarding, payments,
//! withdrawals, recon over HTTP): the router, the engine running the definitions from
//! `statemachines/` with the in-process task handlers, and the simulated providers.

use std::sync::Arc;
use std::time::Duration;

use brokeros_app::Services;
use brokeros_app::config::BrokerConfig;
use brokeros_http::auth::{AuthMode, JwtVerifier, LOCAL_AUDIENCE, LOCAL_ISSUER, mint_token};
use brokeros_http::client::{Call, call};
use brokeros_http::{AppState, router};
use brokeros_kernel::AnswerKind;
use brokeros_kernel::outbox;
use brokeros_kernel::principal::Role;
use brokeros_kernel::workflow::{Machine, Workflow};
use brokeros_local::SimulatedKycProvider;
use brokeros_local::workflow::local_engine;
use brokeros_local::{SimulatedGateway, deliver_outbox};
use brokeros_sfn::{Engine, ExecutionDescription};
use brokeros_store::testing::LaggingIndexes;
use brokeros_store::{Store, Table};
use serde_json::{Value, json};

const SECRET: &[u8] = b"onboarding-test-secret-32-bytes!";
const KYC_WEBHOOK_SECRET: &[u8] = b"kyc-webhook-test-secret";

/// The local Broker OS on one store: the router, and the engine running the onboarding
/// definition from `statemachines/` with the in-process task handlers.
pub struct App {
    pub store: Arc<dyn Store>,
    /// The simulated KYC provider, for the webhooks it signs.
    pub kyc: Arc<SimulatedKycProvider>,
    pub services: Services,
    pub engine: Arc<Engine>,
    /// The simulated payment providers. Their webhooks wait in its outbox until
    /// [`App::run_payment_providers`] delivers them.
    pub gateway: Arc<SimulatedGateway>,
    /// The simulated trading platform, for its outage switches.
    pub platform: Arc<brokeros_local::SimulatedPlatform>,
    /// Every transaction committed, when built [`App::recording`].
    pub recording: Option<Arc<crate::RecordingStore>>,
    /// The store's lagging indexes, when built [`App::lagging`].
    pub lagging: Option<Arc<LaggingIndexes<dyn Store>>>,
    /// The document numbers the scenario sent, which no audit event may hold in clear.
    pub sent_numbers: crate::audit_scan::SentNumbers,
    /// Broker OS's clock, when built [`App::with_clock`].
    clock: Option<Arc<dyn brokeros_kernel::Clock>>,
    /// The clock a scenario moves forward, when built [`App::clocked`].
    ahead: Option<Arc<brokeros_kernel::AheadClock>>,
    router: axum::Router,
}

impl App {
    pub async fn new(store: Arc<dyn Store>) -> App {
        App::with_config(store, BrokerConfig::embedded_default()).await
    }

    /// With a review deadline of `seconds` and an escalation deadline three times as long (time
    /// for a test to decide the escalated review on a loaded machine), for the escalation paths.
    pub async fn with_review_timeouts(store: Arc<dyn Store>, seconds: u64) -> App {
        let mut config = BrokerConfig::embedded_default();
        config.onboarding.review_timeout_seconds = seconds;
        config.onboarding.escalation_timeout_seconds = seconds * 3;
        App::with_config(store, config).await
    }

    /// With a workflow service that is down: starting a workflow fails.
    pub async fn with_workflow_down(store: Arc<dyn Store>) -> App {
        let options = Build {
            workflow_down: true,
            ..Build::default()
        };
        App::build(store, BrokerConfig::embedded_default(), options).await
    }

    /// Over a store that records every transaction it commits.
    pub async fn recording(store: Arc<dyn Store>) -> App {
        let recording = crate::RecordingStore::new(store);
        let mut app = App::new(recording.clone()).await;
        app.recording = Some(recording);
        app
    }

    /// Over a store whose secondary indexes see no write until [`App::catch_up_indexes`], as
    /// DynamoDB's indexes lag behind (DynamoDB Local's and SQLite's do not): a scenario that
    /// passes on it decides nothing on an index read.
    pub async fn lagging(store: Arc<dyn Store>) -> App {
        let lagging = Arc::new(LaggingIndexes::new(store.clone()));
        // The event queue stands for SQS, whose storage is not DynamoDB's: it keeps the
        // store's own indexes.
        let options = Build {
            queue_store: Some(store),
            ..Build::default()
        };
        let mut app = App::build(lagging.clone(), BrokerConfig::embedded_default(), options).await;
        app.lagging = Some(lagging);
        app
    }

    /// Lets the indexes of an [`App::lagging`] store catch up with every write so far (a
    /// listing a test reads may lag: listings are not decisions).
    pub fn catch_up_indexes(&self) {
        if let Some(lagging) = &self.lagging {
            lagging.catch_up();
        }
    }

    /// With a deposit payment deadline of `seconds`.
    pub async fn with_payment_timeout(store: Arc<dyn Store>, seconds: u64) -> App {
        let mut config = BrokerConfig::embedded_default();
        config.deposits.payment_timeout_seconds = seconds;
        App::with_config(store, config).await
    }

    /// With a withdrawal approval deadline of `seconds`.
    pub async fn with_approval_timeout(store: Arc<dyn Store>, seconds: u64) -> App {
        let mut config = BrokerConfig::embedded_default();
        config.withdrawals.approval_timeout_seconds = seconds;
        App::with_config(store, config).await
    }

    /// With withdrawal rules for a burst from one wallet: up to `per_day` auto-approvals per
    /// client and day, and no velocity limit to send the rest to finance.
    pub async fn with_auto_approvals(store: Arc<dyn Store>, per_day: u64) -> App {
        let mut config = BrokerConfig::embedded_default();
        let rules = &mut config.withdrawals;
        rules.auto_approval.max_per_day = per_day as u32;
        rules.aml.velocity_max_count = 10_000;
        rules.aml.velocity_max_amount.clear();
        App::with_config(store, config).await
    }

    /// Over `store` with `config` instead of the embedded configuration, built as `options`
    /// say.
    pub async fn configured(store: Arc<dyn Store>, config: BrokerConfig, options: Build) -> App {
        App::build(store, config, options).await
    }

    async fn with_config(store: Arc<dyn Store>, config: BrokerConfig) -> App {
        App::build(store, config, Build::default()).await
    }

    /// Over `store` with Broker OS's clock `clock` (a simulation's, which jumps), which a
    /// restart keeps.
    pub async fn with_clock(store: Arc<dyn Store>, clock: Arc<dyn brokeros_kernel::Clock>) -> App {
        let options = Build {
            clock: Some(clock),
            ..Build::default()
        };
        App::with(store, options).await
    }

    /// Over `store` with a clock the scenario moves forward ([`App::advance`]), from the
    /// system's time.
    pub async fn clocked(store: Arc<dyn Store>) -> App {
        let clock = Arc::new(brokeros_kernel::AheadClock::default());
        let mut app = App::with_clock(store, clock.clone()).await;
        app.ahead = Some(clock);
        app
    }

    /// Moves the clock of an [`App::clocked`] forward.
    pub fn advance(&self, by: time::Duration) {
        self.ahead
            .as_ref()
            .expect("App::advance needs an App::clocked")
            .advance(by);
    }

    /// Over `store`, built as `options` say, with the embedded configuration.
    pub async fn with(store: Arc<dyn Store>, options: Build) -> App {
        App::build(store, BrokerConfig::embedded_default(), options).await
    }

    async fn build(store: Arc<dyn Store>, config: BrokerConfig, options: Build) -> App {
        let Build {
            workflow_down,
            queue_store,
            clock,
        } = options;
        let kyc = Arc::new(SimulatedKycProvider::new(KYC_WEBHOOK_SECRET));
        let mut base = brokeros_local::services(store.clone(), config).with_kyc(kyc.clone());
        if let Some(queue_store) = queue_store {
            base = base.with_psp_events(Arc::new(brokeros_local::psp_event_queue(queue_store)));
        }
        if let Some(clock) = &clock {
            base = base.with_clock(clock.clone());
        }
        let gateway = Arc::new(SimulatedGateway::new(
            base.ports.psp.clone(),
            Duration::from_millis(20),
            store.clone(),
        ));
        // The platform books its deals and operations on Broker OS's clock, so a clock that
        // jumps moves both alike.
        let mut platform = brokeros_local::SimulatedPlatform::new(store.clone());
        if let Some(clock) = &clock {
            let clock = clock.clone();
            platform = platform.with_clock(move || clock.now());
        }
        let platform = Arc::new(platform);
        let base = base
            .with_gateway(gateway.clone())
            .with_trading(platform.clone());
        let (engine, services) = local_engine(base).expect("the onboarding definition loads");
        let services = if workflow_down {
            services.with_workflow(Arc::new(WorkflowDown))
        } else {
            services
        };
        engine.resume().await.expect("resume");
        let router = router(AppState {
            services: Arc::new(services.clone()),
            auth: Arc::new(AuthMode::Jwt(Box::new(JwtVerifier::new(
                SECRET,
                LOCAL_ISSUER,
                LOCAL_AUDIENCE,
            )))),
            audit_signer: None,
        });
        App {
            store,
            kyc,
            services,
            engine,
            gateway,
            platform,
            recording: None,
            lagging: None,
            sent_numbers: Default::default(),
            clock,
            ahead: None,
            router,
        }
    }

    /// The local Broker OS started again on the same store, as after a crash (`kill -9`) and a
    /// restart: every in-memory state is gone, the workflow service is up, and the executions
    /// the store holds resume.
    pub async fn restarted(self) -> App {
        self.engine.shutdown().await;
        let (store, clock) = (self.store.clone(), self.clock.clone());
        drop(self);
        match clock {
            Some(clock) => App::with_clock(store, clock).await,
            None => App::new(store).await,
        }
    }

    /// One pass of the outbox relay, run once the grace period the relay leaves a new entry
    /// to its request has passed.
    pub async fn relay_outbox(&self) -> outbox::RelayReport {
        let mut core = self.services.core.clone();
        core.clock = Arc::new(Later(
            core.clock.clone(),
            outbox::GRACE + Duration::from_secs(1),
        ));
        outbox::relay(&core).await.expect("a relay pass")
    }

    /// The side effects committed and not yet known done.
    pub async fn outbox_entries(&self) -> Vec<outbox::Entry> {
        outbox::entries(&self.services.core)
            .await
            .expect("the outbox reads")
    }

    /// The check of every audit event this app's store holds, to run once the scenario ended.
    pub fn audit_scan(&self) -> crate::audit_scan::AuditScan {
        crate::audit_scan::AuditScan {
            store: self.store.clone(),
            numbers: self.sent_numbers.clone(),
            lagging: self.lagging.clone(),
        }
    }

    /// Delivers the simulated providers' signed webhooks through the router (signature check,
    /// queue) and runs the event consumer, as `brokeros serve` does, until the test ends.
    pub fn run_payment_providers(&self) {
        self.deliver_payment_webhooks(1, |_| {}, true);
    }

    /// Like [`App::run_payment_providers`], each webhook delivered `copies` times (a provider
    /// retrying after a lost acknowledgement) and shown to `observe` first; `strict` fails the
    /// test on a delivery the router refuses.
    pub fn deliver_payment_webhooks(
        &self,
        copies: usize,
        observe: impl Fn(&brokeros_local::OutgoingWebhook) + Send + Sync + 'static,
        strict: bool,
    ) {
        let outbox = self.gateway.take_outbox().expect("one deliverer");
        let router = self.router.clone();
        let observe = Arc::new(observe);
        tokio::spawn(deliver_outbox(
            outbox,
            Duration::from_millis(10),
            move |webhook| {
                let (router, observe) = (router.clone(), observe.clone());
                async move {
                    observe(&webhook);
                    let path = webhook.path();
                    let mut status = 0;
                    for _ in 0..copies {
                        let request = Call::signed(&path, &webhook.headers, webhook.body.clone());
                        let (answered, reply) = call(&router, request).await;
                        if strict {
                            assert_eq!(
                                answered, 202,
                                "the provider's webhook was refused: {reply}"
                            );
                        }
                        status = answered;
                    }
                    Ok(status)
                }
            },
        ));
        tokio::spawn(brokeros_payments::deposits::run_consumer(
            self.services.payments.clone(),
            Duration::from_millis(20),
        ));
    }

    /// Creates a deposit intent as the client's account manager.
    pub async fn create_deposit(
        &self,
        client_id: &str,
        deposit_id: &str,
        amount: &str,
        currency: &str,
    ) -> Value {
        let sales = token("sales-1", Role::Sales);
        let body = json!({ "deposit_id": deposit_id, "amount": amount, "currency": currency, "method": "card" });
        let (status, created) = self
            .send(Call::post(&format!("/clients/{client_id}/deposits"), &body).token(&sales))
            .await;
        assert_eq!(status, 201, "{created}");
        created
    }

    /// Credits `amount` USD to the client's wallet as a card deposit through `cardpay-eu` leaves
    /// it once credited (the deposit record and the ledger credit, transfer id = deposit id):
    /// money to withdraw, without running the deposit workflow.
    pub async fn credit_wallet(&self, client_id: &str, deposit_id: &str, amount: &str) {
        use brokeros_ledger::model::{AccountId, Transfer, TransferId};
        const PROVIDER: &str = "cardpay-eu";
        let now = time::OffsetDateTime::now_utc();
        let at = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let deposit: brokeros_payments::deposits::model::Deposit = serde_json::from_value(json!({
            "id": deposit_id, "client_id": client_id,
            "amount": { "amount": amount, "currency": "USD" }, "method": "card", "country": "DE",
            "status": "credited",
            "attempts": [{
                "number": 1, "provider": PROVIDER, "reason": "test", "started_at": at,
                "result": { "result": "succeeded", "event_id": format!("evt_{deposit_id}") }
            }],
            "created_at": at, "updated_at": at
        }))
        .unwrap();
        let ctx = brokeros_kernel::OpContext {
            actor: brokeros_kernel::audit::Actor::system("test"),
            correlation_id: "test".into(),
            now,
        };
        let mut changes = brokeros_kernel::changeset::Changeset::new();
        changes
            .create(
                &ctx,
                self.services.ids.as_ref(),
                &deposit,
                "deposit.credited",
            )
            .unwrap();
        let (ops, _) = changes.into_parts();
        self.store.transact(ops).await.unwrap();
        let usd = brokeros_kernel::money::Currency::from_code("USD").unwrap();
        let transfer = Transfer::between(
            TransferId::new("transfer_id", deposit_id).unwrap(),
            AccountId::provider_clearing(PROVIDER, usd).unwrap(),
            AccountId::client_wallet(client_id, usd).unwrap(),
            amount.parse().unwrap(),
            "deposit",
        );
        brokeros_ledger::post(&self.services, &ctx, transfer)
            .await
            .unwrap();
    }

    /// The client's wallet in `currency`: available and reserved.
    pub async fn wallet(
        &self,
        client_id: &str,
        currency: &str,
    ) -> (rust_decimal::Decimal, rust_decimal::Decimal) {
        let currency = brokeros_kernel::money::Currency::from_code(currency).expect("a currency");
        let account = brokeros_ledger::model::AccountId::client_wallet(client_id, currency)
            .expect("a wallet account");
        let balance = brokeros_ledger::balance(&self.services, &account)
            .await
            .expect("the wallet balance");
        (balance.available, balance.reserved)
    }

    /// A trading account's money in `currency`: what the ledger holds for it, and its balance
    /// on the platform (the two books a funding or a transfer must keep equal).
    pub async fn trading_account_money(
        &self,
        login: u64,
        currency: &str,
    ) -> (rust_decimal::Decimal, rust_decimal::Decimal) {
        let currency = brokeros_kernel::money::Currency::from_code(currency).expect("a currency");
        let account = brokeros_ledger::model::AccountId::trading_account(login, currency)
            .expect("a trading account's ledger account");
        let ledger = brokeros_ledger::balance(&self.services, &account)
            .await
            .expect("the account's ledger balance");
        (ledger.available, self.platform_account(login).await.balance)
    }

    /// A trading account as the platform holds it now (balance, credit, equity, margin).
    pub async fn platform_account(&self, login: u64) -> brokeros_trading::AccountState {
        self.services
            .ports
            .trading
            .account_state(login)
            .await
            .expect("the account on the platform")
    }

    pub async fn deposit(&self, id: &str) -> Value {
        let admin = token("admin-1", Role::Admin);
        let (status, deposit) = self
            .send(Call::get(&format!("/deposits/{id}")).token(&admin))
            .await;
        assert_eq!(status, 200, "{deposit}");
        deposit
    }

    /// Waits until the deposit's workflow asked a provider and answers the deposit.
    pub async fn deposit_routed(&self, id: &str) -> Value {
        for _ in 0..400 {
            let deposit = self.deposit(id).await;
            if deposit["payment_url"].is_string() {
                return deposit;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("deposit {id} was never routed: {}", self.deposit(id).await);
    }

    pub async fn send(&self, request: Call<'_>) -> (u16, Value) {
        self.sent_numbers.record_request(
            request.method.as_str(),
            request.path,
            request.body.as_deref(),
        );
        call(&self.router, request).await
    }

    /// Like [`App::send`], with the response's headers (caching, ETags).
    pub async fn send_with_headers(
        &self,
        request: Call<'_>,
    ) -> (u16, axum::http::HeaderMap, Value) {
        brokeros_http::client::call_with_headers(&self.router, request).await
    }

    /// Posts `body` to `path` as the holder of `token`, with the `Idempotency-Key` `key`.
    pub async fn post_keyed(
        &self,
        path: &str,
        body: &Value,
        token: &str,
        key: &str,
    ) -> (u16, Value) {
        let request = Call::post(path, body).token(token);
        self.send(request.header("idempotency-key", key)).await
    }

    pub async fn counts(&self) -> (u64, u64) {
        (
            self.store.count_items(Table::Main).await.unwrap(),
            self.store.count_items(Table::Audit).await.unwrap(),
        )
    }

    /// The audit stream of `entity_type` `id`, oldest first.
    pub async fn audit_events(&self, entity_type: &str, id: &str) -> Vec<Value> {
        let query = brokeros_store::Query::new(Table::Audit, None, format!("{entity_type}#{id}"));
        let page = self.store.query(query).await.unwrap();
        page.items
            .iter()
            .map(|item| serde_json::from_str(&item.data).unwrap())
            .collect()
    }

    /// The actions of the audit stream of `entity_type` `id`, oldest first.
    pub async fn audit_actions(&self, entity_type: &str, id: &str) -> Vec<String> {
        let events = self.audit_events(entity_type, id).await;
        events
            .iter()
            .map(|event| event["action"].as_str().unwrap().to_string())
            .collect()
    }

    /// Registers an individual client (as their account manager) with the given last name and
    /// document numbers, which drive the simulated KYC provider.
    pub async fn register(&self, last_name: &str, passport: &str) -> String {
        let body = json!({
            "first_name": "Anna",
            "last_name": last_name,
            "email": format!("{}@example.com", last_name.to_lowercase()),
            "country": "DE",
            "profile": {
                "client_type": "individual",
                "date_of_birth": "1990-01-15",
                "nationality": "DE",
                "residence_country": "DE",
                "source_of_funds": "salary",
                "pep_declared": false
            }
        });
        let sales = token("sales-1", Role::Sales);
        let (status, client) = self.send(Call::post("/clients", &body).token(&sales)).await;
        assert_eq!(status, 201, "{client}");
        let id = client["id"].as_str().unwrap().to_string();
        for document in [
            json!({ "type": "passport", "issuing_country": "DE", "number": passport }),
            json!({ "type": "proof_of_address", "issuing_country": "DE", "number": "POA-2026-0001" }),
        ] {
            let (status, reply) = self
                .send(Call::post(&format!("/clients/{id}/documents"), &document).token(&sales))
                .await;
            assert_eq!(status, 201, "{reply}");
        }
        id
    }

    /// Starts onboarding for the client and returns the onboarding and its execution ARN.
    pub async fn start(&self, client_id: &str) -> (String, String) {
        let sales = token("sales-1", Role::Sales);
        let (status, reply) = self
            .send(
                Call::post(
                    &format!("/clients/{client_id}/onboarding"),
                    &json!({ "product": "forex" }),
                )
                .token(&sales),
            )
            .await;
        assert_eq!(status, 202, "{reply}");
        (
            reply["id"].as_str().unwrap().to_string(),
            reply["execution_arn"].as_str().unwrap().to_string(),
        )
    }

    pub async fn finished(&self, execution_arn: &str) -> ExecutionDescription {
        tokio::time::timeout(
            Duration::from_secs(60),
            self.engine.wait_for_completion(execution_arn),
        )
        .await
        .expect("the execution finishes within a minute")
        .expect("describe")
    }

    /// Waits until a pending review of `level` exists for the onboarding and returns it.
    pub async fn pending_review(&self, onboarding_id: &str, level: &str) -> Value {
        let compliance = token("compliance-1", Role::Compliance);
        for _ in 0..600 {
            // The queue is a listing, which may lag (a reviewer sees the review a moment later).
            self.catch_up_indexes();
            let (status, queue) = self
                .send(Call::get("/compliance/reviews?status=pending").token(&compliance))
                .await;
            assert_eq!(status, 200, "{queue}");
            let found = queue["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["onboarding_id"] == onboarding_id && r["level"] == level);
            if let Some(review) = found {
                return review.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no pending {level} review for {onboarding_id}");
    }

    /// Waits until the execution's stored history shows a task waiting on its token: from then
    /// on the workflow writes nothing until the task is answered, so item counts are stable.
    pub async fn waiting_task_checkpointed(&self, execution_arn: &str) {
        let stored = brokeros_sfn::StoreExecutions::new(self.store.clone());
        for _ in 0..400 {
            let history = brokeros_sfn::ExecutionStore::history(&stored, execution_arn)
                .await
                .expect("history");
            if history
                .iter()
                .any(|e| e.event_type == brokeros_sfn::EventType::TaskSubmitted)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no task of {execution_arn} ever waited on a token");
    }

    pub async fn decide(
        &self,
        review_id: &str,
        decider: &str,
        role: Role,
        body: Value,
    ) -> (u16, Value) {
        let t = token(decider, role);
        self.send(Call::post(&format!("/compliance/reviews/{review_id}/decision"), &body).token(&t))
            .await
    }

    /// Decides a review as `decider` while the workflow service is down: the decision commits,
    /// its answer to the waiting workflow is lost. Answers the review as the reply shows it.
    pub async fn decide_unheard(
        &self,
        review_id: &str,
        decider: &str,
        role: Role,
        body: Value,
    ) -> Value {
        let services = self.services.clone().with_workflow(Arc::new(WorkflowDown));
        let principal = brokeros_kernel::principal::Principal {
            sub: decider.into(),
            roles: [role].into(),
        };
        let body = serde_json::from_value(body).expect("a decision request");
        let answer = brokeros_onboarding::reviews::decide(
            &services.onboarding,
            &principal,
            review_id,
            body,
            None,
            "corr-unheard",
        )
        .await
        .expect("the decision commits although the workflow is not told");
        assert_eq!(answer.kind, AnswerKind::Done, "{}", answer.body);
        answer.body
    }

    /// The review as compliance reads it (`GET /compliance/reviews/{id}`).
    pub async fn review(&self, id: &str) -> (u16, Value) {
        let compliance = token("compliance-1", Role::Compliance);
        self.send(Call::get(&format!("/compliance/reviews/{id}")).token(&compliance))
            .await
    }

    pub async fn client(&self, id: &str) -> Value {
        let admin = token("admin-1", Role::Admin);
        let (status, client) = self
            .send(Call::get(&format!("/clients/{id}")).token(&admin))
            .await;
        assert_eq!(status, 200, "{client}");
        client
    }

    /// The onboarding's KYC check as compliance reads it, by keys only (the onboarding records
    /// its check's id once the check is stored): waits until there is one.
    pub async fn kyc_check_of(&self, onboarding_id: &str) -> Value {
        let compliance = brokeros_kernel::principal::Principal {
            sub: "compliance-1".into(),
            roles: [Role::Compliance].into(),
        };
        for _ in 0..800 {
            let onboarding = self.onboarding(onboarding_id).await;
            if let Some(check_id) = onboarding["kyc_check_id"].as_str() {
                let check = brokeros_onboarding::kyc::kyc_check(
                    &self.services.onboarding,
                    &compliance,
                    check_id,
                )
                .await
                .expect("the check the onboarding names is stored");
                return serde_json::to_value(check).expect("checks serialize");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("onboarding {onboarding_id} never recorded a KYC check");
    }

    pub async fn onboarding(&self, id: &str) -> Value {
        let admin = token("admin-1", Role::Admin);
        let (status, o) = self
            .send(Call::get(&format!("/onboardings/{id}")).token(&admin))
            .await;
        assert_eq!(status, 200, "{o}");
        o
    }
}

/// Records the task answers a use case sends, standing in for the workflow service.
#[derive(Default)]
pub struct AnswerRecorder {
    pub answers: std::sync::Mutex<Vec<(String, String)>>,
}

#[async_trait::async_trait]
impl brokeros_kernel::workflow::Workflow for AnswerRecorder {
    async fn start(
        &self,
        _: brokeros_kernel::workflow::Machine,
        _: &str,
        _: Value,
    ) -> brokeros_kernel::Result<String> {
        Err(brokeros_kernel::Error::Internal("not in this test".into()))
    }

    fn execution_arn(
        &self,
        machine: brokeros_kernel::workflow::Machine,
        name: &str,
    ) -> brokeros_kernel::Result<String> {
        Ok(brokeros_sfn::execution_arn(machine.name(), name))
    }

    async fn task_success(&self, token: &str, output: Value) -> brokeros_kernel::Result<()> {
        let answer = format!("success {output}");
        self.answers.lock().unwrap().push((token.into(), answer));
        Ok(())
    }

    async fn task_failure(&self, token: &str, error: &str, _: &str) -> brokeros_kernel::Result<()> {
        let answer = format!("failure {error}");
        self.answers.lock().unwrap().push((token.into(), answer));
        Ok(())
    }

    async fn task_heartbeat(&self, _: &str) -> brokeros_kernel::Result<()> {
        Ok(())
    }
}

/// A clock moved forward by a fixed time.
struct Later(Arc<dyn brokeros_kernel::Clock>, Duration);

impl brokeros_kernel::Clock for Later {
    fn now(&self) -> time::OffsetDateTime {
        self.0.now() + self.1
    }
}

/// How an [`App`] is built beyond its store and configuration ([`App::with`]).
#[derive(Default)]
pub struct Build {
    /// Starting a workflow fails (Step Functions down).
    pub workflow_down: bool,
    /// The store of the event queue, if not the app's (SQS keeps its own indexes).
    pub queue_store: Option<Arc<dyn Store>>,
    /// Broker OS's clock, if not the system's.
    pub clock: Option<Arc<dyn brokeros_kernel::Clock>>,
}

/// A workflow service that cannot be reached (Step Functions throttling or down).
struct WorkflowDown;

#[async_trait::async_trait]
impl Workflow for WorkflowDown {
    async fn start(&self, _: Machine, _: &str, _: Value) -> brokeros_kernel::Result<String> {
        Err(brokeros_kernel::Error::Unavailable(
            "step functions: throttled".into(),
        ))
    }

    fn execution_arn(&self, machine: Machine, name: &str) -> brokeros_kernel::Result<String> {
        Ok(brokeros_sfn::execution_arn(machine.name(), name))
    }

    async fn task_success(&self, _: &str, _: Value) -> brokeros_kernel::Result<()> {
        Err(brokeros_kernel::Error::Unavailable("down".into()))
    }

    async fn task_failure(&self, _: &str, _: &str, _: &str) -> brokeros_kernel::Result<()> {
        Err(brokeros_kernel::Error::Unavailable("down".into()))
    }

    async fn task_heartbeat(&self, _: &str) -> brokeros_kernel::Result<()> {
        Err(brokeros_kernel::Error::Unavailable("down".into()))
    }
}

pub fn token(sub: &str, role: Role) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    mint_token(SECRET, sub, &[role], 600, now).unwrap()
}
