//! The back office's reads of the audit trail across every context: search by entity and day,
//! a signed download, and the principals that acted (admins and compliance). The reads are
//! the kernel's (`brokeros_kernel::audit_search`, `audit_export`); what the app adds is who may
//! read and which entity types write audit events: every context's audited entities.

use brokeros_kernel::audit_export::ExportBundle;
use brokeros_kernel::audit_search::{self, ActorsInUse, AuditSearch, DaysFilter, ExportFilter};
use brokeros_kernel::changeset::Entity;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::signing::Signer;
use brokeros_kernel::{Error, Page, Result};
use serde_json::Value;

use crate::Services;

/// Who may read the audit trail: admins, and compliance (audits and access reviews are theirs).
pub const READERS: [Role; 2] = [Role::Admin, Role::Compliance];

/// The largest download answered, in bytes of JSON: under the 6 MB a Lambda may answer. A
/// larger selection is `brokeros audit export`'s or the nightly export's.
pub const MAX_DOWNLOAD_BYTES: usize = 5 << 20;

/// Every entity type that writes audit events (its `Entity::TYPE`), in the order of the contexts.
pub const ENTITY_TYPES: [&str; 41] = [
    <brokeros_crm::model::Lead as Entity>::TYPE,
    <brokeros_onboarding::model::Client as Entity>::TYPE,
    <brokeros_onboarding::model::Onboarding as Entity>::TYPE,
    <brokeros_onboarding::model::Review as Entity>::TYPE,
    <brokeros_onboarding::model::Notification as Entity>::TYPE,
    <brokeros_onboarding::kyc::model::KycCheckRecord as Entity>::TYPE,
    <brokeros_onboarding::kyc::model::JurisdictionRules as Entity>::TYPE,
    <brokeros_payments::deposits::model::Deposit as Entity>::TYPE,
    <brokeros_payments::transfers::model::Transfer as Entity>::TYPE,
    <brokeros_payments::model::RoutingRulesInForce as Entity>::TYPE,
    <brokeros_payments::model::ProviderHealthRecord as Entity>::TYPE,
    <brokeros_withdrawals::model::Withdrawal as Entity>::TYPE,
    <brokeros_ledger::model::Entry as Entity>::TYPE,
    <brokeros_recon::ReconSummary as Entity>::TYPE,
    <brokeros_approvals::ApprovalProcess as Entity>::TYPE,
    <brokeros_ib::model::Application as Entity>::TYPE,
    <brokeros_ib::model::Ib as Entity>::TYPE,
    <brokeros_ib::model::Invitation as Entity>::TYPE,
    <brokeros_ib::model::ClientAttribution as Entity>::TYPE,
    <brokeros_ib::model::LeadReferrals as Entity>::TYPE,
    <brokeros_ib::plans::CommissionPlanRecord as Entity>::TYPE,
    <brokeros_ib::deals::DealFeed as Entity>::TYPE,
    <brokeros_ib::accruals::QuarantinedDeal as Entity>::TYPE,
    <brokeros_ib::model::payout::PayoutRun as Entity>::TYPE,
    <brokeros_ib::model::payout::IbStatement as Entity>::TYPE,
    <brokeros_ib::model::payout::PayoutSequence as Entity>::TYPE,
    <brokeros_ib::model::payout::CarriedBalance as Entity>::TYPE,
    <brokeros_contests::model::ContestRecord as Entity>::TYPE,
    <brokeros_contests::model::ContestEntrant as Entity>::TYPE,
    <brokeros_contests::prizes::PrizeRound as Entity>::TYPE,
    <brokeros_contests::live::ContestFeed as Entity>::TYPE,
    <brokeros_contests::live::Leaderboard as Entity>::TYPE,
    <brokeros_contests::live::HedgeReviewFlag as Entity>::TYPE,
    <brokeros_pamm::model::Offer as Entity>::TYPE,
    <brokeros_pamm::model::cycle::FundState as Entity>::TYPE,
    <brokeros_pamm::model::request::InvestorRequest as Entity>::TYPE,
    <brokeros_pamm::model::cycle::RolloverRecord as Entity>::TYPE,
    <brokeros_copy::model::Strategy as Entity>::TYPE,
    <brokeros_copy::model::Subscription as Entity>::TYPE,
    <brokeros_copy::model::CopiedTrade as Entity>::TYPE,
    <brokeros_copy::copying::CopyFeed as Entity>::TYPE,
];

/// A page of audit events by entity and/or UTC day (see [`audit_search::search`]).
pub async fn search(
    services: &Services,
    principal: &Principal,
    search: AuditSearch,
) -> Result<Page<Value>> {
    principal.require_any(&READERS, "search the audit trail")?;
    audit_search::search(services.core.store.as_ref(), search, &ENTITY_TYPES).await
}

/// The principals that acted over a period of UTC days (see [`audit_search::actors`]).
pub async fn actors(
    services: &Services,
    principal: &Principal,
    filter: DaysFilter,
) -> Result<ActorsInUse> {
    principal.require_any(&READERS, "list who acted in the audit trail")?;
    audit_search::actors(services.core.store.as_ref(), &filter).await
}

/// A signed export of an entity's stream or of at most 31 UTC days, as one document that
/// `brokeros audit verify` checks; refused when larger than [`MAX_DOWNLOAD_BYTES`].
pub async fn export(
    services: &Services,
    principal: &Principal,
    filter: ExportFilter,
    signer: &dyn Signer,
) -> Result<ExportBundle> {
    principal.require_any(&READERS, "download the audit trail")?;
    let selection = filter.selection(&ENTITY_TYPES)?;
    let bundle = ExportBundle::export(
        services.core.store.as_ref(),
        &selection,
        services.core.clock.now(),
        signer,
    )
    .await?;
    let bytes = bundle.ndjson.len() + bundle.csv.len() + bundle.heads.len();
    if bytes > MAX_DOWNLOAD_BYTES {
        return Err(Error::invalid(
            "export_too_large",
            if filter.entity_id.is_some() {
                "entity_id"
            } else {
                "to"
            },
            format!(
                "the selection's export is {bytes} bytes, more than a download carries ({MAX_DOWNLOAD_BYTES}): choose fewer days, or use `brokeros audit export` or the nightly export"
            ),
        ));
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `.rs` files under `dir`.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// A context that adds an audited entity (an `Entity::TYPE`) without listing it here would
    /// leave its events out of the search: the contexts' sources say which types there are.
    #[test]
    fn every_entity_type_of_the_contexts_is_searchable() {
        let contexts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contexts");
        let mut files = Vec::new();
        sources(&contexts, &mut files);
        let declared = regex::Regex::new(r#"const TYPE: &'static str = "([a-z_]+)";"#).unwrap();
        let mut found = std::collections::BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for types in declared.captures_iter(&text) {
                found.insert(types[1].to_string());
            }
        }
        let listed: std::collections::BTreeSet<String> =
            ENTITY_TYPES.iter().map(|t| t.to_string()).collect();
        assert_eq!(found, listed);
    }

    #[test]
    fn every_audited_entity_type_is_listed_once() {
        let mut types = ENTITY_TYPES.to_vec();
        types.sort();
        types.dedup();
        assert_eq!(types.len(), ENTITY_TYPES.len());
    }
}
