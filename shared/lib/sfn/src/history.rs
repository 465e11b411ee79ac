//! Execution history events, named and shaped as `GetExecutionHistory` returns them.
//!
//! Payloads (inputs, outputs, parameters) are kept as JSON text, as the API returns them: a
//! compact string is smaller and quicker to make than a copy of the value's tree, and an
//! execution keeps every one of its events.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// State names are shared with the definition rather than copied into every event.
mod shared_name {
    use super::*;

    pub fn serialize<S: Serializer>(name: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
        String::deserialize(deserializer).map(Arc::from)
    }
}

/// A value as JSON text.
pub(crate) fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

macro_rules! event_types {
    ($($name:ident),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType { $($name),* }

        impl EventType {
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$name => stringify!($name)),* }
            }
        }
    };
}

event_types!(
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionAborted,
    ExecutionTimedOut,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    TaskStateAborted,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    WaitStateAborted,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateExited,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    MapStateEntered,
    MapStateExited,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    TaskScheduled,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    LambdaFunctionScheduled,
    LambdaFunctionStarted,
    LambdaFunctionSucceeded,
    LambdaFunctionFailed,
    LambdaFunctionTimedOut,
);

/// What an event says beyond its type. Payloads are JSON text. Task events are always about
/// Lambda (`resourceType` "lambda"); `resource` is "invoke" or "invoke.waitForTaskToken".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventDetails {
    None,
    ExecutionStarted {
        input: String,
        role_arn: String,
    },
    ExecutionSucceeded {
        output: String,
    },
    /// Failed, aborted, timed-out executions and failed or timed-out Lambda functions.
    Error {
        error: Option<String>,
        cause: Option<String>,
    },
    StateEntered {
        #[serde(with = "shared_name")]
        name: Arc<str>,
        input: String,
    },
    StateExited {
        #[serde(with = "shared_name")]
        name: Arc<str>,
        output: String,
    },
    TaskScheduled {
        resource: String,
        parameters: String,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    },
    TaskStarted {
        resource: String,
    },
    /// TaskSubmitted and TaskSucceeded.
    TaskOutput {
        resource: String,
        output: String,
    },
    /// TaskFailed and TaskTimedOut.
    TaskError {
        resource: String,
        error: String,
        cause: String,
    },
    LambdaFunctionScheduled {
        resource: String,
        input: String,
        timeout_seconds: Option<u64>,
    },
    LambdaFunctionSucceeded {
        output: String,
    },
    MapStateStarted {
        length: u64,
    },
    MapIteration {
        #[serde(with = "shared_name")]
        name: Arc<str>,
        index: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    /// The event before this one on the same path (branch or iteration), 0 for the first.
    pub previous_event_id: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub details: EventDetails,
}

impl HistoryEvent {
    /// The event as `GetExecutionHistory` returns it: `{"timestamp", "type", "id",
    /// "previousEventId", "<type>EventDetails": {...}}`, payloads as JSON strings.
    pub fn to_aws_json(&self) -> Value {
        let mut event = Map::new();
        event.insert(
            "timestamp".into(),
            Value::String(crate::clock::format_timestamp(self.timestamp)),
        );
        event.insert(
            "type".into(),
            Value::String(self.event_type.as_str().into()),
        );
        event.insert("id".into(), json!(self.id));
        event.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some(details) = self.details_json() {
            event.insert(self.details_key(), details);
        }
        Value::Object(event)
    }

    fn details_key(&self) -> String {
        match self.details {
            EventDetails::StateEntered { .. } => "stateEnteredEventDetails".into(),
            EventDetails::StateExited { .. } => "stateExitedEventDetails".into(),
            _ => {
                let name = self.event_type.as_str();
                let mut key = String::with_capacity(name.len() + 12);
                key.push(name.as_bytes()[0].to_ascii_lowercase() as char);
                key.push_str(&name[1..]);
                key.push_str("EventDetails");
                key
            }
        }
    }

    fn details_json(&self) -> Option<Value> {
        let lambda = |resource: &str| {
            let mut map = Map::new();
            map.insert("resourceType".into(), json!("lambda"));
            map.insert("resource".into(), json!(resource));
            map
        };
        let details = match &self.details {
            EventDetails::None => return None,
            EventDetails::ExecutionStarted { input, role_arn } => json!({
                "input": input,
                "inputDetails": {"truncated": false},
                "roleArn": role_arn,
            }),
            EventDetails::ExecutionSucceeded { output }
            | EventDetails::LambdaFunctionSucceeded { output } => json!({
                "output": output,
                "outputDetails": {"truncated": false},
            }),
            EventDetails::Error { error, cause } => {
                let mut map = Map::new();
                if let Some(error) = error {
                    map.insert("error".into(), json!(error));
                }
                if let Some(cause) = cause {
                    map.insert("cause".into(), json!(cause));
                }
                Value::Object(map)
            }
            EventDetails::StateEntered { name, input } => json!({
                "name": &**name,
                "input": input,
                "inputDetails": {"truncated": false},
            }),
            EventDetails::StateExited { name, output } => json!({
                "name": &**name,
                "output": output,
                "outputDetails": {"truncated": false},
            }),
            EventDetails::TaskScheduled {
                resource,
                parameters,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                let mut map = lambda(resource);
                map.insert("region".into(), json!(crate::execution::REGION));
                map.insert("parameters".into(), json!(parameters));
                if let Some(seconds) = timeout_seconds {
                    map.insert("timeoutInSeconds".into(), json!(seconds));
                }
                if let Some(seconds) = heartbeat_seconds {
                    map.insert("heartbeatInSeconds".into(), json!(seconds));
                }
                Value::Object(map)
            }
            EventDetails::TaskStarted { resource } => Value::Object(lambda(resource)),
            EventDetails::TaskOutput { resource, output } => {
                let mut map = lambda(resource);
                map.insert("output".into(), json!(output));
                map.insert("outputDetails".into(), json!({"truncated": false}));
                Value::Object(map)
            }
            EventDetails::TaskError {
                resource,
                error,
                cause,
            } => {
                let mut map = lambda(resource);
                map.insert("error".into(), json!(error));
                map.insert("cause".into(), json!(cause));
                Value::Object(map)
            }
            EventDetails::LambdaFunctionScheduled {
                resource,
                input,
                timeout_seconds,
            } => {
                let mut map = Map::new();
                map.insert("resource".into(), json!(resource));
                map.insert("input".into(), json!(input));
                map.insert("inputDetails".into(), json!({"truncated": false}));
                if let Some(seconds) = timeout_seconds {
                    map.insert("timeoutInSeconds".into(), json!(seconds));
                }
                Value::Object(map)
            }
            EventDetails::MapStateStarted { length } => json!({ "length": length }),
            EventDetails::MapIteration { name, index } => {
                json!({ "name": &**name, "index": index })
            }
        };
        Some(details)
    }
}
