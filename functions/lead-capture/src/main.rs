//! `POST /leads`: public lead capture for landing pages and affiliates.

use brokeros_app::http::lead_capture_routes;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_http(lead_capture_routes, services).await
}
