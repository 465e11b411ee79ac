//! Marketing consent, recorded per touch with its evidence, and granted only by double opt-in.
//!
//! Anyone may submit a form with anyone's email, so a public touch that *grants* marketing
//! consent does not grant it: it records the request and opens a pending confirmation whose
//! single-use token goes to the lead's own address; consent takes effect when the token comes
//! back ([`Lead::confirm_consent`]). A touch that *withdraws* consent takes effect at once:
//! withdrawing must always be as easy as it can be, and the worst a stranger can do with it is
//! stop messages nobody confirmed wanting twice. Every answer, whatever its effect, is kept in
//! the lead's consent history (the last [`HISTORY_KEPT`]; the lead's audit stream has all).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use super::{Lead, Touch};
use brokeros_kernel::{Error, Result};

/// How long a confirmation token may be used.
pub const CONFIRMATION_TTL: Duration = Duration::hours(72);
/// Consent answers kept on the lead, newest last.
pub const HISTORY_KEPT: usize = 50;

/// What one answer did to the lead's marketing consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    /// A form granted consent: a confirmation was sent; consent is not in effect yet.
    Requested,
    /// A form granted consent that was already in effect: nothing changed.
    AlreadyGiven,
    /// The confirmation token came back: consent is in effect.
    Confirmed,
    /// A form left consent out while it was in effect or pending: it ended at once.
    Withdrawn,
    /// A form left consent out and there was none: nothing changed.
    NotGiven,
}

/// How an answer reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChannel {
    /// The public lead form (`POST /leads`).
    WebForm,
    /// The confirmation link (`POST /leads/consent/confirm`).
    ConfirmationLink,
}

/// What proves an answer was given, without personal data: no email, phone or IP address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentEvidence {
    /// The request's correlation id (in the access logs).
    pub correlation_id: String,
    /// The SHA-256 of the submitted request (its canonical JSON), when it had an
    /// `Idempotency-Key`: what exactly was submitted can be proved against a copy of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_digest: Option<String>,
    /// The confirmation this answer opened or used (the digest of its token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_id: Option<String>,
}

/// One consent answer and its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentTouch {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub action: ConsentAction,
    pub channel: ConsentChannel,
    /// The touch's source (`web`, `affiliate`, …).
    pub source: String,
    /// The form's page, when the form said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affiliate_id: Option<String>,
    pub evidence: ConsentEvidence,
}

/// A consent request waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PendingConsent {
    /// The digest of the token sent (never the token).
    pub confirmation_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A confirmation as stored: found by the digest of its token, used once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentConfirmation {
    /// The SHA-256 of the token.
    pub id: String,
    pub lead_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub confirmed_at: Option<OffsetDateTime>,
}

/// A public form's consent answer, with the confirmation it would open if it grants consent.
pub struct FormConsent<'a> {
    pub granted: bool,
    pub touch: &'a Touch,
    pub evidence: ConsentEvidence,
    /// The digest of a fresh token, used only if a confirmation is needed.
    pub confirmation_id: String,
}

impl Lead {
    /// Records a public form's consent answer. Returns the confirmation to send when the answer
    /// grants consent that is not in effect (a newer request replaces an older pending one: only
    /// the newest token confirms).
    pub fn answer_consent(&mut self, answer: FormConsent<'_>) -> Option<ConsentConfirmation> {
        let at = answer.touch.at;
        let (action, confirmation) = match (answer.granted, self.marketing_consent) {
            (true, true) => (ConsentAction::AlreadyGiven, None),
            (true, false) => {
                let confirmation = ConsentConfirmation {
                    id: answer.confirmation_id,
                    lead_id: self.id.clone(),
                    requested_at: at,
                    expires_at: at + CONFIRMATION_TTL,
                    confirmed_at: None,
                };
                self.pending_consent = Some(PendingConsent {
                    confirmation_id: confirmation.id.clone(),
                    requested_at: at,
                    expires_at: confirmation.expires_at,
                });
                (ConsentAction::Requested, Some(confirmation))
            }
            (false, _) if self.marketing_consent || self.pending_consent.is_some() => {
                self.marketing_consent = false;
                self.pending_consent = None;
                (ConsentAction::Withdrawn, None)
            }
            (false, _) => (ConsentAction::NotGiven, None),
        };
        let mut evidence = answer.evidence;
        evidence.confirmation_id = confirmation.as_ref().map(|c| c.id.clone());
        self.record_consent(ConsentTouch {
            at,
            action,
            channel: ConsentChannel::WebForm,
            source: answer.touch.source.clone(),
            form: answer.touch.landing_page.clone(),
            affiliate_id: answer.touch.affiliate_id.clone(),
            evidence,
        });
        confirmation
    }

    /// Puts consent in effect by its confirmation: refused when the token was used, has
    /// expired, or was replaced by a newer request or a withdrawal since it was sent.
    pub fn confirm_consent(
        &mut self,
        confirmation: &mut ConsentConfirmation,
        now: OffsetDateTime,
        correlation_id: &str,
    ) -> Result<()> {
        if confirmation.confirmed_at.is_some() {
            return Err(Error::conflict(
                "token_used",
                "this confirmation link was already used",
            ));
        }
        if now >= confirmation.expires_at {
            return Err(Error::invalid(
                "token_expired",
                "token",
                "this confirmation link has expired; submit the form again for a new one",
            ));
        }
        let current = self
            .pending_consent
            .as_ref()
            .is_some_and(|p| p.confirmation_id == confirmation.id);
        if !current || confirmation.lead_id != self.id {
            return Err(Error::conflict(
                "token_superseded",
                "this confirmation link was replaced by a newer request or a withdrawal",
            ));
        }
        confirmation.confirmed_at = Some(now);
        self.marketing_consent = true;
        self.pending_consent = None;
        self.updated_at = now;
        self.record_consent(ConsentTouch {
            at: now,
            action: ConsentAction::Confirmed,
            channel: ConsentChannel::ConfirmationLink,
            source: "confirmation_link".into(),
            form: None,
            affiliate_id: None,
            evidence: ConsentEvidence {
                correlation_id: correlation_id.to_string(),
                request_digest: None,
                confirmation_id: Some(confirmation.id.clone()),
            },
        });
        Ok(())
    }

    fn record_consent(&mut self, touch: ConsentTouch) {
        self.consent_history.push(touch);
        let excess = self.consent_history.len().saturating_sub(HISTORY_KEPT);
        self.consent_history.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Assignment, LeadSubmission};
    use brokeros_kernel::Brands;

    const NOW: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    fn lead() -> Lead {
        let submission: LeadSubmission = serde_json::from_value(serde_json::json!({
            "first_name": "Ann", "email": "ann@example.com", "country": "GB",
            "marketing_consent": true
        }))
        .unwrap();
        let capture = submission
            .validate(&Brands::embedded_default(), NOW)
            .unwrap();
        let assignment = Assignment {
            rule: "default".into(),
            agent: "sales-1".into(),
        };
        let rules = crate::config::ScoringConfig { rules: vec![] };
        Lead::new("lead_1".into(), capture, assignment, &rules)
    }

    fn answer(lead: &mut Lead, granted: bool, id: &str) -> Option<ConsentConfirmation> {
        let touch = lead.last_touch.clone();
        lead.answer_consent(FormConsent {
            granted,
            touch: &touch,
            evidence: ConsentEvidence {
                correlation_id: "corr".into(),
                request_digest: None,
                confirmation_id: None,
            },
            confirmation_id: id.into(),
        })
    }

    #[test]
    fn a_form_asks_for_consent_and_only_the_newest_unexpired_token_grants_it_once() {
        let mut lead = lead();
        assert!(!lead.marketing_consent, "a new lead has no consent yet");
        let mut first = answer(&mut lead, true, "c1").unwrap();
        let mut second = answer(&mut lead, true, "c2").unwrap();
        assert!(!lead.marketing_consent);
        let e = lead.confirm_consent(&mut first, NOW, "x").unwrap_err();
        assert_eq!(e.code(), "token_superseded");
        let late = second.expires_at;
        let e = lead.confirm_consent(&mut second, late, "x").unwrap_err();
        assert_eq!(e.code(), "token_expired");
        lead.confirm_consent(&mut second, NOW, "x").unwrap();
        assert!(lead.marketing_consent && lead.pending_consent.is_none());
        let e = lead.confirm_consent(&mut second, NOW, "x").unwrap_err();
        assert_eq!(e.code(), "token_used");
        let actions: Vec<_> = lead.consent_history.iter().map(|t| t.action).collect();
        assert_eq!(
            actions,
            [
                ConsentAction::Requested,
                ConsentAction::Requested,
                ConsentAction::Confirmed
            ]
        );
    }

    #[test]
    fn withdrawal_takes_effect_at_once_and_history_is_bounded() {
        let mut lead = lead();
        let mut c = answer(&mut lead, true, "c1").unwrap();
        lead.confirm_consent(&mut c, NOW, "x").unwrap();
        assert!(answer(&mut lead, true, "c2").is_none(), "already given");
        assert!(answer(&mut lead, false, "c3").is_none());
        assert!(!lead.marketing_consent);
        assert_eq!(
            lead.consent_history.last().unwrap().action,
            ConsentAction::Withdrawn
        );
        for _ in 0..HISTORY_KEPT * 2 {
            answer(&mut lead, false, "c");
        }
        assert_eq!(lead.consent_history.len(), HISTORY_KEPT);
        assert_eq!(
            lead.consent_history.last().unwrap().action,
            ConsentAction::NotGiven
        );
    }
}
