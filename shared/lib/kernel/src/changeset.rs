//! Audited writes: a [`Changeset`] gathers the puts of one use case and, for every audited
//! entity it creates or changes, the audit event that links into that entity's hash chain.
//! The whole changeset commits as one storage transaction, so a state change never lands
//! without its audit event, nor an event without its change.

use crate::audit::{AuditEvent, ChainHead, EventDraft, FieldChange, diff};
use crate::{Error, Result};
use brokeros_store::{Condition, Index, Item, Key, Store, Table, WriteOp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{IdGen, OpContext, keys};

/// An entity with its own audit stream, stored under a key derived from its id.
pub trait Entity: Serialize + DeserializeOwned {
    /// The audit stream's entity type (`lead`, `client`).
    const TYPE: &'static str;
    /// How answers name it (`kyc check`): "kyc check 42 not found".
    const NOUN: &'static str;
    fn id(&self) -> &str;
    /// Where the entity with `id` is stored.
    fn key_for(id: &str) -> Key;
    fn key(&self) -> Key {
        Self::key_for(self.id())
    }
    /// The secondary index keys the entity is found by.
    fn indexes(&self) -> Vec<(Index, String, String)> {
        Vec::new()
    }
}

/// An entity as stored: its version for optimistic concurrency and the end of its audit chain.
#[derive(Debug, Clone)]
pub struct Audited<T> {
    pub entity: T,
    pub version: u64,
    pub chain: ChainHead,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    entity: T,
    chain: ChainHead,
}

pub fn store_error(e: brokeros_store::StoreError) -> Error {
    match e {
        brokeros_store::StoreError::InvalidCursor => Error::invalid(
            "invalid_cursor",
            "cursor",
            "the cursor is not valid for this query",
        ),
        brokeros_store::StoreError::Invalid(m) => Error::Internal(m),
        other => Error::Unavailable(other.to_string()),
    }
}

pub fn decode<T: Entity>(item: &Item) -> Result<Audited<T>> {
    let envelope: Envelope<T> = serde_json::from_str(&item.data)
        .map_err(|e| Error::Internal(format!("stored {} is unreadable: {e}", T::TYPE)))?;
    Ok(Audited {
        entity: envelope.entity,
        version: item.version,
        chain: envelope.chain,
    })
}

pub async fn load<T: Entity>(store: &dyn Store, key: &Key) -> Result<Option<Audited<T>>> {
    match store.get(Table::Main, key).await.map_err(store_error)? {
        Some(item) => decode(&item).map(Some),
        None => Ok(None),
    }
}

/// What became of a changeset handed to [`commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Every write landed (and the after-commit hooks ran).
    Applied,
    /// Nothing landed: a condition failed because someone else wrote first.
    Raced,
}

/// Commits `changes` as one transaction and then runs its after-commit hooks. A lost race is
/// an outcome, not an error: the caller decides whether to read again, retry or answer 409.
pub async fn commit(store: &dyn Store, changes: Changeset) -> Result<Committed> {
    let (ops, after_commit) = changes.into_parts();
    let outcome = if ops.is_empty() {
        Ok(())
    } else {
        store.transact(ops).await
    };
    match outcome {
        Ok(()) => {
            after_commit.into_iter().for_each(|hook| hook());
            Ok(Committed::Applied)
        }
        Err(brokeros_store::StoreError::ConditionFailed { .. })
        | Err(brokeros_store::StoreError::TransactionConflict) => Ok(Committed::Raced),
        Err(e) => Err(store_error(e)),
    }
}

/// Work to run once a changeset has committed.
pub type AfterCommit = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub struct Changeset {
    ops: Vec<WriteOp>,
    events: Vec<AuditEvent>,
    after_commit: Vec<AfterCommit>,
}

impl Changeset {
    pub fn new() -> Changeset {
        Changeset::default()
    }

    /// Creates `entity` (refused if its key exists) with the first event of its stream.
    pub fn create<T: Entity>(
        &mut self,
        ctx: &OpContext,
        ids: &dyn IdGen,
        entity: &T,
        action: &str,
    ) -> Result<()> {
        let changes = diff(&Value::Null, &to_value(entity)?);
        self.write(
            ctx,
            ids,
            entity,
            &ChainHead::genesis(),
            None,
            action,
            changes,
        )
    }

    /// Replaces `before` with `after` (refused if someone else changed it meanwhile) and records
    /// the changed fields, plus `extra` changes that live outside the entity (a timeline entry).
    /// Stages `after` over `before` with its audit event `action` when they differ; a retried
    /// step that changes nothing adds nothing.
    pub fn update_if_changed<T: Entity + PartialEq>(
        &mut self,
        ctx: &OpContext,
        ids: &dyn IdGen,
        before: &Audited<T>,
        after: &T,
        action: &str,
    ) -> Result<()> {
        if &before.entity != after {
            self.update(ctx, ids, before, after, action, vec![])?;
        }
        Ok(())
    }

    pub fn update<T: Entity>(
        &mut self,
        ctx: &OpContext,
        ids: &dyn IdGen,
        before: &Audited<T>,
        after: &T,
        action: &str,
        extra: Vec<FieldChange>,
    ) -> Result<()> {
        let mut changes = diff(&to_value(&before.entity)?, &to_value(after)?);
        changes.extend(extra);
        self.write(
            ctx,
            ids,
            after,
            &before.chain,
            Some(before.version),
            action,
            changes,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn write<T: Entity>(
        &mut self,
        ctx: &OpContext,
        ids: &dyn IdGen,
        entity: &T,
        head: &ChainHead,
        version: Option<u64>,
        action: &str,
        changes: Vec<FieldChange>,
    ) -> Result<()> {
        let event = AuditEvent::chained(
            EventDraft {
                at: ctx.now,
                actor: ctx.actor.clone(),
                action: action.to_string(),
                entity_type: T::TYPE.to_string(),
                entity_id: entity.id().to_string(),
                changes,
                correlation_id: ctx.correlation_id.clone(),
            },
            head,
            ids.uuid(),
        );
        let envelope = Envelope {
            entity,
            chain: event.head(),
        };
        let data = serde_json::to_string(&envelope).map_err(|e| Error::Internal(e.to_string()))?;
        let mut item = Item::new(entity.key(), version.map_or(1, |v| v + 1), data);
        for (index, pk, sk) in entity.indexes() {
            item = item.with_index(index, pk, sk);
        }
        let condition = version.map_or(Condition::NotExists, Condition::VersionIs);
        self.ops.push(WriteOp::Put {
            table: Table::Main,
            item,
            condition,
        });
        self.ops.push(audit_put(&event)?);
        self.events.push(event);
        Ok(())
    }

    /// An unaudited bookkeeping write (dedupe keys, counters, timeline items) that commits with
    /// the audited ones.
    pub fn put(&mut self, op: WriteOp) {
        self.ops.push(op);
    }

    /// Runs `hook` once the changeset has committed (never if it does not): for in-memory
    /// state that must follow the stored state, such as reserved rotation blocks.
    pub fn after_commit(&mut self, hook: impl FnOnce() + Send + 'static) {
        self.after_commit.push(Box::new(hook));
    }

    /// The operations to commit, and what to run once they have.
    pub fn into_parts(self) -> (Vec<WriteOp>, Vec<AfterCommit>) {
        (self.ops, self.after_commit)
    }

    /// How many store operations the changeset commits (one transaction: at most
    /// `brokeros_store::MAX_TRANSACTION_OPS`).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn events(&self) -> &[AuditEvent] {
        &self.events
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

/// The write that appends `event` to its audit stream (refused if its place is taken), with
/// its day index.
pub fn audit_put(event: &AuditEvent) -> Result<WriteOp> {
    // Stored in canonical form, so an export copies it and a verifier hashes it as it is.
    let data = event.canonical_json();
    let item = Item::new(
        Key::new(
            keys::audit_stream(&event.entity_type, &event.entity_id),
            keys::audit_seq(event.seq),
        ),
        1,
        data,
    )
    .with_index(
        Index::Gsi1,
        keys::audit_day(event_time(event)),
        event.id.clone(),
    );
    Ok(WriteOp::Put {
        table: Table::Audit,
        item,
        condition: Condition::NotExists,
    })
}

/// The time encoded in the event's UUIDv7 id, which orders the export; the day index follows
/// it rather than `at` so that a time-range export and the id order agree.
pub fn event_time(event: &AuditEvent) -> time::OffsetDateTime {
    uuid::Uuid::parse_str(&event.id)
        .ok()
        .and_then(|u| u.get_timestamp())
        .map(|ts| {
            let (secs, nanos) = ts.to_unix();
            time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap_or(event.at)
                + time::Duration::nanoseconds(i64::from(nanos))
        })
        .unwrap_or(event.at)
}
