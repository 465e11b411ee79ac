//! Deposit workflow task `deposit-routing`: routes a deposit to the next eligible payment
//! provider by the versioned routing rules (cascading past declines and outages), parks the
//! workflow's token while the provider's webhook is awaited, expires deposits left unanswered
//! and records unexpected failures.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::DepositRouting, services).await
}
