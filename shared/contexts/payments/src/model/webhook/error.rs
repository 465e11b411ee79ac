//! Why a webhook delivery was not turned into an event, as an error code.

use std::fmt;

/// Why a delivery was not turned into an event. Nothing is written for any of them.
///
/// `Display` says only what kind of failure it was; the code ([`WebhookError::code`]) names the
/// check. Details (ages, serde messages) are in `Debug`, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// A header the provider always sends is missing.
    MissingHeader { header: &'static str },
    /// A signature or timestamp header is not of the provider's form, or is repeated.
    MalformedHeader { header: &'static str },
    /// No signature matches the body under the provider's secret (forged, tampered, wrong
    /// secret).
    BadSignature,
    /// Authentic, but signed longer ago than the tolerance: a replay, or a very late retry.
    Expired { age_seconds: i64 },
    /// Authentic, but dated further ahead than the tolerance.
    NotYetValid { ahead_seconds: i64 },
    /// Authentic, but the body is not the provider's payload (syntax, a missing field, a
    /// value of the wrong type or form).
    Malformed { reason: String },
    /// Authentic, but an event type this adapter does not handle: acknowledge and drop.
    Ignored { event_type: String },
    /// Authentic, but the amount cannot be booked: more decimals than its currency has, a
    /// currency Broker OS does not book, zero or negative, too large.
    InvalidAmount { code: &'static str, message: String },
}

impl WebhookError {
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::MissingHeader { .. } => "signature_missing",
            WebhookError::MalformedHeader { .. } => "signature_malformed",
            WebhookError::BadSignature => "signature_invalid",
            WebhookError::Expired { .. } => "signature_expired",
            WebhookError::NotYetValid { .. } => "signature_not_yet_valid",
            WebhookError::Malformed { .. } => "malformed_payload",
            WebhookError::Ignored { .. } => "event_ignored",
            WebhookError::InvalidAmount { code, .. } => code,
        }
    }

    pub fn is_authentication_failure(&self) -> bool {
        matches!(
            self,
            WebhookError::MissingHeader { .. }
                | WebhookError::MalformedHeader { .. }
                | WebhookError::BadSignature
                | WebhookError::Expired { .. }
                | WebhookError::NotYetValid { .. }
        )
    }

    pub fn is_ignorable(&self) -> bool {
        matches!(self, WebhookError::Ignored { .. })
    }

    pub(super) fn malformed(reason: impl Into<String>) -> WebhookError {
        WebhookError::Malformed {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::MissingHeader { .. }
            | WebhookError::MalformedHeader { .. }
            | WebhookError::BadSignature
            | WebhookError::Expired { .. }
            | WebhookError::NotYetValid { .. } => {
                f.write_str("the webhook delivery did not authenticate")
            }
            WebhookError::Malformed { .. } => {
                f.write_str("the webhook body is not a valid event of this provider")
            }
            WebhookError::Ignored { .. } => f.write_str("the webhook event type is not handled"),
            WebhookError::InvalidAmount { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for WebhookError {}

impl From<WebhookError> for brokeros_kernel::Error {
    /// `Unauthenticated` for authentication failures, `Validation` otherwise. An
    /// [`WebhookError::Ignored`] event is not a client error: ingestion acknowledges it before
    /// converting.
    fn from(e: WebhookError) -> brokeros_kernel::Error {
        if e.is_authentication_failure() {
            return brokeros_kernel::Error::Unauthenticated {
                message: e.to_string(),
            };
        }
        let field = match &e {
            WebhookError::InvalidAmount { code, .. } if code.contains("currency") => "currency",
            WebhookError::InvalidAmount { .. } => "amount",
            _ => "body",
        };
        brokeros_kernel::Error::Validation {
            code: e.code(),
            message: e.to_string(),
            field: Some(field.to_string()),
        }
    }
}

/// A money error from the currency table, as an [`WebhookError::InvalidAmount`].
pub(super) fn invalid_amount(e: brokeros_kernel::Error) -> WebhookError {
    match e {
        brokeros_kernel::Error::Validation { code, message, .. } => {
            WebhookError::InvalidAmount { code, message }
        }
        other => WebhookError::InvalidAmount {
            code: "invalid_amount",
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signature header, as a dialect names it.
    const HEADER: &str = "x-acquirer-signature";
    #[test]
    fn errors_are_unauthenticated_or_invalid_and_say_only_the_code() {
        let auth = [
            WebhookError::MissingHeader { header: HEADER },
            WebhookError::MalformedHeader { header: HEADER },
            WebhookError::BadSignature,
            WebhookError::Expired { age_seconds: 999 },
            WebhookError::NotYetValid { ahead_seconds: 999 },
        ];
        let mut codes: Vec<&str> = auth.iter().map(|e| e.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), auth.len(), "each check has its code");
        for e in auth {
            assert!(e.is_authentication_failure());
            assert_eq!(e.to_string(), "the webhook delivery did not authenticate");
            let error = brokeros_kernel::Error::from(e);
            assert!(matches!(
                error,
                brokeros_kernel::Error::Unauthenticated { .. }
            ));
            assert!(!error.to_string().contains("999"));
        }
        let malformed = WebhookError::Malformed {
            reason: "missing field `id`".into(),
        };
        assert!(!malformed.is_authentication_failure() && !malformed.is_ignorable());
        assert!(matches!(
            brokeros_kernel::Error::from(malformed),
            brokeros_kernel::Error::Validation {
                code: "malformed_payload",
                ..
            }
        ));
        let ignored = WebhookError::Ignored {
            event_type: "dispute.created".into(),
        };
        assert!(ignored.is_ignorable() && !ignored.is_authentication_failure());
    }
}
