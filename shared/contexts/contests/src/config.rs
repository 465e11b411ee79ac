//! The contests section of the broker's configuration document (`contests`): the trading
//! platform servers whose deals contests score, how a demo account is told from a live one
//! (the platform knows groups, not modes), how long after its end a contest waits for late
//! deals before it freezes, and who approves prizes.

use brokeros_approvals::ApprovalPolicy;
use brokeros_kernel::principal::Role;
use brokeros_kernel::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContestsConfig {
    /// The trading platform servers whose deals contests score.
    pub platform_servers: Vec<String>,
    /// An account whose group starts with one of these (`demo\`) is a demo account; any other
    /// is live.
    pub demo_group_prefixes: Vec<String>,
    /// Seconds after a contest's end before its final run freezes it: deals the platform books
    /// a little late still count.
    #[serde(default = "five_minutes")]
    pub freeze_after_seconds: u32,
}

fn five_minutes() -> u32 {
    300
}

impl ContestsConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: &str| {
            Error::invalid("invalid_config", format!("contests.{field}"), message)
        };
        if self.platform_servers.is_empty()
            || self
                .platform_servers
                .iter()
                .any(|s| s.trim().is_empty() || s.len() > 64)
        {
            return Err(bad(
                "platform_servers",
                "contests.platform_servers names 1 or more servers of 1 to 64 characters",
            ));
        }
        if self.demo_group_prefixes.is_empty()
            || self
                .demo_group_prefixes
                .iter()
                .any(|p| p.is_empty() || p.len() > 64)
        {
            return Err(bad(
                "demo_group_prefixes",
                "contests.demo_group_prefixes names 1 or more group prefixes of 1 to 64 characters",
            ));
        }
        if self.freeze_after_seconds > 86_400 {
            return Err(bad(
                "freeze_after_seconds",
                "contests.freeze_after_seconds is at most 86400 (a day)",
            ));
        }
        Ok(())
    }

    /// Prizes are proposed in the name of whoever published the contest (marketing) and
    /// approved by one other person in finance or an admin.
    pub fn approval_policy(&self) -> ApprovalPolicy {
        ApprovalPolicy::one_approval_by(&[Role::Finance, Role::Admin])
    }

    /// Whether an account of platform group `group` is a demo account.
    pub fn is_demo_group(&self, group: &str) -> bool {
        self.demo_group_prefixes
            .iter()
            .any(|prefix| group.starts_with(prefix.as_str()))
    }

    /// The section as the embedded default configuration document has it.
    pub fn embedded_default() -> ContestsConfig {
        brokeros_kernel::config_document::default_section("contests")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_section_is_valid_and_tells_demo_groups() {
        let config = ContestsConfig::embedded_default();
        assert_eq!(config.validate(), Ok(()));
        assert!(config.is_demo_group("demo\\contest-usd"));
        assert!(!config.is_demo_group("real\\retail-usd"));
        let none = ContestsConfig {
            demo_group_prefixes: vec![],
            ..config.clone()
        };
        assert_eq!(
            none.validate().unwrap_err().body().field.as_deref(),
            Some("contests.demo_group_prefixes")
        );
        let no_server = ContestsConfig {
            platform_servers: vec![" ".into()],
            ..config
        };
        assert_eq!(
            no_server.validate().unwrap_err().body().field.as_deref(),
            Some("contests.platform_servers")
        );
    }
}
