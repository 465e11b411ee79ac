//! The context object (`$$`) a state's expressions read.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::interpreter::Driver;
use super::live::Shared;
use crate::clock::format_timestamp;
use crate::definition::State;
use crate::execution::{ROLE_ARN, machine_name_of};

impl Driver {
    pub(super) fn context(
        &self,
        shared: &Shared,
        state: &State,
        entered: OffsetDateTime,
        retry_count: u32,
        token: Option<&str>,
    ) -> Value {
        let record = &shared.record;
        let mut execution = Map::new();
        execution.insert("Id".into(), record.execution_arn.clone().into());
        execution.insert("Input".into(), record.input.clone());
        execution.insert("Name".into(), record.name.clone().into());
        execution.insert("RoleArn".into(), ROLE_ARN.into());
        execution.insert(
            "StartTime".into(),
            format_timestamp(record.start_date).into(),
        );
        execution.insert("RedriveCount".into(), 0.into());
        let mut state_object = Map::new();
        state_object.insert("EnteredTime".into(), format_timestamp(entered).into());
        state_object.insert("Name".into(), Value::from(&*state.name));
        state_object.insert("RetryCount".into(), retry_count.into());
        let mut machine = Map::new();
        machine.insert("Id".into(), record.state_machine_arn.clone().into());
        machine.insert(
            "Name".into(),
            machine_name_of(&record.state_machine_arn).into(),
        );
        let mut context = Map::new();
        context.insert("Execution".into(), Value::Object(execution));
        context.insert("State".into(), Value::Object(state_object));
        context.insert("StateMachine".into(), Value::Object(machine));
        if let Some(token) = token {
            let mut task = Map::new();
            task.insert("Token".into(), token.into());
            context.insert("Task".into(), Value::Object(task));
        }
        Value::Object(context)
    }

    pub(super) fn context_for_entry(&self, shared: &Shared, state: &State) -> Value {
        if state.uses_context {
            self.context(shared, state, self.services.clock.now(), 0, None)
        } else {
            Value::Null
        }
    }
}
