//! The transactional outbox: side effects that must follow a commit (starting a workflow) are
//! written in the commit itself, as an outbox entry, and carried out afterwards — at once by the
//! request that committed them ([`carry_out`]) and, should that process crash, fail or lose its
//! connection first, by the relay ([`relay`]) that retries every entry until it is done.
//!
//! Carrying out an effect twice is harmless: a workflow's execution is named after its entity,
//! so a second start answers the execution already there. An entry is deleted once its effect
//! is known done; an entry that is still stored is work that may not have happened.
//!
//! Entries live under the table's own keys, spread over [`SHARDS`] partitions so that no single
//! DynamoDB partition takes every write, and are read with consistent queries: the relay never
//! rests on an index that may lag.

use std::time::Duration;

use brokeros_store::{Condition, Item, Key, Query, Table, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::changeset::{Changeset, store_error};
use crate::workflow::Machine;
use crate::{Core, Error, Result};

/// Partitions the entries are spread over.
pub const SHARDS: u8 = 16;
/// How long the relay leaves a new entry to the request that wrote it, so that the two do not
/// both start the same execution in the common case (either may; the second is harmless).
pub const GRACE: Duration = Duration::from_secs(30);
/// The longest wait between two attempts at an effect that keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Entries one relay pass reads per shard.
const PAGE: u32 = 200;

/// A side effect that must happen once the commit that staged it has landed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Starts `machine`'s execution named `execution_name` (the entity's id) with `input`.
    StartWorkflow {
        machine: Machine,
        execution_name: String,
        input: Value,
    },
}

impl Effect {
    pub fn start_workflow(machine: Machine, execution_name: &str, input: Value) -> Effect {
        Effect::StartWorkflow {
            machine,
            execution_name: execution_name.to_string(),
            input,
        }
    }

    /// The entry's id: the same effect always has the same id, so staging it again (a retried
    /// request) overwrites one entry rather than adding a second.
    pub fn id(&self) -> String {
        match self {
            Effect::StartWorkflow {
                machine,
                execution_name,
                ..
            } => workflow_start_id(*machine, execution_name),
        }
    }

    fn key(&self) -> Key {
        key_of(&self.id())
    }
}

/// The id of the effect that starts `machine`'s execution `execution_name`.
pub fn workflow_start_id(machine: Machine, execution_name: &str) -> String {
    format!("workflow#{}#{execution_name}", machine.name())
}

/// An effect waiting to be carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub effect: Effect,
    #[serde(with = "time::serde::rfc3339")]
    pub staged_at: OffsetDateTime,
    /// When the relay next tries it.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

fn shard_of(id: &str) -> u8 {
    Sha256::digest(id.as_bytes())[0] % SHARDS
}

fn partition(shard: u8) -> String {
    format!("OUTBOX#{shard:02}")
}

fn key_of(id: &str) -> Key {
    Key::new(partition(shard_of(id)), id)
}

/// Stages `effect` in `changes`, so it is recorded if and only if the changeset commits.
pub fn stage(changes: &mut Changeset, effect: Effect, now: OffsetDateTime) -> Result<()> {
    let entry = Entry {
        effect,
        staged_at: now,
        due_at: now + GRACE,
        attempts: 0,
        last_error: None,
    };
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(entry.effect.key(), 1, encode(&entry)?),
        condition: Condition::Always,
    });
    Ok(())
}

fn encode(entry: &Entry) -> Result<String> {
    serde_json::to_string(entry).map_err(|e| Error::Internal(e.to_string()))
}

fn decode(item: &Item) -> Result<Entry> {
    serde_json::from_str(&item.data)
        .map_err(|e| Error::Internal(format!("outbox entry {} is unreadable: {e}", item.key.sk)))
}

/// What became of an effect handed to [`carry_out`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done now (or found done before: no entry was waiting).
    Done,
    /// Not done; the entry stays for the relay, which retries it.
    Pending { error: String },
}

/// Carries out the stored entry of the effect `effect_id` if one is waiting (a request that
/// committed it, or the retry of one whose process stopped before): does it and deletes the
/// entry. A failure is no error of the caller's request, whose change has committed: the entry
/// stays, and the relay does the work later.
pub async fn carry_out(core: &Core, effect_id: &str) -> Result<Outcome> {
    let Some(item) = core
        .store
        .get(Table::Main, &key_of(effect_id))
        .await
        .map_err(store_error)?
    else {
        return Ok(Outcome::Done);
    };
    let entry = decode(&item)?;
    match perform(core, &entry.effect).await {
        Ok(()) => {
            forget(core, &item).await?;
            Ok(Outcome::Done)
        }
        Err(e) => Ok(Outcome::Pending {
            error: e.to_string(),
        }),
    }
}

async fn perform(core: &Core, effect: &Effect) -> Result<()> {
    match effect {
        Effect::StartWorkflow {
            machine,
            execution_name,
            input,
        } => match core
            .workflow()?
            .start(*machine, execution_name, input.clone())
            .await
        {
            Ok(_)
            | Err(Error::Conflict {
                code: "execution_exists",
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        },
    }
}

/// Deletes a done entry, unless someone changed it since it was read (the relay recording a
/// failed attempt of its own): then the entry stays and the next pass finds the effect done.
async fn forget(core: &Core, item: &Item) -> Result<()> {
    let delete = WriteOp::Delete {
        table: Table::Main,
        key: item.key.clone(),
        condition: Condition::VersionIs(item.version),
    };
    match core.store.transact(vec![delete]).await {
        Ok(())
        | Err(brokeros_store::StoreError::ConditionFailed { .. })
        | Err(brokeros_store::StoreError::TransactionConflict) => Ok(()),
        Err(e) => Err(store_error(e)),
    }
}

/// The wait before the next attempt after `attempts` failed ones: 2 s, 4 s, 8 s, … capped at
/// [`MAX_BACKOFF`].
pub fn backoff(attempts: u32) -> Duration {
    let seconds = 1u64 << attempts.clamp(1, 16);
    Duration::from_secs(seconds).min(MAX_BACKOFF)
}

/// What one relay pass did and left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    pub carried_out: u32,
    pub failed: u32,
    /// Entries still stored after the pass (not yet due, or failed again).
    pub pending: u32,
    /// Seconds since the oldest stored entry was staged: how far the relay lags.
    pub oldest_age_seconds: i64,
    /// The first failures of the pass, `effect id: error`, for the host's log.
    pub errors: Vec<String>,
}

const MAX_REPORTED_ERRORS: usize = 10;

/// Every stored entry with its item, shard by shard.
async fn stored_entries(core: &Core) -> Result<Vec<(Item, Entry)>> {
    let mut all = Vec::new();
    for shard in 0..SHARDS {
        let mut cursor = None;
        loop {
            let page = core
                .store
                .query(
                    Query::new(Table::Main, None, partition(shard))
                        .limit(PAGE)
                        .after(cursor),
                )
                .await
                .map_err(store_error)?;
            for item in page.items {
                let entry = decode(&item)?;
                all.push((item, entry));
            }
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
    }
    Ok(all)
}

/// One pass of the relay: carries out every entry that is due (older than [`GRACE`], or due
/// again after a failed attempt), recording a failure on the entry with its next due time; the
/// entries left and the oldest one's age are published as the relay's lag
/// (`outbox_pending`, `outbox_oldest_age_seconds`).
pub async fn relay(core: &Core) -> Result<RelayReport> {
    let now = core.clock.now();
    let mut report = RelayReport::default();
    for (item, entry) in stored_entries(core).await? {
        if !is_due(&entry, now) {
            note_pending(&mut report, &entry, now);
            continue;
        }
        match perform(core, &entry.effect).await {
            Ok(()) => {
                forget(core, &item).await?;
                report.carried_out += 1;
            }
            Err(e) => {
                report.failed += 1;
                let failed = Entry {
                    attempts: entry.attempts + 1,
                    due_at: now + backoff(entry.attempts + 1),
                    last_error: Some(e.to_string()),
                    ..entry
                };
                if report.errors.len() < MAX_REPORTED_ERRORS {
                    report.errors.push(format!("{}: {e}", failed.effect.id()));
                }
                note_pending(&mut report, &failed, now);
                record_attempt(core, &item, &failed).await?;
            }
        }
    }
    crate::metrics::outbox(report.pending, report.oldest_age_seconds);
    Ok(report)
}

/// Whether the relay takes `entry` at `now`: once its due time has come, or when it lies
/// further ahead than any entry is ever scheduled ([`MAX_BACKOFF`], which is more than [`GRACE`]):
/// then the clock has gone back since it was written (NTP, a restored host), and waiting for it
/// would hold the work back by as much.
fn is_due(entry: &Entry, now: OffsetDateTime) -> bool {
    entry.due_at <= now || entry.due_at - now > MAX_BACKOFF
}

fn note_pending(report: &mut RelayReport, entry: &Entry, now: OffsetDateTime) {
    report.pending += 1;
    let age = (now - entry.staged_at).whole_seconds().max(0);
    report.oldest_age_seconds = report.oldest_age_seconds.max(age);
}

async fn record_attempt(core: &Core, item: &Item, entry: &Entry) -> Result<()> {
    let put = WriteOp::Put {
        table: Table::Main,
        item: Item::new(item.key.clone(), item.version + 1, encode(entry)?),
        condition: Condition::VersionIs(item.version),
    };
    match core.store.transact(vec![put]).await {
        // Carried out and deleted meanwhile by the request, or restaged: nothing to record.
        Ok(())
        | Err(brokeros_store::StoreError::ConditionFailed { .. })
        | Err(brokeros_store::StoreError::TransactionConflict) => Ok(()),
        Err(e) => Err(store_error(e)),
    }
}

/// Every stored entry, oldest first, for operators and tests.
pub async fn entries(core: &Core) -> Result<Vec<Entry>> {
    let mut all: Vec<Entry> = stored_entries(core)
        .await?
        .into_iter()
        .map(|(_, entry)| entry)
        .collect();
    all.sort_by_key(|e| e.staged_at);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_effect_has_one_entry_in_one_shard() {
        let effect = Effect::start_workflow(Machine::Deposit, "dep-1", serde_json::json!({}));
        let again = Effect::start_workflow(Machine::Deposit, "dep-1", serde_json::json!({"x": 1}));
        assert_eq!(effect.key(), again.key());
        assert_eq!(effect.id(), "workflow#deposit#dep-1");
        let other = Effect::start_workflow(Machine::Withdrawal, "dep-1", serde_json::json!({}));
        assert_ne!(effect.key(), other.key());
        let shards: std::collections::BTreeSet<u8> =
            (0..400).map(|i| shard_of(&format!("e{i}"))).collect();
        assert_eq!(shards.len(), SHARDS as usize, "ids spread over every shard");
    }

    #[test]
    fn an_entry_is_due_when_its_time_has_come_or_the_clock_went_back() {
        let now = time::macros::datetime!(2026-12-06 10:00:00 UTC);
        let entry = |due_in: i64| Entry {
            effect: Effect::start_workflow(Machine::Deposit, "d", serde_json::json!({})),
            staged_at: now,
            due_at: now + time::Duration::seconds(due_in),
            attempts: 0,
            last_error: None,
        };
        assert!(is_due(&entry(0), now));
        assert!(is_due(&entry(-5), now));
        assert!(!is_due(&entry(30), now), "left to its request");
        assert!(!is_due(&entry(300), now), "a failed entry's longest wait");
        assert!(
            is_due(&entry(301), now),
            "further ahead than anything is scheduled"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_secs(2));
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn an_entry_reads_back_as_written() {
        let now = time::macros::datetime!(2026-12-06 10:00:00 UTC);
        let entry = Entry {
            effect: Effect::start_workflow(
                Machine::Onboarding,
                "onb_1",
                serde_json::json!({"client_id": "c-1"}),
            ),
            staged_at: now,
            due_at: now + GRACE,
            attempts: 2,
            last_error: Some("down".into()),
        };
        let item = Item::new(entry.effect.key(), 1, encode(&entry).unwrap());
        assert_eq!(decode(&item).unwrap(), entry);
        assert!(item.data.contains(r#""effect":"start_workflow""#));
        assert!(item.data.contains(r#""machine":"onboarding""#));
    }
}
