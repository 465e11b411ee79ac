//! The `kyc-check` task: the client's KYC check under their jurisdiction's rules.

use brokeros_domain::onboarding::kyc_subject;
use brokeros_domain::{Error, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tasks::{TaskScope, commit, stage};
use crate::Services;
use crate::changeset::Changeset;
use crate::idempotency::Reply;
use crate::kyc::{KycError, run_kyc_check};

#[derive(Debug, Deserialize)]
pub(crate) struct KycTask {
    #[serde(flatten)]
    scope: TaskScope,
    product: String,
}

/// KYC failures as the workflow sees them: an unavailable provider (or a result not in yet)
/// by the name the definition retries on, the rest as what they are.
fn kyc_error(e: KycError) -> Error {
    match e {
        e if e.is_transient() => Error::ProviderUnavailable {
            error_type: KycError::PROVIDER_UNAVAILABLE,
            message: e.public_message(),
        },
        KycError::Other(e) => e,
        e => Error::ProviderUnavailable {
            error_type: e.error_name(),
            message: e.public_message(),
        },
    }
}

/// Runs the check once per onboarding (the check id is the onboarding id, so a retry resumes
/// the same check), records it on the onboarding, and answers the decision.
pub(crate) async fn check(services: &Services, task: KycTask) -> Result<Value> {
    let (_, client) = task.scope.load(services).await?;
    let subject = kyc_subject(&client.entity, &task.product)?;
    let ctx = task.scope.ctx(services);
    let check_id = format!(
        "kyc_{}",
        task.scope.onboarding_id.trim_start_matches("onb_")
    );
    let record = run_kyc_check(
        services,
        services.kyc.as_ref(),
        &services.screening,
        &check_id,
        subject,
        &ctx,
    )
    .await
    .map_err(kyc_error)?;
    let decision = record.decision.clone().ok_or(Error::ProviderUnavailable {
        error_type: KycError::PROVIDER_UNAVAILABLE,
        message: "the provider has not reported the document check yet".into(),
    })?;
    let (task, check_id) = (&task, &check_id);
    commit(services, move || {
        Box::pin(async move {
            let ctx = task.scope.ctx(services);
            let (before, _) = task.scope.load(services).await?;
            let mut onboarding = before.entity.clone();
            onboarding.kyc_check_id = Some(check_id.clone());
            let mut changes = Changeset::new();
            stage(
                &mut changes,
                &ctx,
                services,
                &before,
                &onboarding,
                "onboarding.kyc_checked",
            )?;
            Ok((Reply::new(200, json!({})), changes))
        })
    })
    .await?;
    Ok(json!({
        "check_id": check_id,
        "outcome": decision.outcome,
        "risk_score": decision.risk_score,
        "leverage_cap": decision.leverage_cap,
        "verification_level": decision.verification_level,
        "reasons": decision.reasons,
    }))
}
