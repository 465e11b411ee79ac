//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): each contest's audited record and the immutable text of each of its
//! versions in one partition, the catalog of published contests holding an account group or a
//! campaign, entrants, and the per-contest entry markers that keep a login and a person to one
//! entry (keyed: decisions read them by key, never from an index).

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

fn contest_pk(id: &str) -> String {
    format!("CONTEST#{id}")
}

/// A contest's audited record.
pub fn contest(id: &str) -> Key {
    Key::new(contest_pk(id), "CONTEST")
}

/// The text of version `version` of contest `id`, written once.
pub fn contest_version(id: &str, version: u32) -> Key {
    Key::new(contest_pk(id), format!("V#{version:010}"))
}

/// The index partition (gsi1) of the contests in `status`, by creation time.
pub fn contests_in_status(status: &str) -> String {
    format!("CONTESTS#{status}")
}

/// The index partition (gsi2) of every contest, by creation time.
pub const ALL_CONTESTS: &str = "CONTESTS";

/// The index partition (gsi3) of the contests anyone may see (published and after), by the
/// start of their registration.
pub const PUBLIC_CONTESTS: &str = "CONTESTSPUBLIC";

/// The published contests that hold a dedicated account group or an enrolment campaign.
pub fn published_catalog() -> Key {
    Key::new("CONTESTCATALOG", "PUBLISHED")
}

/// An entrant's audited record.
pub fn entrant(id: &str) -> Key {
    Key::new(format!("CONTESTENTRANT#{id}"), "ENTRANT")
}

/// The index partition (gsi1) of a contest's entrants, by registration time.
pub fn entrants_of(contest_id: &str) -> String {
    format!("CONTESTENTRANTS#{contest_id}")
}

/// The index partition (gsi2) of a client's entries, by registration time.
pub fn entries_of_client(client_id: &str) -> String {
    format!("CLIENTCONTESTS#{client_id}")
}

/// The partition of a contest's entry markers: `LOGIN#<login>` per entered account (its
/// roster, read by a keyed query) and `PERSON#<kind>#<id or digest>` per person entered.
pub fn entries_partition(contest_id: &str) -> String {
    format!("CONTESTENTRIES#{contest_id}")
}

pub const LOGIN_ENTRY_PREFIX: &str = "LOGIN#";

/// The marker of account `login`'s entry into contest `contest_id`.
pub fn login_entry(contest_id: &str, login: u64) -> Key {
    Key::new(
        entries_partition(contest_id),
        format!("{LOGIN_ENTRY_PREFIX}{login:020}"),
    )
}

/// The marker of a person's entry into contest `contest_id`: `kind` is `CLIENT` (the client's
/// id), `DOC`, `PHONE` or `EMAIL` (SHA-256 digests: emails, phones and document numbers appear
/// in keys only as digests).
pub fn person_entry(contest_id: &str, kind: &str, id: &str) -> Key {
    Key::new(entries_partition(contest_id), format!("PERSON#{kind}#{id}"))
}

/// A contest's prize round (audited).
pub fn prize_round(contest_id: &str) -> Key {
    Key::new(format!("CONTESTPRIZES#{contest_id}"), "ROUND")
}
