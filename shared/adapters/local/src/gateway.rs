//! The payment providers of the routing rules, played locally: like real ones they answer
//! deposits by signed webhooks — rendered and signed by the same provider adapters that verify
//! them ([`PaymentProviders`]) and delivered by whoever takes the outbox (`brokeros serve` posts
//! them to its own HTTP port; tests post them through the router).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use brokeros_payments::model::events::{PaymentEvent, PaymentEventKind};
use brokeros_payments::psp::{
    GatewayError, PaymentGateway, PaymentProviders, PaymentRequest, PaymentSession, PayoutRequest,
    PayoutResult,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// How a simulated provider treats what it is asked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SimulatedBehavior {
    /// Collects deposits (a `succeeded` webhook) and pays payouts.
    #[default]
    Approve,
    /// Declines deposits (a `declined` webhook) and fails payouts, with this reason.
    Decline(String),
    /// Unreachable: every call fails as unavailable.
    Outage,
    /// Takes deposits and never answers them (the deposit workflow's timeout).
    Silent,
}

/// A signed webhook the simulated provider wants delivered to `POST /webhooks/psp/{provider}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingWebhook {
    pub provider: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutgoingWebhook {
    pub fn path(&self) -> String {
        format!("/webhooks/psp/{}", self.provider)
    }
}

/// Deliveries waiting in the outbox before they are dropped (a simulator nobody listens to).
const OUTBOX_CAPACITY: usize = 10_000;

/// The payment providers of the routing rules, played locally.
pub struct SimulatedGateway {
    providers: Arc<PaymentProviders>,
    behaviors: Mutex<HashMap<String, SimulatedBehavior>>,
    /// How long a provider takes before its webhook.
    delay: Duration,
    outbox: mpsc::Sender<OutgoingWebhook>,
    receiver: Mutex<Option<mpsc::Receiver<OutgoingWebhook>>>,
}

impl SimulatedGateway {
    pub fn new(providers: Arc<PaymentProviders>, delay: Duration) -> SimulatedGateway {
        let (outbox, receiver) = mpsc::channel(OUTBOX_CAPACITY);
        SimulatedGateway {
            providers,
            behaviors: Mutex::new(HashMap::new()),
            delay,
            outbox,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// Sets how `provider` behaves from now on.
    pub fn set_behavior(&self, provider: &str, behavior: SimulatedBehavior) {
        self.behaviors
            .lock()
            .expect("behaviors lock")
            .insert(provider.to_string(), behavior);
    }

    fn behavior(&self, provider: &str) -> SimulatedBehavior {
        self.behaviors
            .lock()
            .expect("behaviors lock")
            .get(provider)
            .cloned()
            .unwrap_or_default()
    }

    /// The webhooks the providers send, for the one deliverer (answers `None` once taken).
    pub fn take_outbox(&self) -> Option<mpsc::Receiver<OutgoingWebhook>> {
        self.receiver.lock().expect("outbox lock").take()
    }

    fn schedule(&self, provider: &str, event: PaymentEvent) -> Result<(), GatewayError> {
        let adapter = self
            .providers
            .get(provider)
            .ok_or_else(|| GatewayError::UnknownProvider(provider.to_string()))?
            .clone();
        let outbox = self.outbox.clone();
        let delay = self.delay;
        let provider = provider.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // Signed when sent, as a provider does, so the timestamp is fresh.
            let now = OffsetDateTime::now_utc();
            match adapter.deliver(&event, now) {
                Ok(delivery) => {
                    let webhook = OutgoingWebhook {
                        provider,
                        headers: delivery.headers,
                        body: delivery.body,
                    };
                    if outbox.try_send(webhook).is_err() {
                        tracing::warn!("simulated provider outbox full or closed; webhook dropped");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "simulated provider cannot render its webhook")
                }
            }
        });
        Ok(())
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn create_payment(
        &self,
        provider: &str,
        request: &PaymentRequest,
    ) -> Result<PaymentSession, GatewayError> {
        if self.providers.get(provider).is_none() {
            return Err(GatewayError::UnknownProvider(provider.to_string()));
        }
        let reference = format!("{provider}_{}_{}", request.deposit_id, request.attempt);
        let kind = match self.behavior(provider) {
            SimulatedBehavior::Outage => {
                return Err(GatewayError::Unavailable {
                    provider: provider.to_string(),
                    reason: "simulated outage".into(),
                });
            }
            SimulatedBehavior::Silent => None,
            SimulatedBehavior::Approve => Some(PaymentEventKind::Succeeded),
            SimulatedBehavior::Decline(reason) => Some(PaymentEventKind::Declined { reason }),
        };
        if let Some(kind) = kind {
            let event = PaymentEvent {
                provider: provider.to_string(),
                event_id: format!("evt_{reference}"),
                deposit_id: request.deposit_id.clone(),
                kind,
                amount: request.amount,
                occurred_at: OffsetDateTime::now_utc(),
                provider_transaction_id: reference.clone(),
            };
            self.schedule(provider, event)?;
        }
        Ok(PaymentSession {
            payment_url: format!("https://pay.{provider}.example/session/{reference}"),
            provider_reference: reference,
        })
    }

    async fn payout(
        &self,
        provider: &str,
        request: &PayoutRequest,
    ) -> Result<PayoutResult, GatewayError> {
        if self.providers.get(provider).is_none() {
            return Err(GatewayError::UnknownProvider(provider.to_string()));
        }
        match self.behavior(provider) {
            SimulatedBehavior::Outage | SimulatedBehavior::Silent => {
                Err(GatewayError::Unavailable {
                    provider: provider.to_string(),
                    reason: "simulated outage".into(),
                })
            }
            SimulatedBehavior::Approve => Ok(PayoutResult::Paid {
                reference: format!("payout_{provider}_{}", request.withdrawal_id),
            }),
            SimulatedBehavior::Decline(reason) => Ok(PayoutResult::Failed { reason }),
        }
    }
}

/// How often a simulated provider tries a webhook delivery that failed (a real provider retries
/// for days; locally a few seconds tell the story).
const DELIVERY_ATTEMPTS: u32 = 5;

/// Delivers the simulated providers' webhooks with `send` (an HTTP POST in `brokeros serve`, the
/// router in-process in tests and the demo), each on its own task, retrying a delivery that
/// failed or was answered 5xx as a provider does. Runs until the gateway is dropped.
pub async fn deliver_outbox<F, Fut>(mut outbox: mpsc::Receiver<OutgoingWebhook>, send: F)
where
    F: Fn(OutgoingWebhook) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u16, String>> + Send + 'static,
{
    let send = Arc::new(send);
    while let Some(webhook) = outbox.recv().await {
        let send = send.clone();
        tokio::spawn(async move {
            for attempt in 1..=DELIVERY_ATTEMPTS {
                match send(webhook.clone()).await {
                    Ok(status) if status < 500 => {
                        if status >= 300 {
                            tracing::warn!(status, provider = %webhook.provider, "webhook refused");
                        }
                        return;
                    }
                    outcome => {
                        tracing::warn!(?outcome, attempt, provider = %webhook.provider, "webhook delivery failed");
                        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                    }
                }
            }
        });
    }
}
