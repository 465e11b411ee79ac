//! The deposit settings of the broker's configuration document.

use serde::{Deserialize, Serialize};

/// How deposits run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositsConfig {
    /// How long a deposit waits for the provider's result before it expires.
    pub payment_timeout_seconds: u64,
}

impl DepositsConfig {
    /// The section as the embedded default configuration document has it.
    pub fn embedded_default() -> DepositsConfig {
        brokeros_kernel::config_document::default_section("deposits")
    }
}
