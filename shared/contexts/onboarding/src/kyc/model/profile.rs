//! The profile-change section of the jurisdiction rules: which fields of an approved client's
//! KYC profile are *material*, what a material change sets off (re-screening always,
//! re-verification where the rules say so), and what money may do while the client is
//! re-verified. [`super::profile_change`] applies it.

use std::collections::BTreeSet;
use utoipa::ToSchema;

use serde::{Deserialize, Serialize};

use brokeros_kernel::{Error, Result};

/// A field of a client's KYC data, as the jurisdiction rules name it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    FirstName,
    LastName,
    MiddleNames,
    CompanyName,
    DateOfBirth,
    Nationality,
    ResidenceCountry,
    Address,
    PepDeclared,
    ClientType,
    SourceOfFunds,
}

impl ProfileField {
    pub const ALL: [ProfileField; 11] = [
        ProfileField::FirstName,
        ProfileField::LastName,
        ProfileField::MiddleNames,
        ProfileField::CompanyName,
        ProfileField::DateOfBirth,
        ProfileField::Nationality,
        ProfileField::ResidenceCountry,
        ProfileField::Address,
        ProfileField::PepDeclared,
        ProfileField::ClientType,
        ProfileField::SourceOfFunds,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProfileField::FirstName => "first_name",
            ProfileField::LastName => "last_name",
            ProfileField::MiddleNames => "middle_names",
            ProfileField::CompanyName => "company_name",
            ProfileField::DateOfBirth => "date_of_birth",
            ProfileField::Nationality => "nationality",
            ProfileField::ResidenceCountry => "residence_country",
            ProfileField::Address => "address",
            ProfileField::PepDeclared => "pep_declared",
            ProfileField::ClientType => "client_type",
            ProfileField::SourceOfFunds => "source_of_funds",
        }
    }
}

/// What a material change of an approved client's profile sets off beyond re-screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnMaterialChange {
    /// Re-screen only: a clear screening keeps the approval; anything else re-verifies.
    Rescreen,
    /// Re-verify: a new KYC check through the onboarding workflow.
    Reverify,
}

/// Whether a client being re-verified may withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalRule {
    Allowed,
    Blocked,
}

/// What happens to a deposit of a client being re-verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepositRule {
    /// As for an approved client.
    Allowed,
    /// Received and credited to the wallet, but not moved on to the trading account (the
    /// deposit records why); withdrawals decide whether it can leave again.
    Held,
    /// New deposits are refused.
    Blocked,
}

/// What money may do while a client is re-verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyRules {
    pub withdrawals: WithdrawalRule,
    pub deposits: DepositRule,
}

impl MoneyRules {
    /// Nothing leaves, deposits are received and held: the default while re-verifying.
    pub const HOLD: MoneyRules = MoneyRules {
        withdrawals: WithdrawalRule::Blocked,
        deposits: DepositRule::Held,
    };
    /// Nothing moves: a client whose approval was voided and not given again.
    pub const FROZEN: MoneyRules = MoneyRules {
        withdrawals: WithdrawalRule::Blocked,
        deposits: DepositRule::Blocked,
    };
    pub const OPEN: MoneyRules = MoneyRules {
        withdrawals: WithdrawalRule::Allowed,
        deposits: DepositRule::Allowed,
    };
}

/// A jurisdiction's rules for changes of an approved client's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileChangeRules {
    /// The fields whose change is material: re-screened, and re-verified if
    /// `on_material_change` says so. `client_type` is always material.
    pub material_fields: BTreeSet<ProfileField>,
    pub on_material_change: OnMaterialChange,
    pub while_reverifying: MoneyRules,
}

impl Default for ProfileChangeRules {
    /// What a stored rule set written before these rules existed is read with: names, date of
    /// birth, nationality, residence, address, PEP declaration and client type are material,
    /// and re-verified; withdrawals blocked and deposits held meanwhile.
    fn default() -> ProfileChangeRules {
        ProfileChangeRules {
            // Every field that says who the client is; the source of funds changes the risk
            // score at the next review, not the identity screened.
            material_fields: ProfileField::ALL
                .into_iter()
                .filter(|f| *f != ProfileField::SourceOfFunds)
                .collect(),
            on_material_change: OnMaterialChange::Reverify,
            while_reverifying: MoneyRules::HOLD,
        }
    }
}

impl ProfileChangeRules {
    /// Unknown field names are refused when the document is read; this checks the rest.
    pub fn validate(&self, jurisdiction: &str) -> Result<()> {
        let bad = |message: String| {
            Error::invalid(
                "invalid_jurisdiction",
                "profile_changes.material_fields",
                message,
            )
        };
        if !self.material_fields.contains(&ProfileField::ClientType) {
            return Err(bad(format!(
                "jurisdiction '{jurisdiction}': profile_changes.material_fields must list client_type (a change of type replaces the whole profile)"
            )));
        }
        Ok(())
    }
}
