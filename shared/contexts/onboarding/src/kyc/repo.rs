//! The repository of KYC checks and jurisdiction rules: where each is stored and what indexes
//! find it by (their `Entity` impls), the checks' queries, and the immutable copy of every
//! version of a jurisdiction's rules (`JURISDICTION#<id>/V#<version>`).

use brokeros_kernel::changeset::{Audited, Entity, decode, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Key, Query, SortKeyRange, Table, WriteOp};

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

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let mut indexes = vec![(
            Index::Gsi1,
            keys::kyc_checks_by_client(&self.client_id),
            keys::by_time(self.created_at, &self.id),
        )];
        if let Some(p) = &self.provider {
            indexes.push((
                Index::Gsi2,
                keys::kyc_check_by_provider(&p.provider, &p.check_id),
                self.id.clone(),
            ));
        }
        indexes
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

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::JURISDICTIONS_IN_FORCE.to_string(),
            self.id.clone(),
        )]
    }
}

/// The client's newest checks, newest first, at most `limit`.
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

/// The check that waits on `provider`'s check `provider_check_id`, if it is stored.
pub async fn check_of_provider_check(
    core: &Core,
    provider: &str,
    provider_check_id: &str,
) -> Result<Option<Audited<KycCheckRecord>>> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi2),
        keys::kyc_check_by_provider(provider, provider_check_id),
    )
    .limit(1);
    let page = core.store.query(query).await.map_err(store_error)?;
    page.items.first().map(decode::<KycCheckRecord>).transpose()
}

/// The stored rules in force (a jurisdiction never changed has none stored).
pub async fn stored_jurisdictions(core: &Core) -> Result<Vec<JurisdictionRules>> {
    let query =
        Query::new(Table::Main, Some(Index::Gsi1), keys::JURISDICTIONS_IN_FORCE).limit(1000);
    let page = core.store.query(query).await.map_err(store_error)?;
    page.items
        .iter()
        .map(|item| Ok(decode::<JurisdictionRules>(item)?.entity))
        .collect()
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
