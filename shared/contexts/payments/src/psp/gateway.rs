//! The payment-initiation port: asking a provider to collect a deposit (its result comes back
//! later by signed webhook) or to pay a withdrawal out. A production adapter calls the
//! provider's API; the simulated providers of `brokeros serve` are in `brokeros-local`.

use crate::model::PaymentMethod;
use async_trait::async_trait;
use brokeros_kernel::money::Money;

/// A deposit attempt as a provider is asked to collect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Our deposit id: the reference the provider echoes back in its webhooks.
    pub deposit_id: String,
    /// The attempt's number: with the deposit id, the provider-side idempotency key.
    pub attempt: u32,
    pub client_id: String,
    pub amount: Money,
    pub method: PaymentMethod,
    pub country: String,
}

/// Where the client completes the payment (a hosted card page, a crypto address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSession {
    pub provider_reference: String,
    pub payment_url: String,
}

/// A withdrawal as a provider is asked to pay it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRequest {
    /// Our withdrawal id, also the provider-side idempotency key: a retried payout pays once.
    pub withdrawal_id: String,
    pub client_id: String,
    pub amount: Money,
    pub method: String,
    pub destination: String,
}

/// What the provider did with a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutResult {
    Paid {
        reference: String,
    },
    /// Refused for good (closed account, invalid destination): the reservation is released.
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The provider could not be reached or answered with a server error: try another one, or
    /// again later.
    #[error("payment provider {provider} is unavailable: {reason}")]
    Unavailable { provider: String, reason: String },
    /// No adapter of that name is configured.
    #[error("no payment provider named '{0}' is configured")]
    UnknownProvider(String),
}

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Asks `provider` to collect the deposit attempt. Idempotent by deposit id and attempt.
    async fn create_payment(
        &self,
        provider: &str,
        request: &PaymentRequest,
    ) -> Result<PaymentSession, GatewayError>;

    /// Asks `provider` to pay the withdrawal out. Idempotent by withdrawal id.
    async fn payout(
        &self,
        provider: &str,
        request: &PayoutRequest,
    ) -> Result<PayoutResult, GatewayError>;
}
