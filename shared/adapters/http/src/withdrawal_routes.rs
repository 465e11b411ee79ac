//! The withdrawal endpoints: a client's requests and list, one withdrawal, and finance's queue
//! and decisions.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::extract::{ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, query};
use super::{ApiReply, AppState};

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(client_id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<brokeros_withdrawals::NewWithdrawal>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(
        &p.sub,
        "withdrawal.create",
        json!({ "id": client_id, "body": body.raw }),
    )?;
    Ok(brokeros_withdrawals::create(
        &state.services.withdrawals,
        &p,
        &client_id,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

pub(super) async fn list_for_client(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(client_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        brokeros_withdrawals::list_for_client(&state.services.withdrawals, &p, &client_id).await?,
    ))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        brokeros_withdrawals::get(&state.services.withdrawals, &p, &id).await?,
    ))
}

pub(super) async fn queue(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter: brokeros_withdrawals::QueueFilter = query(&uri)?;
    Ok(axum::Json(
        brokeros_withdrawals::queue(&state.services.withdrawals, &p, filter).await?,
    ))
}

pub(super) async fn approve(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<brokeros_withdrawals::Approval>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(
        &p.sub,
        "withdrawal.approve",
        json!({ "id": id, "body": body.raw }),
    )?;
    Ok(brokeros_withdrawals::approve(
        &state.services.withdrawals,
        &p,
        &id,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

pub(super) async fn reject(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<brokeros_withdrawals::Rejection>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(
        &p.sub,
        "withdrawal.reject",
        json!({ "id": id, "body": body.raw }),
    )?;
    Ok(brokeros_withdrawals::reject(
        &state.services.withdrawals,
        &p,
        &id,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}
