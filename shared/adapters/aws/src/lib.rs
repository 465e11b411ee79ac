//! Start-up wiring shared by the Lambda functions: configuration from the environment, the
//! DynamoDB client built once per execution environment, and the adapter that runs an axum
//! router under `lambda_http` with the claims API Gateway verified.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

pub use brokeros_app::Services;
use brokeros_app::config::BrokerConfig;
pub use brokeros_app::workflow_tasks::TaskFunction;
use brokeros_http::AppState;
use brokeros_http::auth::{AuthMode, GatewayClaims};
/// What a function needs of the kernel (errors, the audit export) without depending on it.
pub use brokeros_kernel as kernel;
use brokeros_store_dynamodb::{DynamoStore, TableNames};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

pub use lambda_http::Error;

pub mod compose;
pub mod queue;
pub mod secrets;
pub mod signing;
pub mod sweep;
pub mod workflow;

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// The rules: `BROKEROS_CONFIG` (a JSON document, e.g. from a parameter) or the embedded default.
pub fn config_from_env() -> Result<BrokerConfig, Error> {
    match std::env::var("BROKEROS_CONFIG") {
        Ok(json) if !json.trim().is_empty() => Ok(BrokerConfig::from_json(&json)?),
        _ => Ok(BrokerConfig::embedded_default()),
    }
}

/// The function's services: DynamoDB tables named by `BROKEROS_TABLE` and
/// `BROKEROS_AUDIT_TABLE`, Step Functions, and every other port as its setting names it
/// ([`compose`]).
pub async fn services_from_env() -> Result<Services, Error> {
    let tables = TableNames {
        main: env("BROKEROS_TABLE")?,
        audit: env("BROKEROS_AUDIT_TABLE")?,
    };
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), tables);
    let workflow = workflow::StepFunctionsWorkflow::from_env(aws_sdk_sfn::Client::new(&aws));
    let mut core = brokeros_kernel::Core::new(Arc::new(store));
    core.workflow = Some(Arc::new(workflow));
    // Functions that queue or consume payment events are given the queue's URL; the others
    // have no queue.
    let psp_events: Arc<dyn brokeros_payments::psp::EventQueue> =
        if std::env::var_os(queue::QUEUE_URL_ENV).is_some() {
            Arc::new(queue::SqsEventQueue::from_env(aws_sdk_sqs::Client::new(
                &aws,
            ))?)
        } else {
            Arc::new(compose::Unconfigured(queue::QUEUE_URL_ENV))
        };
    let lookup = |name: &str| std::env::var(name).ok();
    let mut services = compose::compose(core, config_from_env()?, &lookup, psp_events)?;
    if let Ok(url) = std::env::var(queue::COPY_QUEUE_URL_ENV) {
        services = services.with_copy_orders(Arc::new(queue::SqsEventQueue::new(
            aws_sdk_sqs::Client::new(&aws),
            url,
        )));
    }
    // Functions that verify provider webhooks read the providers' secrets once, at start-up.
    if let Ok(arn) = std::env::var(secrets::SECRETS_ARN_ENV) {
        let client = aws_sdk_secretsmanager::Client::new(&aws);
        services = secrets::fetch(&client, &arn).await?.apply(services)?;
    }
    Ok(services)
}

/// Prints what the metrics gained since the previous flush as CloudWatch embedded-metric-format
/// lines (one JSON object per line; CloudWatch Logs extracts the metrics from the function's
/// log group), each written whole so no log line interleaves. `trace` is the invocation's
/// X-Ray trace header, added to every line as `trace_id` (a log field, not a dimension).
pub fn flush_metrics(out: &mut dyn Write, trace: Option<&str>) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let trace_id = trace.and_then(brokeros_http::xray_trace_root);
    let properties: Vec<(&str, &str)> = trace_id.map(|t| ("trace_id", t)).into_iter().collect();
    for line in brokeros_kernel::metrics::global().drain_emf(now_ms, &properties) {
        // Metrics are not worth failing an invocation for.
        let _ = out.write_all(format!("{line}\n").as_bytes());
    }
    let _ = out.flush();
}

/// One invocation of a workflow task function: the state machine's payload in, the handler's
/// JSON out (failures named for the definition's `Retry`/`Catch`), then the invocation's
/// metrics flushed to `out`.
pub async fn handle_task(
    function: TaskFunction,
    services: &Services,
    event: lambda_runtime::LambdaEvent<Value>,
    out: &mut (dyn Write + Send),
) -> Result<Value, LambdaError> {
    let answered = function
        .run(services, event.payload)
        .await
        .map_err(LambdaError);
    flush_metrics(out, event.context.xray_trace_id.as_deref());
    answered
}

/// Runs a workflow task handler as the Lambda handler ([`handle_task`], metrics to stdout).
pub async fn run_task(function: TaskFunction, services: Services) -> Result<(), Error> {
    let services = Arc::new(services);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let services = services.clone();
            async move { handle_task(function, &services, event, &mut std::io::stdout()).await }
        },
    ))
    .await
}

/// Runs the payment-event consumer as an SQS (FIFO) event source's Lambda handler: each
/// provider event applied in order per deposit, a failed one (and the rest of its group)
/// reported in `batchItemFailures` so SQS redelivers only those, and to the dead-letter queue
/// after the queue's receive limit.
pub async fn run_payment_events(services: Services) -> Result<(), Error> {
    let services = Arc::new(services);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let services = services.clone();
            async move {
                let answered = queue::handle_sqs_event(&event.payload, |message| {
                    let services = services.clone();
                    let body = message.body.clone();
                    async move {
                        let event =
                            brokeros_payments::model::events::PaymentEvent::from_message(&body)
                                .map_err(brokeros_kernel::Error::Internal)?;
                        let applied =
                            brokeros_payments::deposits::apply_event(&services.payments, &event)
                                .await?;
                        brokeros_payments::deposits::count_applied(&event, &applied);
                        Ok::<(), brokeros_kernel::Error>(())
                    }
                })
                .await
                .map_err(|e| LambdaError(brokeros_kernel::Error::from(e)));
                flush_metrics(
                    &mut std::io::stdout(),
                    event.context.xray_trace_id.as_deref(),
                );
                answered
            }
        },
    ))
    .await
}

/// Runs one pass of the outbox relay per invocation (a schedule's target) and answers what it
/// did and left; a pass that cannot read the outbox fails the invocation.
pub async fn run_outbox_relay(services: Services) -> Result<(), Error> {
    let core = services.core.clone();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let core = core.clone();
            async move {
                let report = brokeros_kernel::outbox::relay(&core).await;
                flush_metrics(
                    &mut std::io::stdout(),
                    event.context.xray_trace_id.as_deref(),
                );
                let report = report.map_err(LambdaError)?;
                if report.failed > 0 {
                    tracing::warn!(
                        ?report,
                        "outbox relay: some effects failed and are retried later"
                    );
                }
                Ok::<Value, LambdaError>(serde_json::to_value(&report).unwrap_or_default())
            }
        },
    ))
    .await
}

/// The most batches one invocation of `commission-accrual` writes per server: a pass stays
/// well inside the function's timeout, and the next minute's continues.
const ACCRUAL_BATCHES_PER_INVOCATION: u32 = 20;

/// Runs one pass of IB deal ingestion and accrual per invocation (a schedule's target) over
/// the configured platform servers, pricing with the FX feed `BROKEROS_FX_RATES` names (read
/// at start-up), and answers what it wrote; a failing pass fails the invocation.
pub async fn run_commission_accrual(services: Services) -> Result<(), Error> {
    let fx = compose::fx_rates_from(&|name| std::env::var(name).ok())?;
    let services = Arc::new(services);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let services = services.clone();
            let fx = fx.clone();
            async move {
                let pass = brokeros_ib::accruals::accrue_servers(
                    &services.ib,
                    services.ports.trading.as_ref(),
                    fx.as_ref(),
                    ACCRUAL_BATCHES_PER_INVOCATION,
                )
                .await;
                flush_metrics(
                    &mut std::io::stdout(),
                    event.context.xray_trace_id.as_deref(),
                );
                let pass = pass.map_err(LambdaError)?;
                Ok::<Value, LambdaError>(serde_json::json!({
                    "batches": pass.batches,
                    "changes": pass.changes,
                    "legs": pass.legs,
                    "writes": pass.writes,
                    "quarantined": pass.quarantined,
                    "raced": pass.raced,
                }))
            }
        },
    ))
    .await
}

/// The most reader batches one scheduled invocation of `copy-trading` writes per server.
const COPY_BATCHES_PER_INVOCATION: u32 = 20;

/// The copy trading function, with two event sources: the copy queue (SQS FIFO, message group
/// = follower), whose messages each copy one provider deal for one follower (partial batch
/// failures, so only failed messages come back, then to the dead-letter queue); and a
/// schedule, whose invocations read the configured platform servers' new deals and fan them
/// out on that queue.
pub async fn run_copy_trading(services: Services) -> Result<(), Error> {
    let services = Arc::new(services);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let services = services.clone();
            async move {
                let answered = if event.payload.get("Records").is_some() {
                    queue::handle_sqs_event(&event.payload, |message| {
                        let services = services.clone();
                        let body = message.body.clone();
                        async move {
                            brokeros_copy::copying::copy_one(&services.copy, &body).await?;
                            Ok::<(), brokeros_kernel::Error>(())
                        }
                    })
                    .await
                    .map_err(|e| LambdaError(brokeros_kernel::Error::from(e)))
                } else {
                    brokeros_copy::copying::fan_out_servers(
                        &services.copy,
                        &services.config.ib.platform_servers,
                        COPY_BATCHES_PER_INVOCATION,
                    )
                    .await
                    .map(|pass| {
                        serde_json::json!({
                            "batches": pass.batches,
                            "deals": pass.deals,
                            "messages": pass.messages,
                            "raced": pass.raced,
                        })
                    })
                    .map_err(LambdaError)
                };
                flush_metrics(
                    &mut std::io::stdout(),
                    event.context.xray_trace_id.as_deref(),
                );
                answered
            }
        },
    ))
    .await
}

/// Runs outage detection once per invocation (a schedule's target) and answers the providers
/// whose health changed and what became of the pending internal transfers it resumed; then, when the function names state machines to watch
/// ([`sweep::WATCHED_MACHINES_ENV`]), publishes their running executions and the oldest one's age.
pub async fn run_outage_detection(services: Services) -> Result<(), Error> {
    let services = Arc::new(services);
    let sweep = sweep::WorkflowSweep::from_env().await.map(Arc::new);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let services = services.clone();
            let sweep = sweep.clone();
            async move {
                let now = services.clock.now();
                let changed = brokeros_payments::routing::detect_outages(
                    &services.payments,
                    now,
                    &event.context.request_id,
                )
                .await
                .map_err(LambdaError);
                // The same schedule resumes the internal transfers nobody repeated, and sweeps
                // the state machines for stuck executions; a failed sweep fails the invocation
                // (the function's Errors metric), after the others ran.
                let transfers =
                    brokeros_payments::transfers::resume_pending(&services.payments, now, 100)
                        .await
                        .map_err(LambdaError);
                let swept = match &sweep {
                    Some(sweep) => sweep.run(now.unix_timestamp()).await,
                    None => Ok(()),
                };
                flush_metrics(
                    &mut std::io::stdout(),
                    event.context.xray_trace_id.as_deref(),
                );
                let changed = changed?;
                let transfers = transfers?;
                if !transfers.unsettled.is_empty() {
                    tracing::warn!(unsettled = ?transfers.unsettled, "transfers both accounts refused: finance must settle them");
                }
                swept.map_err(|e| LambdaError(brokeros_kernel::Error::Unavailable(e)))?;
                Ok::<Value, LambdaError>(serde_json::json!({ "changed": changed, "transfers": transfers }))
            }
        },
    ))
    .await
}

/// The JWT claims API Gateway (HTTP API, payload 2.0) verified for this request, if any.
pub fn gateway_claims(request: &Request) -> Option<GatewayClaims> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => {
            let jwt = context.authorizer.as_ref()?.jwt.as_ref()?;
            let claims: HashMap<String, Value> = jwt
                .claims
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            Some(GatewayClaims(claims))
        }
        _ => None,
    }
}

/// Puts the claims API Gateway verified where the router's authentication looks for them.
pub fn with_gateway_claims(mut request: Request) -> Request {
    if let Some(claims) = gateway_claims(&request) {
        request.extensions_mut().insert(claims);
    }
    request
}

/// Runs `router` as the Lambda handler, trusting only claims verified by API Gateway, and
/// flushes the request's metrics to stdout once it is answered. `audit_signer` signs the audit
/// downloads of a router that serves them ([`signing::KmsSigner::from_env`]).
pub async fn run_http(
    router: impl FnOnce(AppState) -> axum::Router,
    services: Services,
    audit_signer: Option<Arc<dyn brokeros_kernel::signing::Signer>>,
) -> Result<(), Error> {
    use tower::ServiceExt;
    let state = AppState {
        services: Arc::new(services),
        auth: Arc::new(AuthMode::GatewayClaims),
        audit_signer,
    };
    let router = router(state);
    let service = tower::service_fn(move |request: Request| {
        let router = router.clone();
        async move {
            // `lambda_http` put the invocation's X-Ray trace header on the request.
            let trace = request
                .headers()
                .get("x-amzn-trace-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let response = router.oneshot(with_gateway_claims(request)).await;
            flush_metrics(&mut std::io::stdout(), trace.as_deref());
            response
        }
    });
    lambda_http::run(service).await
}

/// A Broker OS error as a Lambda function reports it: `errorType` is the name state machines
/// match in `Retry`/`Catch` (`TransientError`, `ValidationError`, ...), `errorMessage` what the
/// caller may see.
#[derive(Debug)]
pub struct LambdaError(pub brokeros_kernel::Error);

impl From<brokeros_kernel::Error> for LambdaError {
    fn from(e: brokeros_kernel::Error) -> Self {
        LambdaError(e)
    }
}

impl From<LambdaError> for lambda_runtime::Diagnostic {
    fn from(LambdaError(e): LambdaError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: brokeros_kernel::workflow::error_name(&e).to_string(),
            error_message: e.body().message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_kernel::Error;
    use tower::ServiceExt;

    /// An API Gateway HTTP API (payload 2.0) event, as Lambda receives it.
    fn event(
        path: &str,
        claims: Option<serde_json::Value>,
        authorization: Option<&str>,
    ) -> Request {
        let mut headers = serde_json::json!({ "accept": "application/json" });
        if let Some(a) = authorization {
            headers["authorization"] = serde_json::json!(a);
        }
        let mut context = serde_json::json!({
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": { "method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "t" },
            "requestId": "req-1", "routeKey": format!("GET {path}"), "stage": "$default",
            "time": "24/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_000_000_000u64
        });
        if let Some(c) = claims {
            context["authorizer"] = serde_json::json!({ "jwt": { "claims": c, "scopes": null } });
        }
        let event = serde_json::json!({
            "version": "2.0", "routeKey": format!("GET {path}"), "rawPath": path, "rawQueryString": "",
            "headers": headers, "requestContext": context, "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
    }

    async fn status_of(request: Request) -> u16 {
        let dir = tempfile::tempdir().unwrap();
        let store = brokeros_store_sqlite::SqliteStore::open(&dir.path().join("db")).unwrap();
        let state = AppState {
            audit_signer: None,
            services: Arc::new(
                compose::compose(
                    brokeros_kernel::Core::new(Arc::new(store)),
                    BrokerConfig::embedded_default(),
                    &|name| {
                        Some(
                            if name == compose::SCREENING_LISTS_ENV {
                                compose::SAMPLE_LISTS
                            } else {
                                "none"
                            }
                            .into(),
                        )
                    },
                    Arc::new(compose::Unconfigured(queue::QUEUE_URL_ENV)),
                )
                .unwrap(),
            ),
            auth: Arc::new(AuthMode::GatewayClaims),
        };
        let response = brokeros_http::crm_routes(state)
            .oneshot(with_gateway_claims(request))
            .await
            .unwrap();
        response.status().as_u16()
    }

    #[tokio::test]
    async fn claims_verified_by_api_gateway_authenticate_and_nothing_else_does() {
        let admin = serde_json::json!({ "sub": "admin-1", "cognito:groups": "[admin]" });
        assert_eq!(status_of(event("/leads", Some(admin), None)).await, 200);
        let client = serde_json::json!({ "sub": "c-1", "cognito:groups": "[client]" });
        assert_eq!(status_of(event("/leads", Some(client), None)).await, 403);
        // No authorizer context: a bearer token in the request is never trusted by the function.
        assert_eq!(
            status_of(event(
                "/leads",
                None,
                Some("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
            ))
            .await,
            401
        );
    }

    #[test]
    fn errors_become_diagnostics_named_for_state_machines() {
        let d: lambda_runtime::Diagnostic =
            LambdaError(Error::Unavailable("db timeout at 10.0.0.1".into())).into();
        assert_eq!(d.error_type, "TransientError");
        assert!(
            !d.error_message.contains("10.0.0.1"),
            "internal details stay out: {}",
            d.error_message
        );
        let d: lambda_runtime::Diagnostic =
            LambdaError(Error::invalid("invalid_email", "email", "bad")).into();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("ValidationError", "bad")
        );
        // Provider outages keep the name the onboarding definition retries on.
        let d: lambda_runtime::Diagnostic = LambdaError(Error::ProviderUnavailable {
            error_type: "KycProviderUnavailable",
            message: "provider timeout at 10.0.0.2".into(),
        })
        .into();
        assert_eq!(d.error_type, "KycProviderUnavailable");
        assert!(!d.error_message.contains("10.0.0.2"));
        let definition = include_str!("../../../../statemachines/onboarding.asl.json");
        assert!(definition.contains("\"KycProviderUnavailable\""));
        assert!(definition.contains("\"TradingPlatformUnavailable\""));
    }
}
