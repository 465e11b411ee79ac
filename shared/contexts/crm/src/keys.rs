//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): Leads, their tasks, contact dedupe keys and round-robin counters.

use brokeros_kernel::canonical::sha256_hex;
use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

pub fn lead(id: &str) -> Key {
    Key::new(format!("LEAD#{id}"), "LEAD")
}

/// A lead's tasks share its partition; a lead's timeline is its audit stream.
pub fn task(lead_id: &str, task_id: &str) -> Key {
    Key::new(format!("LEAD#{lead_id}"), format!("TASK#{task_id}"))
}

pub const TASK_PREFIX: &str = "TASK#";

/// Contact data is hashed in keys so emails and phones never appear in key names, metrics or
/// error messages of the database.
pub fn unique_email(brand: &str, email: &str) -> Key {
    Key::new(
        format!("UNIQ#{brand}#EMAIL#{}", sha256_hex(email.as_bytes())),
        "UNIQ",
    )
}

pub fn unique_phone(brand: &str, phone: &str) -> Key {
    Key::new(
        format!("UNIQ#{brand}#PHONE#{}", sha256_hex(phone.as_bytes())),
        "UNIQ",
    )
}

pub fn assignment_counter(brand: &str, pool: &str) -> Key {
    Key::new(format!("ASSIGN#{brand}#{pool}"), "COUNTER")
}

pub fn leads_by_status(brand: &str, status: &str) -> String {
    format!("LEADS#{brand}#STATUS#{status}")
}

pub fn leads_by_agent(brand: &str, agent: &str) -> String {
    format!("LEADS#{brand}#AGENT#{agent}")
}

pub fn leads_by_country(brand: &str, country: &str) -> String {
    format!("LEADS#{brand}#COUNTRY#{country}")
}

pub fn leads_by_brand(brand: &str) -> String {
    format!("LEADS#{brand}")
}

/// A marketing-consent confirmation, under the SHA-256 of its token.
pub fn consent_confirmation(digest: &str) -> Key {
    Key::new(format!("CONSENT#{digest}"), "CONFIRMATION")
}

/// A message of the consent outbox.
pub fn consent_message(id: &str) -> Key {
    Key::new(format!("CONSENTMSG#{id}"), "OUTBOX")
}

/// The consent outbox's index partition (gsi1), by time.
pub const CONSENT_OUTBOX: &str = "CONSENT_OUTBOX";
