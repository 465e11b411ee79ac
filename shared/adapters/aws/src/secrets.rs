//! Provider webhook secrets from AWS Secrets Manager, read once per execution environment.
//!
//! A function given `BROKEROS_WEBHOOK_SECRETS_ARN` (provider-webhooks, by the template) reads
//! that secret at start-up: a JSON document
//! `{"kyc": "<secret>", "psp": {"<provider>": "<secret>", ...}}`. `kyc` is kept for the KYC
//! provider adapter (none is built for AWS yet, see `compose`), and only the payment providers
//! named in `psp` accept webhooks, each with its own secret, in the dialect the routing rules give it (a crypto processor for a
//! provider that takes only crypto, a card acquirer's otherwise). A provider not in the
//! document is refused: in AWS no webhook is ever checked against a derived, well-known secret.
//!
//! Cost: one `GetSecretValue` call during init (tens of milliseconds in AWS, within the same
//! region). A rotated secret is picked up by new execution environments (README "Deploy").

use std::collections::BTreeMap;
use std::sync::Arc;

use brokeros_app::Services;
use brokeros_payments::model::RoutingRules;
use brokeros_payments::model::webhook::WebhookSecret;
use brokeros_payments::psp::PaymentProviders;
use serde::Deserialize;

/// The environment variable naming the secret (its ARN or name).
pub const SECRETS_ARN_ENV: &str = "BROKEROS_WEBHOOK_SECRETS_ARN";

/// The secret's document. Its `Debug` shows provider names only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecrets {
    #[serde(default)]
    kyc: Option<String>,
    #[serde(default)]
    psp: BTreeMap<String, String>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("kyc", &self.kyc.as_ref().map(|_| "<redacted>"))
            .field("psp", &self.psp.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn invalid(message: String) -> crate::Error {
    format!("webhook secrets ({SECRETS_ARN_ENV}): {message}").into()
}

impl WebhookSecrets {
    /// Parses the secret's JSON; the error never quotes the document.
    pub fn parse(json: &str) -> Result<WebhookSecrets, crate::Error> {
        serde_json::from_str(json).map_err(|e| {
            invalid(format!(
                "not a {{\"kyc\": ..., \"psp\": {{...}}}} document (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// The payment providers these secrets admit, in the dialects `rules` give them.
    pub fn payment_providers(
        &self,
        rules: &RoutingRules,
    ) -> Result<PaymentProviders, crate::Error> {
        let mut providers = PaymentProviders::new();
        for (name, secret) in &self.psp {
            let secret = WebhookSecret::new(secret.as_bytes().to_vec())
                .map_err(|e| invalid(format!("provider {name}: {}", e.body().message)))?;
            let provider = PaymentProviders::adapter_for(rules, name, secret)
                .map_err(|e| invalid(format!("provider {name}: {}", e.body().message)))?;
            providers = providers.with(provider);
        }
        Ok(providers)
    }

    /// `services` verifying payment providers' webhooks with these secrets only.
    pub fn apply(&self, services: Services) -> Result<Services, crate::Error> {
        if self.kyc.as_ref().is_some_and(|kyc| kyc.len() < 16) {
            return Err(invalid("the kyc secret has fewer than 16 bytes".into()));
        }
        Ok(services.with_payment_providers(Arc::new(
            self.payment_providers(&RoutingRules::embedded_default())?,
        )))
    }
}

/// Reads the secret named `arn` (its current version).
pub async fn fetch(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<WebhookSecrets, crate::Error> {
    let value = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            invalid(format!(
                "GetSecretValue failed: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ))
        })?;
    let text = value
        .secret_string()
        .ok_or_else(|| invalid("the secret has no SecretString".into()))?;
    WebhookSecrets::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_payments::model::PaymentMethod;

    #[test]
    fn only_the_named_providers_are_admitted_each_with_its_dialect() {
        let rules = RoutingRules::embedded_default();
        let crypto = rules
            .document()
            .providers
            .iter()
            .find(|p| p.methods.iter().all(|m| *m == PaymentMethod::Crypto))
            .map(|p| p.id.clone());
        let mut document = serde_json::json!({
            "kyc": "k".repeat(32),
            "psp": { "acmepay": "a".repeat(32) }
        });
        if let Some(id) = &crypto {
            document["psp"][id] = serde_json::json!("c".repeat(32));
        }
        let secrets = WebhookSecrets::parse(&document.to_string()).unwrap();
        let providers = secrets.payment_providers(&rules).unwrap();
        let mut names: Vec<&str> = providers.names().collect();
        names.sort();
        let mut wanted = vec!["acmepay"];
        if let Some(id) = &crypto {
            wanted.push(id);
        }
        wanted.sort();
        assert_eq!(names, wanted, "no simulated provider is left admitted");
        // The Debug of the document shows no secret.
        let shown = format!("{secrets:?}");
        assert!(
            !shown.contains("aaaa") && !shown.contains("kkkk"),
            "{shown}"
        );
    }

    #[test]
    fn bad_documents_are_refused_without_quoting_them() {
        let error = WebhookSecrets::parse("{\"psp\": \"sekrit-value\"}").unwrap_err();
        assert!(!error.to_string().contains("sekrit"), "{error}");
        assert!(WebhookSecrets::parse("{\"other\": 1}").is_err());
        let short = WebhookSecrets::parse("{\"psp\": {\"acmepay\": \"short\"}}").unwrap();
        let error = short
            .payment_providers(&RoutingRules::embedded_default())
            .unwrap_err();
        assert!(!error.to_string().contains("short\""), "{error}");
    }
}
