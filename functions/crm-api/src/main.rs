//! The CRM API: leads (lists, lifecycle, notes, tasks, timeline, conversion) and clients.

use brokeros_http::crm_routes;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_http(crm_routes, services).await
}
