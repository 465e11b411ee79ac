//! Provider webhooks: KYC results (`/webhooks/kyc/{provider}`) and payment events
//! (`/webhooks/psp/{provider}`, queued to the SQS FIFO queue named by
//! `BROKEROS_PSP_EVENTS_QUEUE_URL`). Public routes whose requests are authenticated by each
//! provider's signature over the raw body.

use brokeros_http::webhook_routes;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_http(webhook_routes, services, None).await
}
