use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Lead;
use crate::config::{Condition, LeadField, ScoringConfig};

/// One rule that contributed to a lead's score, so every score can be explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScoreReason {
    pub rule: String,
    pub points: i32,
}

enum FieldValue<'a> {
    Text(Option<&'a str>),
    Count(u32),
}

fn field(lead: &Lead, field: LeadField) -> FieldValue<'_> {
    use FieldValue::*;
    match field {
        LeadField::Country => Text(Some(&lead.country)),
        LeadField::Language => Text(lead.language.as_deref()),
        LeadField::Source => Text(Some(&lead.last_touch.source)),
        LeadField::UtmSource => Text(lead.last_touch.utm.source.as_deref()),
        LeadField::UtmMedium => Text(lead.last_touch.utm.medium.as_deref()),
        LeadField::UtmCampaign => Text(lead.last_touch.utm.campaign.as_deref()),
        LeadField::ReferralCode => Text(lead.referral_code.as_deref()),
        LeadField::AffiliateId => Text(lead.last_touch.affiliate_id.as_deref()),
        LeadField::Email => Text(lead.email.as_deref()),
        LeadField::Phone => Text(lead.phone.as_deref()),
        LeadField::MarketingConsent => Count(u32::from(lead.marketing_consent)),
        LeadField::TouchCount => Count(lead.touch_count),
    }
}

fn holds(lead: &Lead, condition: &Condition) -> bool {
    match condition {
        Condition::In { field: f, values } => match field(lead, *f) {
            FieldValue::Text(Some(v)) => values.iter().any(|x| x.eq_ignore_ascii_case(v)),
            FieldValue::Text(None) => false,
            FieldValue::Count(n) => values.iter().any(|x| x == &n.to_string()),
        },
        Condition::Present { field: f } => match field(lead, *f) {
            FieldValue::Text(v) => v.is_some_and(|s| !s.is_empty()),
            FieldValue::Count(n) => n > 0,
        },
        Condition::AtLeast { field: f, value } => match field(lead, *f) {
            FieldValue::Count(n) => n >= *value,
            FieldValue::Text(_) => false,
        },
    }
}

/// The lead's score (clamped to 0..=100) and the rules that produced it, in rule order.
pub fn score(lead: &Lead, config: &ScoringConfig) -> (u32, Vec<ScoreReason>) {
    let reasons: Vec<ScoreReason> = config
        .rules
        .iter()
        .filter(|rule| holds(lead, &rule.when))
        .map(|rule| ScoreReason {
            rule: rule.id.clone(),
            points: rule.points,
        })
        .collect();
    let total: i64 = reasons.iter().map(|r| i64::from(r.points)).sum();
    (total.clamp(0, 100) as u32, reasons)
}
