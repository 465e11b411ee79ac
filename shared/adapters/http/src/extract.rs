use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Error, Result};
use http_body_util::LengthLimitError;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ApiError, AppState};
use crate::auth::GatewayClaims;
use crate::json::duplicate_key;
use crate::limits::MAX_BODY_BYTES;
use crate::server::BodyReadTimeout;
use brokeros_kernel::idempotency::IdempotencyKey;

/// The authenticated caller.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let authorization = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let gateway = parts.extensions.get::<GatewayClaims>();
        Ok(Caller(state.auth.principal(authorization, gateway)?))
    }
}

/// A JSON body: at most [`MAX_BODY_BYTES`], `Content-Type: application/json`, a key repeated in
/// one object, unknown fields, wrong types and missing fields refused naming the field's path.
/// No body at all (what `curl -X POST` sends, without a Content-Type) is the empty object `{}`:
/// accepted where every field of `T` is optional (an approval, a publication), refused naming
/// the first missing field otherwise. Keeps the parsed value for idempotency digests, so
/// asking without a body and with `{}` is the same request.
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Value,
}

fn body_error(message: String) -> Error {
    Error::Validation {
        code: "invalid_body",
        message,
        field: None,
    }
}

/// Reads a request's body: at most [`MAX_BODY_BYTES`] (413), arrived within `serve`'s body
/// read timeout (408, see [`crate::server`]).
pub(crate) async fn read_body(request: Request) -> Result<Bytes, Response> {
    let declared = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            if caused_by::<LengthLimitError>(&e) {
                too_large()
            } else if caused_by::<BodyReadTimeout>(&e) {
                let body = crate::status_error(StatusCode::REQUEST_TIMEOUT, None);
                (StatusCode::REQUEST_TIMEOUT, axum::Json(body)).into_response()
            } else {
                // The client went away or broke the framing mid-body.
                ApiError(body_error("the request body could not be read".into())).into_response()
            }
        })
}

fn too_large() -> Response {
    ApiError(Error::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    })
    .into_response()
}

/// Whether `error` or one of its sources is an `E`.
fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<E>() {
            return true;
        }
        next = e.source();
    }
    false
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Response> {
        let is_json = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        let bytes = read_body(request).await?;
        let raw = if bytes.is_empty() {
            // Nothing to type: whatever Content-Type says, there is no body for it to describe.
            Value::Object(Default::default())
        } else if !is_json {
            return Err(ApiError(Error::invalid(
                "unsupported_media_type",
                "Content-Type",
                "the body must be JSON with Content-Type: application/json",
            ))
            .into_response());
        } else {
            if let Some(duplicate) = duplicate_key(&bytes) {
                return Err(ApiError(duplicate.error()).into_response());
            }
            serde_json::from_slice(&bytes).map_err(|e| {
                ApiError(body_error(format!("the body is not valid JSON: {e}"))).into_response()
            })?
        };
        if !raw.is_object() {
            return Err(
                ApiError(body_error("the body must be a JSON object".into())).into_response(),
            );
        }
        let value = serde_path_to_error::deserialize(&raw)
            .map_err(|e| ApiError(Error::from_serde("invalid_body", e)).into_response())?;
        Ok(JsonBody { value, raw })
    }
}

/// A body as it came, for the handlers that read it themselves (a provider's signed webhook, a
/// CSV report): read like [`JsonBody`]'s, at most [`MAX_BODY_BYTES`] (413 otherwise) within the
/// body read timeout (408).
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Response> {
        read_body(request).await.map(RawBody)
    }
}

/// A provider's webhook body, kept as it came for its signature: read like [`RawBody`], and
/// refused with 400 `duplicate_key` when it is JSON with a key repeated in one object (the
/// provider's parser and ours could read different values), before the provider's adapter
/// checks the signature and parses it.
pub struct WebhookBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for WebhookBody {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Response> {
        let bytes = read_body(request).await?;
        if let Some(duplicate) = duplicate_key(&bytes) {
            return Err(ApiError(duplicate.error()).into_response());
        }
        Ok(WebhookBody(bytes))
    }
}

/// The optional `Idempotency-Key` header.
pub struct IdempotencyHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyHeader(None)),
            Some(v) => v
                .to_str()
                .map(|s| IdempotencyHeader(Some(s.to_string())))
                .map_err(|_| {
                    ApiError(Error::invalid(
                        "invalid_idempotency_key",
                        "Idempotency-Key",
                        "Idempotency-Key must be ASCII",
                    ))
                }),
        }
    }
}

impl IdempotencyHeader {
    /// The key scoped to the caller and the operation, with the digest of what was asked.
    pub fn scoped(
        &self,
        caller: &str,
        operation: &str,
        request: Value,
    ) -> Result<Option<IdempotencyKey>> {
        self.0
            .as_deref()
            .map(|k| IdempotencyKey::new(format!("{caller}#{operation}"), k, &request))
            .transpose()
    }

    /// The key of a public (anonymous) caller: refused unless long and random-looking, and
    /// scoped by `identity`, a digest of what the request is about (see
    /// [`IdempotencyKey::public`]).
    pub fn public(
        &self,
        operation: &str,
        identity: &str,
        request: Value,
    ) -> Result<Option<IdempotencyKey>> {
        self.0
            .as_deref()
            .map(|k| IdempotencyKey::public(operation, identity, k, &request))
            .transpose()
    }
}

/// The request's correlation id: the caller's `X-Correlation-Id`; without one, the X-Ray trace
/// id of `X-Amzn-Trace-Id` (in a Lambda, `lambda_http` sets it from the invocation's trace), so
/// an audit event leads to its trace; otherwise a new one.
#[derive(Clone)]
pub struct CorrelationId(pub String);

/// What a correlation id may be, whoever chose it: 1 to 128 letters, digits, `-` and `_`.
fn is_valid_correlation_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(super) fn correlation_id_of(headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("x-correlation-id")
        .filter(|v| is_valid_correlation_id(v))
        .or_else(|| header("x-amzn-trace-id").and_then(xray_trace_root))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// The trace id of an X-Ray trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;
/// Parent=53995c3f42cd8ad8;Sampled=1`): `1-5759e988-bd862e3fe1be46a994272793`, the form the
/// X-Ray console searches by; `None` unless the root has exactly that shape (version 1, 8 hex
/// digits of time, 24 of randomness), which is also a valid correlation id.
pub fn xray_trace_root(header: &str) -> Option<&str> {
    let root = header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))?;
    let mut parts = root.split('-');
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let well_formed = parts.next() == Some("1")
        && parts.next().is_some_and(|t| hex(t, 8))
        && parts.next().is_some_and(|r| hex(r, 24))
        && parts.next().is_none();
    well_formed.then_some(root)
}

impl<S: Send + Sync> FromRequestParts<S> for CorrelationId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Generated once per request, so the handler and the access log agree.
        if let Some(CorrelationId(id)) = parts.extensions.get::<CorrelationId>() {
            return Ok(CorrelationId(id.clone()));
        }
        let id = correlation_id_of(&parts.headers);
        parts.extensions.insert(CorrelationId(id.clone()));
        Ok(CorrelationId(id))
    }
}

/// What a handler answers: its response, or an error as the API answers it.
pub(super) type ApiResult<T> = Result<T, ApiError>;

/// Query strings are parsed with the same strictness as bodies (unknown parameters refused).
pub(super) fn query<T: serde::de::DeserializeOwned>(uri: &axum::http::Uri) -> ApiResult<T> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| {
            ApiError(Error::Validation {
                code: "invalid_query",
                message: e.body_text(),
                field: None,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Optional {
        reason: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Required {
        name: String,
        address: Option<Address>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Address {
        country: String,
    }

    /// `body` read as a `T`, sent with `content_type` if any: the value and its raw form, or
    /// the refusal's status and JSON body.
    async fn json_body<T: DeserializeOwned>(
        content_type: Option<&str>,
        body: &str,
    ) -> Result<JsonBody<T>, (u16, Value)> {
        let mut request = Request::builder().method("POST").uri("/x");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        match JsonBody::<T>::from_request(request, &()).await {
            Ok(body) => Ok(body),
            Err(response) => {
                let status = response.status().as_u16();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
                Err((status, serde_json::from_slice(&bytes).unwrap()))
            }
        }
    }

    fn refusal<T>(read: Result<JsonBody<T>, (u16, Value)>) -> (u16, Value, Value) {
        let (status, body) = read.err().expect("refused");
        (status, body["code"].clone(), body["field"].clone())
    }

    #[tokio::test]
    async fn no_body_is_the_empty_object_whatever_the_content_type() {
        for content_type in [None, Some("application/json"), Some("text/plain")] {
            let read = json_body::<Optional>(content_type, "").await.unwrap();
            assert!(read.value.reason.is_none(), "{content_type:?}");
            assert_eq!(read.raw, serde_json::json!({}), "{content_type:?}");
        }
        let given = json_body::<Optional>(Some("application/json"), r#"{"reason":"late"}"#)
            .await
            .unwrap();
        assert_eq!(given.value.reason.as_deref(), Some("late"));
    }

    #[tokio::test]
    async fn a_body_still_needs_the_json_content_type() {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let read = json_body::<Optional>(content_type, "{}").await;
            assert_eq!(
                refusal(read),
                (400, "unsupported_media_type".into(), "Content-Type".into()),
                "{content_type:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_missing_required_field_is_named_by_its_path() {
        let json = Some("application/json");
        let cases = [
            (None, ""),
            (json, ""),
            (json, "{}"),
            (json, r#"{"address":{"country":"GB"}}"#),
        ];
        for (content_type, body) in cases {
            let read = json_body::<Required>(content_type, body).await;
            assert_eq!(
                refusal(read),
                (400, "invalid_body".into(), "name".into()),
                "{body}"
            );
        }
        let nested = json_body::<Required>(json, r#"{"name":"A","address":{}}"#).await;
        assert_eq!(
            refusal(nested),
            (400, "invalid_body".into(), "address.country".into())
        );
        let wrong_type = json_body::<Required>(json, r#"{"name":"A","address":{"country":1}}"#);
        assert_eq!(
            refusal(wrong_type.await),
            (400, "invalid_body".into(), "address.country".into())
        );
        // Not an object, not JSON: about the whole body, no field.
        for body in ["[]", "null", "{", " "] {
            let read = json_body::<Optional>(json, body).await;
            assert_eq!(
                refusal(read),
                (400, "invalid_body".into(), Value::Null),
                "{body}"
            );
        }
    }

    #[test]
    fn the_trace_root_is_read_only_in_its_exact_shape() {
        assert_eq!(
            xray_trace_root(TRACE),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(
            xray_trace_root("Parent=1;Root=1-5759e988-bd862e3fe1be46a994272793"),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        for bad in [
            "",
            "Root=",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e98-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279z",
            "Root=1-5759e988-bd862e3fe1be46a994272793-x",
            "Root=1-5759e988-bd862e3fe1be46a994272793\"x",
        ] {
            assert_eq!(xray_trace_root(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_callers_correlation_id_wins_then_the_trace_then_a_new_one() {
        let both = headers(&[("x-correlation-id", "caller-1"), ("x-amzn-trace-id", TRACE)]);
        assert_eq!(correlation_id_of(&both), "caller-1");
        // An invalid caller id is ignored, not an error: the trace stands in.
        let invalid = headers(&[
            ("x-correlation-id", "no spaces"),
            ("x-amzn-trace-id", TRACE),
        ]);
        assert_eq!(
            correlation_id_of(&invalid),
            "1-5759e988-bd862e3fe1be46a994272793"
        );
        let malformed = headers(&[("x-amzn-trace-id", "Root=evil;x")]);
        let generated = correlation_id_of(&malformed);
        assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    }
}
