//! Onboarding workflow task `kyc-check`: KYC/AML check of a client under their jurisdiction's rules: document verification through the KYC provider, sanctions/PEP screening, risk score.

use brokeros_aws::TaskFunction;

#[tokio::main]
async fn main() -> Result<(), brokeros_aws::Error> {
    brokeros_http::logging::init();
    let services = brokeros_aws::services_from_env().await?;
    brokeros_aws::run_task(TaskFunction::KycCheck, services).await
}
