//! State types and input/output processing, run end to end.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use brokeros_sfn::{
    Engine, ExecutionStatus, MemoryExecutions, TaskFailure, TaskRequest, WallOffset, handler_fn,
};
use common::{echo, engine_with, history, run, types};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[tokio::test]
async fn input_and_output_processing_follows_the_documented_example() {
    // AWS's InputPath/ResultPath/OutputPath example, with Parameters and ResultSelector added.
    let engine = engine_with(json!({
        "StartAt": "Greet",
        "States": {"Greet": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "InputPath": "$.lambda",
            "Parameters": {
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction:$LATEST",
                "Payload": {"who.$": "$.who", "static": 1}
            },
            "ResultSelector": {"greeting.$": "$.Payload", "status.$": "$.StatusCode"},
            "ResultPath": "$.data.lambdaresult",
            "OutputPath": "$.data",
            "End": true
        }}
    }));
    let payloads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = payloads.clone();
    engine.register_handler(
        "HelloFunction",
        handler_fn(move |request: TaskRequest| {
            seen.lock().unwrap().push(request.payload.clone());
            async move {
                Ok(json!(format!(
                    "Hello, {}!",
                    request.payload["who"].as_str().unwrap()
                )))
            }
        }),
    );
    let done = run(
        &engine,
        json!({
            "comment": "An input comment.",
            "data": {"val1": 23, "val2": 17},
            "extra": "foo",
            "lambda": {"who": "AWS Step Functions"}
        }),
    )
    .await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(
        done.output,
        Some(json!({
            "val1": 23,
            "val2": 17,
            "lambdaresult": {"greeting": "Hello, AWS Step Functions!", "status": 200}
        }))
    );
    assert_eq!(
        *payloads.lock().unwrap(),
        vec![json!({"who": "AWS Step Functions", "static": 1})]
    );
}

#[tokio::test]
async fn a_function_arn_resource_returns_the_handler_output() {
    // The specification's ResultPath example: add the numbers, keep the input.
    let engine = engine_with(json!({
        "StartAt": "Add",
        "States": {"Add": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add",
            "InputPath": "$.numbers",
            "ResultPath": "$.sum",
            "End": true
        }}
    }));
    engine.register_handler(
        "Add",
        handler_fn(|request: TaskRequest| async move {
            let p = &request.payload;
            Ok(json!(
                p["val1"].as_i64().unwrap() + p["val2"].as_i64().unwrap()
            ))
        }),
    );
    let done = run(
        &engine,
        json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}}),
    )
    .await;
    assert_eq!(
        done.output,
        Some(json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}, "sum": 7}))
    );
}

#[tokio::test]
async fn null_paths_discard() {
    let engine = engine_with(json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:r:1:function:echo",
                "InputPath": null,
                "ResultPath": null,
                "Next": "Blank"
            },
            "Blank": {"Type": "Pass", "OutputPath": null, "End": true}
        }
    }));
    let payloads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = payloads.clone();
    engine.register_handler(
        "echo",
        handler_fn(move |request: TaskRequest| {
            seen.lock().unwrap().push(request.payload.clone());
            async move { Ok(json!("ignored")) }
        }),
    );
    let arn = engine
        .start_execution("test", None, json!({"keep": true}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(
        *payloads.lock().unwrap(),
        vec![json!({})],
        "InputPath null: an empty input"
    );
    assert_eq!(
        done.output,
        Some(json!({})),
        "OutputPath null: an empty output"
    );
    let events = history(&engine, &arn).await;
    let blank_input = events
        .iter()
        .find(|e| e.event_type.as_str() == "PassStateEntered")
        .unwrap();
    assert_eq!(
        blank_input.to_aws_json()["stateEnteredEventDetails"]["input"],
        json!("{\"keep\":true}"),
        "ResultPath null keeps the input"
    );
}

#[tokio::test]
async fn pass_places_its_result() {
    let engine = engine_with(json!({
        "StartAt": "Fixed",
        "States": {
            "Fixed": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.fixed", "Next": "Shaped"},
            "Shaped": {"Type": "Pass", "Parameters": {"copy.$": "$.fixed.x", "label": "p"}, "ResultPath": "$.shaped", "End": true}
        }
    }));
    let done = run(&engine, json!({"in": 0})).await;
    assert_eq!(
        done.output,
        Some(json!({"in": 0, "fixed": {"x": 1}, "shaped": {"copy": 1, "label": "p"}}))
    );
    assert_eq!(done.state_transitions, 2);
}

fn routing_machine(default: bool) -> Value {
    let mut choice = json!({
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.amount", "NumericGreaterThan": 1000, "Next": "Large"},
            {"And": [
                {"Variable": "$.amount", "NumericGreaterThan": 0},
                {"Variable": "$.currency", "StringEquals": "EUR"}
            ], "Next": "Euro"}
        ]
    });
    let mut machine = json!({
        "StartAt": "Route",
        "States": {
            "Large": {"Type": "Pass", "Result": "large", "End": true},
            "Euro": {"Type": "Pass", "Result": "euro", "End": true}
        }
    });
    if default {
        choice["Default"] = json!("Other");
        machine["States"]["Other"] = json!({"Type": "Pass", "Result": "other", "End": true});
    }
    machine["States"]["Route"] = choice;
    machine
}

#[tokio::test]
async fn choice_takes_the_first_matching_rule_or_the_default() {
    let engine = engine_with(routing_machine(true));
    for (input, expected) in [
        (json!({"amount": 5000, "currency": "EUR"}), "large"),
        (json!({"amount": 10, "currency": "EUR"}), "euro"),
        (json!({"amount": 10, "currency": "USD"}), "other"),
    ] {
        let done = run(&engine, input.clone()).await;
        assert_eq!(done.output, Some(json!(expected)), "{input}");
    }
}

#[tokio::test]
async fn choice_without_a_match_or_default_fails() {
    let engine = engine_with(routing_machine(false));
    let done = run(&engine, json!({"amount": 10, "currency": "USD"})).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[tokio::test]
async fn fail_states_report_their_error_and_cause() {
    let engine = engine_with(json!({
        "StartAt": "Stop",
        "States": {"Stop": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "States.Format('because {}', $.why)"}}
    }));
    let done = run(
        &engine,
        json!({"failure": {"Error": "Onboarding.Rejected"}, "why": "sanctions"}),
    )
    .await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("Onboarding.Rejected"));
    assert_eq!(done.cause.as_deref(), Some("because sanctions"));
}

#[tokio::test]
async fn the_context_object_describes_the_execution_and_state() {
    let engine = engine_with(json!({
        "StartAt": "Look",
        "States": {"Look": {"Type": "Pass", "Parameters": {
            "execution.$": "$$.Execution.Id",
            "name.$": "$$.Execution.Name",
            "input.$": "$$.Execution.Input",
            "state.$": "$$.State.Name",
            "retries.$": "$$.State.RetryCount",
            "machine.$": "$$.StateMachine.Name",
            "entered.$": "$$.State.EnteredTime"
        }, "End": true}}
    }));
    let arn = engine
        .start_execution("test", Some("ctx-1".into()), json!({"a": 1}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    let output = done.output.unwrap();
    assert_eq!(output["execution"], json!(arn));
    assert_eq!(
        arn,
        "arn:aws:states:local:000000000000:execution:test:ctx-1"
    );
    assert_eq!(output["name"], json!("ctx-1"));
    assert_eq!(output["input"], json!({"a": 1}));
    assert_eq!(output["state"], json!("Look"));
    assert_eq!(output["retries"], json!(0));
    assert_eq!(output["machine"], json!("test"));
    assert!(OffsetDateTime::parse(output["entered"].as_str().unwrap(), &Rfc3339).is_ok());
}

#[tokio::test]
async fn parallel_outputs_each_branch_result_in_branch_order() {
    let engine = engine_with(json!({
        "StartAt": "Both",
        "States": {"Both": {
            "Type": "Parallel",
            "Parameters": {"n.$": "$.n"},
            "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
            "ResultPath": "$.results",
            "End": true,
            "Branches": [
                {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:slow", "End": true}}},
                {"StartAt": "Fast", "States": {"Fast": {"Type": "Pass", "Parameters": {"fast.$": "$.n"}, "End": true}}}
            ]
        }}
    }));
    engine.register_handler(
        "slow",
        handler_fn(|request: TaskRequest| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(json!({"slow": request.payload["n"]}))
        }),
    );
    let done = run(&engine, json!({"n": 7})).await;
    assert_eq!(
        done.output,
        Some(json!({"n": 7, "results": {"first": {"slow": 7}, "second": {"fast": 7}}}))
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_branch_fails_the_parallel_state_and_stops_the_others() {
    let engine = engine_with(json!({
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Next": "Unreached",
                "Catch": [{"ErrorEquals": ["Branch.Broke"], "ResultPath": "$.caught", "Next": "Caught"}],
                "Branches": [
                    {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 86400, "End": true}}},
                    {"StartAt": "Break", "States": {"Break": {"Type": "Fail", "Error": "Branch.Broke", "Cause": "on purpose"}}}
                ]
            },
            "Unreached": {"Type": "Succeed"},
            "Caught": {"Type": "Pass", "End": true}
        }
    }));
    let started = tokio::time::Instant::now();
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"caught": {"Error": "Branch.Broke", "Cause": "on purpose"}}))
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the waiting branch was stopped"
    );
    let events = types(&history(&engine, &arn).await);
    assert!(events.contains(&"WaitStateAborted"), "{events:?}");
    assert!(events.contains(&"ParallelStateFailed"), "{events:?}");
}

fn map_machine(max_concurrency: u64) -> Value {
    json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.orders",
            "MaxConcurrency": max_concurrency,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:work", "End": true}}
            },
            "ResultPath": "$.done",
            "End": true
        }}
    })
}

/// A handler that takes `delay_ms` of each item, and records how many run at once.
fn concurrency_probe(engine: &brokeros_sfn::Engine) -> Arc<AtomicUsize> {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let seen_peak = peak.clone();
    engine.register_handler(
        "work",
        handler_fn(move |request: TaskRequest| {
            let running = running.clone();
            let peak = peak.clone();
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let delay = request.payload["delay_ms"].as_u64().unwrap();
                tokio::time::sleep(Duration::from_millis(delay)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(json!(request.payload["id"]))
            }
        }),
    );
    seen_peak
}

fn orders() -> Value {
    let orders: Vec<Value> = [50, 10, 40, 20, 30, 5]
        .iter()
        .enumerate()
        .map(|(id, delay)| json!({"id": id, "delay_ms": delay}))
        .collect();
    json!({"orders": orders})
}

#[tokio::test(start_paused = true)]
async fn map_keeps_item_order_and_respects_max_concurrency() {
    let engine = engine_with(map_machine(2));
    let peak = concurrency_probe(&engine);
    let done = run(&engine, orders()).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["done"], json!([0, 1, 2, 3, 4, 5]));
    assert_eq!(peak.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn map_concurrency_zero_runs_every_item_at_once() {
    let engine = engine_with(map_machine(0));
    let peak = concurrency_probe(&engine);
    let done = run(&engine, orders()).await;
    assert_eq!(done.output.unwrap()["done"], json!([0, 1, 2, 3, 4, 5]));
    assert_eq!(peak.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn map_item_selector_reads_the_item_from_the_context() {
    let engine = engine_with(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.names",
            "ItemSelector": {"index.$": "$$.Map.Item.Index", "name.$": "$$.Map.Item.Value", "greeting.$": "$.greeting"},
            "Iterator": {"StartAt": "Say", "States": {"Say": {
                "Type": "Pass",
                "Parameters": {"text.$": "States.Format('{} {} #{}', $.greeting, $.name, $.index)"},
                "OutputPath": "$.text",
                "End": true
            }}},
            "End": true
        }}
    }));
    let done = run(&engine, json!({"names": ["Ann", "Bo"], "greeting": "Hi"})).await;
    assert_eq!(done.output, Some(json!(["Hi Ann #0", "Hi Bo #1"])));
}

#[tokio::test]
async fn an_empty_map_outputs_an_empty_array() {
    let engine = engine_with(map_machine(1));
    echo(&engine, "work");
    let done = run(&engine, json!({"orders": []})).await;
    assert_eq!(done.output, Some(json!({"orders": [], "done": []})));
}

#[tokio::test]
async fn a_failing_iteration_fails_the_map_state() {
    let engine = engine_with(map_machine(1));
    engine.register_handler(
        "work",
        handler_fn(|request: TaskRequest| async move {
            match request.payload["id"].as_u64() {
                Some(2) => Err(TaskFailure::new("Order.Invalid", "order 2 is invalid")),
                _ => Ok(json!("ok")),
            }
        }),
    );
    let arn = engine
        .start_execution("test", None, orders())
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("Order.Invalid"));
    let events = types(&history(&engine, &arn).await);
    assert_eq!(
        events
            .iter()
            .filter(|t| **t == "MapIterationStarted")
            .count(),
        3,
        "items after the failure never start: {events:?}"
    );
    assert!(
        events.contains(&"MapIterationFailed") && events.contains(&"MapStateFailed"),
        "{events:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_seconds_and_seconds_path_sleep_on_tokio_time() {
    let engine = engine_with(json!({
        "StartAt": "Hour",
        "States": {
            "Hour": {"Type": "Wait", "Seconds": 3600, "Next": "Dynamic"},
            "Dynamic": {"Type": "Wait", "SecondsPath": "$.extra", "End": true}
        }
    }));
    let started = tokio::time::Instant::now();
    let done = run(&engine, json!({"extra": 1800})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(5400) && waited < Duration::from_secs(5401),
        "{waited:?}"
    );
    let stopped = done.stop_date.unwrap() - done.start_date;
    assert!(
        stopped.whole_seconds() >= 5400,
        "wall-clock dates follow tokio time: {stopped}"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_timestamps_wait_until_the_time() {
    let engine = engine_with(json!({
        "StartAt": "Until",
        "States": {
            "Until": {"Type": "Wait", "TimestampPath": "$.at", "Next": "Past"},
            "Past": {"Type": "Wait", "Timestamp": "2001-01-01T00:00:00Z", "End": true}
        }
    }));
    let at = OffsetDateTime::now_utc() + Duration::from_secs(7200);
    let started = tokio::time::Instant::now();
    let done = run(&engine, json!({"at": at.format(&Rfc3339).unwrap()})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let waited = started.elapsed().as_secs();
    assert!((7195..=7200).contains(&waited), "{waited}");
}

/// An engine whose wall clock runs ahead of the system's (the demo's moved clock): executions
/// start, and `$$.Execution.StartTime` reads, at that time, and a Wait until a timestamp on
/// that clock waits as long as it says, neither at once nor a day more.
#[tokio::test(start_paused = true)]
async fn an_engine_clock_running_ahead_dates_executions_and_waits_by_it() {
    let ahead_seconds = Arc::new(AtomicI64::new(0));
    let read = ahead_seconds.clone();
    let offset: WallOffset = Arc::new(move || time::Duration::seconds(read.load(Ordering::SeqCst)));
    let engine = Engine::with_clock(Arc::new(MemoryExecutions::new()), Some(offset));
    let document = json!({
        "StartAt": "Started",
        "States": {
            "Started": {
                "Type": "Pass",
                "Parameters": {"at.$": "$.at", "started.$": "$$.Execution.StartTime"},
                "Next": "Until"
            },
            "Until": {"Type": "Wait", "TimestampPath": "$.at", "End": true}
        }
    });
    engine
        .register_state_machine("test", common::definition(document))
        .unwrap();
    ahead_seconds.store(86_400, Ordering::SeqCst);
    let tomorrow = OffsetDateTime::now_utc() + Duration::from_secs(86_400);
    let at = tomorrow + Duration::from_secs(600);
    let started = tokio::time::Instant::now();
    let done = run(&engine, json!({"at": at.format(&Rfc3339).unwrap()})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let waited = started.elapsed().as_secs();
    assert!((595..=600).contains(&waited), "{waited}");
    let start_time = OffsetDateTime::parse(
        done.output.as_ref().unwrap()["started"].as_str().unwrap(),
        &Rfc3339,
    )
    .unwrap();
    assert!(
        start_time >= tomorrow - Duration::from_secs(1) && start_time < at,
        "{start_time} is the moved clock's time"
    );
    assert!(done.start_date >= tomorrow - Duration::from_secs(1));
}
