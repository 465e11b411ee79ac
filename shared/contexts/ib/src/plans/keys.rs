//! Where commission plans live in the single table: one partition per plan, holding its audited
//! record (`PLAN`) and the text of each version (`V#<version>`, written once, never updated).

use brokeros_store::Key;

pub fn plan_pk(plan_id: &str) -> String {
    format!("IBPLAN#{plan_id}")
}

pub fn plan_record(plan_id: &str) -> Key {
    Key::new(plan_pk(plan_id), "PLAN")
}

pub const PLAN_VERSION_PREFIX: &str = "V#";

pub fn plan_version(plan_id: &str, version: u32) -> Key {
    Key::new(
        plan_pk(plan_id),
        format!("{PLAN_VERSION_PREFIX}{version:010}"),
    )
}

/// The index partition that lists every plan (listing only; decisions read plans by key).
pub const PLANS_LISTING: &str = "IBPLANS";
