//! Consent confirmations and the messages that carry their tokens: unaudited items written with
//! the lead's change that opens or uses them (the changes are on the lead's timeline).
//!
//! A confirmation is stored under the SHA-256 of its token, never the token. The token itself
//! exists in one place only: the outbox message a mailer sends to the lead's own address, which
//! expires with the token (the store deletes it then), so no copy of a usable token outlives it.

use brokeros_kernel::changeset::store_error;
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Query, Table, WriteOp};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::keys;
use crate::model::ConsentConfirmation;

/// How long a used or expired confirmation is kept, so its link says so instead of "invalid".
const KEPT_AFTER_EXPIRY: Duration = Duration::days(30);

/// A confirmation as read, with the version read.
pub(crate) struct StoredConfirmation {
    pub(crate) confirmation: ConsentConfirmation,
    version: u64,
}

impl StoredConfirmation {
    /// The write that replaces it by `confirmation`, refused if it changed since it was read.
    pub(crate) fn replaced_by(&self, confirmation: &ConsentConfirmation) -> Result<WriteOp> {
        Ok(WriteOp::Put {
            table: Table::Main,
            item: Item::new(
                keys::consent_confirmation(&confirmation.id),
                self.version + 1,
                text(confirmation)?,
            )
            .expiring_at(kept_until(confirmation)),
            condition: Condition::VersionIs(self.version),
        })
    }
}

/// The confirmation whose token has the digest `id`, if one is stored.
pub(crate) async fn confirmation(core: &Core, id: &str) -> Result<Option<StoredConfirmation>> {
    let item = core
        .store
        .get(Table::Main, &keys::consent_confirmation(id))
        .await
        .map_err(store_error)?;
    item.map(|item| {
        Ok(StoredConfirmation {
            confirmation: serde_json::from_str(&item.data)
                .map_err(|e| Error::Internal(e.to_string()))?,
            version: item.version,
        })
    })
    .transpose()
}

/// The write that stores a new confirmation (refused if its digest exists: tokens are random).
pub(crate) fn confirmation_created(confirmation: &ConsentConfirmation) -> Result<WriteOp> {
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::consent_confirmation(&confirmation.id),
            1,
            text(confirmation)?,
        )
        .expiring_at(kept_until(confirmation)),
        condition: Condition::NotExists,
    })
}

fn kept_until(confirmation: &ConsentConfirmation) -> i64 {
    (confirmation.expires_at + KEPT_AFTER_EXPIRY).unix_timestamp()
}

/// A message asking a lead to confirm marketing consent, for the mailer: it reads the lead's
/// address from the lead (the message holds no contact data) and sends the link with `token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentMessage {
    pub id: String,
    pub lead_id: String,
    pub brand: String,
    /// `email` when the lead has an address, else `sms`.
    pub channel: String,
    pub template: String,
    /// The confirmation token, in clear only here (see the module's documentation).
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The write that queues `message` in the consent outbox until its token expires.
pub(crate) fn message_queued(message: &ConsentMessage) -> Result<WriteOp> {
    let data = serde_json::to_string(message).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::consent_message(&message.id), 1, data)
            .with_index(
                Index::Gsi1,
                keys::CONSENT_OUTBOX,
                keys::by_time(message.created_at, &message.id),
            )
            .expiring_at(message.expires_at.unix_timestamp()),
        condition: Condition::NotExists,
    })
}

/// The consent outbox, newest first (at most `limit` messages): what a mailer sends.
pub(crate) async fn queued_messages(core: &Core, limit: u32) -> Result<Vec<ConsentMessage>> {
    let query = Query::new(Table::Main, Some(Index::Gsi1), keys::CONSENT_OUTBOX)
        .limit(limit)
        .descending();
    let page = core.store.query(query).await.map_err(store_error)?;
    page.items
        .iter()
        .map(|i| serde_json::from_str(&i.data).map_err(|e| Error::Internal(e.to_string())))
        .collect()
}

fn text(confirmation: &ConsentConfirmation) -> Result<String> {
    serde_json::to_string(confirmation).map_err(|e| Error::Internal(e.to_string()))
}
