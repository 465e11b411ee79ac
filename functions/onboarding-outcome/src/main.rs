//! Onboarding workflow task `onboarding-outcome`: Records how an onboarding ended on the onboarding, the client and any open review.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::OnboardingOutcome, services).await
}
