//! The copy trading endpoints: a provider proposes strategies and sees their followers; a
//! follower subscribes, changes their subscription and reads their copied trades with the
//! reasons; admins approve, suspend and reinstate strategies and list them in any status.

use axum::Json;
use axum::extract::{Path, State};
use brokeros_copy::model::{CopiedTrade, Strategy, Subscription};
use brokeros_copy::{strategies, subscriptions};
use brokeros_kernel::{Page, PageParams, QueueFilter};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiReply;
use super::AppState;
use super::extract::{ApiResult, Caller, CorrelationId, IdempotencyHeader, JsonBody, query};

/// A provider (a client) proposes one of their trading accounts as a strategy, waiting for an
/// admin's approval.
#[utoipa::path(post, path = "/copy/strategies", params(IdempotencyHeader),
    request_body = strategies::NewStrategy,
    responses((status = 201, body = Strategy), (status = 404, description = "the caller is no client, or the account is not theirs", body = brokeros_kernel::error::ErrorBody)))]
async fn propose_copy_strategy(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<strategies::NewStrategy>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "copy.strategy.propose", body.raw)?;
    let copy = &state.services.copy;
    Ok(
        strategies::propose(copy, &p, body.value, key.as_ref(), &correlation)
            .await?
            .into(),
    )
}

/// Strategies by status, newest first: clients the active ones (what they may follow), admins
/// any status (`status`, active unless given).
#[utoipa::path(get, path = "/copy/strategies", params(QueueFilter),
    responses((status = 200, body = Page<Strategy>)))]
async fn copy_strategies(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<Json<Page<Strategy>>> {
    let filter: QueueFilter = query(&uri)?;
    let copy = &state.services.copy;
    let page = strategies::strategies(
        copy,
        &p,
        filter.status.as_deref(),
        filter.limit,
        filter.cursor,
    )
    .await?;
    Ok(Json(page))
}

/// The calling provider's strategies, newest first.
#[utoipa::path(get, path = "/copy/strategies/mine", params(PageParams),
    responses((status = 200, body = Page<Strategy>), (status = 404, description = "the caller is no client", body = brokeros_kernel::error::ErrorBody)))]
async fn my_copy_strategies(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<Json<Page<Strategy>>> {
    let page: PageParams = query(&uri)?;
    let copy = &state.services.copy;
    Ok(Json(
        strategies::my_strategies(copy, &p, page.limit, page.cursor).await?,
    ))
}

/// One strategy: an active one for clients, their own for its provider, any for admins.
#[utoipa::path(get, path = "/copy/strategies/{id}", responses((status = 200, body = Strategy)))]
async fn copy_strategy(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Strategy>> {
    Ok(Json(
        strategies::strategy(&state.services.copy, &p, &id).await?,
    ))
}

/// An admin other than its proposer approves a strategy: its deals are copied from now on.
#[utoipa::path(post, path = "/copy/strategies/{id}/approve", params(IdempotencyHeader),
    responses((status = 200, body = Strategy)))]
async fn approve_copy_strategy(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "copy.strategy.approve", json!({ "id": id }))?;
    let copy = &state.services.copy;
    let approve = strategies::Governance::Approve;
    Ok(
        strategies::govern(copy, &p, &id, approve, None, key.as_ref(), &correlation)
            .await?
            .into(),
    )
}

id_post!(
    /// An admin suspends a strategy, with a reason: its deals are no longer copied.
    #[utoipa::path(post, path = "/copy/strategies/{id}/suspend", params(IdempotencyHeader),
        request_body = strategies::Reason,
        responses((status = 200, body = Strategy)))]
    suspend_copy_strategy,
    "copy.strategy.suspend",
    strategies::Reason,
    copy,
    strategies::suspend
);
id_post!(
    /// An admin reinstates a suspended strategy, with a reason.
    #[utoipa::path(post, path = "/copy/strategies/{id}/reinstate", params(IdempotencyHeader),
        request_body = strategies::Reason,
        responses((status = 200, body = Strategy)))]
    reinstate_copy_strategy,
    "copy.strategy.reinstate",
    strategies::Reason,
    copy,
    strategies::reinstate
);

/// A strategy's followers, newest first: its provider's, or any for admins.
#[utoipa::path(get, path = "/copy/strategies/{id}/followers", params(PageParams),
    responses((status = 200, body = Page<Subscription>)))]
async fn copy_followers(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<Json<Page<Subscription>>> {
    let page: PageParams = query(&uri)?;
    let copy = &state.services.copy;
    Ok(Json(
        subscriptions::followers(copy, &p, &id, page.limit, page.cursor).await?,
    ))
}

/// A follower (a client) subscribes one of their trading accounts to an active strategy in a
/// sizing mode, with an optional maximum loss.
#[utoipa::path(post, path = "/copy/subscriptions", params(IdempotencyHeader),
    request_body = subscriptions::NewSubscription,
    responses((status = 201, body = Subscription), (status = 404, description = "the caller is no client, the account is not theirs, or the strategy is unknown", body = brokeros_kernel::error::ErrorBody)))]
async fn subscribe_to_strategy(
    State(state): State<AppState>,
    Caller(p): Caller,
    idem: IdempotencyHeader,
    CorrelationId(correlation): CorrelationId,
    body: JsonBody<subscriptions::NewSubscription>,
) -> ApiResult<ApiReply> {
    let key = idem.scoped(&p.sub, "copy.subscribe", body.raw)?;
    let copy = &state.services.copy;
    Ok(
        subscriptions::subscribe(copy, &p, body.value, key.as_ref(), &correlation)
            .await?
            .into(),
    )
}

/// The caller's subscriptions, newest first.
#[utoipa::path(get, path = "/copy/subscriptions/mine", params(PageParams),
    responses((status = 200, body = Page<Subscription>), (status = 404, description = "the caller is no client", body = brokeros_kernel::error::ErrorBody)))]
async fn my_copy_subscriptions(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<Json<Page<Subscription>>> {
    let page: PageParams = query(&uri)?;
    let copy = &state.services.copy;
    Ok(Json(
        subscriptions::my_subscriptions(copy, &p, page.limit, page.cursor).await?,
    ))
}

id_post!(
    /// The follower changes their subscription: its sizing mode, a pause, a resumption, or
    /// its end (with the refund of the unused subscription fee).
    #[utoipa::path(post, path = "/copy/subscriptions/{id}/changes", params(IdempotencyHeader),
        request_body = subscriptions::Change,
        responses((status = 200, body = Subscription)))]
    change_copy_subscription,
    "copy.subscription.change",
    subscriptions::Change,
    copy,
    subscriptions::change
);

/// A subscription's copied trades in the provider's deal order, each opened, closed, skipped
/// or failed with the reason and the copy delay: its follower's, or any for admins.
#[utoipa::path(get, path = "/copy/subscriptions/{id}/trades", params(PageParams),
    responses((status = 200, body = Page<CopiedTrade>)))]
async fn copied_trades(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<Json<Page<CopiedTrade>>> {
    let page: PageParams = query(&uri)?;
    let copy = &state.services.copy;
    Ok(Json(
        subscriptions::copied_trades(copy, &p, &id, page.limit, page.cursor).await?,
    ))
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(propose_copy_strategy, copy_strategies))
        .routes(routes!(my_copy_strategies))
        .routes(routes!(copy_strategy))
        .routes(routes!(approve_copy_strategy))
        .routes(routes!(suspend_copy_strategy))
        .routes(routes!(reinstate_copy_strategy))
        .routes(routes!(copy_followers))
        .routes(routes!(subscribe_to_strategy))
        .routes(routes!(my_copy_subscriptions))
        .routes(routes!(change_copy_subscription))
        .routes(routes!(copied_trades))
}
