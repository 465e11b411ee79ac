//! Checkpoints: the head of every audit stream at a moment, signed and written once.
//!
//! A signed manifest proves who exported the data, not that the store was not rewritten before
//! the export (whoever can write the store and run an export gets a valid signature over a
//! rewritten history). So the system periodically records the heads of *all* streams as of a
//! time `at` — a heads file (one canonical line per stream, sorted) and a signed checkpoint with
//! the heads' Merkle root and digest, linked to the previous checkpoint — into write-once
//! storage (S3 Object Lock in AWS; create-only items in the store plus files locally).
//! `brokeros audit verify --checkpoints DIR` then checks an export against every checkpoint
//! its range spans: at each checkpoint, every stream of the export must stand exactly where
//! the checkpoint says (an edited or appended event changes its head), every stream whose head
//! lies in the export's range must be in the export (a deleted stream), and no stream may have
//! events before the checkpoint that the checkpoint does not know (an inserted stream).
//!
//! A checkpoint is built incrementally: the previous checkpoint's heads plus the events since
//! its `at`, whose chains it checks on the way. It lags real time (`at` is a little in the
//! past) so transactions still committing events with earlier ids are included.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::{
    CheckpointCheck, FileDigest, MerkleBuilder, StreamState, VerifyError, id_text, signing_input,
    to_hex_hash, uuid_bound,
};
use crate::canonical::{scan_object, to_canonical_json};
use crate::signing::{PublicKey, Signature, Signer};

pub const CHECKPOINT_FORMAT: &str = "brokeros-audit-checkpoint/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub format: String,
    /// 1, 2, 3… with no gaps.
    pub seq: u64,
    /// Covers every event whose id is below `upto_id` (the first UUIDv7 of `at`'s millisecond).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub upto_id: String,
    pub streams: u64,
    /// Merkle root of the heads file's lines (same tree as an export's heads).
    pub root: String,
    pub heads: FileDigest,
    /// SHA-256 of the previous checkpoint's canonical JSON (signature included).
    pub previous: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

/// One line of a checkpoint's heads file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointHead {
    pub stream: String,
    pub seq: u64,
    pub hash: String,
    pub event_id: String,
}

impl Checkpoint {
    pub fn parse(text: &str) -> Result<(Checkpoint, Value), String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if value.get("format").and_then(Value::as_str) != Some(CHECKPOINT_FORMAT) {
            return Err(format!("not a {CHECKPOINT_FORMAT} checkpoint"));
        }
        let checkpoint = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        Ok((checkpoint, value))
    }

    /// The digest the next checkpoint links to.
    pub fn digest(&self) -> String {
        crate::canonical::sha256_hex(to_canonical_json(self).as_bytes())
    }
}

/// Builds checkpoint `previous.seq + 1` as of `at`: the previous heads (`None`: the first
/// checkpoint) updated by `events` (canonical NDJSON lines with ids in `[previous.upto_id,
/// upto_id)`, in id order), written to `heads_out`, signed. Refuses an event that does not
/// continue its stream's chain: the checkpoint only vouches for consistent history.
pub async fn build(
    previous: Option<(&Checkpoint, &mut dyn BufRead)>,
    at: OffsetDateTime,
    events: &mut dyn Iterator<Item = Result<String, String>>,
    heads_out: &mut dyn Write,
    signer: &dyn Signer,
) -> Result<Checkpoint, String> {
    let upto_id = uuid_bound(at, false);
    let mut heads: BTreeMap<String, CheckpointHead> = BTreeMap::new();
    let (seq, previous_digest) = match previous {
        None => (1, None),
        Some((checkpoint, reader)) => {
            for line in reader.lines() {
                let line = line.map_err(|e| e.to_string())?;
                let head: CheckpointHead =
                    serde_json::from_str(&line).map_err(|e| e.to_string())?;
                heads.insert(head.stream.clone(), head);
            }
            if heads.len() as u64 != checkpoint.streams {
                return Err("the previous checkpoint's heads file is incomplete".into());
            }
            (checkpoint.seq + 1, Some(checkpoint.digest()))
        }
    };
    let mut members = Vec::new();
    for line in events {
        let line = line?;
        scan_object(&line, &mut members)?;
        let event = crate::audit::EventLine::read(&line, &members)?;
        if event.id >= upto_id.as_str() {
            continue;
        }
        let stream = format!("{}/{}", event.entity_type, event.entity_id);
        let (expected_seq, expected_prev) = match heads.get(&stream) {
            Some(h) => (h.seq + 1, h.hash.clone()),
            None => (1, crate::audit::GENESIS_HASH.to_string()),
        };
        if event.seq != expected_seq || to_hex_hash(&event.prev_hash) != expected_prev {
            return Err(format!(
                "event {} (seq {}) does not continue {stream} at seq {expected_seq}: refusing to checkpoint a broken chain",
                event.id, event.seq
            ));
        }
        heads.insert(
            stream.clone(),
            CheckpointHead {
                stream,
                seq: event.seq,
                hash: to_hex_hash(&event.hash),
                event_id: event.id.to_string(),
            },
        );
    }
    let mut merkle = MerkleBuilder::default();
    let mut file = Sha256::new();
    let mut bytes = 0u64;
    for head in heads.values() {
        let mut line = to_canonical_json(head);
        merkle.push(line.as_bytes());
        line.push('\n');
        file.update(line.as_bytes());
        bytes += line.len() as u64;
        heads_out
            .write_all(line.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let mut checkpoint = Checkpoint {
        format: CHECKPOINT_FORMAT.into(),
        seq,
        at,
        upto_id,
        streams: heads.len() as u64,
        root: merkle.root(),
        heads: FileDigest {
            sha256: hex::encode(file.finalize()),
            bytes,
        },
        previous: previous_digest,
        signature: None,
    };
    let value = serde_json::to_value(&checkpoint).expect("checkpoints serialize");
    checkpoint.signature = Some(crate::signing::sign(signer, &signing_input(&value)).await?);
    Ok(checkpoint)
}

/// Opens a checkpoint's heads file (it is read twice: to check it, then to compare).
pub type OpenHeads<'a> = Box<dyn Fn() -> std::io::Result<Box<dyn BufRead>> + 'a>;

/// A checkpoint an export is checked against, its signature and heads file already verified.
pub struct CheckpointUse<'a> {
    checkpoint: Checkpoint,
    open: OpenHeads<'a>,
    /// Events with ids from here on are in the export's range (`None`: from the beginning).
    lower_id: Option<String>,
    /// Only this stream is compared (an entity export).
    scope: Option<String>,
}

impl<'a> CheckpointUse<'a> {
    /// Checks the checkpoint's signature with `key` and its heads file against its digest and
    /// root; `lower_id`/`scope` describe the export (see [`spanned`]).
    pub fn new(
        text: &str,
        open: OpenHeads<'a>,
        key: &PublicKey,
        lower_id: Option<String>,
        scope: Option<String>,
    ) -> Result<CheckpointUse<'a>, VerifyError> {
        let bad = |seq: u64, detail: String| VerifyError::Checkpoint {
            checkpoint: seq,
            detail,
        };
        let (checkpoint, value) = Checkpoint::parse(text).map_err(|e| bad(0, e))?;
        let seq = checkpoint.seq;
        let signature = checkpoint
            .signature
            .as_ref()
            .ok_or_else(|| bad(seq, "not signed".into()))?;
        key.verify(&signing_input(&value), signature)
            .map_err(|e| bad(seq, format!("signature: {e}")))?;
        let reader = open().map_err(|e| bad(seq, format!("cannot read its heads: {e}")))?;
        let mut merkle = MerkleBuilder::default();
        let mut file = Sha256::new();
        let mut bytes = 0u64;
        for line in reader.split(b'\n') {
            let line = line.map_err(|e| bad(seq, e.to_string()))?;
            merkle.push(&line);
            file.update(&line);
            file.update(b"\n");
            bytes += line.len() as u64 + 1;
        }
        let digest = FileDigest {
            sha256: hex::encode(file.finalize()),
            bytes,
        };
        if digest != checkpoint.heads || merkle.root() != checkpoint.root {
            return Err(bad(
                seq,
                format!(
                    "its heads file (sha256 {}, root {}) is not the one it signed (sha256 {}, root {})",
                    digest.sha256,
                    merkle.root(),
                    checkpoint.heads.sha256,
                    checkpoint.root
                ),
            ));
        }
        Ok(CheckpointUse {
            checkpoint,
            open,
            lower_id,
            scope,
        })
    }

    pub fn at(&self) -> OffsetDateTime {
        self.checkpoint.at
    }
}

impl CheckpointCheck for CheckpointUse<'_> {
    fn seq(&self) -> u64 {
        self.checkpoint.seq
    }

    fn upto_id(&self) -> &str {
        &self.checkpoint.upto_id
    }

    /// Called when the verifier has read every event of the export before the checkpoint:
    /// `streams` is where each stream stood at the checkpoint's time.
    fn compare(
        &mut self,
        streams: &mut HashMap<Box<str>, StreamState>,
        index: u32,
    ) -> Result<(), VerifyError> {
        let seq = self.checkpoint.seq;
        let at = self.checkpoint.at;
        let bad = |detail: String| VerifyError::Checkpoint {
            checkpoint: seq,
            detail,
        };
        let reader = (self.open)().map_err(|e| bad(format!("cannot read its heads: {e}")))?;
        let mut members = Vec::new();
        for line in reader.lines() {
            let line = line.map_err(|e| bad(e.to_string()))?;
            scan_object(&line, &mut members).map_err(bad)?;
            let head: CheckpointHead =
                serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
            if self.scope.as_ref().is_some_and(|s| s != &head.stream) {
                continue;
            }
            let in_range = self
                .lower_id
                .as_ref()
                .is_none_or(|lower| head.event_id.as_str() >= lower.as_str());
            match streams.get_mut(head.stream.as_str()) {
                Some(state) => {
                    let hash = to_hex_hash(&state.head);
                    if state.last_seq != head.seq || hash != head.hash {
                        return Err(bad(format!(
                            "stream {} (as of {at}): the checkpoint has its head at seq {} with hash {} (event {}), the export has seq {} with hash {} (line {}, event {}): history was rewritten after the checkpoint",
                            head.stream,
                            head.seq,
                            head.hash,
                            head.event_id,
                            state.last_seq,
                            hash,
                            state.last_line,
                            id_text(&state.last_id)
                        )));
                    }
                    state.checked = index;
                }
                None if in_range => {
                    return Err(bad(format!(
                        "stream {} (as of {at}): the checkpoint has its head at seq {} (event {}, within the export's range), but the export has no event of the stream before the checkpoint: events were deleted",
                        head.stream, head.seq, head.event_id
                    )));
                }
                None => {}
            }
        }
        let mut unknown: Vec<(&Box<str>, &StreamState)> = streams
            .iter()
            .filter(|(stream, s)| {
                s.checked != index
                    && self
                        .scope
                        .as_deref()
                        .is_none_or(|scope| scope == &***stream)
            })
            .collect();
        unknown.sort_by_key(|(_, s)| s.first_line);
        if let Some((stream, state)) = unknown.first() {
            return Err(bad(format!(
                "line {}: event {} is in stream {stream} before the checkpoint (as of {at}), which does not have that event: events were inserted after the checkpoint",
                state.first_line,
                id_text(&state.first_id)
            )));
        }
        Ok(())
    }
}

/// Whether a checkpoint at `at` lies within an export's selection (from the manifest), and the
/// export's lower id bound and scope for [`CheckpointUse::new`].
pub fn spanned(
    selection: &Value,
    first_id: Option<&str>,
    exported_at: OffsetDateTime,
    at: OffsetDateTime,
) -> Option<(Option<String>, Option<String>)> {
    let parse = |field: &str| {
        selection.get(field).and_then(Value::as_str).and_then(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    if let (Some(from), Some(to)) = (parse("from"), parse("to")) {
        return (from < at && at <= to).then(|| (Some(uuid_bound(from, false)), None));
    }
    let (Some(entity_type), Some(entity_id)) = (
        selection.get("entity_type").and_then(Value::as_str),
        selection.get("entity_id").and_then(Value::as_str),
    ) else {
        return None;
    };
    let first = first_id?;
    let after_first = uuid_bound(at, false).as_str() > first;
    (after_first && at <= exported_at).then(|| (None, Some(format!("{entity_type}/{entity_id}"))))
}
