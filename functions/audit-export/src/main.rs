//! Audit export for auditors, into the audit export bucket (`BROKEROS_AUDIT_EXPORT_BUCKET`,
//! versioned, Object Lock): the events of a time range or of one entity as NDJSON + CSV + a
//! heads file + a manifest signed by the KMS key `BROKEROS_AUDIT_SIGNER_KMS_ARN`, that
//! `brokeros audit verify` checks offline, by the same code as `brokeros audit export`
//! (`brokeros_kernel::audit_export`). The files stream through /tmp, so memory does not grow
//! with the export.
//!
//! The event selects what to export: `{}` (the nightly schedule) is the previous UTC day;
//! `{"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}` a range;
//! `{"entity_type": "lead", "entity_id": "lead_…"}` one entity's whole stream. It answers with
//! the bucket, the four keys and the manifest.
//!
//! `{"checkpoint": true}` (the hourly schedule) signs the next checkpoint of all stream heads
//! instead (`brokeros_kernel::audit_checkpoint`), as of a minute ago, into the same
//! Object-Locked bucket under `checkpoints/` — written only if absent (`If-None-Match: *`),
//! and then kept by Object Lock for the retention period.

use brokeros_aws::LambdaError;
use brokeros_aws::kernel::Error;
use brokeros_aws::kernel::audit_checkpoint::{self, Checkpoint};
use brokeros_aws::kernel::audit_export::{self, Selection, Sinks};
use brokeros_aws::kernel::signing::Signer;
use brokeros_aws::signing::KmsSigner;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, Time};

const BUCKET_ENV: &str = "BROKEROS_AUDIT_EXPORT_BUCKET";
const CHECKPOINTS: &str = "checkpoints/";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRequest {
    from: Option<String>,
    to: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    #[serde(default)]
    checkpoint: bool,
}

fn time(field: &'static str, text: &str) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        Error::invalid(
            "invalid_time",
            field,
            format!("{field} must be an RFC 3339 time such as 2026-11-24T00:00:00Z"),
        )
    })
}

/// What to export, and the key prefix its files get.
fn selection(request: ExportRequest, now: OffsetDateTime) -> Result<(Selection, String), Error> {
    let stamp = now.format(&Rfc3339).expect("formats");
    match request {
        ExportRequest {
            entity_type: Some(entity_type),
            entity_id: Some(entity_id),
            from: None,
            to: None,
            ..
        } => {
            let prefix = format!("entity/{entity_type}/{entity_id}/{stamp}");
            Ok((
                Selection::Entity {
                    entity_type,
                    entity_id,
                },
                prefix,
            ))
        }
        ExportRequest {
            entity_type: None,
            entity_id: None,
            from,
            to,
            ..
        } => {
            let midnight = now.replace_time(Time::MIDNIGHT);
            let from = match from {
                Some(text) => time("from", &text)?,
                None => midnight - time::Duration::days(1),
            };
            let to = match to {
                Some(text) => time("to", &text)?,
                None => from.replace_time(Time::MIDNIGHT) + time::Duration::days(1),
            };
            let range = format!(
                "{}--{}",
                from.format(&Rfc3339).expect("formats"),
                to.format(&Rfc3339).expect("formats")
            );
            Ok((
                Selection::TimeRange { from, to },
                format!("range/{range}/{stamp}"),
            ))
        }
        _ => Err(Error::invalid(
            "invalid_selection",
            "entity_id",
            "give entity_type with entity_id, or a from/to range (or nothing: the previous day)",
        )),
    }
}

fn unavailable<E: std::error::Error + 'static>(what: &str, e: E) -> Error {
    Error::Unavailable(format!(
        "{what}: {}",
        aws_sdk_s3::error::DisplayErrorContext(&e)
    ))
}

async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    content_type: &str,
    body: aws_sdk_s3::primitives::ByteStream,
    create_only: bool,
) -> Result<(), Error> {
    let mut request = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(body);
    if create_only {
        request = request.if_none_match("*");
    }
    request
        .send()
        .await
        .map_err(|e| unavailable(&format!("s3 put {key}"), e))?;
    Ok(())
}

async fn export(
    services: &brokeros_aws::Services,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    signer: &dyn Signer,
    request: ExportRequest,
) -> Result<Value, Error> {
    let now = OffsetDateTime::now_utc();
    let (selection, prefix) = selection(request, now)?;
    let dir = tempfile_dir()?;
    let path = |suffix: &str| dir.join(format!("export.{suffix}"));
    let file = |suffix: &str| {
        std::fs::File::create(path(suffix))
            .map(|f| std::io::BufWriter::with_capacity(1 << 20, f))
            .map_err(|e| Error::Internal(format!("cannot write /tmp: {e}")))
    };
    let (mut ndjson, mut csv, mut heads) = (file("ndjson")?, file("csv")?, file("heads.ndjson")?);
    let manifest = audit_export::export(
        services.store.as_ref(),
        &selection,
        now,
        Sinks {
            ndjson: &mut ndjson,
            csv: &mut csv,
            heads: &mut heads,
            timing: None,
        },
        Some(signer),
        |_| {},
    )
    .await?;
    for writer in [ndjson, csv, heads] {
        writer
            .into_inner()
            .map_err(|e| Error::Internal(format!("cannot write /tmp: {e}")))?;
    }
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("manifests serialize");
    let mut keys = Vec::new();
    for (suffix, content_type) in [
        ("ndjson", "application/x-ndjson"),
        ("csv", "text/csv"),
        ("heads.ndjson", "application/x-ndjson"),
    ] {
        let key = format!("audit/{prefix}.{suffix}");
        let body = aws_sdk_s3::primitives::ByteStream::from_path(path(suffix))
            .await
            .map_err(|e| Error::Internal(format!("cannot read /tmp: {e}")))?;
        put(s3, bucket, &key, content_type, body, false).await?;
        keys.push(key);
    }
    // The manifest last: its presence says the export is complete.
    let key = format!("audit/{prefix}.manifest.json");
    put(
        s3,
        bucket,
        &key,
        "application/json",
        manifest_json.into(),
        false,
    )
    .await?;
    keys.push(key);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(json!({ "bucket": bucket, "keys": keys, "manifest": manifest }))
}

fn tempfile_dir() -> Result<std::path::PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("audit-{}", uuid_like()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Internal(format!("cannot use /tmp: {e}")))?;
    Ok(dir)
}

fn uuid_like() -> u128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() as u128
}

async fn get_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, Error> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| unavailable(&format!("s3 get {key}"), e))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| Error::Unavailable(format!("s3 get {key}: {e}")))?;
    Ok(bytes.into_bytes().to_vec())
}

/// The next checkpoint after the last one in the bucket (keys are zero-padded, so the last in
/// listing order is the latest).
async fn checkpoint(
    services: &brokeros_aws::Services,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    signer: &dyn Signer,
) -> Result<Value, Error> {
    let mut last: Option<String> = None;
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(CHECKPOINTS)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| unavailable("s3 list checkpoints", e))?;
        for object in page.contents() {
            if let Some(key) = object.key().filter(|k| k.ends_with(".checkpoint.json")) {
                last = Some(key.to_string());
            }
        }
    }
    let previous = match &last {
        Some(key) => {
            let text = String::from_utf8(get_text(s3, bucket, key).await?)
                .map_err(|e| Error::Internal(e.to_string()))?;
            let (checkpoint, _) = Checkpoint::parse(&text).map_err(Error::Internal)?;
            let heads = get_text(
                s3,
                bucket,
                &key.replace(".checkpoint.json", ".heads.ndjson"),
            )
            .await?;
            Some((checkpoint, heads))
        }
        None => None,
    };
    let at = OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let from = previous
        .as_ref()
        .map_or(at - time::Duration::days(1), |(p, _)| p.at);
    let mut lines = Vec::new();
    audit_export::for_each_event(
        services.store.as_ref(),
        &Selection::TimeRange { from, to: at },
        |data| {
            lines.push(Ok(data.to_string()));
            Ok(())
        },
    )
    .await?;
    let mut heads = Vec::new();
    let built = match &previous {
        None => audit_checkpoint::build(None, at, &mut lines.into_iter(), &mut heads, signer).await,
        Some((p, bytes)) => {
            let mut reader = &bytes[..];
            audit_checkpoint::build(
                Some((p, &mut reader)),
                at,
                &mut lines.into_iter(),
                &mut heads,
                signer,
            )
            .await
        }
    }
    .map_err(Error::Internal)?;
    let stem = format!("{CHECKPOINTS}{:012}", built.seq);
    put(
        s3,
        bucket,
        &format!("{stem}.heads.ndjson"),
        "application/x-ndjson",
        heads.into(),
        true,
    )
    .await?;
    let json = serde_json::to_vec_pretty(&built).expect("checkpoints serialize");
    put(
        s3,
        bucket,
        &format!("{stem}.checkpoint.json"),
        "application/json",
        json.into(),
        true,
    )
    .await?;
    Ok(json!({ "bucket": bucket, "checkpoint": built }))
}

async fn handle(
    services: &brokeros_aws::Services,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    signer: &dyn Signer,
    event: Value,
) -> Result<Value, Error> {
    let request: ExportRequest = if event.is_null() {
        ExportRequest::default()
    } else {
        serde_json::from_value(event)
            .map_err(|e| Error::invalid("invalid_request", "event", e.to_string()))?
    };
    if request.checkpoint {
        checkpoint(services, s3, bucket, signer).await
    } else {
        export(services, s3, bucket, signer, request).await
    }
}

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    let bucket = std::env::var(BUCKET_ENV)
        .map_err(|_| format!("environment variable {BUCKET_ENV} is not set"))?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::new(&aws);
    let signer = KmsSigner::from_env(&aws).await?;
    let (services, s3, bucket, signer) = (&services, &s3, bucket.as_str(), &signer);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(services, s3, bucket, signer, event.payload)
            .await
            .map_err(LambdaError)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_empty_event_exports_the_previous_utc_day() {
        let now = datetime!(2026-11-25 00:30:00 UTC);
        let (selection, prefix) = selection(ExportRequest::default(), now).unwrap();
        match selection {
            Selection::TimeRange { from, to } => {
                assert_eq!(from, datetime!(2026-11-24 00:00:00 UTC));
                assert_eq!(to, datetime!(2026-11-25 00:00:00 UTC));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            prefix,
            "range/2026-11-24T00:00:00Z--2026-11-25T00:00:00Z/2026-11-25T00:30:00Z"
        );
    }

    #[test]
    fn an_entity_or_a_range_is_exported_and_a_mix_is_refused() {
        let now = datetime!(2026-11-25 00:30:00 UTC);
        let entity = ExportRequest {
            entity_type: Some("lead".into()),
            entity_id: Some("lead_1".into()),
            ..Default::default()
        };
        let (_, prefix) = selection(entity, now).unwrap();
        assert_eq!(prefix, "entity/lead/lead_1/2026-11-25T00:30:00Z");
        let mixed = ExportRequest {
            entity_type: Some("lead".into()),
            entity_id: Some("lead_1".into()),
            from: Some("2026-11-01T00:00:00Z".into()),
            ..Default::default()
        };
        assert!(selection(mixed, now).is_err());
        let bad = ExportRequest {
            from: Some("yesterday".into()),
            ..Default::default()
        };
        assert!(selection(bad, now).is_err());
    }
}
