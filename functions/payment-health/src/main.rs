//! Scheduled outage detection (EventBridge Scheduler, every few minutes): grades every payment
//! provider of the routing rules in force by its recent failures and records the health that
//! changed, audited, so routing passes over a failing provider and gives a recovered one traffic
//! again; and resumes the internal transfers a platform that did not answer left pending.

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_outage_detection(services).await
}
