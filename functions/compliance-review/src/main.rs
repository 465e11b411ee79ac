//! Onboarding workflow task `compliance-review`: opens, escalates or expires the compliance review the onboarding workflow waits on with a task token, and follows a decision taken before it ran.

use brokeros_onboarding::tasks::COMPLIANCE_REVIEW;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_task(COMPLIANCE_REVIEW, services).await
}
