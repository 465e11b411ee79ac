//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): Clients, onboardings, compliance reviews, notifications, KYC checks and jurisdiction rules.

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

pub fn client(id: &str) -> Key {
    Key::new(format!("CLIENT#{id}"), "CLIENT")
}

/// A document's full number, kept apart from the audited client record (which masks it) for
/// the KYC provider: `CLIENT#<id>` / `DOCNUMBER#<document id>`.
pub fn client_document_number(client_id: &str, document_id: &str) -> Key {
    Key::new(
        format!("CLIENT#{client_id}"),
        format!("{DOCUMENT_NUMBER}{document_id}"),
    )
}

/// The sort key prefix of a client's document numbers.
pub const DOCUMENT_NUMBER: &str = "DOCNUMBER#";

/// The portal user `user_id`'s client: the marker item, holding the client's id, that makes
/// one portal identity have at most one client whatever creates it, and that `/me` reads the
/// client by (a key, read consistently; never an index, which may lag).
pub fn unique_user(user_id: &str) -> Key {
    Key::new(format!("UNIQ#USER#{user_id}"), "UNIQ")
}

/// The client a trading account login belongs to: a marker holding the client's id, created
/// with the account's record on the client, so a deal's login leads to its client by key.
pub fn client_of_login(login: u64) -> Key {
    Key::new(format!("LOGIN#{login}"), "CLIENT")
}

pub fn onboarding(id: &str) -> Key {
    Key::new(format!("ONBOARDING#{id}"), "ONBOARDING")
}

pub fn onboardings_by_client(client_id: &str) -> String {
    format!("ONBOARDINGS#{client_id}")
}

pub fn review(id: &str) -> Key {
    Key::new(format!("REVIEW#{id}"), "REVIEW")
}

pub fn reviews_by_status(status: &str) -> String {
    format!("REVIEWS#{status}")
}

pub fn notification(id: &str) -> Key {
    Key::new(format!("NOTIFICATION#{id}"), "NOTIFICATION")
}

pub fn notifications_by_client(client_id: &str) -> String {
    format!("NOTIFICATIONS#{client_id}")
}

// KYC items, as rows of the key table above:
//
// | item | pk | sk | indexes |
// |---|---|---|---|
// | KYC check | `KYCCHECK#<id>` | `KYCCHECK` | gsi1 by client (sorted by creation time; listings only) |
// | a provider's check → the KYC check | `KYCPROVIDER#<provider>#<provider check id>` | `KYCPROVIDER` | |
// | the client's latest completed KYC check | `KYCLATEST#<client id>` | `KYCLATEST` | |
// | jurisdiction rules in force | `JURISDICTION#<id>` | `ACTIVE` | gsi1 `JURISDICTIONS` (all rule sets in force) |
// | jurisdiction rules version (immutable) | `JURISDICTION#<id>` | `V#<version, 10 digits>` | |

pub fn kyc_check(id: &str) -> Key {
    Key::new(format!("KYCCHECK#{id}"), "KYCCHECK")
}

pub fn kyc_checks_by_client(client_id: &str) -> String {
    format!("KYCCHECKS#{client_id}")
}

/// The KYC check that waits on `provider`'s check `provider_check_id` (what a provider's
/// webhook names): written with the check, read by key.
pub fn kyc_provider_check(provider: &str, provider_check_id: &str) -> Key {
    Key::new(
        format!("KYCPROVIDER#{provider}#{provider_check_id}"),
        "KYCPROVIDER",
    )
}

/// The client's latest completed KYC check (the newest by creation among the completed ones),
/// which re-verification decides by: moved forward in the transaction that completes a check.
pub fn kyc_latest_completed(client_id: &str) -> Key {
    Key::new(format!("KYCLATEST#{client_id}"), "KYCLATEST")
}

pub fn jurisdiction(id: &str) -> Key {
    Key::new(format!("JURISDICTION#{id}"), "ACTIVE")
}

pub fn jurisdiction_version(id: &str, version: u32) -> Key {
    Key::new(format!("JURISDICTION#{id}"), format!("V#{version:010}"))
}

/// The keyed list of the jurisdictions created in the store beyond the embedded ones.
pub fn jurisdiction_catalog() -> Key {
    Key::new("JURISDICTIONS", "CATALOG")
}
