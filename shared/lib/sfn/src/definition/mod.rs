//! An Amazon States Language document (JSONPath), parsed into typed states and checked before
//! anything runs: every error names the state it is in, so a broken definition is refused at
//! start-up rather than halfway through an execution.
//!
//! States of every scope (the top level, each Parallel branch, each Map item processor) live in
//! one arena, so a transition is an index and an execution's position is a pair of numbers.
//!
//! `model` holds the types, `parse` reads a document into them, `validate` holds the
//! checks parsing applies, and `substitute` resolves placeholders before any of it.

mod model;
mod parse;
mod substitute;
mod validate;

pub use model::{
    Catcher, ChoiceBranch, DataPath, Definition, DefinitionError, FailText, Jitter, MapState,
    Resource, ResultPath, Retrier, Scope, ScopeId, Seconds, State, StateId, StateKind, TOP_LEVEL,
    Task, WaitFor, error_matches,
};
pub use substitute::substitute;
