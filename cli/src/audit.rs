//! `brokeros audit export|verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use brokeros_kernel::audit::{Manifest, verify};
use brokeros_kernel::audit_export::{Selection, collect, render};
use brokeros_store::Store;
use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use brokeros_store_sqlite::Durability;

use crate::CliResult;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Write the events of a time range or of one entity as NDJSON and CSV, with a manifest.
    Export {
        /// Start of the range (RFC 3339, inclusive).
        #[arg(long, conflicts_with = "entity")]
        from: Option<String>,
        /// End of the range (RFC 3339, exclusive); now by default.
        #[arg(long, conflicts_with = "entity")]
        to: Option<String>,
        /// One entity's whole stream, as TYPE/ID (e.g. lead/lead_0193...).
        #[arg(long)]
        entity: Option<String>,
        /// Output path prefix: writes PREFIX.ndjson, PREFIX.csv and PREFIX.manifest.json.
        #[arg(long)]
        out: PathBuf,
        /// The embedded store to read.
        #[arg(long, default_value = ".brokeros")]
        data_dir: PathBuf,
        /// Read DynamoDB instead: the main table's name (with --dynamodb-audit-table).
        #[arg(long, requires = "dynamodb_audit_table")]
        dynamodb_table: Option<String>,
        #[arg(long)]
        dynamodb_audit_table: Option<String>,
        /// A DynamoDB endpoint other than AWS's (e.g. DynamoDB Local).
        #[arg(long)]
        endpoint_url: Option<String>,
    },
    /// Check an export offline; exits 1 naming the first bad event.
    Verify {
        /// The NDJSON file.
        file: PathBuf,
        /// The manifest; FILE with `.manifest.json` in place of `.ndjson` by default.
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
}

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
        } => {
            let selection = selection(from, to, entity)?;
            let store: Arc<dyn Store> = match (dynamodb_table, dynamodb_audit_table) {
                (Some(main), Some(audit)) => dynamodb_store(main, audit, endpoint_url).await,
                _ => {
                    if !data_dir.join(crate::local::DB_FILE).exists() {
                        return Err(format!("no Broker OS data in {}", data_dir.display()));
                    }
                    Arc::new(
                        brokeros_store_sqlite::SqliteStore::open_with(
                            &data_dir.join(crate::local::DB_FILE),
                            durability,
                        )
                        .map_err(|e| e.to_string())?,
                    )
                }
            };
            let manifest = export(store.as_ref(), &selection, &out).await?;
            println!(
                "exported {} events in {} streams to {}",
                manifest.count,
                manifest.streams.len(),
                with_suffix(&out, "ndjson").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { file, manifest } => {
            let manifest_path = manifest.unwrap_or_else(|| manifest_beside(&file));
            let data =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let manifest_text = std::fs::read_to_string(&manifest_path)
                .map_err(|e| format!("cannot read {}: {e}", manifest_path.display()))?;
            let manifest: Manifest = serde_json::from_str(&manifest_text)
                .map_err(|e| format!("{} is not a manifest: {e}", manifest_path.display()))?;
            match verify(&data, &manifest) {
                Ok(count) => {
                    println!(
                        "OK: {count} events in {} streams verify; sha256 {}",
                        manifest.streams.len(),
                        manifest.sha256
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
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
    let from = parse_time(
        "--from",
        from.as_deref()
            .ok_or("give --from (and optionally --to), or --entity")?,
    )?;
    let to = match to {
        Some(t) => parse_time("--to", &t)?,
        None => OffsetDateTime::now_utc() + time::Duration::seconds(1),
    };
    Ok(Selection::TimeRange { from, to })
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    PathBuf::from(name)
}

fn manifest_beside(ndjson: &Path) -> PathBuf {
    let text = ndjson.to_string_lossy();
    PathBuf::from(match text.strip_suffix(".ndjson") {
        Some(stem) => format!("{stem}.manifest.json"),
        None => format!("{text}.manifest.json"),
    })
}

/// Writes the three export files and returns the manifest.
pub async fn export(
    store: &dyn Store,
    selection: &Selection,
    out: &Path,
) -> Result<Manifest, String> {
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} audit events read ({per_sec})")
            .expect("a valid template"),
    );
    let events = collect(store, selection, |n| progress.set_position(n))
        .await
        .map_err(|e| e.to_string())?;
    progress.finish_and_clear();
    let export = render(&events, selection, OffsetDateTime::now_utc());
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let manifest_json = serde_json::to_vec_pretty(&export.manifest).expect("manifests serialize");
    for (suffix, bytes) in [
        ("ndjson", &export.ndjson),
        ("csv", &export.csv),
        ("manifest.json", &manifest_json),
    ] {
        let path = with_suffix(out, suffix);
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(export.manifest)
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
