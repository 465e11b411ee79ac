//! The back office's reads that summarize rather than list: the lead funnel, audit search and
//! download, and the principals that acted in the audit trail.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::extract::{ApiResult, Caller, query};

/// How many leads of a brand are in each status (sales: their own leads; admins: all), created
/// in the period if given. `counted_by` says how: counts on the status index (no lead read),
/// or every lead of the agent or country read (see `brokeros_crm::lead_funnel`).
#[utoipa::path(get, path = "/leads/funnel", params(brokeros_crm::FunnelFilter),
    responses((status = 200, body = brokeros_crm::LeadFunnel)))]
async fn lead_funnel(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<brokeros_crm::LeadFunnel>> {
    let filter: brokeros_crm::FunnelFilter = query(&uri)?;
    Ok(axum::Json(
        brokeros_crm::lead_funnel(&state.services.crm, &p, filter).await?,
    ))
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(lead_funnel))
}
