//! Commission plans as versioned configuration in the store.
//!
//! A plan is a JSON document ([`CommissionPlan`] says what it holds and checks it). Each plan
//! id has an audited record (`commission_plan/<id>`) listing its versions with their effective
//! times and the SHA-256 of their stored text, and one immutable item per version. A new
//! version is the last one plus 1 and takes effect after the last one and not before now: a
//! plan never changes what deals already earned; a correction is a new version from a later
//! time. A version keeps the plan's period kind (`plan_period_changed` otherwise): what a
//! beneficiary carries between statements is kept per kind of period, and would be stranded.
//! The record, the version's text and the audit event (naming each changed field of the
//! document, rules by id) commit together.
//!
//! The engine reads plans as a [`PlanBook`] ([`plan_book`]): every version of the plans asked
//! for, compiled once per process by the digest of their text.

mod keys;
mod repo;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use utoipa::ToSchema;

use brokeros_kernel::audit::FieldChange;
use brokeros_kernel::canonical::sha256_hex;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Core, Error, Result};
use brokeros_store::MAX_ITEM_DATA_BYTES;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Services;
use crate::model::plan::{CommissionPlan, PlanBook};
use crate::model::{Millis, PeriodKind, SymbolGroups};

/// Who may write plans: finance and admins, and partner managers.
pub const PLAN_EDITORS: [Role; 3] = [Role::Finance, Role::Admin, Role::Partners];

/// One version of a plan as its record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanVersionRef {
    pub version: u32,
    pub effective_from_msc: Millis,
    /// Of the version's stored text.
    pub sha256: String,
}

/// A plan's audited record: its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommissionPlanRecord {
    pub id: String,
    pub versions: Vec<PlanVersionRef>,
}

impl CommissionPlanRecord {
    pub fn latest(&self) -> Option<&PlanVersionRef> {
        self.versions.last()
    }
}

/// What changed between two versions' documents: each top-level field, and the rules by id.
fn document_changes(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let fields = |v: &Value| -> BTreeMap<String, Value> {
        v.as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let (mut b, mut a) = (fields(before), fields(after));
    // The version and its time are the record's own fields; rules are compared one by one.
    for field in ["version", "effective_from"] {
        b.remove(field);
        a.remove(field);
    }
    let rules = |v: Option<Value>| -> BTreeMap<String, Value> {
        v.and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let id = r
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (id, r)
            })
            .collect()
    };
    let (rules_before, rules_after) = (rules(b.remove("rules")), rules(a.remove("rules")));
    let names: BTreeSet<String> = b.keys().chain(a.keys()).cloned().collect();
    for field in names {
        let (old, new) = (
            b.get(&field).cloned().unwrap_or(Value::Null),
            a.get(&field).cloned().unwrap_or(Value::Null),
        );
        if old != new {
            out.push(FieldChange {
                field: format!("document.{field}"),
                before: old,
                after: new,
            });
        }
    }
    let ids: BTreeSet<&String> = rules_before.keys().chain(rules_after.keys()).collect();
    for id in ids {
        let (old, new) = (
            rules_before.get(id).cloned().unwrap_or(Value::Null),
            rules_after.get(id).cloned().unwrap_or(Value::Null),
        );
        if old != new {
            out.push(FieldChange {
                field: format!("document.rules.{id}"),
                before: old,
                after: new,
            });
        }
    }
    out
}

/// Stores a new version of a plan (the first creates the plan). The document is checked as a
/// whole against the configuration's symbol groups; its `version` must follow the last one and
/// its `effective_from` must be after the last version's and not in the past. Answers the
/// plan's record.
pub async fn put_plan_version(
    services: &Services,
    principal: &Principal,
    document: Value,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&PLAN_EDITORS, "change commission plans")?;
    let text = serde_json::to_string(&document).map_err(|e| Error::Internal(e.to_string()))?;
    if text.len() > MAX_ITEM_DATA_BYTES {
        return Err(Error::invalid(
            "invalid_plan",
            "plan",
            format!("a plan document is at most {MAX_ITEM_DATA_BYTES} bytes"),
        ));
    }
    let plan = CommissionPlan::from_value(&document, &services.config.symbol_groups)?;
    let core: &Core = services;
    let ctx = brokeros_kernel::user_ctx(core, principal, correlation_id);
    if plan.effective_from_msc < crate::millis(ctx.now) {
        return Err(Error::invalid(
            "plan_backdated",
            "effective_from",
            "a plan version takes effect from now on, never in the past",
        ));
    }
    let (plan, text, document, ctx) = (&plan, &text, &document, &ctx);
    execute(core, key, move || {
        Box::pin(async move {
            let stored = core.find::<CommissionPlanRecord>(&plan.id).await?;
            let new_ref = PlanVersionRef {
                version: plan.version,
                effective_from_msc: plan.effective_from_msc,
                sha256: sha256_hex(text.as_bytes()),
            };
            let mut changes = Changeset::new();
            let record = match stored {
                None => {
                    if plan.version != 1 {
                        return Err(version_conflict(&plan.id, 0));
                    }
                    let record = CommissionPlanRecord {
                        id: plan.id.clone(),
                        versions: vec![new_ref],
                    };
                    changes.create(ctx, core.ids.as_ref(), &record, "commission_plan.created")?;
                    record
                }
                Some(stored) => {
                    let last = stored.entity.latest().cloned().ok_or_else(|| {
                        Error::Internal(format!("commission plan {} has no version", plan.id))
                    })?;
                    if plan.version != last.version + 1 {
                        return Err(version_conflict(&plan.id, last.version));
                    }
                    if plan.effective_from_msc <= last.effective_from_msc {
                        return Err(Error::invalid(
                            "plan_version_out_of_order",
                            "effective_from",
                            format!(
                                "version {} of plan {} takes effect at {} ms; a new version must take effect after it",
                                last.version, plan.id, last.effective_from_msc
                            ),
                        ));
                    }
                    let previous = repo::version_texts(core, &[(&plan.id, last.version)])
                        .await?
                        .remove(0);
                    let previous: Value = serde_json::from_str(&previous).map_err(|e| {
                        Error::Internal(format!("a stored plan is unreadable: {e}"))
                    })?;
                    let previous_period = period_of_document(&previous)?;
                    if plan.period != previous_period {
                        return Err(Error::invalid(
                            "plan_period_changed",
                            "period",
                            format!(
                                "plan {} closes {} periods; a version may not change that (what beneficiaries carry between statements is kept per kind of period): make a new plan instead",
                                plan.id,
                                crate::keys::period_kind_name(previous_period)
                            ),
                        ));
                    }
                    let mut record = stored.entity.clone();
                    record.versions.push(new_ref);
                    changes.update(
                        ctx,
                        core.ids.as_ref(),
                        &stored,
                        &record,
                        "commission_plan.version_added",
                        document_changes(&previous, document),
                    )?;
                    record
                }
            };
            crate::payout::sequence::stage_sequence_start(
                core,
                ctx,
                plan.period,
                plan.effective_from_msc,
                &mut changes,
            )
            .await?;
            changes.put(repo::version_put(&plan.id, plan.version, text));
            Ok((Answer::created(&record), changes))
        })
    })
    .await
}

/// The period kind a stored plan document names (monthly when it names none).
fn period_of_document(document: &Value) -> Result<PeriodKind> {
    #[derive(Deserialize)]
    struct Named {
        #[serde(default)]
        period: PeriodKind,
    }
    Named::deserialize(document)
        .map(|named| named.period)
        .map_err(|e| Error::Internal(format!("a stored plan names no period kind: {e}")))
}

/// The kind of period the plans of one agreement share, read by key. Every plan must be stored
/// (else `unknown_plan` on `plans[i]`), and every version of each must close the same kind of
/// period as the first plan's (else `plan_periods_differ` on `plans[i]`): an IB's statements
/// and its dashboard follow one payout schedule at a time. Currencies need no check: a leg is
/// converted into the IB's payout currency at the deal's time.
///
/// Errors: `Validation` as above; storage; `Internal` for a stored plan that no longer checks.
pub async fn agreement_period(services: &Services, plan_ids: &[String]) -> Result<PeriodKind> {
    let core: &Core = services;
    let stored: BTreeSet<String> = core
        .find_many::<CommissionPlanRecord>(plan_ids.iter().map(String::as_str))
        .await?
        .into_iter()
        .map(|record| record.entity.id)
        .collect();
    if let Some((i, missing)) = plan_ids
        .iter()
        .enumerate()
        .find(|(_, id)| !stored.contains(*id))
    {
        return Err(Error::invalid(
            "unknown_plan",
            format!("plans[{i}]"),
            format!("commission plan '{missing}' is not stored: store its first version first"),
        ));
    }
    let book = plan_book(
        core,
        &services.config.symbol_groups,
        plan_ids.iter().map(String::as_str),
    )
    .await?;
    let kinds_of = |id: &str| -> BTreeSet<PeriodKind> {
        book.versions()
            .filter(|v| v.id == id)
            .map(|v| v.period)
            .collect()
    };
    let mut agreed: Option<PeriodKind> = None;
    for (i, id) in plan_ids.iter().enumerate() {
        for kind in kinds_of(id) {
            match agreed {
                None => agreed = Some(kind),
                Some(first) if first == kind => {}
                Some(first) => {
                    return Err(Error::invalid(
                        "plan_periods_differ",
                        format!("plans[{i}]"),
                        format!(
                            "plan '{id}' closes {} periods, the agreement's other plans {}: an agreement's plans share one payout schedule",
                            crate::keys::period_kind_name(kind),
                            crate::keys::period_kind_name(first)
                        ),
                    ));
                }
            }
        }
    }
    agreed.ok_or_else(|| Error::Internal("an agreement names no stored plan version".into()))
}

fn version_conflict(id: &str, last: u32) -> Error {
    Error::conflict(
        "plan_version_conflict",
        format!(
            "commission plan {id} is at version {last}; the next version must be {}",
            last + 1
        ),
    )
}

/// Who may read plans: their editors, and compliance.
const PLAN_READERS: [Role; 4] = [Role::Finance, Role::Admin, Role::Partners, Role::Compliance];

/// Every version of plan `id`, oldest first, as stored.
pub async fn plan_versions(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    principal.require_any(&PLAN_READERS, "read commission plans")?;
    let core: &Core = services;
    let record = core.get::<CommissionPlanRecord>(id).await?.entity;
    let wanted: Vec<(&str, u32)> = record
        .versions
        .iter()
        .map(|v| (record.id.as_str(), v.version))
        .collect();
    let versions = repo::version_texts(core, &wanted)
        .await?
        .iter()
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|e| Error::Internal(format!("a stored plan is unreadable: {e}")))
        })
        .collect::<Result<Vec<Value>>>()?;
    Ok(serde_json::json!({ "id": record.id, "versions": versions }))
}

/// A page of plans (their records).
pub async fn plans(
    services: &Services,
    principal: &Principal,
    filter: brokeros_kernel::PageParams,
) -> Result<Value> {
    principal.require_any(&PLAN_READERS, "read commission plans")?;
    let limit = Some(brokeros_kernel::page_limit(filter.limit)?);
    repo::plans_page(services, limit, filter.cursor, |record| {
        serde_json::to_value(record).expect("plan records serialize")
    })
    .await
}

type Compiled = Mutex<HashMap<String, Arc<CommissionPlan>>>;

/// Compiled versions by the digest of their text (and the symbol groups they were checked
/// against), so a batch of deals reads a plan's record, not its whole text, when nothing changed.
fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The most compiled versions a process keeps before it starts afresh.
const MAX_COMPILED: usize = 512;

/// Every version of the plans `ids` (unknown ids are left out: agreements name stored plans
/// only ([`agreement_period`]), but one recorded before that check may name a plan never
/// stored, which then earns nothing).
pub async fn plan_book<'a>(
    core: &Core,
    symbol_groups: &SymbolGroups,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<PlanBook> {
    let records = core.find_many::<CommissionPlanRecord>(ids).await?;
    let groups_digest = sha256_hex(
        serde_json::to_string(symbol_groups)
            .map_err(|e| Error::Internal(e.to_string()))?
            .as_bytes(),
    );
    let mut book_versions = Vec::new();
    let mut missing = Vec::new();
    {
        let cache = compiled().lock().unwrap_or_else(|e| e.into_inner());
        for record in &records {
            for v in &record.entity.versions {
                match cache.get(&format!("{}:{groups_digest}", v.sha256)) {
                    Some(plan) => book_versions.push(plan.clone()),
                    None => missing.push((record.entity.id.as_str(), v)),
                }
            }
        }
    }
    if !missing.is_empty() {
        let wanted: Vec<(&str, u32)> = missing.iter().map(|(id, v)| (*id, v.version)).collect();
        let texts = repo::version_texts(core, &wanted).await?;
        let mut cache = compiled().lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() + texts.len() > MAX_COMPILED {
            cache.clear();
        }
        for ((id, v), text) in missing.iter().zip(texts) {
            if sha256_hex(text.as_bytes()) != v.sha256 {
                return Err(Error::Internal(format!(
                    "stored commission plan {id} version {} differs from the text recorded (SHA-256 mismatch)",
                    v.version
                )));
            }
            let plan = CommissionPlan::from_json(&text, symbol_groups).map_err(|e| {
                Error::Internal(format!(
                    "stored commission plan {id} version {} no longer checks: {e}",
                    v.version
                ))
            })?;
            let plan = Arc::new(plan);
            cache.insert(format!("{}:{groups_digest}", v.sha256), plan.clone());
            book_versions.push(plan);
        }
    }
    let mut book = PlanBook::default();
    for plan in book_versions {
        book.insert_shared(plan)?;
    }
    Ok(book)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_version_change_names_each_changed_field_and_rule() {
        let before = json!({"id": "p", "version": 1, "effective_from": 1, "min_lots": "0.01",
            "rules": [{"id": "fx", "rate": "5"}, {"id": "metals", "rate": "8"}]});
        let after = json!({"id": "p", "version": 2, "effective_from": 9, "min_lots": "0.10",
            "rules": [{"id": "fx", "rate": "6"}, {"id": "metals", "rate": "8"}, {"id": "idx", "rate": "1"}]});
        let changes = document_changes(&before, &after);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "document.min_lots",
                "document.rules.fx",
                "document.rules.idx"
            ]
        );
        assert_eq!(changes[2].before, Value::Null);
    }
}
