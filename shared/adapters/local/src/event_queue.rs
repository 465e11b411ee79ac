//! The event queue on the storage port: what `brokeros serve` uses where AWS has SQS FIFO.
//! Messages, locks and deduplication records are items of the main table, so they survive a
//! restart, and every change is one conditional transaction, so several processes (or tasks)
//! may send and receive at once.
//!
//! Per queue and message group, a **group item** holds the next sequence number, how many
//! messages the group holds, and the in-flight lock (a token, the visibility deadline and the
//! sequence numbers delivered under it). While the group holds messages it is in the queue's
//! ready index (gsi1), sorted by when it is deliverable: now, or when its lock expires. A
//! receive walks that index up to now, locks each group with a write conditional on the version
//! it read (a concurrent receiver loses the race and skips the group), and delivers the group's
//! first messages in sequence order. A receipt names the lock token, so after the visibility
//! timeout has passed and the group was delivered again, the old receipt is stale.
//!
//! Every write that adds or removes a message of a group also writes the group item under its
//! version, so the group item is the one point where concurrent changes to a group meet.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use brokeros_store::{
    Condition, Index, Item, Query, SortKeyRange, Store, StoreError, Table, WriteOp,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

use brokeros_kernel::Clock;
use brokeros_payments::psp::queue::{
    DEDUP_WINDOW_SECONDS, EventQueue, MAX_RECEIVE_BATCH, QueueError, QueueMessage, Settled,
    validate_batch, validate_send,
};

use self::keys::*;

/// How often a write that lost a race is tried again before the call reports it.
const MAX_ATTEMPTS: u32 = 64;
/// Ready groups read per index page, and the most a receive looks at.
const READY_PAGE: u32 = 50;
const MAX_GROUPS_PER_RECEIVE: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalQueueConfig {
    /// `[A-Za-z0-9_-]`, 1 to 80 characters.
    pub name: String,
    pub visibility_timeout: Duration,
    /// Where a message goes on the receive after its `max_receives`-th, if anywhere.
    pub dead_letter: Option<DeadLetter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub queue: String,
    /// At least 1: a message is delivered at most this many times.
    pub max_receives: u32,
}

impl LocalQueueConfig {
    /// A queue with SQS's default visibility timeout (30 s) and no dead-letter queue.
    pub fn new(name: impl Into<String>) -> LocalQueueConfig {
        LocalQueueConfig {
            name: name.into(),
            visibility_timeout: Duration::from_secs(30),
            dead_letter: None,
        }
    }

    pub fn visibility_timeout(mut self, timeout: Duration) -> LocalQueueConfig {
        self.visibility_timeout = timeout;
        self
    }

    pub fn dead_letter(mut self, queue: impl Into<String>, max_receives: u32) -> LocalQueueConfig {
        self.dead_letter = Some(DeadLetter {
            queue: queue.into(),
            max_receives,
        });
        self
    }
}

/// The local adapter of [`EventQueue`].
pub struct LocalEventQueue {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: LocalQueueConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GroupState {
    group_id: String,
    /// The sequence number the next message gets (from 1).
    next_seq: u64,
    /// Messages the group holds, in flight or not.
    pending: u64,
    /// When the group became deliverable (its place in the ready index while unlocked).
    ready_at_ms: i64,
    lock: Option<Lock>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lock {
    token: String,
    until_ms: i64,
    /// Sequence numbers delivered under this lock and not settled yet.
    seqs: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredMessage {
    message_id: String,
    dedup_id: String,
    body: String,
    sent_at_ms: i64,
    receive_count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DedupRecord {
    message_id: String,
    until_ms: i64,
}

/// A group item as read: its version (0 when absent) and state.
struct Group {
    version: u64,
    state: GroupState,
}

fn valid_queue_name(name: &str) -> bool {
    (1..=80).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn store_error(e: StoreError) -> QueueError {
    match e {
        StoreError::Invalid(m) => QueueError::Invalid(m),
        other => QueueError::Unavailable(other.to_string()),
    }
}

fn lost_race(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::ConditionFailed { .. } | StoreError::TransactionConflict
    )
}

fn corrupt(what: &str, e: serde_json::Error) -> QueueError {
    QueueError::Unavailable(format!("stored queue {what} is unreadable: {e}"))
}

/// `<token>:<seq>:<group>`: the group comes last, as it may itself hold `:`.
fn receipt(token: &str, seq: u64, group_id: &str) -> String {
    format!("{token}:{seq}:{group_id}")
}

fn parse_receipt(receipt: &str) -> Option<(&str, u64, &str)> {
    let mut parts = receipt.splitn(3, ':');
    let token = parts.next()?;
    let seq = parts.next()?.parse().ok()?;
    let group = parts.next()?;
    (!token.is_empty() && !group.is_empty()).then_some((token, seq, group))
}

async fn backoff(attempt: u32) {
    if attempt == 0 {
        tokio::task::yield_now().await;
        return;
    }
    let ceiling = 1u64 << attempt.min(6);
    let ms = rand::rng().random_range(0..=ceiling);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl LocalEventQueue {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: LocalQueueConfig,
    ) -> Result<LocalEventQueue, QueueError> {
        if !valid_queue_name(&config.name) {
            return Err(QueueError::Invalid(format!(
                "queue name {:?} is not 1 to 80 of [A-Za-z0-9_-]",
                config.name
            )));
        }
        if config.visibility_timeout.is_zero()
            || config.visibility_timeout > Duration::from_secs(12 * 3600)
        {
            return Err(QueueError::Invalid(
                "the visibility timeout must be more than 0 and at most 12 hours".into(),
            ));
        }
        if let Some(dead_letter) = &config.dead_letter {
            if !valid_queue_name(&dead_letter.queue) || dead_letter.queue == config.name {
                return Err(QueueError::Invalid(format!(
                    "dead-letter queue name {:?} is not 1 to 80 of [A-Za-z0-9_-] or is the queue itself",
                    dead_letter.queue
                )));
            }
            if dead_letter.max_receives == 0 {
                return Err(QueueError::Invalid(
                    "max_receives must be at least 1".into(),
                ));
            }
        }
        Ok(LocalEventQueue {
            store,
            clock,
            config,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The dead-letter queue, to read (and settle) what was dead-lettered; it has the same
    /// visibility timeout and no dead-letter queue of its own.
    pub fn dead_letter_queue(&self) -> Option<LocalEventQueue> {
        let dead_letter = self.config.dead_letter.as_ref()?;
        Some(LocalEventQueue {
            store: self.store.clone(),
            clock: self.clock.clone(),
            config: LocalQueueConfig::new(dead_letter.queue.clone())
                .visibility_timeout(self.config.visibility_timeout),
        })
    }

    fn now_ms(&self) -> i64 {
        (self.clock.now().unix_timestamp_nanos() / 1_000_000) as i64
    }

    async fn group(&self, queue: &str, group_id: &str) -> Result<Group, QueueError> {
        let item = self
            .store
            .get(Table::Main, &queue_group(queue, group_id))
            .await
            .map_err(store_error)?;
        match item {
            None => Ok(Group {
                version: 0,
                state: GroupState {
                    group_id: group_id.to_string(),
                    next_seq: 1,
                    ..GroupState::default()
                },
            }),
            Some(item) => Ok(Group {
                version: item.version,
                state: serde_json::from_str(&item.data).map_err(|e| corrupt("group", e))?,
            }),
        }
    }

    /// The write of a group item read at `group.version`: a put while it holds messages (in
    /// the ready index), else a delete.
    fn group_write(&self, queue: &str, group: &Group) -> WriteOp {
        let key = queue_group(queue, &group.state.group_id);
        let condition = if group.version == 0 {
            Condition::NotExists
        } else {
            Condition::VersionIs(group.version)
        };
        if group.state.pending == 0 && group.state.lock.is_none() {
            if group.version == 0 {
                return WriteOp::Check {
                    table: Table::Main,
                    key,
                    condition,
                };
            }
            return WriteOp::Delete {
                table: Table::Main,
                key,
                condition,
            };
        }
        let state = &group.state;
        let data = serde_json::to_string(state).expect("queue groups serialize");
        let mut item = Item::new(key, group.version + 1, data);
        if state.pending > 0 {
            let at = state
                .lock
                .as_ref()
                .map_or(state.ready_at_ms, |lock| lock.until_ms);
            item = item.with_index(
                Index::Gsi1,
                queue_ready(queue),
                queue_ready_at(at, &state.group_id),
            );
        }
        WriteOp::Put {
            table: Table::Main,
            item,
            condition,
        }
    }

    /// Appends messages to `group` (read from `queue`): their puts, and the group's new state.
    fn append(
        &self,
        queue: &str,
        group: &mut Group,
        messages: Vec<StoredMessage>,
        now_ms: i64,
    ) -> Vec<WriteOp> {
        let state = &mut group.state;
        if state.pending == 0 && state.lock.is_none() {
            state.ready_at_ms = now_ms;
        }
        let mut ops = Vec::with_capacity(messages.len());
        for message in messages {
            let seq = state.next_seq;
            state.next_seq += 1;
            state.pending += 1;
            let data = serde_json::to_string(&message).expect("queue messages serialize");
            ops.push(WriteOp::Put {
                table: Table::Main,
                item: Item::new(queue_message(queue, &state.group_id, seq), 1, data),
                condition: Condition::NotExists,
            });
        }
        ops
    }

    /// Locks one group and delivers up to `room` of its first messages, dead-lettering those
    /// received `max_receives` times already. Nothing when the group is not deliverable or
    /// another receiver got it first.
    async fn receive_group(
        &self,
        group_id: &str,
        room: usize,
        now_ms: i64,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        let queue = self.config.name.as_str();
        let mut group = self.group(queue, group_id).await?;
        if group.version == 0
            || group.state.pending == 0
            || group
                .state
                .lock
                .as_ref()
                .is_some_and(|lock| lock.until_ms > now_ms)
        {
            return Ok(Vec::new());
        }
        let page = self
            .store
            .query(
                Query::new(Table::Main, None, queue_messages(queue, group_id))
                    .limit(MAX_RECEIVE_BATCH),
            )
            .await
            .map_err(store_error)?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut ops = Vec::new();
        let mut delivered = Vec::new();
        let mut seqs = Vec::new();
        let mut dead = Vec::new();
        for item in page.items {
            if delivered.len() >= room {
                break;
            }
            let seq: u64 =
                item.key.sk.parse().map_err(|_| {
                    QueueError::Unavailable("a queue message key is unreadable".into())
                })?;
            let mut message: StoredMessage =
                serde_json::from_str(&item.data).map_err(|e| corrupt("message", e))?;
            if let Some(dead_letter) = &self.config.dead_letter
                && message.receive_count >= dead_letter.max_receives
            {
                ops.push(WriteOp::Delete {
                    table: Table::Main,
                    key: item.key,
                    condition: Condition::VersionIs(item.version),
                });
                message.receive_count = 0;
                dead.push(message);
                continue;
            }
            message.receive_count += 1;
            let data = serde_json::to_string(&message).expect("queue messages serialize");
            ops.push(WriteOp::Put {
                table: Table::Main,
                item: Item::new(item.key, item.version + 1, data),
                condition: Condition::VersionIs(item.version),
            });
            delivered.push(QueueMessage {
                message_id: message.message_id,
                group_id: group_id.to_string(),
                dedup_id: message.dedup_id,
                body: message.body,
                receipt: receipt(&token, seq, group_id),
                receive_count: message.receive_count,
            });
            seqs.push(seq);
        }
        if delivered.is_empty() && dead.is_empty() {
            return Ok(Vec::new());
        }
        group.state.pending = group.state.pending.saturating_sub(dead.len() as u64);
        if seqs.is_empty() {
            // Only dead letters: an expired lock (if any) is over and the group is free.
            group.state.lock = None;
            group.state.ready_at_ms = now_ms;
        } else {
            group.state.lock = Some(Lock {
                token,
                until_ms: now_ms + self.config.visibility_timeout.as_millis() as i64,
                seqs,
            });
        }
        ops.push(self.group_write(queue, &group));
        if !dead.is_empty() {
            let dead_letter = self
                .config
                .dead_letter
                .as_ref()
                .expect("messages are dead-lettered only with a dead-letter queue");
            let mut target = self.group(&dead_letter.queue, group_id).await?;
            ops.extend(self.append(&dead_letter.queue, &mut target, dead, now_ms));
            ops.push(self.group_write(&dead_letter.queue, &target));
        }
        match self.store.transact(ops).await {
            Ok(()) => Ok(delivered),
            Err(e) if lost_race(&e) => Ok(Vec::new()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Settles one receipt: `delete` removes the message (ack), else it becomes deliverable
    /// again (fail). `false` when the receipt is stale.
    async fn settle(&self, receipt: &str, delete: bool) -> Result<bool, QueueError> {
        let queue = self.config.name.as_str();
        let Some((token, seq, group_id)) = parse_receipt(receipt) else {
            return Ok(false);
        };
        for attempt in 0..MAX_ATTEMPTS {
            let mut group = self.group(queue, group_id).await?;
            let now_ms = self.now_ms();
            let Some(lock) = group.state.lock.as_mut() else {
                return Ok(false);
            };
            if lock.token != token || !lock.seqs.contains(&seq) {
                return Ok(false);
            }
            lock.seqs.retain(|s| *s != seq);
            if lock.seqs.is_empty() {
                group.state.lock = None;
                group.state.ready_at_ms = now_ms;
            }
            let mut ops = Vec::with_capacity(2);
            if delete {
                group.state.pending = group.state.pending.saturating_sub(1);
                ops.push(WriteOp::Delete {
                    table: Table::Main,
                    key: queue_message(queue, group_id, seq),
                    condition: Condition::Exists,
                });
            }
            ops.push(self.group_write(queue, &group));
            match self.store.transact(ops).await {
                Ok(()) => return Ok(true),
                Err(e) if lost_race(&e) => backoff(attempt).await,
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(QueueError::Unavailable(
            "too many concurrent changes to the message group".into(),
        ))
    }

    async fn settle_all(&self, receipts: &[String], delete: bool) -> Result<Settled, QueueError> {
        let mut settled = Settled::default();
        for receipt in receipts {
            if !self.settle(receipt, delete).await? {
                settled.stale.push(receipt.clone());
            }
        }
        Ok(settled)
    }
}

#[async_trait]
impl EventQueue for LocalEventQueue {
    async fn send(&self, group_id: &str, dedup_id: &str, body: &str) -> Result<String, QueueError> {
        validate_send(group_id, dedup_id, body)?;
        let queue = self.config.name.as_str();
        let dedup_key = queue_dedup(queue, dedup_id);
        for attempt in 0..MAX_ATTEMPTS {
            let now_ms = self.now_ms();
            let existing = self
                .store
                .get(Table::Main, &dedup_key)
                .await
                .map_err(store_error)?;
            let dedup_condition = match existing {
                None => Condition::NotExists,
                Some(item) => {
                    let record: DedupRecord = serde_json::from_str(&item.data)
                        .map_err(|e| corrupt("deduplication record", e))?;
                    if record.until_ms > now_ms {
                        return Ok(record.message_id);
                    }
                    Condition::VersionIs(item.version)
                }
            };
            let message_id = uuid::Uuid::now_v7().to_string();
            let until_ms = now_ms + DEDUP_WINDOW_SECONDS * 1000;
            let record = DedupRecord {
                message_id: message_id.clone(),
                until_ms,
            };
            let version = match dedup_condition {
                Condition::VersionIs(v) => v + 1,
                _ => 1,
            };
            let mut ops = vec![WriteOp::Put {
                table: Table::Main,
                item: Item::new(
                    dedup_key.clone(),
                    version,
                    serde_json::to_string(&record).expect("records serialize"),
                )
                // This queue's clock decides whether it is still in force; the store (on the
                // real clock) forgets it a little after the later of the two deadlines.
                .expiring_at(
                    until_ms
                        .div_euclid(1000)
                        .max(brokeros_store::unix_now() + DEDUP_WINDOW_SECONDS)
                        + 60,
                ),
                condition: dedup_condition,
            }];
            let mut group = self.group(queue, group_id).await?;
            ops.extend(self.append(
                queue,
                &mut group,
                vec![StoredMessage {
                    message_id: message_id.clone(),
                    dedup_id: dedup_id.to_string(),
                    body: body.to_string(),
                    sent_at_ms: now_ms,
                    receive_count: 0,
                }],
                now_ms,
            ));
            ops.push(self.group_write(queue, &group));
            match self.store.transact(ops).await {
                Ok(()) => return Ok(message_id),
                Err(e) if lost_race(&e) => backoff(attempt).await,
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(QueueError::Unavailable(
            "too many concurrent sends to the message group".into(),
        ))
    }

    async fn receive(&self, max: u32) -> Result<Vec<QueueMessage>, QueueError> {
        validate_batch(max)?;
        let queue = self.config.name.as_str();
        let now_ms = self.now_ms();
        let mut delivered: Vec<QueueMessage> = Vec::new();
        let mut cursor = None;
        let mut looked_at = 0usize;
        // Groups deliverable by now: sort keys up to `<now>#…` (`$` sorts after `#`).
        let range = SortKeyRange::Between(queue_ready_at(0, ""), format!("{:020}$", now_ms.max(0)));
        loop {
            let page = self
                .store
                .query(
                    Query::new(Table::Main, Some(Index::Gsi1), queue_ready(queue))
                        .sk(range.clone())
                        .limit(READY_PAGE)
                        .after(cursor),
                )
                .await
                .map_err(store_error)?;
            for item in &page.items {
                let state: GroupState =
                    serde_json::from_str(&item.data).map_err(|e| corrupt("group", e))?;
                looked_at += 1;
                let room = max as usize - delivered.len();
                delivered.extend(self.receive_group(&state.group_id, room, now_ms).await?);
                if delivered.len() >= max as usize || looked_at >= MAX_GROUPS_PER_RECEIVE {
                    return Ok(delivered);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(delivered),
            }
        }
    }

    async fn ack(&self, receipts: &[String]) -> Result<Settled, QueueError> {
        self.settle_all(receipts, true).await
    }

    async fn fail(&self, receipts: &[String]) -> Result<Settled, QueueError> {
        self.settle_all(receipts, false).await
    }
}

/// Where the queue keeps its items in the single table.
mod keys {
    use brokeros_store::Key;

    pub fn queue_group(queue: &str, group_id: &str) -> Key {
        Key::new(format!("QGROUP#{queue}#{group_id}"), "GROUP")
    }

    /// The partition of a group's messages, sorted by sequence number.
    pub fn queue_messages(queue: &str, group_id: &str) -> String {
        format!("QMSG#{queue}#{group_id}")
    }

    pub fn queue_message(queue: &str, group_id: &str, seq: u64) -> Key {
        Key::new(queue_messages(queue, group_id), format!("{seq:020}"))
    }

    pub fn queue_dedup(queue: &str, dedup_id: &str) -> Key {
        Key::new(format!("QDEDUP#{queue}#{dedup_id}"), "DEDUP")
    }

    /// The index partition (gsi1) of a queue's groups that hold messages.
    pub fn queue_ready(queue: &str) -> String {
        format!("QREADY#{queue}")
    }

    /// A group's sort key in [`queue_ready`]: when it becomes deliverable (Unix milliseconds,
    /// fixed width), then the group.
    pub fn queue_ready_at(at_unix_ms: i64, group_id: &str) -> String {
        format!("{:020}#{group_id}", at_unix_ms.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip_with_colons_in_the_group() {
        let r = receipt("tok", 42, "dep:1:x");
        assert_eq!(parse_receipt(&r), Some(("tok", 42, "dep:1:x")));
        assert_eq!(parse_receipt("tok:notanumber:g"), None);
        assert_eq!(parse_receipt("tok:1"), None);
        assert_eq!(parse_receipt(":1:g"), None);
    }

    #[test]
    fn queue_names_are_checked() {
        assert!(valid_queue_name("psp-events_1"));
        assert!(!valid_queue_name(""));
        assert!(!valid_queue_name("a#b"));
        assert!(!valid_queue_name(&"a".repeat(81)));
    }
}
