//! Onboarding workflow task `compliance-review`: opens, escalates or expires the compliance review the onboarding workflow waits on with a task token, and follows a decision taken before it ran.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::ComplianceReview, services).await
}
