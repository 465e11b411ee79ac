//! `POST /leads`: public lead capture for landing pages and affiliates.

use brokeros_http::lead_capture_routes;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_http(lead_capture_routes, services, None).await
}
