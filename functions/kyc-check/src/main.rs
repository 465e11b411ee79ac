//! Onboarding workflow task `kyc-check`: KYC/AML check of a client under their jurisdiction's rules: document verification through the KYC provider, sanctions/PEP screening, risk score.

use brokeros_onboarding::tasks::KYC_CHECK;

#[tokio::main]
async fn main() -> Result<(), brokeros_lambda::Error> {
    brokeros_app::logging::init();
    let services = brokeros_lambda::services_from_env().await?;
    brokeros_lambda::run_task(KYC_CHECK, services).await
}
