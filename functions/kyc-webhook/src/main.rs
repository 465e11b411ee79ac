//! The KYC provider's result webhook: a public route whose requests are authenticated by the
//! provider's signature over the raw body.

use brokeros_app::http::webhook_routes;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_http(webhook_routes, services).await
}
