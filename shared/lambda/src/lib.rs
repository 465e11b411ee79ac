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

/// A Broker OS error as a Lambda function reports it: `errorType` is the name state machines
/// match in `Retry`/`Catch` (`TransientError`, `ValidationError`, ...), `errorMessage` what the
/// caller may see.
#[derive(Debug)]
pub struct LambdaError(pub brokeros_domain::Error);

impl From<brokeros_domain::Error> for LambdaError {
    fn from(e: brokeros_domain::Error) -> Self {
        LambdaError(e)
    }
}

impl From<LambdaError> for lambda_runtime::Diagnostic {
    fn from(LambdaError(e): LambdaError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.lambda_error_type().to_string(),
            error_message: e.body().message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_domain::Error;

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
    }
}
