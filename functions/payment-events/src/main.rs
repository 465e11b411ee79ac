//! Payment-provider events from the SQS FIFO queue (message group = deposit, deduplication id =
//! provider event id): each applied exactly once — a wallet credited once per deposit, a
//! decline or mismatch recorded — and the deposit workflow waiting on the result answered.
//! Reports partial batch failures, so only failed events come back.

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_payment_events(services).await
}
