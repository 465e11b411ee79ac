//! The payment providers of the routing rules, played locally: like real ones they answer
//! deposits by signed webhooks — rendered and signed by the same provider adapters that verify
//! them ([`PaymentProviders`]) and delivered by whoever takes the outbox (`brokeros serve` posts
//! them to its own HTTP port; tests post them through the router).
//!
//! A provider that has accepted a payment keeps its promise to send the webhook across a crash
//! of Broker OS, as a real one does: the webhooks it owes are stored (in the local store, under
//! keys of the simulator's own) until delivered, not held in memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use brokeros_payments::model::events::{PaymentEvent, PaymentEventKind};
use brokeros_payments::psp::{
    GatewayError, PaymentGateway, PaymentProviders, PaymentRequest, PaymentSession, PayoutRequest,
    PayoutResult,
};
use brokeros_store::{Condition, Item, Key, Query, Store, Table, WriteOp};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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
    /// What the body says, as the provider knows it (for observers: the simulation checks
    /// every credited deposit against the events providers sent).
    pub event: PaymentEvent,
}

impl OutgoingWebhook {
    pub fn path(&self) -> String {
        format!("/webhooks/psp/{}", self.provider)
    }
}

/// Where a simulated provider's payment page is: a path on `brokeros serve` itself (relative,
/// so the browser stays on the origin it uses), which shows the payment and leads back to the
/// web app. The page decides nothing: the provider's behaviour does, by webhook.
pub const SIMULATED_PAYMENT_PAGE: &str = "/simulated-psp";

/// Where the simulated providers keep the webhooks they owe.
const OUTBOX_PARTITION: &str = "SIMULATED_PSP#OUTBOX";

/// A webhook a simulated provider owes, as stored until it is delivered.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OwedWebhook {
    provider: String,
    event: PaymentEvent,
    #[serde(with = "time::serde::rfc3339")]
    due_at: OffsetDateTime,
    #[serde(default)]
    attempts: u32,
}

/// The payment providers of the routing rules, played locally.
pub struct SimulatedGateway {
    providers: Arc<PaymentProviders>,
    behaviors: Mutex<HashMap<String, SimulatedBehavior>>,
    /// How long a provider takes before its webhook.
    delay: Duration,
    store: Arc<dyn Store>,
    outbox_taken: AtomicBool,
}

impl SimulatedGateway {
    /// Providers that keep the webhooks they owe in `store`.
    pub fn new(
        providers: Arc<PaymentProviders>,
        delay: Duration,
        store: Arc<dyn Store>,
    ) -> SimulatedGateway {
        SimulatedGateway {
            providers,
            behaviors: Mutex::new(HashMap::new()),
            delay,
            store,
            outbox_taken: AtomicBool::new(false),
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

    /// The webhooks the providers owe, for the one deliverer (answers `None` once taken).
    pub fn take_outbox(&self) -> Option<Outbox> {
        if self.outbox_taken.swap(true, Ordering::SeqCst) {
            return None;
        }
        Some(Outbox {
            providers: self.providers.clone(),
            store: self.store.clone(),
        })
    }

    /// Records the webhook `provider` owes for `event`, due once the provider's delay has
    /// passed. Keyed by the event's id: the same payment asked again owes one webhook.
    async fn schedule(&self, provider: &str, event: PaymentEvent) -> Result<(), GatewayError> {
        if self.providers.get(provider).is_none() {
            return Err(GatewayError::UnknownProvider(provider.to_string()));
        }
        let owed = OwedWebhook {
            provider: provider.to_string(),
            due_at: OffsetDateTime::now_utc() + self.delay,
            event,
            attempts: 0,
        };
        let unavailable = |reason: String| GatewayError::Unavailable {
            provider: provider.to_string(),
            reason,
        };
        let data = serde_json::to_string(&owed).map_err(|e| unavailable(e.to_string()))?;
        let put = WriteOp::Put {
            table: Table::Main,
            item: Item::new(Key::new(OUTBOX_PARTITION, &owed.event.event_id), 1, data),
            condition: Condition::Always,
        };
        self.store
            .transact(vec![put])
            .await
            .map_err(|e| unavailable(format!("the simulator's outbox: {e}")))
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
            self.schedule(provider, event).await?;
        }
        // Ids, amounts and currency codes are URL-safe as they are (letters, digits, `-`, `_`, `.`).
        let payment_url = format!(
            "{SIMULATED_PAYMENT_PAGE}/{provider}/{reference}?deposit_id={}&amount={}&currency={}",
            request.deposit_id,
            request.amount.amount(),
            request.amount.currency().code
        );
        Ok(PaymentSession {
            payment_url,
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
/// Owed webhooks read per look at the outbox.
const OUTBOX_PAGE: u32 = 200;

/// The webhooks the simulated providers owe, for the one deliverer ([`deliver_outbox`]).
pub struct Outbox {
    providers: Arc<PaymentProviders>,
    store: Arc<dyn Store>,
}

impl Outbox {
    /// The owed webhooks due by `now`, each with the stored item it came from.
    async fn due(&self, now: OffsetDateTime) -> Result<Vec<(Item, OwedWebhook)>, String> {
        let page = self
            .store
            .query(Query::new(Table::Main, None, OUTBOX_PARTITION).limit(OUTBOX_PAGE))
            .await
            .map_err(|e| e.to_string())?;
        let mut due = Vec::new();
        for item in page.items {
            let owed: OwedWebhook = serde_json::from_str(&item.data).map_err(|e| e.to_string())?;
            if owed.due_at <= now {
                due.push((item, owed));
            }
        }
        Ok(due)
    }

    /// Signs the owed webhook now, as a provider does when it sends, so the timestamp is fresh.
    fn render(&self, owed: &OwedWebhook, now: OffsetDateTime) -> Result<OutgoingWebhook, String> {
        let adapter = self
            .providers
            .get(&owed.provider)
            .ok_or_else(|| format!("unknown provider {}", owed.provider))?;
        let delivery = adapter
            .deliver(&owed.event, now)
            .map_err(|e| e.to_string())?;
        Ok(OutgoingWebhook {
            provider: owed.provider.clone(),
            headers: delivery.headers,
            body: delivery.body,
            event: owed.event.clone(),
        })
    }

    /// After an attempt: forgets a delivered (or abandoned) webhook, or records the failed
    /// attempt with the time of the next.
    async fn settle(&self, item: &Item, owed: OwedWebhook, delivered: bool) {
        let now = OffsetDateTime::now_utc();
        let attempts = owed.attempts + 1;
        let op = if delivered || attempts >= DELIVERY_ATTEMPTS {
            if !delivered {
                tracing::warn!(provider = %owed.provider, event = %owed.event.event_id, "webhook abandoned after {attempts} attempts");
            }
            WriteOp::Delete {
                table: Table::Main,
                key: item.key.clone(),
                condition: Condition::VersionIs(item.version),
            }
        } else {
            let retry = OwedWebhook {
                due_at: now + Duration::from_millis(100 << attempts),
                attempts,
                ..owed
            };
            let Ok(data) = serde_json::to_string(&retry) else {
                return;
            };
            WriteOp::Put {
                table: Table::Main,
                item: Item::new(item.key.clone(), item.version + 1, data),
                condition: Condition::VersionIs(item.version),
            }
        };
        if let Err(e) = self.store.transact(vec![op]).await {
            tracing::warn!(error = %e, "the simulator's outbox could not record a delivery");
        }
    }
}

/// Delivers the simulated providers' signed webhooks with `send` (an HTTP POST in `brokeros
/// serve`, the router in-process in tests and the demo), looking at the outbox every `every`;
/// the webhooks due are sent side by side, and one that failed or was answered 5xx is tried
/// again later, as a provider does. Runs until the task is dropped.
pub async fn deliver_outbox<F, Fut>(outbox: Outbox, every: Duration, send: F)
where
    F: Fn(OutgoingWebhook) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u16, String>> + Send + 'static,
{
    let outbox = Arc::new(outbox);
    let send = Arc::new(send);
    loop {
        tokio::time::sleep(every).await;
        let now = OffsetDateTime::now_utc();
        let due = match outbox.due(now).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "the simulator's outbox cannot be read");
                continue;
            }
        };
        let mut sending = tokio::task::JoinSet::new();
        for (item, owed) in due {
            let (outbox, send) = (outbox.clone(), send.clone());
            sending.spawn(async move {
                let delivered = match outbox.render(&owed, now) {
                    Ok(webhook) => match send(webhook).await {
                        Ok(status) if status < 500 => {
                            if status >= 300 {
                                tracing::warn!(status, provider = %owed.provider, "webhook refused");
                            }
                            true
                        }
                        outcome => {
                            tracing::warn!(?outcome, attempt = owed.attempts + 1, provider = %owed.provider, "webhook delivery failed");
                            false
                        }
                    },
                    Err(e) => {
                        tracing::error!(error = %e, "simulated provider cannot render its webhook");
                        false
                    }
                };
                outbox.settle(&item, owed, delivered).await;
            });
        }
        while sending.join_next().await.is_some() {}
    }
}
