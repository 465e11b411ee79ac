//! Deposit workflow task `deposit-funding`: moves a credited deposit from the client's wallet
//! to their trading account (ledger, then the platform's balance operation, both keyed by the
//! deposit id), or back to the wallet by a reversing entry when the platform refuses it.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::DepositFunding, services).await
}
