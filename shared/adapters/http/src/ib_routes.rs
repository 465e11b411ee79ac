//! The IB endpoints: the partner managers' API (`/partners/…`: applications, IBs, standing,
//! moves, referral codes, client attribution, the tree) and the IB portal (`/ib/…`, role `ib`,
//! the caller's own subtree only).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use brokeros_ib::{accruals, attribution, partners, payout, plans, portal};
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

/// `POST /partners/plans`: a new version of a commission plan (the first creates it).
async fn put_plan(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<Value>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "ib.plan_version", body.raw)?;
    Ok(plans::put_plan_version(
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

context_get!(plan_list, ib, query, plans::plans);
context_get!(plan, ib, id, plans::plan_versions);
context_get!(applications, ib, query, portal::applications);
context_get!(application, ib, id, portal::application);
context_get!(ibs, ib, query, portal::ibs);
context_get!(ib, ib, id, portal::ib);
context_get!(tree, ib, query, portal::tree);
context_get!(client_ib, ib, id, attribution::get);
context_get!(lead_referrals, ib, id, attribution::lead_touches);
context_get!(me, ib, query, portal::me);
context_get!(sub_ibs, ib, caller, portal::sub_ibs);
context_get!(sub_ib, ib, id, portal::sub_ib);
context_get!(clients, ib, query, portal::clients);
context_get!(referral_links, ib, caller, portal::referral_links);
context_get!(invitations, ib, caller, portal::invitations);
context_get!(my_accruals, ib, query, portal::accruals);
context_get!(my_statements, ib, query, payout::my_statements);
context_get!(my_statement, ib, id, payout::my_statement);
context_get!(statement, ib, id, payout::statement);
context_get!(payout_run, ib, id, payout::run);
context_get!(quarantined_deals, ib, query, accruals::quarantined_deals);

/// `GET /partners/ibs/{id}/accruals?period=…`: an IB's legs, for partner managers.
async fn ib_accruals(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        portal::ib_accruals(&state.services.ib, &p, &id, query(&uri)?).await?,
    ))
}

/// `GET /partners/payouts/{id}/statements`.
async fn payout_statements(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter = query(&uri)?;
    Ok(axum::Json(
        payout::run_statements(&state.services.ib, &p, &id, filter).await?,
    ))
}

/// `GET /ib/me/statements/{id}/csv`.
async fn my_statement_csv(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<([(axum::http::header::HeaderName, &'static str); 1], String)> {
    let csv = payout::my_statement_csv(&state.services.ib, &p, &id).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        csv,
    ))
}

/// `POST /partners/payouts`: starts the payout of a schedule's next period due, or resumes a
/// closed one.
async fn start_payout(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: JsonBody<payout::PayoutRequest>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        payout::start_payout(&state.services.ib, &p, body.value).await?,
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StatementDecision {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /partners/statements/{id}/approve` (`APPROVE`) and `…/reject` with a reason: finance's
/// decision (never the run's requester).
async fn decide_statement<const APPROVE: bool>(
    State(state): State<AppState>,
    Caller(p): Caller,
    CorrelationId(correlation): CorrelationId,
    Path(id): Path<String>,
    body: JsonBody<StatementDecision>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        payout::decide_statement(
            &state.services.ib,
            &p,
            &correlation,
            &id,
            APPROVE,
            body.value.reason.as_deref(),
        )
        .await?,
    ))
}

/// `POST /partners/statements/{id}/retry`: finance has a statement whose credit kept failing
/// tried again.
async fn retry_statement(
    State(state): State<AppState>,
    Caller(p): Caller,
    CorrelationId(correlation): CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        payout::retry_statement(&state.services.ib, &p, &correlation, &id).await?,
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
        .route("/partners/ibs/{id}/accruals", get(ib_accruals))
        .route("/partners/ibs/{id}/referral-codes", post(add_code))
        .route(
            "/partners/clients/{id}/ib",
            post(assign_client).get(client_ib),
        )
        .route("/partners/leads/{id}/referrals", get(lead_referrals))
        .route("/partners/tree", get(tree))
        .route("/partners/quarantined-deals", get(quarantined_deals))
        .route("/partners/plans", post(put_plan).get(plan_list))
        .route("/partners/plans/{id}", get(plan))
        .route("/ib/applications", post(apply))
        .route("/ib/applications/{id}", get(application))
        .route("/ib/me", get(me))
        .route("/ib/me/sub-ibs", get(sub_ibs))
        .route("/ib/me/sub-ibs/{id}", get(sub_ib))
        .route("/ib/me/clients", get(clients))
        .route("/ib/me/accruals", get(my_accruals))
        .route("/ib/me/referral-links", get(referral_links))
        .route("/ib/me/invitations", post(invite).get(invitations))
        .route("/ib/me/statements", get(my_statements))
        .route("/ib/me/statements/{id}", get(my_statement))
        .route("/ib/me/statements/{id}/csv", get(my_statement_csv))
        .route("/partners/payouts", post(start_payout))
        .route("/partners/payouts/{id}", get(payout_run))
        .route("/partners/payouts/{id}/statements", get(payout_statements))
        .route("/partners/statements/{id}", get(statement))
        .route(
            "/partners/statements/{id}/approve",
            post(decide_statement::<true>),
        )
        .route(
            "/partners/statements/{id}/reject",
            post(decide_statement::<false>),
        )
        .route("/partners/statements/{id}/retry", post(retry_statement))
}
