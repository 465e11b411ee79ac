//! `brokeros audit export|verify|public-key|checkpoint`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use brokeros_kernel::audit::{FileDigest, Manifest, PreparedLine, Verifier, prepare_line};
use brokeros_kernel::audit_checkpoint::{self, Checkpoint, CheckpointUse};
use brokeros_kernel::audit_export::{self, Selection, Sinks};
use brokeros_kernel::signing::{PublicKey, Signer};
use brokeros_store::Store;
use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use brokeros_store_sqlite::Durability;

use crate::CliResult;
use crate::local::{DataDirArg, open_store};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Write the events of a time range or of one entity as NDJSON, CSV and a heads file, with
    /// a manifest signed by the data directory's audit-signing.key (created on first use).
    Export {
        /// Start of the range (RFC 3339, inclusive); every event by default (from 2025-01-01,
        /// before Broker OS recorded any).
        #[arg(long, conflicts_with = "entity")]
        from: Option<String>,
        /// End of the range (RFC 3339, exclusive); now by default.
        #[arg(long, conflicts_with = "entity")]
        to: Option<String>,
        /// One entity's whole stream, as TYPE/ID (e.g. lead/lead_0193...).
        #[arg(long)]
        entity: Option<String>,
        /// Output path prefix: writes PREFIX.ndjson, PREFIX.csv, PREFIX.heads.ndjson and
        /// PREFIX.manifest.json.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        data_dir: DataDirArg,
        /// Read DynamoDB instead: the main table's name (with --dynamodb-audit-table).
        #[arg(long, requires = "dynamodb_audit_table")]
        dynamodb_table: Option<String>,
        #[arg(long)]
        dynamodb_audit_table: Option<String>,
        /// A DynamoDB endpoint other than AWS's (e.g. DynamoDB Local).
        #[arg(long)]
        endpoint_url: Option<String>,
        /// Print where the time went.
        #[arg(long)]
        timing: bool,
    },
    /// Check an export offline; exits 1 naming the first bad event.
    Verify {
        /// The NDJSON file; or a download of the API's `GET /audit/export` (a `.json` file:
        /// manifest and files in one document).
        file: PathBuf,
        /// The manifest; FILE with `.manifest.json` in place of `.ndjson` by default.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// The heads file; FILE with `.heads.ndjson` in place of `.ndjson` by default.
        #[arg(long)]
        heads: Option<PathBuf>,
        /// The CSV; FILE with `.csv` in place of `.ndjson` by default (checked if present).
        #[arg(long)]
        csv: Option<PathBuf>,
        /// The signer's public key (PEM or DER): required unless --unsigned-ok.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Check data and manifest only, not who signed them (proves nothing against someone
        /// who can rewrite both).
        #[arg(long)]
        unsigned_ok: bool,
        /// A directory of checkpoints (NNNNNN.checkpoint.json + NNNNNN.heads.ndjson): the
        /// export is checked against every one its range spans.
        #[arg(long, requires = "public_key")]
        checkpoints: Option<PathBuf>,
        /// Print where the time went.
        #[arg(long)]
        timing: bool,
    },
    /// Print the public key that signs this data directory's exports and checkpoints (PEM).
    PublicKey {
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// Sign a checkpoint of every stream's head as of a little while ago, written once
    /// (the store refuses a second checkpoint with the same number) and copied to
    /// DATA_DIR/checkpoints/ for auditors.
    Checkpoint {
        #[command(flatten)]
        data_dir: DataDirArg,
        /// How far behind now the checkpoint is taken, so transactions in flight are in.
        #[arg(long, default_value_t = 5)]
        lag_seconds: i64,
        /// Where the first checkpoint starts reading (RFC 3339).
        #[arg(long, default_value = AUDIT_EPOCH)]
        since: String,
    },
    /// Write N synthetic audit events in M streams into the embedded store, created when absent
    /// (benchmarks).
    #[command(hide = true)]
    Synth {
        #[command(flatten)]
        data_dir: DataDirArg,
        #[arg(long)]
        events: u64,
        #[arg(long, default_value_t = 1000)]
        streams: u64,
    },
}

/// The time before which Broker OS recorded no audit event: where an export without `--from`
/// and the first checkpoint start reading.
const AUDIT_EPOCH: &str = "2025-01-01T00:00:00Z";

pub async fn run(command: AuditCommand, durability: Durability) -> CliResult {
    match command {
        AuditCommand::Export {
            from,
            to,
            entity,
            out,
            data_dir,
            dynamodb_table,
            dynamodb_audit_table,
            endpoint_url,
            timing,
        } => {
            let started = std::time::Instant::now();
            let selection = selection(from, to, entity)?;
            let data_dir = data_dir.resolve();
            // Only the signing key is local when DynamoDB is read.
            let (store, data_dir): (Arc<dyn Store>, _) =
                match (dynamodb_table, dynamodb_audit_table) {
                    (Some(main), Some(audit)) => (
                        dynamodb_store(main, audit, endpoint_url).await,
                        data_dir.existing_dir()?,
                    ),
                    _ => {
                        let data_dir = data_dir.existing()?;
                        (open_store(&data_dir, durability)?, data_dir)
                    }
                };
            if let Selection::Entity {
                entity_type,
                entity_id,
            } = &selection
                && !has_events(store.as_ref(), entity_type, entity_id).await?
            {
                return Err(format!(
                    "no audit events of {entity_type}/{entity_id}: no such entity (TYPE/ID as in the events' entity_type and entity_id, e.g. lead/lead_0193...)"
                ));
            }
            let signer = crate::local::audit_signer(&data_dir)?;
            let mut spent = audit_export::ExportTiming::default();
            let manifest = export(
                store.as_ref(),
                &selection,
                &out,
                &signer,
                timing.then_some(&mut spent),
            )
            .await?;
            println!(
                "exported {} events in {} streams to {}, signed by {}",
                manifest.count,
                manifest.streams,
                with_suffix(&out, "ndjson").display(),
                signer.key_id()
            );
            if timing {
                let total = started.elapsed().as_secs_f64();
                let own = spent.scan + spent.ndjson + spent.csv + spent.heads_and_sign;
                println!(
                    "    time: total {total:.2}s; store reads and JSON paging {:.2}s, scan {:.2}s, NDJSON write {:.2}s, CSV render+write {:.2}s, heads+sign {:.2}s (of these, waiting for the digest thread {:.2}s)",
                    total - own,
                    spent.scan,
                    spent.ndjson,
                    spent.csv,
                    spent.heads_and_sign,
                    spent.digest_wait
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify {
            file,
            manifest,
            heads,
            csv,
            public_key,
            unsigned_ok,
            checkpoints,
            timing,
        } => {
            if public_key.is_none() && !unsigned_ok {
                return Err("give --public-key (the signer's, e.g. from `brokeros audit public-key`), or --unsigned-ok to check the data against an unsigned manifest only".into());
            }
            let key = match &public_key {
                Some(path) => {
                    Some(PublicKey::parse(&std::fs::read(path).map_err(|e| {
                        format!("cannot read {}: {e}", path.display())
                    })?)?)
                }
                None => None,
            };
            if file.extension().is_some_and(|e| e == "json") {
                if checkpoints.is_some() {
                    return Err("--checkpoints checks an export's files, not a download".into());
                }
                return Ok(match verify_bundle(&file, key.as_ref()) {
                    Ok(report) => {
                        println!("{report}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        println!("FAILED: {e}");
                        ExitCode::from(1)
                    }
                });
            }
            let paths = ExportPaths {
                manifest: manifest.unwrap_or_else(|| beside(&file, "manifest.json")),
                heads: heads.unwrap_or_else(|| beside(&file, "heads.ndjson")),
                csv: csv.unwrap_or_else(|| beside(&file, "csv")),
                ndjson: file,
            };
            match verify_paths(&paths, key.as_ref(), checkpoints.as_deref(), timing) {
                Ok(report) => {
                    println!("{report}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::PublicKey { data_dir } => {
            let signer = crate::local::audit_signer(&data_dir.resolve().existing()?)?;
            print!(
                "{}",
                PublicKey::from_der(&signer.public_key_der())?.to_pem()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint {
            data_dir,
            lag_seconds,
            since,
        } => {
            let data_dir = data_dir.resolve().existing()?;
            let store = open_store(&data_dir, durability)?;
            let signer = crate::local::audit_signer(&data_dir)?;
            let since = parse_time("--since", &since)?;
            let at = OffsetDateTime::now_utc() - time::Duration::seconds(lag_seconds);
            let checkpoint = checkpoint(store.as_ref(), &data_dir, &signer, since, at).await?;
            println!(
                "checkpoint {} as of {} : {} streams, root {}",
                checkpoint.seq,
                checkpoint.at.format(&Rfc3339).unwrap_or_default(),
                checkpoint.streams,
                checkpoint.root
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Synth {
            data_dir,
            events,
            streams,
        } => {
            let data_dir = data_dir.resolve().path;
            std::fs::create_dir_all(&data_dir)
                .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
            let store = open_store(&data_dir, durability)?;
            synth(store.as_ref(), events, streams).await?;
            println!("wrote {events} audit events in {streams} streams");
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub struct ExportPaths {
    pub ndjson: PathBuf,
    pub manifest: PathBuf,
    pub heads: PathBuf,
    pub csv: PathBuf,
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn open_buffered(path: &Path) -> Result<BufReader<std::fs::File>, String> {
    std::fs::File::open(path)
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// SHA-256 and size of a file, if it exists.
fn file_digest(path: &Path) -> Result<Option<FileDigest>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let mut reader = open_buffered(path)?;
    let mut hash = <sha2::Sha256 as sha2::Digest>::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        sha2::Digest::update(&mut hash, &buf[..n]);
        bytes += n as u64;
    }
    Ok(Some(FileDigest {
        sha256: hex::encode(sha2::Digest::finalize(hash)),
        bytes,
    }))
}

/// Verifies an export's files; the report on success, the first problem otherwise.
pub fn verify_paths(
    paths: &ExportPaths,
    key: Option<&PublicKey>,
    checkpoints: Option<&Path>,
    timing: bool,
) -> Result<String, String> {
    let started = std::time::Instant::now();
    let manifest_text = read_text(&paths.manifest)?;
    let (manifest, manifest_json) = Manifest::parse(&manifest_text).map_err(|e| e.to_string())?;
    let mut uses = Vec::new();
    if let (Some(dir), Some(key)) = (checkpoints, key) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".checkpoint.json"))
            .collect();
        files.sort();
        for path in files {
            let text = read_text(&path)?;
            let (checkpoint, _) =
                Checkpoint::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let Some((lower, scope)) = audit_checkpoint::spanned(
                &manifest.selection,
                manifest.first_id.as_deref(),
                manifest.exported_at,
                checkpoint.at,
            ) else {
                continue;
            };
            let heads = PathBuf::from(
                path.to_string_lossy()
                    .replace(".checkpoint.json", ".heads.ndjson"),
            );
            let open: audit_checkpoint::OpenHeads = Box::new(move || {
                Ok(Box::new(BufReader::new(std::fs::File::open(&heads)?)) as Box<dyn BufRead>)
            });
            uses.push(
                CheckpointUse::new(&text, open, key, lower, scope).map_err(|e| e.to_string())?,
            );
        }
        uses.sort_by_key(|u| u.at());
    }
    let uses: Vec<Box<dyn brokeros_kernel::audit::CheckpointCheck>> = uses
        .into_iter()
        .map(|u| Box::new(u) as Box<dyn brokeros_kernel::audit::CheckpointCheck>)
        .collect();
    let mut verifier = Verifier::new(&manifest, uses, timing);
    // Three stages, in threads of their own, so two cores share the work: a reader reads the
    // NDJSON in blocks of whole lines and takes the file's SHA-256; a scanner does the part of
    // each line's check that needs no state (the scan of its JSON: `prepare_line`); this
    // thread hashes each event and checks the chains, in file order.
    verifier.file_digest_by_caller();
    type Prepared = Vec<(std::ops::Range<usize>, Result<PreparedLine, String>)>;
    let (read_tx, read_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let (blocks, received) = std::sync::mpsc::sync_channel::<(Vec<u8>, Prepared)>(4);
    let (spare_block_tx, spare_block_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let (spare_lines_tx, spare_lines_rx) = std::sync::mpsc::channel::<Prepared>();
    let mut file = std::fs::File::open(&paths.ndjson)
        .map_err(|e| format!("cannot read {}: {e}", paths.ndjson.display()))?;
    let reader = std::thread::spawn(move || -> std::io::Result<FileDigest> {
        let mut hash = <sha2::Sha256 as sha2::Digest>::new();
        let mut bytes = 0u64;
        // The start of a line that the last read cut.
        let mut partial: Vec<u8> = Vec::new();
        loop {
            let mut block = spare_block_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(2 << 20));
            block.clear();
            block.extend_from_slice(&partial);
            partial.clear();
            let start = block.len();
            block.resize(start + (1 << 20), 0);
            let n = file.read(&mut block[start..])?;
            block.truncate(start + n);
            sha2::Digest::update(&mut hash, &block[start..]);
            bytes += n as u64;
            if n > 0 {
                match memchr::memrchr(b'\n', &block) {
                    Some(i) => {
                        partial.extend_from_slice(&block[i + 1..]);
                        block.truncate(i + 1);
                    }
                    None => {
                        partial = block;
                        continue;
                    }
                }
            } else if block.is_empty() {
                break;
            }
            if read_tx.send(block).is_err() || n == 0 {
                break;
            }
        }
        Ok(FileDigest {
            sha256: hex::encode(sha2::Digest::finalize(hash)),
            bytes,
        })
    });
    let scanner = std::thread::spawn(move || -> f64 {
        let mut lines = 0u64;
        let mut members = Vec::new();
        let mut scan = 0.0;
        for block in read_rx {
            let clock = timing.then(std::time::Instant::now);
            let mut prepared = spare_lines_rx.try_recv().unwrap_or_default();
            prepared.clear();
            let mut at = 0;
            while at < block.len() {
                let end = memchr_newline(&block[at..]).map_or(block.len(), |i| at + i + 1);
                lines += 1;
                let line = match std::str::from_utf8(&block[at..end]) {
                    Ok(text) => Ok(prepare_line(text, &mut members)),
                    Err(e) => Err(format!("line {lines}: not UTF-8: {e}")),
                };
                prepared.push((at..end, line));
                at = end;
            }
            if let Some(clock) = clock {
                scan += clock.elapsed().as_secs_f64();
            }
            if blocks.send((block, prepared)).is_err() {
                break;
            }
        }
        scan
    });
    let mut wait = 0.0;
    let mut checked = Ok(());
    loop {
        let w = std::time::Instant::now();
        let Ok((block, mut prepared)) = received.recv() else {
            break;
        };
        wait += w.elapsed().as_secs_f64();
        for (range, line) in prepared.drain(..) {
            // Valid UTF-8: the reader checked it.
            let text = std::str::from_utf8(&block[range]).unwrap_or_default();
            checked = line.and_then(|line| {
                verifier
                    .prepared_line(text, line)
                    .map_err(|e| e.to_string())
            });
            if checked.is_err() {
                break;
            }
        }
        if checked.is_err() {
            break;
        }
        let _ = spare_block_tx.send(block);
        let _ = spare_lines_tx.send(prepared);
    }
    drop(received);
    let read_time = wait;
    let scan = scanner
        .join()
        .map_err(|_| "the scanner thread failed".to_string())?;
    let ndjson_digest = reader
        .join()
        .map_err(|_| "the reader thread failed".to_string())?
        .map_err(|e| format!("cannot read {}: {e}", paths.ndjson.display()))?;
    checked?;
    if let Some(t) = verifier.timing.as_mut() {
        t.scan += scan;
    }
    let spent = verifier.timing.clone();
    let csv = file_digest(&paths.csv)?;
    let csv_checked = csv.is_some();
    let verified = verifier
        .finish(
            open_buffered(&paths.heads)?,
            Some(ndjson_digest),
            csv,
            &manifest_json,
            key,
        )
        .map_err(|e| e.to_string())?;
    let mut report = verified_report(&verified, &manifest);
    if !csv_checked {
        report.push_str("\n    CSV not checked (file absent)");
    }
    if checkpoints.is_some() {
        report.push_str(&if verified.checkpoints.is_empty() {
            "\n    no checkpoint lies within the export's range".to_string()
        } else {
            format!(
                "\n    consistent with checkpoints {:?}",
                verified.checkpoints
            )
        });
    }
    if let Some(t) = spent {
        report.push_str(&format!(
            "\n    time: total {:.2}s; waiting for the reader and scanner threads {:.2}s, line split {:.2}s, scan (scanner thread) {:.2}s, event hashes {:.2}s, chains {:.2}s",
            started.elapsed().as_secs_f64(),
            read_time,
            t.file_hash,
            t.scan,
            t.event_hash,
            t.chain
        ));
    }
    Ok(report)
}

/// What a verification that passed says first: counts, digests, the signer.
fn verified_report(verified: &brokeros_kernel::audit::Verified, manifest: &Manifest) -> String {
    let mut report = format!(
        "OK: {} events in {} streams verify (NDJSON sha256 {}, heads root {})",
        verified.count, verified.streams, manifest.ndjson.sha256, manifest.streams_root
    );
    report.push_str(&match &verified.signed_by {
        Some(by) => format!("\n    manifest signed by {by}"),
        None => "\n    WARNING: the signature was not checked (--unsigned-ok)".into(),
    });
    report
}

/// Verifies a download of `GET /audit/export` (one JSON document: the manifest and its files).
pub fn verify_bundle(path: &Path, key: Option<&PublicKey>) -> Result<String, String> {
    let bundle: audit_export::ExportBundle = serde_json::from_str(&read_text(path)?)
        .map_err(|e| format!("{} is not an audit download: {e}", path.display()))?;
    let (manifest, _) = Manifest::parse(&bundle.manifest.to_string()).map_err(|e| e.to_string())?;
    let verified = bundle.verify(key).map_err(|e| e.to_string())?;
    Ok(verified_report(&verified, &manifest))
}

fn parse_time(flag: &str, text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("{flag} must be an RFC 3339 time such as 2026-11-24T00:00:00Z"))
}

fn selection(
    from: Option<String>,
    to: Option<String>,
    entity: Option<String>,
) -> Result<Selection, String> {
    if let Some(entity) = entity {
        let (entity_type, entity_id) = entity
            .split_once('/')
            .filter(|(t, i)| !t.is_empty() && !i.is_empty())
            .ok_or("--entity must be TYPE/ID, e.g. lead/lead_0193...")?;
        return Ok(Selection::Entity {
            entity_type: entity_type.to_string(),
            entity_id: entity_id.to_string(),
        });
    }
    let from = parse_time("--from", from.as_deref().unwrap_or(AUDIT_EPOCH))?;
    let to = match to {
        Some(t) => parse_time("--to", &t)?,
        None => OffsetDateTime::now_utc() + time::Duration::seconds(1),
    };
    Ok(Selection::TimeRange { from, to })
}

/// Whether the entity's audit stream holds an event (an entity that does not exist has none).
async fn has_events(store: &dyn Store, entity_type: &str, entity_id: &str) -> Result<bool, String> {
    let first = brokeros_store::Query::new(
        brokeros_store::Table::Audit,
        None,
        brokeros_kernel::keys::audit_stream(entity_type, entity_id),
    )
    .limit(1);
    let page = store.query(first).await.map_err(|e| e.to_string())?;
    Ok(!page.items.is_empty())
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    PathBuf::from(name)
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

fn beside(ndjson: &Path, suffix: &str) -> PathBuf {
    let text = ndjson.to_string_lossy();
    PathBuf::from(match text.strip_suffix(".ndjson") {
        Some(stem) => format!("{stem}.{suffix}"),
        None => format!("{text}.{suffix}"),
    })
}

/// An export file written and synced from a thread of its own: `write` gathers 1 MiB blocks
/// and hands them over, so the exporting thread does not wait on the disk (writing 1.4 GB, the
/// page cache's write-back throttles the writer).
struct BackgroundFile {
    path: PathBuf,
    buffer: Vec<u8>,
    blocks: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

const FILE_BLOCK: usize = 1 << 20;

impl BackgroundFile {
    fn create(path: &Path) -> Result<BackgroundFile, String> {
        let mut file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let (blocks, received) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (spare_tx, spare) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || -> std::io::Result<()> {
            for block in received {
                std::io::Write::write_all(&mut file, &block)?;
                let _ = spare_tx.send(block);
            }
            file.sync_all()
        });
        Ok(BackgroundFile {
            path: path.to_path_buf(),
            buffer: Vec::with_capacity(FILE_BLOCK),
            blocks: Some(blocks),
            spare,
            writer: Some(writer),
        })
    }

    /// The writer thread's outcome, once it has stopped.
    fn stopped(&mut self) -> std::io::Error {
        match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            _ => std::io::Error::other("the writer thread stopped"),
        }
    }

    fn hand_over(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let fresh = match self.spare.try_recv() {
            Ok(mut block) => {
                block.clear();
                block
            }
            Err(_) => Vec::with_capacity(FILE_BLOCK),
        };
        let block = std::mem::replace(&mut self.buffer, fresh);
        let sent = match &self.blocks {
            Some(blocks) => blocks.send(block).is_ok(),
            None => false,
        };
        if sent { Ok(()) } else { Err(self.stopped()) }
    }

    /// Writes what is left, waits for the writer thread and the file's sync.
    fn finish(mut self) -> Result<(), String> {
        let fail = |path: &Path, e: std::io::Error| format!("cannot write {}: {e}", path.display());
        self.hand_over().map_err(|e| fail(&self.path, e))?;
        self.blocks = None;
        match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(fail(&self.path, e)),
            _ => Err(fail(
                &self.path,
                std::io::Error::other("the writer thread failed"),
            )),
        }
    }
}

impl std::io::Write for BackgroundFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= FILE_BLOCK {
            self.hand_over()?;
        }
        Ok(bytes.len())
    }

    /// Hands the data over to the writer thread; [`BackgroundFile::finish`] syncs it.
    fn flush(&mut self) -> std::io::Result<()> {
        self.hand_over()
    }
}

fn create(path: &Path) -> Result<BackgroundFile, String> {
    BackgroundFile::create(path)
}

/// How often an export that found events committing behind its cursor is tried.
const EXPORT_ATTEMPTS: u32 = 5;

/// Writes the four export files, streaming, and returns the signed manifest.
pub async fn export(
    store: &dyn Store,
    selection: &Selection,
    out: &Path,
    signer: &dyn Signer,
    timing: Option<&mut audit_export::ExportTiming>,
) -> Result<Manifest, String> {
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos} audit events exported ({per_sec})",
        )
        .expect("a valid template"),
    );
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let mut timing = timing;
    let mut attempt = 1;
    let (manifest, ndjson, csv, heads) = loop {
        let mut ndjson = create(&with_suffix(out, "ndjson"))?;
        let mut csv = create(&with_suffix(out, "csv"))?;
        let mut heads = create(&with_suffix(out, "heads.ndjson"))?;
        let exported = audit_export::export(
            store,
            selection,
            OffsetDateTime::now_utc(),
            Sinks {
                ndjson: &mut ndjson,
                csv: &mut csv,
                heads: &mut heads,
                timing: timing.as_deref_mut(),
            },
            Some(signer),
            |n| progress.set_position(n),
        )
        .await;
        match exported {
            Ok(manifest) => break (manifest, ndjson, csv, heads),
            // Events were committing behind the cursor: a moment later they are all there.
            Err(e) if audit_export::raced_writes(&e) && attempt < EXPORT_ATTEMPTS => {
                // The attempt's writer threads finish before its files are created afresh, so
                // none of its blocks lands in the next attempt's files.
                for file in [ndjson, csv, heads] {
                    let _ = file.finish();
                }
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    progress.finish_and_clear();
    for file in [ndjson, csv, heads] {
        file.finish()?;
    }
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("manifests serialize");
    let path = with_suffix(out, "manifest.json");
    std::fs::write(&path, manifest_json)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(manifest)
}

/// The local checkpoint job: the next checkpoint after the last one in the store (items under
/// `CHECKPOINT#audit`, created only if absent), its files under DATA_DIR/checkpoints/.
pub async fn checkpoint(
    store: &dyn Store,
    data_dir: &Path,
    signer: &dyn Signer,
    since: OffsetDateTime,
    at: OffsetDateTime,
) -> Result<Checkpoint, String> {
    use brokeros_store::{Condition, Item, Key, Query, Table, WriteOp};
    let dir = data_dir.join("checkpoints");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let last = store
        .query(
            Query::new(Table::Audit, None, CHECKPOINT_PK)
                .descending()
                .limit(1),
        )
        .await
        .map_err(|e| e.to_string())?
        .items
        .into_iter()
        .next();
    let previous = match &last {
        Some(item) => Some(Checkpoint::parse(&item.data)?.0),
        None => None,
    };
    let from = previous.as_ref().map_or(since, |p| p.at);
    if at <= from {
        return Err(format!("the last checkpoint is already as of {from}"));
    }
    let mut lines = Vec::new();
    audit_export::for_each_event(store, &Selection::TimeRange { from, to: at }, |data| {
        lines.push(Ok(data.to_string()));
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?;
    let name = |seq: u64, suffix: &str| dir.join(format!("{seq:06}.{suffix}"));
    let seq = previous.as_ref().map_or(1, |p| p.seq + 1);
    let heads_path = name(seq, "heads.ndjson");
    let mut heads = create(&heads_path)?;
    let checkpoint = match &previous {
        None => {
            audit_checkpoint::build(None, at, &mut lines.into_iter(), &mut heads, signer).await?
        }
        Some(p) => {
            let mut reader = open_buffered(&name(p.seq, "heads.ndjson"))?;
            audit_checkpoint::build(
                Some((p, &mut reader)),
                at,
                &mut lines.into_iter(),
                &mut heads,
                signer,
            )
            .await?
        }
    };
    heads.finish()?;
    let json = serde_json::to_string_pretty(&checkpoint).expect("checkpoints serialize");
    store
        .transact(vec![WriteOp::Put {
            table: Table::Audit,
            item: Item::new(
                Key::new(CHECKPOINT_PK, format!("{seq:012}")),
                1,
                json.clone(),
            ),
            condition: Condition::NotExists,
        }])
        .await
        .map_err(|e| format!("checkpoint {seq} was not written (another one won?): {e}"))?;
    std::fs::write(name(seq, "checkpoint.json"), json).map_err(|e| e.to_string())?;
    Ok(checkpoint)
}

const CHECKPOINT_PK: &str = "CHECKPOINT#audit";

/// Synthetic audit events for benchmarks: `events` in `streams` round-robin streams, each
/// with lead-sized changes, committed in batches like the real writes.
async fn synth(store: &dyn Store, events: u64, streams: u64) -> Result<(), String> {
    use brokeros_kernel::audit::{Actor, AuditEvent, ChainHead, EventDraft, FieldChange};
    let mut heads: Vec<ChainHead> = (0..streams).map(|_| ChainHead::genesis()).collect();
    let mut batch = Vec::with_capacity(100);
    for n in 0..events {
        let s = (n % streams) as usize;
        let field = |name: &str, v: serde_json::Value| FieldChange {
            field: name.into(),
            before: serde_json::Value::Null,
            after: v,
        };
        let event = AuditEvent::chained(
            EventDraft {
                at: OffsetDateTime::now_utc(),
                actor: Actor::public("web"),
                action: "lead.captured".into(),
                entity_type: "lead".into(),
                entity_id: format!("lead_{s:08}"),
                changes: vec![
                    field("email", format!("person{n}@example.com").into()),
                    field("first_name", "Ada".into()),
                    field("last_name", "Lovelace".into()),
                    field("phone", "+442071234567".into()),
                    field("country", "GB".into()),
                    field(
                        "source",
                        serde_json::json!({"channel": "web", "campaign": "spring", "affiliate": "aff_123", "landing": "https://example.com/lp/forex?utm_source=x"}),
                    ),
                    field("score", serde_json::json!(42)),
                    field("status", "new".into()),
                    field("assignee", "sales_agent_7".into()),
                ],
                correlation_id: uuid::Uuid::now_v7().to_string(),
            },
            &heads[s],
            uuid::Uuid::now_v7(),
        );
        heads[s] = event.head();
        batch.push(brokeros_kernel::changeset::audit_put(&event).map_err(|e| e.to_string())?);
        if batch.len() == 100 || n + 1 == events {
            store
                .transact(std::mem::take(&mut batch))
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

async fn dynamodb_store(main: String, audit: String, endpoint: Option<String>) -> Arc<dyn Store> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    let client = aws_sdk_dynamodb::Client::new(&loader.load().await);
    Arc::new(brokeros_store_dynamodb::DynamoStore::new(
        client,
        brokeros_store_dynamodb::TableNames { main, audit },
    ))
}

#[cfg(test)]
mod tests {
    //! The consistent-rewrite attacks of issue 11: someone who can write the export files, or
    //! the store itself and run an export, must be caught by `audit verify`.

    use super::*;
    use brokeros_kernel::audit::{Actor, AuditEvent, ChainHead, EventDraft, GENESIS_HASH};
    use brokeros_kernel::signing::Ed25519Signer;

    fn event(entity_type: &str, entity_id: &str, action: &str, head: &ChainHead) -> AuditEvent {
        AuditEvent::chained(
            EventDraft {
                at: OffsetDateTime::now_utc(),
                actor: Actor::system("test"),
                action: action.into(),
                entity_type: entity_type.into(),
                entity_id: entity_id.into(),
                changes: vec![],
                correlation_id: "c".into(),
            },
            head,
            uuid::Uuid::now_v7(),
        )
    }

    /// Three interleaved streams: a lead, a deposit and a withdrawal.
    fn history() -> Vec<AuditEvent> {
        let streams = [
            (
                "lead",
                "lead_1",
                ["lead.captured", "lead.assigned", "lead.contacted"],
            ),
            (
                "deposit",
                "dep_1",
                ["deposit.created", "deposit.routed", "deposit.credited"],
            ),
            (
                "withdrawal",
                "wd_1",
                [
                    "withdrawal.requested",
                    "withdrawal.approved",
                    "withdrawal.paid",
                ],
            ),
        ];
        let mut heads = vec![ChainHead::genesis(); 3];
        let mut events = Vec::new();
        for step in 0..3 {
            for (i, (t, id, actions)) in streams.iter().enumerate() {
                let e = event(t, id, actions[step], &heads[i]);
                heads[i] = e.head();
                events.push(e);
            }
        }
        events
    }

    /// The store in `dir`, created with it when absent.
    fn fresh_store(dir: &Path) -> Arc<dyn Store> {
        std::fs::create_dir_all(dir).unwrap();
        open_store(dir, Durability::Full).unwrap()
    }

    async fn put(store: &dyn Store, events: &[AuditEvent]) {
        for e in events {
            store
                .transact(vec![brokeros_kernel::changeset::audit_put(e).unwrap()])
                .await
                .unwrap();
        }
    }

    /// Re-links every stream after an edit: what someone who rewrites the store does.
    fn rechain(events: &mut [AuditEvent]) {
        events.sort_by(|a, b| a.id.cmp(&b.id));
        let mut heads: std::collections::HashMap<String, (u64, String)> = Default::default();
        for e in events.iter_mut() {
            let (seq, prev) = heads
                .get(&e.stream())
                .cloned()
                .unwrap_or((0, GENESIS_HASH.to_string()));
            e.seq = seq + 1;
            e.prev_hash = prev;
            e.hash = e.compute_hash();
            heads.insert(e.stream(), (e.seq, e.hash.clone()));
        }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        root: PathBuf,
        signer: Ed25519Signer,
        key: PublicKey,
        events: Vec<AuditEvent>,
        selection: Selection,
    }

    fn paths(prefix: &Path) -> ExportPaths {
        ExportPaths {
            ndjson: with_suffix(prefix, "ndjson"),
            manifest: with_suffix(prefix, "manifest.json"),
            heads: with_suffix(prefix, "heads.ndjson"),
            csv: with_suffix(prefix, "csv"),
        }
    }

    async fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let from = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        let events = history();
        let store = fresh_store(&root.join("data"));
        put(store.as_ref(), &events).await;
        let signer = crate::local::audit_signer(&root.join("data")).unwrap();
        let key = PublicKey::from_der(&signer.public_key_der()).unwrap();
        let selection = Selection::TimeRange {
            from,
            to: OffsetDateTime::now_utc() + time::Duration::seconds(5),
        };
        export(
            store.as_ref(),
            &selection,
            &root.join("real"),
            &signer,
            None,
        )
        .await
        .unwrap();
        Setup {
            _dir: dir,
            root,
            signer,
            key,
            events,
            selection,
        }
    }

    impl Setup {
        fn verify(&self, prefix: &str, key: Option<&PublicKey>) -> Result<String, String> {
            verify_paths(&paths(&self.root.join(prefix)), key, None, false)
        }

        fn verify_with_checkpoints(&self, prefix: &str) -> Result<String, String> {
            verify_paths(
                &paths(&self.root.join(prefix)),
                Some(&self.key),
                Some(&self.root.join("data").join("checkpoints")),
                false,
            )
        }

        /// Writes `events` to a fresh store and exports it as `prefix`, signed by `signer`.
        async fn forge(&self, prefix: &str, events: &[AuditEvent], signer: &dyn Signer) {
            let store = fresh_store(&self.root.join(format!("store-{prefix}")));
            put(store.as_ref(), events).await;
            export(
                store.as_ref(),
                &self.selection,
                &self.root.join(prefix),
                signer,
                None,
            )
            .await
            .unwrap();
        }

        async fn checkpoint(&self) {
            let store = fresh_store(&self.root.join("data"));
            std::thread::sleep(std::time::Duration::from_millis(3));
            checkpoint(
                store.as_ref(),
                &self.root.join("data"),
                &self.signer,
                OffsetDateTime::now_utc() - time::Duration::minutes(1),
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        }

        fn edit_manifest(&self, prefix: &str, edit: impl FnOnce(&mut serde_json::Value)) {
            let path = with_suffix(&self.root.join(prefix), "manifest.json");
            let mut m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            edit(&mut m);
            std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
        }

        /// Copies the real export to `prefix` for editing.
        fn copy(&self, prefix: &str) {
            for suffix in ["ndjson", "manifest.json", "heads.ndjson", "csv"] {
                std::fs::copy(
                    with_suffix(&self.root.join("real"), suffix),
                    with_suffix(&self.root.join(prefix), suffix),
                )
                .unwrap();
            }
        }
    }

    fn digest_of(path: &Path) -> serde_json::Value {
        serde_json::to_value(file_digest(path).unwrap().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_download_file_verifies_with_its_key_and_not_once_a_byte_changes() {
        let s = setup().await;
        let store = fresh_store(&s.root.join("data"));
        let bundle = audit_export::ExportBundle::export(
            store.as_ref(),
            &s.selection,
            OffsetDateTime::now_utc(),
            &s.signer,
        )
        .await
        .unwrap();
        let path = s.root.join("download.json");
        std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
        let report = verify_bundle(&path, Some(&s.key)).unwrap();
        assert!(
            report.starts_with(&format!("OK: {} events", s.events.len())),
            "{report}"
        );
        let other = PublicKey::from_der(&Ed25519Signer::generate().0.public_key_der()).unwrap();
        assert!(verify_bundle(&path, Some(&other)).is_err());
        let mut tampered = bundle.clone();
        let at = tampered.ndjson.find("\"action\":\"").unwrap() + 10;
        tampered.ndjson.replace_range(at..at + 1, "X");
        std::fs::write(&path, serde_json::to_vec(&tampered).unwrap()).unwrap();
        let failed = verify_bundle(&path, Some(&s.key)).unwrap_err();
        assert!(failed.contains("line 1"), "{failed}");
    }

    #[tokio::test]
    async fn an_untouched_export_verifies_with_its_key_and_not_with_another() {
        let s = setup().await;
        let report = s.verify("real", Some(&s.key)).unwrap();
        assert!(report.starts_with("OK: 9 events in 3 streams"), "{report}");
        assert!(report.contains("signed by local-ed25519:"), "{report}");
        let (other, _) = Ed25519Signer::generate();
        let other = PublicKey::from_der(&other.public_key_der()).unwrap();
        let err = s.verify("real", Some(&other)).unwrap_err();
        assert!(err.contains("not by the public key given"), "{err}");
    }

    #[tokio::test]
    async fn an_extra_field_is_named_even_with_the_digest_recomputed() {
        let s = setup().await;
        s.copy("extra");
        let p = paths(&s.root.join("extra"));
        let text = std::fs::read_to_string(&p.ndjson).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines[4] = lines[4].replacen('{', "{\"approved_by\":\"mallory\",", 1);
        std::fs::write(&p.ndjson, lines.join("\n") + "\n").unwrap();
        let digest = digest_of(&p.ndjson);
        s.edit_manifest("extra", |m| m["ndjson"] = digest);
        let err = s.verify("extra", Some(&s.key)).unwrap_err();
        assert!(err.starts_with("line 5: event "), "{err}");
        assert!(err.contains("approved_by"), "{err}");
    }

    #[tokio::test]
    async fn an_edited_and_rehashed_history_with_a_rewritten_manifest_fails_the_signature() {
        let s = setup().await;
        let mut events = s.events.clone();
        events[3].action = "lead.deleted".into();
        rechain(&mut events);
        let (mallory, _) = Ed25519Signer::generate();
        s.forge("edited", &events, &mallory).await;
        // Consistent in itself: only the signature can tell.
        assert!(s.verify("edited", None).is_ok());
        let err = s.verify("edited", Some(&s.key)).unwrap_err();
        assert!(err.contains("signature"), "{err}");
        // An unsigned rewrite of the manifest is caught as well.
        s.copy("stripped");
        s.edit_manifest("stripped", |m| {
            m.as_object_mut().unwrap().remove("signature");
        });
        let err = s.verify("stripped", Some(&s.key)).unwrap_err();
        assert!(err.contains("not signed"), "{err}");
    }

    #[tokio::test]
    async fn a_forged_deposit_credit_or_a_deleted_withdrawal_stream_fails_the_signature() {
        let s = setup().await;
        let (mallory, _) = Ed25519Signer::generate();
        let mut forged = s.events.clone();
        let head = forged
            .iter()
            .rfind(|e| e.entity_type == "deposit")
            .unwrap()
            .head();
        forged.push(event("deposit", "dep_1", "deposit.credited", &head));
        s.forge("appended", &forged, &mallory).await;
        let err = s.verify("appended", Some(&s.key)).unwrap_err();
        assert!(err.contains("signature"), "{err}");

        let kept: Vec<AuditEvent> = s
            .events
            .iter()
            .filter(|e| e.entity_type != "withdrawal")
            .cloned()
            .collect();
        s.forge("deleted", &kept, &mallory).await;
        let err = s.verify("deleted", Some(&s.key)).unwrap_err();
        assert!(err.contains("signature"), "{err}");
    }

    #[tokio::test]
    async fn a_changed_format_is_refused_by_name() {
        let s = setup().await;
        s.copy("format");
        s.edit_manifest("format", |m| m["format"] = "brokeros-audit-ndjson/9".into());
        let err = s.verify("format", Some(&s.key)).unwrap_err();
        assert!(
            err.contains(
                "format is \"brokeros-audit-ndjson/9\", this verifier reads brokeros-audit-ndjson/2"
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_changed_head_hash_is_reported_as_such() {
        let s = setup().await;
        s.copy("head");
        let p = paths(&s.root.join("head"));
        let heads = std::fs::read_to_string(&p.heads).unwrap();
        let real = s.events.iter().rfind(|e| e.entity_type == "lead").unwrap();
        let fake = "ab".repeat(32);
        std::fs::write(&p.heads, heads.replace(&real.hash, &fake)).unwrap();
        let digest = digest_of(&p.heads);
        s.edit_manifest("head", |m| m["heads"] = digest);
        let err = s.verify("head", Some(&s.key)).unwrap_err();
        assert!(
            err.contains(&format!(
                "stream lead/lead_1: the data ends at seq 3 (line 7, event {}) with hash {}, but the manifest's heads say seq 3 with hash {fake}: the head hash differs",
                real.id, real.hash
            )),
            "{err}"
        );
    }

    #[tokio::test]
    async fn history_rewritten_and_re_signed_after_a_checkpoint_is_caught_by_it() {
        let s = setup().await;
        s.checkpoint().await;
        assert!(
            s.verify_with_checkpoints("real")
                .unwrap()
                .contains("consistent with checkpoints [1]")
        );
        // An insider rewrites the store and exports with the real key: the signature holds,
        // the checkpoint does not.
        let mut edited = s.events.clone();
        edited[3].action = "lead.deleted".into();
        rechain(&mut edited);
        s.forge("edited", &edited, &s.signer).await;
        assert!(s.verify("edited", Some(&s.key)).is_ok());
        let err = s.verify_with_checkpoints("edited").unwrap_err();
        assert!(
            err.starts_with("checkpoint 1: stream lead/lead_1")
                && err.contains("history was rewritten"),
            "{err}"
        );

        let kept: Vec<AuditEvent> = s
            .events
            .iter()
            .filter(|e| e.entity_type != "withdrawal")
            .cloned()
            .collect();
        s.forge("deleted", &kept, &s.signer).await;
        let err = s.verify_with_checkpoints("deleted").unwrap_err();
        assert!(
            err.contains("stream withdrawal/wd_1") && err.contains("events were deleted"),
            "{err}"
        );

        // A deposit credit backdated before the checkpoint, in a stream of its own.
        let mut forged = s.events.clone();
        let mut credit = event(
            "deposit",
            "dep_2",
            "deposit.credited",
            &ChainHead::genesis(),
        );
        credit.id =
            uuid::Uuid::from_u128(uuid::Uuid::parse_str(&s.events[5].id).unwrap().as_u128() + 1)
                .to_string();
        credit.hash = credit.compute_hash();
        forged.push(credit.clone());
        s.forge("backdated", &forged, &s.signer).await;
        let err = s.verify_with_checkpoints("backdated").unwrap_err();
        assert!(
            err.contains(&format!("event {} is in stream deposit/dep_2", credit.id))
                && err.contains("inserted after the checkpoint"),
            "{err}"
        );
    }
}
