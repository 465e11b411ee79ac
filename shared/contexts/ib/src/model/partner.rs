//! Partners as the partner managers run them: an application, its review, and the IB it
//! becomes (payout currency, ledger wallet, referral codes per campaign, the agreement's plans
//! over time, its standing with the reason of every change, the sub-IBs it may invite).

use brokeros_kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::timeline::Millis;
use super::tree::{IbNode, Standing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Pending => "pending",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
        }
    }
}

/// A request to become an IB: by a client for themself, by staff for someone, or by an IB's
/// invitation (then under that IB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Application {
    pub id: String,
    pub status: ApplicationStatus,
    /// How the partner is shown (a person's or a company's name).
    pub name: String,
    /// The currency the IB will be paid in.
    pub payout_currency: String,
    /// The portal identity that will sign in as the IB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The applicant's client record, when a client applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The IB the new one will sit under (staff's choice or the inviter's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_ib: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<String>,
    pub submitted_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ib_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub decided_at: Option<OffsetDateTime>,
}

impl Application {
    fn pending(&self) -> Result<()> {
        if self.status == ApplicationStatus::Pending {
            Ok(())
        } else {
            Err(Error::conflict(
                "application_decided",
                format!(
                    "application {} is already {}",
                    self.id,
                    self.status.as_str()
                ),
            ))
        }
    }

    /// Approves the application as the IB `ib_id`.
    pub fn approve(&mut self, ib_id: &str, by: &str, now: OffsetDateTime) -> Result<()> {
        self.pending()?;
        self.status = ApplicationStatus::Approved;
        self.ib_id = Some(ib_id.to_string());
        self.decided_by = Some(by.to_string());
        self.decided_at = Some(now);
        Ok(())
    }

    pub fn reject(&mut self, reason: String, by: &str, now: OffsetDateTime) -> Result<()> {
        self.pending()?;
        self.status = ApplicationStatus::Rejected;
        self.reason = Some(reason);
        self.decided_by = Some(by.to_string());
        self.decided_at = Some(now);
        Ok(())
    }
}

/// The UTM parameters a referral link carries by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReferralUtm)]
#[serde(deny_unknown_fields)]
pub struct Utm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

/// One referral code of an IB, for one campaign, unique across IBs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReferralCode {
    pub code: String,
    pub campaign: String,
    /// The link to share: the configured base with the code and the UTM defaults.
    pub link: String,
    pub utm: Utm,
}

impl ReferralCode {
    pub fn new(base_url: &str, code: String, campaign: String, mut utm: Utm) -> ReferralCode {
        if utm.campaign.is_none() {
            utm.campaign = Some(campaign.clone());
        }
        let mut query = vec![format!("ref={code}")];
        for (name, value) in [
            ("utm_source", &utm.source),
            ("utm_medium", &utm.medium),
            ("utm_campaign", &utm.campaign),
        ] {
            if let Some(v) = value {
                query.push(format!("{name}={v}"));
            }
        }
        let separator = if base_url.contains('?') { '&' } else { '?' };
        ReferralCode {
            link: format!("{base_url}{separator}{}", query.join("&")),
            code,
            campaign,
            utm,
        }
    }
}

/// A change of standing and why, as the partner manager gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StandingChange {
    pub from_msc: Millis,
    pub standing: Standing,
    pub reason: String,
    pub by: String,
}

/// An IB: the tree's node (id, payout currency, parent, standing and plans over time) and
/// what the partner business keeps of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ib {
    #[serde(flatten)]
    pub node: IbNode,
    pub name: String,
    /// The portal identity that signs in as this IB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub application_id: String,
    /// Its ledger account (`brokeros_ledger::model::AccountId::ib_payable`), where accruals
    /// are credited.
    pub wallet: String,
    pub referral_codes: Vec<ReferralCode>,
    /// How many sub-IBs it may invite, from its agreement.
    pub sub_ib_allowance: u32,
    /// Invitations issued so far, counted on the IB so the allowance is decided by key.
    pub invitations_issued: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standing_changes: Vec<StandingChange>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a partner manager does to an IB's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandingAction {
    Suspend,
    Reinstate,
    Terminate,
}

impl StandingAction {
    pub fn as_str(self) -> &'static str {
        match self {
            StandingAction::Suspend => "suspended",
            StandingAction::Reinstate => "reinstated",
            StandingAction::Terminate => "terminated",
        }
    }
}

impl Ib {
    /// The standing in force after every recorded change.
    pub fn current_standing(&self) -> Standing {
        self.node
            .standing
            .latest()
            .copied()
            .unwrap_or(Standing::Active)
    }

    /// Changes the standing from `from_msc` on: suspend an active IB, reinstate a suspended
    /// one, terminate either; a terminated IB stays terminated.
    pub fn change_standing(
        &mut self,
        action: StandingAction,
        from_msc: Millis,
        reason: String,
        by: &str,
    ) -> Result<()> {
        let now = self.current_standing();
        let to = match (action, now) {
            (StandingAction::Suspend, Standing::Active) => Standing::Suspended,
            (StandingAction::Reinstate, Standing::Suspended) => Standing::Active,
            (StandingAction::Terminate, Standing::Active | Standing::Suspended) => {
                Standing::Terminated
            }
            _ => {
                return Err(Error::conflict(
                    "invalid_standing",
                    format!(
                        "IB {} is {}; it cannot be {}",
                        self.node.id,
                        standing_name(now),
                        action.as_str()
                    ),
                ));
            }
        };
        self.node.standing.change("standing", from_msc, to)?;
        self.standing_changes.push(StandingChange {
            from_msc,
            standing: to,
            reason,
            by: by.to_string(),
        });
        Ok(())
    }

    /// Refuses to act for an IB that no longer works (terminated).
    pub fn require_not_terminated(&self, what: &str) -> Result<()> {
        if self.current_standing() == Standing::Terminated {
            return Err(Error::conflict(
                "ib_terminated",
                format!("IB {} is terminated: {what}", self.node.id),
            ));
        }
        Ok(())
    }

    /// Counts one more invitation against the allowance.
    pub fn issue_invitation(&mut self) -> Result<()> {
        self.require_not_terminated("it invites no sub-IB")?;
        if self.invitations_issued >= self.sub_ib_allowance {
            return Err(Error::conflict(
                "invitation_allowance_exhausted",
                format!(
                    "IB {} has issued all {} invitations its agreement allows",
                    self.node.id, self.sub_ib_allowance
                ),
            ));
        }
        self.invitations_issued += 1;
        Ok(())
    }

    pub fn add_referral_code(&mut self, code: ReferralCode) -> Result<()> {
        self.require_not_terminated("it takes no new referral code")?;
        if self
            .referral_codes
            .iter()
            .any(|c| c.campaign == code.campaign)
        {
            return Err(Error::conflict(
                "campaign_has_code",
                format!(
                    "IB {} already has a referral code for campaign {}",
                    self.node.id, code.campaign
                ),
            ));
        }
        self.referral_codes.push(code);
        Ok(())
    }
}

pub fn standing_name(standing: Standing) -> &'static str {
    match standing {
        Standing::Active => "active",
        Standing::Suspended => "suspended",
        Standing::Terminated => "terminated",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Open,
    Used,
}

/// An IB's invitation of a sub-IB: whoever applies with it applies under that IB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub id: String,
    pub ib_id: String,
    pub status: InvitationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Invitation {
    /// Uses the invitation for `application_id`, once.
    pub fn use_for(&mut self, application_id: &str) -> Result<()> {
        if self.status != InvitationStatus::Open {
            return Err(Error::conflict(
                "invitation_used",
                format!("invitation {} has been used", self.id),
            ));
        }
        self.status = InvitationStatus::Used;
        self.application_id = Some(application_id.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timeline;

    fn ib(allowance: u32) -> Ib {
        Ib {
            node: IbNode {
                id: "ib_1".into(),
                currency: "USD".into(),
                parent: Timeline::starting(0, None),
                standing: Timeline::starting(0, Standing::Active),
                plans: Timeline::starting(0, vec!["p".into()]),
            },
            name: "Partner".into(),
            user_id: None,
            client_id: None,
            application_id: "a".into(),
            wallet: "ib:ib_1:USD".into(),
            referral_codes: vec![],
            sub_ib_allowance: allowance,
            invitations_issued: 0,
            standing_changes: vec![],
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_suspended_ib_earns_again_only_once_reinstated_and_termination_is_final() {
        let mut ib = ib(0);
        ib.change_standing(StandingAction::Suspend, 100, "fraud check".into(), "pm")
            .unwrap();
        assert!(ib.node.earns_at(99) && !ib.node.earns_at(100));
        assert_eq!(
            ib.change_standing(StandingAction::Suspend, 200, "again".into(), "pm")
                .unwrap_err()
                .code(),
            "invalid_standing"
        );
        ib.change_standing(StandingAction::Reinstate, 300, "cleared".into(), "pm")
            .unwrap();
        assert!(!ib.node.earns_at(299) && ib.node.earns_at(300));
        ib.change_standing(StandingAction::Terminate, 400, "ended".into(), "pm")
            .unwrap();
        assert!(!ib.node.earns_at(400));
        for action in [
            StandingAction::Reinstate,
            StandingAction::Suspend,
            StandingAction::Terminate,
        ] {
            assert!(ib.change_standing(action, 500, "x".into(), "pm").is_err());
        }
        assert_eq!(ib.standing_changes.len(), 3);
        assert_eq!(ib.standing_changes[0].reason, "fraud check");
    }

    #[test]
    fn invitations_stop_at_the_allowance() {
        let mut ib = ib(2);
        ib.issue_invitation().unwrap();
        ib.issue_invitation().unwrap();
        assert_eq!(
            ib.issue_invitation().unwrap_err().code(),
            "invitation_allowance_exhausted"
        );
        assert_eq!(ib.invitations_issued, 2);
    }

    #[test]
    fn a_referral_link_carries_the_code_and_the_utm_defaults() {
        let code = ReferralCode::new(
            "https://broker.example/join",
            "IB-7".into(),
            "spring".into(),
            Utm {
                source: Some("ib".into()),
                ..Utm::default()
            },
        );
        assert_eq!(
            code.link,
            "https://broker.example/join?ref=IB-7&utm_source=ib&utm_campaign=spring"
        );
        let mut ib = ib(0);
        ib.add_referral_code(code.clone()).unwrap();
        assert_eq!(
            ib.add_referral_code(code).unwrap_err().code(),
            "campaign_has_code"
        );
    }

    #[test]
    fn an_application_is_decided_once() {
        let mut a = Application {
            id: "a".into(),
            status: ApplicationStatus::Pending,
            name: "N".into(),
            payout_currency: "USD".into(),
            user_id: None,
            client_id: None,
            parent_ib: None,
            invitation_id: None,
            submitted_by: "pm".into(),
            decided_by: None,
            reason: None,
            ib_id: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            decided_at: None,
        };
        a.approve("ib_1", "pm", OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            a.reject("late".into(), "pm", OffsetDateTime::UNIX_EPOCH)
                .unwrap_err()
                .code(),
            "application_decided"
        );
    }
}
