//! Issue 11, item 13: every error is JSON `{code, message, field?}`, including the ones axum and
//! hyper answer before any handler runs, and none of them writes anything.

use std::time::Duration;

use axum::http::Method;
use brokeros_http::client::{Call, call_with_headers};
use brokeros_http::server::{ServeOptions, serve};
use brokeros_kernel::principal::Role;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{App, person, token};

/// An error response: JSON, an object of a non-empty `code` and `message` and maybe a `field`.
fn assert_json_error(content_type: Option<&str>, body: &Value) {
    assert_eq!(content_type, Some("application/json"), "{body}");
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {body}"));
    for key in ["code", "message"] {
        assert!(
            object[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key}: {body}"
        );
    }
    assert!(
        object
            .iter()
            .all(|(k, v)| ["code", "message"].contains(&k.as_str())
                || (k == "field" && v.is_string())),
        "{body}"
    );
}

/// Sends `request` through the router; expects `status` with a JSON error `code`, and nothing
/// written to the main or the audit table.
async fn refused(app: &App, request: Call<'_>, status: u16, code: &str) {
    let what = format!("{} {}", request.method, request.path);
    let before = app.counts().await;
    let (got, headers, body) = call_with_headers(&app.router, request).await;
    assert_eq!(got, status, "{what}: {body}");
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    assert_json_error(content_type, &body);
    assert_eq!(body["code"], code, "{what}: {body}");
    assert_eq!(app.counts().await, before, "{what} wrote something");
}

pub async fn errors_the_router_answers_itself_are_json(app: App) {
    let admin = token("admin-1", Role::Admin);
    let finance = token("finance-1", Role::Finance);
    refused(&app, Call::get("/no/such/route"), 404, "not_found").await;
    let delete = Call {
        method: Method::DELETE,
        ..Call::get("/leads")
    };
    refused(&app, delete, 405, "method_not_allowed").await;
    // Over the 256 KB limit, and over axum's own 2 MB default, on every route reading a body.
    for size in [300 * 1024, 3 * 1024 * 1024] {
        let body = vec![b'a'; size];
        for path in ["/webhooks/psp/simcard", "/webhooks/kyc/simulated"] {
            let call = Call::signed(path, &[], body.clone());
            refused(&app, call, 413, "payload_too_large").await;
        }
        let recon = Call::signed("/recon/simcard", &[], body.clone()).token(&finance);
        refused(&app, recon, 413, "payload_too_large").await;
        let lead = Call::post("/leads", &Value::Null).raw_body(body);
        refused(&app, lead, 413, "payload_too_large").await;
    }
    // Path parameters that do not decode: axum's rejection.
    refused(
        &app,
        Call::get("/leads/%FF").token(&admin),
        400,
        "bad_request",
    )
    .await;
    let complete = Call::post("/leads/%FF/tasks/%FE/complete", &Value::Null).token(&admin);
    refused(&app, complete, 400, "bad_request").await;
    // Query strings that do not decode.
    let query = Call::get("/leads?limit=%FF%FE").token(&admin);
    refused(&app, query, 400, "invalid_query").await;
    // A body that is not JSON: 400, as README says (the route's own rule), in JSON.
    let text = Call {
        headers: vec![("content-type", "text/plain".to_string())],
        ..Call::post("/leads", &person("ann@example.com", "GB"))
    };
    refused(&app, text, 400, "unsupported_media_type").await;
}

/// One request written to `addr` as raw bytes; answers the status, the content type and the
/// body of the response the server sent before it closed the connection.
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it read everything (it refuses early).
    let _ = stream.write_all(request).await;
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut received));
    match read.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(e)) => panic!("reading the response: {e}"),
        Err(_) => panic!("the server neither answered nor closed within 20 s"),
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_string();
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.into()));
    (status, content_type, body)
}

pub async fn errors_hyper_answers_on_the_socket_are_json(app: App) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServeOptions {
        body_read_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    };
    let server = tokio::spawn(serve(
        listener,
        app.router.clone(),
        options,
        std::future::pending(),
    ));
    let long_uri = [
        b"GET /".as_slice(),
        &[b'a'; 70_000],
        b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    .concat();
    let many_headers = [
        b"GET /health HTTP/1.1\r\nHost: x\r\n".as_slice(),
        &b"X-A: b\r\n".repeat(120),
        b"\r\n",
    ]
    .concat();
    let cases: [(&str, &[u8], u16, &str); 7] = [
        ("a URI over 64 KB", &long_uri, 414, "uri_too_long"),
        ("more than 100 headers", &many_headers, 431, "headers_too_large"),
        (
            "a header name with a space",
            b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            400,
            "bad_request",
        ),
        (
            "a control character in a header value",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
            400,
            "bad_request",
        ),
        (
            "a Content-Length that is not a number",
            b"POST /leads HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            400,
            "bad_request",
        ),
        (
            "an Authorization header that is not text",
            b"GET /leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n",
            401,
            "unauthenticated",
        ),
        (
            "a body slower than the body read timeout",
            b"POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            408,
            "request_timeout",
        ),
    ];
    let before = app.counts().await;
    for (what, request, status, code) in cases {
        let (got, content_type, body) = raw_exchange(addr, request).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_json_error(Some(&content_type), &body);
        assert_eq!(body["code"], code, "{what}: {body}");
    }
    assert_eq!(
        app.counts().await,
        before,
        "a refused request wrote something"
    );
    server.abort();
}

/// Issue 11, item 14: `serve` limits the public routes per client address: past the burst it
/// answers 429 `rate_limited` with `Retry-After`, before anything is read or written; the
/// other routes are not counted.
pub async fn public_routes_are_limited_per_source_on_the_socket(app: App) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServeOptions {
        rate_limit: brokeros_http::rate_limit::RateLimitOptions {
            burst: 2,
            per_minute: 1,
            ..Default::default()
        },
        ..ServeOptions::default()
    };
    let server = tokio::spawn(serve(
        listener,
        app.router.clone(),
        options,
        std::future::pending(),
    ));
    let capture = |n: u32| {
        let body = person(&format!("limited-{n}@example.com"), "GB").to_string();
        format!(
            "POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    for n in 0..2 {
        let (status, _, body) = raw_exchange(addr, &capture(n)).await;
        assert_eq!(status, 202, "{body}");
    }
    let before = app.counts().await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(&capture(2)).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut received))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&received).to_lowercase();
    assert!(text.starts_with("http/1.1 429"), "{text}");
    assert!(text.contains("\r\nretry-after: 60\r\n"), "{text}");
    assert!(text.contains("\"code\":\"rate_limited\""), "{text}");
    assert_eq!(app.counts().await, before, "a limited request wrote");
    // Routes that are not public are not counted.
    let (status, _, _) = raw_exchange(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    server.abort();
}
