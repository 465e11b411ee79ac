//! A task function's Lambda invocation prints its metrics as one embedded-metric-format line.
//! A test binary of its own: the metrics registry is the process's, and no other test here
//! counts into it.

use std::sync::Arc;

use brokeros_app::config::BrokerConfig;
use brokeros_aws::{TaskFunction, compose, handle_task, queue};
use serde_json::{Value, json};

/// The fictional sample lists in this repository, as the setting of a test's services.
const SAMPLE_LISTS: &str = concat!(
    "dir:",
    env!("CARGO_MANIFEST_DIR"),
    "/../local/data/screening-lists/sample"
);

#[tokio::test]
async fn a_task_invocation_prints_one_emf_line_with_its_failure_and_trace_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = brokeros_store_sqlite::SqliteStore::open(&dir.path().join("db")).unwrap();
    let services = compose::compose(
        brokeros_kernel::Core::new(Arc::new(store)),
        BrokerConfig::embedded_default(),
        &|name| {
            Some(
                if name == compose::SCREENING_LISTS_ENV {
                    SAMPLE_LISTS
                } else {
                    "none"
                }
                .into(),
            )
        },
        Arc::new(compose::Unconfigured(queue::QUEUE_URL_ENV)),
    )
    .unwrap();
    let mut context = lambda_runtime::Context::default();
    context.xray_trace_id =
        Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into());
    // A payload the task cannot read: the invocation fails with a validation error.
    let event = lambda_runtime::LambdaEvent::new(json!({ "unexpected": true }), context);
    let mut out: Vec<u8> = Vec::new();
    let answered = handle_task(TaskFunction::DepositFunding, &services, event, &mut out).await;
    let error = answered.expect_err("the payload is not a deposit task's");
    let error_name = brokeros_kernel::workflow::error_name(&error.0);

    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let document: Value = serde_json::from_str(lines[0]).unwrap();
    let directives = document["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert!(document["_aws"]["Timestamp"].as_i64().unwrap() > 0);
    assert!(directives.iter().all(|d| d["Namespace"] == "BrokerOS"));
    assert_eq!(document["function"], "deposit-funding");
    assert_eq!(document["task_invocations_total"], 1.0);
    assert_eq!(document["task_failures_total"], 1.0);
    assert_eq!(document["error"], error_name);
    assert_eq!(document["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");

    // The next invocation publishes only what it adds.
    let mut again: Vec<u8> = Vec::new();
    brokeros_aws::flush_metrics(&mut again, None);
    assert!(again.is_empty(), "{}", String::from_utf8_lossy(&again));
}
