//! The withdrawal endpoints: a client's requests and list, one withdrawal, and finance's queue
//! and decisions.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::extract::{Caller, CorrelationId, IdempotencyHeader, JsonBody};
use super::{ApiError, AppState};
use brokeros_kernel::Reply;
use brokeros_withdrawals;

type ApiResult<T> = Result<T, ApiError>;

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(client_id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<withdrawals::NewWithdrawal>,
) -> ApiResult<Reply> {
    let key = idem.scoped(
        &p.sub,
        "withdrawal.create",
        json!({ "id": client_id, "body": body.raw }),
    )?;
    Ok(withdrawals::create(
        &state.services,
        &p,
        &client_id,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?)
}

pub(super) async fn list_for_client(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(client_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        withdrawals::list_for_client(&state.services, &p, &client_id).await?,
    ))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        withdrawals::get(&state.services, &p, &id).await?,
    ))
}

pub(super) async fn queue(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter: withdrawals::QueueFilter = super::routes::query(&uri)?;
    Ok(axum::Json(
        withdrawals::queue(&state.services, &p, filter).await?,
    ))
}

pub(super) async fn approve(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<withdrawals::Approval>,
) -> ApiResult<Reply> {
    let key = idem.scoped(
        &p.sub,
        "withdrawal.approve",
        json!({ "id": id, "body": body.raw }),
    )?;
    Ok(withdrawals::approve(
        &state.services,
        &p,
        &id,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?)
}

pub(super) async fn reject(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<withdrawals::Rejection>,
) -> ApiResult<Reply> {
    let key = idem.scoped(
        &p.sub,
        "withdrawal.reject",
        json!({ "id": id, "body": body.raw }),
    )?;
    Ok(withdrawals::reject(
        &state.services,
        &p,
        &id,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?)
}
