use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{Touch, Utm};
use brokeros_kernel::Brands;
use brokeros_kernel::normalize::optional;
use brokeros_kernel::{Result, normalize};
use brokeros_onboarding::model::{Contact, ContactRules};

/// The body of `POST /leads` as landing pages and affiliate feeds send it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadSubmission {
    pub brand: Option<String>,
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country: String,
    pub language: Option<String>,
    /// Where the lead came from: `landing_page`, `affiliate`, `webinar`, ...
    pub source: Option<String>,
    pub affiliate_id: Option<String>,
    pub landing_page: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    /// An introducing broker's referral code.
    pub referral_code: Option<String>,
    pub marketing_consent: bool,
}

/// A submission after validation and normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadCapture {
    pub brand: String,
    pub contact: Contact,
    pub marketing_consent: bool,
    pub touch: Touch,
}

/// What a lead's capture takes of contact data: a lead must be reachable.
const LEAD_CONTACT: ContactRules = ContactRules {
    referral_code_max: 32,
    reachable: true,
};

impl LeadSubmission {
    /// What the submission is about, as a digest: its brand, email and phone as sent (trimmed,
    /// lowercased; the phone's digits). Public idempotency keys are scoped by it, so a key
    /// replays only a submission about the same person (see
    /// [`IdempotencyKey::public`](brokeros_kernel::idempotency::IdempotencyKey::public)).
    pub fn identity(&self) -> String {
        let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_lowercase();
        let phone: String = self
            .phone
            .as_deref()
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let identity = format!("{}\n{}\n{}", text(&self.brand), text(&self.email), phone);
        brokeros_kernel::canonical::sha256_hex(identity.as_bytes())
    }

    pub fn validate(self, brands: &Brands, now: OffsetDateTime) -> Result<LeadCapture> {
        let brand = brands.brand(self.brand.as_deref())?;
        let contact = Contact {
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            phone: self.phone,
            country: self.country,
            language: self.language,
            referral_code: self.referral_code,
        }
        .normalized(LEAD_CONTACT)?;
        let utm = |field: &str, v: Option<String>| optional(v, |x| normalize::text(field, x, 200));
        let touch = Touch {
            at: now,
            source: optional(self.source, |v| normalize::code("source", v, 40))?
                .unwrap_or_else(|| "web".into()),
            affiliate_id: optional(self.affiliate_id, |v| {
                normalize::code("affiliate_id", v, 64)
            })?,
            landing_page: optional(self.landing_page, |v| {
                normalize::text("landing_page", v, 500)
            })?,
            utm: Utm {
                source: utm("utm_source", self.utm_source)?,
                medium: utm("utm_medium", self.utm_medium)?,
                campaign: utm("utm_campaign", self.utm_campaign)?,
                term: utm("utm_term", self.utm_term)?,
                content: utm("utm_content", self.utm_content)?,
            },
        };
        Ok(LeadCapture {
            brand,
            contact,
            marketing_consent: self.marketing_consent,
            touch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn submit(v: serde_json::Value) -> Result<LeadCapture> {
        let s: LeadSubmission = serde_json::from_value(v).unwrap();
        s.validate(&Brands::embedded_default(), OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn normalizes_contact_data() {
        let c = submit(
            json!({"first_name":" Ann ","email":"Ann@X.io","phone":"020 7946 0958","country":"gb",
            "language":"EN","utm_medium":"cpc","marketing_consent":true}),
        )
        .unwrap();
        assert_eq!(c.contact.first_name, "Ann");
        assert_eq!(c.contact.email.as_deref(), Some("ann@x.io"));
        assert_eq!(c.contact.phone.as_deref(), Some("+442079460958"));
        assert_eq!(c.contact.country, "GB");
        assert_eq!(c.contact.language.as_deref(), Some("en"));
        assert_eq!(c.touch.utm.medium.as_deref(), Some("cpc"));
        assert_eq!(c.touch.source, "web");
        assert_eq!(c.brand, "default");
    }

    #[test]
    fn refuses_missing_contact_and_bad_fields() {
        let e =
            submit(json!({"first_name":"A","country":"GB","marketing_consent":false})).unwrap_err();
        assert_eq!(e.code(), "required");
        let e = submit(
            json!({"first_name":"A","country":"XX","email":"a@b.co","marketing_consent":false}),
        )
        .unwrap_err();
        assert_eq!(e.body().field.as_deref(), Some("country"));
        let e = submit(json!({"first_name":"A","country":"GB","email":"a@b.co","brand":"other","marketing_consent":false})).unwrap_err();
        assert_eq!(e.code(), "unknown_brand");
    }
}
