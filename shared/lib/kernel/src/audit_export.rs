//! Audit export for auditors: the events of a time range or of one entity, as NDJSON plus CSV,
//! with a manifest (count, first and last ids, per-stream chain anchors and heads, SHA-256 of
//! the NDJSON) that `brokeros audit verify` checks offline.

use crate::audit::{AuditEvent, Manifest, manifest_for};
use crate::{Error, Result};
use brokeros_store::{Query, SortKeyRange, Store, Table};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::changeset::store_error;
use crate::keys;

/// Which events to export.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Events whose ids' times fall in `[from, to)`.
    TimeRange {
        from: OffsetDateTime,
        to: OffsetDateTime,
    },
    /// The whole stream of one entity.
    Entity {
        entity_type: String,
        entity_id: String,
    },
}

/// The smallest and largest UUIDv7 of a millisecond: bounds for an id range.
fn uuid_bound(at: OffsetDateTime, high: bool) -> String {
    let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u128;
    let version_bits = 0x7u128 << 76;
    let variant_bits = 0b10u128 << 62;
    let random = if high {
        (0xFFFu128 << 64) | ((1u128 << 62) - 1)
    } else {
        0
    };
    Uuid::from_u128((ms << 80) | version_bits | variant_bits | random).to_string()
}

/// Reads the selected events in id order, calling `progress` with the running count.
pub async fn collect(
    store: &dyn Store,
    selection: &Selection,
    mut progress: impl FnMut(u64),
) -> Result<Vec<AuditEvent>> {
    let mut events = Vec::new();
    let mut pages: Vec<Query> = Vec::new();
    match selection {
        Selection::Entity {
            entity_type,
            entity_id,
        } => {
            pages.push(
                Query::new(
                    Table::Audit,
                    None,
                    keys::audit_stream(entity_type, entity_id),
                )
                .limit(1000),
            );
        }
        Selection::TimeRange { from, to } => {
            if to <= from {
                return Err(Error::invalid(
                    "invalid_range",
                    "to",
                    "'to' must be after 'from'",
                ));
            }
            let range = SortKeyRange::Between(
                uuid_bound(*from, false),
                uuid_bound(*to - Duration::milliseconds(1), true),
            );
            let mut day = from.date();
            while day <= (*to - Duration::milliseconds(1)).date() {
                let pk = keys::audit_day(day.midnight().assume_utc());
                pages.push(
                    Query::new(Table::Audit, Some(brokeros_store::Index::Gsi1), pk)
                        .sk(range.clone())
                        .limit(1000),
                );
                day = day
                    .next_day()
                    .ok_or_else(|| Error::invalid("invalid_range", "to", "date out of range"))?;
            }
        }
    }
    for query in pages {
        let mut cursor = None;
        loop {
            let page = store
                .query(query.clone().after(cursor))
                .await
                .map_err(store_error)?;
            for item in &page.items {
                let event: AuditEvent = serde_json::from_str(&item.data)
                    .map_err(|e| Error::Internal(format!("unreadable audit event: {e}")))?;
                events.push(event);
            }
            progress(events.len() as u64);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    events.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(events)
}

/// The export files' contents.
pub struct Export {
    pub ndjson: Vec<u8>,
    pub csv: Vec<u8>,
    pub manifest: Manifest,
}

pub fn render(events: &[AuditEvent], selection: &Selection, exported_at: OffsetDateTime) -> Export {
    let mut ndjson = Vec::new();
    let mut csv = String::from(
        "id,at,actor_kind,actor_id,actor_role,action,entity_type,entity_id,seq,correlation_id,changed_fields,prev_hash,hash\n",
    );
    for e in events {
        ndjson.extend_from_slice(
            serde_json::to_string(e)
                .expect("events serialize")
                .as_bytes(),
        );
        ndjson.push(b'\n');
        let fields: Vec<&str> = e.changes.iter().map(|c| c.field.as_str()).collect();
        let row = [
            e.id.clone(),
            e.at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            format!("{:?}", e.actor.kind).to_lowercase(),
            e.actor.id.clone(),
            e.actor.role.clone().unwrap_or_default(),
            e.action.clone(),
            e.entity_type.clone(),
            e.entity_id.clone(),
            e.seq.to_string(),
            e.correlation_id.clone(),
            fields.join(";"),
            e.prev_hash.clone(),
            e.hash.clone(),
        ];
        csv.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        csv.push('\n');
    }
    let selection_json = match selection {
        Selection::TimeRange { from, to } => {
            json!({ "from": from.to_string(), "to": to.to_string() })
        }
        Selection::Entity {
            entity_type,
            entity_id,
        } => json!({ "entity_type": entity_type, "entity_id": entity_id }),
    };
    let manifest = manifest_for(events, &ndjson, selection_json, exported_at);
    Export {
        ndjson,
        csv: csv.into_bytes(),
        manifest,
    }
}

/// Quotes a CSV field when needed, and defuses spreadsheet formulas.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
