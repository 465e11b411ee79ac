//! A crypto processor's webhook dialect, and its simulator side: the body (with a chosen number
//! of confirmations) and signature the processor would send for an event.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::{WebhookError, invalid_amount};
use super::provider::{
    PaymentProvider, WebhookHeaders, checked_name, currency, json, reference, required,
};
use super::signature::{MAX_SIGNATURES, WebhookSecret, signature_hex, verify_signature};
use crate::model::events::{PaymentEvent, PaymentEventKind};
use brokeros_kernel::money::{Money, parse_amount};

/// A crypto payment processor's webhooks (shaped after NOWPayments/Coinbase Commerce/BitPay):
///
/// ```text
/// x-crypto-signature: t=1795514400,v1=<hex HMAC-SHA256 of "<t>.<body>">
///
/// {"event_id":"cev_…","type":"deposit.update","created_at":"2026-11-24T10:00:00Z",
///  "order":{"id":"ord_…","reference":"<deposit id>"},
///  "transfer":{"status":"completed","asset":"USDT","network":"TRON","amount":"100.500000",
///              "tx_hash":"0x…","confirmations":20,"failure_reason":null}}
/// ```
///
/// Amounts are decimal strings in the grammar of `brokeros_kernel::money::amount` (a JSON number
/// is refused: it may have gone through a float).
/// A transfer counts as succeeded only with `status` `completed` **and** at least the
/// configured number of confirmations — the processor's word alone is not enough; fewer
/// confirmations, or `status` `confirming`, is pending. `failed` → declined (with
/// `failure_reason`), `refunded` → refunded. Types other than `deposit.update` are ignored.
#[derive(Debug, Clone)]
pub struct CryptoProcessor {
    name: String,
    secret: WebhookSecret,
    required_confirmations: u32,
}

pub const CRYPTO_SIGNATURE_HEADER: &str = "x-crypto-signature";
pub const CRYPTO_EVENT_TYPE: &str = "deposit.update";

#[derive(Debug, Serialize, Deserialize)]
struct CryptoEnvelope {
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct CryptoEvent {
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    order: CryptoOrder,
    transfer: CryptoTransfer,
}

#[derive(Debug, Serialize, Deserialize)]
struct CryptoOrder {
    id: String,
    reference: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CryptoStatus {
    Confirming,
    Completed,
    Failed,
    Refunded,
}

#[derive(Debug, Serialize, Deserialize)]
struct CryptoTransfer {
    status: CryptoStatus,
    asset: String,
    network: String,
    /// A decimal string (`brokeros_kernel::money::amount`).
    amount: String,
    #[serde(default)]
    tx_hash: Option<String>,
    confirmations: u32,
    #[serde(default)]
    failure_reason: Option<String>,
}

impl CryptoProcessor {
    pub fn new(
        name: impl Into<String>,
        secret: WebhookSecret,
        required_confirmations: u32,
    ) -> brokeros_kernel::Result<CryptoProcessor> {
        if required_confirmations == 0 {
            return Err(brokeros_kernel::Error::invalid(
                "invalid_confirmations",
                "required_confirmations",
                "at least one confirmation is required",
            ));
        }
        Ok(CryptoProcessor {
            name: checked_name(name.into())?,
            secret,
            required_confirmations,
        })
    }

    pub fn required_confirmations(&self) -> u32 {
        self.required_confirmations
    }

    /// The body for `event` with a given number of confirmations: a `succeeded` event with
    /// fewer than required renders as a `completed` transfer the adapter reads as pending.
    pub fn render_with_confirmations(&self, event: &PaymentEvent, confirmations: u32) -> Vec<u8> {
        let (status, failure_reason) = match &event.kind {
            PaymentEventKind::Succeeded => (CryptoStatus::Completed, None),
            PaymentEventKind::Pending => (CryptoStatus::Confirming, None),
            PaymentEventKind::Refunded => (CryptoStatus::Refunded, None),
            PaymentEventKind::Declined { reason } => (CryptoStatus::Failed, Some(reason.clone())),
        };
        let currency = event.amount.currency();
        let wire = CryptoEvent {
            event_id: event.event_id.clone(),
            event_type: CRYPTO_EVENT_TYPE.into(),
            created_at: event.occurred_at,
            order: CryptoOrder {
                id: format!("ord_{}", event.deposit_id),
                reference: event.deposit_id.clone(),
            },
            transfer: CryptoTransfer {
                status,
                asset: currency.code.into(),
                network: match currency.code {
                    "BTC" => "BITCOIN",
                    "ETH" => "ETHEREUM",
                    _ => "TRON",
                }
                .into(),
                amount: event.amount.amount().to_string(),
                tx_hash: Some(event.provider_transaction_id.clone()),
                confirmations,
                failure_reason,
            },
        };
        serde_json::to_vec(&wire).expect("crypto events serialize")
    }
}

impl PaymentProvider for CryptoProcessor {
    fn name(&self) -> &str {
        &self.name
    }

    fn verify_and_parse(
        &self,
        headers: &dyn WebhookHeaders,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<PaymentEvent, WebhookError> {
        let header = required(headers, CRYPTO_SIGNATURE_HEADER)?;
        let malformed = WebhookError::MalformedHeader {
            header: CRYPTO_SIGNATURE_HEADER,
        };
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) if timestamp.is_none() => timestamp = Some(t),
                Some(("v1", v)) => signatures.push(v),
                _ => return Err(malformed),
            }
        }
        let Some(timestamp) = timestamp else {
            return Err(malformed);
        };
        if signatures.is_empty() || signatures.len() > MAX_SIGNATURES {
            return Err(malformed);
        }
        verify_signature(
            &self.secret,
            CRYPTO_SIGNATURE_HEADER,
            timestamp,
            &signatures,
            body,
            now,
        )?;

        let envelope: CryptoEnvelope = json(body)?;
        if envelope.event_type != CRYPTO_EVENT_TYPE {
            return Err(WebhookError::Ignored {
                event_type: envelope.event_type.chars().take(64).collect(),
            });
        }
        let event: CryptoEvent = json(body)?;
        let transfer = event.transfer;
        let kind = match transfer.status {
            CryptoStatus::Completed if transfer.confirmations >= self.required_confirmations => {
                PaymentEventKind::Succeeded
            }
            CryptoStatus::Completed | CryptoStatus::Confirming => PaymentEventKind::Pending,
            CryptoStatus::Refunded => PaymentEventKind::Refunded,
            CryptoStatus::Failed => PaymentEventKind::Declined {
                reason: reference(
                    "transfer.failure_reason",
                    transfer.failure_reason.as_deref().ok_or_else(|| {
                        WebhookError::malformed("a failed transfer has transfer.failure_reason")
                    })?,
                )?,
            },
        };
        let currency = currency(&transfer.asset)?;
        let amount = parse_amount("amount", &transfer.amount).map_err(invalid_amount)?;
        let amount = Money::positive("amount", amount, currency).map_err(invalid_amount)?;
        let provider_transaction_id = match &transfer.tx_hash {
            Some(hash) => reference("transfer.tx_hash", hash)?,
            None => reference("order.id", &event.order.id)?,
        };
        Ok(PaymentEvent {
            provider: self.name.clone(),
            event_id: reference("event_id", &event.event_id)?,
            deposit_id: reference("order.reference", &event.order.reference)?,
            kind,
            amount,
            occurred_at: event.created_at,
            provider_transaction_id,
        })
    }

    fn render(&self, event: &PaymentEvent) -> Result<Vec<u8>, WebhookError> {
        let confirmations = match event.kind {
            PaymentEventKind::Succeeded => self.required_confirmations,
            PaymentEventKind::Pending => 1,
            _ => 0,
        };
        Ok(self.render_with_confirmations(event, confirmations))
    }

    fn sign(&self, body: &[u8], timestamp: i64) -> Vec<(String, String)> {
        let timestamp = timestamp.to_string();
        let signature = signature_hex(&self.secret, &timestamp, body);
        vec![
            (
                CRYPTO_SIGNATURE_HEADER.to_string(),
                format!("t={timestamp},v1={signature}"),
            ),
            ("content-type".to_string(), "application/json".to_string()),
        ]
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::webhook::testing::{NOW, event, money, parse, secret};

    pub(crate) fn crypto() -> CryptoProcessor {
        CryptoProcessor::new("simcrypto", secret("crypto-processor-secret"), 12).unwrap()
    }

    pub(crate) const CRYPTO_BODY: &str = r#"{
        "event_id": "evt_card_1", "type": "deposit.update", "created_at": "2026-11-24T09:59:30Z",
        "order": {"id": "ord_1", "reference": "dep_42"},
        "transfer": {"status": "completed", "asset": "USDT", "network": "TRON",
                     "amount": "100.5", "tx_hash": "pay_9f", "confirmations": 12}
    }"#;

    #[test]
    fn crypto_succeeds_only_with_enough_confirmations() {
        let crypto = crypto();
        let with = |status: &str, confirmations: u32| {
            CRYPTO_BODY
                .replace("\"completed\"", &format!("\"{status}\""))
                .replace(
                    "\"confirmations\": 12",
                    &format!("\"confirmations\": {confirmations}"),
                )
        };
        assert_eq!(
            parse(&crypto, &with("completed", 12)).unwrap().kind,
            PaymentEventKind::Succeeded
        );
        assert_eq!(
            parse(&crypto, &with("completed", 40)).unwrap().kind,
            PaymentEventKind::Succeeded
        );
        assert_eq!(
            parse(&crypto, &with("completed", 11)).unwrap().kind,
            PaymentEventKind::Pending
        );
        assert_eq!(
            parse(&crypto, &with("completed", 0)).unwrap().kind,
            PaymentEventKind::Pending
        );
        assert_eq!(
            parse(&crypto, &with("confirming", 50)).unwrap().kind,
            PaymentEventKind::Pending
        );
        assert_eq!(
            parse(&crypto, &with("refunded", 12)).unwrap().kind,
            PaymentEventKind::Refunded
        );
        let failed = with("failed", 0).replace(
            "\"confirmations\": 0",
            "\"confirmations\": 0, \"failure_reason\": \"underpaid\"",
        );
        assert_eq!(
            parse(&crypto, &failed).unwrap().kind,
            PaymentEventKind::Declined {
                reason: "underpaid".into()
            }
        );
        assert!(matches!(
            parse(&crypto, &with("failed", 0)),
            Err(WebhookError::Malformed { .. })
        ));
        assert!(matches!(
            parse(&crypto, &with("stuck", 0)),
            Err(WebhookError::Malformed { .. })
        ));
        // What the simulated processor renders below the threshold is read as pending.
        let e = event("simcrypto", PaymentEventKind::Succeeded, money("7", "USDT"));
        let body = crypto.render_with_confirmations(&e, 11);
        let headers = crypto.sign(&body, NOW.unix_timestamp());
        assert_eq!(
            crypto.verify_and_parse(&headers, &body, NOW).unwrap().kind,
            PaymentEventKind::Pending
        );
        // Without a transaction hash, the processor's order id names the transaction.
        let no_hash = CRYPTO_BODY.replace(r#""tx_hash": "pay_9f", "#, "");
        assert_eq!(
            parse(&crypto, &no_hash).unwrap().provider_transaction_id,
            "ord_1"
        );
    }
}
