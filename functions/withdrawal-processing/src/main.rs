//! Withdrawal workflow tasks `withdrawal-processing`: the checks (KYC level, AML thresholds and velocity, back to the deposit method, auto-approval rules), parking the approval token, expiry, the payout through the provider with its ledger settlement or release. The state machine names the step in the payload's `action`.

use brokeros_withdrawals::tasks::WITHDRAWAL_PROCESSING;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_task(WITHDRAWAL_PROCESSING, services).await
}
