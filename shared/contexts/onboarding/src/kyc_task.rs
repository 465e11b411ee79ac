//! The `kyc-check` task: the client's KYC check under their jurisdiction's rules, and the wait
//! for the provider's asynchronous result.
//!
//! `check` runs (or resumes) the check. When the provider answers later, the check is stored
//! pending and the task answers `pending`; the workflow then calls `await`, which parks the
//! workflow's task token on the onboarding. The provider's webhook completes the check and
//! answers that token ([`result_arrived`]); if the webhook came first, `await` answers it
//! itself.

use crate::kyc::model::KycDecision;
use crate::model::{Onboarding, OnboardingStatus, kyc_subject};
use brokeros_kernel::{Error, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Services;
use crate::kyc::model::KycCheckRecord;
use crate::task_scope::{TaskScope, update_onboarding};

use crate::kyc::{KycError, run_kyc_check_for};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KycAction {
    #[default]
    Check,
    Await,
}

#[derive(Debug, Deserialize)]
pub(crate) struct KycTask {
    #[serde(flatten)]
    scope: TaskScope,
    #[serde(default)]
    action: KycAction,
    #[serde(default)]
    product: Option<String>,
    /// `await` only: the token the provider's result answers.
    #[serde(default)]
    task_token: Option<String>,
}

/// KYC failures as the workflow sees them: an unavailable provider by the name the definition
/// retries on, the rest as what they are.
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

/// The check's id: one per onboarding, so a retried task resumes the same check.
fn check_id(onboarding_id: &str) -> String {
    format!("kyc_{}", onboarding_id.trim_start_matches("onb_"))
}

/// The onboarding a check belongs to (the inverse of [`check_id`]).
fn onboarding_of(check_id: &str) -> Option<String> {
    check_id
        .strip_prefix("kyc_")
        .map(|rest| format!("onb_{rest}"))
}

/// What the workflow receives: the decision, or `pending` while the provider has not answered.
fn task_output(check_id: &str, decision: Option<&KycDecision>) -> Value {
    match decision {
        Some(d) => json!({
            "check_id": check_id,
            "outcome": d.outcome,
            "risk_score": d.risk_score,
            "leverage_cap": d.leverage_cap,
            "verification_level": d.verification_level,
            "reasons": d.reasons,
        }),
        None => json!({
            "check_id": check_id,
            "outcome": "pending",
            "risk_score": null,
            "leverage_cap": null,
        }),
    }
}

pub(crate) async fn run(services: &Services, task: KycTask) -> Result<Value> {
    match task.action {
        KycAction::Check => check(services, task).await,
        KycAction::Await => await_result(services, task).await,
    }
}

/// Runs the check and records it on the onboarding.
async fn check(services: &Services, task: KycTask) -> Result<Value> {
    let product = task
        .product
        .as_deref()
        .ok_or_else(|| Error::invalid("invalid_task_input", "product", "product is required"))?;
    let (onboarding, client) = task.scope.load(services).await?;
    let numbers = crate::repo::document_numbers(services, &client.entity.id).await?;
    let subject = kyc_subject(&client.entity, product, &numbers)?;
    let ctx = task.scope.ctx(services);
    let check_id = check_id(&task.scope.onboarding_id);
    let record = run_kyc_check_for(
        services,
        services.kyc.as_ref(),
        &services.screening,
        &check_id,
        subject,
        onboarding.entity.trigger.clone(),
        &ctx,
    )
    .await
    .map_err(kyc_error)?;
    update_onboarding(services, &task.scope, "onboarding.kyc_checked", |o| {
        o.kyc_check_id = Some(check_id.clone());
    })
    .await?;
    Ok(task_output(&check_id, record.decision.as_ref()))
}

/// Parks the workflow's token on the onboarding until the provider's result arrives; answers
/// it at once if the result is already in.
async fn await_result(services: &Services, task: KycTask) -> Result<Value> {
    let token = task.task_token.clone().ok_or_else(|| {
        Error::invalid("invalid_task_input", "task_token", "task_token is required")
    })?;
    let check_id = check_id(&task.scope.onboarding_id);
    update_onboarding(
        services,
        &task.scope,
        "onboarding.awaiting_kyc_result",
        |o| {
            o.kyc_result_token = Some(token.clone());
        },
    )
    .await?;
    let record = services
        .get::<KycCheckRecord>(&check_id)
        .await
        .map_err(|e| kyc_error(e.into()))?;
    if let Some(decision) = &record.entity.decision {
        answer(services, &token, &check_id, decision).await?;
    }
    Ok(json!({ "check_id": check_id, "awaiting": record.entity.decision.is_none() }))
}

/// Answers a waiting workflow with the decision; a token no longer waiting (answered by the
/// other path, or timed out) is not an error.
async fn answer(
    services: &Services,
    token: &str,
    check_id: &str,
    decision: &KycDecision,
) -> Result<()> {
    brokeros_kernel::workflow::unless_not_waiting(
        services
            .workflow()?
            .task_success(token, task_output(check_id, Some(decision)))
            .await,
    )
}

/// The provider's webhook completed `check`: if its onboarding waits for the result, the
/// workflow continues with the decision.
pub async fn result_arrived(services: &Services, check: &KycCheckRecord) -> Result<()> {
    let (Some(decision), Some(onboarding_id)) = (check.decision.as_ref(), onboarding_of(&check.id))
    else {
        return Ok(());
    };
    let onboarding = services.find::<Onboarding>(&onboarding_id).await?;
    match onboarding.map(|o| o.entity) {
        Some(Onboarding {
            status: OnboardingStatus::Running,
            kyc_result_token: Some(token),
            ..
        }) => answer(services, &token, &check.id, decision).await,
        _ => Ok(()),
    }
}
