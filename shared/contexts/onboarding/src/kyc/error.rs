//! How KYC use cases fail. Provider failures get their own names so that the onboarding state
//! machine retries an unavailable provider (`KycProviderUnavailable`) without retrying a
//! refusal (`KycProviderError`); every other failure keeps the name of the Broker OS error it
//! is (`TransientError`, `ValidationError`, ...).

use std::fmt;

use brokeros_kernel::Error;
use brokeros_kernel::workflow::error_name;

use super::provider::ProviderError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KycError {
    /// The provider did not answer or was throttling; retry the same call (same check id).
    ProviderUnavailable {
        provider: String,
        message: String,
    },
    /// The provider refused the request; retrying will not help.
    ProviderRejected {
        provider: String,
        message: String,
    },
    /// A webhook whose signature or body does not verify.
    WebhookRejected {
        provider: String,
        message: String,
    },
    Other(Error),
}

impl KycError {
    pub const PROVIDER_UNAVAILABLE: &'static str = "KycProviderUnavailable";
    pub const PROVIDER_ERROR: &'static str = "KycProviderError";
    pub const WEBHOOK_REJECTED: &'static str = "KycWebhookRejected";

    pub fn from_provider(provider: &str, error: ProviderError) -> KycError {
        let provider = provider.to_string();
        match error {
            ProviderError::Unavailable(message) => {
                KycError::ProviderUnavailable { provider, message }
            }
            ProviderError::Rejected(message) => KycError::ProviderRejected { provider, message },
            ProviderError::InvalidWebhook(message) => {
                KycError::WebhookRejected { provider, message }
            }
        }
    }

    /// The Lambda error type (`errorType`) state machines match in `Retry`/`Catch`. Part of the
    /// workflows' contract: do not rename.
    pub fn error_name(&self) -> &'static str {
        match self {
            KycError::ProviderUnavailable { .. } => Self::PROVIDER_UNAVAILABLE,
            KycError::ProviderRejected { .. } => Self::PROVIDER_ERROR,
            KycError::WebhookRejected { .. } => Self::WEBHOOK_REJECTED,
            KycError::Other(e) => error_name(e),
        }
    }

    /// Whether the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            KycError::ProviderUnavailable { .. } | KycError::Other(Error::Unavailable(_))
        )
    }

    /// What a caller may be told: provider details stay in the logs.
    pub fn public_message(&self) -> String {
        match self {
            KycError::ProviderUnavailable { .. } => {
                "the KYC provider is temporarily unavailable; retry later".into()
            }
            KycError::ProviderRejected { .. } => "the KYC provider refused the request".into(),
            KycError::WebhookRejected { .. } => "the webhook could not be verified".into(),
            KycError::Other(e) => e.body().message,
        }
    }
}

impl fmt::Display for KycError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KycError::ProviderUnavailable { provider, message } => {
                write!(f, "KYC provider {provider} is unavailable: {message}")
            }
            KycError::ProviderRejected { provider, message } => {
                write!(f, "KYC provider {provider} refused the request: {message}")
            }
            KycError::WebhookRejected { provider, message } => {
                write!(f, "webhook from {provider} rejected: {message}")
            }
            KycError::Other(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for KycError {}

impl From<Error> for KycError {
    fn from(e: Error) -> KycError {
        KycError::Other(e)
    }
}

/// For callers that speak only [`Error`] (the HTTP router): the provider's unavailability
/// becomes `Unavailable`, a refusal an internal error, a bad webhook `Unauthenticated`. The
/// distinct names are lost here; Lambda handlers of workflows use [`KycError::error_name`].
impl From<KycError> for Error {
    fn from(e: KycError) -> Error {
        match e {
            KycError::ProviderUnavailable { provider, message } => {
                Error::Unavailable(format!("KYC provider {provider}: {message}"))
            }
            KycError::ProviderRejected { provider, message } => {
                Error::Internal(format!("KYC provider {provider} refused: {message}"))
            }
            KycError::WebhookRejected { .. } => {
                Error::unauthenticated("the webhook could not be verified")
            }
            KycError::Other(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_failures_have_stable_names_and_only_unavailability_is_transient() {
        let down = KycError::from_provider("sim", ProviderError::Unavailable("timeout".into()));
        assert_eq!(down.error_name(), "KycProviderUnavailable");
        assert!(down.is_transient());
        assert_eq!(error_name(&Error::from(down)), "TransientError");
        let refused = KycError::from_provider("sim", ProviderError::Rejected("bad".into()));
        assert_eq!(refused.error_name(), "KycProviderError");
        assert!(!refused.is_transient());
        let webhook = KycError::from_provider("sim", ProviderError::InvalidWebhook("sig".into()));
        assert_eq!(webhook.error_name(), "KycWebhookRejected");
        assert!(matches!(
            Error::from(webhook),
            Error::Unauthenticated { .. }
        ));
        let store = KycError::from(Error::Unavailable("db".into()));
        assert_eq!(store.error_name(), "TransientError");
        assert!(store.is_transient());
        assert!(!down_message_leaks());
    }

    fn down_message_leaks() -> bool {
        let down = KycError::from_provider(
            "sim",
            ProviderError::Unavailable("https://10.0.0.7/api".into()),
        );
        down.public_message().contains("10.0.0.7")
    }
}
