//! Every workflow's task functions, by Lambda function name, and the one dispatcher that both
//! the Lambdas (`brokeros_lambda::run_task`) and the local engine call. Each workflow's
//! handlers live with its use cases; this module only says which function runs which.

use brokeros_kernel::{Error, Result};
use serde_json::Value;

use crate::Services;
use brokeros_payments::deposits::tasks as deposit;
use brokeros_onboarding::tasks as onboarding;
use brokeros_withdrawals::tasks as withdrawal;

/// Every task function any state machine in `statemachines/` calls.
pub const TASK_FUNCTIONS: [&str; 8] = [
    onboarding::KYC_CHECK,
    onboarding::COMPLIANCE_REVIEW,
    onboarding::TRADING_ACCOUNT,
    onboarding::NOTIFY,
    onboarding::ONBOARDING_OUTCOME,
    deposit::DEPOSIT_ROUTING,
    deposit::DEPOSIT_FUNDING,
    withdrawal::WITHDRAWAL_PROCESSING,
];

/// The task functions that park a task token and answer it themselves when the result was
/// there first (a provider's webhook, a compliance or finance decision that beat the task): in
/// AWS they need `states:SendTask*` on their machine, the other task functions must not have it.
pub const ANSWER_THEIR_OWN_TOKENS: [&str; 4] = [
    onboarding::KYC_CHECK,
    onboarding::COMPLIANCE_REVIEW,
    deposit::DEPOSIT_ROUTING,
    withdrawal::WITHDRAWAL_PROCESSING,
];

/// Runs the task handler of `function` on `payload`.
pub async fn run(services: &Services, function: &str, payload: Value) -> Result<Value> {
    if onboarding::TASK_FUNCTIONS.contains(&function) {
        return onboarding::run(&services.onboarding, function, payload).await;
    }
    if deposit::TASK_FUNCTIONS.contains(&function) {
        return deposit::run(&services.payments, function, payload).await;
    }
    if withdrawal::TASK_FUNCTIONS.contains(&function) {
        return withdrawal::run(&services.withdrawals, function, payload).await;
    }
    Err(Error::invalid(
        "unknown_task",
        "function",
        format!("no task handler is named '{function}'"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_function_is_listed_once() {
        let mut names = TASK_FUNCTIONS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TASK_FUNCTIONS.len());
        for name in onboarding::TASK_FUNCTIONS
            .iter()
            .chain(deposit::TASK_FUNCTIONS.iter())
            .chain(withdrawal::TASK_FUNCTIONS.iter())
        {
            assert!(TASK_FUNCTIONS.contains(name), "{name} is not registered");
        }
    }
}
