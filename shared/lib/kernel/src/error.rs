use serde::Serialize;

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

/// The JSON path a serde error is about. serde_path_to_error reports where the deserializer
/// stood (`.` at the top): for a missing field that is the object lacking it, so the field's
/// name, which only serde's message holds ("missing field \`x\`"), is added to it.
fn serde_field(path: &str, message: &str) -> Option<String> {
    let object = (!path.is_empty() && path != ".").then_some(path);
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (object, missing) {
        (Some(object), Some(name)) => Some(format!("{object}.{name}")),
        (None, Some(name)) => Some(name.to_string()),
        (object, None) => object.map(str::to_string),
    }
}

/// The JSON body every error response carries.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
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

    /// A document or request body serde refused, read through serde_path_to_error: the
    /// validation error `code` naming the JSON path of the field it is about (`amount`,
    /// `address.country`, `rules[1].id`), or none when it is about the whole document; an
    /// amount off its grammar is `invalid_amount` ([`crate::money::amount::from_serde_error`]).
    pub fn from_serde<E: std::fmt::Display>(
        code: &'static str,
        error: serde_path_to_error::Error<E>,
    ) -> Self {
        let message = error.inner().to_string();
        match serde_field(&error.path().to_string(), &message) {
            Some(field) => crate::money::amount::from_serde_error(&field, &message)
                .unwrap_or_else(|| Error::invalid(code, field, message)),
            None => Error::Validation {
                code,
                message,
                field: None,
            },
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        #[serde(default)]
        nickname: Option<String>,
        #[serde(default)]
        address: Option<Address>,
        #[serde(default)]
        items: Vec<Item>,
        #[serde(default, deserialize_with = "crate::money::amount::deserialize_option")]
        amount: Option<rust_decimal::Decimal>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Address {
        country: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        id: u32,
    }

    /// The code and field of `json` refused as a [`Body`].
    fn refusal(json: &str) -> (String, Option<String>) {
        let mut de = serde_json::Deserializer::from_str(json);
        let error = serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err();
        let body = Error::from_serde("invalid_body", error).body();
        (body.code, body.field)
    }

    #[test]
    fn a_serde_refusal_names_the_path_of_its_field() {
        let named = |code: &str, field: &str| (code.to_string(), Some(field.to_string()));
        let cases = [
            // A missing field: its own name after the object that lacks it.
            ("{}", named("invalid_body", "name")),
            (
                r#"{"name":"A","address":{}}"#,
                named("invalid_body", "address.country"),
            ),
            (
                r#"{"name":"A","items":[{"id":1},{}]}"#,
                named("invalid_body", "items[1].id"),
            ),
            // A wrong type, an unknown field: where serde stood.
            (r#"{"name":42}"#, named("invalid_body", "name")),
            (
                r#"{"name":"A","address":{"country":1}}"#,
                named("invalid_body", "address.country"),
            ),
            (
                r#"{"name":"A","items":[{"id":"x"}]}"#,
                named("invalid_body", "items[0].id"),
            ),
            (
                r#"{"name":"A","admin":true}"#,
                named("invalid_body", "admin"),
            ),
            (
                r#"{"name":"A","amount":"1e3"}"#,
                named("invalid_amount", "amount"),
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(refusal(json), expected, "{json}");
        }
        // About the whole document: no field.
        assert_eq!(refusal("[]"), ("invalid_body".to_string(), None));
    }
}
