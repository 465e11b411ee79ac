//! Onboarding workflow task `notify`: Queues a client notification in the outbox, once per onboarding and template.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::Notify, services).await
}
