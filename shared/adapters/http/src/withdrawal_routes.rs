//! The withdrawal endpoints: a client's requests and list, one withdrawal, and finance's queue
//! and decisions.

use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::extract::{ApiResult, Caller, query};

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

id_post!(
    pub(super) create,
    "withdrawal.create",
    brokeros_withdrawals::NewWithdrawal,
    withdrawals,
    brokeros_withdrawals::create
);
id_post!(
    pub(super) approve,
    "withdrawal.approve",
    brokeros_withdrawals::Approval,
    withdrawals,
    brokeros_withdrawals::approve
);
id_post!(
    pub(super) reject,
    "withdrawal.reject",
    brokeros_withdrawals::Rejection,
    withdrawals,
    brokeros_withdrawals::reject
);
