//! The IB endpoints: the partner managers' API (`/partners/…`: applications, IBs, standing,
//! moves, referral codes, client attribution, the tree) and the IB portal (`/ib/…`, role `ib`,
//! the caller's own subtree only).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use brokeros_ib::{attribution, partners, portal};
use serde_json::Value;

use super::ApiReply;
use super::AppState;
use super::extract::{ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, query};

/// `POST /partners/applications` and `POST /ib/applications`: staff create, a client applies
/// for themself.
async fn apply(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<partners::NewApplication>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "ib.apply", body.raw)?;
    Ok(partners::apply(
        &state.services.ib,
        &p,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

async fn invite(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<partners::NewInvitation>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "ib.invite", body.raw)?;
    Ok(partners::invite(
        &state.services.ib,
        &p,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

id_post!(
    approve,
    "ib.application_approve",
    partners::ApplicationApproval,
    ib,
    partners::approve
);
id_post!(
    reject,
    "ib.application_reject",
    partners::Reason,
    ib,
    partners::reject
);
id_post!(
    suspend,
    "ib.suspend",
    partners::Reason,
    ib,
    partners::suspend
);
id_post!(
    reinstate,
    "ib.reinstate",
    partners::Reason,
    ib,
    partners::reinstate
);
id_post!(
    terminate,
    "ib.terminate",
    partners::Reason,
    ib,
    partners::terminate
);
id_post!(move_ib, "ib.move", partners::Move, ib, partners::move_ib);
id_post!(
    change_plans,
    "ib.plans",
    partners::PlansChange,
    ib,
    partners::change_plans
);
id_post!(
    add_code,
    "ib.referral_code",
    partners::NewReferralCode,
    ib,
    partners::add_referral_code
);
id_post!(
    assign_client,
    "ib.client_assign",
    attribution::Assignment,
    ib,
    attribution::assign
);

async fn applications(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter = query(&uri)?;
    Ok(axum::Json(
        portal::applications(&state.services.ib, &p, filter).await?,
    ))
}

async fn application(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        portal::application(&state.services.ib, &p, &id).await?,
    ))
}

async fn ibs(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter = query(&uri)?;
    Ok(axum::Json(
        portal::ibs(&state.services.ib, &p, filter).await?,
    ))
}

async fn ib(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(portal::ib(&state.services.ib, &p, &id).await?))
}

async fn tree(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter = query(&uri)?;
    Ok(axum::Json(
        portal::tree(&state.services.ib, &p, filter).await?,
    ))
}

async fn client_ib(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        attribution::get(&state.services.ib, &p, &id).await?,
    ))
}

async fn lead_referrals(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        attribution::lead_touches(&state.services.ib, &p, &id).await?,
    ))
}

async fn me(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(portal::me(&state.services.ib, &p).await?))
}

async fn sub_ibs(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(portal::sub_ibs(&state.services.ib, &p).await?))
}

async fn sub_ib(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        portal::sub_ib(&state.services.ib, &p, &id).await?,
    ))
}

async fn clients(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter = query(&uri)?;
    Ok(axum::Json(
        portal::clients(&state.services.ib, &p, filter).await?,
    ))
}

async fn referral_links(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        portal::referral_links(&state.services.ib, &p).await?,
    ))
}

async fn invitations(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        portal::invitations(&state.services.ib, &p).await?,
    ))
}

/// The partner managers' and the IB portal's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/partners/applications", post(apply).get(applications))
        .route("/partners/applications/{id}", get(application))
        .route("/partners/applications/{id}/approve", post(approve))
        .route("/partners/applications/{id}/reject", post(reject))
        .route("/partners/ibs", get(ibs))
        .route("/partners/ibs/{id}", get(ib))
        .route("/partners/ibs/{id}/suspend", post(suspend))
        .route("/partners/ibs/{id}/reinstate", post(reinstate))
        .route("/partners/ibs/{id}/terminate", post(terminate))
        .route("/partners/ibs/{id}/move", post(move_ib))
        .route("/partners/ibs/{id}/plans", post(change_plans))
        .route("/partners/ibs/{id}/referral-codes", post(add_code))
        .route(
            "/partners/clients/{id}/ib",
            post(assign_client).get(client_ib),
        )
        .route("/partners/leads/{id}/referrals", get(lead_referrals))
        .route("/partners/tree", get(tree))
        .route("/ib/applications", post(apply))
        .route("/ib/applications/{id}", get(application))
        .route("/ib/me", get(me))
        .route("/ib/me/sub-ibs", get(sub_ibs))
        .route("/ib/me/sub-ibs/{id}", get(sub_ib))
        .route("/ib/me/clients", get(clients))
        .route("/ib/me/referral-links", get(referral_links))
        .route("/ib/me/invitations", post(invite).get(invitations))
}
