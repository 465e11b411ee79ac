//! Audit search for the back office: one entity's stream, or one UTC day's events (the audit
//! table's day index), a page at a time; the principals that acted over a period; and what a
//! signed download selects. Events are answered as stored (redacted when written).
//!
//! Every read is bounded: a page holds at most `limit` events; with filters (a type within a
//! day, an actor, a day of a stream) it reads pages of `limit` stored events until one keeps
//! some, at most [`FILTERED_READS`] of them, so a page may hold fewer than `limit`, or none
//! when that many found nothing, with a `next` to follow; a period is at most [`MAX_DAYS`] UTC
//! days of the day index.

use std::collections::{BTreeMap, BTreeSet};

use brokeros_store::{Index, Query, Store, Table};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::audit::{Actor, ActorKind, uuid_bound};
use crate::audit_export::{Selection, for_each_event};
use crate::changeset::store_error;
use crate::{Error, Page, Result, keys, page_limit, period};

/// The longest period a search of actors or a download of days covers, in UTC days.
pub const MAX_DAYS: i64 = 31;

/// How many store pages a filtered search reads at most for one page of its answer.
pub const FILTERED_READS: usize = 10;

/// An audit search: an entity's stream (`entity_type` and `entity_id`), a UTC day's events
/// (`day`), or an entity's events of a day (all three); optionally one actor's only. (The
/// contract's description of these parameters is the http adapter's: it lists the entity
/// types, which the app knows.)
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSearch {
    /// The entity's type (`lead`, `client`, `withdrawal`, …). With `entity_id`: that entity's
    /// stream; with `day` alone: that day's events of this type only.
    pub entity_type: Option<String>,
    /// The entity's id (with `entity_type`).
    pub entity_id: Option<String>,
    /// A UTC day, `YYYY-MM-DD`: that day's events in time order (with an entity: its events of
    /// that day).
    pub day: Option<String>,
    /// Only the events of this actor (a user's subject, `public:<channel>`, a workflow
    /// execution).
    pub actor_id: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// What a search reads: a stream or a day partition, and what it keeps of it.
struct Scan {
    query: Query,
    entity_type: Option<String>,
    /// The bounds of the ids of one day (an entity's events of a day).
    ids: Option<(String, String)>,
    actor_id: Option<String>,
}

/// The bounds of the event ids of `day` (the day index follows the id's time).
fn day_ids(day: Date) -> (String, String) {
    let start = day.midnight().assume_utc();
    (
        uuid_bound(start, false),
        uuid_bound(
            start + time::Duration::days(1) - time::Duration::milliseconds(1),
            true,
        ),
    )
}

/// `entity_type` checked against the types that write audit events.
fn known_type(entity_type: &str, entity_types: &[&str]) -> Result<String> {
    if entity_types.contains(&entity_type) {
        Ok(entity_type.to_string())
    } else {
        Err(Error::invalid(
            "unknown_entity_type",
            "entity_type",
            format!(
                "'{entity_type}' is not an audited entity type; one of: {}",
                entity_types.join(", ")
            ),
        ))
    }
}

/// An entity named by type and id, both given or neither.
fn entity(
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    entity_types: &[&str],
) -> Result<Option<(String, String)>> {
    match (entity_type, entity_id) {
        (Some(t), Some(id)) if !id.is_empty() => {
            Ok(Some((known_type(t, entity_types)?, id.into())))
        }
        (_, Some(_)) => Err(Error::invalid(
            "missing_parameter",
            if entity_type.is_none() {
                "entity_type"
            } else {
                "entity_id"
            },
            "an entity is named by entity_type and a non-empty entity_id",
        )),
        _ => Ok(None),
    }
}

impl AuditSearch {
    /// Checks the search and says what it reads; `entity_types` are the audited ones.
    fn scan(self, entity_types: &[&str]) -> Result<Scan> {
        let limit = page_limit(self.limit)?;
        let day = self
            .day
            .as_deref()
            .map(|d| period::parse_day("day", d))
            .transpose()?;
        let named = entity(
            self.entity_type.as_deref(),
            self.entity_id.as_deref(),
            entity_types,
        )?;
        let (query, entity_type, ids) = match (named, day) {
            (Some((entity_type, entity_id)), day) => (
                Query::new(
                    Table::Audit,
                    None,
                    keys::audit_stream(&entity_type, &entity_id),
                ),
                None,
                day.map(day_ids),
            ),
            (None, Some(day)) => (
                Query::new(
                    Table::Audit,
                    Some(Index::Gsi1),
                    keys::audit_day(day.midnight().assume_utc()),
                ),
                self.entity_type
                    .as_deref()
                    .map(|t| known_type(t, entity_types))
                    .transpose()?,
                None,
            ),
            (None, None) => {
                return Err(Error::invalid(
                    "missing_parameter",
                    if self.entity_type.is_some() {
                        "entity_id"
                    } else {
                        "day"
                    },
                    "search an entity (entity_type and entity_id) or a UTC day (day, YYYY-MM-DD)",
                ));
            }
        };
        Ok(Scan {
            query: query.limit(limit).after(self.cursor),
            entity_type,
            ids,
            actor_id: self.actor_id,
        })
    }
}

/// The parts of a stored event a search filters on.
#[derive(Deserialize)]
struct Filtered<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    entity_type: std::borrow::Cow<'a, str>,
    actor: Actor,
}

impl Scan {
    fn keeps(&self, event: &Filtered) -> bool {
        self.entity_type
            .as_deref()
            .is_none_or(|t| t == event.entity_type)
            && self
                .ids
                .as_ref()
                .is_none_or(|(low, high)| (low.as_str()..=high.as_str()).contains(&&*event.id))
            && self.actor_id.as_deref().is_none_or(|a| a == event.actor.id)
    }
}

fn unreadable(e: serde_json::Error) -> Error {
    Error::Internal(format!("unreadable audit event: {e}"))
}

/// A page of the events `search` selects, as stored, oldest first (an entity's stream in its
/// sequence, a day in id order); `entity_types` are the audited types. An entity without events
/// is an empty page.
pub async fn search(
    store: &dyn Store,
    search: AuditSearch,
    entity_types: &[&str],
) -> Result<Page<Value>> {
    let scan = search.scan(entity_types)?;
    let mut query = scan.query.clone();
    let mut items = Vec::new();
    for _ in 0..FILTERED_READS {
        let page = store.query(query.clone()).await.map_err(store_error)?;
        for item in &page.items {
            let event: Filtered = serde_json::from_str(&item.data).map_err(unreadable)?;
            if scan.keeps(&event) {
                items.push(serde_json::from_str(&item.data).map_err(unreadable)?);
            }
        }
        match page.next {
            Some(next) if items.is_empty() => query = query.after(Some(next)),
            next => return Ok(Page { items, next }),
        }
    }
    Ok(Page {
        items,
        next: query.cursor,
    })
}

/// A period of UTC days, `from` to `to` (both included, at most [`MAX_DAYS`]).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DaysFilter {
    /// The first UTC day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// The last UTC day, `YYYY-MM-DD` (at most 31 days from `from`, counting both).
    pub to: Option<String>,
}

impl DaysFilter {
    /// The period as a time range `[from's midnight, the midnight after to)`.
    fn range(&self) -> Result<(OffsetDateTime, OffsetDateTime)> {
        let required = |field: &'static str, value: &Option<String>| {
            value.clone().ok_or_else(|| {
                Error::invalid(
                    "missing_parameter",
                    field,
                    format!("{field} is required: a UTC day, YYYY-MM-DD"),
                )
            })
        };
        let (from, to) = period::days(
            &required("from", &self.from)?,
            &required("to", &self.to)?,
            MAX_DAYS,
        )?;
        Ok((
            from.midnight().assume_utc(),
            to.midnight().assume_utc() + time::Duration::days(1),
        ))
    }
}

/// What a signed download selects: an entity's whole stream (`entity_type` and `entity_id`)
/// or the events of the UTC days `from` to `to` (at most 31 days). (Described in the contract
/// by the http adapter, as [`AuditSearch`].)
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFilter {
    /// The entity's type (with `entity_id`).
    pub entity_type: Option<String>,
    /// The entity's id (with `entity_type`).
    pub entity_id: Option<String>,
    /// The first UTC day, `YYYY-MM-DD` (without an entity).
    pub from: Option<String>,
    /// The last UTC day, `YYYY-MM-DD` (at most 31 days from `from`, counting both).
    pub to: Option<String>,
}

impl ExportFilter {
    /// The export's selection, checked; `entity_types` are the audited types.
    pub fn selection(&self, entity_types: &[&str]) -> Result<Selection> {
        if let Some((entity_type, entity_id)) = entity(
            self.entity_type.as_deref(),
            self.entity_id.as_deref(),
            entity_types,
        )? {
            if let Some(field) = [("from", &self.from), ("to", &self.to)]
                .iter()
                .find_map(|(f, v)| v.is_some().then_some(*f))
            {
                return Err(Error::invalid(
                    "invalid_selection",
                    field,
                    "an entity's export is its whole stream: give an entity or days, not both",
                ));
            }
            return Ok(Selection::Entity {
                entity_type,
                entity_id,
            });
        }
        if self.entity_type.is_some() {
            return Err(Error::invalid(
                "missing_parameter",
                "entity_id",
                "an entity is named by entity_type and a non-empty entity_id",
            ));
        }
        let (from, to) = DaysFilter {
            from: self.from.clone(),
            to: self.to.clone(),
        }
        .range()?;
        Ok(Selection::TimeRange { from, to })
    }
}

/// A principal that acted in the audit trail over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ActorInUse {
    pub kind: ActorKind,
    /// A user's subject, `public:<channel>`, a system part's name or a workflow execution.
    pub id: String,
    /// The roles recorded on its events (a user acts with its most privileged role).
    pub roles: Vec<String>,
    /// How many events it caused in the period.
    pub events: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_at: OffsetDateTime,
}

/// The principals that acted over a period of UTC days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ActorsInUse {
    pub from: String,
    pub to: String,
    /// Users first, then workflows and the system; by id.
    pub items: Vec<ActorInUse>,
}

#[derive(Deserialize)]
struct Acted {
    actor: Actor,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

/// The principals that acted over `filter`'s days, read from the day index: every event of the
/// period is read once (page by page, parsing only its actor and time), so the cost is the
/// period's events, at most [`MAX_DAYS`] days of them.
pub async fn actors(store: &dyn Store, filter: &DaysFilter) -> Result<ActorsInUse> {
    let (from, to) = filter.range()?;
    let rank = |kind: &ActorKind| match kind {
        ActorKind::User => 0,
        ActorKind::Workflow => 1,
        ActorKind::System => 2,
    };
    // By rank and id: the actor's kind, its roles, events, first and last time.
    type Seen = (
        ActorKind,
        BTreeSet<String>,
        u64,
        OffsetDateTime,
        OffsetDateTime,
    );
    let mut seen: BTreeMap<(u8, String), Seen> = BTreeMap::new();
    for_each_event(store, &Selection::TimeRange { from, to }, |data| {
        let Acted { actor, at } = serde_json::from_str(data).map_err(unreadable)?;
        let entry = seen
            .entry((rank(&actor.kind), actor.id))
            .or_insert_with(|| (actor.kind, BTreeSet::new(), 0, at, at));
        entry.1.extend(actor.role);
        entry.2 += 1;
        entry.3 = entry.3.min(at);
        entry.4 = entry.4.max(at);
        Ok(())
    })
    .await?;
    Ok(ActorsInUse {
        from: keys::utc_day(from.date()),
        to: keys::utc_day((to - time::Duration::days(1)).date()),
        items: seen
            .into_iter()
            .map(
                |((_, id), (kind, roles, events, first_at, last_at))| ActorInUse {
                    kind,
                    id,
                    roles: roles.into_iter().collect(),
                    events,
                    first_at,
                    last_at,
                },
            )
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPES: [&str; 2] = ["lead", "client"];

    fn refused(search: AuditSearch) -> (String, Option<String>) {
        let e = search.scan(&TYPES).err().expect("refused");
        (e.code().to_string(), e.body().field)
    }

    #[test]
    fn a_search_names_an_entity_or_a_day_and_names_the_field_at_fault() {
        let cases = [
            (AuditSearch::default(), "missing_parameter", "day"),
            (
                AuditSearch {
                    entity_type: Some("lead".into()),
                    ..Default::default()
                },
                "missing_parameter",
                "entity_id",
            ),
            (
                AuditSearch {
                    entity_id: Some("l1".into()),
                    ..Default::default()
                },
                "missing_parameter",
                "entity_type",
            ),
            (
                AuditSearch {
                    entity_type: Some("spaceship".into()),
                    entity_id: Some("s1".into()),
                    ..Default::default()
                },
                "unknown_entity_type",
                "entity_type",
            ),
            (
                AuditSearch {
                    entity_type: Some("spaceship".into()),
                    day: Some("2026-12-01".into()),
                    ..Default::default()
                },
                "unknown_entity_type",
                "entity_type",
            ),
            (
                AuditSearch {
                    day: Some("2026-12-32".into()),
                    ..Default::default()
                },
                "invalid_date",
                "day",
            ),
            (
                AuditSearch {
                    day: Some("2026-12-01".into()),
                    limit: Some(0),
                    ..Default::default()
                },
                "invalid_limit",
                "limit",
            ),
        ];
        for (search, code, field) in cases {
            let what = format!("{search:?}");
            assert_eq!(
                refused(search),
                (code.to_string(), Some(field.to_string())),
                "{what}"
            );
        }
    }

    #[test]
    fn a_download_selects_an_entity_or_at_most_31_days() {
        let f = |t: Option<&str>, id: Option<&str>, from: Option<&str>, to: Option<&str>| {
            ExportFilter {
                entity_type: t.map(Into::into),
                entity_id: id.map(Into::into),
                from: from.map(Into::into),
                to: to.map(Into::into),
            }
            .selection(&TYPES)
        };
        assert!(matches!(
            f(Some("client"), Some("c1"), None, None),
            Ok(Selection::Entity { .. })
        ));
        match f(None, None, Some("2026-12-01"), Some("2026-12-31")) {
            Ok(Selection::TimeRange { from, to }) => {
                assert_eq!(to - from, time::Duration::days(31))
            }
            other => panic!("{other:?}"),
        }
        for (selection, field) in [
            (f(None, None, Some("2026-12-01"), Some("2027-01-01")), "to"),
            (f(None, None, None, Some("2026-12-01")), "from"),
            (
                f(Some("client"), Some("c1"), Some("2026-12-01"), None),
                "from",
            ),
            (
                f(Some("client"), None, Some("2026-12-01"), Some("2026-12-01")),
                "entity_id",
            ),
            (f(Some("boat"), Some("b"), None, None), "entity_type"),
        ] {
            assert_eq!(selection.unwrap_err().body().field.as_deref(), Some(field));
        }
    }
}
