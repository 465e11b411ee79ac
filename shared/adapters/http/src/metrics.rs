//! `GET /metrics`: the process's counters and gauges (`brokeros_kernel::metrics`) in the
//! Prometheus text format, for `brokeros serve` only (the Lambdas publish the same metrics to
//! CloudWatch in the embedded metric format and have no such route).
//!
//! Access policy: the metrics name routes, providers and error rates, not clients — still
//! nothing to hand to anyone who can reach the port. A listener on a loopback address (what
//! `serve` binds) serves them to whoever is on this machine, as every scraper expects; on any
//! other address they need an admin's token ([`MetricsAccess::for_listener`]).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use brokeros_kernel::principal::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, AppState};

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Anyone who reaches the socket (a loopback listener: this machine only).
    Open,
    /// Callers authenticated as admins.
    Admins,
}

impl MetricsAccess {
    /// Open on a loopback listener, admins only on any other.
    pub fn for_listener(address: SocketAddr) -> MetricsAccess {
        if address.ip().is_loopback() {
            MetricsAccess::Open
        } else {
            MetricsAccess::Admins
        }
    }
}

/// Reads the gauges that are measured when scraped (running workflow executions, dead
/// letters) before `/metrics` answers.
pub type Refresh = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The Prometheus text format's content type (exposition format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How `serve` answers `/metrics`: who may read them, and what to read first.
#[derive(Clone)]
pub(crate) struct Scrape {
    pub access: MetricsAccess,
    pub refresh: Option<Refresh>,
}

/// The process's counters and gauges in the Prometheus text format (`brokeros serve` only):
/// open on a loopback listener, for admins on any other.
#[utoipa::path(get, path = "/metrics",
    security((), ("bearer" = [])),
    responses((status = 200, content_type = CONTENT_TYPE, body = String)))]
async fn metrics(
    State(state): State<AppState>,
    Extension(scrape): Extension<Scrape>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if scrape.access == MetricsAccess::Admins {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let caller = state
            .auth
            .principal(authorization, None)
            .map_err(ApiError)?;
        caller
            .require_any(&[Role::Admin], "read the metrics")
            .map_err(ApiError)?;
    }
    if let Some(refresh) = scrape.refresh {
        refresh().await;
    }
    let text = brokeros_kernel::metrics::global().prometheus();
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

/// `GET /metrics`; its handler needs a [`Scrape`] extension (see
/// [`crate::router_with_metrics`]).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_open_on_loopback_only() {
        let at = |s: &str| MetricsAccess::for_listener(s.parse().unwrap());
        assert_eq!(at("127.0.0.1:8080"), MetricsAccess::Open);
        assert_eq!(at("[::1]:8080"), MetricsAccess::Open);
        assert_eq!(at("0.0.0.0:8080"), MetricsAccess::Admins);
        assert_eq!(at("192.0.2.7:8080"), MetricsAccess::Admins);
    }
}
