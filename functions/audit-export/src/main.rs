//! Audit export for auditors, into the audit export bucket (`BROKEROS_AUDIT_EXPORT_BUCKET`,
//! versioned, Object Lock): the events of a time range or of one entity as NDJSON + CSV + a
//! manifest that `brokeros audit verify` checks offline, by the same code as
//! `brokeros audit export` (`brokeros_kernel::audit_export`).
//!
//! The event selects what to export: `{}` (the nightly schedule) is the previous UTC day;
//! `{"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}` a range;
//! `{"entity_type": "lead", "entity_id": "lead_…"}` one entity's whole stream. It answers with
//! the bucket, the three keys and the manifest.

use brokeros_aws::LambdaError;
use brokeros_aws::kernel::Error;
use brokeros_aws::kernel::audit_export::{Selection, collect, render};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, Time};

const BUCKET_ENV: &str = "BROKEROS_AUDIT_EXPORT_BUCKET";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRequest {
    from: Option<String>,
    to: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
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

async fn export(
    services: &brokeros_aws::Services,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    event: Value,
) -> Result<Value, Error> {
    let request: ExportRequest = if event.is_null() {
        ExportRequest::default()
    } else {
        serde_json::from_value(event)
            .map_err(|e| Error::invalid("invalid_request", "event", e.to_string()))?
    };
    let now = OffsetDateTime::now_utc();
    let (selection, prefix) = selection(request, now)?;
    let events = collect(services.store.as_ref(), &selection, |_| {}).await?;
    let export = render(&events, &selection, now);
    let manifest = serde_json::to_vec_pretty(&export.manifest).expect("manifests serialize");
    let mut keys = Vec::new();
    for (suffix, content_type, body) in [
        ("ndjson", "application/x-ndjson", export.ndjson),
        ("csv", "text/csv", export.csv),
        ("manifest.json", "application/json", manifest),
    ] {
        let key = format!("audit/{prefix}.{suffix}");
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| {
                Error::Unavailable(format!(
                    "s3 put {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                ))
            })?;
        keys.push(key);
    }
    Ok(json!({ "bucket": bucket, "keys": keys, "manifest": export.manifest }))
}

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    let bucket = std::env::var(BUCKET_ENV)
        .map_err(|_| format!("environment variable {BUCKET_ENV} is not set"))?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::new(&aws);
    let (services, s3, bucket) = (&services, &s3, bucket.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        export(services, s3, bucket, event.payload)
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
