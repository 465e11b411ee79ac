use std::sync::Arc;

use brokeros_app::config::BrokerConfig;
use brokeros_http::auth::{AuthMode, JwtVerifier, LOCAL_AUDIENCE, LOCAL_ISSUER, mint_token};
use brokeros_http::client::{Call, call};
use brokeros_http::{AppState, router};
use brokeros_kernel::AheadClock;
use brokeros_kernel::principal::Role;
use brokeros_store::{Store, Table};
use serde_json::{Value, json};

pub const SECRET: &[u8] = b"api-test-secret-api-test-secret!";

/// A Broker OS on one store, reached through its router.
pub struct App {
    pub store: Arc<dyn Store>,
    pub router: axum::Router,
    pub services: Arc<brokeros_app::Services>,
    /// The services' clock: the system's, moved ahead by [`App::advance`].
    pub clock: Arc<AheadClock>,
}

impl App {
    pub fn new(store: Arc<dyn Store>) -> App {
        let clock = Arc::new(AheadClock::default());
        let services = Arc::new(
            brokeros_local::services(store.clone(), BrokerConfig::embedded_default())
                .with_clock(clock.clone()),
        );
        let router = router(app_state(services.clone()));
        App {
            store,
            router,
            services,
            clock,
        }
    }

    /// Moves the services' clock `by` ahead.
    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    /// The messages of the consent outbox, newest first (what the mailer would send).
    pub async fn consent_messages(&self) -> Vec<brokeros_crm::ConsentMessage> {
        brokeros_crm::consent_outbox(&self.services.crm, 1000)
            .await
            .unwrap()
    }

    pub async fn send(&self, request: Call<'_>) -> (u16, Value) {
        call(&self.router, request).await
    }

    /// Items in the main table and in the audit table.
    pub async fn counts(&self) -> (u64, u64) {
        (
            self.store.count_items(Table::Main).await.unwrap(),
            self.store.count_items(Table::Audit).await.unwrap(),
        )
    }

    /// Captures a lead and returns its id.
    pub async fn capture(&self, body: Value) -> String {
        let (status, reply) = self.send(Call::post("/leads", &body)).await;
        assert_eq!(status, 202, "{reply}");
        reply["lead_id"].as_str().unwrap().to_string()
    }

    pub async fn lead(&self, id: &str) -> Value {
        let admin = token("admin-1", Role::Admin);
        let (status, lead) = self
            .send(Call::get(&format!("/leads/{id}")).token(&admin))
            .await;
        assert_eq!(status, 200, "{lead}");
        lead
    }
}

/// The key that signs the API's audit downloads in these tests.
pub const AUDIT_SECRET: [u8; 32] = [7; 32];

pub fn audit_signer() -> brokeros_kernel::signing::Ed25519Signer {
    brokeros_kernel::signing::Ed25519Signer::from_secret(AUDIT_SECRET)
}

/// The router's state over `services`, verifying tokens signed with [`SECRET`].
pub fn app_state(services: Arc<brokeros_app::Services>) -> AppState {
    AppState {
        services,
        auth: Arc::new(AuthMode::Jwt(Box::new(JwtVerifier::new(
            SECRET,
            LOCAL_ISSUER,
            LOCAL_AUDIENCE,
        )))),
        audit_signer: Some(Arc::new(audit_signer())),
    }
}

pub fn token(sub: &str, role: Role) -> String {
    mint_token(SECRET, sub, &[role], 600, now()).unwrap()
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn person(email: &str, country: &str) -> Value {
    json!({ "first_name": "Test", "email": email, "country": country, "marketing_consent": false })
}

/// A public `Idempotency-Key` for `tag`, as a form would make one: random-looking (128 bits as
/// hex), the same for the same tag.
pub fn public_key(tag: &str) -> String {
    brokeros_kernel::canonical::sha256_hex(tag.as_bytes())[..32].to_string()
}
