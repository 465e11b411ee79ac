//! Calls the router in-process, without a socket: how the demo and the API tests talk to it.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request};
use serde_json::Value;
use tower::ServiceExt;

/// A request to send through [`call`].
pub struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<Vec<u8>>,
    pub headers: Vec<(&'a str, String)>,
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str) -> Call<'a> {
        Call {
            method: Method::GET,
            path,
            token: None,
            body: None,
            headers: Vec::new(),
        }
    }

    pub fn delete(path: &'a str) -> Call<'a> {
        Call {
            method: Method::DELETE,
            ..Call::get(path)
        }
    }

    pub fn post(path: &'a str, body: &Value) -> Call<'a> {
        Call::with_body(Method::POST, path, body)
    }

    /// A `POST` without a body or a Content-Type, as `curl -X POST` sends it.
    pub fn post_empty(path: &'a str) -> Call<'a> {
        Call {
            method: Method::POST,
            ..Call::get(path)
        }
    }

    pub fn put(path: &'a str, body: &Value) -> Call<'a> {
        Call::with_body(Method::PUT, path, body)
    }

    fn with_body(method: Method, path: &'a str, body: &Value) -> Call<'a> {
        Call {
            method,
            path,
            token: None,
            body: Some(serde_json::to_vec(body).expect("JSON serializes")),
            headers: vec![("content-type", "application/json".to_string())],
        }
    }

    pub fn token(mut self, token: &'a str) -> Call<'a> {
        self.token = Some(token);
        self
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Call<'a> {
        self.headers.push((name, value.into()));
        self
    }

    /// A provider's signed webhook as the provider posts it: the raw body with the headers
    /// that sign it.
    pub fn signed(path: &'a str, headers: &'a [(String, String)], body: Vec<u8>) -> Call<'a> {
        Call {
            method: Method::POST,
            path,
            token: None,
            body: Some(body),
            headers: headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.clone()))
                .collect(),
        }
    }

    pub fn raw_body(mut self, body: Vec<u8>) -> Call<'a> {
        self.body = Some(body);
        self
    }
}

/// Sends `call` to `router` and returns the status and the JSON body (`Null` when empty).
pub async fn call(router: &Router, call: Call<'_>) -> (u16, Value) {
    let (status, _, body) = call_with_headers(router, call).await;
    (status, body)
}

/// Sends `call` to `router` and returns the status, the response's headers and the JSON body
/// (`Null` when empty or not JSON).
pub async fn call_with_headers(router: &Router, call: Call<'_>) -> (u16, HeaderMap, Value) {
    let (status, headers, bytes) = call_raw(router, call).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    (status, headers, body)
}

/// Sends `call` to `router` and returns the status, the response's headers and the body as
/// it came (a CSV export, say).
pub async fn call_raw(router: &Router, call: Call<'_>) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(call.method).uri(call.path);
    if let Some(token) = call.token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in call.headers {
        request = request.header(name, value);
    }
    let request = request
        .body(call.body.map(Body::from).unwrap_or_else(Body::empty))
        .expect("a valid request");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a readable body");
    (status, headers, bytes.to_vec())
}
