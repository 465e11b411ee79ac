//! Deposit routing as ops run it: the routing rules (versioned; every change audited) and a
//! payment provider's health. Finance and admins change them; compliance may read the rules.

use axum::extract::{Path, State};
use brokeros_payments::model::RoutingDocument;
use brokeros_payments::model::stats::Health;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::extract::{ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, query};
use super::{ApiReply, AppState};
use brokeros_payments::deposits::per_day;
use brokeros_payments::routing::{self, HealthSetter};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every version of the deposit routing rules, oldest first; the last one is in force.
#[utoipa::path(get, path = "/payments/routing", responses((status = 200, body = crate::answers::RoutingRulesHistory)))]
async fn routing_rules(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<axum::Json<Value>> {
    let versions = routing::routing_rules_history(&state.services.payments, &p).await?;
    let in_force = versions.last().map(|d| d.version);
    Ok(axum::Json(
        json!({ "in_force": in_force, "items": versions }),
    ))
}

/// Puts the next version of the routing rules in force (its `version` is the one in force
/// plus 1).
#[utoipa::path(put, path = "/payments/routing", params(IdempotencyHeader),
    request_body = RoutingDocument,
    responses((status = 200, body = RoutingDocument)))]
async fn update_routing_rules(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<RoutingDocument>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "routing_rules.update", body.raw)?;
    Ok(routing::update_routing_rules(
        &state.services.payments,
        &p,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SetHealth {
    health: Health,
    /// Why (an incident reference), kept in the audit trail.
    note: String,
}

/// The providers of the routing rules in force: each one's health (who set it, when, why) and
/// the statistics routing ranks it by (recent outcomes, today's volume per currency).
#[utoipa::path(get, path = "/payments/providers",
    responses((status = 200, body = routing::ProvidersOverview)))]
async fn providers(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<axum::Json<routing::ProvidersOverview>> {
    Ok(axum::Json(
        routing::providers_overview(&state.services.payments, &p).await?,
    ))
}

/// Deposits per UTC day by provider over a period (at most 93 days): counts and amounts per
/// currency and status, each deposit in the day it was created and the status it has now.
#[utoipa::path(get, path = "/payments/deposits/daily", params(per_day::DepositsPerDayFilter),
    responses((status = 200, body = per_day::DepositsPerDay)))]
async fn deposits_per_day(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<per_day::DepositsPerDay>> {
    let filter = query(&uri)?;
    Ok(axum::Json(
        per_day::deposits_per_day(&state.services.payments, &p, filter).await?,
    ))
}

/// Sets a provider's health by hand (an incident, a maintenance window); routing reads it.
#[utoipa::path(put, path = "/payments/providers/{id}/health", request_body = SetHealth,
    responses((status = 200, body = brokeros_payments::model::stats::ProviderHealthRecord)))]
async fn set_provider_health(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(provider): Path<String>,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<SetHealth>,
) -> ApiResult<axum::Json<Value>> {
    let record = routing::set_provider_health(
        &state.services.payments,
        HealthSetter::Ops(&p),
        &provider,
        body.value.health,
        &body.value.note,
        &correlation,
    )
    .await?;
    Ok(axum::Json(serde_json::to_value(record).map_err(|e| {
        brokeros_kernel::Error::Internal(e.to_string())
    })?))
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routing_rules, update_routing_rules))
        .routes(routes!(providers))
        .routes(routes!(deposits_per_day))
        .routes(routes!(set_provider_health))
}
