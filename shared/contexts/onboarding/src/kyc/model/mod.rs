//! KYC/AML checks of onboarding as pure rules: jurisdiction rule sets kept as versioned
//! configuration, the subject of a check, sanctions and PEP screening with name matching that
//! survives transliteration, a risk score with its reasons, and the decision. Provider calls
//! (document verification) and storage are the application layer's.

pub mod decision;
pub mod names;
pub mod profile;
pub mod profile_change;
pub mod record;
pub mod rules;
pub mod screening;
pub mod subject;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use decision::{
    DocumentOutcome, DocumentVerification, KycDecision, KycOutcome, Reason, ReasonEffect,
    assess_risk, decide, hard_rejections, required_documents, rescreen, verification_level,
};
pub use profile::{
    DepositRule, MoneyRules, OnMaterialChange, ProfileChangeRules, ProfileField, WithdrawalRule,
};
pub use profile_change::{
    ProfileChangeAssessment, ProfileChangeEffect, assess_profile_change, material_fields,
};
pub use record::{CheckScope, CheckStatus, CheckTrigger, KycCheckRecord, ProviderRefs};
pub use rules::{
    AgeBand, DEFAULT_JURISDICTIONS_JSON, JurisdictionRef, JurisdictionRules, JurisdictionSet,
    ProductRules, ResidencePolicy, RiskRules, ScreeningThresholds,
};
pub use screening::{
    ListError, ListFiles, ListKind, MatchStrength, PartyType, ScreeningList, ScreeningMatch,
    ScreeningResult,
};
pub use subject::{DocumentRef, KycSubject, SubjectName};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    Individual,
    Corporate,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Individual => "individual",
            ClientType::Corporate => "corporate",
        }
    }
}

/// How thoroughly a client is verified. Ordered: each level asks for what the one below asks
/// and more (see [`required_documents`]); `Enhanced` is enhanced due diligence, which a
/// compliance officer signs off.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VerificationLevel {
    Basic,
    Standard,
    Enhanced,
}

impl VerificationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationLevel::Basic => "basic",
            VerificationLevel::Standard => "standard",
            VerificationLevel::Enhanced => "enhanced",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    Passport,
    NationalId,
    DrivingLicence,
    ResidencePermit,
    ProofOfAddress,
    ProofOfFunds,
    CompanyRegistration,
    ArticlesOfAssociation,
    ShareholderRegister,
}

impl DocumentType {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Passport => "passport",
            DocumentType::NationalId => "national_id",
            DocumentType::DrivingLicence => "driving_licence",
            DocumentType::ResidencePermit => "residence_permit",
            DocumentType::ProofOfAddress => "proof_of_address",
            DocumentType::ProofOfFunds => "proof_of_funds",
            DocumentType::CompanyRegistration => "company_registration",
            DocumentType::ArticlesOfAssociation => "articles_of_association",
            DocumentType::ShareholderRegister => "shareholder_register",
        }
    }

    /// Whether the document establishes who a client of this type is.
    pub fn proves_identity_of(self, client_type: ClientType) -> bool {
        match client_type {
            ClientType::Individual => matches!(
                self,
                DocumentType::Passport
                    | DocumentType::NationalId
                    | DocumentType::DrivingLicence
                    | DocumentType::ResidencePermit
            ),
            ClientType::Corporate => self == DocumentType::CompanyRegistration,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SourceOfFunds {
    Salary,
    Savings,
    Business,
    Investments,
    Inheritance,
    Crypto,
    Other,
}

impl SourceOfFunds {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceOfFunds::Salary => "salary",
            SourceOfFunds::Savings => "savings",
            SourceOfFunds::Business => "business",
            SourceOfFunds::Investments => "investments",
            SourceOfFunds::Inheritance => "inheritance",
            SourceOfFunds::Crypto => "crypto",
            SourceOfFunds::Other => "other",
        }
    }
}

/// Whether a client whose last completed check was for `checked_as` must be verified again
/// now that it is `now_is`: a change between individual and corporate replaces the whole
/// profile (other documents, other screening, other leverage caps), so an earlier approval
/// no longer covers it.
pub fn requires_reverification(checked_as: ClientType, now_is: ClientType) -> bool {
    checked_as != now_is
}
