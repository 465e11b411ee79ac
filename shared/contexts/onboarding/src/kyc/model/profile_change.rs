//! What a change of an approved client's KYC profile sets off, under the profile-change rules
//! of their jurisdiction ([`super::profile::ProfileChangeRules`]): re-screening always,
//! re-verification (a new check through the onboarding workflow) where the rules say so.
//! Whatever the configuration, a change that makes the client ineligible under the hard rules
//! (a minor, a refused nationality or residence, a sanctions hit) is re-verified.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::decision::{KycDecision, KycOutcome, ReasonEffect};
use super::profile::{MoneyRules, OnMaterialChange, ProfileField};
use super::rules::JurisdictionRules;

/// What a change of an approved client's profile sets off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProfileChangeEffect {
    /// Nothing material changed and the client stays eligible: the approval stands.
    None,
    /// Re-screened under the rules in force and clear: the approval stands.
    Rescreened,
    /// A new KYC check through the onboarding workflow; money follows the rules' `while_reverifying`.
    Reverify,
    /// The client changed type: a new onboarding with the new type's documents verifies them.
    ReverificationRequired,
}

impl ProfileChangeEffect {
    pub fn voids_approval(self) -> bool {
        matches!(
            self,
            ProfileChangeEffect::Reverify | ProfileChangeEffect::ReverificationRequired
        )
    }
}

/// What a profile change sets off, and why (for the audit trail and compliance: the reasons
/// may name screening matches, which the client must not be shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChangeAssessment {
    /// The changed fields that are material under the client's jurisdiction (before or after
    /// the change).
    pub material_fields: BTreeSet<ProfileField>,
    pub effect: ProfileChangeEffect,
    /// Why a re-verification: rule codes and details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// What money may do until the client is approved again (for an effect that voids the
    /// approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub while_reverifying: Option<MoneyRules>,
}

/// The fields of `changed` that are material under the rules before or after the change (all
/// of them where no jurisdiction covers the profile).
pub fn material_fields(
    changed: &BTreeSet<ProfileField>,
    before: Option<&JurisdictionRules>,
    after: Option<&JurisdictionRules>,
) -> BTreeSet<ProfileField> {
    let material_under = |rules: Option<&JurisdictionRules>, field: &ProfileField| {
        rules.is_none_or(|r| r.profile_changes.material_fields.contains(field))
    };
    changed
        .iter()
        .copied()
        .filter(|f| material_under(before, f) || material_under(after, f))
        .collect()
}

/// Assesses a change of `changed` fields of an approved client whose approval was given under
/// `before` (the jurisdiction covering their old profile) and whose new profile falls under
/// `after`. `rescreen` is the screening-only decision of the new profile under `after` (see
/// [`super::decision::rescreen`]); `None` when it could not be made (no jurisdiction covers
/// the new profile, or the profile is incomplete), which re-verifies.
pub fn assess_profile_change(
    changed: &BTreeSet<ProfileField>,
    before: Option<&JurisdictionRules>,
    after: Option<&JurisdictionRules>,
    rescreen: Option<&KycDecision>,
) -> ProfileChangeAssessment {
    let material = material_fields(changed, before, after);
    let ineligible: Vec<String> = rescreen
        .map(|d| {
            d.reasons
                .iter()
                .filter(|r| r.effect == ReasonEffect::Reject)
                .map(|r| format!("{}: {}", r.code, r.detail))
                .collect()
        })
        .unwrap_or_default();
    if material.is_empty() && ineligible.is_empty() {
        return ProfileChangeAssessment {
            material_fields: material,
            effect: ProfileChangeEffect::None,
            reasons: Vec::new(),
            while_reverifying: None,
        };
    }
    let governing = after.or(before);
    let while_reverifying =
        Some(governing.map_or(MoneyRules::HOLD, |r| r.profile_changes.while_reverifying));
    if material.contains(&ProfileField::ClientType) {
        return ProfileChangeAssessment {
            material_fields: material,
            effect: ProfileChangeEffect::ReverificationRequired,
            reasons: vec!["client_type_changed: the new type's documents must be verified".into()],
            while_reverifying,
        };
    }
    let mut reasons = ineligible;
    match (before, after) {
        (Some(b), Some(a)) if b.id == a.id => {
            if !material.is_empty()
                && a.profile_changes.on_material_change == OnMaterialChange::Reverify
            {
                let fields: Vec<&str> = material.iter().map(|f| f.as_str()).collect();
                reasons.push(format!(
                    "jurisdiction_rules: {} rules re-verify a change of {}",
                    a.id,
                    fields.join(", ")
                ));
            }
        }
        (b, a) => reasons.push(format!(
            "jurisdiction_changed: from {} to {}",
            b.map_or("none", |r| r.id.as_str()),
            a.map_or("none", |r| r.id.as_str())
        )),
    }
    match rescreen {
        None => reasons.push("rescreen_impossible: the new profile could not be screened".into()),
        Some(d) if d.outcome == KycOutcome::ManualReview => {
            let codes: BTreeSet<&str> = d
                .reasons
                .iter()
                .filter(|r| r.effect == ReasonEffect::Review)
                .map(|r| r.code.as_str())
                .collect();
            let codes: Vec<&str> = codes.into_iter().collect();
            reasons.push(format!("rescreen_not_clear: {}", codes.join(", ")));
        }
        Some(_) => {}
    }
    let effect = if reasons.is_empty() {
        ProfileChangeEffect::Rescreened
    } else {
        ProfileChangeEffect::Reverify
    };
    ProfileChangeAssessment {
        material_fields: material,
        effect,
        reasons,
        while_reverifying: effect
            .voids_approval()
            .then_some(while_reverifying)
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kyc::model::{JurisdictionSet, Reason};

    fn rules(id: &str) -> JurisdictionRules {
        JurisdictionSet::embedded_default().get(id).unwrap().clone()
    }

    fn decision(outcome: KycOutcome, reasons: Vec<(&str, ReasonEffect)>) -> KycDecision {
        KycDecision {
            outcome,
            verification_level: crate::kyc::model::VerificationLevel::Standard,
            risk_score: 0,
            reasons: reasons
                .into_iter()
                .map(|(code, effect)| Reason {
                    code: code.into(),
                    effect,
                    points: 0,
                    detail: "d".into(),
                })
                .collect(),
            jurisdiction: rules("eu").reference(),
            leverage_cap: None,
        }
    }

    fn fields(f: &[ProfileField]) -> BTreeSet<ProfileField> {
        f.iter().copied().collect()
    }

    #[test]
    fn only_material_fields_or_ineligibility_touch_an_approval() {
        let eu = rules("eu");
        let clear = decision(KycOutcome::Approve, vec![]);
        let funds = fields(&[ProfileField::SourceOfFunds]);
        let a = assess_profile_change(&funds, Some(&eu), Some(&eu), Some(&clear));
        assert_eq!(a.effect, ProfileChangeEffect::None);
        assert!(a.material_fields.is_empty() && a.while_reverifying.is_none());
        // Not material, but the new profile fails a hard rule: re-verified all the same.
        let sanctioned = decision(
            KycOutcome::Reject,
            vec![("sanctions_hit", ReasonEffect::Reject)],
        );
        let a = assess_profile_change(&funds, Some(&eu), Some(&eu), Some(&sanctioned));
        assert_eq!(a.effect, ProfileChangeEffect::Reverify);
        assert!(a.reasons[0].starts_with("sanctions_hit"), "{:?}", a.reasons);
    }

    #[test]
    fn material_changes_reverify_or_rescreen_as_the_rules_say() {
        let mut eu = rules("eu");
        let clear = decision(KycOutcome::Approve, vec![]);
        let address = fields(&[ProfileField::Address]);
        let a = assess_profile_change(&address, Some(&eu), Some(&eu), Some(&clear));
        assert_eq!(a.effect, ProfileChangeEffect::Reverify);
        assert_eq!(a.while_reverifying, Some(MoneyRules::HOLD));
        eu.profile_changes.on_material_change = OnMaterialChange::Rescreen;
        let a = assess_profile_change(&address, Some(&eu), Some(&eu), Some(&clear));
        assert_eq!(a.effect, ProfileChangeEffect::Rescreened);
        assert!(a.while_reverifying.is_none());
        let pep = decision(
            KycOutcome::ManualReview,
            vec![("enhanced_due_diligence", ReasonEffect::Review)],
        );
        let a = assess_profile_change(&address, Some(&eu), Some(&eu), Some(&pep));
        assert_eq!(a.effect, ProfileChangeEffect::Reverify);
        assert_eq!(
            a.reasons,
            vec!["rescreen_not_clear: enhanced_due_diligence"]
        );
        // Moving to another jurisdiction, or to none, re-verifies under any rules.
        let row = rules("row");
        let residence = fields(&[ProfileField::ResidenceCountry]);
        let a = assess_profile_change(&residence, Some(&eu), Some(&row), Some(&clear));
        assert_eq!(a.effect, ProfileChangeEffect::Reverify);
        assert!(
            a.reasons
                .iter()
                .any(|r| r.starts_with("jurisdiction_changed"))
        );
        let a = assess_profile_change(&residence, Some(&eu), None, None);
        assert_eq!(a.effect, ProfileChangeEffect::Reverify);
        // A change of type needs the new type's documents first.
        let kind = fields(&[ProfileField::ClientType, ProfileField::CompanyName]);
        let a = assess_profile_change(&kind, Some(&eu), Some(&eu), Some(&clear));
        assert_eq!(a.effect, ProfileChangeEffect::ReverificationRequired);
    }

    #[test]
    fn material_under_either_jurisdiction_counts() {
        let mut eu = rules("eu");
        eu.profile_changes
            .material_fields
            .remove(&ProfileField::Address);
        let row = rules("row");
        let address = fields(&[ProfileField::Address]);
        assert!(material_fields(&address, Some(&eu), Some(&eu)).is_empty());
        assert_eq!(material_fields(&address, Some(&eu), Some(&row)), address);
        assert_eq!(material_fields(&address, Some(&eu), None), address);
    }
}
