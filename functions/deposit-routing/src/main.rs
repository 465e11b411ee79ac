//! Deposit workflow task `deposit-routing`: routes a deposit to the next eligible payment
//! provider by the versioned routing rules (cascading past declines and outages), parks the
//! workflow's token while the provider's webhook is awaited, expires deposits left unanswered
//! and records unexpected failures.

use brokeros_payments::deposits::tasks::DEPOSIT_ROUTING;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_task(DEPOSIT_ROUTING, services).await
}
