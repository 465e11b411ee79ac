//! Onboarding workflow task `trading-account`: Opens an approved client's trading account on the trading platform, idempotent by onboarding.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::TradingAccount, services).await
}
