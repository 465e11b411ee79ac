//! The payment providers of `brokeros serve`, the demo and the tests: their webhooks are signed
//! with secrets that are no secrets (they sign only simulated payments). In AWS a provider is
//! admitted only with its own secret from the secret store (`brokeros_aws::secrets`).

use std::sync::Arc;

use brokeros_payments::model::RoutingRules;
use brokeros_payments::model::webhook::{CardAcquirer, CryptoProcessor, WebhookSecret};
use brokeros_payments::psp::PaymentProviders;
use brokeros_payments::psp::webhooks::CRYPTO_CONFIRMATIONS;

/// The simulated card acquirer's name and webhook secret.
pub const SIMULATED_CARD: &str = "simcard";
const SIMULATED_CARD_SECRET: &[u8] = b"simulated-card-acquirer-webhooks";
/// The simulated crypto processor's name and webhook secret.
pub const SIMULATED_CRYPTO: &str = "simcrypto";
const SIMULATED_CRYPTO_SECRET: &[u8] = b"simulated-crypto-processor-webhooks";

/// The simulated card acquirer ([`SIMULATED_CARD`]) and crypto processor ([`SIMULATED_CRYPTO`]).
pub fn simulated_providers() -> PaymentProviders {
    let card = CardAcquirer::new(
        SIMULATED_CARD,
        WebhookSecret::new(SIMULATED_CARD_SECRET).expect("the simulated secret is long enough"),
    )
    .expect("the simulated provider's name is valid");
    let crypto = CryptoProcessor::new(
        SIMULATED_CRYPTO,
        WebhookSecret::new(SIMULATED_CRYPTO_SECRET).expect("the simulated secret is long enough"),
        CRYPTO_CONFIRMATIONS,
    )
    .expect("the simulated provider's name is valid");
    PaymentProviders::new()
        .with(Arc::new(card))
        .with(Arc::new(crypto))
}

/// The simulated providers plus one for every provider of a routing document, so deposits
/// routed to any of them can be confirmed locally by signed webhooks, each in the dialect the
/// rules give it and with a secret of its own, derived from its name.
pub fn simulated_providers_for(rules: &RoutingRules) -> PaymentProviders {
    rules
        .document()
        .providers
        .iter()
        .fold(simulated_providers(), |providers, descriptor| {
            let secret =
                WebhookSecret::new(format!("simulated-webhooks-of-{}", descriptor.id).into_bytes())
                    .expect("a derived secret is long enough");
            providers.with(
                PaymentProviders::adapter_for(rules, &descriptor.id, secret)
                    .expect("routing provider ids are valid provider names"),
            )
        })
}
