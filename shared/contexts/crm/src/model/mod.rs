//! CRM leads: capture from landing pages and affiliates, dedupe-merge, scoring, assignment,
//! lifecycle, timeline, and conversion into a client.

mod assignment;
mod consent;
mod scoring;
mod submission;

pub use assignment::{round_robin, select_pool};
pub use consent::{
    CONFIRMATION_TTL, ConsentAction, ConsentChannel, ConsentConfirmation, ConsentEvidence,
    ConsentTouch, FormConsent, HISTORY_KEPT, PendingConsent,
};
pub use scoring::{ScoreReason, score};
pub use submission::{LeadCapture, LeadSubmission};
use utoipa::ToSchema;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use brokeros_kernel::{Error, Result};
pub use brokeros_onboarding::model::Client;
use brokeros_onboarding::model::Contact;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Contacted,
    Qualified,
    Converted,
    Lost,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 5] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Qualified,
        LeadStatus::Converted,
        LeadStatus::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Converted => "converted",
            LeadStatus::Lost => "lost",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<LeadStatus> {
        LeadStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "invalid_status",
                    field,
                    "status must be new, contacted, qualified, converted or lost",
                )
            })
    }

    /// The lifecycle new → contacted → qualified → converted, with lost reachable from every open
    /// state. Converted and lost are final; conversion happens only through [`Lead::convert`].
    pub fn check_transition(self, to: LeadStatus) -> Result<()> {
        use LeadStatus::*;
        let allowed = matches!(
            (self, to),
            (New, Contacted) | (Contacted, Qualified) | (New | Contacted | Qualified, Lost)
        );
        if allowed {
            Ok(())
        } else {
            Err(Error::conflict(
                "invalid_transition",
                format!("a {} lead cannot become {}", self.as_str(), to.as_str()),
            ))
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Utm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// One arrival of a lead through a form or an affiliate feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Touch {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affiliate_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    pub utm: Utm,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lead {
    pub id: String,
    pub brand: String,
    pub first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Whether marketing consent is in effect: only a confirmed request sets it (see
    /// [`consent`]).
    pub marketing_consent: bool,
    /// The consent answers, newest last, with their evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consent_history: Vec<ConsentTouch>,
    /// A consent request waiting for its confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_consent: Option<PendingConsent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral_code: Option<String>,
    pub first_touch: Touch,
    pub last_touch: Touch,
    pub touch_count: u32,
    pub status: LeadStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_reason: Option<String>,
    pub score: u32,
    pub score_reasons: Vec<ScoreReason>,
    pub assignee: String,
    pub assignment_rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub open_tasks: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Which pool assigned a lead and the agent it chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub rule: String,
    pub agent: String,
}

impl Lead {
    /// A lead first seen in `capture`, assigned by `assignment`, scored by `rules`.
    pub fn new(
        id: String,
        capture: LeadCapture,
        assignment: Assignment,
        rules: &crate::config::ScoringConfig,
    ) -> Lead {
        let now = capture.touch.at;
        let mut lead = Lead {
            id,
            brand: capture.brand,
            first_name: capture.contact.first_name,
            last_name: capture.contact.last_name,
            email: capture.contact.email,
            phone: capture.contact.phone,
            country: capture.contact.country,
            language: capture.contact.language,
            // Consent takes effect only when confirmed: see [`Lead::answer_consent`].
            marketing_consent: false,
            consent_history: Vec::new(),
            pending_consent: None,
            referral_code: capture.contact.referral_code,
            first_touch: capture.touch.clone(),
            last_touch: capture.touch,
            touch_count: 1,
            status: LeadStatus::New,
            lost_reason: None,
            score: 0,
            score_reasons: Vec::new(),
            assignee: assignment.agent,
            assignment_rule: assignment.rule,
            client_id: None,
            open_tasks: 0,
            created_at: now,
            updated_at: now,
        };
        lead.rescore(rules);
        lead
    }

    /// Records another arrival of the same person. Contact data fills gaps but never overwrites
    /// (a form cannot take over a lead by resubmitting); the IB referral that came first keeps
    /// the attribution. The touch's consent answer is [`Lead::answer_consent`]'s: a form
    /// cannot grant consent by knowing an email.
    /// `phone_is_free` says whether the submitted phone belongs to no other lead.
    pub fn merge(
        &mut self,
        capture: LeadCapture,
        phone_is_free: bool,
        rules: &crate::config::ScoringConfig,
    ) {
        if self.last_name.is_none() {
            self.last_name = capture.contact.last_name;
        }
        if self.email.is_none() {
            self.email = capture.contact.email;
        }
        if self.phone.is_none() && phone_is_free {
            self.phone = capture.contact.phone;
        }
        if self.language.is_none() {
            self.language = capture.contact.language;
        }
        if self.referral_code.is_none() {
            self.referral_code = capture.contact.referral_code;
        }
        self.touch_count += 1;
        self.updated_at = capture.touch.at;
        self.last_touch = capture.touch;
        self.rescore(rules);
    }

    pub fn rescore(&mut self, rules: &crate::config::ScoringConfig) {
        let (score, reasons) = score(self, rules);
        self.score = score;
        self.score_reasons = reasons;
    }

    pub fn change_status(
        &mut self,
        to: LeadStatus,
        reason: Option<String>,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.status.check_transition(to)?;
        if to == LeadStatus::Lost && reason.is_none() {
            return Err(Error::invalid(
                "required",
                "reason",
                "a reason is required to mark a lead lost",
            ));
        }
        self.status = to;
        self.lost_reason = reason.filter(|_| to == LeadStatus::Lost);
        self.updated_at = now;
        Ok(())
    }

    /// Only a qualified lead converts; it keeps a link to the client created from it.
    pub fn convert(&mut self, client_id: String, now: OffsetDateTime) -> Result<()> {
        if self.status != LeadStatus::Qualified {
            return Err(Error::conflict(
                "invalid_transition",
                format!(
                    "only a qualified lead converts; this one is {}",
                    self.status.as_str()
                ),
            ));
        }
        self.status = LeadStatus::Converted;
        self.client_id = Some(client_id);
        self.updated_at = now;
        Ok(())
    }
}

/// The client a converted lead becomes (registration itself comes with onboarding).
pub fn client_from_lead(
    id: String,
    lead: &Lead,
    user_id: Option<String>,
    now: OffsetDateTime,
) -> Client {
    let contact = Contact {
        first_name: lead.first_name.clone(),
        last_name: lead.last_name.clone(),
        email: lead.email.clone(),
        phone: lead.phone.clone(),
        country: lead.country.clone(),
        language: lead.language.clone(),
        referral_code: lead.referral_code.clone(),
    };
    let account_manager = lead.assignee.clone();
    Client {
        user_id,
        lead_id: Some(lead.id.clone()),
        ..Client::registered(id, lead.brand.clone(), contact, account_manager, now)
    }
}

/// A follow-up task on a lead. Notes and every other change appear on the lead's timeline,
/// which is the lead's audit stream; a task has its own state because it gets done later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    pub id: String,
    pub lead_id: String,
    pub title: String,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub due_at: Option<OffsetDateTime>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use LeadStatus::*;

    #[test]
    fn lifecycle_allows_only_forward_moves_and_lost() {
        for from in LeadStatus::ALL {
            for to in LeadStatus::ALL {
                let ok = from.check_transition(to).is_ok();
                let expected = matches!(
                    (from, to),
                    (New, Contacted) | (Contacted, Qualified) | (New | Contacted | Qualified, Lost)
                );
                assert_eq!(ok, expected, "{from:?} -> {to:?}");
            }
        }
    }
}
