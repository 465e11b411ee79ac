//! The interpreter: one driver task per running execution.
//!
//! An execution is a set of runs — the top level, each Parallel branch, each Map iteration —
//! each with a parent pointer and a step (about to enter a state, waiting on a task, a timer or
//! its children). All of it is plain data ([`RunState`]), so a checkpoint serialises it and a
//! restarted process continues from it. Synchronous states (Pass, Choice, ...) run back to back
//! in the driver without awaiting anything; tasks run as spawned futures whose completions come
//! back to the driver, as do timers and the engine's signals (task tokens, stop).
//!
//! Checkpoints are written when the execution starts, when it suspends (a task token handed
//! out, a Wait or a retry back-off of a second or more), and when it ends — not at every
//! transition. A crash loses only the work since the last checkpoint, which is re-run on
//! resume (tasks are at-least-once, as in AWS).
//!
//! - [`state`]: the run state (plain data); [`interpreter`]: the driver and what it holds in
//!   memory; [`live`]: what the driver shares with the engine.
//! - [`event_loop`]: launching a driver and its loop; [`states`]: entering and leaving states;
//!   [`tasks`], [`retry`], [`children`] (Parallel, Map), [`timers`], [`signals`] (task tokens,
//!   stop); [`data`], [`context`], [`events`]: what states read and the history they write;
//!   [`checkpoint`] and [`outcome`]: writing it all down, and the end.

mod checkpoint;
mod children;
mod context;
mod data;
mod event_loop;
mod events;
mod interpreter;
mod live;
mod outcome;
mod retry;
mod signals;
mod state;
mod states;
mod tasks;
mod timers;

pub(crate) use event_loop::{Launch, launch};
pub(crate) use live::{LiveMap, Reply, Services, Shared, Signal, lock};
pub(crate) use signals::token_execution;
pub(crate) use state::RunState;
