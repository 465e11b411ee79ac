//! Execution stores: optimistic versions, item size limits, history chunks.

mod common;

use std::sync::Arc;

use brokeros_sfn::{
    Engine, EventDetails, EventType, ExecutionDescription, ExecutionStatus, ExecutionStore,
    HistoryEvent, MemoryExecutions, PersistError, StoreExecutions, StoredExecution,
};
use brokeros_store::{MAX_ITEM_DATA_BYTES, Query, Store, Table};
use brokeros_store_sqlite::SqliteStore;
use common::definition;
use serde_json::json;
use time::OffsetDateTime;

fn execution(name: &str) -> StoredExecution {
    StoredExecution {
        record: ExecutionDescription {
            execution_arn: brokeros_sfn::execution_arn("m", name),
            state_machine_arn: brokeros_sfn::state_machine_arn("m"),
            name: name.into(),
            status: ExecutionStatus::Running,
            input: json!({"n": 1}),
            output: None,
            error: None,
            cause: None,
            start_date: OffsetDateTime::now_utc(),
            stop_date: None,
            state_transitions: 0,
        },
        definition: Arc::from(r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#),
        run_state: Some(json!({"opaque": true})),
        history_len: 1,
        expired_tokens: Vec::new(),
        version: 1,
    }
}

fn event(id: u64) -> HistoryEvent {
    HistoryEvent {
        id,
        previous_event_id: id - 1,
        timestamp: OffsetDateTime::now_utc(),
        event_type: EventType::PassStateEntered,
        details: EventDetails::StateEntered {
            name: "A".into(),
            input: json!({"id": id}).to_string(),
        },
    }
}

async fn versions_guard_against_lost_updates(store: &dyn ExecutionStore) {
    let created = execution("guarded");
    let arn = created.record.execution_arn.clone();
    let (first_event, second_event) = (event(1), event(2));
    store
        .create(&created, std::slice::from_ref(&first_event))
        .await
        .unwrap();
    assert_eq!(
        store
            .create(&created, std::slice::from_ref(&first_event))
            .await,
        Err(PersistError::AlreadyExists)
    );
    let mut first = store.load(&arn).await.unwrap().unwrap();
    let stale = first.clone();
    assert_eq!(first.version, 1);
    first.history_len = 2;
    first.record.state_transitions = 1;
    first.version = store
        .save(&first, std::slice::from_ref(&second_event))
        .await
        .unwrap();
    assert_eq!(first.version, 2);
    assert_eq!(
        store
            .save(&stale, std::slice::from_ref(&second_event))
            .await,
        Err(PersistError::Conflict),
        "a stale copy cannot overwrite"
    );
    assert_eq!(store.load(&arn).await.unwrap().unwrap(), first);
    assert_eq!(
        store.history(&arn).await.unwrap(),
        vec![first_event, second_event]
    );
    assert_eq!(store.list_running().await.unwrap(), vec![arn.clone()]);
    let listed = store
        .list(
            &created.record.state_machine_arn,
            Some(ExecutionStatus::Running),
        )
        .await
        .unwrap();
    assert_eq!(listed, vec![first.record.clone()]);
    assert!(
        store
            .list(
                &created.record.state_machine_arn,
                Some(ExecutionStatus::Failed)
            )
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn memory_versions_guard_against_lost_updates() {
    versions_guard_against_lost_updates(&MemoryExecutions::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_versions_guard_against_lost_updates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("sfn.db")).unwrap());
    versions_guard_against_lost_updates(&StoreExecutions::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_executions_are_split_into_items_within_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sfn.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let engine = Engine::new(Arc::new(StoreExecutions::new(store.clone())));
    // Every state carries a 120 KB payload of 40,000 empty strings, doubled by Copy (240 KB,
    // within the 256 KiB payload quota): the execution's document (input, output, run state)
    // is larger than an item, and so is its history; an event holds its payload as escaped
    // JSON text, where each quote takes two bytes, so Copy's output event (400 KB) is larger
    // than an item too.
    engine
        .register_state_machine(
            "big",
            definition(json!({
                "StartAt": "Copy",
                "States": {
                    "Copy": {"Type": "Pass", "Parameters": {"again.$": "$.blob"}, "ResultPath": "$.copy", "Next": "Pause"},
                    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
                    "Done": {"Type": "Pass", "End": true}
                }
            })),
        )
        .unwrap();
    let blob = vec![""; 40_000];
    let arn = engine
        .start_execution("big", None, json!({"blob": blob}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(
        done.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        done.error,
        done.cause
    );
    assert_eq!(
        done.output.as_ref().unwrap()["copy"]["again"]
            .as_array()
            .map(Vec::len),
        Some(blob.len())
    );

    let items = store
        .query(Query::new(Table::Main, None, format!("SFNEXEC#{arn}")).limit(1000))
        .await
        .unwrap()
        .items;
    assert!(
        items
            .iter()
            .all(|item| item.data.len() <= MAX_ITEM_DATA_BYTES)
    );
    let head = items.iter().find(|item| item.key.sk == "EXEC").unwrap();
    let parts: Vec<&str> = items
        .iter()
        .map(|i| i.key.sk.as_str())
        .filter(|sk| sk.starts_with("EXEC#"))
        .collect();
    assert!(!parts.is_empty(), "the document is split");
    let current = format!("EXEC#{}#", head.version);
    assert!(
        parts.iter().all(|sk| sk.starts_with(&current)),
        "replaced parts are deleted: {parts:?}"
    );
    assert!(
        items
            .iter()
            .filter(|i| i.key.sk.starts_with("HIST#"))
            .count()
            > 3
    );

    // A process that never saw the execution reads it whole.
    let fresh = StoreExecutions::new(store.clone());
    let stored = fresh.load(&arn).await.unwrap().unwrap();
    assert!(
        stored.record == done,
        "the stored record is the one described"
    );
    let events = fresh.history(&arn).await.unwrap();
    assert!(events == engine.get_execution_history(&arn).await.unwrap());
    assert_eq!(events.len() as u64, stored.history_len);
    assert_eq!(
        events.last().unwrap().event_type,
        EventType::ExecutionSucceeded
    );
    // The 400 KB output event of Copy cannot be one item: it keeps a note of the size.
    let copied = events
        .iter()
        .find_map(|event| match &event.details {
            EventDetails::StateExited { name, output } if &**name == "Copy" => Some(output),
            _ => None,
        })
        .unwrap();
    assert!(copied.starts_with("\"[truncated: "), "{}", &copied[..100]);
    let entered = events
        .iter()
        .find_map(|event| match &event.details {
            EventDetails::StateEntered { name, input } if &**name == "Copy" => Some(input),
            _ => None,
        })
        .unwrap();
    let entered: serde_json::Value = serde_json::from_str(entered).unwrap();
    assert_eq!(
        entered["blob"].as_array().map(Vec::len),
        Some(blob.len()),
        "200 KB events are kept whole"
    );
}
