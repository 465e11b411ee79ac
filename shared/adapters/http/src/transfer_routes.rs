//! Internal transfers between a client's wallet and trading accounts: the request, the
//! client's list (paged, newest first) and one transfer.

use axum::extract::{Path, State};
use brokeros_kernel::paging::PageParams;
use brokeros_payments::transfers;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::extract::{ApiResult, Caller, IdempotencyHeader, query};

id_post!(
    /// An internal transfer between the client's wallet and a trading account, or two
    /// accounts, in one currency; the id is `transfer_id` or else the `Idempotency-Key`.
    #[utoipa::path(post, path = "/clients/{id}/transfers", params(IdempotencyHeader),
        request_body = transfers::NewTransfer,
        responses(
            (status = 201, description = "completed, or failed with the platform's reason", body = transfers::model::Transfer),
            (status = 202, description = "pending: the platform did not answer; the same request resumes it", body = transfers::model::Transfer),
        ))]
    create_transfer,
    "transfer.create",
    transfers::NewTransfer,
    payments,
    transfers::create
);

/// A client's transfers, newest first.
#[utoipa::path(get, path = "/clients/{id}/transfers", params(PageParams),
    responses((status = 200, body = brokeros_kernel::Page<transfers::model::Transfer>)))]
async fn list_transfers(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let page: PageParams = query(&uri)?;
    Ok(axum::Json(
        transfers::list(&state.services.payments, &p, &id, page).await?,
    ))
}

/// One transfer of a client.
#[utoipa::path(get, path = "/clients/{id}/transfers/{transfer_id}",
    responses((status = 200, body = transfers::model::Transfer)))]
async fn get_transfer(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, transfer_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        transfers::get(&state.services.payments, &p, &id, &transfer_id).await?,
    ))
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_transfer, list_transfers))
        .routes(routes!(get_transfer))
}
