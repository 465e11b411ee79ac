//! A PAMM offer: the manager's pooled trading account offered to investors under terms. An
//! offer waits for an admin's approval before it takes investments; its terms are versioned,
//! each version in force from its `effective_at`, and a change under existing investors waits
//! for the notice period of the terms in force ([`check_change`]); an admin may suspend it
//! (no new investment; rollovers go on) and reinstate it, each with a reason.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use brokeros_kernel::{Error, Result};

use super::terms::{Terms, check_change};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = PammOfferStatus)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    PendingApproval,
    Active,
    Suspended,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::PendingApproval => "pending_approval",
            OfferStatus::Active => "active",
            OfferStatus::Suspended => "suspended",
        }
    }
}

/// One version of an offer's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammTermsVersion)]
pub struct TermsVersion {
    pub version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub announced_at: OffsetDateTime,
    /// In force from here until the next version's `effective_at`.
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
    pub by: String,
    pub terms: Terms,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammOffer)]
pub struct Offer {
    pub id: String,
    pub name: String,
    /// The manager: a client, whose trading account `login` is the pooled account.
    pub manager_client_id: String,
    pub login: u64,
    pub status: OfferStatus,
    /// Every version of the terms, oldest first.
    pub versions: Vec<TermsVersion>,
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

fn not_in(offer: &Offer, action: &str) -> Error {
    Error::conflict(
        "offer_status",
        format!(
            "offer {} is {}: it cannot be {action}",
            offer.id,
            offer.status.as_str()
        ),
    )
}

impl Offer {
    /// A new offer, waiting for approval, its terms in force at once.
    pub fn proposed(
        id: &str,
        name: &str,
        manager_client_id: &str,
        login: u64,
        terms: Terms,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Offer> {
        terms.validate()?;
        Ok(Offer {
            id: id.to_string(),
            name: name.to_string(),
            manager_client_id: manager_client_id.to_string(),
            login,
            status: OfferStatus::PendingApproval,
            versions: vec![TermsVersion {
                version: 1,
                announced_at: now,
                effective_at: now,
                by: by.to_string(),
                terms,
            }],
            status_reason: None,
            approved_by: None,
            created_by: by.to_string(),
            created_at: now,
            updated_at: now,
        })
    }

    /// The terms in force at `at` (the first version's before it began).
    pub fn terms_at(&self, at: OffsetDateTime) -> &TermsVersion {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_at <= at)
            .unwrap_or(&self.versions[0])
    }

    pub fn latest(&self) -> &TermsVersion {
        self.versions.last().expect("an offer has terms")
    }

    /// Whether investments are taken now.
    pub fn takes_investments(&self) -> bool {
        self.status == OfferStatus::Active
    }

    pub fn approve(&mut self, by: &str, now: OffsetDateTime) -> Result<()> {
        if self.status != OfferStatus::PendingApproval {
            return Err(not_in(self, "approved"));
        }
        if by == self.created_by {
            return Err(Error::Forbidden {
                message: "an offer is approved by someone other than who proposed it".into(),
            });
        }
        self.status = OfferStatus::Active;
        self.approved_by = Some(by.to_string());
        self.updated_at = now;
        Ok(())
    }

    pub fn suspend(&mut self, reason: &str, now: OffsetDateTime) -> Result<()> {
        if self.status != OfferStatus::Active {
            return Err(not_in(self, "suspended"));
        }
        self.status = OfferStatus::Suspended;
        self.status_reason = Some(reason.to_string());
        self.updated_at = now;
        Ok(())
    }

    pub fn reinstate(&mut self, reason: &str, now: OffsetDateTime) -> Result<()> {
        if self.status != OfferStatus::Suspended {
            return Err(not_in(self, "reinstated"));
        }
        self.status = OfferStatus::Active;
        self.status_reason = Some(reason.to_string());
        self.updated_at = now;
        Ok(())
    }

    /// New terms from `effective_at`: after the latest version's start, and, under investors,
    /// after the notice of the terms in force now. Answers the new version's number.
    pub fn change_terms(
        &mut self,
        terms: Terms,
        effective_at: OffsetDateTime,
        has_investors: bool,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<u32> {
        check_change(
            &self.terms_at(now).terms,
            &terms,
            has_investors,
            now,
            effective_at,
        )?;
        if effective_at <= self.latest().effective_at {
            return Err(Error::conflict(
                "change_out_of_order",
                format!(
                    "version {} takes effect at {}: new terms take effect after it",
                    self.latest().version,
                    self.latest().effective_at
                ),
            ));
        }
        let version = self.latest().version + 1;
        self.versions.push(TermsVersion {
            version,
            announced_at: now,
            effective_at,
            by: by.to_string(),
            terms,
        });
        self.updated_at = now;
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::terms::tests::{d, terms};
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn offer() -> Offer {
        Offer::proposed(
            "fx-alpha",
            "FX Alpha",
            "cl-lee",
            7001,
            terms(),
            "portal-lee",
            NOW,
        )
        .unwrap()
    }

    #[test]
    fn an_offer_is_approved_by_another_then_suspended_and_reinstated() {
        let mut o = offer();
        assert!(!o.takes_investments());
        assert!(matches!(
            o.approve("portal-lee", NOW),
            Err(Error::Forbidden { .. })
        ));
        o.approve("admin-1", NOW).unwrap();
        assert!(o.takes_investments());
        assert!(matches!(
            o.approve("admin-2", NOW),
            Err(Error::Conflict {
                code: "offer_status",
                ..
            })
        ));
        o.suspend("manager below capital", NOW).unwrap();
        assert!(!o.takes_investments());
        o.reinstate("capital restored", NOW).unwrap();
        assert_eq!(o.status_reason.as_deref(), Some("capital restored"));
    }

    #[test]
    fn terms_change_in_order_and_under_investors_after_the_notice() {
        let mut o = offer();
        let mut higher = terms();
        higher.performance_fee[0].percent = d("35");
        let soon = NOW + Duration::days(3);
        let refused = o.change_terms(higher.clone(), soon, true, "portal-lee", NOW);
        assert!(matches!(
            refused,
            Err(Error::Validation {
                code: "notice_required",
                ..
            })
        ));
        assert_eq!(o.versions.len(), 1, "nothing changed");
        assert_eq!(
            o.change_terms(higher.clone(), soon, false, "portal-lee", NOW)
                .unwrap(),
            2
        );
        assert_eq!(o.terms_at(NOW).version, 1);
        assert_eq!(o.terms_at(soon).version, 2);
        let earlier = o.change_terms(higher, NOW + Duration::days(2), false, "portal-lee", NOW);
        assert!(matches!(
            earlier,
            Err(Error::Conflict {
                code: "change_out_of_order",
                ..
            })
        ));
    }
}
