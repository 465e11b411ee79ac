//! The routes of lead capture, the CRM, clients and their onboarding, KYC, wallets, deposits,
//! reconciliation and the providers' webhooks, and the composition of every router. A route is
//! registered only through `routes!` from its handler's `#[utoipa::path]`, so its method and
//! path are those of its documented operation (see [`crate::openapi`]).

use axum::Router;
use axum::extract::{Path, State};
use brokeros_crm::model::LeadSubmission;
use brokeros_kernel::Error;
use serde_json::{Value, json};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{
    ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, RawBody, WebhookBody, query,
};
use super::{
    ApiError, ApiReply, AppState, access_log, back_office_routes, contest_routes, copy_routes,
    ib_routes, pamm_routes, payment_routes, transfer_routes, withdrawal_routes,
};
use super::{ingest_error, kyc_webhook_error};
use brokeros_app::wallet;
use brokeros_kernel::Answer;
use brokeros_onboarding::kyc;
use brokeros_onboarding::model::Onboarding;
use brokeros_onboarding::{clients, reviews};
use brokeros_payments::deposits;
use brokeros_payments::deposits::model::Deposit;
use brokeros_payments::psp;
use brokeros_withdrawals::model::Withdrawal;

/// Whether the process answers (no store is read).
#[utoipa::path(get, path = "/health", responses((status = 200, body = crate::answers::ServiceHealth)))]
async fn health() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

/// This document: the API's contract (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, body = Object)))]
async fn openapi_json() -> axum::Json<&'static OpenApi> {
    axum::Json(api_doc())
}

/// The contract of every route (`brokeros serve`'s: lead capture, the CRM API, the providers'
/// webhooks, metrics, health, the contract), built once from the complete router and
/// completed by [`crate::openapi::describe`].
pub fn api_doc() -> &'static OpenApi {
    static DOC: std::sync::OnceLock<OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = every_route().into_openapi();
        crate::openapi::describe(&mut doc);
        doc
    })
}

/// Every documented operation: its method and path template (`/leads/{id}`).
pub fn documented_operations() -> Vec<(axum::http::Method, String)> {
    let mut all = Vec::new();
    for (path, item) in &api_doc().paths.paths {
        let mut item = item.clone();
        for (method, _) in crate::openapi::operations_mut(&mut item) {
            all.push((method, path.clone()));
        }
    }
    all
}

async fn not_found() -> ApiError {
    ApiError(Error::NotFound {
        entity: "route",
        id: "requested".into(),
    })
}

/// Captures a lead from a landing page or an affiliate (public): deduplicated by email and
/// phone per brand (a duplicate is merged, with a new touch), scored and assigned.
#[utoipa::path(post, path = "/leads", params(IdempotencyHeader),
    request_body = LeadSubmission,
    responses((status = 202, description = "captured", body = crate::answers::LeadCaptured)))]
async fn capture_lead(
    State(state): State<AppState>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<LeadSubmission>,
) -> ApiResult<ApiReply> {
    let key = idem.public("lead.capture", &body.value.identity(), body.raw)?;
    let referral_code = body.value.referral_code.clone();
    let answer =
        brokeros_crm::capture(&state.services.crm, body.value, key.as_ref(), &correlation).await?;
    if let Some(code) = referral_code {
        record_referral(&state, &answer, &code, &correlation).await?;
    }
    Ok(answer.into())
}

/// Tells the IB context the referral code a capture carried, once the lead is captured: known
/// or not, it is recorded on the lead's referrals (the CRM does not depend on IBs). Should
/// that fail, the request fails: its retry under the same `Idempotency-Key` replays the
/// capture and records the touch; a client never attributed is attributed from the lead's
/// own code (`brokeros_ib::attribution::derive`).
async fn record_referral(
    state: &AppState,
    answer: &Answer,
    code: &str,
    correlation: &str,
) -> ApiResult<()> {
    let lead_id = answer.body["lead_id"].as_str().unwrap_or_default();
    let received_at = answer.body["received_at"]
        .as_str()
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .ok_or_else(|| Error::Internal("a capture's answer names when it was received".into()))?;
    brokeros_ib::attribution::record_lead_touch(
        &state.services.ib,
        lead_id,
        code,
        received_at,
        correlation,
    )
    .await?;
    Ok(())
}

/// Attributes a client just created (registered or converted) to its IB, once its creation
/// committed (onboarding and CRM do not depend on IBs; see `brokeros_ib::attribution`).
async fn attribute(
    state: &AppState,
    p: &brokeros_kernel::principal::Principal,
    created: &Answer,
    correlation: &str,
) -> ApiResult<()> {
    if let Some(client_id) = created.body["id"].as_str() {
        brokeros_ib::attribution::attribute_client(&state.services.ib, p, client_id, correlation)
            .await?;
    }
    Ok(())
}

/// The double opt-in link (public: the token in the body is the authority): the lead's
/// marketing consent takes effect.
#[utoipa::path(post, path = "/leads/consent/confirm", params(IdempotencyHeader),
    request_body = brokeros_crm::ConsentConfirmationRequest,
    responses((status = 200, description = "confirmed", body = crate::answers::ConsentConfirmed)))]
async fn confirm_consent(
    State(state): State<AppState>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<brokeros_crm::ConsentConfirmationRequest>,
) -> ApiResult<ApiReply> {
    let confirmation_id = body.value.confirmation_id()?;
    let key = idem.public("lead.consent_confirm", &confirmation_id, body.raw)?;
    Ok(
        brokeros_crm::confirm_consent(&state.services.crm, body.value, key.as_ref(), &correlation)
            .await?
            .into(),
    )
}

/// Leads, newest first: a sales agent's own, any for admins.
#[utoipa::path(get, path = "/leads", params(brokeros_crm::LeadFilter),
    responses((status = 200, body = brokeros_kernel::Page<brokeros_kernel::Versioned<brokeros_crm::model::Lead>>)))]
async fn list_leads(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter: brokeros_crm::LeadFilter = query(&uri)?;
    Ok(axum::Json(
        brokeros_crm::list_leads(&state.services.crm, &p, filter).await?,
    ))
}

/// One lead with its score's reasons and the version it is stored at.
#[utoipa::path(get, path = "/leads/{id}", responses((status = 200, body = brokeros_kernel::Versioned<brokeros_crm::model::Lead>)))]
async fn get_lead(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        brokeros_crm::get_lead(&state.services.crm, &p, &id).await?,
    ))
}

id_post!(
    /// Moves a lead along its lifecycle (`new → contacted → qualified`, or `lost` with a
    /// reason from any open state).
    #[utoipa::path(post, path = "/leads/{id}/status", params(IdempotencyHeader),
        request_body = brokeros_crm::StatusChange,
        responses((status = 200, body = brokeros_kernel::Versioned<brokeros_crm::model::Lead>)))]
    change_status,
    "lead.status",
    brokeros_crm::StatusChange,
    crm,
    brokeros_crm::change_status
);
id_post!(
    /// Reassigns a lead to another agent (admins).
    #[utoipa::path(post, path = "/leads/{id}/assign", params(IdempotencyHeader),
        request_body = brokeros_crm::Reassignment,
        responses((status = 200, body = brokeros_kernel::Versioned<brokeros_crm::model::Lead>)))]
    reassign,
    "lead.assign",
    brokeros_crm::Reassignment,
    crm,
    brokeros_crm::reassign
);
id_post!(
    /// Adds a note to a lead's timeline.
    #[utoipa::path(post, path = "/leads/{id}/notes", params(IdempotencyHeader),
        request_body = brokeros_crm::NewNote,
        responses((status = 201, body = crate::answers::NoteAdded)))]
    add_note,
    "lead.note",
    brokeros_crm::NewNote,
    crm,
    brokeros_crm::add_note
);
id_post!(
    /// Adds a follow-up task to a lead.
    #[utoipa::path(post, path = "/leads/{id}/tasks", params(IdempotencyHeader),
        request_body = brokeros_crm::NewTask,
        responses((status = 201, body = brokeros_crm::model::Task)))]
    add_task,
    "lead.task",
    brokeros_crm::NewTask,
    crm,
    brokeros_crm::add_task
);
id_post!(
    /// Starts the onboarding workflow of a client (`statemachines/onboarding.asl.json`).
    #[utoipa::path(post, path = "/clients/{id}/onboarding", params(IdempotencyHeader),
        request_body = brokeros_onboarding::StartOnboarding,
        responses((status = 202, body = Onboarding)))]
    start_onboarding,
    "onboarding.start",
    brokeros_onboarding::StartOnboarding,
    onboarding,
    brokeros_onboarding::start
);
id_post!(
    /// Decides a compliance review (approve or reject): answers the waiting workflow task.
    #[utoipa::path(post, path = "/compliance/reviews/{id}/decision", params(IdempotencyHeader),
        request_body = reviews::DecisionRequest,
        responses((status = 200, body = brokeros_onboarding::model::Review)))]
    decide_review,
    "review.decide",
    reviews::DecisionRequest,
    onboarding,
    reviews::decide
);
id_post!(
    /// A deposit intent (KYC-approved clients; idempotent by `deposit_id`): starts the
    /// deposit workflow.
    #[utoipa::path(post, path = "/clients/{id}/deposits", params(IdempotencyHeader),
        request_body = deposits::NewDeposit,
        responses((status = 201, body = Deposit)))]
    create_deposit,
    "deposit.create",
    deposits::NewDeposit,
    payments,
    deposits::create
);
id_post!(
    /// A client's KYC profile; material changes of an approved client are re-screened or
    /// re-verified as the jurisdiction's rules say.
    #[utoipa::path(put, path = "/clients/{id}/profile", params(IdempotencyHeader),
        request_body = brokeros_onboarding::model::KycProfile,
        responses((status = 200, body = crate::answers::ProfileChanged)))]
    set_profile,
    "client.profile",
    brokeros_onboarding::model::KycProfile,
    onboarding,
    brokeros_onboarding::profile_change::set_profile
);
id_post!(
    /// A client's identity document (its number is stored apart for the KYC provider and
    /// shown masked).
    #[utoipa::path(post, path = "/clients/{id}/documents", params(IdempotencyHeader),
        request_body = clients::NewDocument,
        responses((status = 201, body = brokeros_kernel::Versioned<brokeros_onboarding::model::Client>)))]
    add_document,
    "client.document",
    clients::NewDocument,
    onboarding,
    clients::add_document
);

/// Registers a client directly (a portal user for themself, once; sales; admins).
#[utoipa::path(post, path = "/clients", params(IdempotencyHeader),
    request_body = clients::Registration,
    responses((status = 201, body = brokeros_kernel::Versioned<brokeros_onboarding::model::Client>)))]
async fn register_client(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<clients::Registration>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "client.register", body.raw)?;
    let answer = clients::register(
        &state.services.onboarding,
        &p,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?;
    attribute(&state, &p, &answer, &correlation).await?;
    Ok(answer.into())
}

/// A qualified lead becomes a client, optionally bound to a portal user.
#[utoipa::path(post, path = "/leads/{id}/convert", params(IdempotencyHeader),
    request_body = brokeros_crm::Conversion,
    responses((status = 201, body = brokeros_onboarding::model::Client)))]
async fn convert(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<brokeros_crm::Conversion>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(
        &p.sub,
        "lead.convert",
        json!({ "id": id, "body": body.raw }),
    )?;
    let answer = brokeros_crm::convert(
        &state.services.crm,
        &p,
        &id,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?;
    attribute(&state, &p, &answer, &correlation).await?;
    Ok(answer.into())
}

/// A client's KYC status, profile, documents and onboardings.
#[utoipa::path(get, path = "/clients/{id}/kyc", responses((status = 200, body = crate::answers::KycPicture)))]
async fn client_kyc(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        clients::kyc_status(&state.services.onboarding, &p, &id).await?,
    ))
}

/// A client's KYC check records (compliance, admins).
#[utoipa::path(get, path = "/clients/{id}/kyc/checks", responses((status = 200, body = brokeros_kernel::Items<kyc::model::KycCheckRecord>)))]
async fn client_kyc_checks(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let checks = kyc::kyc_checks_for_client(&state.services.onboarding, &p, &id)
        .await
        .map_err(Error::from)?;
    Ok(axum::Json(json!({ "items": checks })))
}

/// Puts a new version of a jurisdiction's KYC/AML rules in force (applies to new checks).
#[utoipa::path(put, path = "/compliance/jurisdictions", params(IdempotencyHeader),
    request_body = brokeros_onboarding::kyc::model::JurisdictionRules,
    responses((status = 200, body = brokeros_onboarding::kyc::model::JurisdictionRules)))]
async fn update_jurisdiction(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<brokeros_onboarding::kyc::model::JurisdictionRules>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "jurisdiction.update", body.raw)?;
    Ok(kyc::update_jurisdiction(
        &state.services.onboarding,
        &p,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

/// Every version of a jurisdiction's rules.
#[utoipa::path(get, path = "/compliance/jurisdictions/{id}", responses((status = 200, body = brokeros_kernel::Items<brokeros_onboarding::kyc::model::JurisdictionRules>)))]
async fn jurisdiction_history(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let versions = kyc::jurisdiction_history(&state.services.onboarding, &p, &id).await?;
    Ok(axum::Json(json!({ "items": versions })))
}

/// The KYC provider's asynchronous results. Authenticated by the provider's signature over the
/// raw body, checked before anything is read or written.
#[utoipa::path(post, path = "/webhooks/kyc/{provider}",
    request_body(content = Value, content_type = "application/json"),
    security(("kyc_signature" = [])),
    responses((status = 200, body = crate::answers::KycResultApplied)))]
async fn kyc_webhook(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    CorrelationId(correlation): CorrelationId,
    headers: axum::http::HeaderMap,
    WebhookBody(body): WebhookBody,
) -> ApiResult<axum::Json<Value>> {
    let services = &state.services.onboarding;
    if provider != services.kyc.name() {
        return Err(Error::NotFound {
            entity: "kyc provider",
            id: provider,
        }
        .into());
    }
    let ctx = brokeros_kernel::OpContext {
        actor: brokeros_kernel::audit::Actor::public(&format!("kyc-webhook:{provider}")),
        correlation_id: correlation,
        now: services.clock.now(),
    };
    let check = kyc::handle_kyc_webhook(services, services.kyc.as_ref(), &headers, &body, &ctx)
        .await
        .map_err(|e| {
            let answered = kyc_webhook_error(e);
            super::count_webhook_refusal("kyc", &provider, &answered);
            answered
        })?;
    brokeros_onboarding::kyc_task::result_arrived(services, &check).await?;
    Ok(axum::Json(
        json!({ "check_id": check.id, "status": check.status }),
    ))
}

/// A client's wallet balances (available, reserved) per currency.
#[utoipa::path(get, path = "/clients/{id}/wallet", responses((status = 200, body = crate::answers::Wallets)))]
async fn wallet_balances(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        wallet::balances(&state.services, &p, &id).await?,
    ))
}

/// A client's trading accounts with their balance, credit, equity and margin as the trading
/// platform reports them now, each in its currency.
#[utoipa::path(get, path = "/clients/{id}/accounts",
    responses((status = 200, body = brokeros_onboarding::accounts::TradingAccounts)))]
async fn trading_accounts(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<brokeros_onboarding::accounts::TradingAccounts>> {
    Ok(axum::Json(
        brokeros_onboarding::accounts::trading_accounts(&state.services.onboarding, &p, &id)
            .await?,
    ))
}

/// A wallet's postings in one currency, newest first.
#[utoipa::path(get, path = "/clients/{id}/wallet/{currency}/transactions",
    params(brokeros_kernel::PageParams),
    responses((status = 200, body = brokeros_kernel::Page<brokeros_ledger::PostingRecord>)))]
async fn wallet_transactions(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, currency)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let params: brokeros_kernel::PageParams = query(&uri)?;
    Ok(axum::Json(
        wallet::transactions(&state.services, &p, &id, &currency, params).await?,
    ))
}

/// A payment provider's webhook: authenticated by its signature over the raw body, queued for
/// the deposit consumer (in order per deposit, once per provider event), acknowledged at once.
#[utoipa::path(post, path = "/webhooks/psp/{provider}",
    request_body(content = Value, content_type = "application/json"),
    security(("card_signature" = []), ("crypto_signature" = [])),
    responses(
        (status = 202, description = "queued", body = crate::answers::PaymentEventQueued),
        (status = 200, description = "an event type deposits do not follow, ignored", body = crate::answers::PaymentEventIgnored),
    ))]
async fn psp_webhook(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: axum::http::HeaderMap,
    WebhookBody(body): WebhookBody,
) -> ApiResult<ApiReply> {
    let services = &state.services.payments;
    let outcome = psp::ingest(
        &services.psp,
        services.psp_events.as_ref(),
        &provider,
        &psp::HttpHeaders(&headers),
        &body,
        services.clock.now(),
    )
    .await
    .map_err(|e| {
        let known = !matches!(e, psp::IngestError::UnknownProvider);
        let answered = ingest_error(e, &provider);
        if known {
            super::count_webhook_refusal("psp", &provider, &answered);
        }
        answered
    })?;
    Ok(ApiReply(match outcome {
        psp::IngestOutcome::Queued { message_id, event } => Answer::accepted(
            json!({ "status": "queued", "message_id": message_id, "event_id": event.event_id }),
        ),
        psp::IngestOutcome::Ignored { event_type } => {
            Answer::done(json!({ "status": "ignored", "event_type": event_type }))
        }
    }))
}

/// A provider's settlement report (CSV) reconciled against the ledger.
#[utoipa::path(post, path = "/recon/{provider}",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = brokeros_recon::ReconRun)))]
async fn reconcile(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(provider): Path<String>,
    CorrelationId(correlation): CorrelationId,
    RawBody(body): RawBody,
) -> ApiResult<ApiReply> {
    let report = std::str::from_utf8(&body)
        .map_err(|_| Error::invalid("invalid_report", "body", "the report is not UTF-8 text"))?;
    let run = brokeros_recon::reconcile(
        &state.services.payments,
        &p,
        &provider,
        report,
        &correlation,
    )
    .await?;
    Ok(ApiReply(Answer::created(run)))
}

/// One reconciliation run with its mismatches.
#[utoipa::path(get, path = "/recon/runs/{id}", responses((status = 200, body = brokeros_recon::ReconRun)))]
async fn recon_run(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let run = brokeros_recon::recon_run(&state.services, &p, &id).await?;
    Ok(axum::Json(json!(run)))
}

context_get!(
    /// A client's deposits, newest first.
    #[utoipa::path(get, path = "/clients/{id}/deposits",
        responses((status = 200, body = brokeros_kernel::Items<Deposit>)))]
    list_deposits,
    payments,
    id,
    brokeros_onboarding::list_for_client::<Deposit>
);
context_get!(
    /// One deposit: its attempts with the routing reason, status, trading-account funding.
    #[utoipa::path(get, path = "/deposits/{id}", responses((status = 200, body = Deposit)))]
    get_deposit,
    payments,
    id,
    brokeros_onboarding::get_for_client::<Deposit>
);
context_get!(
    /// A client's withdrawals, newest first.
    #[utoipa::path(get, path = "/clients/{id}/withdrawals",
        responses((status = 200, body = brokeros_kernel::Items<Withdrawal>)))]
    list_withdrawals,
    withdrawals,
    id,
    brokeros_onboarding::list_for_client::<Withdrawal>
);
context_get!(
    /// One withdrawal.
    #[utoipa::path(get, path = "/withdrawals/{id}", responses((status = 200, body = Withdrawal)))]
    get_withdrawal,
    withdrawals,
    id,
    brokeros_onboarding::get_for_client::<Withdrawal>
);
context_get!(
    /// A client's onboarding runs, newest first.
    #[utoipa::path(get, path = "/clients/{id}/onboarding",
        responses((status = 200, body = brokeros_kernel::Items<Onboarding>)))]
    list_onboardings,
    onboarding,
    id,
    brokeros_onboarding::list_for_client::<Onboarding>
);
context_get!(
    /// One onboarding run.
    #[utoipa::path(get, path = "/onboardings/{id}", responses((status = 200, body = Onboarding)))]
    get_onboarding,
    onboarding,
    id,
    brokeros_onboarding::get_for_client::<Onboarding>
);

/// The compliance review queue (`status`, pending by default).
#[utoipa::path(get, path = "/compliance/reviews", params(brokeros_kernel::QueueFilter),
    responses((status = 200, body = brokeros_kernel::Page<brokeros_onboarding::model::Review>)))]
async fn review_queue(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let filter: reviews::QueueFilter = query(&uri)?;
    Ok(axum::Json(
        reviews::queue(&state.services.onboarding, &p, filter).await?,
    ))
}

/// One compliance review with its KYC checks, screening hits and risk reasons.
#[utoipa::path(get, path = "/compliance/reviews/{id}", responses((status = 200, body = brokeros_onboarding::model::Review)))]
async fn get_review(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        reviews::get(&state.services.onboarding, &p, &id).await?,
    ))
}

/// A lead's follow-up tasks.
#[utoipa::path(get, path = "/leads/{id}/tasks", responses((status = 200, body = brokeros_kernel::Items<brokeros_crm::model::Task>)))]
async fn list_tasks(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        brokeros_crm::list_tasks(&state.services.crm, &p, &id).await?,
    ))
}

/// Marks a lead's task done.
#[utoipa::path(post, path = "/leads/{id}/tasks/{task_id}/complete", params(IdempotencyHeader),
    responses((status = 200, body = brokeros_crm::model::Task)))]
async fn complete_task(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, task_id)): Path<(String, String)>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(
        &p.sub,
        "lead.task_done",
        json!({ "lead": id, "task": task_id }),
    )?;
    Ok(brokeros_crm::complete_task(
        &state.services.crm,
        &p,
        &id,
        &task_id,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

/// A lead's audit stream, newest first: every change and who made it.
#[utoipa::path(get, path = "/leads/{id}/timeline", params(brokeros_kernel::PageParams),
    responses((status = 200, body = brokeros_kernel::Page<crate::answers::TimelineEntry>)))]
async fn timeline(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    let page: brokeros_kernel::PageParams = query(&uri)?;
    Ok(axum::Json(
        brokeros_crm::timeline(&state.services.crm, &p, &id, page).await?,
    ))
}

/// A client's profile.
#[utoipa::path(get, path = "/clients/{id}", responses((status = 200, body = brokeros_kernel::Versioned<brokeros_onboarding::model::Client>)))]
async fn get_client(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        clients::get_client(&state.services.onboarding, &p, &id).await?,
    ))
}

/// The caller's own client profile (clients).
#[utoipa::path(get, path = "/me",
    responses((status = 200, body = brokeros_kernel::Versioned<brokeros_onboarding::model::Client>), (status = 404, description = "the caller has no client", body = brokeros_kernel::error::ErrorBody)))]
async fn me(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        clients::my_profile(&state.services.onboarding, &p).await?,
    ))
}

fn finish(routes: OpenApiRouter<AppState>, state: AppState) -> Router {
    let (routes, _) = routes.merge(operational()).split_for_parts();
    edges(routes)
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

/// What every router answers at its edges, whatever its routes: an unknown route is a JSON 404,
/// a body over [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES) is refused by axum's own extractors too,
/// and every error response is JSON ([`errors_as_json`](super::errors_as_json)).
pub(crate) fn edges<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            super::limits::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::map_response(super::errors_as_json))
}

/// What every function answers besides its own routes: health and the contract.
fn operational() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(openapi_json))
}

fn lead_capture() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(capture_lead))
        .routes(routes!(confirm_consent))
}

fn webhooks() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(kyc_webhook))
        .routes(routes!(psp_webhook))
}

fn crm() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_leads))
        .routes(routes!(get_lead))
        .routes(routes!(change_status))
        .routes(routes!(reassign))
        .routes(routes!(add_note))
        .routes(routes!(add_task, list_tasks))
        .routes(routes!(complete_task))
        .routes(routes!(timeline))
        .routes(routes!(convert))
        .routes(routes!(register_client))
        .routes(routes!(get_client))
        .routes(routes!(set_profile))
        .routes(routes!(add_document))
        .routes(routes!(client_kyc))
        .routes(routes!(wallet_balances))
        .routes(routes!(trading_accounts))
        .routes(routes!(create_deposit, list_deposits))
        .routes(routes!(get_deposit))
        .routes(routes!(list_withdrawals))
        .routes(routes!(get_withdrawal))
        .routes(routes!(wallet_transactions))
        .routes(routes!(client_kyc_checks))
        .routes(routes!(update_jurisdiction))
        .routes(routes!(jurisdiction_history))
        .routes(routes!(reconcile))
        .routes(routes!(recon_run))
        .routes(routes!(me))
        .routes(routes!(start_onboarding, list_onboardings))
        .routes(routes!(get_onboarding))
        .routes(routes!(review_queue))
        .routes(routes!(get_review))
        .routes(routes!(decide_review))
        .merge(withdrawal_routes::routes())
        .merge(transfer_routes::routes())
        .merge(payment_routes::routes())
        .merge(ib_routes::routes())
        .merge(contest_routes::routes())
        .merge(pamm_routes::routes())
        .merge(copy_routes::routes())
        .merge(back_office_routes::routes())
}

/// The public lead-capture function's routes.
pub fn lead_capture_routes(state: AppState) -> Router {
    finish(lead_capture(), state)
}

/// The CRM API function's routes.
pub fn crm_routes(state: AppState) -> Router {
    finish(crm(), state)
}

/// The providers' webhook function's routes.
pub fn webhook_routes(state: AppState) -> Router {
    finish(webhooks(), state)
}

/// Every route: what `brokeros serve` runs.
pub fn router(state: AppState) -> Router {
    finish(lead_capture().merge(crm()).merge(webhooks()), state)
}

/// [`router`] with `GET /metrics` (Prometheus text), as `brokeros serve` runs it: open or for
/// admins as `access` says, with `refresh` run before each scrape to read the gauges that are
/// measured rather than counted (see [`crate::metrics`]).
pub fn router_with_metrics(
    state: AppState,
    access: crate::metrics::MetricsAccess,
    refresh: Option<crate::metrics::Refresh>,
) -> Router {
    let metrics =
        crate::metrics::routes().layer(axum::Extension(crate::metrics::Scrape { access, refresh }));
    finish(
        lead_capture().merge(crm()).merge(webhooks()).merge(metrics),
        state,
    )
}

/// Every documented route, as the complete router registers them (the contract is built from
/// this: [`api_doc`]).
fn every_route() -> OpenApiRouter<AppState> {
    lead_capture()
        .merge(crm())
        .merge(webhooks())
        .merge(crate::metrics::routes())
        .merge(operational())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::{get, post};
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;

    #[derive(Deserialize)]
    struct Typed {
        #[allow(dead_code)]
        n: u32,
    }

    /// Routes that use axum's own extractors and answer their own errors, as a route added later
    /// might: what [`edges`] does to them.
    fn later_routes() -> Router {
        edges(
            Router::new()
                .route(
                    "/json",
                    post(|axum::Json(v): axum::Json<Value>| async move { axum::Json(v) }),
                )
                .route("/typed", post(|_: axum::Json<Typed>| async {}))
                .route(
                    "/number/{n}",
                    get(|Path(n): Path<u32>| async move { n.to_string() }),
                )
                .route("/query", get(|_: axum::extract::Query<Typed>| async {}))
                .route(
                    "/bytes",
                    post(|b: axum::body::Bytes| async move { b.len().to_string() }),
                )
                .route(
                    "/text-error",
                    get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "db password: hunter2") }),
                )
                .route(
                    "/api-error",
                    get(|| async { ApiError(Error::conflict("taken", "already taken")) }),
                )
                .route("/text", get(|| async { "plain" })),
        )
    }

    async fn send(
        method: &str,
        uri: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, String, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let response = later_routes().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, content_type, body)
    }

    #[tokio::test]
    async fn errors_of_routes_added_later_are_json_too() {
        let json = "application/json";
        let cases = [
            ("GET", "/nope", json, b"".to_vec(), 404, "not_found"),
            (
                "DELETE",
                "/json",
                json,
                b"{}".to_vec(),
                405,
                "method_not_allowed",
            ),
            (
                "POST",
                "/json",
                "text/plain",
                b"{}".to_vec(),
                415,
                "unsupported_media_type",
            ),
            ("POST", "/json", json, b"{".to_vec(), 400, "bad_request"),
            (
                "POST",
                "/typed",
                json,
                br#"{"n":"x"}"#.to_vec(),
                422,
                "invalid_body",
            ),
            ("GET", "/number/abc", json, b"".to_vec(), 400, "bad_request"),
            ("GET", "/query?n=x", json, b"".to_vec(), 400, "bad_request"),
            (
                "POST",
                "/bytes",
                json,
                vec![b'a'; 300 * 1024],
                413,
                "payload_too_large",
            ),
            ("GET", "/text-error", json, b"".to_vec(), 500, "internal"),
            ("GET", "/api-error", json, b"".to_vec(), 409, "taken"),
        ];
        for (method, uri, content_type, body, status, code) in cases {
            let (got, got_type, body) = send(method, uri, content_type, body).await;
            assert_eq!(got, status, "{method} {uri}: {body}");
            assert_eq!(got_type, "application/json", "{method} {uri}: {body}");
            assert_eq!(body["code"], code, "{method} {uri}: {body}");
            assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{body}"
            );
            assert!(!body.to_string().contains("hunter2"), "{body}");
        }
        let (status, content_type, body) = send("GET", "/text", json, Vec::new()).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "text/plain; charset=utf-8")
        );
        assert_eq!(body, "plain", "successes are left as they are");
    }
}
