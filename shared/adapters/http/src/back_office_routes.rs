//! The back office's reads that summarize rather than list: the lead funnel, audit search and
//! download, and the principals that acted in the audit trail.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::extract::{ApiResult, Caller, query};
use brokeros_kernel::Error;
use brokeros_kernel::audit_search::{AuditSearch, DaysFilter, ExportFilter};

/// How many leads of a brand are in each status (sales: their own leads; admins: all), created
/// in the period if given. `counted_by` says how: counts on the status index (no lead read),
/// or every lead of the agent or country read (see `brokeros_crm::lead_funnel`).
#[utoipa::path(get, path = "/leads/funnel", params(brokeros_crm::FunnelFilter),
    responses((status = 200, body = brokeros_crm::LeadFunnel)))]
async fn lead_funnel(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<brokeros_crm::LeadFunnel>> {
    let filter: brokeros_crm::FunnelFilter = query(&uri)?;
    Ok(axum::Json(
        brokeros_crm::lead_funnel(&state.services.crm, &p, filter).await?,
    ))
}

/// An entity type that writes audit events: the contract lists them
/// (`brokeros_app::audit::ENTITY_TYPES`), so a client offers only those.
struct AuditedEntityType;

impl utoipa::PartialSchema for AuditedEntityType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(brokeros_app::audit::ENTITY_TYPES))
            .into()
    }
}

impl utoipa::ToSchema for AuditedEntityType {}

/// Audit search (admins and compliance): an entity's stream (`entity_type` and `entity_id`,
/// oldest first: its sequence), a UTC day's events (`day`, in time order, read from the audit
/// table's day index; `entity_type` alone narrows them to a type), or an entity's events of a
/// day; `actor_id` keeps one actor's. Events as stored. A page holds at most `limit` events;
/// with filters it reads pages of `limit` stored events until one keeps some (at most 10), so
/// it may hold fewer, or none, and still have a `next`. An entity without events is an empty
/// page, as a search that finds nothing.
#[utoipa::path(get, path = "/audit/events", params(
        ("entity_type" = inline(Option<AuditedEntityType>), Query, description = "The entity's type. With `entity_id`: that entity's stream; with `day` alone: that day's events of this type only."),
        ("entity_id" = Option<String>, Query, description = "The entity's id (with `entity_type`)."),
        ("day" = Option<String>, Query, description = "A UTC day, `YYYY-MM-DD`: that day's events in time order (with an entity: its events of that day)."),
        ("actor_id" = Option<String>, Query, description = "Only the events of this actor (a user's subject, `public:<channel>`, a workflow execution)."),
        ("limit" = Option<u32>, Query, description = "Stored events read for the page: 1 to 200, 50 by default."),
        ("cursor" = Option<String>, Query, description = "The `next` of the page before."),
    ),
    responses((status = 200, body = brokeros_kernel::Page<brokeros_kernel::audit::AuditEvent>)))]
async fn audit_events(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<brokeros_kernel::Page<serde_json::Value>>> {
    let search: AuditSearch = query(&uri)?;
    Ok(axum::Json(
        brokeros_app::audit::search(&state.services, &p, search).await?,
    ))
}

/// A signed download of the audit trail (admins and compliance): an entity's whole stream or
/// the events of at most 31 UTC days, as one JSON document — the manifest signed with the
/// audit key and the NDJSON, CSV and heads files it vouches for, as `brokeros audit export`
/// writes them; `brokeros audit verify FILE.json --public-key KEY` checks it. Built in memory:
/// a selection larger than 5 MB is refused (400 `export_too_large`).
#[utoipa::path(get, path = "/audit/export", params(
        ("entity_type" = inline(Option<AuditedEntityType>), Query, description = "The entity's type (with `entity_id`): its whole stream."),
        ("entity_id" = Option<String>, Query, description = "The entity's id (with `entity_type`)."),
        ("from" = Option<String>, Query, description = "The first UTC day, `YYYY-MM-DD` (without an entity)."),
        ("to" = Option<String>, Query, description = "The last UTC day, `YYYY-MM-DD` (at most 31 days from `from`, counting both)."),
    ),
    responses((status = 200, body = brokeros_kernel::audit_export::ExportBundle,
        headers(("content-disposition" = String, description = "attachment; the file's name")))))]
async fn audit_export(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<impl axum::response::IntoResponse> {
    let filter: ExportFilter = query(&uri)?;
    let signer = state
        .audit_signer
        .clone()
        .ok_or_else(|| Error::Unavailable("no audit signer in this function".into()))?;
    let name = match (&filter.entity_type, &filter.entity_id) {
        (Some(t), Some(id)) => format!("{t}-{id}"),
        _ => format!(
            "{}-{}",
            filter.from.as_deref().unwrap_or_default(),
            filter.to.as_deref().unwrap_or_default()
        ),
    };
    let bundle = brokeros_app::audit::export(&state.services, &p, filter, signer.as_ref()).await?;
    // The name's parts passed the selection's checks; anything but a safe character goes.
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [(
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"audit-{name}.json\""),
        )],
        axum::Json(bundle),
    ))
}

/// The users and roles in use (admins and compliance): every principal that acted over the UTC
/// days `from` to `to` (at most 31), with the roles on its events, how many and when. Reads
/// every audit event of the period from the day index once (its actor and time only): the cost
/// is the period's events.
#[utoipa::path(get, path = "/audit/actors", params(DaysFilter),
    responses((status = 200, body = brokeros_kernel::audit_search::ActorsInUse)))]
async fn audit_actors(
    State(state): State<AppState>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<brokeros_kernel::audit_search::ActorsInUse>> {
    let filter: DaysFilter = query(&uri)?;
    Ok(axum::Json(
        brokeros_app::audit::actors(&state.services, &p, filter).await?,
    ))
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lead_funnel))
        .routes(routes!(audit_events))
        .routes(routes!(audit_export))
        .routes(routes!(audit_actors))
}
