//! The workflow port on the local Step Functions engine: the definitions in `statemachines/`,
//! unchanged, with their `${...FunctionArn}` placeholders resolved to the same task handlers
//! the Lambdas run, called in-process.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use brokeros_kernel::{Error, Result};
use brokeros_sfn::{
    Definition, Engine, EngineError, StoreExecutions, TaskFailure, WallOffset, handler_fn,
};
use serde_json::{Value, json};

use brokeros_app::Services;
use brokeros_app::workflow_tasks::TaskFunction;
use brokeros_kernel::workflow::{Machine, Workflow, error_name};

/// The definitions, embedded so `brokeros serve` runs from any directory.
pub fn definition_source(machine: Machine) -> &'static str {
    match machine {
        Machine::Onboarding => include_str!("../../../../statemachines/onboarding.asl.json"),
        Machine::Deposit => include_str!("../../../../statemachines/deposit.asl.json"),
        Machine::Withdrawal => include_str!("../../../../statemachines/withdrawal.asl.json"),
        Machine::CommissionPayout => {
            include_str!("../../../../statemachines/commission-payout.asl.json")
        }
        Machine::ContestScoring => {
            include_str!("../../../../statemachines/contest-scoring.asl.json")
        }
        Machine::PammRollover => include_str!("../../../../statemachines/pamm-rollover.asl.json"),
    }
}

/// The ARN a task function has locally; the engine calls the handler registered by its name.
pub fn local_function_arn(function: &str) -> String {
    format!("arn:aws:lambda:local:000000000000:function:{function}")
}

/// The `DefinitionSubstitutions` placeholder of a task function: `kyc-check` →
/// `KycCheckFunctionArn`, as the SAM template names them.
pub fn placeholder(function: &str) -> String {
    let mut name: String = function
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    name.push_str("FunctionArn");
    name
}

pub fn local_substitutions() -> BTreeMap<String, String> {
    TaskFunction::ALL
        .iter()
        .map(|f| (placeholder(f.name()), local_function_arn(f.name())))
        .collect()
}

/// A task handler's error as a Lambda reports it to Step Functions: the error type the
/// definition matches, and the Lambda-shaped cause.
fn task_failure(e: &Error) -> TaskFailure {
    let error_type = error_name(e);
    let cause = json!({ "errorType": error_type, "errorMessage": e.body().message });
    TaskFailure::new(error_type, cause.to_string())
}

/// An engine over the services' store with every state machine registered, and the services
/// with the engine as their workflow. The task handlers get those services too: a handler may
/// answer a task token itself (the KYC result that arrived before the workflow waited for it).
/// Call [`Engine::resume`] once the caller is ready for waiting executions to continue, and keep
/// the engine for as long as the services are used: they reach it through a weak reference.
pub fn local_engine(services: Services) -> Result<(Arc<Engine>, Services)> {
    local_engine_ahead(services, None)
}

/// [`local_engine`] with the engine's wall clock running `ahead` of the system clock, as the
/// services' clock does (a demo's moved clock): `$$.Execution.StartTime`, which a payout run
/// closes its period by, is then the time its tasks see.
pub fn local_engine_ahead(
    services: Services,
    ahead: Option<WallOffset>,
) -> Result<(Arc<Engine>, Services)> {
    let engine = Arc::new(Engine::with_clock(
        Arc::new(StoreExecutions::new(services.store.clone())),
        ahead,
    ));
    let services = services.with_workflow(Arc::new(LocalWorkflow::new(&engine)));
    for function in TaskFunction::ALL {
        let services = services.clone();
        engine.register_handler(
            function.name(),
            handler_fn(move |request| {
                let services = services.clone();
                async move {
                    function
                        .run(&services, request.payload)
                        .await
                        .map_err(|e| task_failure(&e))
                }
            }),
        );
    }
    let substitutions = local_substitutions();
    for machine in Machine::ALL {
        let definition = brokeros_sfn::substitute(definition_source(machine), &substitutions)
            .and_then(|text| Definition::parse(&text))
            .map_err(|e| Error::Internal(format!("{}: {e}", machine.name())))?;
        engine
            .register_state_machine(machine.name(), definition)
            .map_err(engine_error)?;
    }
    Ok((engine, services))
}

fn engine_error(e: EngineError) -> Error {
    match e {
        EngineError::TaskDoesNotExist(_)
        | EngineError::InvalidToken(_)
        | EngineError::TaskTimedOut(_) => Error::conflict(
            "task_not_waiting",
            "no task is waiting on this token (unknown, answered or timed out)",
        ),
        EngineError::ExecutionAlreadyExists(_) => Error::conflict(
            "execution_exists",
            "an execution with this name exists (finished, or running with another input)",
        ),
        EngineError::Storage(m) => Error::Unavailable(m),
        other => Error::Internal(other.to_string()),
    }
}

/// The workflow port over the local engine. It holds the engine weakly: the engine's task
/// handlers hold the services, and the services this port, so a strong reference would keep
/// both (and their store) alive forever; the owner of [`local_engine`]'s engine decides.
pub struct LocalWorkflow {
    engine: Weak<Engine>,
}

impl LocalWorkflow {
    pub fn new(engine: &Arc<Engine>) -> LocalWorkflow {
        LocalWorkflow {
            engine: Arc::downgrade(engine),
        }
    }

    fn engine(&self) -> Result<Arc<Engine>> {
        self.engine
            .upgrade()
            .ok_or_else(|| Error::Unavailable("the local workflow engine has stopped".into()))
    }
}

#[async_trait]
impl Workflow for LocalWorkflow {
    async fn start(&self, machine: Machine, execution_name: &str, input: Value) -> Result<String> {
        self.engine()?
            .start_execution(machine.name(), Some(execution_name.to_string()), input)
            .await
            .map_err(engine_error)
    }

    fn execution_arn(&self, machine: Machine, execution_name: &str) -> Result<String> {
        Ok(brokeros_sfn::execution_arn(machine.name(), execution_name))
    }

    async fn task_success(&self, token: &str, output: Value) -> Result<()> {
        self.engine()?
            .send_task_success(token, output)
            .await
            .map_err(engine_error)
    }

    async fn task_failure(&self, token: &str, error: &str, cause: &str) -> Result<()> {
        self.engine()?
            .send_task_failure(token, error, cause)
            .await
            .map_err(engine_error)
    }

    async fn task_heartbeat(&self, token: &str) -> Result<()> {
        self.engine()?
            .send_task_heartbeat(token)
            .await
            .map_err(engine_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_template_naming() {
        assert_eq!(placeholder("kyc-check"), "KycCheckFunctionArn");
        assert_eq!(placeholder("notify"), "NotifyFunctionArn");
        assert_eq!(
            placeholder("onboarding-outcome"),
            "OnboardingOutcomeFunctionArn"
        );
    }
}
