//! Internal transfers between a client's wallet and trading accounts: the request, the
//! client's list (paged, newest first) and one transfer.

use axum::extract::{Path, State};
use brokeros_kernel::paging::PageParams;
use brokeros_payments::transfers;
use serde_json::Value;

use super::AppState;
use super::extract::{ApiResult, Caller, query};

id_post!(
    pub(super) create,
    "transfer.create",
    transfers::NewTransfer,
    payments,
    transfers::create
);

pub(super) async fn list(
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

pub(super) async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, transfer_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        transfers::get(&state.services.payments, &p, &id, &transfer_id).await?,
    ))
}
