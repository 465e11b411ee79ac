//! The CRM API: leads (lists, lifecycle, notes, tasks, timeline, conversion) and clients.

use brokeros_http::crm_routes;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    // Signs the audit downloads (`GET /audit/export`) with the audit-export function's key.
    let signer = brokeros_aws::signing::KmsSigner::from_default_env().await?;
    brokeros_aws::run_http(crm_routes, services, Some(std::sync::Arc::new(signer))).await
}
