//! Entrants: one entry of a client's trading account into a contest, how it came to be, and
//! where it stands (active, disqualified with a reason, withdrawn). And the eligibility rules
//! an entry must meet, over plain facts about the client and the account.

use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::contest::Decision;
use super::definition::{AccountAge, AccountMode, ContestDefinition, KycRequirement};
use super::scoring::Entrant;

/// How an entry came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryChannel {
    /// The client registered through the API.
    #[serde(rename = "self")]
    SelfService,
    /// Marketing or an admin enrolled the client.
    Staff,
    /// The client's new account was entered by the contest's enrolment campaign.
    Campaign,
}

impl EntryChannel {
    /// The audit action of an entry made this way.
    pub fn action(self) -> &'static str {
        match self {
            EntryChannel::SelfService => "contest_entrant.registered",
            EntryChannel::Staff | EntryChannel::Campaign => "contest_entrant.enrolled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntrantStatus {
    Active,
    Disqualified,
    Withdrawn,
}

impl EntrantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EntrantStatus::Active => "active",
            EntrantStatus::Disqualified => "disqualified",
            EntrantStatus::Withdrawn => "withdrawn",
        }
    }
}

/// An entry (`contest_entrant/<ent_…>`): a client's trading account in a contest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContestEntrant {
    pub id: String,
    pub contest_id: String,
    pub client_id: String,
    /// The entry account's login on the trading platform.
    pub login: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    pub how: EntryChannel,
    /// The staff member who enrolled the client (`how: staff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_by: Option<String>,
    pub status: EntrantStatus,
    /// The last disqualification (kept after a reinstatement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disqualification: Option<Decision>,
    /// The last reinstatement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reinstatement: Option<Decision>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub withdrawn_at: Option<OffsetDateTime>,
    /// ISO 3166 alpha-2: the client's country of residence, as the leaderboard shows it.
    pub country: String,
    /// The name the public leaderboard shows: the first name and the last name's initial.
    pub display_name: String,
    /// Whether the entry account was opened for the contest.
    pub contest_account: bool,
    /// What the entry account held (balance and credit) when it entered: it stands for the
    /// account's deals before the entry, which scoring does not read.
    #[serde(default)]
    #[schema(required)]
    pub opening_balance: Decimal,
}

impl ContestEntrant {
    /// The entrant as the scoring knows it.
    pub fn scoring_entrant(&self) -> Entrant {
        Entrant {
            id: self.id.clone(),
            login: self.login,
            registered_msc: super::definition::millis(self.registered_at),
        }
    }

    /// Active → disqualified, with the reason.
    pub fn disqualify(&mut self, decision: Decision) -> Result<()> {
        match self.status {
            EntrantStatus::Active => {}
            EntrantStatus::Disqualified => {
                return Err(Error::conflict(
                    "already_disqualified",
                    format!("entrant {} is disqualified already", self.id),
                ));
            }
            EntrantStatus::Withdrawn => return Err(self.withdrawn()),
        }
        self.status = EntrantStatus::Disqualified;
        self.disqualification = Some(decision);
        Ok(())
    }

    /// Disqualified → active again, with the reason.
    pub fn reinstate(&mut self, decision: Decision) -> Result<()> {
        match self.status {
            EntrantStatus::Disqualified => {}
            EntrantStatus::Active => {
                return Err(Error::conflict(
                    "not_disqualified",
                    format!("entrant {} is not disqualified", self.id),
                ));
            }
            EntrantStatus::Withdrawn => return Err(self.withdrawn()),
        }
        self.status = EntrantStatus::Active;
        self.reinstatement = Some(decision);
        Ok(())
    }

    /// The client takes an active entry back, before the contest ends.
    pub fn withdraw(&mut self, definition: &ContestDefinition, now: OffsetDateTime) -> Result<()> {
        match self.status {
            EntrantStatus::Active => {}
            EntrantStatus::Disqualified => {
                return Err(Error::conflict(
                    "entrant_disqualified",
                    format!("entrant {} is disqualified", self.id),
                ));
            }
            EntrantStatus::Withdrawn => return Err(self.withdrawn()),
        }
        if now >= definition.period.until {
            return Err(Error::conflict(
                "contest_ended",
                format!("contest {} has ended: its entries stand", definition.id),
            ));
        }
        self.status = EntrantStatus::Withdrawn;
        self.withdrawn_at = Some(now);
        Ok(())
    }

    fn withdrawn(&self) -> Error {
        Error::conflict(
            "entrant_withdrawn",
            format!("entrant {} has withdrawn", self.id),
        )
    }
}

/// The name a leaderboard shows of a person: the first name and the last name's initial
/// ("Ann L."), or the first name alone.
pub fn display_name(first_name: &str, last_name: Option<&str>) -> String {
    let first = first_name.trim();
    match last_name.and_then(|l| l.trim().chars().next()) {
        Some(initial) => format!("{first} {}.", initial.to_uppercase()),
        None => first.to_string(),
    }
}

/// What the eligibility rules ask of the client behind an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub kyc_approved: bool,
    /// ISO 3166 alpha-2.
    pub country: String,
}

/// What the eligibility rules ask of the account an entrant brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryAccount {
    pub login: u64,
    pub group: String,
    pub currency: String,
    /// Whether the account is a demo account (its group says so).
    pub demo: bool,
    /// When it was opened; `None` for an account recorded before that was kept, which counts
    /// as opened before registration.
    pub opened_at: Option<OffsetDateTime>,
}

fn ineligible(code: &'static str, message: String) -> Error {
    Error::conflict(code, message)
}

/// Refuses an applicant the contest's rules keep out (`kyc_not_approved`,
/// `country_not_eligible`).
pub fn check_applicant(definition: &ContestDefinition, applicant: &Applicant) -> Result<()> {
    let rules = &definition.eligibility;
    if rules.kyc == KycRequirement::Approved && !applicant.kyc_approved {
        return Err(ineligible(
            "kyc_not_approved",
            format!("contest {} is for KYC-approved clients", definition.id),
        ));
    }
    if !rules.countries.is_empty() && !rules.countries.contains(&applicant.country) {
        return Err(ineligible(
            "country_not_eligible",
            format!(
                "contest {} is open to residents of {} only",
                definition.id,
                rules.countries.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Refuses an account the entrant brings that the contest's rules keep out
/// (`account_mode_mismatch`, `account_currency_mismatch`, `account_not_new`,
/// `account_not_existing`, `account_group_not_eligible`).
pub fn check_account(definition: &ContestDefinition, account: &EntryAccount) -> Result<()> {
    let login = account.login;
    let wanted_demo = definition.mode == AccountMode::Demo;
    if account.demo != wanted_demo {
        return Err(ineligible(
            "account_mode_mismatch",
            format!(
                "contest {} is for {} accounts; account {login} is not one",
                definition.id,
                if wanted_demo { "demo" } else { "live" }
            ),
        ));
    }
    if account.currency != definition.currency {
        return Err(ineligible(
            "account_currency_mismatch",
            format!(
                "contest {} is scored in {}; account {login} is in {}",
                definition.id, definition.currency, account.currency
            ),
        ));
    }
    let opened_since_registration = account
        .opened_at
        .is_some_and(|at| at >= definition.registration.from);
    match definition.eligibility.accounts {
        AccountAge::New if !opened_since_registration => {
            return Err(ineligible(
                "account_not_new",
                format!(
                    "contest {} is for accounts opened since registration opened; account {login} is older",
                    definition.id
                ),
            ));
        }
        AccountAge::Existing if opened_since_registration => {
            return Err(ineligible(
                "account_not_existing",
                format!(
                    "contest {} is for accounts opened before registration opened; account {login} is newer",
                    definition.id
                ),
            ));
        }
        _ => {}
    }
    let groups = &definition.eligibility.groups;
    if !groups.is_empty() && !groups.contains(&account.group) {
        return Err(ineligible(
            "account_group_not_eligible",
            format!(
                "contest {} is for accounts of the groups {}; account {login} is not in one",
                definition.id,
                groups.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Refuses an account whose balance is below the contest's minimum deposit
/// (`deposit_below_minimum`).
pub fn check_deposit(definition: &ContestDefinition, login: u64, balance: Decimal) -> Result<()> {
    match definition.eligibility.min_deposit {
        Some(min) if balance < min => Err(ineligible(
            "deposit_below_minimum",
            format!(
                "contest {} asks for at least {min} {} on the entry account; account {login} holds {balance}",
                definition.id, definition.currency
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::contest::tests::definition;
    use serde_json::json;
    use time::macros::datetime;

    fn account() -> EntryAccount {
        EntryAccount {
            login: 7,
            group: "real\\retail-usd".into(),
            currency: "USD".into(),
            demo: false,
            opened_at: Some(datetime!(2026-06-02 0:00 UTC)),
        }
    }

    fn code(result: Result<()>) -> String {
        result.unwrap_err().code().to_string()
    }

    #[test]
    fn display_names_show_the_initial_of_the_last_name() {
        assert_eq!(display_name("Ann", Some("lee")), "Ann L.");
        assert_eq!(display_name(" Ann ", None), "Ann");
        assert_eq!(display_name("Ann", Some(" ")), "Ann");
    }

    #[test]
    fn the_account_must_fit_the_contest() {
        let d = definition(|_| {});
        assert!(check_account(&d, &account()).is_ok());
        let demo = EntryAccount {
            demo: true,
            ..account()
        };
        assert_eq!(code(check_account(&d, &demo)), "account_mode_mismatch");
        let euro = EntryAccount {
            currency: "EUR".into(),
            ..account()
        };
        assert_eq!(code(check_account(&d, &euro)), "account_currency_mismatch");

        let new_only = definition(|d| d["eligibility"] = json!({ "accounts": "new" }));
        let old = EntryAccount {
            opened_at: Some(datetime!(2026-05-31 0:00 UTC)),
            ..account()
        };
        assert_eq!(code(check_account(&new_only, &old)), "account_not_new");
        let unknown = EntryAccount {
            opened_at: None,
            ..account()
        };
        assert_eq!(code(check_account(&new_only, &unknown)), "account_not_new");
        let existing_only = definition(|d| d["eligibility"] = json!({ "accounts": "existing" }));
        assert_eq!(
            code(check_account(&existing_only, &account())),
            "account_not_existing"
        );
        assert!(check_account(&existing_only, &unknown).is_ok());

        let grouped = definition(|d| d["eligibility"] = json!({ "groups": ["real\\vip-usd"] }));
        assert_eq!(
            code(check_account(&grouped, &account())),
            "account_group_not_eligible"
        );
    }

    #[test]
    fn the_applicant_and_the_deposit_must_fit_the_contest() {
        let d = definition(|d| {
            d["eligibility"] =
                json!({ "kyc": "approved", "countries": ["DE"], "min_deposit": "100.00" })
        });
        let ok = Applicant {
            kyc_approved: true,
            country: "DE".into(),
        };
        assert!(check_applicant(&d, &ok).is_ok());
        let pending = Applicant {
            kyc_approved: false,
            ..ok.clone()
        };
        assert_eq!(code(check_applicant(&d, &pending)), "kyc_not_approved");
        let french = Applicant {
            country: "FR".into(),
            ..ok
        };
        assert_eq!(code(check_applicant(&d, &french)), "country_not_eligible");
        assert!(check_deposit(&d, 7, Decimal::new(10000, 2)).is_ok());
        assert_eq!(
            code(check_deposit(&d, 7, Decimal::new(9999, 2))),
            "deposit_below_minimum"
        );
    }

    #[test]
    fn an_entry_is_disqualified_reinstated_or_withdrawn_by_its_rules() {
        let d = definition(|_| {});
        let decision = |reason: &str| Decision {
            reason: reason.into(),
            by: "m-1".into(),
            at: datetime!(2026-06-20 0:00 UTC),
        };
        let mut e = ContestEntrant {
            id: "ent_1".into(),
            contest_id: d.id.clone(),
            client_id: "client_1".into(),
            login: 7,
            registered_at: datetime!(2026-06-02 0:00 UTC),
            how: EntryChannel::SelfService,
            enrolled_by: None,
            status: EntrantStatus::Active,
            disqualification: None,
            reinstatement: None,
            withdrawn_at: None,
            country: "DE".into(),
            display_name: "Ann L.".into(),
            contest_account: false,
            opening_balance: Decimal::ZERO,
        };
        assert_eq!(code(e.reinstate(decision("why"))), "not_disqualified");
        e.disqualify(decision("hedging")).unwrap();
        assert_eq!(
            code(e.disqualify(decision("again"))),
            "already_disqualified"
        );
        assert_eq!(
            code(e.withdraw(&d, datetime!(2026-06-21 0:00 UTC))),
            "entrant_disqualified"
        );
        e.reinstate(decision("reviewed")).unwrap();
        assert_eq!(e.status, EntrantStatus::Active);
        assert_eq!(e.disqualification.as_ref().unwrap().reason, "hedging");
        assert_eq!(
            code(e.clone().withdraw(&d, datetime!(2026-07-15 0:00 UTC))),
            "contest_ended"
        );
        e.withdraw(&d, datetime!(2026-06-21 0:00 UTC)).unwrap();
        assert_eq!(code(e.disqualify(decision("late"))), "entrant_withdrawn");
        assert_eq!(e.scoring_entrant().registered_msc, 1_780_358_400_000);
        let stored = serde_json::to_value(&e).unwrap();
        assert_eq!(stored["how"], "self");
        assert_eq!(stored["status"], "withdrawn");
    }
}
