//! A strategy: a provider's trading account offered for copying under terms. A strategy waits
//! for an admin's approval (someone other than who proposed it) before it is copied; an admin
//! may suspend it (its deals are no longer copied) and reinstate it, each with a reason.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use brokeros_kernel::{Error, Result};

use super::terms::StrategyTerms;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StrategyStatus {
    PendingApproval,
    Active,
    Suspended,
}

impl StrategyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyStatus::PendingApproval => "pending_approval",
            StrategyStatus::Active => "active",
            StrategyStatus::Suspended => "suspended",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Strategy {
    pub id: String,
    pub name: String,
    /// The provider: a client, whose trading account `login` is copied.
    pub provider_client_id: String,
    pub login: u64,
    pub terms: StrategyTerms,
    pub status: StrategyStatus,
    /// Why the status last changed (a suspension's, a reinstatement's reason).
    #[serde(default)]
    #[schema(required)]
    pub status_reason: Option<String>,
    #[serde(default)]
    #[schema(required)]
    pub approved_by: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn not_in(strategy: &Strategy, action: &str) -> Error {
    Error::conflict(
        "strategy_status",
        format!(
            "strategy {} is {}: it cannot be {action}",
            strategy.id,
            strategy.status.as_str()
        ),
    )
}

impl Strategy {
    /// A new strategy, waiting for approval.
    pub fn proposed(
        id: &str,
        name: &str,
        provider_client_id: &str,
        login: u64,
        terms: StrategyTerms,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Strategy> {
        terms.validate()?;
        Ok(Strategy {
            id: id.to_string(),
            name: name.to_string(),
            provider_client_id: provider_client_id.to_string(),
            login,
            terms,
            status: StrategyStatus::PendingApproval,
            status_reason: None,
            approved_by: None,
            created_by: by.to_string(),
            created_at: now,
            updated_at: now,
        })
    }

    /// Whether its deals are copied and new followers taken now.
    pub fn is_copied(&self) -> bool {
        self.status == StrategyStatus::Active
    }

    pub fn approve(&mut self, by: &str, now: OffsetDateTime) -> Result<()> {
        if self.status != StrategyStatus::PendingApproval {
            return Err(not_in(self, "approved"));
        }
        if by == self.created_by {
            return Err(Error::Forbidden {
                message: "a strategy is approved by someone other than who proposed it".into(),
            });
        }
        self.status = StrategyStatus::Active;
        self.approved_by = Some(by.to_string());
        self.updated_at = now;
        Ok(())
    }

    pub fn suspend(&mut self, reason: &str, now: OffsetDateTime) -> Result<()> {
        self.move_status(
            StrategyStatus::Active,
            StrategyStatus::Suspended,
            reason,
            now,
        )
    }

    pub fn reinstate(&mut self, reason: &str, now: OffsetDateTime) -> Result<()> {
        self.move_status(
            StrategyStatus::Suspended,
            StrategyStatus::Active,
            reason,
            now,
        )
    }

    fn move_status(
        &mut self,
        from: StrategyStatus,
        to: StrategyStatus,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        if self.status != from {
            let action = match to {
                StrategyStatus::Suspended => "suspended",
                _ => "reinstated",
            };
            return Err(not_in(self, action));
        }
        self.status = to;
        self.status_reason = Some(reason.to_string());
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sizing::tests::d;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    #[test]
    fn a_strategy_is_approved_by_another_then_suspended_and_reinstated() {
        let terms = StrategyTerms {
            currency: "USD".into(),
            performance_fee: d("20"),
            subscription_fee: d("30.00"),
            min_follower_equity: d("500"),
        };
        let mut s =
            Strategy::proposed("trend", "Trend", "cl-1", 7001, terms, "portal-1", NOW).unwrap();
        assert!(!s.is_copied());
        assert!(matches!(
            s.approve("portal-1", NOW),
            Err(Error::Forbidden { .. })
        ));
        assert!(s.suspend("why", NOW).is_err(), "not active yet");
        s.approve("admin-1", NOW).unwrap();
        assert!(s.is_copied());
        assert!(s.approve("admin-2", NOW).is_err());
        s.suspend("risk review", NOW).unwrap();
        assert!(!s.is_copied());
        s.reinstate("reviewed", NOW).unwrap();
        assert_eq!(
            (s.status, s.status_reason.as_deref()),
            (StrategyStatus::Active, Some("reviewed"))
        );
    }
}
