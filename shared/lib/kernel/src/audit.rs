//! Audit events and the evidence that an exported trail is complete and unaltered.
//!
//! Each entity has its own stream of events (`lead/lead_…`). An event carries its sequence
//! number in the stream and the hash of the previous event, and its own hash is the SHA-256 of
//! its whole canonical JSON object but `hash` — every member, including any a reader does not
//! know — so an edited, extended, deleted, inserted or reordered event breaks the chain.
//!
//! An export is NDJSON (one canonical event per line, in id order), CSV, a heads file (per
//! stream: where the exported slice of its chain starts and ends, sorted by stream) and a
//! manifest: counts, first and last ids, the digests of the three files, the Merkle root of the
//! heads, signed (Ed25519 locally, ECDSA P-256 by KMS in AWS). The verifier reads the NDJSON
//! line by line, hashing the raw line (never a typed re-serialization, which would drop fields),
//! and checks the export against the signed checkpoints of all stream heads it spans
//! ([`crate::audit_checkpoint`]), which catch history rewritten and re-signed after them.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use sha2::{Digest, Sha256};

use crate::canonical::{
    Member, canonical_value_sha256, digest_cut, object_digest_without, scan_object,
    to_canonical_json,
};
use crate::principal::Principal;
use crate::signing::{PublicKey, Signature, Signer};

/// The hash a stream's first event points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    System,
    Workflow,
}

/// Who caused a change: a user with a role, the system itself, or a workflow execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// One field a change set: its value before and after (any JSON; `null` where it had none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(schema_with = any_json)]
    pub before: Value,
    #[schema(schema_with = any_json)]
    pub after: Value,
}

/// A field's value before or after a change, as the contract says it: any JSON.
fn any_json() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::AnyValue)
        .description(Some(
            "the field's value: any JSON (null where there was none)",
        ))
        .build()
}

/// An audit event as stored and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

    /// SHA-256 of the canonical JSON of every field but `hash`: for an event as written, the
    /// same digest as the verifier's over the raw line ([`object_digest_without`]), both being
    /// [`crate::canonical`]'s one canonical form.
    pub fn compute_hash(&self) -> String {
        let mut value = serde_json::to_value(self).expect("events serialize");
        value
            .as_object_mut()
            .expect("an event is an object")
            .remove("hash");
        canonical_value_sha256(&value)
    }

    /// The event as stored and exported: its canonical JSON, so that an export copies it as is
    /// and a verifier hashes it without re-printing.
    pub fn canonical_json(&self) -> String {
        to_canonical_json(self)
    }

    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
            event_id: self.id.clone(),
        }
    }
}

/// One line of an export's heads file (`PREFIX.heads.ndjson`, sorted by stream): the exported
/// slice of a stream's chain. The manifest holds the Merkle root of these lines, so it stays
/// small whatever the number of streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamHead {
    pub stream: String,
    pub first_seq: u64,
    /// The `prev_hash` of the first exported event (the genesis hash for a whole stream).
    pub anchor_hash: String,
    pub last_seq: u64,
    pub head_hash: String,
}

/// Size and SHA-256 of a file the manifest vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    pub sha256: String,
    pub bytes: u64,
}

/// What an export's signature vouches for. Signed over its canonical JSON without
/// `signature`; the NDJSON, the CSV and the heads file are bound by their digests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// What was asked for: a time range or an entity stream.
    pub selection: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    pub count: u64,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    /// How many streams the heads file lists, and the Merkle root of its lines.
    pub streams: u64,
    pub streams_root: String,
    pub ndjson: FileDigest,
    pub csv: FileDigest,
    pub heads: FileDigest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

pub const EXPORT_FORMAT: &str = "brokeros-audit-ndjson/2";

/// The bytes a signature covers: the canonical JSON of a manifest or checkpoint without its
/// `signature` member, taken from the JSON as written (not from a typed re-serialization).
pub fn signing_input(document: &Value) -> Vec<u8> {
    let mut document = document.clone();
    if let Some(object) = document.as_object_mut() {
        object.remove("signature");
    }
    to_canonical_json(&document).into_bytes()
}

impl Manifest {
    /// Signs the manifest in place.
    pub async fn sign(&mut self, signer: &dyn Signer) -> Result<(), String> {
        self.signature = None;
        let value = serde_json::to_value(&*self).expect("manifests serialize");
        self.signature = Some(crate::signing::sign(signer, &signing_input(&value)).await?);
        Ok(())
    }

    /// Reads a manifest, refusing a format this verifier does not know (before anything else,
    /// so a changed `format` is named as such).
    pub fn parse(text: &str) -> Result<(Manifest, Value), VerifyError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| VerifyError::Manifest(format!("not JSON: {e}")))?;
        match value.get("format").and_then(Value::as_str) {
            Some(EXPORT_FORMAT) => {}
            other => {
                return Err(VerifyError::Format(format!(
                    "the manifest's format is {}, this verifier reads {EXPORT_FORMAT} only",
                    other.map_or("missing".to_string(), |f| format!("\"{f}\""))
                )));
            }
        }
        let manifest = serde_json::from_value(value.clone())
            .map_err(|e| VerifyError::Manifest(e.to_string()))?;
        Ok((manifest, value))
    }
}

/// A Merkle tree built leaf by leaf in O(log n) memory (RFC 6962's shape, SHA-256, leaves
/// prefixed 0x00 and nodes 0x01 so a leaf cannot pass for a node).
#[derive(Default)]
pub struct MerkleBuilder {
    stack: Vec<(u32, [u8; 32])>,
    leaves: u64,
}

impl MerkleBuilder {
    pub fn push(&mut self, leaf: &[u8]) {
        let mut hash: [u8; 32] = Sha256::new()
            .chain_update([0u8])
            .chain_update(leaf)
            .finalize()
            .into();
        let mut level = 0;
        while let Some(&(top_level, top)) = self.stack.last() {
            if top_level != level {
                break;
            }
            self.stack.pop();
            hash = merkle_node(&top, &hash);
            level += 1;
        }
        self.stack.push((level, hash));
        self.leaves += 1;
    }

    pub fn leaves(&self) -> u64 {
        self.leaves
    }

    pub fn root(&self) -> String {
        let mut stack = self.stack.iter().rev();
        let Some(&(_, mut acc)) = stack.next() else {
            return hex::encode(Sha256::digest(b""));
        };
        for (_, left) in stack {
            acc = merkle_node(left, &acc);
        }
        hex::encode(acc)
    }
}

fn merkle_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The fields of an NDJSON line that the chain checks need, read from the raw JSON (never from
/// a typed event: that would drop fields the hash must cover).
pub struct EventLine<'a> {
    pub id: &'a str,
    pub entity_type: Cow<'a, str>,
    pub entity_id: Cow<'a, str>,
    pub seq: u64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// Every field an event has; anything else in a line is named when its hash fails.
const EVENT_FIELDS: [&str; 11] = [
    "action",
    "actor",
    "at",
    "changes",
    "correlation_id",
    "entity_id",
    "entity_type",
    "hash",
    "id",
    "prev_hash",
    "seq",
];

fn member<'a>(text: &'a str, members: &[Member], key: &str) -> Result<&'a str, String> {
    members
        .iter()
        .find(|m| &text[m.key.clone()] == key)
        .map(|m| &text[m.value.clone()])
        .ok_or_else(|| format!("no \"{key}\" field"))
}

fn string_field<'a>(text: &'a str, members: &[Member], key: &str) -> Result<Cow<'a, str>, String> {
    let raw = member(text, members, key)?;
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| format!("\"{key}\" is not a string"))?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw)
            .map(Cow::Owned)
            .map_err(|e| e.to_string())
    } else {
        Ok(Cow::Borrowed(inner))
    }
}

fn hash_field(text: &str, members: &[Member], key: &str) -> Result<[u8; 32], String> {
    let raw = string_field(text, members, key)?;
    decode_hash(raw.as_bytes()).ok_or_else(|| format!("\"{key}\" is not a SHA-256 in hex"))
}

/// 64 hex digits (either case, as `hex::decode_to_slice` reads them) to 32 bytes; a table
/// lookup per digit (the `hex` crate's decoder was a third of the line's scan).
fn decode_hash(digits: &[u8]) -> Option<[u8; 32]> {
    const INVALID: u8 = 0xff;
    const TABLE: [u8; 256] = {
        let mut table = [INVALID; 256];
        let mut i = 0;
        while i < 10 {
            table[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            table[b'a' as usize + i] = 10 + i as u8;
            table[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        table
    };
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut invalid = 0u8;
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (TABLE[pair[0] as usize], TABLE[pair[1] as usize]);
        invalid |= (high | low) & 0xf0;
        *byte = (high << 4) | (low & 0x0f);
    }
    (invalid == 0).then_some(out)
}

impl<'a> EventLine<'a> {
    /// Reads the chain fields of `text`, whose members [`scan_object`] found.
    pub fn read(text: &'a str, members: &[Member]) -> Result<EventLine<'a>, String> {
        let id = match string_field(text, members, "id")? {
            Cow::Borrowed(id) if id.len() == 36 => id,
            _ => return Err("\"id\" is not a UUID".into()),
        };
        Ok(EventLine {
            id,
            entity_type: string_field(text, members, "entity_type")?,
            entity_id: string_field(text, members, "entity_id")?,
            seq: member(text, members, "seq")?
                .parse()
                .map_err(|_| "\"seq\" is not a sequence number".to_string())?,
            prev_hash: hash_field(text, members, "prev_hash")?,
            hash: hash_field(text, members, "hash")?,
        })
    }
}

/// What [`prepare_line`] found in one NDJSON line.
pub enum PreparedLine {
    /// Nothing but whitespace: skipped.
    Blank,
    /// Not an audit event in canonical JSON (why).
    Malformed(String),
    Event(ScannedEvent),
}

/// An event's chain fields and how to take its hash, read from the raw line.
pub struct ScannedEvent {
    id: [u8; 36],
    /// `entity_type/entity_id`.
    stream: StreamName,
    seq: u64,
    prev_hash: [u8; 32],
    hash: [u8; 32],
    digest: DigestPlan,
}

/// A stream's name, `entity_type/entity_id`: where its parts are in the line, or built.
enum StreamName {
    InLine {
        entity_type: std::ops::Range<usize>,
        entity_id: std::ops::Range<usize>,
    },
    Owned(String),
}

/// How an event's own hash is taken over its line.
enum DigestPlan {
    /// Canonical, without a `hash` member: the whole line.
    Whole,
    /// Canonical: the line but this range (the `hash` member and a comma).
    Cut(std::ops::Range<usize>),
    /// Not canonical: parsed and printed canonically first.
    Reparse,
}

/// The part of verifying a line that needs no state: the scan of its JSON, its chain fields,
/// how its hash is taken. [`Verifier::prepared_line`] does the rest, in file order; this may
/// run ahead of it on another thread. `members` is scratch space.
pub fn prepare_line(raw: &str, members: &mut Vec<Member>) -> PreparedLine {
    let text = raw.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return PreparedLine::Blank;
    }
    let canonical = match scan_object(text, members) {
        Ok(canonical) => canonical,
        Err(reason) => return PreparedLine::Malformed(reason),
    };
    let event = match EventLine::read(text, members) {
        Ok(event) => event,
        Err(reason) => return PreparedLine::Malformed(reason),
    };
    let digest = if !canonical {
        DigestPlan::Reparse
    } else {
        match digest_cut(text, members, "hash") {
            None => DigestPlan::Whole,
            Some(cut) => DigestPlan::Cut(cut),
        }
    };
    // Where the line has them as they are (no escapes): no allocation per line.
    let at = |part: &str| {
        let start = part.as_ptr() as usize - text.as_ptr() as usize;
        start..start + part.len()
    };
    let stream = match (&event.entity_type, &event.entity_id) {
        (Cow::Borrowed(entity_type), Cow::Borrowed(entity_id)) => StreamName::InLine {
            entity_type: at(entity_type),
            entity_id: at(entity_id),
        },
        (entity_type, entity_id) => StreamName::Owned(format!("{entity_type}/{entity_id}")),
    };
    PreparedLine::Event(ScannedEvent {
        id: event.id.as_bytes().try_into().expect("36 bytes"),
        stream,
        seq: event.seq,
        prev_hash: event.prev_hash,
        hash: event.hash,
        digest,
    })
}

/// Where a stream stands in the data read so far. Small on purpose: a verifier keeps one per
/// stream of the export.
pub struct StreamState {
    pub(crate) first_seq: u64,
    pub(crate) anchor: [u8; 32],
    pub(crate) last_seq: u64,
    pub(crate) head: [u8; 32],
    pub(crate) first_line: u64,
    pub(crate) last_line: u64,
    pub(crate) first_id: [u8; 36],
    pub(crate) last_id: [u8; 36],
    /// The last checkpoint (1-based index among those checked) that listed this stream.
    pub(crate) checked: u32,
    /// Listed in the manifest's heads file.
    pub(crate) listed: bool,
}

pub fn to_hex_hash(hash: &[u8; 32]) -> String {
    hex::encode(hash)
}

pub(crate) fn id_text(id: &[u8; 36]) -> &str {
    std::str::from_utf8(id).unwrap_or("?")
}

/// The smallest and largest UUIDv7 of a millisecond: bounds for an id range.
pub fn uuid_bound(at: OffsetDateTime, high: bool) -> String {
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

/// A checkpoint an export is checked against while it is read
/// ([`crate::audit_checkpoint::CheckpointUse`]).
pub trait CheckpointCheck {
    fn seq(&self) -> u64;
    /// Events with ids from here on come after the checkpoint.
    fn upto_id(&self) -> &str;
    /// Called once every event before the checkpoint has been read: `streams` is where each
    /// stream stood at the checkpoint; `index` marks the streams it lists.
    fn compare(
        &mut self,
        streams: &mut HashMap<Box<str>, StreamState>,
        index: u32,
    ) -> Result<(), VerifyError>;
}

/// Why an export does not verify. `line` is 1-based in the NDJSON file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Format(String),
    #[error("the manifest's signature does not verify: {0}")]
    Signature(String),
    #[error("line {line}: not a valid audit event: {reason}")]
    Malformed { line: u64, reason: String },
    #[error("line {line}: event {id} ({stream} seq {seq}) does not match its hash: {detail}")]
    Modified {
        line: u64,
        id: String,
        stream: String,
        seq: u64,
        detail: String,
    },
    #[error(
        "line {line}: event {id} is out of order: ids must increase through the file, and the previous one is {previous}"
    )]
    OutOfOrder {
        line: u64,
        id: String,
        previous: String,
    },
    #[error(
        "line {line}: event {id} breaks the chain of {stream}: expected seq {expected_seq} linked to {expected_prev}, found seq {seq} linked to {prev}"
    )]
    BrokenChain {
        line: u64,
        id: String,
        stream: String,
        expected_seq: u64,
        expected_prev: String,
        seq: u64,
        prev: String,
    },
    #[error("line {line}: event {id} starts stream {stream} {detail}")]
    WrongStart {
        line: u64,
        id: String,
        stream: String,
        detail: String,
    },
    #[error("stream {stream}: {detail}")]
    Head { stream: String, detail: String },
    #[error("stream {stream} is in the manifest's heads but has no events in the data")]
    MissingStream { stream: String },
    #[error(
        "line {line}: event {id} is in stream {stream}, which the manifest's heads do not list"
    )]
    UnlistedStream {
        line: u64,
        id: String,
        stream: String,
    },
    #[error("the manifest does not match the data: {0}")]
    Manifest(String),
    #[error("checkpoint {checkpoint}: {detail}")]
    Checkpoint { checkpoint: u64, detail: String },
    #[error("{0}")]
    Io(String),
}

/// Where a verification spent its time (seconds), for the benchmarks.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    pub scan: f64,
    pub event_hash: f64,
    pub file_hash: f64,
    pub chain: f64,
}

/// What a successful verification found.
#[derive(Debug, Clone)]
pub struct Verified {
    pub count: u64,
    pub streams: u64,
    pub signed_by: Option<String>,
    pub checkpoints: Vec<u64>,
}

/// Verifies an export line by line: each event's hash over its whole canonical JSON, the id
/// order, each stream's chain, then the heads file, the digests and the signature; and, while
/// reading, the export against every checkpoint it spans. Memory: one [`StreamState`] per stream.
pub struct Verifier<'a> {
    manifest: &'a Manifest,
    streams: HashMap<Box<str>, StreamState>,
    members: Vec<Member>,
    stream_key: String,
    /// The NDJSON file's digest, unless the caller takes it itself ([`Verifier::file_digest_by_caller`]).
    file: Option<Sha256>,
    bytes: u64,
    line: u64,
    count: u64,
    first_id: Option<String>,
    last_id: [u8; 36],
    checkpoints: Vec<Box<dyn CheckpointCheck + 'a>>,
    next_checkpoint: usize,
    /// Filled when `timed` (costs a clock read per step).
    pub timing: Option<Timing>,
}

impl<'a> Verifier<'a> {
    pub fn new(
        manifest: &'a Manifest,
        checkpoints: Vec<Box<dyn CheckpointCheck + 'a>>,
        timed: bool,
    ) -> Verifier<'a> {
        Verifier {
            manifest,
            streams: HashMap::new(),
            members: Vec::with_capacity(16),
            stream_key: String::new(),
            file: Some(Sha256::new()),
            bytes: 0,
            line: 0,
            count: 0,
            first_id: None,
            last_id: [0; 36],
            checkpoints,
            next_checkpoint: 0,
            timing: timed.then(Timing::default),
        }
    }

    /// The caller digests the NDJSON file itself (e.g. on another thread, as it reads) and
    /// hands the result to [`Verifier::finish`].
    pub fn file_digest_by_caller(&mut self) {
        self.file = None;
    }

    pub fn lines_read(&self) -> u64 {
        self.line
    }

    /// One line of the NDJSON file, with its newline.
    pub fn line(&mut self, raw: &str) -> Result<(), VerifyError> {
        let clock = self.timing.is_some().then(std::time::Instant::now);
        let prepared = prepare_line(raw, &mut self.members);
        self.lap(clock, |t, d| t.scan += d);
        self.prepared_line(raw, prepared)
    }

    /// One line of the NDJSON file, with its newline, and what [`prepare_line`] found in it
    /// (possibly on another thread: lines must come in file order).
    pub fn prepared_line(&mut self, raw: &str, prepared: PreparedLine) -> Result<(), VerifyError> {
        let clock = self.timing.is_some().then(std::time::Instant::now);
        if let Some(file) = self.file.as_mut() {
            file.update(raw.as_bytes());
        }
        self.bytes += raw.len() as u64;
        self.line += 1;
        let line = self.line;
        let text = raw.trim_end_matches(['\n', '\r']);
        let event = match prepared {
            PreparedLine::Blank => return Ok(()),
            PreparedLine::Malformed(reason) => return Err(VerifyError::Malformed { line, reason }),
            PreparedLine::Event(event) => event,
        };
        let t2 = self.lap(clock, |t, d| t.file_hash += d);
        let digest: [u8; 32] = match &event.digest {
            DigestPlan::Whole => Sha256::digest(text.as_bytes()).into(),
            DigestPlan::Cut(cut) => Sha256::new()
                .chain_update(&text.as_bytes()[..cut.start])
                .chain_update(&text.as_bytes()[cut.end..])
                .finalize()
                .into(),
            DigestPlan::Reparse => object_digest_without(text, &[], false, "hash")
                .map_err(|reason| VerifyError::Malformed { line, reason })?,
        };
        let t3 = self.lap(t2, |t, d| t.event_hash += d);
        let id = id_text(&event.id);
        self.stream_key.clear();
        match &event.stream {
            StreamName::InLine {
                entity_type,
                entity_id,
            } => {
                self.stream_key.push_str(&text[entity_type.clone()]);
                self.stream_key.push('/');
                self.stream_key.push_str(&text[entity_id.clone()]);
            }
            StreamName::Owned(name) => self.stream_key.push_str(name),
        }
        if digest != event.hash {
            // Scanned again to name what differs (this line fails anyway).
            let _ = scan_object(text, &mut self.members);
            let unknown: Vec<&str> = self
                .members
                .iter()
                .map(|m| &text[m.key.clone()])
                .filter(|k| !EVENT_FIELDS.contains(k))
                .collect();
            let missing: Vec<&str> = EVENT_FIELDS
                .iter()
                .copied()
                .filter(|f| !self.members.iter().any(|m| &text[m.key.clone()] == *f))
                .collect();
            let detail = if !unknown.is_empty() {
                format!(
                    "it has field(s) {} that audit events do not have (added after it was hashed)",
                    unknown.join(", ")
                )
            } else if !missing.is_empty() {
                format!(
                    "it lacks field(s) {} (removed after it was hashed)",
                    missing.join(", ")
                )
            } else {
                format!(
                    "its content was changed after it was hashed (its canonical JSON hashes to {}, it records {})",
                    hex::encode(digest),
                    hex::encode(event.hash)
                )
            };
            return Err(VerifyError::Modified {
                line,
                id: id.to_string(),
                stream: self.stream_key.clone(),
                seq: event.seq,
                detail,
            });
        }
        if self.count > 0 && event.id <= self.last_id {
            return Err(VerifyError::OutOfOrder {
                line,
                id: id.to_string(),
                previous: id_text(&self.last_id).to_string(),
            });
        }
        while let Some(checkpoint) = self.checkpoints.get_mut(self.next_checkpoint) {
            if id < checkpoint.upto_id() {
                break;
            }
            self.next_checkpoint += 1;
            checkpoint.compare(&mut self.streams, self.next_checkpoint as u32)?;
        }
        let id = event.id;
        match self.streams.get_mut(self.stream_key.as_str()) {
            Some(state) => {
                if event.seq != state.last_seq + 1 || event.prev_hash != state.head {
                    return Err(VerifyError::BrokenChain {
                        line,
                        id: id_text(&id).to_string(),
                        stream: self.stream_key.clone(),
                        expected_seq: state.last_seq + 1,
                        expected_prev: hex::encode(state.head),
                        seq: event.seq,
                        prev: hex::encode(event.prev_hash),
                    });
                }
                state.last_seq = event.seq;
                state.head = event.hash;
                state.last_line = line;
                state.last_id = id;
            }
            None => {
                self.streams.insert(
                    self.stream_key.as_str().into(),
                    StreamState {
                        first_seq: event.seq,
                        anchor: event.prev_hash,
                        last_seq: event.seq,
                        head: event.hash,
                        first_line: line,
                        last_line: line,
                        first_id: id,
                        last_id: id,
                        checked: 0,
                        listed: false,
                    },
                );
            }
        }
        if self.first_id.is_none() {
            self.first_id = Some(id_text(&id).to_string());
        }
        self.last_id = id;
        self.count += 1;
        self.lap(t3, |t, d| t.chain += d);
        Ok(())
    }

    fn lap(
        &mut self,
        since: Option<std::time::Instant>,
        add: impl FnOnce(&mut Timing, f64),
    ) -> Option<std::time::Instant> {
        let (Some(since), Some(timing)) = (since, self.timing.as_mut()) else {
            return None;
        };
        let now = std::time::Instant::now();
        add(timing, (now - since).as_secs_f64());
        Some(now)
    }

    /// After the last line: the heads file, counts, digests, the checkpoints not yet crossed,
    /// and the signature (checked last, so a data problem is named precisely first).
    /// `csv` is the CSV file's bytes-and-digest if the auditor has it.
    pub fn finish(
        mut self,
        heads: impl std::io::BufRead,
        ndjson_digest: Option<FileDigest>,
        csv: Option<FileDigest>,
        manifest_json: &Value,
        public_key: Option<&PublicKey>,
    ) -> Result<Verified, VerifyError> {
        while let Some(checkpoint) = self.checkpoints.get_mut(self.next_checkpoint) {
            self.next_checkpoint += 1;
            checkpoint.compare(&mut self.streams, self.next_checkpoint as u32)?;
        }
        let manifest = self.manifest;
        let (heads_digest, root, listed) = check_heads(heads, &mut self.streams)?;
        if listed != self.streams.len() as u64 {
            // A stream of the data is not in the heads file: name its first event.
            let mut unlisted: Vec<(&Box<str>, &StreamState)> =
                self.streams.iter().filter(|(_, s)| !s.listed).collect();
            unlisted.sort_by_key(|(_, s)| s.first_line);
            if let Some((stream, state)) = unlisted.first() {
                return Err(VerifyError::UnlistedStream {
                    line: state.first_line,
                    id: id_text(&state.first_id).to_string(),
                    stream: stream.to_string(),
                });
            }
        }
        if heads_digest != manifest.heads {
            return Err(VerifyError::Manifest(format!(
                "the heads file has sha256 {} ({} bytes), the manifest says {} ({} bytes)",
                heads_digest.sha256,
                heads_digest.bytes,
                manifest.heads.sha256,
                manifest.heads.bytes
            )));
        }
        if root != manifest.streams_root || listed != manifest.streams {
            return Err(VerifyError::Manifest(format!(
                "the heads file's {listed} streams have Merkle root {root}, the manifest says {} streams with root {}",
                manifest.streams, manifest.streams_root
            )));
        }
        if self.count != manifest.count {
            return Err(VerifyError::Manifest(format!(
                "the data has {} events, the manifest says {}",
                self.count, manifest.count
            )));
        }
        let last_id = (self.count > 0).then(|| id_text(&self.last_id).to_string());
        if self.first_id != manifest.first_id || last_id != manifest.last_id {
            return Err(VerifyError::Manifest(format!(
                "the data runs from {:?} to {:?}, the manifest says {:?} to {:?}",
                self.first_id, last_id, manifest.first_id, manifest.last_id
            )));
        }
        let ndjson = match (self.file, ndjson_digest) {
            (Some(file), _) => FileDigest {
                sha256: hex::encode(file.finalize()),
                bytes: self.bytes,
            },
            (None, Some(digest)) => digest,
            (None, None) => {
                return Err(VerifyError::Io(
                    "the NDJSON file's digest was not taken".into(),
                ));
            }
        };
        if ndjson != manifest.ndjson {
            return Err(VerifyError::Manifest(format!(
                "the NDJSON file has sha256 {} ({} bytes), the manifest says {} ({} bytes)",
                ndjson.sha256, ndjson.bytes, manifest.ndjson.sha256, manifest.ndjson.bytes
            )));
        }
        if let Some(csv) = csv
            && csv != manifest.csv
        {
            return Err(VerifyError::Manifest(format!(
                "the CSV file has sha256 {} ({} bytes), the manifest says {} ({} bytes)",
                csv.sha256, csv.bytes, manifest.csv.sha256, manifest.csv.bytes
            )));
        }
        let signed_by = match public_key {
            None => None,
            Some(key) => {
                let signature = manifest
                    .signature
                    .as_ref()
                    .ok_or_else(|| VerifyError::Signature("the manifest is not signed".into()))?;
                key.verify(&signing_input(manifest_json), signature)
                    .map_err(VerifyError::Signature)?;
                Some(signature.key_id.clone())
            }
        };
        Ok(Verified {
            count: self.count,
            streams: self.streams.len() as u64,
            signed_by,
            checkpoints: self.checkpoints.iter().map(|c| c.seq()).collect(),
        })
    }
}

/// Reads the heads file: each line canonical, streams strictly increasing, each matching the
/// data's chain; returns its digest, Merkle root and line count. Marks matched streams.
fn check_heads(
    heads: impl std::io::BufRead,
    streams: &mut HashMap<Box<str>, StreamState>,
) -> Result<(FileDigest, String, u64), VerifyError> {
    let mut file = Sha256::new();
    let mut bytes = 0u64;
    let mut merkle = MerkleBuilder::default();
    let mut previous = String::new();
    let mut members = Vec::new();
    let mut matched = 0u64;
    for (index, raw) in heads.split(b'\n').enumerate() {
        let raw = raw.map_err(|e| VerifyError::Io(format!("cannot read the heads file: {e}")))?;
        file.update(&raw);
        file.update(b"\n");
        bytes += raw.len() as u64 + 1;
        let bad = |reason: String| {
            VerifyError::Manifest(format!("heads file line {}: {reason}", index + 1))
        };
        let text = std::str::from_utf8(&raw).map_err(|e| bad(e.to_string()))?;
        if !scan_object(text, &mut members).map_err(bad)? {
            return Err(bad("not in canonical form".into()));
        }
        let head: StreamHead = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if head.stream <= previous {
            return Err(bad(format!("stream {} is out of order", head.stream)));
        }
        merkle.push(text.as_bytes());
        let Some(state) = streams.get_mut(head.stream.as_str()) else {
            return Err(VerifyError::MissingStream {
                stream: head.stream,
            });
        };
        let (anchor, head_hash) = (hex::encode(state.anchor), hex::encode(state.head));
        if state.first_seq != head.first_seq || anchor != head.anchor_hash {
            return Err(VerifyError::WrongStart {
                line: state.first_line,
                id: id_text(&state.first_id).to_string(),
                stream: head.stream,
                detail: format!(
                    "at seq {} linked to {anchor}, but the manifest's heads say the export starts at seq {} linked to {}",
                    state.first_seq, head.first_seq, head.anchor_hash
                ),
            });
        }
        if state.last_seq != head.last_seq || head_hash != head.head_hash {
            let what = if state.last_seq < head.last_seq {
                ": events are missing at the end"
            } else if state.last_seq > head.last_seq {
                ": the data has events past the manifest's head"
            } else {
                ": the head hash differs"
            };
            return Err(VerifyError::Head {
                detail: format!(
                    "the data ends at seq {} (line {}, event {}) with hash {head_hash}, but the manifest's heads say seq {} with hash {}{what}",
                    state.last_seq,
                    state.last_line,
                    id_text(&state.last_id),
                    head.last_seq,
                    head.head_hash
                ),
                stream: head.stream,
            });
        }
        state.listed = true;
        matched += 1;
        previous = head.stream;
    }
    Ok((
        FileDigest {
            sha256: hex::encode(file.finalize()),
            bytes,
        },
        merkle.root(),
        matched,
    ))
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

    #[test]
    fn the_writer_and_the_verifier_hash_alike() {
        for event in stream_events("a", 3, OffsetDateTime::UNIX_EPOCH) {
            let line = event.canonical_json();
            let mut members = Vec::new();
            assert!(scan_object(&line, &mut members).unwrap());
            let digest = object_digest_without(&line, &members, true, "hash").unwrap();
            assert_eq!(hex::encode(digest), event.hash);
            // The typed struct's own order (not canonical) hashes alike too.
            let typed = serde_json::to_string(&event).unwrap();
            let canonical = scan_object(&typed, &mut members).unwrap();
            let digest = object_digest_without(&typed, &members, canonical, "hash").unwrap();
            assert_eq!(hex::encode(digest), event.hash);
        }
    }

    #[test]
    fn hashes_decode_as_the_hex_crate_decodes_them() {
        let mut cases: Vec<Vec<u8>> = vec![
            GENESIS_HASH.into(),
            "0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdef0123".into(),
            "0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdef012".into(),
            "0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdef01234".into(),
            vec![],
        ];
        for bad in [b'g', b'G', b'/', b':', b'@', b'`', 0xc3, b' ', 0] {
            for at in [0, 1, 63] {
                let mut digits = GENESIS_HASH.as_bytes().to_vec();
                digits[at] = bad;
                cases.push(digits);
            }
        }
        for digits in cases {
            let mut expected = [0u8; 32];
            let expected = hex::decode_to_slice(&digits, &mut expected)
                .ok()
                .map(|()| expected);
            assert_eq!(decode_hash(&digits), expected, "{digits:?}");
        }
    }

    #[test]
    fn merkle_roots_follow_rfc_6962() {
        let leaf = |b: &[u8]| -> [u8; 32] {
            Sha256::new()
                .chain_update([0u8])
                .chain_update(b)
                .finalize()
                .into()
        };
        let mut m = MerkleBuilder::default();
        assert_eq!(m.root(), hex::encode(Sha256::digest(b"")));
        for b in [b"a", b"b", b"c"] {
            m.push(b);
        }
        let ab = merkle_node(&leaf(b"a"), &leaf(b"b"));
        assert_eq!(m.root(), hex::encode(merkle_node(&ab, &leaf(b"c"))));
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
