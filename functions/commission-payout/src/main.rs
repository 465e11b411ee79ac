//! Commission payout workflow tasks `commission-payout`: closing a period, building statements with carried remainders (held over the threshold for finance's approval), crediting them through the ledger, parking the approval token, flagging credits that keep failing. The state machine names the step in the payload's `action`.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::CommissionPayout, services).await
}
