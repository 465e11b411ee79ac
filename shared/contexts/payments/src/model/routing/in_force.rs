//! Which version of the routing rules is in force: the audited pointer that names it.

use serde::{Deserialize, Serialize};

/// The audited pointer to the version in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRulesInForce {
    pub id: String,
    pub version: u32,
    /// SHA-256 (hex) of the version's stored text.
    pub sha256: String,
    pub provider_count: usize,
    pub rule_count: usize,
}
