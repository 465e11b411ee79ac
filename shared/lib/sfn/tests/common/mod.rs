//! Helpers the engine's test files share.
#![allow(dead_code)] // each test crate uses its own subset

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use brokeros_sfn::{
    Definition, Engine, ExecutionDescription, HistoryEvent, TaskFailure, TaskRequest, handler_fn,
};
use serde_json::{Value, json};

pub fn definition(document: Value) -> Definition {
    Definition::from_value(&document).unwrap_or_else(|e| panic!("definition: {e}"))
}

/// An in-memory engine with one machine named "test".
pub fn engine_with(document: Value) -> Engine {
    let engine = Engine::in_memory();
    engine
        .register_state_machine("test", definition(document))
        .expect("register");
    engine
}

pub async fn run(engine: &Engine, input: Value) -> ExecutionDescription {
    let arn = engine
        .start_execution("test", None, input)
        .await
        .expect("start");
    engine.wait_for_completion(&arn).await.expect("wait")
}

pub async fn history(engine: &Engine, arn: &str) -> Vec<HistoryEvent> {
    engine.get_execution_history(arn).await.expect("history")
}

pub fn types(events: &[HistoryEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

/// Registers a handler answering with its payload.
pub fn echo(engine: &Engine, function: &str) {
    engine.register_handler(
        function,
        handler_fn(|request: TaskRequest| async move { Ok(request.payload) }),
    );
}

/// A handler that fails with `error` the first `failures` calls, then answers `answer`; the
/// counter says how many calls it had.
pub fn flaky(
    engine: &Engine,
    function: &str,
    error: &str,
    failures: usize,
    answer: Value,
) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let error = error.to_string();
    engine.register_handler(
        function,
        handler_fn(move |_request: TaskRequest| {
            let call = counter.fetch_add(1, Ordering::SeqCst);
            let error = error.clone();
            let answer = answer.clone();
            async move {
                if call < failures {
                    Err(TaskFailure::new(error, format!("call {call} failed")))
                } else {
                    Ok(answer)
                }
            }
        }),
    );
    calls
}

/// A handler that keeps the task tokens (and payloads) it receives, for the test to answer.
pub fn token_keeper(engine: &Engine, function: &str) -> Arc<Mutex<Vec<TaskRequest>>> {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let kept = requests.clone();
    engine.register_handler(
        function,
        handler_fn(move |request: TaskRequest| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(request);
                Ok(json!({"submitted": true}))
            }
        }),
    );
    requests
}

/// Lets spawned work run until `condition` holds (paused-time tests advance the clock only as
/// far as needed).
pub async fn until(mut condition: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if condition() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition not reached");
}

pub fn tokens(requests: &Arc<Mutex<Vec<TaskRequest>>>) -> Vec<String> {
    requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.task_token.clone().expect("a token task"))
        .collect()
}
