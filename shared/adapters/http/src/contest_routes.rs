//! The contest endpoints: the published contests anyone may read (`GET /contests`,
//! `GET /contests/{id}`), marketing's management of definitions and entries, and a client's
//! own entries.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use brokeros_contests::{definitions, entries, standings};
use serde_json::{Value, json};

use super::ApiReply;
use super::AppState;
use super::extract::{ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, query};

/// `POST /contests`: a new version of a contest (the first creates it as a draft).
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
    publish,
    "contest.publish",
    definitions::Publication,
    contests,
    definitions::publish
);
id_post!(
    cancel,
    "contest.cancel",
    definitions::Reason,
    contests,
    definitions::cancel
);
id_post!(
    register,
    "contest.register",
    entries::Registration,
    contests,
    entries::register
);
id_post!(
    enroll,
    "contest.enroll",
    entries::Enrollment,
    contests,
    entries::enroll
);

/// `GET /contests`: the public contests, each with its phase (anyone; no token is read).
async fn public_contests(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        definitions::public_contests(&state.services.contests, query(&uri)?).await?,
    ))
}

/// `GET /contests/{id}`: a public contest (anyone).
async fn public_contest(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        definitions::public_contest(&state.services.contests, &id).await?,
    ))
}

context_get!(contests, contests, query, definitions::contests);
context_get!(contest, contests, id, definitions::contest);
context_get!(my_entries, contests, query, entries::my_entries);

/// `GET /contests/{id}/versions/{n}`.
async fn version(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, n)): Path<(String, u32)>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        definitions::version(&state.services.contests, &p, &id, n).await?,
    ))
}

/// `GET /contests/{id}/entries`: the contest's entrants (marketing, admins).
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

/// `POST /contests/{id}/entries/{entrant}/disqualify` (`DISQUALIFY`) and `…/reinstate`, with
/// a reason.
async fn decide<const DISQUALIFY: bool>(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, entrant)): Path<(String, String)>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<definitions::Reason>,
) -> ApiResult<ApiReply> {
    let (verdict, operation) = if DISQUALIFY {
        (entries::Verdict::Disqualify, "contest.disqualify")
    } else {
        (entries::Verdict::Reinstate, "contest.reinstate")
    };
    let request = json!({ "id": id, "entrant": entrant, "body": body.raw });
    let key = idem.scoped(&p.sub, operation, request)?;
    Ok(entries::decide(
        &state.services.contests,
        &p,
        &id,
        &entrant,
        verdict,
        body.value,
        key.as_ref(),
        &correlation,
    )
    .await?
    .into())
}

/// `DELETE /contests/{id}/entries/{entrant}`: the client withdraws their entry.
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

/// `GET /contests/{id}/leaderboard`: a page of the latest leaderboard snapshot (anyone, once
/// the contest is published). Answers `304 Not Modified` when `If-None-Match` names the page
/// as it stands; caches may keep a page briefly (the next snapshot comes with the next
/// scoring run).
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

/// `GET /contests/{id}/entries/{entrant}/score`: an entrant's score and its explanation (the
/// client's own entry; any for contest managers).
async fn entrant_score(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((id, entrant)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(
        standings::entrant_score(&state.services.contests, &p, &id, &entrant).await?,
    ))
}

context_get!(flags, contests, id, standings::flags);
context_get!(prize_round, contests, id, standings::prize_round);

/// `POST /contests/{id}/flags/{pair}/review`: a hedging flag cleared or actioned, with a reason.
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

/// `POST /contests/{id}/prizes/decision`: finance approves or rejects the proposed prizes.
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

/// `POST /contests/{id}/prizes/proposal`: propose the prizes again after a rejection.
async fn propose_prizes(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiReply> {
    Ok(standings::propose_again(&state.services.contests, &p, &id)
        .await?
        .into())
}

/// `POST /contests/{id}/scoring`: a scoring run now.
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
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/contests", post(put_version).get(public_contests))
        .route("/contests/mine", get(my_entries))
        .route("/contests/{id}", get(public_contest))
        .route("/contests/{id}/publish", post(publish))
        .route("/contests/{id}/cancel", post(cancel))
        .route("/contests/{id}/versions/{n}", get(version))
        .route("/contests/{id}/entries", post(register).get(entrants))
        .route(
            "/contests/{id}/entries/{entrant}",
            axum::routing::delete(withdraw),
        )
        .route(
            "/contests/{id}/entries/{entrant}/disqualify",
            post(decide::<true>),
        )
        .route(
            "/contests/{id}/entries/{entrant}/reinstate",
            post(decide::<false>),
        )
        .route("/contests/{id}/enrollments", post(enroll))
        .route("/contests/{id}/leaderboard", get(leaderboard))
        .route("/contests/{id}/entries/{entrant}/score", get(entrant_score))
        .route("/contests/{id}/flags", get(flags))
        .route("/contests/{id}/flags/{pair}/review", post(review_flag))
        .route("/contests/{id}/prizes", get(prize_round))
        .route("/contests/{id}/prizes/decision", post(decide_prizes))
        .route("/contests/{id}/prizes/proposal", post(propose_prizes))
        .route("/contests/{id}/scoring", post(score_now))
        .route("/marketing/contests", get(contests))
        .route("/marketing/contests/{id}", get(contest))
}
