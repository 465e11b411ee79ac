//! What the webhook tests share: a fixed now, secrets, amounts, events and signed deliveries.

use std::str::FromStr;

use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::macros::datetime;

use super::error::WebhookError;
use super::provider::PaymentProvider;
use super::signature::WebhookSecret;
use crate::model::events::{PaymentEvent, PaymentEventKind};
use brokeros_kernel::money::{Currency, Money};

pub(super) const NOW: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

pub(super) fn secret(text: &str) -> WebhookSecret {
    WebhookSecret::new(text.as_bytes().to_vec()).unwrap()
}

pub(super) fn money(amount: &str, code: &str) -> Money {
    Money::positive(
        "amount",
        Decimal::from_str(amount).unwrap(),
        Currency::from_code(code).unwrap(),
    )
    .unwrap()
}

pub(super) fn event(provider: &str, kind: PaymentEventKind, amount: Money) -> PaymentEvent {
    PaymentEvent {
        provider: provider.into(),
        event_id: "evt_0001".into(),
        deposit_id: "dep_42".into(),
        kind,
        amount,
        occurred_at: datetime!(2026-11-24 09:59:30 UTC),
        provider_transaction_id: "tx_77".into(),
    }
}

/// Headers signing `body` at `at` under `provider`'s secret.
pub(super) fn signed(
    provider: &dyn PaymentProvider,
    body: &[u8],
    at: OffsetDateTime,
) -> Vec<(String, String)> {
    provider.sign(body, at.unix_timestamp())
}

/// Verifies `body` (signed properly) with `provider`.
pub(super) fn parse(
    provider: &dyn PaymentProvider,
    body: &str,
) -> Result<PaymentEvent, WebhookError> {
    let headers = signed(provider, body.as_bytes(), NOW);
    provider.verify_and_parse(&headers, body.as_bytes(), NOW)
}
