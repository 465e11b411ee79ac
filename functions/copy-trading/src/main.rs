//! Copy trading: on its schedule, reads the platform servers' new provider deals and fans each
//! out on the copy queue (SQS FIFO, message group = follower, deduplication id = subscription
//! and deal); from that queue, places each follower's copy on the trading platform, or records
//! why not, once per deal and follower. Reports partial batch failures.

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_copy_trading(services).await
}
