//! Onboarding workflow task `onboarding-outcome`: Records how an onboarding ended on the onboarding, the client and any open review.

use brokeros_onboarding::tasks::ONBOARDING_OUTCOME;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_task(ONBOARDING_OUTCOME, services).await
}
