//! The risk score and the decision of a KYC check. Every point and every rule that applies
//! leaves a [`Reason`], so a compliance officer (and an auditor) sees why a client was
//! approved, sent to review or rejected.

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use super::rules::{JurisdictionRef, JurisdictionRules};
use super::screening::{ListKind, MatchStrength, ScreeningResult};
use super::{ClientType, DocumentType, KycSubject, VerificationLevel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KycOutcome {
    Approve,
    ManualReview,
    Reject,
}

impl KycOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            KycOutcome::Approve => "approve",
            KycOutcome::ManualReview => "manual_review",
            KycOutcome::Reject => "reject",
        }
    }
}

/// What a reason does to the outcome: adds risk points, asks for a compliance officer, or
/// rejects whatever the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonEffect {
    Risk,
    Review,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Stable, machine-readable (`sanctions_hit`, `country_risk`, ...).
    pub code: String,
    pub effect: ReasonEffect,
    /// Risk points this reason adds (0 for review and reject reasons).
    pub points: u32,
    pub detail: String,
}

impl Reason {
    fn risk(code: &str, points: u32, detail: String) -> Reason {
        Reason {
            code: code.into(),
            effect: ReasonEffect::Risk,
            points,
            detail,
        }
    }

    fn review(code: &str, detail: String) -> Reason {
        Reason {
            code: code.into(),
            effect: ReasonEffect::Review,
            points: 0,
            detail,
        }
    }

    fn reject(code: &str, detail: String) -> Reason {
        Reason {
            code: code.into(),
            effect: ReasonEffect::Reject,
            points: 0,
            detail,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentOutcome {
    /// The documents are genuine, valid and belong to the applicant.
    Clear,
    /// The provider could not decide (a blurry image, a partly hidden document).
    Review,
    /// Forged, expired, or another person's.
    Rejected,
}

/// The provider's verdict on the submitted documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentVerification {
    pub outcome: DocumentOutcome,
    /// The provider's reason labels (`image_blurry`, `document_expired`), never images.
    #[serde(default)]
    #[schema(required)]
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KycDecision {
    pub outcome: KycOutcome,
    pub verification_level: VerificationLevel,
    pub risk_score: u32,
    pub reasons: Vec<Reason>,
    pub jurisdiction: JurisdictionRef,
    /// The highest leverage (1:N) the client may get for the product; none when rejected.
    #[schema(required)]
    pub leverage_cap: Option<u32>,
}

/// The risk score: country risk of residence and nationality, PEP status, age band, source
/// of funds, and near misses in screening.
pub fn assess_risk(
    rules: &JurisdictionRules,
    subject: &KycSubject,
    screening: &ScreeningResult,
    today: Date,
) -> (u32, Vec<Reason>) {
    let risk = &rules.risk;
    let mut reasons = Vec::new();
    let country_points = |country: &str| {
        risk.country_risk
            .get(country)
            .copied()
            .unwrap_or(risk.default_country_points)
    };
    let residence = &subject.residence_country;
    let points = country_points(residence);
    if points > 0 {
        reasons.push(Reason::risk(
            "country_risk",
            points,
            format!("residence in {residence}"),
        ));
    }
    let nationality = &subject.nationality;
    let points = country_points(nationality);
    if nationality != residence && points > 0 {
        let what = match subject.client_type {
            ClientType::Individual => "nationality",
            ClientType::Corporate => "incorporation",
        };
        reasons.push(Reason::risk(
            "country_risk",
            points,
            format!("{what} {nationality}"),
        ));
    }
    let listed_pep: Vec<String> = screening
        .found(ListKind::Pep, MatchStrength::Hit)
        .map(|m| format!("{} '{}' ({})", m.entry_id, m.listed_name, m.reason))
        .collect();
    if subject.pep_declared || !listed_pep.is_empty() {
        let mut why = Vec::new();
        if subject.pep_declared {
            why.push("declared by the client".to_string());
        }
        if !listed_pep.is_empty() {
            why.push(format!("on the PEP list: {}", listed_pep.join("; ")));
        }
        reasons.push(Reason::risk(
            "pep",
            risk.pep_points,
            format!("politically exposed person, {}", why.join(", ")),
        ));
    } else if let Some(m) = screening
        .found(ListKind::Pep, MatchStrength::NearMiss)
        .next()
    {
        reasons.push(Reason::risk(
            "possible_pep",
            risk.possible_pep_points,
            format!(
                "near miss on the PEP list: {} '{}' ({})",
                m.entry_id, m.listed_name, m.reason
            ),
        ));
    }
    let near_misses: Vec<String> = screening
        .found(ListKind::Sanctions, MatchStrength::NearMiss)
        .map(|m| format!("{} '{}' ({})", m.entry_id, m.listed_name, m.reason))
        .collect();
    if !near_misses.is_empty() {
        reasons.push(Reason::risk(
            "sanctions_near_miss",
            risk.sanctions_near_miss_points,
            format!("near miss on a sanctions list: {}", near_misses.join("; ")),
        ));
    }
    if let Some(age) = subject.age_on(today)
        && let Some(band) = risk.age_bands.iter().find(|b| b.contains(age))
        && band.points > 0
    {
        reasons.push(Reason::risk("age", band.points, format!("age {age}")));
    }
    let source = subject.source_of_funds;
    let points = risk
        .source_of_funds_points
        .get(&source)
        .copied()
        .unwrap_or(0);
    if points > 0 {
        reasons.push(Reason::risk(
            "source_of_funds",
            points,
            format!("source of funds: {}", source.as_str()),
        ));
    }
    (reasons.iter().map(|r| r.points).sum(), reasons)
}

fn is_pep(subject: &KycSubject, screening: &ScreeningResult) -> bool {
    subject.pep_declared
        || screening
            .found(ListKind::Pep, MatchStrength::Hit)
            .next()
            .is_some()
}

/// The verification the check asks the provider for: the product's level, raised to enhanced
/// due diligence for PEPs and for a risk score at the review threshold or above.
pub fn verification_level(
    rules: &JurisdictionRules,
    subject: &KycSubject,
    screening: &ScreeningResult,
    today: Date,
) -> VerificationLevel {
    let product_level = rules
        .products
        .get(&subject.product)
        .map_or(VerificationLevel::Basic, |p| p.verification_level);
    let (score, _) = assess_risk(rules, subject, screening, today);
    if is_pep(subject, screening) || score >= rules.risk.review_threshold {
        VerificationLevel::Enhanced
    } else {
        product_level
    }
}

const IDENTITY_OF_PERSON: &[DocumentType] = &[
    DocumentType::Passport,
    DocumentType::NationalId,
    DocumentType::DrivingLicence,
    DocumentType::ResidencePermit,
];

/// The documents each level asks for, as (what it shows, documents of which one is needed):
/// basic proves identity, standard adds the address, enhanced adds where the money comes from
/// (and for companies, who owns them).
pub fn required_documents(
    level: VerificationLevel,
    client_type: ClientType,
) -> Vec<(&'static str, &'static [DocumentType])> {
    let mut required = vec![match client_type {
        ClientType::Individual => ("identity", IDENTITY_OF_PERSON),
        ClientType::Corporate => (
            "company registration",
            &[DocumentType::CompanyRegistration][..],
        ),
    }];
    if level >= VerificationLevel::Standard {
        required.push(("address", &[DocumentType::ProofOfAddress][..]));
    }
    if level >= VerificationLevel::Enhanced {
        if client_type == ClientType::Corporate {
            required.push(("ownership", &[DocumentType::ShareholderRegister][..]));
        }
        required.push(("source of funds", &[DocumentType::ProofOfFunds][..]));
    }
    required
}

/// The rules that reject whatever the documents show; when any holds, the check need not ask
/// the provider (nor send it a sanctioned person's data).
pub fn hard_rejections(
    rules: &JurisdictionRules,
    subject: &KycSubject,
    screening: &ScreeningResult,
    today: Date,
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if !rules.products.contains_key(&subject.product) {
        reasons.push(Reason::reject(
            "product_not_offered",
            format!(
                "{} is not offered under {} rules",
                subject.product, rules.id
            ),
        ));
    }
    if !rules.client_types.contains(&subject.client_type) {
        reasons.push(Reason::reject(
            "client_type_not_covered",
            format!(
                "{} rules do not cover {} clients",
                rules.id,
                subject.client_type.as_str()
            ),
        ));
    }
    if rules.nationality_blacklist.contains(&subject.nationality) {
        reasons.push(Reason::reject(
            "nationality_blacklisted",
            format!("nationality {} is not accepted", subject.nationality),
        ));
    }
    if !rules.residence.allows(&subject.residence_country) {
        reasons.push(Reason::reject(
            "residence_not_allowed",
            format!(
                "residents of {} are not accepted",
                subject.residence_country
            ),
        ));
    }
    if let Some(age) = subject.age_on(today)
        && age < rules.minimum_age
    {
        reasons.push(Reason::reject(
            "under_minimum_age",
            format!("age {age} is under the minimum age {}", rules.minimum_age),
        ));
    }
    for hit in screening.found(ListKind::Sanctions, MatchStrength::Hit) {
        reasons.push(Reason::reject(
            "sanctions_hit",
            format!(
                "{} '{}' [{}]: {}",
                hit.entry_id,
                hit.listed_name,
                hit.programs.join(", "),
                hit.reason
            ),
        ));
    }
    let mut refused: Vec<&str> = subject
        .document_types()
        .filter(|t| !rules.accepted_documents.contains(t))
        .map(DocumentType::as_str)
        .collect();
    refused.dedup();
    if !refused.is_empty() {
        reasons.push(Reason::reject(
            "document_type_not_accepted",
            format!(
                "not accepted under {} rules: {}",
                rules.id,
                refused.join(", ")
            ),
        ));
    }
    reasons
}

/// What the rules say of a subject before anyone looks at documents: the hard rules, the risk
/// score with its reasons and thresholds, and the verification level (enhanced needs review).
struct Assessed {
    reasons: Vec<Reason>,
    risk_score: u32,
    level: VerificationLevel,
}

fn assess(
    rules: &JurisdictionRules,
    subject: &KycSubject,
    screening: &ScreeningResult,
    today: Date,
) -> Assessed {
    let mut reasons = hard_rejections(rules, subject, screening, today);
    let (risk_score, risk_reasons) = assess_risk(rules, subject, screening, today);
    reasons.extend(risk_reasons);
    let level = verification_level(rules, subject, screening, today);
    if risk_score >= rules.risk.reject_threshold {
        reasons.push(Reason::reject(
            "risk_score_reject",
            format!(
                "risk score {risk_score} is at or above the rejection threshold {}",
                rules.risk.reject_threshold
            ),
        ));
    } else if risk_score >= rules.risk.review_threshold {
        reasons.push(Reason::review(
            "risk_score_review",
            format!(
                "risk score {risk_score} is at or above the review threshold {}",
                rules.risk.review_threshold
            ),
        ));
    }
    if level == VerificationLevel::Enhanced {
        reasons.push(Reason::review(
            "enhanced_due_diligence",
            "enhanced due diligence needs a compliance officer's sign-off".into(),
        ));
    }
    Assessed {
        reasons,
        risk_score,
        level,
    }
}

/// The decision `reasons` make: any rejection rejects, any review reviews, else approval (with
/// the jurisdiction's leverage cap unless rejected).
fn concluded(
    rules: &JurisdictionRules,
    subject: &KycSubject,
    level: VerificationLevel,
    risk_score: u32,
    reasons: Vec<Reason>,
) -> KycDecision {
    let outcome = if reasons.iter().any(|r| r.effect == ReasonEffect::Reject) {
        KycOutcome::Reject
    } else if reasons.iter().any(|r| r.effect == ReasonEffect::Review) {
        KycOutcome::ManualReview
    } else {
        KycOutcome::Approve
    };
    let leverage_cap = match outcome {
        KycOutcome::Reject => None,
        _ => rules.leverage_cap(&subject.product, subject.client_type),
    };
    KycDecision {
        outcome,
        verification_level: level,
        risk_score,
        reasons,
        jurisdiction: rules.reference(),
        leverage_cap,
    }
}

/// Re-screens an approved client's changed profile under `rules` without the provider: the
/// hard rules (sanctions hits included) reject; a PEP, a near miss on a list, enhanced due
/// diligence or a risk score at the review threshold need a compliance officer (that is, a
/// re-verification); anything else is clear (`Approve`). Documents are not looked at: they
/// were verified with the approval.
pub fn rescreen(
    rules: &JurisdictionRules,
    subject: &KycSubject,
    screening: &ScreeningResult,
    today: Date,
) -> KycDecision {
    let Assessed {
        mut reasons,
        risk_score,
        level,
    } = assess(rules, subject, screening, today);
    if !screening.is_clear() {
        reasons.push(Reason::review(
            "screening_match",
            format!(
                "{} match(es) on the screening lists",
                screening.matches.len()
            ),
        ));
    }
    concluded(rules, subject, level, risk_score, reasons)
}

/// Decides a check under `rules`: hard rules reject; otherwise the risk score, the required
/// verification level, the documents present and the provider's verdict decide between
/// approval and manual review. `document` is `None` when the provider was not asked (a hard
/// rule already rejected) or has not answered.
pub fn decide(
    rules: &JurisdictionRules,
    subject: &KycSubject,
    screening: &ScreeningResult,
    document: Option<&DocumentVerification>,
    today: Date,
) -> KycDecision {
    let Assessed {
        mut reasons,
        risk_score,
        level,
    } = assess(rules, subject, screening, today);
    for (what, any_of) in required_documents(level, subject.client_type) {
        if !subject.document_types().any(|t| any_of.contains(&t)) {
            let names: Vec<&str> = any_of.iter().map(|t| t.as_str()).collect();
            reasons.push(Reason::review(
                "missing_document",
                format!(
                    "{} verification needs proof of {what}: one of {}",
                    level.as_str(),
                    names.join(", ")
                ),
            ));
        }
    }
    let rejected_already = reasons.iter().any(|r| r.effect == ReasonEffect::Reject);
    match document {
        Some(DocumentVerification {
            outcome: DocumentOutcome::Clear,
            ..
        }) => {}
        Some(DocumentVerification {
            outcome: DocumentOutcome::Review,
            labels,
        }) => reasons.push(Reason::review(
            "document_needs_review",
            format!("the provider could not decide: {}", labels.join(", ")),
        )),
        Some(DocumentVerification {
            outcome: DocumentOutcome::Rejected,
            labels,
        }) => reasons.push(Reason::reject(
            "document_verification_failed",
            format!("the provider rejected the documents: {}", labels.join(", ")),
        )),
        None if rejected_already => {}
        None => reasons.push(Reason::review(
            "document_verification_missing",
            "no document verification result".into(),
        )),
    }
    concluded(rules, subject, level, risk_score, reasons)
}
