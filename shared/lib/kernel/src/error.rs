use serde::Serialize;
use utoipa::ToSchema;

/// Every failure a Broker OS operation can report. It says what happened; each host picks the
/// answer: brokeros-http the HTTP status, and both workflow runtimes the error name state
/// machines match in `Retry`/`Catch` ([`crate::workflow::error_name`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Validation {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("{message}")]
    Unauthenticated { message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the Idempotency-Key was already used with a different request body")]
    IdempotencyMismatch,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// An external provider (KYC, trading platform, payments) failed in a way worth retrying.
    /// `error_type` is the name workflows retry on, e.g. `KycProviderUnavailable`.
    #[error("{error_type}: {message}")]
    ProviderUnavailable {
        error_type: &'static str,
        message: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The JSON body every error response carries (the API contract's `Error` schema).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong, for programs: `invalid_body`, `not_found`, `insufficient_funds`, …
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The JSON path of the input at fault (`amount`, `profile.client_type`,
    /// `referral_codes[0].campaign`), or a header's or parameter's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Error {
    pub fn invalid(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Validation {
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden {
            message: message.into(),
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Error::Unauthenticated {
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    /// Stable machine-readable code, sent to clients as `code`.
    pub fn code(&self) -> &str {
        match self {
            Error::Validation { code, .. } | Error::Conflict { code, .. } => code,
            Error::Unauthenticated { .. } => "unauthenticated",
            Error::Forbidden { .. } => "forbidden",
            Error::NotFound { .. } => "not_found",
            Error::IdempotencyMismatch => "idempotency_key_reused",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::Unavailable(_) => "unavailable",
            Error::ProviderUnavailable { .. } => "provider_unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// What the caller is told. Internal details stay in the logs, never in a response.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Error::Unavailable(_) | Error::ProviderUnavailable { .. } => {
                "the service is temporarily unavailable; retry later".to_string()
            }
            Error::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        let field = match self {
            Error::Validation { field, .. } => field.clone(),
            _ => None,
        };
        ErrorBody {
            code: self.code().to_string(),
            message,
            field,
        }
    }
}
