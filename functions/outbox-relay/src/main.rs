//! The outbox relay (EventBridge Scheduler, every minute): carries out the side effects a commit
//! staged and its request did not (the function stopped, Step Functions throttled), such as a
//! workflow start, retrying each until it is done.

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_outbox_relay(services).await
}
