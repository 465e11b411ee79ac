use axum::Router;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use brokeros_crm::model::LeadSubmission;
use brokeros_kernel::Error;
use serde_json::{Value, json};

use super::extract::{
    ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, RawBody, WebhookBody, query,
};
use super::{
    ApiError, ApiReply, AppState, access_log, contest_routes, ib_routes, payment_routes,
    transfer_routes, withdrawal_routes,
};
use super::{ingest_error, kyc_webhook_error};
use brokeros_app::wallet;
use brokeros_kernel::Answer;
use brokeros_onboarding::kyc;
use brokeros_onboarding::model::Onboarding;
use brokeros_onboarding::{ClientRecord, clients, reviews};
use brokeros_payments::deposits;
use brokeros_payments::deposits::model::Deposit;
use brokeros_payments::psp;
use brokeros_withdrawals::model::Withdrawal;

async fn health() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError(Error::NotFound {
        entity: "route",
        id: "requested".into(),
    })
}

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

/// The double opt-in link: the token in the body is the authority (public).
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
    change_status,
    "lead.status",
    brokeros_crm::StatusChange,
    crm,
    brokeros_crm::change_status
);
id_post!(
    reassign,
    "lead.assign",
    brokeros_crm::Reassignment,
    crm,
    brokeros_crm::reassign
);
id_post!(
    add_note,
    "lead.note",
    brokeros_crm::NewNote,
    crm,
    brokeros_crm::add_note
);
id_post!(
    add_task,
    "lead.task",
    brokeros_crm::NewTask,
    crm,
    brokeros_crm::add_task
);
id_post!(
    start_onboarding,
    "onboarding.start",
    brokeros_onboarding::StartOnboarding,
    onboarding,
    brokeros_onboarding::start
);
id_post!(
    decide_review,
    "review.decide",
    reviews::DecisionRequest,
    onboarding,
    reviews::decide
);

id_post!(
    create_deposit,
    "deposit.create",
    deposits::NewDeposit,
    payments,
    deposits::create
);
id_post!(
    set_profile,
    "client.profile",
    brokeros_onboarding::model::KycProfile,
    onboarding,
    brokeros_onboarding::profile_change::set_profile
);
id_post!(
    add_document,
    "client.document",
    clients::NewDocument,
    onboarding,
    clients::add_document
);

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

async fn client_kyc(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        clients::kyc_status(&state.services.onboarding, &p, &id).await?,
    ))
}

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

async fn jurisdiction_history(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let versions = kyc::jurisdiction_history(&state.services.onboarding, &p, &id).await?;
    Ok(axum::Json(json!({ "items": versions })))
}

/// The KYC provider's asynchronous results. Public: the provider's signature over the raw body
/// is the authentication, checked before anything is read or written.
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

async fn wallet_balances(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        wallet::balances(&state.services, &p, &id).await?,
    ))
}

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

/// A provider's settlement report (CSV body) reconciled against the ledger.
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

async fn recon_run(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let run = brokeros_recon::recon_run(&state.services, &p, &id).await?;
    Ok(axum::Json(json!(run)))
}

/// A client's deposits or onboardings (`T`), newest first.
async fn list_for_client<T: ClientRecord>(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        brokeros_onboarding::list_for_client::<T>(&state.services, &p, &id).await?,
    ))
}

/// One deposit or onboarding (`T`).
async fn get_for_client<T: ClientRecord>(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        brokeros_onboarding::get_for_client::<T>(&state.services, &p, &id).await?,
    ))
}

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

async fn get_review(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        reviews::get(&state.services.onboarding, &p, &id).await?,
    ))
}

async fn list_tasks(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        brokeros_crm::list_tasks(&state.services.crm, &p, &id).await?,
    ))
}

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

async fn get_client(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        clients::get_client(&state.services.onboarding, &p, &id).await?,
    ))
}

async fn me(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        clients::my_profile(&state.services.onboarding, &p).await?,
    ))
}

fn finish(routes: Router<AppState>, state: AppState) -> Router {
    edges(routes.route("/health", get(health)))
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

fn lead_capture() -> Router<AppState> {
    Router::new()
        .route("/leads", post(capture_lead))
        .route("/leads/consent/confirm", post(confirm_consent))
}

fn webhooks() -> Router<AppState> {
    Router::new()
        .route("/webhooks/kyc/{provider}", post(kyc_webhook))
        .route("/webhooks/psp/{provider}", post(psp_webhook))
}

fn crm() -> Router<AppState> {
    Router::new()
        .route("/leads", get(list_leads))
        .route("/leads/{id}", get(get_lead))
        .route("/leads/{id}/status", post(change_status))
        .route("/leads/{id}/assign", post(reassign))
        .route("/leads/{id}/notes", post(add_note))
        .route("/leads/{id}/tasks", post(add_task).get(list_tasks))
        .route("/leads/{id}/tasks/{task_id}/complete", post(complete_task))
        .route("/leads/{id}/timeline", get(timeline))
        .route("/leads/{id}/convert", post(convert))
        .route("/clients", post(register_client))
        .route("/clients/{id}", get(get_client))
        .route("/clients/{id}/profile", axum::routing::put(set_profile))
        .route("/clients/{id}/documents", post(add_document))
        .route("/clients/{id}/kyc", get(client_kyc))
        .route("/clients/{id}/wallet", get(wallet_balances))
        .route(
            "/clients/{id}/deposits",
            post(create_deposit).get(list_for_client::<Deposit>),
        )
        .route("/deposits/{id}", get(get_for_client::<Deposit>))
        .route(
            "/clients/{id}/withdrawals",
            post(withdrawal_routes::create).get(list_for_client::<Withdrawal>),
        )
        .route("/withdrawals/{id}", get(get_for_client::<Withdrawal>))
        .route(
            "/clients/{id}/transfers",
            post(transfer_routes::create).get(transfer_routes::list),
        )
        .route(
            "/clients/{id}/transfers/{transfer_id}",
            get(transfer_routes::get),
        )
        .route(
            "/withdrawals/{id}/approve",
            post(withdrawal_routes::approve),
        )
        .route("/withdrawals/{id}/reject", post(withdrawal_routes::reject))
        .route("/finance/withdrawals", get(withdrawal_routes::queue))
        .route(
            "/clients/{id}/wallet/{currency}/transactions",
            get(wallet_transactions),
        )
        .route("/clients/{id}/kyc/checks", get(client_kyc_checks))
        .route(
            "/compliance/jurisdictions",
            axum::routing::put(update_jurisdiction),
        )
        .route("/compliance/jurisdictions/{id}", get(jurisdiction_history))
        .route(
            "/payments/routing",
            get(payment_routes::routing_rules).put(payment_routes::update_routing_rules),
        )
        .route(
            "/payments/providers/{id}/health",
            axum::routing::put(payment_routes::set_provider_health),
        )
        .route("/recon/{provider}", post(reconcile))
        .route("/recon/runs/{id}", get(recon_run))
        .route("/me", get(me))
        .route(
            "/clients/{id}/onboarding",
            post(start_onboarding).get(list_for_client::<Onboarding>),
        )
        .route("/onboardings/{id}", get(get_for_client::<Onboarding>))
        .route("/compliance/reviews", get(review_queue))
        .route("/compliance/reviews/{id}", get(get_review))
        .route("/compliance/reviews/{id}/decision", post(decide_review))
        .merge(ib_routes::routes())
        .merge(contest_routes::routes())
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
    finish(
        lead_capture()
            .merge(crm())
            .merge(webhooks())
            .merge(crate::metrics::routes(access, refresh)),
        state,
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
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
