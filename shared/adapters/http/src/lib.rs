//! The HTTP API as one axum router. `brokeros serve` runs it on a socket; each Lambda function
//! runs the routes it owns through `lambda_http`. Handlers are thin: they extract the caller,
//! the body and the idempotency key, and call the use case.

/// A handler for `POST …/{id}/…` with a JSON body: the caller, the path's id, the
/// `Idempotency-Key` scoped to the caller and `$operation` (over the id and the body), and the
/// use case `$use_case` on the services of `$context`. Attributes before the name (its
/// `#[utoipa::path]`, its doc) are the handler's.
macro_rules! id_post {
    ($(#[$attr:meta])* $vis:vis $name:ident, $operation:literal, $body:ty, $context:ident, $use_case:path) => {
        $(#[$attr])*
        $vis async fn $name(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            $crate::Caller(p): $crate::Caller,
            ::axum::extract::Path(id): ::axum::extract::Path<String>,
            idem: $crate::IdempotencyHeader,
            $crate::CorrelationId(correlation): $crate::CorrelationId,
            body: $crate::JsonBody<$body>,
        ) -> Result<$crate::ApiReply, $crate::ApiError> {
            let key = idem.scoped(
                &p.sub,
                $operation,
                ::serde_json::json!({ "id": id, "body": body.raw }),
            )?;
            Ok($use_case(
                &state.services.$context,
                &p,
                &id,
                body.value,
                key.as_ref(),
                &correlation,
            )
            .await?
            .into())
        }
    };
}

/// A `GET` handler answering `$read(&services.$context, &caller, …)` as JSON, where `…` is
/// the path's id (`id`), the query string's filter (`query`), or nothing (`caller`).
/// Attributes before the name (its `#[utoipa::path]`, its doc) are the handler's.
macro_rules! context_get {
    ($(#[$attr:meta])* $name:ident, $context:ident, id, $read:path) => {
        $(#[$attr])*
        async fn $name(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            $crate::Caller(p): $crate::Caller,
            ::axum::extract::Path(id): ::axum::extract::Path<String>,
        ) -> Result<::axum::Json<::serde_json::Value>, $crate::ApiError> {
            Ok(::axum::Json(
                $read(&state.services.$context, &p, &id).await?,
            ))
        }
    };
    ($(#[$attr:meta])* $name:ident, $context:ident, query, $read:path) => {
        $(#[$attr])*
        async fn $name(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            $crate::Caller(p): $crate::Caller,
            uri: ::axum::http::Uri,
        ) -> Result<::axum::Json<::serde_json::Value>, $crate::ApiError> {
            Ok(::axum::Json(
                $read(&state.services.$context, &p, $crate::extract::query(&uri)?).await?,
            ))
        }
    };
    ($(#[$attr:meta])* $name:ident, $context:ident, caller, $read:path) => {
        $(#[$attr])*
        async fn $name(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            $crate::Caller(p): $crate::Caller,
        ) -> Result<::axum::Json<::serde_json::Value>, $crate::ApiError> {
            Ok(::axum::Json($read(&state.services.$context, &p).await?))
        }
    };
}

mod answers;
pub mod auth;
mod back_office_routes;
pub mod client;
mod contest_routes;
mod copy_routes;
mod extract;
mod ib_routes;
pub mod json;
mod limits;
pub mod logging;
pub mod metrics;
pub mod openapi;
mod pamm_routes;
mod payment_routes;
pub mod rate_limit;
mod routes;
pub mod server;
mod status;
mod transfer_routes;
mod withdrawal_routes;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use brokeros_kernel::Error;

use crate::auth::AuthMode;
use brokeros_app::Services;
use brokeros_kernel::{Answer, AnswerKind};

pub use extract::{
    Caller, CorrelationId, IdempotencyHeader, JsonBody, RawBody, WebhookBody, xray_trace_root,
};
pub use limits::MAX_BODY_BYTES;
pub use rate_limit::is_public_route;
pub use routes::{
    api_doc, crm_routes, documented_operations, lead_capture_routes, router, router_with_metrics,
    webhook_routes,
};
pub use status::{error_status, ingest_error, kyc_webhook_error, status_error};

#[derive(Clone)]
pub struct AppState {
    /// Shared, not cloned: axum clones the state for every request, and the services hold
    /// every context's ports.
    pub services: Arc<Services>,
    pub auth: Arc<AuthMode>,
    /// Signs the audit trail's downloads (`GET /audit/export`): the data directory's key on
    /// `serve`, KMS in the CRM API function; absent where no route needs it (the download
    /// answers 503 there).
    pub audit_signer: Option<Arc<dyn brokeros_kernel::signing::Signer>>,
}

/// An error as the API answers it: its status and `{code, message, field?}`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// How long a caller told 503 (something is unavailable for a moment: storage, a provider, a
/// record not stored yet) waits before retrying, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 1;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = error_status(&self.0);
        if status.is_server_error() {
            tracing::error!(error = %self.0, code = self.0.code(), "request failed");
        }
        let mut response = (status, axum::Json(self.0.body())).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// A use case's answer as the API sends it: the status of its kind and its JSON body.
#[derive(Debug)]
pub struct ApiReply(pub Answer);

impl From<Answer> for ApiReply {
    fn from(answer: Answer) -> Self {
        ApiReply(answer)
    }
}

impl IntoResponse for ApiReply {
    /// The one place an answer's kind becomes an HTTP status.
    fn into_response(self) -> Response {
        let status = match self.0.kind {
            AnswerKind::Done => StatusCode::OK,
            AnswerKind::Created => StatusCode::CREATED,
            AnswerKind::Accepted => StatusCode::ACCEPTED,
        };
        (status, axum::Json(self.0.body)).into_response()
    }
}

/// Every error response is JSON `{code, message, field?}`: the handlers' errors are
/// ([`ApiError`]); this makes the rest so, whoever answered — axum's rejections (a path
/// parameter that does not decode, a body its own extractors refused), a method the route
/// lacks, the body limit. Applied to the whole router, so a route added later cannot forget.
pub async fn errors_as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The framework's text (at most a short line) says what was wrong with the request.
    let detail = axum::body::to_bytes(body, 4096).await.ok();
    let detail = detail.as_deref().and_then(|b| std::str::from_utf8(b).ok());
    let error = status_error(status, detail);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let json = serde_json::to_vec(&error).expect("an error body serializes");
    Response::from_parts(parts, axum::body::Body::from(json))
}

/// Logs one line per request (method, route template, status, latency; never bodies or query
/// strings) and echoes the correlation id.
pub async fn access_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let correlation = extract::correlation_id_of(request.headers());
    request
        .extensions_mut()
        .insert(CorrelationId(correlation.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&correlation) {
        response.headers_mut().insert("x-correlation-id", value);
    }
    count_request(&method, &route, response.status());
    tracing::info!(
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        correlation_id = %correlation,
        "request"
    );
    response
}

/// Counts an answered request by its route template (never the raw path: `/leads/{id}`, or
/// `unmatched`) and status class, and a 5xx among the server errors.
fn count_request(method: &axum::http::Method, route: &str, status: StatusCode) {
    use brokeros_kernel::metrics;
    // Methods a client invents would each be a label value.
    let method = match *method {
        axum::http::Method::GET
        | axum::http::Method::POST
        | axum::http::Method::PUT
        | axum::http::Method::PATCH
        | axum::http::Method::DELETE
        | axum::http::Method::HEAD
        | axum::http::Method::OPTIONS => method.as_str(),
        _ => "other",
    };
    metrics::HTTP_REQUESTS.inc(&[method, route, metrics::status_class(status.as_u16())]);
    if status.is_server_error() {
        metrics::HTTP_SERVER_ERRORS.inc(&[method, route]);
    }
}

/// Counts a refused provider webhook that did not authenticate (answered 401: signature,
/// signature header, timestamp), for a provider we know; `webhook` is `kyc` or `psp`.
pub(crate) fn count_webhook_refusal(webhook: &str, provider: &str, answered: &Error) {
    if error_status(answered) == StatusCode::UNAUTHORIZED {
        brokeros_kernel::metrics::WEBHOOK_SIGNATURE_FAILURES.inc(&[webhook, provider]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_answer_says_when_to_retry_and_others_do_not() {
        let unavailable = ApiError(Error::Unavailable("not stored yet".into())).into_response();
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.headers()["retry-after"], "1");
        let conflict = ApiError(Error::conflict("already_registered", "taken")).into_response();
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert!(conflict.headers().get("retry-after").is_none());
    }
}
