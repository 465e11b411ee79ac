//! The one payment event every provider's webhook becomes, whatever its payload looked like:
//! what the webhook endpoint queues and the deposit consumer applies.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use brokeros_kernel::money::Money;

/// The longest provider event id, deposit reference or provider transaction id accepted.
pub const MAX_REFERENCE_CHARS: usize = 100;
/// The longest provider name (so `<provider>:<event id>` fits SQS's 128-character ids).
pub const MAX_PROVIDER_NAME_CHARS: usize = 27;

/// What a provider says happened to a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PaymentEventKind {
    /// The money arrived (captured; for crypto, confirmed deeply enough).
    Succeeded,
    /// The provider refused the payment; `reason` is the provider's code for why.
    Declined { reason: String },
    /// Accepted but not final yet (authorised, awaiting confirmations).
    Pending,
    /// The money went back to the payer.
    Refunded,
}

impl PaymentEventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentEventKind::Succeeded => "succeeded",
            PaymentEventKind::Declined { .. } => "declined",
            PaymentEventKind::Pending => "pending",
            PaymentEventKind::Refunded => "refunded",
        }
    }
}

/// A verified provider event, in the provider-neutral form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentEvent {
    /// The provider's name as routed (`/webhooks/psp/{provider}`).
    pub provider: String,
    /// The provider's id of this event: the same event delivered again has the same id.
    pub event_id: String,
    /// Our deposit id, which the provider echoes back as the payment's reference.
    pub deposit_id: String,
    pub kind: PaymentEventKind,
    /// The amount the provider reports, checked against the currency's scale.
    pub amount: Money,
    /// When the provider says it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The provider's payment id (a card acquirer's payment, a crypto transaction hash).
    pub provider_transaction_id: String,
}

impl PaymentEvent {
    /// The event queue's message group: one deposit's events are applied in order.
    pub fn group_id(&self) -> &str {
        &self.deposit_id
    }

    /// The event queue's deduplication id: `<provider>:<event id>`, at most 128 characters.
    pub fn dedup_id(&self) -> String {
        format!("{}:{}", self.provider, self.event_id)
    }

    /// The queue message body (JSON; the amount as text).
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).expect("payment events serialize")
    }

    /// Reads a queue message body back, checking the ids as the adapters do.
    pub fn from_message(body: &str) -> Result<PaymentEvent, String> {
        let event: PaymentEvent =
            serde_json::from_str(body).map_err(|e| format!("not a payment event: {e}"))?;
        if !is_provider_name(&event.provider) {
            return Err("not a payment event: bad provider name".into());
        }
        for (field, value) in [
            ("event_id", &event.event_id),
            ("deposit_id", &event.deposit_id),
            ("provider_transaction_id", &event.provider_transaction_id),
        ] {
            if !is_reference(value) {
                return Err(format!("not a payment event: bad {field}"));
            }
        }
        if event.amount.is_negative() || event.amount.is_zero() {
            return Err("not a payment event: the amount is not positive".into());
        }
        Ok(event)
    }
}

/// A provider name: 1 to 27 of `[a-z0-9_-]`.
pub fn is_provider_name(name: &str) -> bool {
    (1..=MAX_PROVIDER_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// An id a provider sends (event id, our reference, its transaction id): 1 to 100 of
/// `[A-Za-z0-9_.:-]`. Anything else is refused rather than carried into keys and logs.
pub fn is_reference(value: &str) -> bool {
    (1..=MAX_REFERENCE_CHARS).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_kernel::money::{Currency, Money};
    use rust_decimal::Decimal;
    use std::str::FromStr;
    use time::macros::datetime;

    fn event() -> PaymentEvent {
        PaymentEvent {
            provider: "simcard".into(),
            event_id: "evt_1".into(),
            deposit_id: "dep_1".into(),
            kind: PaymentEventKind::Declined {
                reason: "insufficient_funds".into(),
            },
            amount: Money::positive(
                "amount",
                Decimal::from_str("100.5").unwrap(),
                Currency::from_code("EUR").unwrap(),
            )
            .unwrap(),
            occurred_at: datetime!(2026-11-24 10:00:00 UTC),
            provider_transaction_id: "pay_9".into(),
        }
    }

    #[test]
    fn a_message_round_trips_with_the_amount_as_text() {
        let event = event();
        let body = event.to_message();
        assert!(
            body.contains(r#""amount":{"amount":"100.50","currency":"EUR"}"#),
            "{body}"
        );
        assert!(body.contains(r#""kind":{"status":"declined","reason":"insufficient_funds"}"#));
        assert_eq!(PaymentEvent::from_message(&body), Ok(event.clone()));
        assert_eq!(event.dedup_id(), "simcard:evt_1");
        assert_eq!(event.group_id(), "dep_1");
    }

    #[test]
    fn bad_messages_are_refused() {
        let body = event().to_message();
        for bad in [
            body.replace("dep_1", "dep 1"),
            body.replace("\"simcard\"", "\"SimCard\""),
            body.replace("100.50", "100.501"),
            body.replace("100.50", "-1"),
            body.replace("\"EUR\"", "\"XXX\""),
            body.replace("}", ",\"extra\":1}"),
            "{}".to_string(),
        ] {
            assert!(PaymentEvent::from_message(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_references_are_restricted() {
        assert!(is_provider_name("sim-card_2"));
        assert!(!is_provider_name(""));
        assert!(!is_provider_name("Card"));
        assert!(!is_provider_name(&"a".repeat(28)));
        assert!(is_reference("0xAbC:1.2-3_4"));
        assert!(!is_reference(""));
        assert!(!is_reference("a b"));
        assert!(!is_reference("a#b"));
        assert!(!is_reference(&"a".repeat(101)));
        // The longest provider name and event id still make a valid SQS deduplication id.
        let longest = PaymentEvent {
            provider: "p".repeat(MAX_PROVIDER_NAME_CHARS),
            event_id: "e".repeat(MAX_REFERENCE_CHARS),
            ..event()
        };
        assert_eq!(longest.dedup_id().len(), 128);
    }
}
