//! Onboarding workflow task `notify`: Queues a client notification in the outbox, once per onboarding and template.

use brokeros_onboarding::tasks::NOTIFY;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_task(NOTIFY, services).await
}
