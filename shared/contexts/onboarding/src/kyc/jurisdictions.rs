//! Jurisdiction rules as versioned configuration in the store.
//!
//! Each jurisdiction has an audited item with the rules in force (`JURISDICTION#<id>/ACTIVE`,
//! its own audit stream `jurisdiction/<id>`) and an immutable copy of every version
//! (`JURISDICTION#<id>/V#<version>`), written in the same transaction. Until a jurisdiction is
//! first changed, the embedded default is in force as version 1; the first change *adopts* it
//! (stores version 1 with a `jurisdiction.adopted` event) before recording the change, so the
//! stream starts with the full document and each later event shows exactly what changed.
//!
//! A check records the version it was decided under; a check still waiting for its provider
//! is decided under the version it started with. New checks take the newest version.

use std::collections::BTreeMap;

use crate::kyc::model::{JurisdictionRules, JurisdictionSet};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};

use super::repo;
use brokeros_kernel::Answer;
use brokeros_kernel::Core;
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};

/// The rules in force: the stored ones, and the embedded default for every jurisdiction never
/// changed.
pub async fn active_jurisdictions(services: &Core) -> Result<JurisdictionSet> {
    let mut by_id: BTreeMap<String, JurisdictionRules> = JurisdictionSet::embedded_default()
        .jurisdictions()
        .iter()
        .map(|j| (j.id.clone(), j.clone()))
        .collect();
    let mut ids: std::collections::BTreeSet<String> = by_id.keys().cloned().collect();
    ids.extend(repo::jurisdiction_catalog(services).await?.ids);
    for stored in repo::stored_jurisdictions(services, &ids).await? {
        by_id.insert(stored.id.clone(), stored);
    }
    JurisdictionSet::new(by_id.into_values().collect()).map_err(|e| {
        Error::Internal(format!(
            "the jurisdiction rules in force are inconsistent: {e}"
        ))
    })
}

/// One version of a jurisdiction's rules, as a check decided under it saw them.
pub async fn jurisdiction_version(
    services: &Core,
    id: &str,
    version: u32,
) -> Result<JurisdictionRules> {
    if let Some(rules) = repo::version_copy(services, id, version).await? {
        return Ok(rules);
    }
    JurisdictionSet::embedded_default()
        .get(id)
        .filter(|j| j.version == version)
        .cloned()
        .ok_or_else(|| Error::NotFound {
            entity: "jurisdiction version",
            id: format!("{id}/{version}"),
        })
}

/// Every stored version of a jurisdiction's rules, oldest first (the embedded version 1 when
/// it was never changed). Compliance and admins only.
pub async fn jurisdiction_history(
    services: &Core,
    principal: &Principal,
    id: &str,
) -> Result<Vec<JurisdictionRules>> {
    principal.require_any(&[Role::Compliance, Role::Admin], "read jurisdiction rules")?;
    let id = normalize::code("id", id, 32)?;
    let mut versions = repo::version_copies(services, &id).await?;
    if versions.is_empty() {
        versions.extend(JurisdictionSet::embedded_default().get(&id).cloned());
    }
    if versions.is_empty() {
        return Err(Error::NotFound {
            entity: "jurisdiction",
            id,
        });
    }
    Ok(versions)
}

fn version_conflict(id: &str, in_force: u32) -> Error {
    Error::conflict(
        "jurisdiction_version_conflict",
        format!(
            "jurisdiction {id} is at version {in_force}; a change must be version {}",
            in_force + 1
        ),
    )
}

/// Before the first change of a jurisdiction that has an embedded default, stores that
/// default as its version 1. Changes nothing in force, so a lost race is fine.
async fn adopt_embedded(
    services: &Core,
    ctx: &OpContext,
    change: &JurisdictionRules,
) -> Result<()> {
    let Some(embedded) = JurisdictionSet::embedded_default().get(&change.id).cloned() else {
        return Ok(());
    };
    if services
        .find::<JurisdictionRules>(&change.id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    // A change that would be refused adopts nothing.
    if change.version != embedded.version + 1 {
        return Err(version_conflict(&change.id, embedded.version));
    }
    let mut changes = Changeset::new();
    changes.create(
        ctx,
        services.ids.as_ref(),
        &embedded,
        "jurisdiction.adopted",
    )?;
    changes.put(repo::version_copy_put(&embedded)?);
    // Applied or raced: either way the embedded default is stored as version 1.
    services.commit(changes).await?;
    Ok(())
}

/// Puts a new version of a jurisdiction's rules in force (compliance and admins only). The
/// document's `version` must be the next one (the one in force plus 1, or 1 for a new
/// jurisdiction), so two officers editing at once cannot overwrite each other. The new
/// version, its immutable copy and the audit event commit together; older versions stay.
pub async fn update_jurisdiction(
    services: &Core,
    principal: &Principal,
    rules: JurisdictionRules,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(
        &[Role::Compliance, Role::Admin],
        "change jurisdiction rules",
    )?;
    rules.validate()?;
    active_jurisdictions(services).await?.with(rules.clone())?;
    let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
    adopt_embedded(services, &ctx, &rules).await?;
    let (rules, ctx) = (&rules, &ctx);
    execute(services, key, move || {
        Box::pin(async move {
            let stored = services.find::<JurisdictionRules>(&rules.id).await?;
            let catalog = repo::jurisdiction_catalog(services).await?;
            let in_force = stored.as_ref().map_or(0, |s| s.entity.version);
            if rules.version != in_force + 1 {
                return Err(version_conflict(&rules.id, in_force));
            }
            // Checked again on fresh reads: another jurisdiction may have changed meanwhile.
            active_jurisdictions(services).await?.with(rules.clone())?;
            let mut changes = Changeset::new();
            match &stored {
                Some(before) => changes.update(
                    ctx,
                    services.ids.as_ref(),
                    before,
                    rules,
                    "jurisdiction.updated",
                    vec![],
                )?,
                None => {
                    changes.create(ctx, services.ids.as_ref(), rules, "jurisdiction.created")?
                }
            }
            changes.put(repo::version_copy_put(rules)?);
            let embedded = JurisdictionSet::embedded_default().get(&rules.id).is_some();
            if !embedded && let Some(listed) = repo::add_to_catalog(&catalog, &rules.id)? {
                changes.put(listed);
            }
            Ok((Answer::done(rules), changes))
        })
    })
    .await
}
