//! How a Lambda composes Broker OS: every port's adapter is named by a setting of the function's
//! environment, and a missing or unknown setting stops start-up with a message naming it, so a
//! deployed function never runs an adapter nobody chose. Simulated providers are not linked
//! into any Lambda (they live in `brokeros-local`, for `brokeros serve`): a port whose real
//! adapter is not built yet is set to `none`, and every call through it fails with an error
//! that says so instead of pretending to work.
//!
//! | setting | values |
//! |---|---|
//! | `BROKEROS_TABLE`, `BROKEROS_AUDIT_TABLE` | the DynamoDB tables (required) |
//! | `BROKEROS_TRADING_PLATFORM` | `none` (an MT5 Web API adapter is planned) |
//! | `BROKEROS_FX_RATES` | `none` (no FX feed for AWS yet; read by [`fx_rates_from`], for the IB context) |
//! | `BROKEROS_KYC_PROVIDER` | `none` (a Sumsub/Onfido adapter is planned) |
//! | `BROKEROS_PAYMENT_GATEWAY` | `none` (deposits are collected by provider adapters still to come) |
//! | `BROKEROS_SCREENING_LISTS` | `dir:<path>`: a directory holding `sdn.csv`, `alt.csv` (OFAC's SDN files) and `pep.csv`, read once at start-up and labelled by the directory's name in every screening result; the template deploys the fictional sample lists as a layer (`dir:/opt/sample`) |
//! | `BROKEROS_PSP_EVENTS_QUEUE_URL` | the SQS FIFO queue of payment events (functions that queue or consume them) |
//! | `BROKEROS_WEBHOOK_SECRETS_ARN` | the providers' webhook secrets (functions that verify webhooks) |

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use brokeros_app::config::BrokerConfig;
use brokeros_app::{Ports, Services};
use brokeros_ib::fx::FxRates;
use brokeros_ib::model::{FxRate, Millis};
use brokeros_kernel::Core;
use brokeros_onboarding::kyc::model::{
    DocumentRef, KycSubject, ListFiles, ScreeningList, VerificationLevel,
};
use brokeros_onboarding::kyc::provider::CheckStatus;
use brokeros_onboarding::kyc::{
    ApplicantRef, CheckRef, KycProvider, KycWebhookEvent, ProviderError, SubmittedDocument,
};
use brokeros_payments::psp::{
    EventQueue, GatewayError, PaymentGateway, PaymentProviders, PaymentRequest, PaymentSession,
    PayoutRequest, PayoutResult, QueueError, QueueMessage, Settled,
};
use brokeros_trading::{
    AccountState, BalanceOperation, DealChangesPage, DealCursor, DealScope, DealsPage, Fill,
    MarketOrder, NewAccount, OperationReceipt, SymbolSpec, TradingAccount, TradingError,
    TradingPlatform,
};

use crate::Error;

pub const TRADING_PLATFORM_ENV: &str = "BROKEROS_TRADING_PLATFORM";
pub const KYC_PROVIDER_ENV: &str = "BROKEROS_KYC_PROVIDER";
pub const FX_RATES_ENV: &str = "BROKEROS_FX_RATES";
pub const PAYMENT_GATEWAY_ENV: &str = "BROKEROS_PAYMENT_GATEWAY";
pub const SCREENING_LISTS_ENV: &str = "BROKEROS_SCREENING_LISTS";

/// A setting's value, or the start-up error naming it.
fn setting(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, Error> {
    lookup(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{name} is required: {}", choices(name)).into())
}

fn choices(name: &str) -> &'static str {
    match name {
        SCREENING_LISTS_ENV => {
            "'dir:<path>' (a directory of sdn.csv, alt.csv and pep.csv; the template's layer holds the fictional sample lists at 'dir:/opt/sample')"
        }
        _ => {
            "'none' (no adapter for AWS is built yet; simulated providers run only in `brokeros serve`)"
        }
    }
}

fn unknown(name: &str, value: &str) -> Error {
    let hint = if value == "simulated" {
        "; simulated providers are not linked into Lambdas (they run in `brokeros serve`)"
    } else {
        ""
    };
    format!(
        "{name}='{value}' is not an adapter of this build: {}{hint}",
        choices(name)
    )
    .into()
}

/// The ports named by the function's settings (`lookup` reads the environment), with the
/// payment events queue given separately (SQS where configured).
pub fn ports_from(
    lookup: &dyn Fn(&str) -> Option<String>,
    psp_events: Arc<dyn EventQueue>,
) -> Result<Ports, Error> {
    let trading: Arc<dyn TradingPlatform> = match setting(lookup, TRADING_PLATFORM_ENV)?.as_str() {
        "none" => Arc::new(Unconfigured(TRADING_PLATFORM_ENV)),
        other => return Err(unknown(TRADING_PLATFORM_ENV, other)),
    };
    let kyc: Arc<dyn KycProvider> = match setting(lookup, KYC_PROVIDER_ENV)?.as_str() {
        "none" => Arc::new(Unconfigured(KYC_PROVIDER_ENV)),
        other => return Err(unknown(KYC_PROVIDER_ENV, other)),
    };
    let gateway: Arc<dyn PaymentGateway> = match setting(lookup, PAYMENT_GATEWAY_ENV)?.as_str() {
        "none" => Arc::new(Unconfigured(PAYMENT_GATEWAY_ENV)),
        other => return Err(unknown(PAYMENT_GATEWAY_ENV, other)),
    };
    let screening = screening_lists(&setting(lookup, SCREENING_LISTS_ENV)?)?;
    Ok(Ports {
        trading,
        kyc,
        screening: Arc::new(screening),
        // Webhooks are admitted only for the providers whose secrets the function is given.
        psp: Arc::new(PaymentProviders::new()),
        psp_events,
        gateway,
        // Functions that fan out or copy provider deals are given the copy queue's URL
        // (`services_from_env`); the others have none.
        copy_orders: Arc::new(Unconfigured(crate::queue::COPY_QUEUE_URL_ENV)),
    })
}

/// The FX rate feed the function's `BROKEROS_FX_RATES` setting names (for the IB context's
/// services; a missing or unknown value stops start-up naming the setting).
pub fn fx_rates_from(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Arc<dyn FxRates>, Error> {
    match setting(lookup, FX_RATES_ENV)?.as_str() {
        "none" => Ok(Arc::new(Unconfigured(FX_RATES_ENV))),
        other => Err(unknown(FX_RATES_ENV, other)),
    }
}

/// The screening lists `value` (`dir:<path>`) names, read and checked at start-up: a missing
/// or malformed file stops the function there, naming the setting and the file.
fn screening_lists(value: &str) -> Result<ScreeningList, Error> {
    let Some(dir) = value.strip_prefix("dir:").map(Path::new) else {
        return Err(unknown(SCREENING_LISTS_ENV, value));
    };
    let label = dir
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| format!("{SCREENING_LISTS_ENV}='{value}' names no directory"))?;
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| {
            format!(
                "{SCREENING_LISTS_ENV}: reading {}: {e}",
                dir.join(name).display()
            )
        })
    };
    let [sdn, alt, pep] = ListFiles::NAMES;
    let (sdn, alt, pep) = (read(sdn)?, read(alt)?, read(pep)?);
    let files = ListFiles {
        sdn: &sdn,
        alt: &alt,
        pep: &pep,
    };
    ScreeningList::from_files(label, &files)
        .map_err(|e| format!("{SCREENING_LISTS_ENV}: the lists in {}: {e}", dir.display()).into())
}

/// The services of a Lambda: `core` (DynamoDB, Step Functions) and the ports its settings name.
pub fn compose(
    core: Core,
    config: BrokerConfig,
    lookup: &dyn Fn(&str) -> Option<String>,
    psp_events: Arc<dyn EventQueue>,
) -> Result<Services, Error> {
    Ok(Services::compose(
        core,
        config,
        ports_from(lookup, psp_events)?,
    ))
}

/// A port set to `none`: every call fails, naming the setting, and is not retried.
pub struct Unconfigured(pub &'static str);

impl Unconfigured {
    fn message(&self) -> String {
        format!("no adapter is configured for this port ({}=none)", self.0)
    }
}

#[async_trait]
impl TradingPlatform for Unconfigured {
    async fn create_account(&self, _: NewAccount) -> Result<TradingAccount, TradingError> {
        Err(TradingError::Storage(self.message()))
    }

    async fn balance_operation(
        &self,
        _: BalanceOperation,
    ) -> Result<OperationReceipt, TradingError> {
        Err(TradingError::Storage(self.message()))
    }

    async fn operation(&self, _: &str) -> Result<Option<OperationReceipt>, TradingError> {
        Err(TradingError::Storage(self.message()))
    }

    async fn account_state(&self, _: u64) -> Result<AccountState, TradingError> {
        Err(TradingError::Storage(self.message()))
    }

    async fn closed_deals(
        &self,
        _: DealScope,
        _: Option<DealCursor>,
        _: u32,
    ) -> Result<DealsPage, TradingError> {
        Err(TradingError::Storage(self.message()))
    }

    async fn deal_changes(
        &self,
        _: &str,
        _: Option<DealCursor>,
        _: u32,
    ) -> Result<DealChangesPage, TradingError> {
        Err(TradingError::Storage(self.message()))
    }
    async fn symbol(&self, _: &str) -> Result<SymbolSpec, TradingError> {
        Err(TradingError::Storage(self.message()))
    }

    async fn place_order(&self, _: MarketOrder) -> Result<Fill, TradingError> {
        Err(TradingError::Storage(self.message()))
    }
}

#[async_trait]
impl FxRates for Unconfigured {
    async fn rate(&self, _: &str, _: &str, _: Millis) -> brokeros_kernel::Result<FxRate> {
        Err(brokeros_kernel::Error::Internal(self.message()))
    }
}

#[async_trait]
impl KycProvider for Unconfigured {
    fn name(&self) -> &str {
        "none"
    }

    async fn create_applicant(&self, _: &KycSubject) -> Result<ApplicantRef, ProviderError> {
        Err(ProviderError::Rejected(self.message()))
    }

    async fn submit_documents(
        &self,
        _: &ApplicantRef,
        _: &[DocumentRef],
    ) -> Result<Vec<SubmittedDocument>, ProviderError> {
        Err(ProviderError::Rejected(self.message()))
    }

    async fn start_check(
        &self,
        _: &ApplicantRef,
        _: VerificationLevel,
    ) -> Result<CheckRef, ProviderError> {
        Err(ProviderError::Rejected(self.message()))
    }

    async fn fetch_check(&self, _: &str) -> Result<CheckStatus, ProviderError> {
        Err(ProviderError::Rejected(self.message()))
    }

    fn parse_webhook(
        &self,
        _: &http::HeaderMap,
        _: &[u8],
        _: time::OffsetDateTime,
    ) -> Result<KycWebhookEvent, ProviderError> {
        Err(ProviderError::InvalidWebhook(self.message()))
    }
}

#[async_trait]
impl PaymentGateway for Unconfigured {
    async fn create_payment(
        &self,
        provider: &str,
        _: &PaymentRequest,
    ) -> Result<PaymentSession, GatewayError> {
        Err(GatewayError::UnknownProvider(format!(
            "{provider} ({})",
            self.message()
        )))
    }

    async fn payout(
        &self,
        provider: &str,
        _: &PayoutRequest,
    ) -> Result<PayoutResult, GatewayError> {
        Err(GatewayError::UnknownProvider(format!(
            "{provider} ({})",
            self.message()
        )))
    }
}

#[async_trait]
impl EventQueue for Unconfigured {
    async fn send(&self, _: &str, _: &str, _: &str) -> Result<String, QueueError> {
        Err(QueueError::Invalid(self.message()))
    }

    async fn receive(&self, _: u32) -> Result<Vec<QueueMessage>, QueueError> {
        Err(QueueError::Invalid(self.message()))
    }

    async fn ack(&self, _: &[String]) -> Result<Settled, QueueError> {
        Err(QueueError::Invalid(self.message()))
    }

    async fn fail(&self, _: &[String]) -> Result<Settled, QueueError> {
        Err(QueueError::Invalid(self.message()))
    }
}

/// The fictional sample lists in this repository, as a test's setting.
#[cfg(test)]
pub(crate) const SAMPLE_LISTS: &str = concat!(
    "dir:",
    env!("CARGO_MANIFEST_DIR"),
    "/../local/data/screening-lists/sample"
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const ALL_NONE: [(&str, &str); 4] = [
        (TRADING_PLATFORM_ENV, "none"),
        (KYC_PROVIDER_ENV, "none"),
        (PAYMENT_GATEWAY_ENV, "none"),
        (SCREENING_LISTS_ENV, SAMPLE_LISTS),
    ];

    fn queue() -> Arc<dyn EventQueue> {
        Arc::new(Unconfigured("BROKEROS_PSP_EVENTS_QUEUE_URL"))
    }

    #[test]
    fn every_port_must_be_named_and_a_missing_setting_is_named() {
        assert!(ports_from(&env(&ALL_NONE), queue()).is_ok());
        for (missing, _) in ALL_NONE {
            let rest: Vec<(&str, &str)> = ALL_NONE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let error = ports_from(&env(&rest), queue()).err().expect("refused");
            assert!(error.to_string().contains(missing), "{error}");
        }
    }

    #[test]
    fn simulated_adapters_are_refused_in_a_lambda() {
        for (name, _) in &ALL_NONE[..3] {
            let mut settings = ALL_NONE.to_vec();
            settings.retain(|(k, _)| k != name);
            settings.push((name, "simulated"));
            let error = ports_from(&env(&settings), queue()).err().expect("refused");
            let text = error.to_string();
            assert!(
                text.contains(name) && text.contains("brokeros serve"),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn an_unconfigured_port_fails_every_call_naming_its_setting() {
        let ports = ports_from(&env(&ALL_NONE), queue()).unwrap();
        let error = ports.trading.account_state(1).await.unwrap_err();
        assert!(error.to_string().contains(TRADING_PLATFORM_ENV), "{error}");
        assert!(!error.is_transient(), "not retried by the workflows");
        let error = ports
            .trading
            .deal_changes("mt5-1", None, 10)
            .await
            .unwrap_err();
        assert!(error.to_string().contains(TRADING_PLATFORM_ENV), "{error}");
        let error = ports.kyc.fetch_check("c").await.unwrap_err();
        assert!(error.to_string().contains(KYC_PROVIDER_ENV), "{error}");
    }

    #[tokio::test]
    async fn the_fx_feed_is_named_by_its_setting_and_none_fails_naming_it() {
        let missing = fx_rates_from(&env(&[])).err().expect("required");
        assert!(missing.to_string().contains(FX_RATES_ENV), "{missing}");
        let simulated = fx_rates_from(&env(&[(FX_RATES_ENV, "simulated")]))
            .err()
            .expect("refused");
        assert!(
            simulated.to_string().contains("brokeros serve"),
            "{simulated}"
        );
        let none = fx_rates_from(&env(&[(FX_RATES_ENV, "none")])).unwrap();
        let error = none.rate("EUR", "USD", 0).await.unwrap_err();
        assert!(error.to_string().contains(FX_RATES_ENV), "{error}");
    }

    #[test]
    fn screening_lists_are_read_from_the_named_directory_and_labelled_by_it() {
        let lists = screening_lists(SAMPLE_LISTS).unwrap();
        assert_eq!(lists.sources, ["ofac-sdn-sample", "pep-sample"]);
        assert!(lists.len() > 10, "{}", lists.len());
    }

    #[test]
    fn missing_or_malformed_screening_lists_stop_start_up_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let setting = format!("dir:{}", dir.path().display());
        let error = screening_lists(&setting).expect_err("no files");
        let text = error.to_string();
        assert!(
            text.contains(SCREENING_LISTS_ENV) && text.contains("sdn.csv"),
            "{text}"
        );

        for name in ListFiles::NAMES {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::write(dir.path().join("sdn.csv"), "1,\"ROE, Jane\",individual\n").unwrap();
        let error = screening_lists(&setting).expect_err("malformed");
        let text = error.to_string();
        assert!(
            text.contains(SCREENING_LISTS_ENV) && text.contains("sdn.csv"),
            "{text}"
        );

        for value in ["sample", "s3://bucket/lists", "dir:/"] {
            let error = screening_lists(value).expect_err(value);
            assert!(
                error.to_string().contains(SCREENING_LISTS_ENV),
                "{value}: {error}"
            );
        }
    }
}
