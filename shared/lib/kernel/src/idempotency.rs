//! `Idempotency-Key` handling. The record of a key commits in the same transaction as the
//! change it guards, so there is no window where a change landed without its record (or the
//! reverse), and no in-progress lock to expire: of two concurrent requests with one key, one
//! transaction wins and the other, finding the record, answers from it.

use crate::canonical::canonical_sha256;
use crate::{Error, Result};
use brokeros_store::{Condition, Item, Table, WriteOp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::changeset::{self, Changeset, Committed, store_error};
use crate::{Runtime, keys};

/// How long a key is remembered.
pub const RETENTION_SECONDS: i64 = 24 * 3600;
/// How often a use case is re-run after losing a race before the caller is told to retry.
const MAX_ATTEMPTS: u32 = 12;

/// The id of a new record a caller names: `given` (the body's `field`), or else the request's
/// `Idempotency-Key`, each a code of at most 80 characters; without either, refused as
/// `required_code` naming `field`.
pub fn chosen_id(
    field: &str,
    given: Option<&str>,
    key: Option<&IdempotencyKey>,
    required_code: &'static str,
) -> Result<String> {
    match (given, key) {
        (Some(id), _) => crate::normalize::code(field, id, 80),
        (None, Some(key)) => crate::normalize::code("Idempotency-Key", &key.key, 80),
        (None, None) => Err(Error::invalid(
            required_code,
            field,
            format!("this needs an id: {field} in the body, or an Idempotency-Key"),
        )),
    }
}

/// A caller's key, scoped to the caller and the operation, with the digest of its request.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyKey {
    /// `key` as sent in the header; `request` the parsed body plus whatever else identifies the
    /// request (path parameters).
    pub fn new(scope: impl Into<String>, key: &str, request: &Value) -> Result<IdempotencyKey> {
        let valid =
            !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(Error::invalid(
                "invalid_idempotency_key",
                "Idempotency-Key",
                "Idempotency-Key must be 1 to 128 visible ASCII characters",
            ));
        }
        Ok(IdempotencyKey {
            scope: scope.into(),
            key: key.to_string(),
            request_hash: canonical_sha256(request),
        })
    }
}

/// The shortest `Idempotency-Key` a public caller may send: 22 characters is 128 bits of
/// base64url, the least a random key has (a UUID has 36).
pub const PUBLIC_KEY_MIN_CHARS: usize = 22;
/// The least entropy a public key must show by the estimate of [`estimated_entropy_bits`].
pub const PUBLIC_KEY_MIN_BITS: f64 = 64.0;

impl IdempotencyKey {
    /// The key of an anonymous (public) caller of `operation`.
    ///
    /// Public callers share no identity we could scope their keys by, so two defences stand
    /// in for it. First, the key must be one that cannot be guessed: at least
    /// [`PUBLIC_KEY_MIN_CHARS`] of base64url or UUID characters that look random (see
    /// [`estimated_entropy_bits`]); a sender that squats `form-1`, `form-2`, … in advance would
    /// otherwise answer every later sender of those keys with its own stored reply, or a 422.
    /// Second, the key is scoped by `identity`, a digest of what the request is about (for a
    /// lead: the brand and the submitted email and phone): a key someone else learned or
    /// guessed replays only a request about the same person, so the same key sent about another
    /// person is a request of its own and never the victim's replay, and a squatted key can hurt
    /// only a sender who submits that very person with that very key.
    pub fn public(
        operation: &str,
        identity: &str,
        key: &str,
        request: &Value,
    ) -> Result<IdempotencyKey> {
        if !is_strong_public_key(key) {
            return Err(Error::invalid(
                "weak_idempotency_key",
                "Idempotency-Key",
                format!(
                    "a public caller's Idempotency-Key must be a random value of at least \
                     {PUBLIC_KEY_MIN_CHARS} characters of [A-Za-z0-9_-] (a UUID or 16 random \
                     bytes as base64url)"
                ),
            ));
        }
        IdempotencyKey::new(format!("public#{operation}#{identity}"), key, request)
    }
}

/// Whether `key` is long, of base64url/UUID characters, and looks random: its estimated entropy
/// reaches [`PUBLIC_KEY_MIN_BITS`] and it is not mostly a run or a sequence
/// (`aaaa…`, `abab…`, `1234567890…`).
pub fn is_strong_public_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    if bytes.len() < PUBLIC_KEY_MIN_CHARS || bytes.len() > 128 {
        return false;
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    {
        return false;
    }
    // Steps of -1, 0 or +1 between neighbours: about 5% of a random base64url key and 20% of a
    // UUID's hex, most of a counting or repeating one.
    let small_steps = bytes
        .windows(2)
        .filter(|w| (w[1] as i16 - w[0] as i16).abs() <= 1)
        .count();
    if small_steps * 2 > bytes.len() - 1 {
        return false;
    }
    estimated_entropy_bits(key) >= PUBLIC_KEY_MIN_BITS
}

/// A simple estimate of a key's entropy: its length times the Shannon entropy of its character
/// frequencies. It cannot prove a key random, but it refuses repeated and few-letter keys.
pub fn estimated_entropy_bits(key: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in key.bytes() {
        counts[b as usize] += 1;
    }
    let n = key.len() as f64;
    let per_char: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

#[derive(Serialize, Deserialize)]
struct Record<R> {
    request_hash: String,
    reply: R,
}

async fn replay<R: DeserializeOwned>(
    services: &(impl Runtime + ?Sized),
    key: &IdempotencyKey,
) -> Result<Option<R>> {
    let found = services
        .store()
        .get(Table::Main, &keys::idempotency(&key.scope, &key.key))
        .await
        .map_err(store_error)?;
    let Some(item) = found else { return Ok(None) };
    let record: Record<R> =
        serde_json::from_str(&item.data).map_err(|e| Error::Internal(e.to_string()))?;
    if record.request_hash == key.request_hash {
        Ok(Some(record.reply))
    } else {
        Err(Error::IdempotencyMismatch)
    }
}

/// Waits before re-running a use case that lost a race, with full jitter so that contenders
/// spread out (1 ms, 2 ms, 4 ms, … capped at 64 ms).
async fn backoff(attempt: u32) {
    let cap_ms = 1u64 << attempt.min(6);
    let wait_us = rand::random_range(0..cap_ms * 1000);
    tokio::time::sleep(std::time::Duration::from_micros(wait_us)).await;
}

/// One run of a use case: its outcome and the changes to commit.
pub type Attempt<'a, R> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(R, Changeset)>> + Send + 'a>>;

/// Runs a use case that reads, decides and returns its outcome `R` (what it decided; the
/// [`Answer`](crate::Answer) of an API use case) with a changeset, then commits the changeset
/// (and the idempotency record holding `R`, when a key was given) as one transaction, and
/// answers the outcome of the run that committed, or the stored one on a replay. A lost race
/// (a condition that no longer holds) re-runs the use case on fresh reads.
pub async fn execute<'a, R>(
    services: &(impl Runtime + ?Sized),
    key: Option<&IdempotencyKey>,
    mut attempt: impl FnMut() -> Attempt<'a, R>,
) -> Result<R>
where
    R: Serialize + DeserializeOwned + Clone + Send,
{
    for attempt_number in 0..MAX_ATTEMPTS {
        if attempt_number > 0 {
            backoff(attempt_number).await;
        }
        if let Some(k) = key
            && let Some(reply) = replay(services, k).await?
        {
            return Ok(reply);
        }
        let (reply, mut changes) = attempt().await?;
        if let Some(k) = key {
            let record = Record {
                request_hash: k.request_hash.clone(),
                reply: reply.clone(),
            };
            let expires = services.clock().now().unix_timestamp() + RETENTION_SECONDS;
            let data =
                serde_json::to_string(&record).map_err(|e| Error::Internal(e.to_string()))?;
            changes.put(WriteOp::Put {
                table: Table::Main,
                item: Item::new(keys::idempotency(&k.scope, &k.key), 1, data).expiring_at(expires),
                condition: Condition::NotExists,
            });
        }
        // A repeated task or event that changes nothing has nothing to commit.
        match changeset::commit(services.store(), changes).await? {
            Committed::Applied => return Ok(reply),
            // Either the key was used meanwhile (the replay above answers next time) or the
            // data changed under us (the use case runs again on fresh reads).
            Committed::Raced => continue,
        }
    }
    Err(Error::conflict(
        "concurrent_update",
        "the record was changed by concurrent requests; retry the request",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Answer, AnswerKind};

    #[test]
    fn a_record_stored_before_answers_had_kinds_replays_its_kind_and_stores_byte_identically() {
        for (status, kind) in [
            (200, AnswerKind::Done),
            (201, AnswerKind::Created),
            (202, AnswerKind::Accepted),
        ] {
            let old = format!(
                r#"{{"request_hash":"9f2c","reply":{{"status":{status},"body":{{"lead_id":"lead_1","received_at":"2024-05-01T10:00:00Z","scores":[1,2.5,null]}}}}}}"#
            );
            let record: Record<Answer> = serde_json::from_str(&old).unwrap();
            assert_eq!(record.reply.kind, kind);
            assert_eq!(record.reply.body["lead_id"], "lead_1");
            assert_eq!(serde_json::to_string(&record).unwrap(), old);
        }
    }

    #[test]
    fn public_keys_must_be_long_and_look_random() {
        for strong in [
            "550e8400-e29b-41d4-a716-446655440000",
            "0190a5b2-7c3e-7d41-9f0a-3b5c6d7e8f90",
            "q3V_9xK2mZ8pL4nR7tW1yB",
            "Zx8Kq2Lm9Pw4Rt7Yv3Nb6Hc1",
        ] {
            assert!(is_strong_public_key(strong), "{strong}");
        }
        for weak in [
            "form-123",
            "aaaaaaaaaaaaaaaaaaaaaaaa",
            "abababababababababababab",
            "1234567890123456789012345",
            "abcdefghijklmnopqrstuvwxyz",
            "00000000-0000-0000-0000-000000000000",
            "q3V_9xK2mZ8pL4nR7tW1y",    // 21 characters
            "q3V_9xK2mZ8pL4nR7tW1yB!!", // not base64url
            "q3V_9xK2mZ8pL4nR7tW1yB q", // a space
        ] {
            assert!(!is_strong_public_key(weak), "{weak}");
        }
        let e = IdempotencyKey::public("lead.capture", "id", "form-123", &Value::Null).unwrap_err();
        assert_eq!(e.code(), "weak_idempotency_key");
        assert_eq!(e.body().field.as_deref(), Some("Idempotency-Key"));
    }

    #[test]
    fn public_keys_are_scoped_by_what_the_request_is_about() {
        let key = "550e8400-e29b-41d4-a716-446655440000";
        let ann = IdempotencyKey::public("lead.capture", "ann", key, &Value::Null).unwrap();
        let bob = IdempotencyKey::public("lead.capture", "bob", key, &Value::Null).unwrap();
        assert_ne!(ann.scope, bob.scope);
        assert!(ann.scope.starts_with("public#lead.capture#"));
    }

    #[test]
    fn a_record_with_an_unknown_status_does_not_replay() {
        let old = r#"{"request_hash":"9f2c","reply":{"status":204,"body":null}}"#;
        let Err(err) = serde_json::from_str::<Record<Answer>>(old) else {
            panic!("a record with status 204 replayed");
        };
        assert!(err.to_string().contains("unknown status 204"), "{err}");
    }
}
