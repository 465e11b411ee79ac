//! The repository of KYC checks and jurisdiction rules: where each is stored and what indexes
//! find it by (their `Entity` impls), the checks' listing, the keyed items a decision reads a
//! check by (the check a provider's check is, the client's latest completed check), and the
//! immutable copy of every version of a jurisdiction's rules (`JURISDICTION#<id>/V#<version>`).

use std::collections::BTreeSet;

use brokeros_kernel::changeset::{Audited, Entity, decode, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Key, Query, SortKeyRange, Table, WriteOp};
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::kyc::model::{JurisdictionRules, KycCheckRecord};

impl Entity for KycCheckRecord {
    const TYPE: &'static str = "kyc_check";
    const NOUN: &'static str = "kyc check";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::kyc_check(id)
    }

    /// Listings only (a client's checks for compliance): what decides is read by key — the
    /// check a provider's check is ([`provider_check_put`]) and the client's latest completed
    /// check ([`advance_latest_completed`]).
    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::kyc_checks_by_client(&self.client_id),
            keys::by_time(self.created_at, &self.id),
        )]
    }
}

impl Entity for JurisdictionRules {
    const TYPE: &'static str = "jurisdiction";
    const NOUN: &'static str = "jurisdiction";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::jurisdiction(id)
    }
}

/// The client's newest checks, newest first, at most `limit`: a listing, read from an index
/// that may not show the last moments' writes yet; no decision rests on it.
pub async fn checks_of_client(
    core: &Core,
    client_id: &str,
    limit: u32,
) -> Result<Vec<KycCheckRecord>> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::kyc_checks_by_client(client_id),
    )
    .limit(limit)
    .descending();
    let page = core.store.query(query).await.map_err(store_error)?;
    page.items
        .iter()
        .map(|item| Ok(decode::<KycCheckRecord>(item)?.entity))
        .collect()
}

/// The item that leads from the provider's check to `check` (which waits on it), created with
/// the check: `None` for a check the provider was never asked about.
pub fn provider_check_put(check: &KycCheckRecord) -> Option<WriteOp> {
    let provider = check.provider.as_ref()?;
    Some(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::kyc_provider_check(&provider.provider, &provider.check_id),
            1,
            check.id.clone(),
        ),
        condition: Condition::NotExists,
    })
}

/// The check that waits on `provider`'s check `provider_check_id`, if it is stored: the
/// provider's check item, then the check, both by key (strongly consistent: a check committed
/// before the provider's webhook arrives is found).
///
/// Checks stored before this item existed were found by an index entry instead; they need no
/// fallback: no deployment has run a KYC check (the AWS template's provider is `none` until a
/// real adapter exists), and a local data directory from before is recreated (see
/// `repo::unique_user_marker`).
pub async fn check_of_provider_check(
    core: &Core,
    provider: &str,
    provider_check_id: &str,
) -> Result<Option<Audited<KycCheckRecord>>> {
    let found = core
        .store
        .get(
            Table::Main,
            &keys::kyc_provider_check(provider, provider_check_id),
        )
        .await
        .map_err(store_error)?;
    let Some(item) = found else { return Ok(None) };
    match core.find::<KycCheckRecord>(&item.data).await? {
        Some(check) => Ok(Some(check)),
        None => Err(Error::Internal(format!(
            "provider check {provider_check_id} leads to kyc check {}, which is not stored",
            item.data
        ))),
    }
}

/// The client's latest completed check, as its pointer item `KYCLATEST#<client>` holds it.
#[derive(Debug, Clone)]
pub struct LatestCompleted {
    pub check_id: String,
    /// The check's place among the client's checks: creation time, then id.
    order: String,
    version: u64,
}

#[derive(Serialize, Deserialize)]
struct LatestCompletedData {
    check_id: String,
    order: String,
}

/// The client's latest completed check's pointer, read by key (strongly consistent), if any
/// check of the client has completed.
///
/// Checks completed before the pointer existed were found from the client's index partition
/// instead; there is no such data to carry over (see [`check_of_provider_check`]).
pub async fn latest_completed(core: &Core, client_id: &str) -> Result<Option<LatestCompleted>> {
    let found = core
        .store
        .get(Table::Main, &keys::kyc_latest_completed(client_id))
        .await
        .map_err(store_error)?;
    found
        .map(|item| {
            let data: LatestCompletedData = serde_json::from_str(&item.data).map_err(|e| {
                Error::Internal(format!("stored latest kyc check is unreadable: {e}"))
            })?;
            Ok(LatestCompleted {
                check_id: data.check_id,
                order: data.order,
                version: item.version,
            })
        })
        .transpose()
}

/// The write that makes the completed full `check` its client's latest completed check, to
/// commit with the check's completion: conditional on the pointer read (`current`), so that two
/// completions at once cannot both move it. `None` when `current` is a newer check (created
/// later), which stays the latest, and for a re-screening, which verifies nobody.
pub fn advance_latest_completed(
    current: Option<&LatestCompleted>,
    check: &KycCheckRecord,
) -> Result<Option<WriteOp>> {
    let order = keys::by_time(check.created_at, &check.id);
    if !check.verified() || current.is_some_and(|c| c.order >= order) {
        return Ok(None);
    }
    let data = serde_json::to_string(&LatestCompletedData {
        check_id: check.id.clone(),
        order,
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    let (version, condition) = match current {
        Some(c) => (c.version + 1, Condition::VersionIs(c.version)),
        None => (1, Condition::NotExists),
    };
    Ok(Some(WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::kyc_latest_completed(&check.client_id), version, data),
        condition,
    }))
}

/// The ids of the jurisdictions created in the store (beyond the embedded ones), as the keyed
/// catalog item holds them, with the item's version for the write that adds one.
#[derive(Debug, Clone, Default)]
pub struct JurisdictionCatalog {
    pub ids: BTreeSet<String>,
    version: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct CatalogData {
    ids: BTreeSet<String>,
}

pub async fn jurisdiction_catalog(core: &Core) -> Result<JurisdictionCatalog> {
    let found = core
        .store
        .get(Table::Main, &keys::jurisdiction_catalog())
        .await
        .map_err(store_error)?;
    let Some(item) = found else {
        return Ok(JurisdictionCatalog::default());
    };
    let data: CatalogData = serde_json::from_str(&item.data)
        .map_err(|e| Error::Internal(format!("the jurisdiction catalog is unreadable: {e}")))?;
    Ok(JurisdictionCatalog {
        ids: data.ids,
        version: Some(item.version),
    })
}

/// The write that adds `id` to the catalog read as `catalog`, to commit with the jurisdiction's
/// creation (conditional on that read, so two creations at once cannot lose one); none when
/// `id` is listed already.
pub fn add_to_catalog(catalog: &JurisdictionCatalog, id: &str) -> Result<Option<WriteOp>> {
    if catalog.ids.contains(id) {
        return Ok(None);
    }
    let mut ids = catalog.ids.clone();
    ids.insert(id.to_string());
    let data =
        serde_json::to_string(&CatalogData { ids }).map_err(|e| Error::Internal(e.to_string()))?;
    let (version, condition) = match catalog.version {
        Some(v) => (v + 1, Condition::VersionIs(v)),
        None => (1, Condition::NotExists),
    };
    Ok(Some(WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::jurisdiction_catalog(), version, data),
        condition,
    }))
}

/// The stored rules in force of the jurisdictions `ids` (one never changed has none stored),
/// read by key: every KYC decision rests on them, so they must not lag behind a change.
pub async fn stored_jurisdictions(
    core: &Core,
    ids: &BTreeSet<String>,
) -> Result<Vec<JurisdictionRules>> {
    let stored = core
        .find_many::<JurisdictionRules>(ids.iter().map(String::as_str))
        .await?;
    Ok(stored.into_iter().map(|s| s.entity).collect())
}

/// The immutable copy of `rules`' version, which commits with the version it copies.
pub fn version_copy_put(rules: &JurisdictionRules) -> Result<WriteOp> {
    let data = serde_json::to_string(rules).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::jurisdiction_version(&rules.id, rules.version),
            1,
            data,
        ),
        condition: Condition::NotExists,
    })
}

/// The stored copy of version `version` of jurisdiction `id`'s rules, if any.
pub async fn version_copy(
    core: &Core,
    id: &str,
    version: u32,
) -> Result<Option<JurisdictionRules>> {
    let found = core
        .store
        .get(Table::Main, &keys::jurisdiction_version(id, version))
        .await
        .map_err(store_error)?;
    found
        .map(|item| {
            serde_json::from_str(&item.data)
                .map_err(|e| Error::Internal(format!("stored jurisdiction rules unreadable: {e}")))
        })
        .transpose()
}

/// Every stored copy of jurisdiction `id`'s rules, oldest version first.
pub async fn version_copies(core: &Core, id: &str) -> Result<Vec<JurisdictionRules>> {
    let query = Query::new(Table::Main, None, keys::jurisdiction_version(id, 1).pk)
        .sk(SortKeyRange::Prefix("V#".into()))
        .limit(1000);
    let page = core.store.query(query).await.map_err(store_error)?;
    page.items
        .iter()
        .map(|i| serde_json::from_str(&i.data).map_err(|e| Error::Internal(e.to_string())))
        .collect()
}
