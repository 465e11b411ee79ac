//! A local Step Functions engine. It runs the Amazon States Language files in `statemachines/`
//! unchanged (JSONPath query language), resolving `${Name}` definition substitutions to
//! in-process task handlers, so a workflow runs on a laptop the way AWS Step Functions runs it.
//!
//! - [`path`], [`payload`], [`intrinsics`], [`choice`]: pure evaluation of the language's
//!   expressions (JSONPath, payload templates, intrinsic functions, Choice rules).
//! - [`definition`]: a document parsed into typed states and checked before it runs.
//! - [`Engine`]: the Step Functions operations (start, describe, list, history, task tokens,
//!   stop) over [`task::TaskHandler`]s registered by Lambda function name.
//! - [`persist`]: where executions and their history live — in memory, or in the storage port,
//!   where a waiting execution survives a restart ([`Engine::resume`]).

pub mod choice;
pub mod definition;
pub mod error;
pub mod execution;
pub mod history;
pub mod intrinsics;
pub mod path;
pub mod payload;
pub mod persist;
pub mod task;

mod clock;
mod driver;
mod engine;

pub use clock::WallOffset;
pub use definition::{Definition, DefinitionError, substitute};
pub use engine::Engine;
pub use error::EvalError;
pub use execution::{
    EngineError, ExecutionDescription, ExecutionStatus, execution_arn, state_machine_arn,
};
pub use history::{EventDetails, EventType, HistoryEvent};
pub use persist::{
    ExecutionStore, MemoryExecutions, PersistError, StoreExecutions, StoredExecution,
};
pub use task::{TaskFailure, TaskHandler, TaskRequest, handler_fn};
