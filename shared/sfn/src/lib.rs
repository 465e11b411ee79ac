//! A local Step Functions engine. It runs the Amazon States Language files in `statemachines/`
//! unchanged (JSONPath query language), resolving `${Name}` definition substitutions to
//! in-process task handlers, so a workflow runs on a laptop the way AWS Step Functions runs it.
//!
//! - [`path`], [`payload`], [`intrinsics`], [`choice`]: pure evaluation of the language's
//!   expressions (JSONPath, payload templates, intrinsic functions, Choice rules).

pub mod choice;
pub mod error;
pub mod intrinsics;
pub mod path;
pub mod payload;

pub use error::EvalError;
