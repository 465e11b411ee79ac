//! PAMM rollover `pamm-rollover`: the workflow's tasks (freeze, mark the equity, compute,
//! execute the requests, settle, notify; the state machine names the step in the payload's
//! `action`) and, on its schedule (`{"action": "start_scheduled"}`), the start of each
//! offer's due rollover and the restart of one that stopped under way.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::PammRollover, services).await
}
