//! The subject of a KYC check: who the client says they are, with references to the
//! documents they uploaded to the provider. Document images never enter Broker OS; document
//! numbers only travel to the provider and are redacted from everything stored.

use std::fmt;
use utoipa::ToSchema;

use serde::{Deserialize, Serialize};
use time::Date;

use super::{ClientType, DocumentType, SourceOfFunds};
use brokeros_kernel::{Error, Result, normalize};

time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

/// What replaces a document number in what Broker OS stores of a KYC check (the client record
/// keeps it masked; the full number, for the provider alone, is kept apart from every audited
/// record). The rule: `brokeros_kernel::audit::personal_data`.
pub const REDACTED: &str = brokeros_kernel::audit::personal_data::REDACTED;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SubjectName {
    Person {
        first_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        middle_names: Option<String>,
        last_name: String,
    },
    Company {
        company_name: String,
    },
}

impl SubjectName {
    /// The name as one would write it (`First Middle Last`, or the company name).
    pub fn full(&self) -> String {
        match self {
            SubjectName::Person {
                first_name,
                middle_names,
                last_name,
            } => match middle_names {
                Some(m) => format!("{first_name} {m} {last_name}"),
                None => format!("{first_name} {last_name}"),
            },
            SubjectName::Company { company_name } => company_name.clone(),
        }
    }
}

/// A document the client submitted: its type, issuing country and number. Never an image.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    pub issuing_country: String,
    pub number: String,
}

/// Debug output ends up in logs: the number is left out.
impl fmt::Debug for DocumentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentRef")
            .field("doc_type", &self.doc_type)
            .field("issuing_country", &self.issuing_country)
            .field("number", &REDACTED)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KycSubject {
    pub client_id: String,
    pub client_type: ClientType,
    pub name: SubjectName,
    /// Individuals only.
    #[serde(
        default,
        with = "iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub date_of_birth: Option<Date>,
    /// ISO 3166-1 alpha-2. For a company: its country of incorporation.
    pub nationality: String,
    /// ISO 3166-1 alpha-2. For a company: the country of its registered address. Selects the
    /// jurisdiction whose rules apply.
    pub residence_country: String,
    pub source_of_funds: SourceOfFunds,
    /// The client's own answer to "are you a politically exposed person?".
    pub pep_declared: bool,
    /// The product applied for (`forex`, `cfd`, `crypto_cfd`), as the jurisdiction names it.
    pub product: String,
    pub documents: Vec<DocumentRef>,
}

const MAX_DOCUMENTS: usize = 12;

impl KycSubject {
    /// Trims and checks every field and uppercases country codes and document numbers.
    /// `today` bounds the date of birth.
    pub fn validate(mut self, today: Date) -> Result<KycSubject> {
        self.client_id = normalize::code("client_id", &self.client_id, 80)?;
        self.product = normalize::code("product", &self.product, 40)?;
        self.nationality = normalize::country("nationality", &self.nationality)?;
        self.residence_country = normalize::country("residence_country", &self.residence_country)?;
        self.name = match (self.client_type, self.name) {
            (
                ClientType::Individual,
                SubjectName::Person {
                    first_name,
                    middle_names,
                    last_name,
                },
            ) => SubjectName::Person {
                first_name: normalize::required_text("first_name", &first_name, 100)?,
                middle_names: middle_names
                    .map(|m| normalize::text("middle_names", &m, 100))
                    .transpose()?
                    .filter(|m| !m.is_empty()),
                last_name: normalize::required_text("last_name", &last_name, 100)?,
            },
            (ClientType::Corporate, SubjectName::Company { company_name }) => {
                SubjectName::Company {
                    company_name: normalize::required_text("company_name", &company_name, 200)?,
                }
            }
            (ClientType::Individual, _) => {
                return Err(Error::invalid(
                    "invalid_name",
                    "name",
                    "an individual has a person's name (first_name, last_name)",
                ));
            }
            (ClientType::Corporate, _) => {
                return Err(Error::invalid(
                    "invalid_name",
                    "name",
                    "a corporate client has a company_name",
                ));
            }
        };
        match (self.client_type, self.date_of_birth) {
            (ClientType::Individual, None) => {
                return Err(Error::invalid(
                    "required",
                    "date_of_birth",
                    "an individual's date of birth is required",
                ));
            }
            (ClientType::Individual, Some(dob)) if dob > today || dob.year() < 1900 => {
                return Err(Error::invalid(
                    "invalid_date_of_birth",
                    "date_of_birth",
                    "date of birth must be after 1900 and not in the future",
                ));
            }
            (ClientType::Corporate, Some(_)) => {
                return Err(Error::invalid(
                    "invalid_date_of_birth",
                    "date_of_birth",
                    "a corporate client has no date of birth",
                ));
            }
            _ => {}
        }
        if self.documents.is_empty() || self.documents.len() > MAX_DOCUMENTS {
            return Err(Error::invalid(
                "invalid_documents",
                "documents",
                format!("1 to {MAX_DOCUMENTS} documents are required"),
            ));
        }
        for doc in &mut self.documents {
            doc.issuing_country = normalize::country("issuing_country", &doc.issuing_country)?;
            let number = doc.number.trim().to_ascii_uppercase();
            let valid = (1..=40).contains(&number.len())
                && number
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ' ' | '/'));
            if !valid {
                return Err(Error::invalid(
                    "invalid_document_number",
                    "documents.number",
                    "a document number is 1 to 40 letters, digits, spaces, '-' or '/'",
                ));
            }
            doc.number = number;
        }
        Ok(self)
    }

    /// Age in whole years on `today`; `None` for companies.
    pub fn age_on(&self, today: Date) -> Option<u32> {
        let dob = self.date_of_birth?;
        let mut age = today.year() - dob.year();
        if (today.month() as u8, today.day()) < (dob.month() as u8, dob.day()) {
            age -= 1;
        }
        Some(age.max(0) as u32)
    }

    /// The subject as Broker OS keeps it: document numbers replaced by [`REDACTED`].
    pub fn without_document_numbers(&self) -> KycSubject {
        let mut kept = self.clone();
        for doc in &mut kept.documents {
            doc.number = REDACTED.to_string();
        }
        kept
    }

    pub fn document_types(&self) -> impl Iterator<Item = DocumentType> + '_ {
        self.documents.iter().map(|d| d.doc_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn person() -> KycSubject {
        serde_json::from_value(serde_json::json!({
            "client_id": "client_1", "client_type": "individual",
            "name": { "person": { "first_name": " Anna ", "last_name": "Berg" } },
            "date_of_birth": "1990-06-15", "nationality": "de", "residence_country": "DE",
            "source_of_funds": "salary", "pep_declared": false, "product": "forex",
            "documents": [{ "type": "passport", "issuing_country": "de", "number": "c01x00t47" }]
        }))
        .unwrap()
    }

    #[test]
    fn validation_normalizes_and_computes_age() {
        let s = person().validate(date!(2026 - 06 - 14)).unwrap();
        assert_eq!(s.nationality, "DE");
        assert_eq!(s.documents[0].number, "C01X00T47");
        assert_eq!(s.name.full(), "Anna Berg");
        assert_eq!(s.age_on(date!(2026 - 06 - 14)), Some(35));
        assert_eq!(s.age_on(date!(2026 - 06 - 15)), Some(36));
    }

    #[test]
    fn invalid_subjects_are_refused() {
        let today = date!(2026 - 01 - 01);
        let mut s = person();
        s.date_of_birth = None;
        assert_eq!(s.validate(today).unwrap_err().code(), "required");
        let mut s = person();
        s.date_of_birth = Some(date!(2027 - 01 - 01));
        assert!(s.validate(today).is_err());
        let mut s = person();
        s.client_type = ClientType::Corporate;
        assert_eq!(s.validate(today).unwrap_err().code(), "invalid_name");
        let mut s = person();
        s.documents[0].number = "<script>".into();
        assert!(s.validate(today).is_err());
        let mut s = person();
        s.documents.clear();
        assert!(s.validate(today).is_err());
    }

    #[test]
    fn document_numbers_never_show_in_debug_or_stored_copies() {
        let s = person();
        assert!(!format!("{s:?}").contains("c01x00t47"));
        let kept = serde_json::to_string(&s.without_document_numbers()).unwrap();
        assert!(!kept.contains("c01x00t47") && kept.contains(REDACTED));
    }
}
