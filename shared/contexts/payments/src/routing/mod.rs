//! Deposit routing in the store: the routing rules as versioned, audited configuration
//! ([`rules`]) and the payment providers' statistics that routing reads ([`stats`]), both kept
//! by routing's repository (`repo`). The decision itself is pure:
//! [`crate::model::RoutingRules::route`].
//!
//! What a deposit workflow task does with this module:
//!
//! ```text
//! let rules = active_routing_rules(&services).await?;            // or routing_rules_version(v)
//! let stats = load_routing_stats(&services, &rules, now).await?;
//! let decision = rules.route(&intent, &stats);                     // records rules.version()
//! let next = decision.next_after(&attempts_so_far);                // fallback on decline/outage
//! // in the transaction of the deposit's state change:
//! changes.put(volume_increment(&services, provider, amount, now, deposit_id).await?);
//! changes.put(outcome_increment(&services, provider, Outcome::Succeeded, now, deposit_id).await?);
//! ```
//!
//! **Who may change what.** The routing rules and a provider's health are changed by
//! `finance` (who owns the provider contracts, their fees and caps) and `admin` (who runs the
//! platform) — [`RULES_EDITORS`]; compliance steers risk through KYC risk levels, not routing.
//! Outage detection ([`detect_outages`]) changes health as the system actor
//! `payments-outage-detector`, and never makes a health set by ops better.

pub(crate) mod repo;
pub mod rules;
pub mod stats;

#[cfg(test)]
mod tests;

use brokeros_kernel::principal::Role;

pub use crate::model::{HealthSource, ProviderHealthRecord, RoutingRulesInForce};
pub use repo::stats::{
    COUNTER_SHARDS, counter_shard, outcome_increment, outcome_put, volume_increment, volume_put,
    window_outcomes,
};
pub use rules::{
    ROUTING_RULES_ID, active_routing_rules, require_known_provider, routing_rules_history,
    routing_rules_version, update_routing_rules,
};
pub use stats::{
    HealthSetter, OUTAGE_DETECTOR, ProviderOverview, ProvidersOverview, detect_outages,
    load_routing_stats, providers_overview, run_outage_detection, set_provider_health,
};

/// The roles that may change the routing rules and set a provider's health.
pub const RULES_EDITORS: [Role; 2] = [Role::Finance, Role::Admin];
