//! Lead scoring and sales assignment rules of the broker's configuration document.

use brokeros_kernel::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringConfig {
    pub rules: Vec<ScoringRule>,
}

/// Adds `points` (may be negative) when `when` holds. The total is clamped to 0..=100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringRule {
    pub id: String,
    pub points: i32,
    pub when: Condition,
}

/// A field of a lead that rules can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadField {
    Country,
    Language,
    Source,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    ReferralCode,
    AffiliateId,
    Email,
    Phone,
    MarketingConsent,
    TouchCount,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The field's text value is one of `values` (case-insensitive).
    In {
        field: LeadField,
        values: Vec<String>,
    },
    /// The field has a value (a non-empty text, `true`, or a count above zero).
    Present { field: LeadField },
    /// The field's number is at least `value`.
    AtLeast { field: LeadField, value: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentConfig {
    /// Tried in order; the first rule whose filters match picks an agent from its pool by round robin.
    pub rules: Vec<AssignmentRule>,
    /// The pool used when no rule matches.
    pub default_agents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRule {
    pub id: String,
    /// Empty means any country.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Empty means any language; matched on the language part (`pt` matches `pt-BR`).
    #[serde(default)]
    pub languages: Vec<String>,
    pub agents: Vec<String>,
}

/// The id of the pool used when no assignment rule matches.
pub const DEFAULT_POOL: &str = "default";

impl AssignmentConfig {
    /// Every agent of the pools, once each, in the order the rules name them (the default pool
    /// last): who may be signed in as a sales agent locally.
    pub fn agents(&self) -> Vec<&str> {
        let mut agents: Vec<&str> = Vec::new();
        let pools = self
            .rules
            .iter()
            .map(|r| &r.agents)
            .chain([&self.default_agents]);
        for agent in pools.flatten() {
            if !agents.contains(&agent.as_str()) {
                agents.push(agent);
            }
        }
        agents
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Error::invalid("invalid_config", "config", msg);
        if self.default_agents.is_empty() {
            return Err(bad(
                "lead_assignment.default_agents must not be empty".into()
            ));
        }
        for rule in &self.rules {
            if rule.agents.is_empty() {
                return Err(bad(format!("assignment rule '{}' has no agents", rule.id)));
            }
        }
        let mut ids: Vec<&str> = self.rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.contains(&DEFAULT_POOL) {
            return Err(bad(
                "assignment rule ids must be unique and not 'default'".into()
            ));
        }
        Ok(())
    }
}

impl ScoringConfig {
    /// The section as the embedded default configuration document has it.
    pub fn embedded_default() -> ScoringConfig {
        brokeros_kernel::config_document::default_section("lead_scoring")
    }
}

impl AssignmentConfig {
    /// The section as the embedded default configuration document has it.
    pub fn embedded_default() -> AssignmentConfig {
        brokeros_kernel::config_document::default_section("lead_assignment")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_lists_every_pool_once_the_default_pool_last() {
        let config = AssignmentConfig {
            rules: vec![
                AssignmentRule {
                    id: "dach".into(),
                    countries: vec!["DE".into()],
                    languages: vec![],
                    agents: vec!["de-1".into(), "both".into()],
                },
                AssignmentRule {
                    id: "latam".into(),
                    countries: vec![],
                    languages: vec!["es".into()],
                    agents: vec!["both".into(), "es-1".into()],
                },
            ],
            default_agents: vec!["any-1".into(), "de-1".into()],
        };
        assert_eq!(config.agents(), ["de-1", "both", "es-1", "any-1"]);
    }
}
