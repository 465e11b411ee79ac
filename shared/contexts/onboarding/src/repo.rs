//! The repository of clients, onboardings, compliance reviews and notifications: where each
//! is stored and what indexes find it by (their `Entity` impls), and the reads and
//! bookkeeping items use cases need beyond the kernel's `find`, `get` and `commit` by id.

use std::collections::BTreeMap;

use brokeros_kernel::QueueFilter;
use brokeros_kernel::changeset::{Audited, Changeset, Entity, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Key, Query, SortKeyRange, Table, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys;
use crate::model::{Client, Notification, Onboarding, Review, ReviewStatus};

impl Entity for Client {
    const TYPE: &'static str = "client";
    const NOUN: &'static str = "client";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::client(id)
    }

    // No index: the portal user's client is found by the user's marker
    // ([`unique_user_marker`]), by key.
}

impl Entity for Onboarding {
    const TYPE: &'static str = "onboarding";
    const NOUN: &'static str = "onboarding";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::onboarding(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::onboardings_by_client(&self.client_id),
            keys::by_time(self.started_at, &self.id),
        )]
    }
}

impl Entity for Review {
    const TYPE: &'static str = "review";
    const NOUN: &'static str = "review";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::review(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::reviews_by_status(self.status.as_str()),
            keys::by_time(self.created_at, &self.id),
        )]
    }
}

impl Entity for Notification {
    const TYPE: &'static str = "notification";
    const NOUN: &'static str = "notification";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::notification(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::notifications_by_client(&self.client_id),
            keys::by_time(self.created_at, &self.id),
        )]
    }
}

/// One client per portal user: the marker item `UNIQ#USER#<user>`, holding the client's id,
/// created in the transaction that creates the client (whatever creates it: self-registration,
/// staff registration, lead conversion — see `clients::stage_new_client`) on the condition that
/// it does not exist, so the store itself refuses a second client for one identity, also when
/// requests race.
///
/// Data written before every path wrote the marker: lead conversions did not (only
/// registrations did), and `/me` found the client by a `USER#<user>` index entry of the client
/// item, which is gone. There is no production data to migrate (no deployment has gone live:
/// the AWS template's KYC provider and trading platform are `none` until real adapters exist,
/// docs/ARCHITECTURE.md "Composition per host"), so there is no migration and no fallback read. A development stack's
/// or a local `.brokeros` data directory's clients converted with a portal user before this
/// change have no marker: `/me` answers 404 for them and their user could register again;
/// recreate such data.
pub fn unique_user_marker(user_id: &str, client_id: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::unique_user(user_id), 1, client_id.to_string()),
        condition: Condition::NotExists,
    }
}

/// The id of the portal user `user_id`'s client, if they have one: their marker, read by key
/// (strongly consistent on both engines, so a client just created is found).
pub async fn client_id_of_user(core: &Core, user_id: &str) -> Result<Option<String>> {
    let marker = core
        .store
        .get(Table::Main, &keys::unique_user(user_id))
        .await
        .map_err(store_error)?;
    Ok(marker.map(|item| item.data))
}

/// Marks trading account `login` as client `client_id`'s, in the changeset that records the
/// account on the client (a login is the platform's and names one client for good).
pub(crate) fn login_marker(login: u64, client_id: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::client_of_login(login), 1, client_id.to_string()),
        condition: Condition::NotExists,
    }
}

/// The clients of trading account `logins`, read by key (consistent), as `(login, client id)`
/// pairs; a login the marker does not know is left out.
pub async fn clients_of_logins(core: &Core, logins: &[u64]) -> Result<Vec<(u64, String)>> {
    let keys: Vec<Key> = logins.iter().map(|l| keys::client_of_login(*l)).collect();
    let mut found = Vec::new();
    for (chunk_logins, chunk) in logins
        .chunks(brokeros_store::MAX_GET_MANY_KEYS)
        .zip(keys.chunks(brokeros_store::MAX_GET_MANY_KEYS))
    {
        let items = core
            .store
            .get_many(Table::Main, chunk)
            .await
            .map_err(store_error)?;
        for (login, item) in chunk_logins.iter().zip(items) {
            if let Some(item) = item {
                found.push((*login, item.data));
            }
        }
    }
    Ok(found)
}

/// The client the portal user `user_id` is, if any: the marker, then the client, both by key.
pub async fn client_of_user(core: &Core, user_id: &str) -> Result<Option<Audited<Client>>> {
    let Some(client_id) = client_id_of_user(core, user_id).await? else {
        return Ok(None);
    };
    match core.find::<Client>(&client_id).await? {
        Some(client) => Ok(Some(client)),
        None => Err(Error::Internal(format!(
            "the portal user's marker names client {client_id}, which is not stored"
        ))),
    }
}

/// The page of the reviews with `status` that `filter` asks for, oldest first, each as `view`
/// shows it.
pub async fn reviews_with_status(
    core: &Core,
    status: ReviewStatus,
    filter: QueueFilter,
    view: impl Fn(&Review) -> Value,
) -> Result<Value> {
    let partition = keys::reviews_by_status(status.as_str());
    filter
        .page(core.store.as_ref(), Index::Gsi1, partition, view)
        .await
}

/// A document's full number as kept apart from the client record (which shows it masked).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
struct DocumentNumber {
    number: String,
}

/// Debug output ends up in logs: the number is left out.
impl std::fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentNumber")
            .field("number", &crate::model::mask_number(&self.number))
            .finish()
    }
}

/// Stages the full number of the client's new document `document_id`, committed with the
/// document's (masked) record. Unaudited: no audit event, export or log ever holds it; only the
/// KYC check reads it, to send it to the provider.
pub fn stage_document_number(
    changes: &mut Changeset,
    client_id: &str,
    document_id: &str,
    number: &str,
) -> Result<()> {
    let stored = DocumentNumber {
        number: number.to_string(),
    };
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::client_document_number(client_id, document_id),
            1,
            serde_json::to_string(&stored).map_err(|e| Error::Internal(e.to_string()))?,
        ),
        condition: Condition::NotExists,
    });
    Ok(())
}

/// The full numbers of the client's documents, by document id.
pub async fn document_numbers(core: &Core, client_id: &str) -> Result<BTreeMap<String, String>> {
    let key = keys::client_document_number(client_id, "");
    let query = Query::new(Table::Main, None, key.pk)
        .sk(SortKeyRange::Prefix(keys::DOCUMENT_NUMBER.into()))
        .limit(100);
    let page = core.store.query(query).await.map_err(store_error)?;
    page.items
        .iter()
        .map(|item| {
            let stored: DocumentNumber = serde_json::from_str(&item.data)
                .map_err(|e| Error::Internal(format!("stored document number unreadable: {e}")))?;
            let id = item
                .key
                .sk
                .strip_prefix(keys::DOCUMENT_NUMBER)
                .unwrap_or_default()
                .to_string();
            Ok((id, stored.number))
        })
        .collect()
}
