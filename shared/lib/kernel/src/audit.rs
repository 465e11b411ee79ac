//! Audit events and the evidence that an exported trail is complete and unaltered.
//!
//! Each entity has its own stream of events (`lead/lead_…`). An event carries its sequence
//! number in the stream and the hash of the previous event, and its own hash covers all its
//! fields, so an edited, deleted, inserted or reordered event breaks the chain. An export's
//! manifest records, per stream, where the exported part of the chain starts and ends; the
//! verifier recomputes everything from the data alone.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::canonical::{canonical_value_sha256, sha256_hex};
use crate::principal::Principal;

/// The hash a stream's first event points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    System,
    Workflow,
}

/// Who caused a change: a user with a role, the system itself, or a workflow execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Actor {
    pub fn user(principal: &Principal) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: principal.sub.clone(),
            role: Some(principal.primary_role().to_string()),
        }
    }

    /// The public, unauthenticated caller of an open endpoint such as lead capture.
    pub fn public(channel: &str) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: format!("public:{channel}"),
            role: None,
        }
    }

    /// A workflow execution (its ARN) running a task.
    pub fn workflow(execution_id: &str) -> Actor {
        Actor {
            kind: ActorKind::Workflow,
            id: execution_id.to_string(),
            role: None,
        }
    }

    pub fn system(id: &str) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: id.to_string(),
            role: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// UUIDv7: ordered by time, and strictly increasing within a stream.
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub seq: u64,
    pub changes: Vec<FieldChange>,
    pub correlation_id: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The end of a stream's chain, kept beside the entity so the next event can link to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
    pub event_id: String,
}

impl ChainHead {
    pub fn genesis() -> ChainHead {
        ChainHead {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
            event_id: Uuid::nil().to_string(),
        }
    }
}

/// Fields that never enter an audit event, whatever entity they appear in.
const NEVER_AUDITED: [&str; 6] = [
    "password",
    "secret",
    "token",
    "document_image",
    "api_key",
    "private_key",
];

/// What an audit event may hold of a person's data. This is the one statement of the rule;
/// the scenario suites check every event they write against it (`tests/support/audit_scan.rs`,
/// run when each scenario ends):
///
/// - **secrets** never: fields named like [`NEVER_AUDITED`] are left out of every diff;
/// - **document images** never, and **document numbers** (passport, ID, proof-of-address
///   references) only masked to their last three characters (`******T47`) or as `[redacted]`:
///   the full number is kept apart from every audited record, for the KYC provider alone;
///   likewise payment destinations (card numbers, IBANs) only masked;
/// - **emails and phone numbers** only in the contact fields of the person's own record:
///   the top-level fields [`CONTACT_FIELDS`] name, of that entity's own events. Nowhere else:
///   not in another entity's events (a notification names the client, never the address),
///   not in free text, not in logs (which mask them).
pub mod personal_data {
    /// `(entity type, top-level field)`: where an audit event may hold an email or a phone
    /// number in clear.
    pub const CONTACT_FIELDS: [(&str, &str); 4] = [
        ("lead", "email"),
        ("lead", "phone"),
        ("client", "email"),
        ("client", "phone"),
    ];

    /// Whether a change of `field` in an event of an `entity_type` entity may hold an email or
    /// a phone number.
    pub fn may_hold_contact(entity_type: &str, field: &str) -> bool {
        CONTACT_FIELDS
            .iter()
            .any(|(t, f)| *t == entity_type && *f == field)
    }

    /// What replaces a whole document number that is kept but never shown.
    pub const REDACTED: &str = "[redacted]";

    /// A document number or payment destination as audit events, stored records, logs and the
    /// API show it: every character but the last three replaced by `*`.
    pub fn mask(number: &str) -> String {
        let chars: Vec<char> = number.chars().collect();
        let shown = chars.len().saturating_sub(3);
        chars
            .iter()
            .enumerate()
            .map(|(i, c)| if i < shown { '*' } else { *c })
            .collect()
    }

    /// Whether `number` is a document number as audit events may hold it: [`mask`]ed, or
    /// [`REDACTED`].
    pub fn is_masked_number(number: &str) -> bool {
        number == REDACTED || number.trim_start_matches('*').chars().count() <= 3
    }
}

/// The top-level fields that differ between two JSON objects, secrets left out.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| !NEVER_AUDITED.iter().any(|s| f.contains(s)))
        .filter_map(|f| {
            let (old, new) = (
                b.get(f).unwrap_or(&Value::Null),
                a.get(f).unwrap_or(&Value::Null),
            );
            (old != new).then(|| FieldChange {
                field: f.clone(),
                before: old.clone(),
                after: new.clone(),
            })
        })
        .collect()
}

/// What a caller knows when it records an event; [`AuditEvent::chained`] adds the rest.
pub struct EventDraft {
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub changes: Vec<FieldChange>,
    pub correlation_id: String,
}

impl AuditEvent {
    /// The next event of a stream whose chain ends at `head`. `fresh_id` is a new UUIDv7; if
    /// clocks disagree it is moved past the previous event so ids stay increasing in the stream.
    pub fn chained(draft: EventDraft, head: &ChainHead, fresh_id: Uuid) -> AuditEvent {
        let previous = Uuid::parse_str(&head.event_id)
            .unwrap_or(Uuid::nil())
            .as_u128();
        let id = Uuid::from_u128(fresh_id.as_u128().max(previous + 1));
        let mut event = AuditEvent {
            id: id.to_string(),
            at: draft.at,
            actor: draft.actor,
            action: draft.action,
            entity_type: draft.entity_type,
            entity_id: draft.entity_id,
            seq: head.seq + 1,
            changes: draft.changes,
            correlation_id: draft.correlation_id,
            prev_hash: head.hash.clone(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        event
    }

    pub fn stream(&self) -> String {
        format!("{}/{}", self.entity_type, self.entity_id)
    }

    /// SHA-256 of the canonical JSON of every field but `hash`.
    pub fn compute_hash(&self) -> String {
        let mut value = serde_json::to_value(self).expect("events serialize");
        value
            .as_object_mut()
            .expect("an event is an object")
            .remove("hash");
        canonical_value_sha256(&value)
    }

    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
            event_id: self.id.clone(),
        }
    }
}

/// Per stream: the exported slice of its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRange {
    pub first_seq: u64,
    /// The `prev_hash` of the first exported event (the genesis hash for a whole stream).
    pub anchor_hash: String,
    pub last_seq: u64,
    pub head_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub count: u64,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    pub sha256: String,
    pub streams: BTreeMap<String, StreamRange>,
    /// What was asked for: a time range or an entity stream.
    pub selection: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
}

pub const EXPORT_FORMAT: &str = "brokeros-audit-ndjson/1";

/// Builds the manifest of NDJSON `data` holding `events` in file order.
pub fn manifest_for(
    events: &[AuditEvent],
    data: &[u8],
    selection: Value,
    exported_at: OffsetDateTime,
) -> Manifest {
    let mut streams: BTreeMap<String, StreamRange> = BTreeMap::new();
    for e in events {
        streams
            .entry(e.stream())
            .and_modify(|r| {
                r.last_seq = e.seq;
                r.head_hash = e.hash.clone();
            })
            .or_insert_with(|| StreamRange {
                first_seq: e.seq,
                anchor_hash: e.prev_hash.clone(),
                last_seq: e.seq,
                head_hash: e.hash.clone(),
            });
    }
    Manifest {
        format: EXPORT_FORMAT.to_string(),
        count: events.len() as u64,
        first_id: events.first().map(|e| e.id.clone()),
        last_id: events.last().map(|e| e.id.clone()),
        sha256: sha256_hex(data),
        streams,
        selection,
        exported_at,
    }
}

/// Why an export does not verify. `line` is 1-based in the NDJSON file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("line {line}: not a valid audit event: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("line {line}: event {id} was modified (its hash does not match its content)")]
    Modified { line: usize, id: String },
    #[error("line {line}: event {id} is out of order (ids must increase through the file)")]
    OutOfOrder { line: usize, id: String },
    #[error(
        "line {line}: event {id} breaks the chain of {stream}: expected seq {expected_seq} linked to {expected_prev}, found seq {seq}"
    )]
    BrokenChain {
        line: usize,
        id: String,
        stream: String,
        expected_seq: u64,
        expected_prev: String,
        seq: u64,
    },
    #[error("line {line}: event {id} starts stream {stream} where the manifest says it does not")]
    WrongStart {
        line: usize,
        id: String,
        stream: String,
    },
    #[error(
        "stream {stream} ends at seq {found} but the manifest says {expected}: events are missing at the end"
    )]
    TruncatedStream {
        stream: String,
        expected: u64,
        found: u64,
    },
    #[error("stream {stream} is in the manifest but has no events in the data")]
    MissingStream { stream: String },
    #[error("the manifest does not match the data: {0}")]
    Manifest(String),
}

/// Verifies NDJSON `data` against its manifest, naming the first bad event.
pub fn verify(data: &[u8], manifest: &Manifest) -> Result<u64, VerifyError> {
    let text = std::str::from_utf8(data).map_err(|e| VerifyError::Malformed {
        line: 0,
        reason: format!("not UTF-8: {e}"),
    })?;
    let mut seen: HashMap<String, (u64, String)> = HashMap::new();
    let mut previous_id: Option<String> = None;
    let mut first_id = None;
    let mut count = 0u64;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let event: AuditEvent = serde_json::from_str(raw).map_err(|e| VerifyError::Malformed {
            line,
            reason: e.to_string(),
        })?;
        if event.compute_hash() != event.hash {
            return Err(VerifyError::Modified { line, id: event.id });
        }
        if previous_id.as_ref().is_some_and(|p| p >= &event.id) {
            return Err(VerifyError::OutOfOrder { line, id: event.id });
        }
        let stream = event.stream();
        match seen.get(&stream) {
            Some((seq, hash)) => {
                if event.seq != seq + 1 || &event.prev_hash != hash {
                    return Err(VerifyError::BrokenChain {
                        line,
                        id: event.id.clone(),
                        stream,
                        expected_seq: seq + 1,
                        expected_prev: hash.clone(),
                        seq: event.seq,
                    });
                }
            }
            None => {
                let start_ok = manifest
                    .streams
                    .get(&stream)
                    .is_some_and(|r| r.first_seq == event.seq && r.anchor_hash == event.prev_hash);
                if !start_ok {
                    return Err(VerifyError::WrongStart {
                        line,
                        id: event.id,
                        stream,
                    });
                }
            }
        }
        seen.insert(stream, (event.seq, event.hash.clone()));
        first_id.get_or_insert_with(|| event.id.clone());
        previous_id = Some(event.id);
        count += 1;
    }
    for (stream, range) in &manifest.streams {
        match seen.get(stream) {
            None => {
                return Err(VerifyError::MissingStream {
                    stream: stream.clone(),
                });
            }
            Some((seq, hash)) if *seq != range.last_seq || hash != &range.head_hash => {
                return Err(VerifyError::TruncatedStream {
                    stream: stream.clone(),
                    expected: range.last_seq,
                    found: *seq,
                });
            }
            Some(_) => {}
        }
    }
    if seen.len() != manifest.streams.len() {
        return Err(VerifyError::Manifest(
            "the data has streams the manifest does not list".into(),
        ));
    }
    if count != manifest.count {
        return Err(VerifyError::Manifest(format!(
            "{count} events, manifest says {}",
            manifest.count
        )));
    }
    if first_id != manifest.first_id || previous_id != manifest.last_id {
        return Err(VerifyError::Manifest(
            "first or last event id differs".into(),
        ));
    }
    let digest = sha256_hex(data);
    if digest != manifest.sha256 {
        return Err(VerifyError::Manifest(format!(
            "SHA-256 of the data is {digest}, manifest says {}",
            manifest.sha256
        )));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stream_events(entity: &str, n: u64, start: OffsetDateTime) -> Vec<AuditEvent> {
        let mut head = ChainHead::genesis();
        (0..n)
            .map(|i| {
                let event = AuditEvent::chained(
                    EventDraft {
                        at: start,
                        actor: Actor::system("test"),
                        action: "lead.updated".into(),
                        entity_type: "lead".into(),
                        entity_id: entity.into(),
                        changes: diff(&json!({"n": i}), &json!({"n": i + 1})),
                        correlation_id: "c".into(),
                    },
                    &head,
                    Uuid::now_v7(),
                );
                head = event.head();
                event
            })
            .collect()
    }

    fn export(events: &[AuditEvent]) -> (Vec<u8>, Manifest) {
        let data: String = events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        let m = manifest_for(
            events,
            data.as_bytes(),
            json!({}),
            OffsetDateTime::UNIX_EPOCH,
        );
        (data.into_bytes(), m)
    }

    fn lines(data: &[u8]) -> Vec<String> {
        String::from_utf8(data.to_vec())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn join(lines: &[String]) -> Vec<u8> {
        lines
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn an_untouched_export_verifies() {
        let mut events = stream_events("a", 3, OffsetDateTime::UNIX_EPOCH);
        events.extend(stream_events("b", 2, OffsetDateTime::UNIX_EPOCH));
        events.sort_by(|x, y| x.id.cmp(&y.id));
        let (data, m) = export(&events);
        assert_eq!(verify(&data, &m), Ok(5));
        // A slice starting mid-stream verifies against its own manifest too.
        let (data, m) = export(&events[1..]);
        assert_eq!(verify(&data, &m), Ok(4));
    }

    #[test]
    fn edits_deletions_insertions_and_reorders_are_caught() {
        let events = stream_events("a", 4, OffsetDateTime::UNIX_EPOCH);
        let (data, m) = export(&events);
        let original = lines(&data);

        let mut edited = original.clone();
        edited[1] = edited[1].replace("lead.updated", "lead.deleted");
        assert!(matches!(
            verify(&join(&edited), &m),
            Err(VerifyError::Modified { line: 2, .. })
        ));

        let mut deleted = original.clone();
        deleted.remove(1);
        assert!(matches!(
            verify(&join(&deleted), &m),
            Err(VerifyError::BrokenChain { line: 2, .. })
        ));

        let mut last_deleted = original.clone();
        last_deleted.pop();
        assert!(matches!(
            verify(&join(&last_deleted), &m),
            Err(VerifyError::TruncatedStream { .. })
        ));

        let mut first_deleted = original.clone();
        first_deleted.remove(0);
        assert!(matches!(
            verify(&join(&first_deleted), &m),
            Err(VerifyError::WrongStart { line: 1, .. })
        ));

        let mut reordered = original.clone();
        reordered.swap(1, 2);
        assert!(matches!(
            verify(&join(&reordered), &m),
            Err(VerifyError::BrokenChain { line: 2, .. })
        ));

        // Two streams interleaved: swapping events of different streams keeps each chain intact,
        // and the id order catches it.
        let mut two = stream_events("a", 2, OffsetDateTime::UNIX_EPOCH);
        two.extend(stream_events("b", 2, OffsetDateTime::UNIX_EPOCH));
        two.sort_by(|x, y| x.id.cmp(&y.id));
        let (data, m2) = export(&two);
        let mut swapped = lines(&data);
        swapped.swap(1, 2);
        assert!(matches!(
            verify(&join(&swapped), &m2),
            Err(VerifyError::OutOfOrder { line: 3, .. })
        ));

        let mut inserted = original.clone();
        inserted.insert(2, original[1].clone());
        assert!(verify(&join(&inserted), &m).is_err());
    }

    #[test]
    fn ids_stay_increasing_when_the_clock_goes_back() {
        let head = ChainHead {
            seq: 7,
            hash: GENESIS_HASH.into(),
            event_id: Uuid::from_u128(u128::MAX - 10).to_string(),
        };
        let draft = EventDraft {
            at: OffsetDateTime::UNIX_EPOCH,
            actor: Actor::system("t"),
            action: "x".into(),
            entity_type: "lead".into(),
            entity_id: "a".into(),
            changes: vec![],
            correlation_id: "c".into(),
        };
        let e = AuditEvent::chained(draft, &head, Uuid::now_v7());
        assert!(e.id > head.event_id);
        assert_eq!(e.seq, 8);
    }

    #[test]
    fn masked_numbers_keep_their_last_three_characters() {
        use super::personal_data::{is_masked_number, mask};
        assert_eq!(mask("C01X00T47"), "******T47");
        assert_eq!(mask("AB"), "AB");
        assert!(is_masked_number(&mask("L01X00T49-REVIEW")));
        assert!(is_masked_number("[redacted]"));
        assert!(!is_masked_number("C01X00T47"));
        assert!(!is_masked_number("**1X00T47"));
        assert!(super::personal_data::may_hold_contact("lead", "email"));
        assert!(!super::personal_data::may_hold_contact(
            "notification",
            "email"
        ));
    }

    #[test]
    fn secrets_never_enter_changes() {
        let d = diff(
            &json!({"api_key":"a","name":"x"}),
            &json!({"api_key":"b","name":"y","password":"p"}),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "name");
    }
}
