//! Onboarding workflow task `compliance-review`: Opens (or escalates) the compliance review the onboarding workflow waits on with a task token.

use brokeros_app::onboarding::tasks::COMPLIANCE_REVIEW;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_task(COMPLIANCE_REVIEW, services).await
}
