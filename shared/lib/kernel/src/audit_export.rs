//! Audit export for auditors: the events of a time range or of one entity, as NDJSON plus CSV
//! plus a heads file, with a signed manifest that `brokeros audit verify` checks offline.
//!
//! The export streams: it reads the store page by page in id order and writes each event as
//! it comes (the stored canonical JSON, copied as is), keeping per stream only its first and
//! last sequence and hashes. Memory grows with the number of streams, not of events; the
//! manifest's size is constant (the heads go to their own file, the manifest has their Merkle
//! root).

use std::collections::HashMap;
use std::io::Write;

use crate::audit::{
    AuditEvent, EXPORT_FORMAT, EventLine, FileDigest, Manifest, MerkleBuilder, StreamHead,
    to_hex_hash,
};
use crate::canonical::{Member, scan_canonical, scan_object, to_canonical_json};
use crate::signing::Signer;
use crate::{Error, Result};
use brokeros_store::{Query, SortKeyRange, Store, Table};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

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

pub use crate::audit::uuid_bound;

/// The queries that read a selection in id order: one stream, or one day-index partition per
/// UTC day of the range (the day index follows the id's time, so days concatenate in order).
fn queries(selection: &Selection) -> Result<Vec<Query>> {
    let mut pages = Vec::new();
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
    Ok(pages)
}

/// Calls `each` with every selected event's stored JSON, in id order, page by page.
pub async fn for_each_event(
    store: &dyn Store,
    selection: &Selection,
    mut each: impl FnMut(&str) -> Result<()>,
) -> Result<()> {
    for query in queries(selection)? {
        let mut cursor = None;
        loop {
            let page = store
                .query(query.clone().after(cursor))
                .await
                .map_err(store_error)?;
            for item in &page.items {
                each(&item.data)?;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(())
}

/// Reads the selected events in id order, typed (for tests and small selections: an export
/// streams instead).
pub async fn collect(
    store: &dyn Store,
    selection: &Selection,
    mut progress: impl FnMut(u64),
) -> Result<Vec<AuditEvent>> {
    let mut events = Vec::new();
    for_each_event(store, selection, |data| {
        events.push(
            serde_json::from_str(data)
                .map_err(|e| Error::Internal(format!("unreadable audit event: {e}")))?,
        );
        progress(events.len() as u64);
        Ok(())
    })
    .await?;
    Ok(events)
}

/// A writer that counts and hashes what passes through.
pub struct Digesting<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Digesting<W> {
    pub fn new(inner: W) -> Digesting<W> {
        Digesting {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn finish(mut self) -> std::io::Result<(W, FileDigest)> {
        self.inner.flush()?;
        Ok((
            self.inner,
            FileDigest {
                sha256: hex::encode(self.hash.finalize()),
                bytes: self.bytes,
            },
        ))
    }
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct ExportedStream {
    first_seq: u64,
    anchor: [u8; 32],
    last_seq: u64,
    head: [u8; 32],
}

#[derive(Deserialize)]
struct ActorView<'a> {
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    role: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ChangeView<'a> {
    #[serde(borrow)]
    field: std::borrow::Cow<'a, str>,
}

pub const CSV_HEADER: &str = "id,at,actor_kind,actor_id,actor_role,action,entity_type,entity_id,seq,correlation_id,changed_fields,prev_hash,hash\n";

/// A CSV row from what the scan of the line found, without parsing anything again: `None`
/// for what it leaves to [`csv_row`] (an escaped string, an `actor` or a change that is not a
/// plain canonical object, anything unexpected), whose output it matches byte for byte.
fn csv_row_fast(
    line: &str,
    members: &[Member],
    scratch: &mut Vec<Member>,
    fields: &mut String,
    out: &mut String,
) -> Option<()> {
    let bytes = line.as_bytes();
    let find = |members: &[Member], key: &str| -> Option<std::ops::Range<usize>> {
        members
            .iter()
            .find(|m| &bytes[m.key.clone()] == key.as_bytes())
            .map(|m| m.value.clone())
    };
    // A string value without escapes: its content as written.
    let plain = |range: std::ops::Range<usize>| -> Option<&str> {
        let raw = &line[range];
        raw.strip_prefix('"')?
            .strip_suffix('"')
            .filter(|s| !s.contains('\\'))
    };
    let text = |key: &str| plain(find(members, key)?);
    let actor = find(members, "actor")?;
    if scan_canonical(bytes, actor.start, scratch)? != actor.end {
        return None;
    }
    let kind = plain(find(scratch, "kind")?)?;
    let id = plain(find(scratch, "id")?)?;
    let role = match find(scratch, "role") {
        None => "",
        Some(r) if &line[r.clone()] == "null" => "",
        Some(r) => plain(r)?,
    };
    let changes = find(members, "changes")?;
    fields.clear();
    let mut at = changes.start;
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    at += 1;
    if bytes.get(at) == Some(&b']') {
        at += 1;
    } else {
        let mut first = true;
        loop {
            at = scan_canonical(bytes, at, scratch)?;
            let field = plain(find(scratch, "field")?)?;
            if !first {
                fields.push(';');
            }
            first = false;
            fields.push_str(field);
            match bytes.get(at) {
                Some(b',') => at += 1,
                Some(b']') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if at != changes.end {
        return None;
    }
    let row: [&str; 13] = [
        text("id")?,
        text("at")?,
        kind,
        id,
        role,
        text("action")?,
        text("entity_type")?,
        text("entity_id")?,
        &line[find(members, "seq")?],
        text("correlation_id")?,
        fields.as_str(),
        text("prev_hash")?,
        text("hash")?,
    ];
    push_csv_row(&row, out);
    Some(())
}

/// Appends one CSV line of `row`'s fields, each quoted and defused as needed.
fn push_csv_row<S: AsRef<str>>(row: &[S], out: &mut String) {
    for (i, field) in row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&crate::csv::text_field(field.as_ref()));
    }
    out.push('\n');
}

fn csv_row(line: &str, members: &[crate::canonical::Member], out: &mut String) -> Result<()> {
    let bad = |e: String| Error::Internal(format!("unreadable audit event: {e}"));
    let get = |key: &str| {
        members
            .iter()
            .find(|m| &line[m.key.clone()] == key)
            .map(|m| &line[m.value.clone()])
            .ok_or_else(|| bad(format!("no {key}")))
    };
    let text = |key: &str| -> Result<std::borrow::Cow<str>> {
        serde_json::from_str::<std::borrow::Cow<str>>(get(key)?).map_err(|e| bad(e.to_string()))
    };
    let actor: ActorView = serde_json::from_str(get("actor")?).map_err(|e| bad(e.to_string()))?;
    let changes: Vec<ChangeView> =
        serde_json::from_str(get("changes")?).map_err(|e| bad(e.to_string()))?;
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_ref()).collect();
    let row: [std::borrow::Cow<str>; 13] = [
        text("id")?,
        text("at")?,
        actor.kind,
        actor.id,
        actor.role.unwrap_or_default(),
        text("action")?,
        text("entity_type")?,
        text("entity_id")?,
        get("seq")?.into(),
        text("correlation_id")?,
        fields.join(";").into(),
        text("prev_hash")?,
        text("hash")?,
    ];
    push_csv_row(&row, out);
    Ok(())
}

/// Where an export writes its three data files.
pub struct Sinks<'a> {
    pub ndjson: &'a mut (dyn Write + Send),
    pub csv: &'a mut (dyn Write + Send),
    pub heads: &'a mut (dyn Write + Send),
    /// Filled with where the time went, when given (the benchmarks).
    pub timing: Option<&'a mut ExportTiming>,
}

/// How much of the NDJSON or CSV goes to the digesting thread and the sink at a time.
const BLOCK: usize = 1 << 20;

/// The NDJSON and CSV of an export, gathered in blocks that go to their sinks from this
/// thread and to SHA-256 on a thread of its own (the digests are a third of an export's own
/// work; the sinks need not be `Send`). The blocks come back to be filled again.
struct Pipeline<'a> {
    ndjson: Vec<u8>,
    csv: Vec<u8>,
    ndjson_sink: &'a mut (dyn Write + Send),
    csv_sink: &'a mut (dyn Write + Send),
    blocks: Option<std::sync::mpsc::SyncSender<(bool, std::sync::Arc<Vec<u8>>)>>,
    spare: std::sync::mpsc::Receiver<std::sync::Arc<Vec<u8>>>,
    digests: Option<std::thread::JoinHandle<(FileDigest, FileDigest)>>,
    /// Seconds this thread waited for the digesting one.
    waited: f64,
}

impl<'a> Pipeline<'a> {
    fn start(
        ndjson_sink: &'a mut (dyn Write + Send),
        csv_sink: &'a mut (dyn Write + Send),
    ) -> Pipeline<'a> {
        let (blocks, received) =
            std::sync::mpsc::sync_channel::<(bool, std::sync::Arc<Vec<u8>>)>(4);
        let (spare_tx, spare) = std::sync::mpsc::channel();
        let digests = std::thread::spawn(move || {
            let mut files = [(Sha256::new(), 0u64), (Sha256::new(), 0u64)];
            for (is_ndjson, block) in received {
                let (hash, bytes) = &mut files[usize::from(is_ndjson)];
                hash.update(&block[..]);
                *bytes += block.len() as u64;
                let _ = spare_tx.send(block);
            }
            let [csv, ndjson] = files.map(|(hash, bytes)| FileDigest {
                sha256: hex::encode(hash.finalize()),
                bytes,
            });
            (ndjson, csv)
        });
        Pipeline {
            ndjson: Vec::with_capacity(BLOCK + (BLOCK >> 4)),
            csv: Vec::with_capacity(BLOCK + (BLOCK >> 4)),
            ndjson_sink,
            csv_sink,
            blocks: Some(blocks),
            spare,
            digests: Some(digests),
            waited: 0.0,
        }
    }

    /// Sends the NDJSON (or CSV) block gathered so far to its digest and its sink.
    fn flush(&mut self, ndjson: bool) -> std::io::Result<()> {
        let fresh = match self.spare.try_recv().map(std::sync::Arc::try_unwrap) {
            Ok(Ok(mut block)) => {
                block.clear();
                block
            }
            _ => Vec::with_capacity(BLOCK + (BLOCK >> 4)),
        };
        let (gathered, sink) = if ndjson {
            (&mut self.ndjson, &mut *self.ndjson_sink)
        } else {
            (&mut self.csv, &mut *self.csv_sink)
        };
        let block = std::sync::Arc::new(std::mem::replace(gathered, fresh));
        if block.is_empty() {
            return Ok(());
        }
        let clock = std::time::Instant::now();
        self.blocks
            .as_ref()
            .expect("not finished")
            .send((ndjson, block.clone()))
            .map_err(|_| std::io::Error::other("the digesting thread stopped"))?;
        self.waited += clock.elapsed().as_secs_f64();
        sink.write_all(&block)
    }

    /// The last blocks, then both files' digests (NDJSON, CSV).
    fn finish(&mut self) -> std::io::Result<(FileDigest, FileDigest)> {
        self.flush(true)?;
        self.flush(false)?;
        self.ndjson_sink.flush()?;
        self.csv_sink.flush()?;
        self.blocks = None;
        let clock = std::time::Instant::now();
        let digests = self
            .digests
            .take()
            .expect("not finished")
            .join()
            .map_err(|_| std::io::Error::other("the digesting thread failed"))?;
        self.waited += clock.elapsed().as_secs_f64();
        Ok(digests)
    }
}

/// Seconds spent per step of an export; the rest of the wall time is the store's reads.
#[derive(Debug, Clone, Default)]
pub struct ExportTiming {
    pub scan: f64,
    pub ndjson: f64,
    pub csv: f64,
    pub heads_and_sign: f64,
    /// Of the NDJSON, CSV and finishing steps: waiting for the thread that digests the NDJSON
    /// and the CSV.
    pub digest_wait: f64,
}

pub fn selection_json(selection: &Selection) -> Value {
    match selection {
        Selection::TimeRange { from, to } => json!({
            "from": from.format(&Rfc3339).expect("formats"),
            "to": to.format(&Rfc3339).expect("formats"),
        }),
        Selection::Entity {
            entity_type,
            entity_id,
        } => json!({ "entity_type": entity_type, "entity_id": entity_id }),
    }
}

/// Exports the selection into `sinks`, streaming, and returns the manifest, signed by
/// `signer` when given. `progress` gets the running event count after each page.
pub async fn export(
    store: &dyn Store,
    selection: &Selection,
    exported_at: OffsetDateTime,
    sinks: Sinks<'_>,
    signer: Option<&dyn Signer>,
    mut progress: impl FnMut(u64),
) -> Result<Manifest> {
    let io = |e: std::io::Error| Error::Internal(format!("cannot write the export: {e}"));
    let timing = sinks.timing;
    let timed = timing.is_some();
    let mut spent = ExportTiming::default();
    let lap = |since: &mut Option<std::time::Instant>, slot: &mut f64| {
        if let Some(t) = since {
            let now = std::time::Instant::now();
            *slot += (now - *t).as_secs_f64();
            *t = now;
        }
    };
    let mut files = Pipeline::start(sinks.ndjson, sinks.csv);
    let mut heads = Digesting::new(sinks.heads);
    files.csv.extend_from_slice(CSV_HEADER.as_bytes());
    let mut streams: HashMap<Box<str>, ExportedStream> = HashMap::new();
    let mut members = Vec::with_capacity(16);
    let mut row = String::new();
    let mut scratch = Vec::with_capacity(16);
    let mut fields = String::new();
    let mut stream = String::new();
    let mut count = 0u64;
    let mut first_id: Option<String> = None;
    let mut last_id = String::new();
    for_each_event(store, selection, |data| {
        let bad = |e: String| Error::Internal(format!("unreadable audit event: {e}"));
        let mut clock = timed.then(std::time::Instant::now);
        // Stored events are canonical JSON (written by `AuditEvent::canonical_json`); older
        // ones are brought to the canonical form here.
        let converted;
        let line = if scan_object(data, &mut members).map_err(bad)? {
            data
        } else {
            let value: Value = serde_json::from_str(data).map_err(|e| bad(e.to_string()))?;
            converted = to_canonical_json(&value);
            scan_object(&converted, &mut members).map_err(bad)?;
            &converted
        };
        let event = EventLine::read(line, &members).map_err(bad)?;
        if count > 0 && event.id <= last_id.as_str() {
            return Err(Error::Internal(format!(
                "audit event {} comes after {last_id}: the store did not return id order",
                event.id
            )));
        }
        lap(&mut clock, &mut spent.scan);
        files.ndjson.extend_from_slice(line.as_bytes());
        files.ndjson.push(b'\n');
        if files.ndjson.len() >= BLOCK {
            files.flush(true).map_err(io)?;
        }
        lap(&mut clock, &mut spent.ndjson);
        row.clear();
        if csv_row_fast(line, &members, &mut scratch, &mut fields, &mut row).is_none() {
            row.clear();
            csv_row(line, &members, &mut row)?;
        }
        files.csv.extend_from_slice(row.as_bytes());
        if files.csv.len() >= BLOCK {
            files.flush(false).map_err(io)?;
        }
        lap(&mut clock, &mut spent.csv);
        stream.clear();
        stream.push_str(&event.entity_type);
        stream.push('/');
        stream.push_str(&event.entity_id);
        match streams.get_mut(stream.as_str()) {
            Some(s) => {
                if event.seq != s.last_seq + 1 {
                    return Err(raced(&stream, s.last_seq, event.seq));
                }
                s.last_seq = event.seq;
                s.head = event.hash;
            }
            None => {
                streams.insert(
                    stream.as_str().into(),
                    ExportedStream {
                        first_seq: event.seq,
                        anchor: event.prev_hash,
                        last_seq: event.seq,
                        head: event.hash,
                    },
                );
            }
        }
        if first_id.is_none() {
            first_id = Some(event.id.to_string());
        }
        last_id.clear();
        last_id.push_str(event.id);
        count += 1;
        if count.is_multiple_of(1000) {
            progress(count);
        }
        Ok(())
    })
    .await?;
    progress(count);
    let mut clock = timed.then(std::time::Instant::now);
    let mut names: Vec<&Box<str>> = streams.keys().collect();
    names.sort();
    let mut merkle = MerkleBuilder::default();
    for name in names {
        let s = &streams[name];
        let line = to_canonical_json(&StreamHead {
            stream: name.to_string(),
            first_seq: s.first_seq,
            anchor_hash: to_hex_hash(&s.anchor),
            last_seq: s.last_seq,
            head_hash: to_hex_hash(&s.head),
        });
        merkle.push(line.as_bytes());
        heads.write_all(line.as_bytes()).map_err(io)?;
        heads.write_all(b"\n").map_err(io)?;
    }
    let (ndjson, csv) = files.finish().map_err(io)?;
    let (_, heads) = heads.finish().map_err(io)?;
    let mut manifest = Manifest {
        format: EXPORT_FORMAT.to_string(),
        selection: selection_json(selection),
        exported_at,
        count,
        first_id,
        last_id: (count > 0).then_some(last_id),
        streams: merkle.leaves(),
        streams_root: merkle.root(),
        ndjson,
        csv,
        heads,
        signature: None,
    };
    if let Some(signer) = signer {
        manifest
            .sign(signer)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot sign the manifest: {e}")))?;
    }
    lap(&mut clock, &mut spent.heads_and_sign);
    spent.digest_wait = files.waited;
    if let Some(t) = timing {
        *t = spent;
    }
    Ok(manifest)
}

/// The code of the error an export answers when an event landed behind its cursor: the events
/// of a stream are numbered in the order they commit, but ordered in the export by their ids,
/// which are taken a moment before the commit; an event whose commit was that moment late (or
/// that an index showed late) is missing from the pages already read, and its stream would
/// show a gap. The export stops rather than write a file that verification refuses; exporting
/// again (a moment later) finds it.
pub const RACED_WRITES: &str = "audit_export_raced_writes";

fn raced(stream: &str, last: u64, next: u64) -> Error {
    Error::conflict(
        RACED_WRITES,
        format!(
            "{stream}: event {next} follows event {last} in the export; the events between were committed behind the export's cursor while it read (export again), or, if exporting again finds the same gap, are missing from the store"
        ),
    )
}

/// Whether `e` is an export's [`RACED_WRITES`] refusal, which exporting again resolves.
pub fn raced_writes(e: &Error) -> bool {
    matches!(e, Error::Conflict { code, .. } if *code == RACED_WRITES)
}

/// An export held in memory (tests, small selections).
pub struct ExportFiles {
    pub ndjson: Vec<u8>,
    pub csv: Vec<u8>,
    pub heads: Vec<u8>,
    pub manifest: Manifest,
}

pub async fn export_to_memory(
    store: &dyn Store,
    selection: &Selection,
    exported_at: OffsetDateTime,
    signer: Option<&dyn Signer>,
) -> Result<ExportFiles> {
    let (mut ndjson, mut csv, mut heads) = (Vec::new(), Vec::new(), Vec::new());
    let manifest = export(
        store,
        selection,
        exported_at,
        Sinks {
            ndjson: &mut ndjson,
            csv: &mut csv,
            heads: &mut heads,
            timing: None,
        },
        signer,
        |_| {},
    )
    .await?;
    Ok(ExportFiles {
        ndjson,
        csv,
        heads,
        manifest,
    })
}

/// Verifies an in-memory export (see [`crate::audit::Verifier`] for files).
pub fn verify_files(
    files: &ExportFiles,
    manifest_json: &Value,
    public_key: Option<&crate::signing::PublicKey>,
) -> std::result::Result<crate::audit::Verified, crate::audit::VerifyError> {
    let (manifest, _) = Manifest::parse(&manifest_json.to_string())?;
    let mut verifier = crate::audit::Verifier::new(&manifest, Vec::new(), false);
    let text =
        std::str::from_utf8(&files.ndjson).map_err(|e| crate::audit::VerifyError::Malformed {
            line: 0,
            reason: format!("not UTF-8: {e}"),
        })?;
    for line in text.split_inclusive('\n') {
        verifier.line(line)?;
    }
    let csv = FileDigest {
        sha256: crate::canonical::sha256_hex(&files.csv),
        bytes: files.csv.len() as u64,
    };
    verifier.finish(&files.heads[..], None, Some(csv), manifest_json, public_key)
}

/// The format of an export downloaded as one file ([`ExportBundle`]).
pub const BUNDLE_FORMAT: &str = "brokeros-audit-bundle/1";

/// An export as one JSON document, for a download: the signed manifest and the three files it
/// vouches for, each as its text (byte for byte what `brokeros audit export` writes).
/// `brokeros audit verify FILE.json` checks it as it checks the files.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportBundle {
    /// `brokeros-audit-bundle/1`.
    pub format: String,
    /// The signed manifest (`PREFIX.manifest.json`).
    pub manifest: Value,
    /// The events, one canonical JSON object a line (`PREFIX.ndjson`).
    pub ndjson: String,
    /// The events as CSV (`PREFIX.csv`).
    pub csv: String,
    /// Each stream's exported slice of its chain (`PREFIX.heads.ndjson`).
    pub heads: String,
}

impl ExportBundle {
    /// Exports `selection` in memory, signed by `signer`.
    pub async fn export(
        store: &dyn Store,
        selection: &Selection,
        exported_at: OffsetDateTime,
        signer: &dyn Signer,
    ) -> Result<ExportBundle> {
        let files = export_to_memory(store, selection, exported_at, Some(signer)).await?;
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes)
                .map_err(|e| Error::Internal(format!("the export is not UTF-8: {e}")))
        };
        Ok(ExportBundle {
            format: BUNDLE_FORMAT.to_string(),
            manifest: serde_json::to_value(&files.manifest)
                .map_err(|e| Error::Internal(e.to_string()))?,
            ndjson: text(files.ndjson)?,
            csv: text(files.csv)?,
            heads: text(files.heads)?,
        })
    }

    /// Verifies the bundle as `brokeros audit verify` does an export's files.
    pub fn verify(
        self,
        public_key: Option<&crate::signing::PublicKey>,
    ) -> std::result::Result<crate::audit::Verified, crate::audit::VerifyError> {
        if self.format != BUNDLE_FORMAT {
            return Err(crate::audit::VerifyError::Format(format!(
                "the bundle's format is \"{}\", this verifier reads {BUNDLE_FORMAT} only",
                self.format
            )));
        }
        let (manifest, manifest_json) = Manifest::parse(&self.manifest.to_string())?;
        let files = ExportFiles {
            ndjson: self.ndjson.into_bytes(),
            csv: self.csv.into_bytes(),
            heads: self.heads.into_bytes(),
            manifest,
        };
        verify_files(&files, &manifest_json, public_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, ActorKind, ChainHead, EventDraft, FieldChange};
    use proptest::prelude::*;

    /// The CSV row taken from the scan is the row the typed reading gives, byte for byte; and
    /// it is taken for every line without escapes.
    fn rows_agree(line: &str) -> bool {
        let mut members = Vec::new();
        scan_object(line, &mut members).unwrap();
        let mut slow = String::new();
        csv_row(line, &members, &mut slow).unwrap();
        let (mut scratch, mut fields, mut fast) = (Vec::new(), String::new(), String::new());
        match csv_row_fast(line, &members, &mut scratch, &mut fields, &mut fast) {
            Some(()) => {
                assert_eq!(fast, slow, "{line}");
                true
            }
            None => false,
        }
    }

    proptest! {
        #[test]
        fn csv_rows_from_the_scan_match_the_typed_rows(
            id in "[ -~é]{0,6}",
            role in proptest::option::of("[=+,\"a-z\n]{0,4}"),
            action in "[-=@+,\"\\a-z\r\n\u{1}é]{0,6}",
            fields in proptest::collection::vec("[,;=\"a-z\\\\]{0,4}", 0..4),
            seq in 0u64..1_000_000,
        ) {
            let event = crate::audit::AuditEvent::chained(
                EventDraft {
                    at: time::OffsetDateTime::UNIX_EPOCH,
                    actor: Actor { kind: ActorKind::User, id, role },
                    action,
                    entity_type: "lead".into(),
                    entity_id: "lead_1".into(),
                    changes: fields.iter().map(|f| FieldChange {
                        field: f.clone(),
                        before: serde_json::Value::Null,
                        after: json!({"x": [f, 1, {"y": null}]}),
                    }).collect(),
                    correlation_id: "=c,1".into(),
                },
                &ChainHead { seq, ..ChainHead::genesis() },
                uuid::Uuid::now_v7(),
            );
            let line = event.canonical_json();
            let taken = rows_agree(&line);
            prop_assert_eq!(taken, !line.contains('\\'), "{}", line);
        }
    }

    #[test]
    fn unusual_actors_and_changes_are_left_to_the_typed_reading() {
        let mut event: serde_json::Value = serde_json::from_str(
            &crate::audit::AuditEvent::chained(
                EventDraft {
                    at: time::OffsetDateTime::UNIX_EPOCH,
                    actor: Actor::system("s"),
                    action: "a".into(),
                    entity_type: "lead".into(),
                    entity_id: "l".into(),
                    changes: vec![],
                    correlation_id: "c".into(),
                },
                &ChainHead::genesis(),
                uuid::Uuid::now_v7(),
            )
            .canonical_json(),
        )
        .unwrap();
        for (actor, changes) in [
            (
                json!({"id": "i", "kind": "user", "role": null, "zz": [1]}),
                json!([]),
            ),
            (
                json!({"id": "i", "kind": "user"}),
                json!([{"field": "a"}, {"b": 1, "field": ""}]),
            ),
            (
                json!({"id": "i", "kind": "user", "role": "r"}),
                json!([{"field": ""}]),
            ),
        ] {
            event["actor"] = actor;
            event["changes"] = changes;
            assert!(rows_agree(&to_canonical_json(&event)));
        }
    }
}
