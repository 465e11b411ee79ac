//! Every workflow's task functions, by Lambda function name, and the one dispatcher that both
//! the Lambdas (`brokeros_aws::run_task`) and the local engine call. Each workflow's handlers
//! live with its context's use cases; this module only says which function runs which.

use brokeros_contests::tasks as contest_scoring;
use brokeros_ib::tasks as commission_payout;
use brokeros_kernel::{Error, Result};
use brokeros_onboarding::task_scope::TaskScope;
use brokeros_onboarding::tasks::{self as onboarding, OnboardingTask};
use brokeros_pamm::tasks as pamm_rollover;
use brokeros_payments::deposits::tasks::{self as deposit, DepositFunction};
use brokeros_withdrawals::tasks as withdrawal;
use serde_json::Value;

use crate::Services;

/// A task function of the state machines in `statemachines/`: one Lambda function each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskFunction {
    KycCheck,
    ComplianceReview,
    TradingAccount,
    Notify,
    OnboardingOutcome,
    DepositRouting,
    DepositFunding,
    WithdrawalProcessing,
    CommissionPayout,
    ContestScoring,
    PammRollover,
}

impl TaskFunction {
    pub const ALL: [TaskFunction; 11] = [
        TaskFunction::KycCheck,
        TaskFunction::ComplianceReview,
        TaskFunction::TradingAccount,
        TaskFunction::Notify,
        TaskFunction::OnboardingOutcome,
        TaskFunction::DepositRouting,
        TaskFunction::DepositFunding,
        TaskFunction::WithdrawalProcessing,
        TaskFunction::CommissionPayout,
        TaskFunction::ContestScoring,
        TaskFunction::PammRollover,
    ];

    /// The Lambda function's name, as the definitions' `Resource`s name it.
    pub const fn name(self) -> &'static str {
        match self {
            TaskFunction::KycCheck => OnboardingTask::KycCheck.name(),
            TaskFunction::ComplianceReview => OnboardingTask::ComplianceReview.name(),
            TaskFunction::TradingAccount => OnboardingTask::TradingAccount.name(),
            TaskFunction::Notify => OnboardingTask::Notify.name(),
            TaskFunction::OnboardingOutcome => OnboardingTask::OnboardingOutcome.name(),
            TaskFunction::DepositRouting => DepositFunction::Routing.name(),
            TaskFunction::DepositFunding => DepositFunction::Funding.name(),
            TaskFunction::WithdrawalProcessing => withdrawal::WITHDRAWAL_PROCESSING,
            TaskFunction::CommissionPayout => commission_payout::COMMISSION_PAYOUT,
            TaskFunction::ContestScoring => contest_scoring::CONTEST_SCORING,
            TaskFunction::PammRollover => pamm_rollover::PAMM_ROLLOVER,
        }
    }

    pub fn from_name(name: &str) -> Result<TaskFunction> {
        TaskFunction::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                Error::invalid(
                    "unknown_task",
                    "function",
                    format!("no task handler is named '{name}'"),
                )
            })
    }

    /// Whether the function parks a task token and answers it itself when the result was
    /// there first (a provider's webhook, a compliance or finance decision that beat the
    /// task): in AWS it needs `states:SendTask*` on its machine; the others must not have it.
    pub fn answers_its_own_tokens(self) -> bool {
        matches!(
            self,
            TaskFunction::KycCheck
                | TaskFunction::ComplianceReview
                | TaskFunction::DepositRouting
                | TaskFunction::WithdrawalProcessing
                | TaskFunction::CommissionPayout
                | TaskFunction::ContestScoring
        )
    }

    /// Runs this task's handler on `payload`, counted in `task_invocations_total` and, when it
    /// fails, in `task_failures_total` under the error name the state machines match: the
    /// Lambdas and the local engine both dispatch here, so both count alike.
    pub async fn run(self, services: &Services, payload: Value) -> Result<Value> {
        use brokeros_kernel::metrics;
        metrics::TASK_INVOCATIONS.inc(&[self.name()]);
        let answered = self.dispatch(services, payload).await;
        if let Err(e) = &answered {
            let error = brokeros_kernel::workflow::error_name(e);
            metrics::TASK_FAILURES.inc(&[self.name(), error]);
        }
        answered
    }

    async fn dispatch(self, services: &Services, payload: Value) -> Result<Value> {
        let onboarding = |task| onboarding::run(&services.onboarding, task, payload.clone());
        match self {
            TaskFunction::KycCheck => onboarding(OnboardingTask::KycCheck).await,
            TaskFunction::ComplianceReview => onboarding(OnboardingTask::ComplianceReview).await,
            TaskFunction::TradingAccount => onboarding(OnboardingTask::TradingAccount).await,
            TaskFunction::Notify => onboarding(OnboardingTask::Notify).await,
            TaskFunction::OnboardingOutcome => {
                let recorded = onboarding(OnboardingTask::OnboardingOutcome).await?;
                if recorded["status"] == "approved" {
                    enroll_by_campaign(services, &payload).await;
                }
                Ok(recorded)
            }
            TaskFunction::DepositRouting => {
                deposit::run(&services.payments, DepositFunction::Routing, payload).await
            }
            TaskFunction::DepositFunding => {
                deposit::run(&services.payments, DepositFunction::Funding, payload).await
            }
            TaskFunction::WithdrawalProcessing => {
                withdrawal::run(&services.withdrawals, payload).await
            }
            TaskFunction::CommissionPayout => commission_payout::run(&services.ib, payload).await,
            TaskFunction::ContestScoring => contest_scoring::run(&services.contests, payload).await,
            TaskFunction::PammRollover => pamm_rollover::run(&services.pamm, payload).await,
        }
    }
}

/// Enters the trading account an onboarding opened into the contests its client's campaign
/// enrols (onboarding does not depend on contests), once the approval that gives the client
/// the account is recorded: a contest may ask for KYC-approved clients. Best-effort: the
/// task's answer never depends on it; each entry is audited with the execution as its actor.
/// A re-verification opens no account, so it enrols nothing.
async fn enroll_by_campaign(services: &Services, payload: &Value) {
    let scope = serde_json::from_value::<TaskScope>(payload.clone());
    let login = payload["execution"]["account"]["login"].as_u64();
    let (Ok(scope), Some(login)) = (scope, login) else {
        tracing::warn!("an approved onboarding's outcome names no client or account");
        return;
    };
    let onboarding = services
        .core
        .find::<brokeros_onboarding::model::Onboarding>(&scope.onboarding_id)
        .await;
    match onboarding {
        Ok(Some(o)) if !o.entity.is_reverification() => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(
                code = e.code(),
                "campaign enrolment could not read the onboarding"
            );
            return;
        }
    }
    let ctx = brokeros_kernel::workflow_ctx(&services.core, &scope.execution_id);
    brokeros_contests::entries::enroll_by_campaign(
        &services.contests,
        &ctx,
        &scope.client_id,
        login,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_function_is_listed_once_under_its_contexts_name() {
        let registered: Vec<&str> = TaskFunction::ALL.iter().map(|f| f.name()).collect();
        let mut names = registered.clone();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), registered.len());
        let contexts = OnboardingTask::ALL
            .iter()
            .map(|t| t.name())
            .chain(DepositFunction::ALL.iter().map(|f| f.name()))
            .chain([
                withdrawal::WITHDRAWAL_PROCESSING,
                commission_payout::COMMISSION_PAYOUT,
                contest_scoring::CONTEST_SCORING,
            ]);
        for name in contexts {
            assert!(registered.contains(&name), "{name} is not registered");
            assert_eq!(TaskFunction::from_name(name).unwrap().name(), name);
        }
        assert!(TaskFunction::from_name("no-such-task").is_err());
    }
}
