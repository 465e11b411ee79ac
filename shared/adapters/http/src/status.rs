//! Where Broker OS errors become HTTP statuses. The kernel's [`Error`] and the contexts' own
//! errors say what happened; only this module picks the status the API answers with. The other
//! way round, [`status_error`] gives the `{code, message}` body of an error that only has a
//! status: one axum or hyper answered before any handler ran.

use axum::http::StatusCode;
use brokeros_kernel::Error;
use brokeros_kernel::error::ErrorBody;
use brokeros_onboarding::kyc::KycError;
use brokeros_payments::psp::IngestError;

/// The status of an error response: the one mapping from [`Error`] to HTTP.
pub fn error_status(e: &Error) -> StatusCode {
    match e {
        Error::Validation { .. } => StatusCode::BAD_REQUEST,
        Error::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
        Error::Forbidden { .. } => StatusCode::FORBIDDEN,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::Conflict { .. } => StatusCode::CONFLICT,
        Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Unavailable(_) | Error::ProviderUnavailable { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The body of an error response that axum or hyper made (an unknown route, a method the route
/// lacks, a rejected extractor, a request hyper could not parse, a body over the limit or too
/// slow). `detail` is the framework's own text, shown for the statuses where it says what was
/// wrong with the request (400, 422) and ignored for the others.
pub fn status_error(status: StatusCode, detail: Option<&str>) -> ErrorBody {
    let known = |e: Error| e.body();
    let body = |code: &str, message: &str| ErrorBody {
        code: code.to_string(),
        message: message.to_string(),
        field: None,
    };
    let detail = detail
        .map(str::trim)
        .filter(|d| !d.is_empty() && d.len() <= 512);
    match status.as_u16() {
        400 => body("bad_request", detail.unwrap_or("the request is malformed")),
        401 => known(Error::unauthenticated("the request is not authenticated")),
        403 => known(Error::forbidden("the request is not allowed")),
        404 => known(Error::NotFound {
            entity: "route",
            id: "requested".into(),
        }),
        405 => body(
            "method_not_allowed",
            "this method is not allowed on this path",
        ),
        408 => body("request_timeout", "the request was not received in time"),
        413 => known(Error::PayloadTooLarge {
            limit: crate::limits::MAX_BODY_BYTES,
        }),
        414 => body("uri_too_long", "the request URI is too long"),
        415 => body(
            "unsupported_media_type",
            "the body's Content-Type is not accepted here",
        ),
        422 => body(
            "invalid_body",
            detail.unwrap_or("the body could not be processed"),
        ),
        429 => body(
            "rate_limited",
            "too many requests from this source; retry after the seconds Retry-After gives",
        ),
        431 => body("headers_too_large", "the request's headers are too large"),
        503 => known(Error::Unavailable(String::new())),
        500..=599 => known(Error::Internal(String::new())),
        _ => {
            let reason = status.canonical_reason().unwrap_or("request refused");
            let code = reason.to_ascii_lowercase().replace([' ', '-'], "_");
            body(&code, reason)
        }
    }
}

/// A refused payment webhook delivery as the API answers it: an unknown provider 404 (naming
/// it), a delivery that did not authenticate 401, an unusable body 400, a queue that did not
/// take the event 503 (the provider delivers it again later).
pub fn ingest_error(e: IngestError, provider: &str) -> Error {
    match e {
        IngestError::UnknownProvider => Error::NotFound {
            entity: "payment provider",
            id: provider.to_string(),
        },
        IngestError::Rejected(rejected) => Error::from(rejected),
        IngestError::Queue(queue) => Error::Unavailable(queue.to_string()),
    }
}

/// A failed KYC webhook as the API answers it: a delivery that does not verify 401 with the
/// provider adapter's reason, everything else as its [`Error`].
pub fn kyc_webhook_error(e: KycError) -> Error {
    match e {
        KycError::WebhookRejected { message, .. } => Error::Unauthenticated { message },
        other => Error::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_payments::model::webhook::WebhookError;
    use brokeros_payments::psp::QueueError;

    fn status(e: &Error) -> u16 {
        error_status(e).as_u16()
    }

    #[test]
    fn every_error_has_its_status() {
        let cases = [
            (Error::invalid("bad", "field", "bad"), 400),
            (Error::unauthenticated("who"), 401),
            (Error::forbidden("no"), 403),
            (
                Error::NotFound {
                    entity: "client",
                    id: "c-1".into(),
                },
                404,
            ),
            (Error::conflict("taken", "taken"), 409),
            (Error::PayloadTooLarge { limit: 1 }, 413),
            (Error::IdempotencyMismatch, 422),
            (Error::Unavailable("db".into()), 503),
            (
                Error::ProviderUnavailable {
                    error_type: "KycProviderUnavailable",
                    message: "down".into(),
                },
                503,
            ),
            (Error::Internal("bug".into()), 500),
        ];
        for (error, expected) in cases {
            assert_eq!(status(&error), expected, "{error:?}");
        }
    }

    #[test]
    fn framework_statuses_have_their_json_error() {
        for (status, code) in [
            (400, "bad_request"),
            (401, "unauthenticated"),
            (404, "not_found"),
            (405, "method_not_allowed"),
            (408, "request_timeout"),
            (413, "payload_too_large"),
            (414, "uri_too_long"),
            (415, "unsupported_media_type"),
            (422, "invalid_body"),
            (429, "rate_limited"),
            (431, "headers_too_large"),
            (500, "internal"),
            (503, "unavailable"),
        ] {
            let body = status_error(StatusCode::from_u16(status).unwrap(), None);
            assert_eq!(body.code, code, "{status}");
            assert!(!body.message.is_empty(), "{status}");
        }
        let bad = status_error(StatusCode::BAD_REQUEST, Some("Invalid URL: bad `id`"));
        assert_eq!(bad.message, "Invalid URL: bad `id`");
        let hidden = status_error(StatusCode::INTERNAL_SERVER_ERROR, Some("a stack trace"));
        assert_eq!(hidden.message, "internal error");
    }

    #[test]
    fn webhook_errors_answer_401_400_404_or_503() {
        let header = "x-acquirer-signature";
        let rejected = [
            (WebhookError::MissingHeader { header }, 401),
            (WebhookError::MalformedHeader { header }, 401),
            (WebhookError::BadSignature, 401),
            (WebhookError::Expired { age_seconds: 999 }, 401),
            (WebhookError::NotYetValid { ahead_seconds: 999 }, 401),
            (
                WebhookError::Malformed {
                    reason: "missing field `id`".into(),
                },
                400,
            ),
            (
                WebhookError::InvalidAmount {
                    code: "invalid_amount",
                    message: "zero".into(),
                },
                400,
            ),
        ];
        for (e, expected) in rejected {
            let answered = ingest_error(IngestError::Rejected(e.clone()), "simcard");
            assert_eq!(status(&answered), expected, "{e:?}");
        }
        let unknown = ingest_error(IngestError::UnknownProvider, "nosuchpsp");
        assert_eq!(status(&unknown), 404);
        assert!(unknown.to_string().contains("nosuchpsp"));
        for queue in [
            QueueError::Unavailable("throttled".into()),
            QueueError::Invalid("too big".into()),
        ] {
            assert_eq!(
                status(&ingest_error(IngestError::Queue(queue.clone()), "simcard")),
                503,
                "{queue:?}"
            );
        }
    }

    #[test]
    fn kyc_webhook_errors_answer_401_503_500_or_their_errors_status() {
        let provider = "sim".to_string();
        let message = "signature mismatch".to_string();
        let rejected = kyc_webhook_error(KycError::WebhookRejected {
            provider: provider.clone(),
            message: message.clone(),
        });
        assert_eq!(
            (status(&rejected), rejected.body().message),
            (401, message.clone())
        );
        let down = KycError::ProviderUnavailable {
            provider: provider.clone(),
            message: message.clone(),
        };
        assert_eq!(status(&kyc_webhook_error(down)), 503);
        let refused = KycError::ProviderRejected { provider, message };
        assert_eq!(status(&kyc_webhook_error(refused)), 500);
        let other = KycError::Other(Error::forbidden("no"));
        assert_eq!(status(&kyc_webhook_error(other)), 403);
    }
}
