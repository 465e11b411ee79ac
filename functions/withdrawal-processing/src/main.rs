//! Withdrawal workflow tasks `withdrawal-processing`: the checks (KYC level, AML thresholds and velocity, back to the deposit method, auto-approval rules), parking the approval token, expiry, the payout through the provider with its ledger settlement or release. The state machine names the step in the payload's `action`.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::WithdrawalProcessing, services).await
}
