//! The withdrawal endpoints: a client's requests, and finance's queue and decisions (a client's
//! list and one withdrawal are read like deposits, in `routes.rs`).

use axum::extract::State;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::extract::{ApiResult, Caller, IdempotencyHeader, query};

/// Finance's approval queue (`status`: `awaiting_approval` by default).
#[utoipa::path(get, path = "/finance/withdrawals", params(brokeros_kernel::QueueFilter),
    responses((status = 200, body = brokeros_kernel::Page<brokeros_withdrawals::model::Withdrawal>)))]
async fn withdrawal_queue(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter: brokeros_withdrawals::QueueFilter = query(&uri)?;
    Ok(axum::Json(
        brokeros_withdrawals::queue(&state.services.withdrawals, &p, filter).await?,
    ))
}

id_post!(
    /// A withdrawal request from the client's wallet: the funds are reserved at once, then
    /// checked, approved (automatically or by finance), paid out and settled
    /// (`statemachines/withdrawal.asl.json`).
    #[utoipa::path(post, path = "/clients/{id}/withdrawals", params(IdempotencyHeader),
        request_body = brokeros_withdrawals::NewWithdrawal,
        responses((status = 202, body = brokeros_withdrawals::model::Withdrawal)))]
    create_withdrawal,
    "withdrawal.create",
    brokeros_withdrawals::NewWithdrawal,
    withdrawals,
    brokeros_withdrawals::create
);
id_post!(
    /// Finance approves a withdrawal (never its requester; above the threshold a second,
    /// admin approver).
    #[utoipa::path(post, path = "/withdrawals/{id}/approve", params(IdempotencyHeader),
        request_body = brokeros_withdrawals::Approval,
        responses((status = 200, body = brokeros_withdrawals::model::Withdrawal)))]
    approve_withdrawal,
    "withdrawal.approve",
    brokeros_withdrawals::Approval,
    withdrawals,
    brokeros_withdrawals::approve
);
id_post!(
    /// Finance rejects a withdrawal: the reserved funds are released.
    #[utoipa::path(post, path = "/withdrawals/{id}/reject", params(IdempotencyHeader),
        request_body = brokeros_withdrawals::Rejection,
        responses((status = 200, body = brokeros_withdrawals::model::Withdrawal)))]
    reject_withdrawal,
    "withdrawal.reject",
    brokeros_withdrawals::Rejection,
    withdrawals,
    brokeros_withdrawals::reject
);

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_withdrawal))
        .routes(routes!(approve_withdrawal))
        .routes(routes!(reject_withdrawal))
        .routes(routes!(withdrawal_queue))
}
