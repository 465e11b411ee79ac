//! Where executions and their history are kept: in memory (`brokeros sfn run`, tests), or in
//! the storage port (`brokeros serve`, where a waiting execution outlives the process).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use brokeros_store::{
    Condition, Index, Item, Key, MAX_GET_MANY_KEYS, MAX_ITEM_DATA_BYTES, MAX_TRANSACTION_BYTES,
    MAX_TRANSACTION_OPS, Query, SortKeyRange, Store, StoreError, Table, WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::execution::{ExecutionDescription, ExecutionStatus};
use crate::history::{EventDetails, HistoryEvent};

/// An execution as a checkpoint leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredExecution {
    pub record: ExecutionDescription,
    /// The definition the execution runs (substituted ASL text).
    pub definition: Arc<str>,
    /// The interpreter's position while the execution runs (opaque to stores); `None` once it
    /// has finished.
    pub run_state: Option<Value>,
    /// How many history events the execution has (ids 1..=history_len).
    pub history_len: u64,
    /// Tokens of tasks that timed out: answering one is `TaskTimedOut`, not `TaskDoesNotExist`.
    pub expired_tokens: Vec<String>,
    /// Optimistic concurrency: the version this copy was read or last written at (1 once
    /// created).
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersistError {
    #[error("the execution already exists")]
    AlreadyExists,
    /// Someone else wrote the execution since this copy was read.
    #[error("the execution was changed by another writer")]
    Conflict,
    #[error("storage: {0}")]
    Storage(String),
}

impl From<StoreError> for PersistError {
    fn from(e: StoreError) -> PersistError {
        PersistError::Storage(e.to_string())
    }
}

#[async_trait]
pub trait ExecutionStore: Send + Sync {
    /// Creates an execution (version 1) with its first events; `AlreadyExists` when its ARN is
    /// taken.
    async fn create(
        &self,
        execution: &StoredExecution,
        history: &[HistoryEvent],
    ) -> Result<(), PersistError>;

    /// Replaces the execution stored at `execution.version` and appends `new_events` (which
    /// continue the stored history); returns the new version. `Conflict` when the stored
    /// version differs.
    async fn save(
        &self,
        execution: &StoredExecution,
        new_events: &[HistoryEvent],
    ) -> Result<u64, PersistError>;

    async fn load(&self, execution_arn: &str) -> Result<Option<StoredExecution>, PersistError>;

    /// The stored history, in event order.
    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryEvent>, PersistError>;

    /// Executions of a state machine, newest first.
    async fn list(
        &self,
        state_machine_arn: &str,
        status: Option<ExecutionStatus>,
    ) -> Result<Vec<ExecutionDescription>, PersistError>;

    /// ARNs of the executions stored as RUNNING.
    async fn list_running(&self) -> Result<Vec<String>, PersistError>;
}

/// Executions in process memory.
#[derive(Default)]
pub struct MemoryExecutions {
    executions: Mutex<HashMap<String, MemoryEntry>>,
}

struct MemoryEntry {
    execution: StoredExecution,
    history: Vec<HistoryEvent>,
}

impl MemoryExecutions {
    pub fn new() -> MemoryExecutions {
        MemoryExecutions::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MemoryEntry>> {
        self.executions.lock().expect("memory executions lock")
    }
}

#[async_trait]
impl ExecutionStore for MemoryExecutions {
    async fn create(
        &self,
        execution: &StoredExecution,
        history: &[HistoryEvent],
    ) -> Result<(), PersistError> {
        let mut executions = self.lock();
        let arn = &execution.record.execution_arn;
        if executions.contains_key(arn) {
            return Err(PersistError::AlreadyExists);
        }
        let mut execution = execution.clone();
        execution.version = 1;
        executions.insert(
            arn.clone(),
            MemoryEntry {
                execution,
                history: history.to_vec(),
            },
        );
        Ok(())
    }

    async fn save(
        &self,
        execution: &StoredExecution,
        new_events: &[HistoryEvent],
    ) -> Result<u64, PersistError> {
        let mut executions = self.lock();
        let entry = executions
            .get_mut(&execution.record.execution_arn)
            .ok_or(PersistError::Conflict)?;
        if entry.execution.version != execution.version {
            return Err(PersistError::Conflict);
        }
        let version = execution.version + 1;
        entry.execution = StoredExecution {
            version,
            ..execution.clone()
        };
        entry.history.extend_from_slice(new_events);
        Ok(version)
    }

    async fn load(&self, execution_arn: &str) -> Result<Option<StoredExecution>, PersistError> {
        Ok(self
            .lock()
            .get(execution_arn)
            .map(|entry| entry.execution.clone()))
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryEvent>, PersistError> {
        Ok(self
            .lock()
            .get(execution_arn)
            .map(|entry| entry.history.clone())
            .unwrap_or_default())
    }

    async fn list(
        &self,
        state_machine_arn: &str,
        status: Option<ExecutionStatus>,
    ) -> Result<Vec<ExecutionDescription>, PersistError> {
        let mut records: Vec<ExecutionDescription> = self
            .lock()
            .values()
            .map(|entry| &entry.execution.record)
            .filter(|r| r.state_machine_arn == state_machine_arn)
            .filter(|r| status.is_none_or(|s| r.status == s))
            .cloned()
            .collect();
        newest_first(&mut records);
        Ok(records)
    }

    async fn list_running(&self) -> Result<Vec<String>, PersistError> {
        Ok(self
            .lock()
            .values()
            .filter(|entry| entry.execution.record.status == ExecutionStatus::Running)
            .map(|entry| entry.execution.record.execution_arn.clone())
            .collect())
    }
}

fn newest_first(records: &mut [ExecutionDescription]) {
    records.sort_by(|a, b| {
        b.start_date
            .cmp(&a.start_date)
            .then_with(|| b.name.cmp(&a.name))
    });
}

// Key design in the main table (prefixes are this module's own):
//
// | item | pk | sk | indexes |
// |---|---|---|---|
// | execution head | `SFNEXEC#<execution arn>` | `EXEC` | gsi1 `SFNMACHINE#<machine arn>` / `<start date>#<name>`; gsi2 `SFNRUNNING` / `<arn>` while RUNNING |
// | head overflow | same | `EXEC#<version>#<part>` | |
// | history chunk | same | `HIST#<first event id, 10 digits>` | |
// | definition | `SFNDEF#<sha256 of the text>` | `DEF` (+ `DEF#<part>`) | |
//
// An item holds at most PIECE_BYTES of text; a longer document is split into parts and the
// head holds `{"parts":N}` instead. Head parts are keyed by version, so parts of a new version
// never overwrite the parts the current head points to: a checkpoint too large for one
// transaction writes its parts first and then switches the head atomically.
const EXECUTION_PREFIX: &str = "SFNEXEC#";
const HEAD_SK: &str = "EXEC";
const HISTORY_PREFIX: &str = "HIST#";
const DEFINITION_PREFIX: &str = "SFNDEF#";
const DEFINITION_SK: &str = "DEF";
const MACHINE_INDEX_PREFIX: &str = "SFNMACHINE#";
const RUNNING_INDEX_PK: &str = "SFNRUNNING";
const PARTS_MARKER: &str = "{\"parts\":";
const PIECE_BYTES: usize = 300 * 1024;

/// Executions in the storage port's main table (SQLite locally, DynamoDB in AWS).
pub struct StoreExecutions {
    store: Arc<dyn Store>,
    /// Definitions known to be stored (by hash), so each is written once per process.
    definitions: Mutex<HashMap<String, Arc<str>>>,
    /// How many overflow parts each execution's head points to, to delete them when a new
    /// version replaces them.
    head_parts: Mutex<HashMap<String, (u64, usize)>>,
}

#[derive(Serialize)]
struct DocumentOut<'a> {
    record: &'a ExecutionDescription,
    definition: &'a str,
    run_state: &'a Option<Value>,
    history_len: u64,
    expired_tokens: &'a [String],
}

#[derive(Deserialize)]
struct DocumentIn {
    record: ExecutionDescription,
    definition: String,
    run_state: Option<Value>,
    history_len: u64,
    expired_tokens: Vec<String>,
}

fn execution_pk(arn: &str) -> String {
    format!("{EXECUTION_PREFIX}{arn}")
}

fn definition_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Splits text into pieces of at most PIECE_BYTES, on character boundaries.
fn pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::with_capacity(text.len() / PIECE_BYTES + 1);
    let mut rest = text;
    while rest.len() > PIECE_BYTES {
        let mut cut = PIECE_BYTES;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

fn parts_count(head_data: &str) -> Result<Option<usize>, PersistError> {
    match head_data.strip_prefix(PARTS_MARKER) {
        None => Ok(None),
        Some(rest) => rest
            .trim_end_matches('}')
            .parse()
            .map(Some)
            .map_err(|_| PersistError::Storage(format!("bad parts pointer {head_data}"))),
    }
}

/// An event as stored: one whose payloads would not fit an item has each payload replaced by
/// a note of its size (AWS refuses payloads over 256 KB; this engine keeps running and keeps
/// the full payloads in memory while the execution runs).
fn truncated(event: &HistoryEvent, size: usize) -> HistoryEvent {
    let mut event = event.clone();
    if size < MAX_ITEM_DATA_BYTES {
        return event;
    }
    let note = |payload: &mut String| {
        *payload = Value::String(format!("[truncated: {} bytes]", payload.len())).to_string();
    };
    match &mut event.details {
        EventDetails::ExecutionStarted { input, .. }
        | EventDetails::StateEntered { input, .. }
        | EventDetails::LambdaFunctionScheduled { input, .. } => note(input),
        EventDetails::ExecutionSucceeded { output }
        | EventDetails::StateExited { output, .. }
        | EventDetails::TaskOutput { output, .. }
        | EventDetails::LambdaFunctionSucceeded { output } => note(output),
        EventDetails::TaskScheduled { parameters, .. } => note(parameters),
        EventDetails::None
        | EventDetails::Error { .. }
        | EventDetails::TaskStarted { .. }
        | EventDetails::TaskError { .. }
        | EventDetails::MapStateStarted { .. }
        | EventDetails::MapIteration { .. } => {}
    }
    event
}

fn put(item: Item, condition: Condition) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item,
        condition,
    }
}

fn op_bytes(op: &WriteOp) -> usize {
    match op {
        WriteOp::Put { item, .. } => item.data.len(),
        _ => 0,
    }
}

fn corrupt(e: impl std::fmt::Display) -> PersistError {
    PersistError::Storage(format!("unreadable execution data: {e}"))
}

impl StoreExecutions {
    pub fn new(store: Arc<dyn Store>) -> StoreExecutions {
        StoreExecutions {
            store,
            definitions: Mutex::new(HashMap::new()),
            head_parts: Mutex::new(HashMap::new()),
        }
    }

    /// Puts of the execution's head (conditional) and its overflow parts.
    fn head_ops(
        &self,
        execution: &StoredExecution,
        version: u64,
        condition: Condition,
    ) -> Result<(WriteOp, Vec<WriteOp>), PersistError> {
        let record = &execution.record;
        let document = serde_json::to_string(&DocumentOut {
            record,
            definition: &definition_hash(&execution.definition),
            run_state: &execution.run_state,
            history_len: execution.history_len,
            expired_tokens: &execution.expired_tokens,
        })
        .map_err(corrupt)?;
        let pk = execution_pk(&record.execution_arn);
        let (head_data, parts) = if document.len() <= PIECE_BYTES {
            (document, Vec::new())
        } else {
            let pieces = pieces(&document);
            let parts = pieces
                .iter()
                .enumerate()
                .map(|(i, piece)| {
                    let sk = format!("{HEAD_SK}#{version}#{:04}", i + 1);
                    put(Item::new(Key::new(&pk, sk), 1, *piece), Condition::Always)
                })
                .collect();
            (format!("{PARTS_MARKER}{}}}", pieces.len()), parts)
        };
        let mut head = Item::new(Key::new(&pk, HEAD_SK), version, head_data).with_index(
            Index::Gsi1,
            format!("{MACHINE_INDEX_PREFIX}{}", record.state_machine_arn),
            format!(
                "{}#{}",
                crate::clock::format_timestamp(record.start_date),
                record.name
            ),
        );
        if record.status == ExecutionStatus::Running {
            head = head.with_index(Index::Gsi2, RUNNING_INDEX_PK, &record.execution_arn);
        }
        Ok((put(head, condition), parts))
    }

    fn history_ops(arn: &str, events: &[HistoryEvent]) -> Result<Vec<WriteOp>, PersistError> {
        let pk = execution_pk(arn);
        let mut ops = Vec::new();
        let mut chunk: Vec<&HistoryEvent> = Vec::new();
        let mut chunk_bytes = 0;
        let mut flush = |chunk: &mut Vec<&HistoryEvent>| -> Result<(), PersistError> {
            if let Some(first) = chunk.first() {
                let data = serde_json::to_string(&chunk).map_err(corrupt)?;
                let sk = format!("{HISTORY_PREFIX}{:010}", first.id);
                ops.push(put(
                    Item::new(Key::new(&pk, sk), 1, data),
                    Condition::Always,
                ));
                chunk.clear();
            }
            Ok(())
        };
        for event in events {
            let size = serde_json::to_string(event).map_err(corrupt)?.len() + 1;
            if chunk_bytes + size > PIECE_BYTES {
                flush(&mut chunk)?;
                chunk_bytes = 0;
            }
            if size > PIECE_BYTES {
                // Alone in its chunk, and cut down to fit an item if it must be.
                let event = truncated(event, size);
                flush(&mut vec![&event])?;
                continue;
            }
            chunk.push(event);
            chunk_bytes += size;
        }
        flush(&mut chunk)?;
        Ok(ops)
    }

    /// The definition item puts, once per definition and process.
    fn definition_ops(&self, text: &Arc<str>) -> (String, Vec<WriteOp>) {
        let hash = definition_hash(text);
        if self.lock_definitions().contains_key(&hash) {
            return (hash, Vec::new());
        }
        let pk = format!("{DEFINITION_PREFIX}{hash}");
        let mut ops = Vec::new();
        let head_data = if text.len() <= PIECE_BYTES {
            text.to_string()
        } else {
            let pieces = pieces(text);
            for (i, piece) in pieces.iter().enumerate() {
                let sk = format!("{DEFINITION_SK}#{:04}", i + 1);
                ops.push(put(
                    Item::new(Key::new(&pk, sk), 1, *piece),
                    Condition::Always,
                ));
            }
            format!("{PARTS_MARKER}{}}}", pieces.len())
        };
        ops.push(put(
            Item::new(Key::new(&pk, DEFINITION_SK), 1, head_data),
            Condition::Always,
        ));
        (hash, ops)
    }

    fn lock_definitions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<str>>> {
        self.definitions.lock().expect("definitions lock")
    }

    fn lock_head_parts(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, usize)>> {
        self.head_parts.lock().expect("head parts lock")
    }

    /// Commits `ops` with `last` (the conditional head put) in one transaction when they fit;
    /// otherwise the unconditional puts go first in batches and the head alone last.
    async fn commit(&self, ops: Vec<WriteOp>, last: WriteOp) -> Result<(), StoreError> {
        let total: usize = ops.iter().map(op_bytes).sum::<usize>() + op_bytes(&last);
        if ops.len() < MAX_TRANSACTION_OPS && total <= MAX_TRANSACTION_BYTES {
            let mut all = ops;
            all.push(last);
            return self.store.transact(all).await;
        }
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        for op in ops {
            let bytes = op_bytes(&op);
            if batch.len() == MAX_TRANSACTION_OPS || batch_bytes + bytes > MAX_TRANSACTION_BYTES {
                self.store.transact(std::mem::take(&mut batch)).await?;
                batch_bytes = 0;
            }
            batch_bytes += bytes;
            batch.push(op);
        }
        if !batch.is_empty() {
            self.store.transact(batch).await?;
        }
        self.store.transact(vec![last]).await
    }

    async fn read_parts(&self, pk: &str, sks: Vec<String>) -> Result<String, PersistError> {
        let mut text = String::new();
        for batch in sks.chunks(MAX_GET_MANY_KEYS) {
            let keys: Vec<Key> = batch.iter().map(|sk| Key::new(pk, sk)).collect();
            for (item, sk) in self
                .store
                .get_many(Table::Main, &keys)
                .await?
                .into_iter()
                .zip(batch)
            {
                let item = item.ok_or_else(|| corrupt(format!("part {pk} {sk} is missing")))?;
                text.push_str(&item.data);
            }
        }
        Ok(text)
    }

    async fn definition_text(&self, hash: &str) -> Result<Arc<str>, PersistError> {
        if let Some(text) = self.lock_definitions().get(hash) {
            return Ok(text.clone());
        }
        let pk = format!("{DEFINITION_PREFIX}{hash}");
        let head = self
            .store
            .get(Table::Main, &Key::new(&pk, DEFINITION_SK))
            .await?
            .ok_or_else(|| corrupt(format!("definition {hash} is missing")))?;
        let text: Arc<str> = match parts_count(&head.data)? {
            None => Arc::from(head.data),
            Some(n) => {
                let sks = (1..=n).map(|i| format!("{DEFINITION_SK}#{i:04}")).collect();
                Arc::from(self.read_parts(&pk, sks).await?)
            }
        };
        self.lock_definitions()
            .insert(hash.to_string(), text.clone());
        Ok(text)
    }

    async fn document(&self, head: &Item) -> Result<DocumentIn, PersistError> {
        let parsed = match parts_count(&head.data)? {
            None => serde_json::from_str(&head.data),
            Some(n) => {
                let sks = (1..=n)
                    .map(|i| format!("{HEAD_SK}#{}#{i:04}", head.version))
                    .collect();
                self.lock_head_parts()
                    .insert(head.key.pk.clone(), (head.version, n));
                serde_json::from_str(&self.read_parts(&head.key.pk, sks).await?)
            }
        };
        parsed.map_err(corrupt)
    }

    async fn query_all(&self, query: Query) -> Result<Vec<Item>, PersistError> {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.store.query(query.clone().after(cursor)).await?;
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }
}

#[async_trait]
impl ExecutionStore for StoreExecutions {
    async fn create(
        &self,
        execution: &StoredExecution,
        history: &[HistoryEvent],
    ) -> Result<(), PersistError> {
        let arn = &execution.record.execution_arn;
        let (hash, mut ops) = self.definition_ops(&execution.definition);
        let (head, parts) = self.head_ops(execution, 1, Condition::NotExists)?;
        let part_count = parts.len();
        ops.extend(parts);
        ops.extend(StoreExecutions::history_ops(arn, history)?);
        match self.commit(ops, head).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => return Err(PersistError::AlreadyExists),
            Err(e) => return Err(e.into()),
        }
        self.lock_definitions()
            .insert(hash, execution.definition.clone());
        if part_count > 0 {
            self.lock_head_parts()
                .insert(execution_pk(arn), (1, part_count));
        }
        Ok(())
    }

    async fn save(
        &self,
        execution: &StoredExecution,
        new_events: &[HistoryEvent],
    ) -> Result<u64, PersistError> {
        let arn = &execution.record.execution_arn;
        let pk = execution_pk(arn);
        let version = execution.version + 1;
        let (head, mut ops) =
            self.head_ops(execution, version, Condition::VersionIs(execution.version))?;
        let new_parts = ops.len();
        ops.extend(StoreExecutions::history_ops(arn, new_events)?);
        match self.commit(ops, head).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => return Err(PersistError::Conflict),
            Err(e) => return Err(e.into()),
        }
        let replaced = {
            let mut head_parts = self.lock_head_parts();
            let replaced = head_parts.remove(&pk);
            if new_parts > 0 {
                head_parts.insert(pk.clone(), (version, new_parts));
            }
            replaced
        };
        if let Some((old_version, count)) = replaced {
            let deletes: Vec<WriteOp> = (1..=count)
                .map(|i| WriteOp::Delete {
                    table: Table::Main,
                    key: Key::new(&pk, format!("{HEAD_SK}#{old_version}#{i:04}")),
                    condition: Condition::Always,
                })
                .collect();
            for batch in deletes.chunks(MAX_TRANSACTION_OPS) {
                // Leftover parts are unreachable garbage, not an error: the head moved on.
                if let Err(e) = self.store.transact(batch.to_vec()).await {
                    tracing::warn!(execution = %arn, error = %e, "could not delete replaced checkpoint parts");
                }
            }
        }
        Ok(version)
    }

    async fn load(&self, execution_arn: &str) -> Result<Option<StoredExecution>, PersistError> {
        let Some(head) = self
            .store
            .get(Table::Main, &Key::new(execution_pk(execution_arn), HEAD_SK))
            .await?
        else {
            return Ok(None);
        };
        let document = self.document(&head).await?;
        Ok(Some(StoredExecution {
            record: document.record,
            definition: self.definition_text(&document.definition).await?,
            run_state: document.run_state,
            history_len: document.history_len,
            expired_tokens: document.expired_tokens,
            version: head.version,
        }))
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryEvent>, PersistError> {
        let pk = execution_pk(execution_arn);
        let Some(head) = self.store.get(Table::Main, &Key::new(&pk, HEAD_SK)).await? else {
            return Ok(Vec::new());
        };
        let history_len = self.document(&head).await?.history_len;
        let chunks = self
            .query_all(
                Query::new(Table::Main, None, &pk)
                    .sk(SortKeyRange::Prefix(HISTORY_PREFIX.into()))
                    .limit(1000),
            )
            .await?;
        let mut events = Vec::with_capacity(history_len as usize);
        for chunk in chunks {
            let chunk: Vec<HistoryEvent> = serde_json::from_str(&chunk.data).map_err(corrupt)?;
            // Chunks a lost write race left behind do not continue the sequence: skip them.
            for event in chunk {
                if event.id == events.len() as u64 + 1 && event.id <= history_len {
                    events.push(event);
                }
            }
        }
        Ok(events)
    }

    async fn list(
        &self,
        state_machine_arn: &str,
        status: Option<ExecutionStatus>,
    ) -> Result<Vec<ExecutionDescription>, PersistError> {
        let heads = self
            .query_all(
                Query::new(
                    Table::Main,
                    Some(Index::Gsi1),
                    format!("{MACHINE_INDEX_PREFIX}{state_machine_arn}"),
                )
                .limit(1000)
                .descending(),
            )
            .await?;
        let mut records = Vec::with_capacity(heads.len());
        for head in heads {
            let record = self.document(&head).await?.record;
            if status.is_none_or(|s| record.status == s) {
                records.push(record);
            }
        }
        newest_first(&mut records);
        Ok(records)
    }

    async fn list_running(&self) -> Result<Vec<String>, PersistError> {
        let heads = self
            .query_all(Query::new(Table::Main, Some(Index::Gsi2), RUNNING_INDEX_PK).limit(1000))
            .await?;
        Ok(heads
            .into_iter()
            .filter_map(|head| {
                head.key
                    .pk
                    .strip_prefix(EXECUTION_PREFIX)
                    .map(str::to_string)
            })
            .collect())
    }
}
