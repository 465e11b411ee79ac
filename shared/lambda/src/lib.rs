//! Start-up wiring shared by the Lambda functions: configuration from the environment, the
//! DynamoDB client built once per execution environment, and the adapter that runs an axum
//! router under `lambda_http` with the claims API Gateway verified.

use std::collections::HashMap;
use std::sync::Arc;

use brokeros_app::Services;
use brokeros_app::auth::{AuthMode, GatewayClaims};
use brokeros_app::http::AppState;
use brokeros_domain::config::BrokerConfig;
use brokeros_store_dynamodb::{DynamoStore, TableNames};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

pub use lambda_http::Error;

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

/// Services over DynamoDB tables named by `BROKEROS_TABLE` and `BROKEROS_AUDIT_TABLE`.
pub async fn services_from_env() -> Result<Services, Error> {
    let tables = TableNames {
        main: env("BROKEROS_TABLE")?,
        audit: env("BROKEROS_AUDIT_TABLE")?,
    };
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), tables);
    Ok(Services::new(Arc::new(store), config_from_env()?))
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

/// Runs `router` as the Lambda handler, trusting only claims verified by API Gateway.
pub async fn run_http(
    router: impl FnOnce(AppState) -> axum::Router,
    services: Services,
) -> Result<(), Error> {
    let state = AppState {
        services,
        auth: Arc::new(AuthMode::GatewayClaims),
    };
    let app = router(state);
    let service = tower::ServiceBuilder::new()
        .map_request(|mut request: Request| {
            let claims = gateway_claims(&request);
            if let Some(claims) = claims {
                request.extensions_mut().insert(claims);
            }
            request
        })
        .service(app);
    lambda_http::run(service).await
}
