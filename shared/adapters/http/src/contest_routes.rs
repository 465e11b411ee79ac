//! The contest endpoints: the published contests anyone may read (`GET /contests`,
//! `GET /contests/{id}`), marketing's management of definitions and entries, and a client's
//! own entries.

use axum::extract::{Path, State};
use brokeros_contests::{definitions, entries, standings};
use brokeros_kernel::{PageParams, QueueFilter};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiReply;
use super::AppState;
use super::extract::{ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, query};

/// A new version of a contest's definition (the first creates it as a draft): a
/// `ContestDefinition` document, checked as a whole by the contests context.
#[utoipa::path(post, path = "/contests", params(IdempotencyHeader),
    request_body = brokeros_contests::model::definition::ContestDefinition,
    responses((status = 201, body = crate::answers::ContestView)))]
async fn put_version(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<Value>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "contest.version", body.raw)?;
    Ok(definitions::put_version(
        &state.services.contests,
        &p,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

id_post!(
    /// Publishes a draft contest while its registration is open.
    #[utoipa::path(post, path = "/contests/{id}/publish", params(IdempotencyHeader),
        request_body = definitions::Publication,
        responses((status = 200, body = crate::answers::ContestView)))]
    publish,
    "contest.publish",
    definitions::Publication,
    contests,
    definitions::publish
);
id_post!(
    /// Cancels a contest before its start, with a reason.
    #[utoipa::path(post, path = "/contests/{id}/cancel", params(IdempotencyHeader),
        request_body = definitions::Reason,
        responses((status = 200, body = crate::answers::ContestView)))]
    cancel,
    "contest.cancel",
    definitions::Reason,
    contests,
    definitions::cancel
);
id_post!(
    /// A client enters a contest with one of their trading accounts, or a dedicated one.
    #[utoipa::path(post, path = "/contests/{id}/entries", params(IdempotencyHeader),
        request_body = entries::Registration,
        responses((status = 201, body = brokeros_contests::model::entrant::ContestEntrant)))]
    register,
    "contest.register",
    entries::Registration,
    contests,
    entries::register
);
id_post!(
    /// Marketing enrols a client's account.
    #[utoipa::path(post, path = "/contests/{id}/enrollments", params(IdempotencyHeader),
        request_body = entries::Enrollment,
        responses((status = 201, body = brokeros_contests::model::entrant::ContestEntrant)))]
    enroll,
    "contest.enroll",
    entries::Enrollment,
    contests,
    entries::enroll
);

/// The published contests, each with its phase (anyone; no token is read).
#[utoipa::path(get, path = "/contests", params(PageParams),
    responses((status = 200, body = brokeros_kernel::Page<crate::answers::PublicContest>)))]
async fn public_contests(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        definitions::public_contests(&state.services.contests, query(&uri)?).await?,
    ))
}

/// A published contest (anyone).
#[utoipa::path(get, path = "/contests/{id}", responses((status = 200, body = crate::answers::PublicContest)))]
async fn public_contest(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        definitions::public_contest(&state.services.contests, &id).await?,
    ))
}

context_get!(
    /// Contests in every status, for marketing (`status` filters).
    #[utoipa::path(get, path = "/marketing/contests", params(QueueFilter),
        responses((status = 200, body = brokeros_kernel::Page<crate::answers::ContestView>)))]
    contests,
    contests,
    query,
    definitions::contests
);
context_get!(
    /// A contest in any status, with its versions, for marketing.
    #[utoipa::path(get, path = "/marketing/contests/{id}", responses((status = 200, body = crate::answers::ContestView)))]
    contest,
    contests,
    id,
    definitions::contest
);
context_get!(
    /// The caller's own contest entries.
    #[utoipa::path(get, path = "/contests/mine", params(PageParams),
        responses((status = 200, body = brokeros_kernel::Page<brokeros_contests::model::entrant::ContestEntrant>)))]
    my_entries,
    contests,
    query,
    entries::my_entries
);

/// One version of a contest's definition.
#[utoipa::path(get, path = "/contests/{id}/versions/{n}", responses((status = 200, body = crate::answers::ContestVersion)))]
async fn version(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, n)): Path<(String, u32)>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        definitions::version(&state.services.contests, &p, &id, n).await?,
    ))
}

/// A contest's entrants (marketing, admins).
#[utoipa::path(get, path = "/contests/{id}/entries", params(PageParams),
    responses((status = 200, body = brokeros_kernel::Page<brokeros_contests::model::entrant::ContestEntrant>)))]
async fn entrants(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        entries::entrants(&state.services.contests, &p, &id, query(&uri)?).await?,
    ))
}

/// Marketing's verdict on an entrant, with a reason.
async fn decide(
    state: &AppState,
    p: &brokeros_kernel::principal::Principal,
    (id, entrant): (String, String),
    idem: IdempotencyHeader,
    correlation: &str,
    verdict: entries::Verdict,
    body: JsonBody<definitions::Reason>,
) -> ApiResult<ApiReply> {
    let operation = match &verdict {
        entries::Verdict::Disqualify => "contest.disqualify",
        entries::Verdict::Reinstate => "contest.reinstate",
    };
    let request = json!({ "id": id, "entrant": entrant, "body": body.raw });
    let key = idem.scoped(&p.sub, operation, request)?;
    Ok(entries::decide(
        &state.services.contests,
        p,
        &id,
        &entrant,
        verdict,
        body.value,
        key.as_ref(),
        correlation,
    )
    .await?
    .into())
}

/// Disqualifies an entrant, with a reason.
#[utoipa::path(post, path = "/contests/{id}/entries/{entrant}/disqualify", params(IdempotencyHeader),
    request_body = definitions::Reason,
    responses((status = 200, body = brokeros_contests::model::entrant::ContestEntrant)))]
async fn disqualify_entrant(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(path): Path<(String, String)>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<definitions::Reason>,
) -> ApiResult<ApiReply> {
    let verdict = entries::Verdict::Disqualify;
    decide(&state, &p, path, idem, &correlation, verdict, body).await
}

/// Reinstates a disqualified entrant, with a reason.
#[utoipa::path(post, path = "/contests/{id}/entries/{entrant}/reinstate", params(IdempotencyHeader),
    request_body = definitions::Reason,
    responses((status = 200, body = brokeros_contests::model::entrant::ContestEntrant)))]
async fn reinstate_entrant(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(path): Path<(String, String)>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<definitions::Reason>,
) -> ApiResult<ApiReply> {
    let verdict = entries::Verdict::Reinstate;
    decide(&state, &p, path, idem, &correlation, verdict, body).await
}

/// The client withdraws their entry.
#[utoipa::path(delete, path = "/contests/{id}/entries/{entrant}", params(IdempotencyHeader),
    responses((status = 200, body = brokeros_contests::model::entrant::ContestEntrant)))]
async fn withdraw(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, entrant)): Path<(String, String)>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
) -> ApiResult<ApiReply> {
    let request = json!({ "id": id, "entrant": entrant });
    let key = idem.scoped(&p.sub, "contest.withdraw", request)?;
    Ok(entries::withdraw(
        &state.services.contests,
        &p,
        &id,
        &entrant,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

/// A page of the latest leaderboard snapshot (anyone, once the contest is published). Answers
/// `304 Not Modified` when `If-None-Match` names the page as it stands; caches may keep a page
/// briefly (the next snapshot comes with the next scoring run).
#[utoipa::path(get, path = "/contests/{id}/leaderboard",
    params(PageParams, ("If-None-Match" = Option<String>, Header, description = "the ETag of a page held")),
    responses(
        (status = 200, body = crate::answers::Leaderboard, headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "the page held is current", headers(("ETag" = String), ("Cache-Control" = String))),
    ))]
async fn leaderboard(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<axum::response::Response> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let page: brokeros_kernel::PageParams = query(&uri)?;
    let quoted = |tag: &str| format!("\"{tag}\"");
    let held = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_current = |tag: &str| {
        held.split(',')
            .any(|t| t.trim() == quoted(tag) || t.trim() == "*")
    };
    let (tag, body) =
        standings::leaderboard(&state.services.contests, &id, &page, is_current).await?;
    let cache = [
        (header::ETAG, quoted(&tag)),
        (header::CACHE_CONTROL, "public, max-age=15".to_string()),
    ];
    Ok(match body {
        Some(body) => (cache, axum::Json(body)).into_response(),
        None => (StatusCode::NOT_MODIFIED, cache).into_response(),
    })
}

/// An entrant's score and its explanation (the client's own entry; any for contest managers).
#[utoipa::path(get, path = "/contests/{id}/entries/{entrant}/score",
    responses((status = 200, body = crate::answers::EntrantScore)))]
async fn entrant_score(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, entrant)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        standings::entrant_score(&state.services.contests, &p, &id, &entrant).await?,
    ))
}

context_get!(
    /// A contest's hedging flags (never disqualifications by themselves).
    #[utoipa::path(get, path = "/contests/{id}/flags", responses((status = 200, body = brokeros_kernel::Items<brokeros_contests::live::HedgeReviewFlag>)))]
    flags,
    contests,
    id,
    standings::flags
);
context_get!(
    /// A contest's prize round: the proposed awards and the decision.
    #[utoipa::path(get, path = "/contests/{id}/prizes", responses((status = 200, body = brokeros_contests::prizes::PrizeRound)))]
    prize_round,
    contests,
    id,
    standings::prize_round
);

/// A hedging flag cleared or actioned, with a reason.
#[utoipa::path(post, path = "/contests/{id}/flags/{pair}/review", params(IdempotencyHeader),
    request_body = standings::FlagDecision,
    responses((status = 200, body = brokeros_contests::live::HedgeReviewFlag)))]
async fn review_flag(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, pair)): Path<(String, String)>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<standings::FlagDecision>,
) -> ApiResult<ApiReply> {
    let request = json!({ "id": id, "pair": pair, "body": body.raw });
    let key = idem.scoped(&p.sub, "contest.flag_review", request)?;
    Ok(standings::review_flag(
        &state.services.contests,
        &p,
        &id,
        &pair,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

/// Finance approves or rejects the proposed prizes (not the contest's publisher).
#[utoipa::path(post, path = "/contests/{id}/prizes/decision",
    request_body = standings::PrizeDecision,
    responses((status = 200, body = brokeros_contests::prizes::PrizeRound)))]
async fn decide_prizes(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<standings::PrizeDecision>,
) -> ApiResult<ApiReply> {
    Ok(
        standings::decide_prizes(&state.services.contests, &p, &id, body.value, &correlation)
            .await?
            .into(),
    )
}

/// Proposes the prizes again after a rejection.
#[utoipa::path(post, path = "/contests/{id}/prizes/proposal",
    responses((status = 202, body = crate::answers::ExecutionStarted)))]
async fn propose_prizes(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiReply> {
    Ok(standings::propose_again(&state.services.contests, &p, &id)
        .await?
        .into())
}

/// A scoring run now (the contest-scoring workflow).
#[utoipa::path(post, path = "/contests/{id}/scoring",
    responses((status = 202, body = crate::answers::ExecutionStarted)))]
async fn score_now(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiReply> {
    Ok(standings::score_now(&state.services.contests, &p, &id)
        .await?
        .into())
}

/// The contest routes.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_version, public_contests))
        .routes(routes!(my_entries))
        .routes(routes!(public_contest))
        .routes(routes!(publish))
        .routes(routes!(cancel))
        .routes(routes!(version))
        .routes(routes!(register, entrants))
        .routes(routes!(withdraw))
        .routes(routes!(disqualify_entrant))
        .routes(routes!(reinstate_entrant))
        .routes(routes!(enroll))
        .routes(routes!(leaderboard))
        .routes(routes!(entrant_score))
        .routes(routes!(flags))
        .routes(routes!(review_flag))
        .routes(routes!(prize_round))
        .routes(routes!(decide_prizes))
        .routes(routes!(propose_prizes))
        .routes(routes!(score_now))
        .routes(routes!(contests))
        .routes(routes!(contest))
}
