//! The PAMM endpoints: a manager's offers (proposed, their investors, NAV history and fee
//! income), an investor's requests and statement, and admins' governance of offers.

use axum::extract::{Path, State};
use brokeros_kernel::PageParams;
use brokeros_pamm::offers::{self, Governance};
use brokeros_pamm::{reads, requests};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiReply;
use super::AppState;
use super::extract::{ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, query};

/// Proposes one of the caller's trading accounts as a PAMM offer (an admin names the manager's
/// client id); it waits for another person's approval.
#[utoipa::path(post, path = "/pamm/offers", params(IdempotencyHeader),
    request_body = offers::NewOffer,
    responses((status = 201, body = crate::answers::PammOfferView)))]
async fn pamm_propose(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<offers::NewOffer>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "pamm.propose", body.raw)?;
    Ok(offers::propose(
        &state.services.pamm,
        &p,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

/// Offers: active ones for clients (`mine=true`: the caller's own in every status), any
/// status for admins.
#[utoipa::path(get, path = "/pamm/offers", params(reads::OfferFilter),
    responses((status = 200, body = brokeros_kernel::Page<crate::answers::PammOfferView>)))]
async fn pamm_list_offers(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        reads::offers(&state.services.pamm, &p, query(&uri)?).await?,
    ))
}

context_get!(
    /// An offer: approved ones for any client, the manager's own in any status, any for admins.
    #[utoipa::path(get, path = "/pamm/offers/{id}", responses((status = 200, body = crate::answers::PammOfferView)))]
    pamm_get_offer,
    pamm,
    id,
    offers::offer
);

async fn govern(
    state: &AppState,
    p: &brokeros_kernel::principal::Principal,
    id: String,
    idem: IdempotencyHeader,
    correlation: &str,
    action: Governance,
    reason: Option<JsonBody<offers::Reason>>,
) -> ApiResult<ApiReply> {
    let operation = match action {
        Governance::Approve => "pamm.approve",
        Governance::Suspend => "pamm.suspend",
        Governance::Reinstate => "pamm.reinstate",
    };
    let raw = reason.as_ref().map_or(Value::Null, |b| b.raw.clone());
    let key = idem.scoped(&p.sub, operation, json!({ "id": id, "body": raw }))?;
    Ok(offers::govern(
        &state.services.pamm,
        p,
        &id,
        action,
        reason.map(|b| b.value),
        key.as_ref(),
        correlation,
    )
    .await?
    .into())
}

/// Approves an offer (an admin other than who proposed it): it takes investments.
#[utoipa::path(post, path = "/pamm/offers/{id}/approve", params(IdempotencyHeader),
    responses((status = 200, body = crate::answers::PammOfferView)))]
async fn pamm_approve(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
) -> ApiResult<ApiReply> {
    govern(
        &state,
        &p,
        id,
        idem,
        &correlation,
        Governance::Approve,
        None,
    )
    .await
}

/// Suspends an offer, with a reason: no new investment; rollovers, withdrawals and exits go on.
#[utoipa::path(post, path = "/pamm/offers/{id}/suspend", params(IdempotencyHeader),
    request_body = offers::Reason,
    responses((status = 200, body = crate::answers::PammOfferView)))]
async fn pamm_suspend(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<offers::Reason>,
) -> ApiResult<ApiReply> {
    let action = Governance::Suspend;
    govern(&state, &p, id, idem, &correlation, action, Some(body)).await
}

/// Reinstates a suspended offer, with a reason.
#[utoipa::path(post, path = "/pamm/offers/{id}/reinstate", params(IdempotencyHeader),
    request_body = offers::Reason,
    responses((status = 200, body = crate::answers::PammOfferView)))]
async fn pamm_reinstate(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<offers::Reason>,
) -> ApiResult<ApiReply> {
    let action = Governance::Reinstate;
    govern(&state, &p, id, idem, &correlation, action, Some(body)).await
}

id_post!(
    /// New terms for an offer (its manager, admins), in force from `effective_at`: under
    /// investors no sooner than the notice of the terms in force.
    #[utoipa::path(post, path = "/pamm/offers/{id}/terms", params(IdempotencyHeader),
        request_body = offers::TermsChange,
        responses((status = 200, body = crate::answers::PammOfferView)))]
    pamm_change_terms,
    "pamm.terms",
    offers::TermsChange,
    pamm,
    offers::change_terms
);
id_post!(
    /// An investor's request to an offer (`invest`: reserved in their wallet now; `withdraw`,
    /// `exit`, `stop`), executed at the first rollover at least the offer's cut-off away.
    #[utoipa::path(post, path = "/pamm/offers/{id}/requests", params(IdempotencyHeader),
        request_body = requests::NewRequest,
        responses((status = 202, body = brokeros_pamm::model::request::InvestorRequest)))]
    pamm_submit_request,
    "pamm.request",
    requests::NewRequest,
    pamm,
    requests::submit
);

/// An offer with a page (`limit`, `cursor`) of what `read` lists of it.
macro_rules! offer_page {
    ($(#[$attr:meta])* $name:ident, $read:path) => {
        $(#[$attr])*
        async fn $name(
            State(state): State<AppState>,
            Caller(p): Caller,
            Path(id): Path<String>,
            uri: axum::http::Uri,
        ) -> ApiResult<axum::Json<Value>> {
            Ok(axum::Json(
                $read(&state.services.pamm, &p, &id, query::<PageParams>(&uri)?).await?,
            ))
        }
    };
}

offer_page!(
    /// The caller's own requests to an offer, newest first.
    #[utoipa::path(get, path = "/pamm/offers/{id}/requests", params(PageParams),
        responses((status = 200, body = brokeros_kernel::Page<brokeros_pamm::model::request::InvestorRequest>)))]
    pamm_my_requests,
    requests::my_requests
);
offer_page!(
    /// The caller's statement in an offer: their holding at the last NAV (units, equity,
    /// high-water mark, fee debt, stop level), pending requests, and their line of each
    /// rollover (fees, requests, units after), newest first.
    #[utoipa::path(get, path = "/pamm/offers/{id}/statement", params(PageParams),
        responses((status = 200, body = crate::answers::PammInvestorStatement)))]
    pamm_statement,
    reads::statement
);
offer_page!(
    /// An offer's holders at the last NAV (its manager, admins).
    #[utoipa::path(get, path = "/pamm/offers/{id}/investors", params(PageParams),
        responses((status = 200, body = brokeros_kernel::Page<crate::answers::PammHoldingView>)))]
    pamm_investors,
    reads::investors
);
offer_page!(
    /// An offer's pending requests by due rollover (its manager, admins).
    #[utoipa::path(get, path = "/pamm/offers/{id}/pending-requests", params(PageParams),
        responses((status = 200, body = brokeros_kernel::Page<brokeros_pamm::model::request::InvestorRequest>)))]
    pamm_pending_requests,
    reads::pending_requests
);
offer_page!(
    /// An offer's NAV history: each rollover's NAV, units, equity, flows and fees, newest first.
    #[utoipa::path(get, path = "/pamm/offers/{id}/rollovers", params(PageParams),
        responses((status = 200, body = brokeros_kernel::Page<brokeros_pamm::model::cycle::RolloverRecord>)))]
    pamm_nav_history,
    reads::nav_history
);
offer_page!(
    /// An offer's fee income per rollover: what the manager and each IB were paid.
    #[utoipa::path(get, path = "/pamm/offers/{id}/fees", params(PageParams),
        responses((status = 200, body = crate::answers::PammFeeIncome)))]
    pamm_fee_income,
    reads::fee_income
);

context_get!(
    /// The caller's holdings across offers, at each fund's last NAV.
    #[utoipa::path(get, path = "/pamm/holdings", params(PageParams),
        responses((status = 200, body = brokeros_kernel::Page<crate::answers::PammHoldingView>)))]
    pamm_my_holdings,
    pamm,
    query,
    reads::my_holdings
);
context_get!(
    /// One of the caller's own requests.
    #[utoipa::path(get, path = "/pamm/requests/{id}", responses((status = 200, body = brokeros_pamm::model::request::InvestorRequest)))]
    pamm_get_request,
    pamm,
    id,
    requests::request
);

/// Cancels one of the caller's pending requests before its cut-off (an investment's money
/// goes back to the wallet).
#[utoipa::path(post, path = "/pamm/requests/{id}/cancel", params(IdempotencyHeader),
    responses((status = 200, body = brokeros_pamm::model::request::InvestorRequest)))]
async fn pamm_cancel_request(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "pamm.cancel", json!({ "id": id }))?;
    Ok(
        requests::cancel(&state.services.pamm, &p, &id, key.as_ref(), &correlation)
            .await?
            .into(),
    )
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pamm_propose, pamm_list_offers))
        .routes(routes!(pamm_get_offer))
        .routes(routes!(pamm_approve))
        .routes(routes!(pamm_suspend))
        .routes(routes!(pamm_reinstate))
        .routes(routes!(pamm_change_terms))
        .routes(routes!(pamm_submit_request, pamm_my_requests))
        .routes(routes!(pamm_statement))
        .routes(routes!(pamm_investors))
        .routes(routes!(pamm_pending_requests))
        .routes(routes!(pamm_nav_history))
        .routes(routes!(pamm_fee_income))
        .routes(routes!(pamm_my_holdings))
        .routes(routes!(pamm_get_request))
        .routes(routes!(pamm_cancel_request))
}
