//! The API's contract (`brokeros_http::api_doc`, `GET /openapi.json`) against the complete
//! router `brokeros serve` runs: every documented operation reaches its handler (the route
//! axum matched is the operation's path, not the fallback), every method a documented path does
//! not document answers 405, and each operation asks for the credentials it documents. With
//! the architecture's rule 13 (routes are registered only through `routes!`), a route without
//! an operation or an operation without a route fails a test.

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use brokeros_http::client::{Call, call_with_headers};
use brokeros_http::documented_operations;
use brokeros_http::metrics::MetricsAccess;
use brokeros_kernel::principal::Role;
use serde_json::{Value, json};

use crate::harness::{App, app_state, token};

/// The response header in which [`tell_matched_route`] names the route axum matched.
const MATCHED: &str = "x-test-matched-route";

/// Names the route template axum matched (none for the fallback) on the response.
async fn tell_matched_route(request: Request, next: Next) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut response = next.run(request).await;
    if let Some(route) = matched.and_then(|m| m.parse().ok()) {
        response.headers_mut().insert(MATCHED, route);
    }
    response
}

/// `brokeros serve`'s router (metrics for admins, as on a public address) over a fresh store.
fn serve_router() -> (App, Router) {
    let app = App::new(brokeros_tests::fresh_sqlite_store());
    let router = brokeros_http::router_with_metrics(
        app_state(app.services.clone()),
        MetricsAccess::Admins,
        None,
    )
    .layer(axum::middleware::from_fn(tell_matched_route));
    (app, router)
}

/// `template` with its parameters filled: numbers where the handler reads one, a provider
/// this Broker OS knows for the webhooks, `p-1` elsewhere.
fn filled(app: &App, template: &str) -> String {
    let kyc = app.services.onboarding.kyc.name().to_string();
    template
        .split('/')
        .map(|segment| match segment {
            "{n}" => "1".to_string(),
            "{provider}" if template.starts_with("/webhooks/kyc/") => kyc.clone(),
            "{provider}" if template.starts_with("/webhooks/psp/") => "simcard".to_string(),
            s if s.starts_with('{') => "p-1".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn request<'a>(method: &Method, uri: &'a str) -> Call<'a> {
    match *method {
        Method::GET => Call::get(uri),
        Method::DELETE => Call::delete(uri),
        Method::PUT => Call::put(uri, &json!({})),
        _ => Call {
            method: method.clone(),
            ..Call::post(uri, &json!({}))
        },
    }
}

#[tokio::test]
async fn every_documented_operation_reaches_its_handler() {
    let (app, router) = serve_router();
    let admin = token("admin-1", Role::Admin);
    let operations = documented_operations();
    assert!(operations.len() > 100, "{} operations", operations.len());
    for (method, template) in operations {
        let uri = filled(&app, &template);
        let (status, headers, body) =
            call_with_headers(&router, request(&method, &uri).token(&admin)).await;
        let matched = headers.get(MATCHED).and_then(|v| v.to_str().ok());
        assert_eq!(
            matched,
            Some(template.as_str()),
            "{method} {uri} (documented as {template}) reached no route: {status} {body}"
        );
        assert_ne!(status, 405, "{method} {uri}: {body}");
    }
}

#[tokio::test]
async fn documented_paths_refuse_the_methods_they_do_not_document() {
    let (app, router) = serve_router();
    let admin = token("admin-1", Role::Admin);
    let operations = documented_operations();
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ];
    for (_, template) in &operations {
        let uri = filled(&app, template);
        for method in &methods {
            if operations.contains(&(method.clone(), template.clone())) {
                continue;
            }
            let (status, _, body) =
                call_with_headers(&router, request(method, &uri).token(&admin)).await;
            assert_eq!(
                (status, &body["code"]),
                (405, &Value::from("method_not_allowed")),
                "{method} {uri}: the contract documents no {method} on {template}"
            );
        }
    }
}

#[tokio::test]
async fn operations_ask_for_the_credentials_they_document() {
    let (app, router) = serve_router();
    let doc = serde_json::to_value(brokeros_http::api_doc()).unwrap();
    for (method, template) in documented_operations() {
        let operation = &doc["paths"][&template][method.as_str().to_lowercase()];
        let security = operation["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let optional = security.iter().any(|s| s == &json!({}));
        let uri = filled(&app, &template);
        let (status, _, body) = call_with_headers(&router, request(&method, &uri)).await;
        if security.is_empty() {
            assert!(
                status != 401 && status != 403,
                "{method} {template} is documented public but answered {status} {body}"
            );
        } else if !optional {
            assert_eq!(
                status, 401,
                "{method} {template} documents {security:?} but answered without: {body}"
            );
        }
    }
}

/// The KYC webhook's signature scheme names the header of the KYC provider `serve` runs (the
/// http adapter cannot read the local adapter's constant).
#[test]
fn the_kyc_signature_scheme_is_in_the_simulated_providers_header() {
    let doc = serde_json::to_value(brokeros_http::api_doc()).unwrap();
    let scheme = &doc["components"]["securitySchemes"]["kyc_signature"];
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], brokeros_local::kyc::SIGNATURE_HEADER);
}
