//! The IB endpoints: the partner managers' API (`/partners/…`: applications, IBs, standing,
//! moves, referral codes, client attribution, the tree) and the IB portal (`/ib/…`, role `ib`,
//! the caller's own subtree only).

use axum::extract::{Path, State};
use brokeros_ib::{accruals, attribution, partners, payout, plans, portal};
use brokeros_kernel::{PageParams, QueueFilter};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiReply;
use super::AppState;
use super::extract::{ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, query};

/// An IB application, by staff (`POST /partners/applications`) or by a client for themself
/// (`POST /ib/applications`).
async fn apply(
    state: &AppState,
    p: &brokeros_kernel::principal::Principal,
    idem: IdempotencyHeader,
    correlation: &str,
    body: JsonBody<partners::NewApplication>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "ib.apply", body.raw)?;
    Ok(
        partners::apply(&state.services.ib, p, body.value, key.as_ref(), correlation)
            .await?
            .into(),
    )
}

/// Partner managers create an IB application for a partner.
#[utoipa::path(post, path = "/partners/applications", params(IdempotencyHeader),
    request_body = partners::NewApplication,
    responses((status = 201, body = brokeros_ib::model::Application)))]
async fn create_application(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<partners::NewApplication>,
) -> ApiResult<ApiReply> {
    apply(&state, &p, idem, &correlation, body).await
}

/// A client applies to become an IB.
#[utoipa::path(post, path = "/ib/applications", params(IdempotencyHeader),
    request_body = partners::NewApplication,
    responses((status = 201, body = brokeros_ib::model::Application)))]
async fn apply_as_ib(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<partners::NewApplication>,
) -> ApiResult<ApiReply> {
    apply(&state, &p, idem, &correlation, body).await
}

/// An IB invites a sub-IB: the invitation's code.
#[utoipa::path(post, path = "/ib/me/invitations", params(IdempotencyHeader),
    request_body = partners::NewInvitation,
    responses((status = 201, body = crate::answers::InvitationView)))]
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

/// A new version of a commission plan (the first creates it).
#[utoipa::path(post, path = "/partners/plans", params(IdempotencyHeader),
    request_body = brokeros_ib::model::plan::PlanDocument,
    responses((status = 201, body = brokeros_ib::plans::CommissionPlanRecord)))]
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
    /// Approves an application into an IB with a wallet, plans and referral codes.
    #[utoipa::path(post, path = "/partners/applications/{id}/approve", params(IdempotencyHeader),
        request_body = partners::ApplicationApproval,
        responses((status = 201, body = crate::answers::IbView)))]
    approve_application,
    "ib.application_approve",
    partners::ApplicationApproval,
    ib,
    partners::approve
);
id_post!(
    /// Rejects an application, with a reason.
    #[utoipa::path(post, path = "/partners/applications/{id}/reject", params(IdempotencyHeader),
        request_body = partners::Reason,
        responses((status = 200, body = brokeros_ib::model::Application)))]
    reject_application,
    "ib.application_reject",
    partners::Reason,
    ib,
    partners::reject
);
id_post!(
    /// Suspends an IB (it earns nothing meanwhile), with a reason.
    #[utoipa::path(post, path = "/partners/ibs/{id}/suspend", params(IdempotencyHeader),
        request_body = partners::Reason,
        responses((status = 200, body = crate::answers::IbView)))]
    suspend,
    "ib.suspend",
    partners::Reason,
    ib,
    partners::suspend
);
id_post!(
    /// Reinstates a suspended IB, with a reason.
    #[utoipa::path(post, path = "/partners/ibs/{id}/reinstate", params(IdempotencyHeader),
        request_body = partners::Reason,
        responses((status = 200, body = crate::answers::IbView)))]
    reinstate,
    "ib.reinstate",
    partners::Reason,
    ib,
    partners::reinstate
);
id_post!(
    /// Terminates an IB, with a reason.
    #[utoipa::path(post, path = "/partners/ibs/{id}/terminate", params(IdempotencyHeader),
        request_body = partners::Reason,
        responses((status = 200, body = crate::answers::IbView)))]
    terminate,
    "ib.terminate",
    partners::Reason,
    ib,
    partners::terminate
);
id_post!(
    /// Moves an IB under another parent from a given time.
    #[utoipa::path(post, path = "/partners/ibs/{id}/move", params(IdempotencyHeader),
        request_body = partners::Move,
        responses((status = 200, body = crate::answers::IbView)))]
    move_ib, "ib.move", partners::Move, ib, partners::move_ib);
id_post!(
    /// Changes an IB's commission plans.
    #[utoipa::path(post, path = "/partners/ibs/{id}/plans", params(IdempotencyHeader),
        request_body = partners::PlansChange,
        responses((status = 200, body = crate::answers::IbView)))]
    change_plans,
    "ib.plans",
    partners::PlansChange,
    ib,
    partners::change_plans
);
id_post!(
    /// Adds a referral code to an IB.
    #[utoipa::path(post, path = "/partners/ibs/{id}/referral-codes", params(IdempotencyHeader),
        request_body = partners::NewReferralCode,
        responses((status = 201, body = crate::answers::IbView)))]
    add_code,
    "ib.referral_code",
    partners::NewReferralCode,
    ib,
    partners::add_referral_code
);
id_post!(
    /// Assigns a client to an IB by hand.
    #[utoipa::path(post, path = "/partners/clients/{id}/ib", params(IdempotencyHeader),
        request_body = attribution::Assignment,
        responses((status = 200, body = brokeros_ib::model::ClientAttribution)))]
    assign_client,
    "ib.client_assign",
    attribution::Assignment,
    ib,
    attribution::assign
);

context_get!(
    /// The commission plans, each with its version in force.
    #[utoipa::path(get, path = "/partners/plans", params(PageParams),
        responses((status = 200, body = brokeros_kernel::Page<brokeros_ib::plans::CommissionPlanRecord>)))]
    plan_list,
    ib,
    query,
    plans::plans
);
context_get!(
    /// Every version of a commission plan.
    #[utoipa::path(get, path = "/partners/plans/{id}",
        responses((status = 200, body = crate::answers::PlanVersions)))]
    plan,
    ib,
    id,
    plans::plan_versions
);
context_get!(
    /// IB applications by status.
    #[utoipa::path(get, path = "/partners/applications", params(QueueFilter),
        responses((status = 200, body = brokeros_kernel::Page<brokeros_ib::model::Application>)))]
    applications,
    ib,
    query,
    portal::applications
);
context_get!(
    /// One IB application.
    #[utoipa::path(get, path = "/partners/applications/{id}",
        responses((status = 200, body = brokeros_ib::model::Application)))]
    application,
    ib,
    id,
    portal::application
);
context_get!(
    /// One of the caller's IB applications.
    #[utoipa::path(get, path = "/ib/applications/{id}",
        responses((status = 200, body = brokeros_ib::model::Application)))]
    my_application,
    ib,
    id,
    portal::application
);
context_get!(
    /// The IBs.
    #[utoipa::path(get, path = "/partners/ibs", params(QueueFilter),
        responses((status = 200, body = brokeros_kernel::Page<crate::answers::IbView>)))]
    ibs,
    ib,
    query,
    portal::ibs
);
context_get!(
    /// One IB with its plans, codes and standing.
    #[utoipa::path(get, path = "/partners/ibs/{id}",
        responses((status = 200, body = crate::answers::IbView)))]
    ib,
    ib,
    id,
    portal::ib
);
context_get!(
    /// The IB tree as it stands now (or a subtree).
    #[utoipa::path(get, path = "/partners/tree", params(portal::TreeFilter),
        responses((status = 200, body = brokeros_kernel::Items<crate::answers::TreeMember>)))]
    tree,
    ib,
    query,
    portal::tree
);
context_get!(
    /// A client's IB and how it was attributed.
    #[utoipa::path(get, path = "/partners/clients/{id}/ib",
        responses((status = 200, body = crate::answers::AttributionView)))]
    client_ib,
    ib,
    id,
    attribution::get
);
context_get!(
    /// The referral codes a lead's touches carried.
    #[utoipa::path(get, path = "/partners/leads/{id}/referrals",
        responses((status = 200, body = crate::answers::LeadReferrals)))]
    lead_referrals,
    ib,
    id,
    attribution::lead_touches
);
context_get!(
    /// The IB portal's dashboard: counts, and lots, accrued and paid per period.
    #[utoipa::path(get, path = "/ib/me", params(portal::DashboardFilter),
        responses((status = 200, body = crate::answers::IbDashboard), (status = 404, description = "the caller is not an IB", body = brokeros_kernel::error::ErrorBody)))]
    ib_dashboard,
    ib,
    query,
    portal::me
);
context_get!(
    /// The caller's sub-IBs.
    #[utoipa::path(get, path = "/ib/me/sub-ibs",
        responses((status = 200, body = brokeros_kernel::Items<crate::answers::TreeMember>), (status = 404, description = "the caller is not an IB", body = brokeros_kernel::error::ErrorBody)))]
    sub_ibs,
    ib,
    caller,
    portal::sub_ibs
);
context_get!(
    /// One of the caller's sub-IBs.
    #[utoipa::path(get, path = "/ib/me/sub-ibs/{id}",
        responses((status = 200, body = crate::answers::TreeMember)))]
    sub_ib,
    ib,
    id,
    portal::sub_ib
);
context_get!(
    /// The caller's referred clients (masked).
    #[utoipa::path(get, path = "/ib/me/clients", params(portal::ClientsFilter),
        responses((status = 200, body = crate::answers::ReferredClients), (status = 404, description = "the caller is not an IB", body = brokeros_kernel::error::ErrorBody)))]
    ib_clients,
    ib,
    query,
    portal::clients
);
context_get!(
    /// The caller's referral links.
    #[utoipa::path(get, path = "/ib/me/referral-links",
        responses((status = 200, body = brokeros_kernel::Items<brokeros_ib::model::ReferralCode>), (status = 404, description = "the caller is not an IB", body = brokeros_kernel::error::ErrorBody)))]
    referral_links,
    ib,
    caller,
    portal::referral_links
);
context_get!(
    /// The caller's invitations of sub-IBs.
    #[utoipa::path(get, path = "/ib/me/invitations",
        responses((status = 200, body = crate::answers::Invitations), (status = 404, description = "the caller is not an IB", body = brokeros_kernel::error::ErrorBody)))]
    invitations,
    ib,
    caller,
    portal::invitations
);
context_get!(
    /// The caller's accrual legs of a period, with their explanations.
    #[utoipa::path(get, path = "/ib/me/accruals", params(portal::AccrualsFilter),
        responses((status = 200, body = crate::answers::Accruals), (status = 404, description = "the caller is not an IB", body = brokeros_kernel::error::ErrorBody)))]
    my_accruals,
    ib,
    query,
    portal::accruals
);
context_get!(
    /// The caller's commission statements.
    #[utoipa::path(get, path = "/ib/me/statements", params(QueueFilter),
        responses((status = 200, body = brokeros_kernel::Page<brokeros_ib::model::payout::IbStatement>), (status = 404, description = "the caller is not an IB", body = brokeros_kernel::error::ErrorBody)))]
    my_statements,
    ib,
    query,
    payout::my_statements
);
context_get!(
    /// One of the caller's statements.
    #[utoipa::path(get, path = "/ib/me/statements/{id}",
        responses((status = 200, body = brokeros_ib::model::payout::IbStatement)))]
    my_statement,
    ib,
    id,
    payout::my_statement
);
context_get!(
    /// One commission statement.
    #[utoipa::path(get, path = "/partners/statements/{id}",
        responses((status = 200, body = brokeros_ib::model::payout::IbStatement)))]
    statement,
    ib,
    id,
    payout::statement
);
context_get!(
    /// One payout run.
    #[utoipa::path(get, path = "/partners/payouts/{id}",
        responses((status = 200, body = brokeros_ib::model::payout::PayoutRun)))]
    payout_run,
    ib,
    id,
    payout::run
);
context_get!(
    /// Deal changes the commission engine refused, with why, per platform server.
    #[utoipa::path(get, path = "/partners/quarantined-deals", params(accruals::QuarantineFilter),
        responses((status = 200, body = brokeros_kernel::Page<brokeros_ib::accruals::QuarantinedDeal>)))]
    quarantined_deals,
    ib,
    query,
    accruals::quarantined_deals
);

/// An IB's accrual legs of a period, for partner managers.
#[utoipa::path(get, path = "/partners/ibs/{id}/accruals", params(portal::AccrualsFilter),
    responses((status = 200, body = crate::answers::Accruals)))]
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

/// The statements of a payout run.
#[utoipa::path(get, path = "/partners/payouts/{id}/statements", params(QueueFilter),
    responses((status = 200, body = brokeros_kernel::Page<brokeros_ib::model::payout::IbStatement>)))]
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

/// One of the caller's statements as CSV.
#[utoipa::path(get, path = "/ib/me/statements/{id}/csv",
    responses((status = 200, content_type = "text/csv; charset=utf-8", body = String)))]
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

/// Starts the payout of a schedule's next period due, or resumes a closed one (statements
/// over the threshold wait for finance).
#[utoipa::path(post, path = "/partners/payouts", request_body = payout::PayoutRequest,
    responses((status = 200, body = crate::answers::PayoutStarted)))]
async fn start_payout(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: JsonBody<payout::PayoutRequest>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        payout::start_payout(&state.services.ib, &p, body.value).await?,
    ))
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatementDecision {
    #[serde(default)]
    reason: Option<String>,
}

/// Finance's decision on a statement waiting for approval (never the run's requester).
async fn decide_statement(
    state: &AppState,
    p: &brokeros_kernel::principal::Principal,
    correlation: &str,
    id: &str,
    approve: bool,
    body: StatementDecision,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        payout::decide_statement(
            &state.services.ib,
            p,
            correlation,
            id,
            approve,
            body.reason.as_deref(),
        )
        .await?,
    ))
}

/// Finance approves a statement waiting for approval (never the run's requester).
#[utoipa::path(post, path = "/partners/statements/{id}/approve", request_body = StatementDecision,
    responses((status = 200, body = brokeros_ib::model::payout::IbStatement)))]
async fn approve_statement(
    State(state): State<AppState>,
    Caller(p): Caller,
    CorrelationId(correlation): CorrelationId,
    Path(id): Path<String>,
    body: JsonBody<StatementDecision>,
) -> ApiResult<axum::Json<Value>> {
    decide_statement(&state, &p, &correlation, &id, true, body.value).await
}

/// Finance rejects a statement waiting for approval, with a reason.
#[utoipa::path(post, path = "/partners/statements/{id}/reject", request_body = StatementDecision,
    responses((status = 200, body = brokeros_ib::model::payout::IbStatement)))]
async fn reject_statement(
    State(state): State<AppState>,
    Caller(p): Caller,
    CorrelationId(correlation): CorrelationId,
    Path(id): Path<String>,
    body: JsonBody<StatementDecision>,
) -> ApiResult<axum::Json<Value>> {
    decide_statement(&state, &p, &correlation, &id, false, body.value).await
}

/// Finance has a statement whose credit kept failing tried again.
#[utoipa::path(post, path = "/partners/statements/{id}/retry",
    responses((status = 200, body = crate::answers::StatementRetried)))]
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
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_application, applications))
        .routes(routes!(application))
        .routes(routes!(approve_application))
        .routes(routes!(reject_application))
        .routes(routes!(ibs))
        .routes(routes!(ib))
        .routes(routes!(suspend))
        .routes(routes!(reinstate))
        .routes(routes!(terminate))
        .routes(routes!(move_ib))
        .routes(routes!(change_plans))
        .routes(routes!(ib_accruals))
        .routes(routes!(add_code))
        .routes(routes!(assign_client, client_ib))
        .routes(routes!(lead_referrals))
        .routes(routes!(tree))
        .routes(routes!(quarantined_deals))
        .routes(routes!(put_plan, plan_list))
        .routes(routes!(plan))
        .routes(routes!(apply_as_ib))
        .routes(routes!(my_application))
        .routes(routes!(ib_dashboard))
        .routes(routes!(sub_ibs))
        .routes(routes!(sub_ib))
        .routes(routes!(ib_clients))
        .routes(routes!(my_accruals))
        .routes(routes!(referral_links))
        .routes(routes!(invite, invitations))
        .routes(routes!(my_statements))
        .routes(routes!(my_statement))
        .routes(routes!(my_statement_csv))
        .routes(routes!(start_payout))
        .routes(routes!(payout_run))
        .routes(routes!(payout_statements))
        .routes(routes!(statement))
        .routes(routes!(approve_statement))
        .routes(routes!(reject_statement))
        .routes(routes!(retry_statement))
}
