//! Jurisdiction rules: per jurisdiction (a set of residence countries and client types), which
//! verification each product needs, who may be onboarded, which documents count, the minimum
//! age, leverage caps, screening thresholds and the risk table. Each jurisdiction's document is
//! versioned; a check records the version it was decided under.

use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

use serde::{Deserialize, Serialize};

use super::profile::ProfileChangeRules;
use super::{ClientType, DocumentType, SourceOfFunds, VerificationLevel};
use brokeros_kernel::{Error, Result, normalize};

/// The embedded default rule set (each jurisdiction at version 1).
pub const DEFAULT_JURISDICTIONS_JSON: &str = include_str!("../../../config/jurisdictions.json");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionRules {
    /// `eu`, `row`: letters, digits, `-`, `_`.
    pub id: String,
    /// 1 for the embedded default; each change adds one.
    pub version: u32,
    pub name: String,
    /// The residence countries this jurisdiction covers (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub countries: BTreeSet<String>,
    /// Covers every residence country no other jurisdiction lists (then `countries` is empty).
    #[serde(default)]
    pub rest_of_world: bool,
    pub client_types: BTreeSet<ClientType>,
    pub products: BTreeMap<String, ProductRules>,
    pub residence: ResidencePolicy,
    #[serde(default)]
    pub nationality_blacklist: BTreeSet<String>,
    pub accepted_documents: BTreeSet<DocumentType>,
    pub minimum_age: u32,
    pub screening: ScreeningThresholds,
    pub risk: RiskRules,
    /// Which changes of an approved client's profile are material and what they set off. A
    /// version stored before this section existed reads as [`ProfileChangeRules::default`].
    #[serde(default)]
    pub profile_changes: ProfileChangeRules,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRules {
    pub verification_level: VerificationLevel,
    /// The highest leverage per client type, as `N` for 1:N.
    pub leverage_caps: BTreeMap<ClientType, u32>,
}

/// Which residence countries may be onboarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ResidencePolicy {
    Allow(BTreeSet<String>),
    AllowAllExcept(BTreeSet<String>),
}

impl ResidencePolicy {
    pub fn allows(&self, country: &str) -> bool {
        match self {
            ResidencePolicy::Allow(allowed) => allowed.contains(country),
            ResidencePolicy::AllowAllExcept(refused) => !refused.contains(country),
        }
    }

    fn countries(&self) -> &BTreeSet<String> {
        match self {
            ResidencePolicy::Allow(c) | ResidencePolicy::AllowAllExcept(c) => c,
        }
    }
}

/// Name-match scores in percent (0 to 100): at or above `hit_score` a sanctions match rejects
/// and a PEP match makes the client a PEP; at or above `near_miss_score` it adds risk points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningThresholds {
    pub hit_score: u8,
    pub near_miss_score: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskRules {
    /// A score at or above this goes to manual review (and enhanced due diligence).
    pub review_threshold: u32,
    /// A score at or above this is rejected.
    pub reject_threshold: u32,
    /// Points per country, for residence and (if different) nationality.
    pub country_risk: BTreeMap<String, u32>,
    /// Points for a country not in `country_risk`.
    pub default_country_points: u32,
    /// A declared or listed politically exposed person.
    pub pep_points: u32,
    /// A near miss against the PEP list.
    pub possible_pep_points: u32,
    /// A near miss against a sanctions list.
    pub sanctions_near_miss_points: u32,
    #[serde(default)]
    pub age_bands: Vec<AgeBand>,
    /// Points per declared source of funds; a source not listed adds none.
    pub source_of_funds_points: BTreeMap<SourceOfFunds, u32>,
}

/// Points for an individual whose age is within `from_age..=to_age` (no upper end if absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgeBand {
    pub from_age: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_age: Option<u32>,
    pub points: u32,
}

impl AgeBand {
    pub fn contains(&self, age: u32) -> bool {
        age >= self.from_age && self.to_age.is_none_or(|to| age <= to)
    }
}

/// Which rules, at which version, a decision was taken under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JurisdictionRef {
    pub id: String,
    pub version: u32,
}

fn bad(message: impl Into<String>) -> Error {
    Error::invalid("invalid_jurisdiction", "jurisdiction", message)
}

fn check_countries<'a>(
    what: &str,
    id: &str,
    countries: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    for c in countries {
        if normalize::country(what, c).ok().as_ref() != Some(c) {
            return Err(bad(format!(
                "jurisdiction '{id}': {what} '{c}' is not an upper-case ISO 3166-1 alpha-2 code"
            )));
        }
    }
    Ok(())
}

impl JurisdictionRules {
    pub fn reference(&self) -> JurisdictionRef {
        JurisdictionRef {
            id: self.id.clone(),
            version: self.version,
        }
    }

    pub fn covers(&self, country: &str, client_type: ClientType) -> bool {
        self.client_types.contains(&client_type)
            && (self.rest_of_world || self.countries.contains(country))
    }

    /// Checks the document on its own; [`JurisdictionSet::new`] checks documents together.
    pub fn validate(&self) -> Result<()> {
        let id = &self.id;
        if normalize::code("id", id, 32).is_err() {
            return Err(bad(
                "jurisdiction id must be 1 to 32 letters, digits, '-' or '_'",
            ));
        }
        if self.version == 0 {
            return Err(bad(format!("jurisdiction '{id}': version starts at 1")));
        }
        if self.name.trim().is_empty() {
            return Err(bad(format!("jurisdiction '{id}': name is required")));
        }
        match (self.rest_of_world, self.countries.is_empty()) {
            (true, false) => {
                return Err(bad(format!(
                    "jurisdiction '{id}': rest_of_world covers every other country, so countries must be empty"
                )));
            }
            (false, true) => {
                return Err(bad(format!(
                    "jurisdiction '{id}': list its countries or set rest_of_world"
                )));
            }
            _ => {}
        }
        check_countries("country", id, &self.countries)?;
        check_countries("residence country", id, self.residence.countries())?;
        check_countries("blacklisted nationality", id, &self.nationality_blacklist)?;
        check_countries("country_risk country", id, self.risk.country_risk.keys())?;
        if self.client_types.is_empty() {
            return Err(bad(format!("jurisdiction '{id}': no client types")));
        }
        if self.products.is_empty() {
            return Err(bad(format!("jurisdiction '{id}': no products")));
        }
        for (product, rules) in &self.products {
            if normalize::code("product", product, 40).is_err() {
                return Err(bad(format!(
                    "jurisdiction '{id}': product '{product}' is not a valid product id"
                )));
            }
            for client_type in &self.client_types {
                match rules.leverage_caps.get(client_type) {
                    Some(cap) if (1..=3000).contains(cap) => {}
                    Some(cap) => {
                        return Err(bad(format!(
                            "jurisdiction '{id}': leverage cap 1:{cap} of {product} is outside 1:1 to 1:3000"
                        )));
                    }
                    None => {
                        return Err(bad(format!(
                            "jurisdiction '{id}': product {product} has no leverage cap for {} clients",
                            client_type.as_str()
                        )));
                    }
                }
            }
        }
        for client_type in &self.client_types {
            if !self
                .accepted_documents
                .iter()
                .any(|d| d.proves_identity_of(*client_type))
            {
                return Err(bad(format!(
                    "jurisdiction '{id}': no accepted document proves the identity of {} clients",
                    client_type.as_str()
                )));
            }
        }
        if !(16..=25).contains(&self.minimum_age) {
            return Err(bad(format!(
                "jurisdiction '{id}': minimum_age must be 16 to 25"
            )));
        }
        let s = self.screening;
        if !(50 <= s.near_miss_score && s.near_miss_score < s.hit_score && s.hit_score <= 100) {
            return Err(bad(format!(
                "jurisdiction '{id}': screening thresholds must satisfy 50 <= near_miss_score < hit_score <= 100"
            )));
        }
        let r = &self.risk;
        if !(0 < r.review_threshold && r.review_threshold < r.reject_threshold) {
            return Err(bad(format!(
                "jurisdiction '{id}': risk thresholds must satisfy 0 < review_threshold < reject_threshold"
            )));
        }
        for band in &r.age_bands {
            if band.to_age.is_some_and(|to| to < band.from_age) {
                return Err(bad(format!(
                    "jurisdiction '{id}': age band from {} ends before it starts",
                    band.from_age
                )));
            }
        }
        self.profile_changes.validate(id)?;
        Ok(())
    }

    /// The leverage cap of a product for a client type, if the product is offered.
    pub fn leverage_cap(&self, product: &str, client_type: ClientType) -> Option<u32> {
        self.products
            .get(product)?
            .leverage_caps
            .get(&client_type)
            .copied()
    }
}

/// The jurisdictions in force: every (residence country, client type) is covered by at most
/// one listed jurisdiction and at most one rest-of-world jurisdiction, the listed one winning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JurisdictionSet {
    jurisdictions: Vec<JurisdictionRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetDocument {
    jurisdictions: Vec<JurisdictionRules>,
}

impl JurisdictionSet {
    pub fn new(mut jurisdictions: Vec<JurisdictionRules>) -> Result<JurisdictionSet> {
        if jurisdictions.is_empty() {
            return Err(bad("at least one jurisdiction is required"));
        }
        for j in &jurisdictions {
            j.validate()?;
        }
        jurisdictions.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = jurisdictions.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(bad(format!("jurisdiction '{}' is defined twice", w[0].id)));
        }
        let mut listed: BTreeMap<(&str, ClientType), &str> = BTreeMap::new();
        let mut rest_of_world: BTreeMap<ClientType, &str> = BTreeMap::new();
        for j in &jurisdictions {
            for client_type in &j.client_types {
                if j.rest_of_world {
                    if let Some(other) = rest_of_world.insert(*client_type, &j.id) {
                        return Err(bad(format!(
                            "jurisdictions '{other}' and '{}' both cover the rest of the world for {} clients",
                            j.id,
                            client_type.as_str()
                        )));
                    }
                    continue;
                }
                for country in &j.countries {
                    if let Some(other) = listed.insert((country, *client_type), &j.id) {
                        return Err(bad(format!(
                            "jurisdictions '{other}' and '{}' both cover {country} for {} clients",
                            j.id,
                            client_type.as_str()
                        )));
                    }
                }
            }
        }
        Ok(JurisdictionSet { jurisdictions })
    }

    /// `{"jurisdictions": [...]}`.
    pub fn from_json(text: &str) -> Result<JurisdictionSet> {
        let doc: SetDocument = serde_json::from_str(text)
            .map_err(|e| bad(format!("jurisdiction rules are not valid: {e}")))?;
        JurisdictionSet::new(doc.jurisdictions)
    }

    pub fn embedded_default() -> JurisdictionSet {
        JurisdictionSet::from_json(DEFAULT_JURISDICTIONS_JSON)
            .expect("the embedded jurisdiction rules are valid")
    }

    /// The rules for a client of `client_type` residing in `country`.
    pub fn select(&self, country: &str, client_type: ClientType) -> Option<&JurisdictionRules> {
        let covering = |rest_of_world: bool| {
            self.jurisdictions
                .iter()
                .find(|j| j.rest_of_world == rest_of_world && j.covers(country, client_type))
        };
        covering(false).or_else(|| covering(true))
    }

    pub fn get(&self, id: &str) -> Option<&JurisdictionRules> {
        self.jurisdictions.iter().find(|j| j.id == id)
    }

    pub fn jurisdictions(&self) -> &[JurisdictionRules] {
        &self.jurisdictions
    }

    /// The set with `rules` in place of the jurisdiction of the same id (or added), checked as a
    /// whole: a change must not make two jurisdictions cover the same clients.
    pub fn with(&self, rules: JurisdictionRules) -> Result<JurisdictionSet> {
        let mut all: Vec<JurisdictionRules> = self
            .jurisdictions
            .iter()
            .filter(|j| j.id != rules.id)
            .cloned()
            .collect();
        all.push(rules);
        JurisdictionSet::new(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eu() -> JurisdictionRules {
        JurisdictionSet::embedded_default()
            .get("eu")
            .unwrap()
            .clone()
    }

    #[test]
    fn the_embedded_rules_select_by_country_and_client_type() {
        let set = JurisdictionSet::embedded_default();
        let de = set.select("DE", ClientType::Individual).unwrap();
        assert_eq!((de.id.as_str(), de.version), ("eu", 1));
        assert_eq!(de.leverage_cap("forex", ClientType::Individual), Some(30));
        let br = set.select("BR", ClientType::Corporate).unwrap();
        assert_eq!(br.id, "row");
        assert_eq!(br.leverage_cap("forex", ClientType::Individual), Some(500));
        assert_eq!(br.leverage_cap("unknown", ClientType::Individual), None);
    }

    #[test]
    fn listed_countries_win_over_rest_of_world_and_uncovered_types_select_nothing() {
        let mut only_individuals = eu();
        only_individuals.client_types = BTreeSet::from([ClientType::Individual]);
        let mut row = JurisdictionSet::embedded_default()
            .get("row")
            .unwrap()
            .clone();
        row.client_types = BTreeSet::from([ClientType::Individual]);
        let set = JurisdictionSet::new(vec![only_individuals, row]).unwrap();
        assert_eq!(set.select("FR", ClientType::Individual).unwrap().id, "eu");
        assert_eq!(set.select("JP", ClientType::Individual).unwrap().id, "row");
        assert!(set.select("FR", ClientType::Corporate).is_none());
    }

    #[test]
    fn overlapping_coverage_is_refused() {
        let mut other = eu();
        other.id = "eu-bis".into();
        other.countries = BTreeSet::from(["PT".to_string(), "CH".to_string()]);
        let err = JurisdictionSet::new(vec![eu(), other.clone()]).unwrap_err();
        assert!(err.to_string().contains("both cover PT"), "{err}");
        other.countries = BTreeSet::from(["CH".to_string()]);
        assert!(JurisdictionSet::new(vec![eu(), other]).is_ok());
        let set = JurisdictionSet::embedded_default();
        let mut second_row = set.get("row").unwrap().clone();
        second_row.id = "row-2".into();
        assert!(set.with(second_row).is_err());
    }

    #[test]
    fn invalid_documents_are_refused_with_the_reason() {
        type Breakage = fn(&mut JurisdictionRules);
        let cases: Vec<(Breakage, &str)> = vec![
            (
                |j| j.risk.review_threshold = j.risk.reject_threshold,
                "review_threshold < reject_threshold",
            ),
            (|j| j.screening.near_miss_score = 95, "near_miss_score"),
            (|j| j.version = 0, "version starts at 1"),
            (
                |j| {
                    j.countries.insert("XX".into());
                },
                "'XX'",
            ),
            (|j| j.rest_of_world = true, "countries must be empty"),
            (
                |j| {
                    j.products
                        .get_mut("forex")
                        .unwrap()
                        .leverage_caps
                        .remove(&ClientType::Corporate);
                },
                "no leverage cap for corporate",
            ),
            (
                |j| {
                    j.accepted_documents
                        .remove(&DocumentType::CompanyRegistration);
                },
                "identity of corporate",
            ),
            (|j| j.minimum_age = 12, "minimum_age"),
        ];
        for (break_it, expected) in cases {
            let mut j = eu();
            break_it(&mut j);
            let err = j.validate().unwrap_err();
            assert!(err.to_string().contains(expected), "{err} / {expected}");
        }
    }

    #[test]
    fn profile_change_rules_name_known_fields_and_always_client_type() {
        let mut doc = serde_json::to_value(eu()).unwrap();
        doc["profile_changes"]["material_fields"] =
            serde_json::json!(["client_type", "favourite_colour"]);
        let text = serde_json::json!({ "jurisdictions": [doc.clone()] }).to_string();
        let err = JurisdictionSet::from_json(&text).unwrap_err();
        assert!(err.to_string().contains("favourite_colour"), "{err}");
        doc["profile_changes"]["material_fields"] = serde_json::json!(["date_of_birth"]);
        let text = serde_json::json!({ "jurisdictions": [doc.clone()] }).to_string();
        let err = JurisdictionSet::from_json(&text).unwrap_err();
        assert!(err.to_string().contains("client_type"), "{err}");
        // A version stored before the section existed reads with the default rules.
        doc.as_object_mut().unwrap().remove("profile_changes");
        let text = serde_json::json!({ "jurisdictions": [doc] }).to_string();
        let set = JurisdictionSet::from_json(&text).unwrap();
        assert_eq!(
            set.get("eu").unwrap().profile_changes,
            super::super::profile::ProfileChangeRules::default()
        );
        assert_eq!(eu().profile_changes, Default::default());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut doc = serde_json::to_value(eu()).unwrap();
        doc["max_leverage"] = serde_json::json!(50);
        let text = serde_json::json!({ "jurisdictions": [doc] }).to_string();
        assert!(JurisdictionSet::from_json(&text).is_err());
    }
}
