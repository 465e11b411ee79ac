//! IB commission accrual (EventBridge Scheduler, every minute): ingests each configured
//! platform server's new deals and writes their explained accrual legs, batch by batch, each
//! batch in one transaction.

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_commission_accrual(services).await
}
