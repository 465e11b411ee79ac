//! Onboarding workflow task `trading-account`: Opens an approved client's trading account on the trading platform, idempotent by onboarding.

use brokeros_onboarding::tasks::TRADING_ACCOUNT;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_task(TRADING_ACCOUNT, services).await
}
