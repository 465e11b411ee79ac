//! A card acquirer's webhook dialect, and its simulator side: the body and signature the
//! acquirer would send for an event.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::{WebhookError, invalid_amount};
use super::provider::{
    PaymentProvider, WebhookHeaders, checked_name, currency, json, reference, required,
};
use super::signature::{WebhookSecret, signature_hex, v1_signatures, verify_signature};
use crate::model::events::{PaymentEvent, PaymentEventKind};
use brokeros_kernel::money::Money;

/// A card acquirer's webhooks (shaped after Adyen/Checkout.com/Stripe):
///
/// ```text
/// x-acquirer-timestamp: 1795514400
/// x-acquirer-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">
///
/// {"id":"evt_…","type":"payment.captured","created":1795514400,
///  "data":{"payment":{"id":"pay_…","merchant_reference":"<deposit id>",
///                     "amount":{"value":10050,"currency":"EUR"},
///                     "decline":{"code":"insufficient_funds","message":"…"}}}}
/// ```
///
/// Amounts are integers in the currency's minor units (10050 EUR cents = 100.50 EUR).
/// `payment.captured` → succeeded, `payment.authorized` → pending, `payment.declined` →
/// declined (with `decline.code` as the reason), `payment.refunded` → refunded; other types are
/// ignored.
#[derive(Debug, Clone)]
pub struct CardAcquirer {
    name: String,
    secret: WebhookSecret,
}

pub const CARD_TIMESTAMP_HEADER: &str = "x-acquirer-timestamp";
pub const CARD_SIGNATURE_HEADER: &str = "x-acquirer-signature";

#[derive(Debug, Serialize, Deserialize)]
struct CardEnvelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    data: CardData,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardData {
    payment: CardPayment,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardPayment {
    id: String,
    merchant_reference: String,
    amount: CardAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decline: Option<CardDecline>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardAmount {
    /// Minor units.
    value: i64,
    currency: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardDecline {
    code: String,
    #[serde(default)]
    message: String,
}

impl CardAcquirer {
    pub fn new(
        name: impl Into<String>,
        secret: WebhookSecret,
    ) -> brokeros_kernel::Result<CardAcquirer> {
        Ok(CardAcquirer {
            name: checked_name(name.into())?,
            secret,
        })
    }

    fn kind_of(event_type: &str) -> Option<&'static str> {
        match event_type {
            "payment.captured" | "payment.authorized" | "payment.declined" | "payment.refunded" => {
                Some("payment")
            }
            _ => None,
        }
    }
}

impl PaymentProvider for CardAcquirer {
    fn name(&self) -> &str {
        &self.name
    }

    fn verify_and_parse(
        &self,
        headers: &dyn WebhookHeaders,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<PaymentEvent, WebhookError> {
        let timestamp = required(headers, CARD_TIMESTAMP_HEADER)?;
        let signature = required(headers, CARD_SIGNATURE_HEADER)?;
        let signatures = v1_signatures(CARD_SIGNATURE_HEADER, signature)?;
        verify_signature(
            &self.secret,
            CARD_TIMESTAMP_HEADER,
            timestamp,
            &signatures,
            body,
            now,
        )?;

        let envelope: CardEnvelope = json(body)?;
        if Self::kind_of(&envelope.event_type).is_none() {
            return Err(WebhookError::Ignored {
                event_type: envelope.event_type.chars().take(64).collect(),
            });
        }
        let event: CardEvent = json(body)?;
        let payment = event.data.payment;
        let kind = match event.event_type.as_str() {
            "payment.captured" => PaymentEventKind::Succeeded,
            "payment.authorized" => PaymentEventKind::Pending,
            "payment.refunded" => PaymentEventKind::Refunded,
            "payment.declined" => {
                let decline = payment.decline.as_ref().ok_or_else(|| {
                    WebhookError::malformed("a payment.declined event has data.payment.decline")
                })?;
                PaymentEventKind::Declined {
                    reason: reference("data.payment.decline.code", &decline.code)?,
                }
            }
            _ => unreachable!("kind_of admitted only the types above"),
        };
        let currency = currency(&payment.amount.currency)?;
        let amount = Money::positive(
            "amount",
            Decimal::new(payment.amount.value, currency.scale),
            currency,
        )
        .map_err(invalid_amount)?;
        let occurred_at = OffsetDateTime::from_unix_timestamp(event.created)
            .map_err(|_| WebhookError::malformed("created is not a Unix time"))?;
        Ok(PaymentEvent {
            provider: self.name.clone(),
            event_id: reference("id", &event.id)?,
            deposit_id: reference(
                "data.payment.merchant_reference",
                &payment.merchant_reference,
            )?,
            kind,
            amount,
            occurred_at,
            provider_transaction_id: reference("data.payment.id", &payment.id)?,
        })
    }

    fn render(&self, event: &PaymentEvent) -> Result<Vec<u8>, WebhookError> {
        let (event_type, decline) = match &event.kind {
            PaymentEventKind::Succeeded => ("payment.captured", None),
            PaymentEventKind::Pending => ("payment.authorized", None),
            PaymentEventKind::Refunded => ("payment.refunded", None),
            PaymentEventKind::Declined { reason } => (
                "payment.declined",
                Some(CardDecline {
                    code: reason.clone(),
                    message: "declined by the issuer".into(),
                }),
            ),
        };
        // A Money is held at exactly its currency's scale, so its mantissa is the minor units.
        let value = i64::try_from(event.amount.amount().mantissa())
            .map_err(|_| WebhookError::malformed("the amount does not fit in minor units"))?;
        let wire = CardEvent {
            id: event.event_id.clone(),
            event_type: event_type.into(),
            created: event.occurred_at.unix_timestamp(),
            data: CardData {
                payment: CardPayment {
                    id: event.provider_transaction_id.clone(),
                    merchant_reference: event.deposit_id.clone(),
                    amount: CardAmount {
                        value,
                        currency: event.amount.currency().code.into(),
                    },
                    decline,
                },
            },
        };
        Ok(serde_json::to_vec(&wire).expect("card events serialize"))
    }

    fn sign(&self, body: &[u8], timestamp: i64) -> Vec<(String, String)> {
        let timestamp = timestamp.to_string();
        let signature = signature_hex(&self.secret, &timestamp, body);
        vec![
            (CARD_TIMESTAMP_HEADER.to_string(), timestamp),
            (CARD_SIGNATURE_HEADER.to_string(), format!("v1={signature}")),
            ("content-type".to_string(), "application/json".to_string()),
        ]
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::webhook::testing::{money, parse, secret};

    pub(crate) fn card() -> CardAcquirer {
        CardAcquirer::new("simcard", secret("card-acquirer-secret-1")).unwrap()
    }

    pub(crate) const CARD_BODY: &str = r#"{
        "id": "evt_card_1", "type": "payment.captured", "created": 1795514370,
        "livemode": false,
        "data": {"payment": {"id": "pay_9f", "merchant_reference": "dep_42",
                 "amount": {"value": 100500000, "currency": "USDT"}, "card": {"last4": "4242"}}}
    }"#;

    #[test]
    fn card_minor_units_follow_the_currency_scale() {
        let body = |value: &str, currency: &str| {
            CARD_BODY
                .replace("100500000", value)
                .replace("\"USDT\"", &format!("\"{currency}\""))
        };
        assert_eq!(
            parse(&card(), &body("10050", "EUR")).unwrap().amount,
            money("100.50", "EUR")
        );
        assert_eq!(
            parse(&card(), &body("10050", "JPY")).unwrap().amount,
            money("10050", "JPY")
        );
        assert_eq!(
            parse(&card(), &body("1", "BTC")).unwrap().amount,
            money("0.00000001", "BTC")
        );
    }

    #[test]
    fn every_card_event_type_maps_to_its_kind() {
        let card = card();
        for (event_type, kind) in [
            ("payment.captured", PaymentEventKind::Succeeded),
            ("payment.authorized", PaymentEventKind::Pending),
            ("payment.refunded", PaymentEventKind::Refunded),
        ] {
            let body = CARD_BODY.replace("payment.captured", event_type);
            assert_eq!(parse(&card, &body).unwrap().kind, kind, "{event_type}");
        }
        let declined = CARD_BODY
            .replace("payment.captured", "payment.declined")
            .replace(
                r#""card": {"last4": "4242"}"#,
                r#""decline": {"code": "insufficient_funds", "message": "Not enough money"}"#,
            );
        assert_eq!(
            parse(&card, &declined).unwrap().kind,
            PaymentEventKind::Declined {
                reason: "insufficient_funds".into()
            }
        );
        let without_reason = CARD_BODY.replace("payment.captured", "payment.declined");
        assert!(matches!(
            parse(&card, &without_reason),
            Err(WebhookError::Malformed { .. })
        ));
    }
}
