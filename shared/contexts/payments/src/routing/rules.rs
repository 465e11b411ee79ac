//! The deposit routing rules as versioned configuration in the store.
//!
//! One document governs all deposits. Its versions are immutable items
//! (`PAYROUTING/V#<version>`, written once, never updated); the audited pointer
//! `PAYROUTING/ACTIVE` (audit stream `payment_routing/deposits`) names the version in force and
//! the SHA-256 of its stored text, and moves with every change in the same transaction as the
//! new version. Until the first change, the embedded default
//! (`shared/domain/config/payment-routing.json`) is in force as version 1; the first change
//! adopts it (stores it as version 1 with a `payment_routing.adopted` event) before recording
//! itself, so every version that was ever in force is in the store.
//!
//! A change's audit event names exactly what changed, item by item: the pointer's `version`,
//! `sha256` and counts, the other settings (`max_attempts`, `ranking`, `health`),
//! `country_groups.<name>`, `providers.<id>` and `rules.<id>` (before and after; null
//! where one was added or removed) and `rule_order` when the order of the rules changed (it
//! matters). A very large change records the SHA-256 of each changed item instead of its
//! content, which stays in the immutable versions.
//!
//! A routing decision records the version it was taken under (`RoutingDecision::rules_version`);
//! a deposit falls back under that same version ([`routing_rules_version`]). Compiled rules
//! are cached in the process by the digest of their text, so routing a deposit costs one small
//! read when the rules have not changed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use crate::model::{RoutingDocument, RoutingRules, RoutingRulesInForce};
use brokeros_kernel::audit::FieldChange;
use brokeros_kernel::canonical::sha256_hex;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result};
use brokeros_store::MAX_ITEM_DATA_BYTES;
use serde::Serialize;
use serde_json::Value;

use super::RULES_EDITORS;
use super::repo::rules::{stored_versions, version_put, version_text};
use brokeros_kernel::Answer;
use brokeros_kernel::Core;
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::{Changeset, Committed};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};

/// The id of the one routing rules document (its audit stream is `payment_routing/deposits`).
pub const ROUTING_RULES_ID: &str = "deposits";

/// Field changes larger than this (serialized) are recorded as digests.
const MAX_AUDITED_CHANGE_BYTES: usize = 200 * 1024;

/// How many compiled documents the process keeps.
const CACHE_ENTRIES: usize = 8;

fn document_text(document: &RoutingDocument) -> Result<String> {
    serde_json::to_string(document).map_err(|e| Error::Internal(e.to_string()))
}

fn in_force(document: &RoutingDocument, text: &str) -> RoutingRulesInForce {
    RoutingRulesInForce {
        id: ROUTING_RULES_ID.to_string(),
        version: document.version,
        sha256: sha256_hex(text.as_bytes()),
        provider_count: document.providers.len(),
        rule_count: document.rules.len(),
    }
}

struct Embedded {
    rules: Arc<RoutingRules>,
    text: String,
}

fn embedded() -> &'static Embedded {
    static EMBEDDED: OnceLock<Embedded> = OnceLock::new();
    EMBEDDED.get_or_init(|| {
        let rules = RoutingRules::embedded_default();
        let text = document_text(rules.document()).expect("the embedded rules serialize");
        Embedded {
            rules: Arc::new(rules),
            text,
        }
    })
}

type Cache = Mutex<Vec<(String, Arc<RoutingRules>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

fn cached(sha256: &str) -> Option<Arc<RoutingRules>> {
    let entries = cache().lock().unwrap_or_else(|e| e.into_inner());
    entries
        .iter()
        .find(|(digest, _)| digest == sha256)
        .map(|(_, rules)| rules.clone())
}

/// Compiles stored text of `version` (whose digest is `sha256`) and keeps it.
fn compile(version: u32, text: &str, sha256: &str) -> Result<Arc<RoutingRules>> {
    let rules = RoutingRules::from_json(text).map_err(|e| {
        Error::Internal(format!(
            "stored routing rules version {version} are invalid: {e}"
        ))
    })?;
    if rules.version() != version {
        return Err(Error::Internal(format!(
            "stored routing rules version {version} call themselves version {}",
            rules.version()
        )));
    }
    let rules = Arc::new(rules);
    let mut entries = cache().lock().unwrap_or_else(|e| e.into_inner());
    if entries.len() >= CACHE_ENTRIES {
        entries.remove(0);
    }
    entries.push((sha256.to_string(), rules.clone()));
    Ok(rules)
}

/// The version a pointer names, checked against the digest the pointer recorded.
async fn pointed(services: &Core, p: &RoutingRulesInForce) -> Result<Arc<RoutingRules>> {
    if let Some(rules) = cached(&p.sha256) {
        return Ok(rules);
    }
    let text = version_text(services, p.version).await?.ok_or_else(|| {
        Error::Internal(format!(
            "routing rules version {} is in force but not stored",
            p.version
        ))
    })?;
    if sha256_hex(text.as_bytes()) != p.sha256 {
        return Err(Error::Internal(format!(
            "stored routing rules version {} differ from the text put in force (SHA-256 mismatch)",
            p.version
        )));
    }
    compile(p.version, &text, &p.sha256)
}

/// The rules in force: the newest stored version, or the embedded default (version 1).
pub async fn active_routing_rules(services: &Core) -> Result<Arc<RoutingRules>> {
    match services
        .find::<RoutingRulesInForce>(ROUTING_RULES_ID)
        .await?
    {
        Some(p) => pointed(services, &p.entity).await,
        None => Ok(embedded().rules.clone()),
    }
}

/// One version of the rules, as a deposit routed under it saw them (for its fallbacks).
pub async fn routing_rules_version(services: &Core, version: u32) -> Result<Arc<RoutingRules>> {
    let not_found = || Error::NotFound {
        entity: "routing rules version",
        id: version.to_string(),
    };
    match services
        .find::<RoutingRulesInForce>(ROUTING_RULES_ID)
        .await?
    {
        Some(p) if p.entity.version == version => pointed(services, &p.entity).await,
        None if version == 1 => Ok(embedded().rules.clone()),
        None => Err(not_found()),
        Some(_) => {
            let text = version_text(services, version)
                .await?
                .ok_or_else(not_found)?;
            let sha256 = sha256_hex(text.as_bytes());
            match cached(&sha256) {
                Some(rules) => Ok(rules),
                None => compile(version, &text, &sha256),
            }
        }
    }
}

/// Refuses a payment provider Broker OS does not know, naming it (`NotFound`, entity `payment
/// provider`). A provider is known when a version of the routing rules names it — the version
/// in force, the embedded default (version 1) or any stored version (a provider taken out of
/// the rules still settles what it collected before) — or when this deployment accepts its
/// webhooks (`services.psp`). Names are exact: provider ids are case-sensitive.
pub async fn require_known_provider(services: &crate::Services, name: &str) -> Result<()> {
    let names = |document: &RoutingDocument| document.providers.iter().any(|p| p.id == name);
    let known = services.psp.get(name).is_some()
        || names(embedded().rules.document())
        || names(active_routing_rules(services).await?.document())
        || stored_versions(services).await?.iter().any(names);
    if known {
        Ok(())
    } else {
        Err(Error::NotFound {
            entity: "payment provider",
            id: name.chars().take(64).collect(),
        })
    }
}

/// Every version of the rules, oldest first (the embedded version 1 when they were never
/// changed). Finance, admins and compliance.
pub async fn routing_rules_history(
    services: &Core,
    principal: &Principal,
) -> Result<Vec<RoutingDocument>> {
    principal.require_any(
        &[Role::Finance, Role::Admin, Role::Compliance],
        "read the deposit routing rules",
    )?;
    let mut versions = stored_versions(services).await?;
    if versions.is_empty() {
        versions.push(embedded().rules.document().clone());
    }
    Ok(versions)
}

fn version_conflict(in_force: u32) -> Error {
    Error::conflict(
        "routing_rules_version_conflict",
        format!(
            "the deposit routing rules are at version {in_force}; a change must be version {}",
            in_force + 1
        ),
    )
}

/// Stores the embedded default as version 1 before the first change. Changes nothing in
/// force, so losing a race to another adoption is fine.
async fn adopt_embedded(services: &Core, ctx: &OpContext, change_version: u32) -> Result<()> {
    if services
        .find::<RoutingRulesInForce>(ROUTING_RULES_ID)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let embedded = embedded();
    let version = embedded.rules.version();
    // A change that would be refused adopts nothing.
    if change_version != version + 1 {
        return Err(version_conflict(version));
    }
    let mut changes = Changeset::new();
    changes.create(
        ctx,
        services.ids.as_ref(),
        &in_force(embedded.rules.document(), &embedded.text),
        "payment_routing.adopted",
    )?;
    changes.put(version_put(version, &embedded.text));
    match services.commit(changes).await? {
        Committed::Applied | Committed::Raced => Ok(()),
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

/// `before` and `after` of every item present in either map that differs, as `<prefix>.<id>`.
fn item_changes(
    prefix: &str,
    before: BTreeMap<String, Value>,
    mut after: BTreeMap<String, Value>,
    out: &mut Vec<FieldChange>,
) {
    let ids: BTreeSet<String> = before.keys().chain(after.keys()).cloned().collect();
    let mut before = before;
    for id in ids {
        let (b, a) = (
            before.remove(&id).unwrap_or(Value::Null),
            after.remove(&id).unwrap_or(Value::Null),
        );
        if b != a {
            out.push(FieldChange {
                field: format!("{prefix}.{id}"),
                before: b,
                after: a,
            });
        }
    }
}

/// What changed between two documents, item by item.
fn document_changes(before: &RoutingDocument, after: &RoutingDocument) -> Result<Vec<FieldChange>> {
    let mut out = Vec::new();
    let (mut b, mut a) = (to_value(before)?, to_value(after)?);
    let take = |v: &mut Value, field: &str| {
        v.as_object_mut()
            .and_then(|o| o.remove(field))
            .unwrap_or(Value::Null)
    };
    // The version is the pointer's own field, recorded by its diff.
    for field in ["version", "providers", "rules", "country_groups"] {
        take(&mut b, field);
        take(&mut a, field);
    }
    let settings: BTreeSet<String> = b
        .as_object()
        .into_iter()
        .chain(a.as_object())
        .flat_map(|o| o.keys().cloned())
        .collect();
    for field in settings {
        let (old, new) = (
            b.get(&field).cloned().unwrap_or(Value::Null),
            a.get(&field).cloned().unwrap_or(Value::Null),
        );
        if old != new {
            out.push(FieldChange {
                field,
                before: old,
                after: new,
            });
        }
    }
    let groups = |d: &RoutingDocument| -> Result<BTreeMap<String, Value>> {
        d.country_groups
            .iter()
            .map(|(k, v)| Ok((k.clone(), to_value(v)?)))
            .collect()
    };
    item_changes("country_groups", groups(before)?, groups(after)?, &mut out);
    let providers = |d: &RoutingDocument| -> Result<BTreeMap<String, Value>> {
        d.providers
            .iter()
            .map(|p| Ok((p.id.clone(), to_value(p)?)))
            .collect()
    };
    item_changes("providers", providers(before)?, providers(after)?, &mut out);
    let rules = |d: &RoutingDocument| -> Result<BTreeMap<String, Value>> {
        d.rules
            .iter()
            .map(|r| Ok((r.id.clone(), to_value(r)?)))
            .collect()
    };
    item_changes("rules", rules(before)?, rules(after)?, &mut out);
    let order = |d: &RoutingDocument| d.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    if order(before) != order(after) {
        out.push(FieldChange {
            field: "rule_order".into(),
            before: to_value(&order(before))?,
            after: to_value(&order(after))?,
        });
    }
    let size: usize = out
        .iter()
        .map(|c| c.before.to_string().len() + c.after.to_string().len())
        .sum();
    if size > MAX_AUDITED_CHANGE_BYTES {
        let digest = |v: &Value| match v {
            Value::Null => Value::Null,
            other => Value::String(format!(
                "sha256:{}",
                sha256_hex(other.to_string().as_bytes())
            )),
        };
        for change in &mut out {
            change.before = digest(&change.before);
            change.after = digest(&change.after);
        }
    }
    Ok(out)
}

/// Puts a new version of the routing rules in force. Finance and admins only
/// ([`RULES_EDITORS`]). The document's `version` must be the one in force plus 1, so two
/// editors cannot overwrite each other; the document is validated as a whole (every error
/// names the rule or provider at fault). The new version, the pointer and the audit event
/// commit together; older versions stay. Answers the new pointer ([`RoutingRulesInForce`]).
pub async fn update_routing_rules(
    services: &Core,
    principal: &Principal,
    document: RoutingDocument,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&RULES_EDITORS, "change the deposit routing rules")?;
    let text = document_text(&document)?;
    if text.len() > MAX_ITEM_DATA_BYTES {
        return Err(Error::invalid(
            "invalid_routing_rules",
            "rules",
            format!("the routing rules document is larger than {MAX_ITEM_DATA_BYTES} bytes"),
        ));
    }
    RoutingRules::new(document.clone())?;
    let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
    adopt_embedded(services, &ctx, document.version).await?;
    let (document, text, ctx) = (&document, &text, &ctx);
    execute(services, key, move || {
        Box::pin(async move {
            let stored = services
                .find::<RoutingRulesInForce>(ROUTING_RULES_ID)
                .await?
                .ok_or_else(|| {
                    Error::Internal("the routing rules in force were not adopted".into())
                })?;
            let current = stored.entity.version;
            if document.version != current + 1 {
                return Err(version_conflict(current));
            }
            let before = pointed(services, &stored.entity).await?;
            let after = in_force(document, text);
            let extra = document_changes(before.document(), document)?;
            let mut changes = Changeset::new();
            changes.update(
                ctx,
                services.ids.as_ref(),
                &stored,
                &after,
                "payment_routing.updated",
                extra,
            )?;
            changes.put(version_put(document.version, text));
            Ok((Answer::done(&after), changes))
        })
    })
    .await
}
