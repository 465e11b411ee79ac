//! Contest definitions as versioned configuration in the store, and their life.
//!
//! A contest is a JSON document ([`ContestDefinition`] says what it holds and checks it).
//! Marketing and admins store its versions: version 1 creates the contest as a draft; each
//! later version is the last plus 1 and passes the change rules at the clock's now (before the
//! contest starts anything may change; once it runs only what cannot alter a published
//! ranking). Each contest has an audited record (`contest/<id>`: status, the version in force
//! and its definition, every version's digest, time and author) and one immutable item per
//! version's text; the record, the text and the audit event — which names every changed field
//! of the definition — commit together. A draft is published while registration has not
//! closed, or cancelled before the contest starts.
//!
//! Two published contests whose periods overlap may not share a dedicated account group or an
//! enrolment campaign (409 `overlapping_contest`): publications, cancellations and new versions
//! of published contests keep a keyed catalog of those contests under its version, so two
//! publications that race cannot both pass.

use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{
    Answer, Core, Error, OpContext, PageParams, QueueFilter, Result, normalize, page_limit,
    user_ctx,
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::Services;
use crate::model::definition::AccountMode;
use crate::model::{ContestDefinition, ContestRecord, ContestStatus, Phase};
use crate::repo::{self, Listing};

/// Who runs contests: marketing and admins.
pub const MANAGERS: [Role; 2] = [Role::Marketing, Role::Admin];

/// The largest contest document taken: its record and audit event hold it more than once.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// A contest as anyone may see it: its definition, status and where it is in time.
pub fn public_view(record: &ContestRecord, now: OffsetDateTime) -> Value {
    json!({
        "id": record.id,
        "status": record.status,
        "version": record.version,
        "phase": Phase::at(&record.definition, now),
        "registration_open": record.check_registration_open(now).is_ok(),
        "definition": record.definition,
    })
}

/// A contest as marketing sees it: the whole record, with where it is in time.
pub fn staff_view(record: &ContestRecord, now: OffsetDateTime) -> Value {
    let mut view = serde_json::to_value(record).expect("contest records serialize");
    view["phase"] = json!(Phase::at(&record.definition, now));
    view["registration_open"] = json!(record.check_registration_open(now).is_ok());
    view
}

/// The checks of a definition that need the broker's configuration: a dedicated contest account
/// opens in the contest's currency, which must be a trading account currency, and in a group
/// of the contest's mode (demo groups are told by `contests.demo_group_prefixes`).
fn check_against_config(services: &Services, definition: &ContestDefinition) -> Result<()> {
    let Some(account) = &definition.contest_account else {
        return Ok(());
    };
    if brokeros_trading::currency_spec(&definition.currency).is_none() {
        return Err(Error::invalid(
            "invalid_contest",
            "currency",
            format!(
                "no trading account opens in {}: a contest with a dedicated account is in an account currency",
                definition.currency
            ),
        ));
    }
    let demo = services.config.is_demo_group(&account.group);
    if demo != (definition.mode == AccountMode::Demo) {
        return Err(Error::invalid(
            "contest_account_mode_mismatch",
            "contest_account.group",
            format!(
                "group {} holds {} accounts; the contest is for {} ones",
                account.group,
                if demo { "demo" } else { "live" },
                if demo { "live" } else { "demo" }
            ),
        ));
    }
    Ok(())
}

/// Stages the catalog of published contests with `record` as it now stands (listed while
/// published, off the catalog otherwise), refused with `overlapping_contest` when a published
/// contest whose period overlaps holds its group or campaign.
async fn stage_catalog(
    core: &Core,
    record: &ContestRecord,
    now: OffsetDateTime,
    changes: &mut Changeset,
) -> Result<()> {
    let (mut catalog, read_version) = repo::catalog(core).await?;
    let changed = if record.status == ContestStatus::Published {
        catalog.check_overlap(&record.definition)?;
        catalog.put(&record.definition, now)
    } else {
        catalog.remove(&record.id, now)
    };
    if changed {
        changes.put(repo::catalog_put(&catalog, read_version)?);
    }
    Ok(())
}

/// Stores a new version of a contest (the first creates it, as a draft). Answers the
/// contest's record.
///
/// Errors: `Forbidden`; `Validation` (the document's field, `contest_account_mode_mismatch`);
/// `Conflict` `contest_version_conflict`, `started_contest_rules_locked`, `contest_ended`,
/// `contest_cancelled`, `overlapping_contest`.
pub async fn put_version(
    services: &Services,
    principal: &Principal,
    document: Value,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&MANAGERS, "change contests")?;
    let text = serde_json::to_string(&document).map_err(|e| Error::Internal(e.to_string()))?;
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::invalid(
            "invalid_contest",
            "contest",
            format!("a contest document is at most {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    let definition = ContestDefinition::from_value(&document)?;
    check_against_config(services, &definition)?;
    let sha256 = brokeros_kernel::canonical::sha256_hex(text.as_bytes());
    let core: &Core = services;
    let (definition, text, sha256) = (&definition, &text, &sha256);
    execute(core, key, move || {
        Box::pin(async move {
            let ctx = user_ctx(core, principal, correlation_id);
            let mut changes = Changeset::new();
            let record = match core.find::<ContestRecord>(&definition.id).await? {
                None => {
                    let record = ContestRecord::draft(
                        definition.clone(),
                        sha256.clone(),
                        &principal.sub,
                        ctx.now,
                    )?;
                    changes.create(&ctx, core.ids.as_ref(), &record, "contest.created")?;
                    record
                }
                Some(stored) => {
                    let mut record = stored.entity.clone();
                    let changed = record.add_version(
                        definition.clone(),
                        sha256.clone(),
                        &principal.sub,
                        ctx.now,
                    )?;
                    if record.status == ContestStatus::Published {
                        stage_catalog(core, &record, ctx.now, &mut changes).await?;
                    }
                    changes.update(
                        &ctx,
                        core.ids.as_ref(),
                        &stored,
                        &record,
                        "contest.version_added",
                        changed,
                    )?;
                    record
                }
            };
            changes.put(repo::version_put(&record.id, record.version, text));
            Ok((Answer::created(staff_view(&record, ctx.now)), changes))
        })
    })
    .await
}

/// The body of a publication: nothing to say.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Publication {}

/// Publishes a draft, while its registration has not closed.
///
/// Errors: `Forbidden`, `NotFound`; `Conflict` `already_published`, `contest_cancelled`,
/// `registration_closed`, `overlapping_contest`.
pub async fn publish(
    services: &Services,
    principal: &Principal,
    id: &str,
    _: Publication,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&MANAGERS, "publish contests")?;
    change(
        services,
        principal,
        id,
        key,
        correlation_id,
        "contest.published",
        |record, ctx| record.publish(&principal.sub, ctx.now),
    )
    .await
}

/// Why something is done.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ContestDecisionReason)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

impl Reason {
    /// The reason trimmed: 1 to 500 characters without control characters.
    pub fn checked(&self) -> Result<String> {
        normalize::required_text("reason", &self.reason, 500)
    }
}

/// Cancels a draft or published contest, before it starts.
///
/// Errors: `Forbidden`, `NotFound`; `Validation` `reason`; `Conflict` `contest_started`,
/// `contest_cancelled`.
pub async fn cancel(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Reason,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&MANAGERS, "cancel contests")?;
    let reason = body.checked()?;
    change(
        services,
        principal,
        id,
        key,
        correlation_id,
        "contest.cancelled",
        |record, ctx| record.cancel(reason.clone(), &principal.sub, ctx.now),
    )
    .await
}

/// Changes contest `id`'s record as `decide` says, with its audit event `action` and the
/// catalog of published contests as the change leaves it.
async fn change(
    services: &Services,
    principal: &Principal,
    id: &str,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
    action: &str,
    decide: impl Fn(&mut ContestRecord, &OpContext) -> Result<()> + Send + Sync,
) -> Result<Answer> {
    let core: &Core = services;
    let decide = &decide;
    execute(core, key, move || {
        Box::pin(async move {
            let ctx = user_ctx(core, principal, correlation_id);
            let stored: Audited<ContestRecord> = core.get(id).await?;
            let mut record = stored.entity.clone();
            decide(&mut record, &ctx)?;
            let mut changes = Changeset::new();
            stage_catalog(core, &record, ctx.now, &mut changes).await?;
            changes.update(&ctx, core.ids.as_ref(), &stored, &record, action, vec![])?;
            Ok((Answer::done(staff_view(&record, ctx.now)), changes))
        })
    })
    .await
}

/// A page of the contests anyone may see (published and after, not cancelled), the latest
/// start first, each with its phase.
pub async fn public_contests(services: &Services, page: PageParams) -> Result<Value> {
    let limit = page_limit(page.limit)?;
    let now = services.clock.now();
    repo::contests_page(services, Listing::Public, limit, page.cursor, |record| {
        public_view(record, now)
    })
    .await
}

/// Contest `id` as anyone may see it: once published (a draft or a cancelled contest is not
/// found).
pub async fn public_contest(services: &Services, id: &str) -> Result<Value> {
    let record = services.get::<ContestRecord>(id).await?.entity;
    if !record.status.is_public() {
        return Err(Error::NotFound {
            entity: "contest",
            id: id.to_string(),
        });
    }
    Ok(public_view(&record, services.clock.now()))
}

/// A page of every contest, or those in `status`, newest first (marketing, admins).
pub async fn contests(
    services: &Services,
    principal: &Principal,
    filter: QueueFilter,
) -> Result<Value> {
    principal.require_any(&MANAGERS, "manage contests")?;
    let limit = page_limit(filter.limit)?;
    let status = filter
        .status
        .as_deref()
        .map(|s| ContestStatus::parse("status", s))
        .transpose()?;
    let listing = match status {
        Some(status) => Listing::InStatus(status.as_str()),
        None => Listing::All,
    };
    let now = services.clock.now();
    repo::contests_page(services, listing, limit, filter.cursor, |record| {
        staff_view(record, now)
    })
    .await
}

/// Contest `id`'s record, whatever its status (marketing, admins).
pub async fn contest(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    principal.require_any(&MANAGERS, "manage contests")?;
    let record = services.get::<ContestRecord>(id).await?.entity;
    Ok(staff_view(&record, services.clock.now()))
}

/// Version `version` of contest `id` as stored, with who stored it and when (marketing,
/// admins).
pub async fn version(
    services: &Services,
    principal: &Principal,
    id: &str,
    version: u32,
) -> Result<Value> {
    principal.require_any(&MANAGERS, "manage contests")?;
    let record = services.get::<ContestRecord>(id).await?.entity;
    let not_found = || Error::NotFound {
        entity: "contest version",
        id: format!("{id} v{version}"),
    };
    let listed = record
        .versions
        .iter()
        .find(|v| v.version == version)
        .ok_or_else(not_found)?;
    let text = repo::version_text(services, id, version)
        .await?
        .ok_or_else(|| {
            Error::Internal(format!(
                "contest {id} lists version {version}, which is not stored"
            ))
        })?;
    let document: Value = serde_json::from_str(&text)
        .map_err(|e| Error::Internal(format!("a stored contest version is unreadable: {e}")))?;
    let mut view = serde_json::to_value(listed).expect("version refs serialize");
    view["id"] = json!(id);
    view["definition"] = document;
    Ok(view)
}
