//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): each offer's audited record and its fund's state in the offer's
//! partition with one holding item per holder; each request and each rollover in a partition
//! of its own, a rollover's lines (one per holder) beside its record.

use brokeros_store::Key;
use time::OffsetDateTime;

pub use brokeros_kernel::keys::*;

fn offer_pk(id: &str) -> String {
    format!("PAMM#{id}")
}

/// An offer's audited record.
pub fn offer(id: &str) -> Key {
    Key::new(offer_pk(id), "OFFER")
}

/// The index partition (gsi1) of the offers in `status`, by creation time.
pub fn offers_in_status(status: &str) -> String {
    format!("PAMMOFFERS#{status}")
}

/// The index partition (gsi2) of a manager's offers, by creation time.
pub fn offers_of_manager(client_id: &str) -> String {
    format!("PAMMOFFERS#MANAGER#{client_id}")
}

/// An offer's fund: its state between rollovers and the phase of the one under way.
pub fn fund(offer_id: &str) -> Key {
    Key::new(offer_pk(offer_id), "FUND")
}

/// The sort key prefix of an offer's holdings.
pub const HOLDING_PREFIX: &str = "HOLDING#";

/// The partition of an offer's holdings (and its record and fund).
pub fn offer_partition(offer_id: &str) -> String {
    offer_pk(offer_id)
}

/// A holder's holding in an offer's fund.
pub fn holding(offer_id: &str, client_id: &str) -> Key {
    Key::new(offer_pk(offer_id), format!("{HOLDING_PREFIX}{client_id}"))
}

/// The index partition (gsi1) of a client's holdings, by offer.
pub fn holdings_of_client(client_id: &str) -> String {
    format!("PAMMHOLDINGS#{client_id}")
}

/// An investor's request.
pub fn request(id: &str) -> Key {
    Key::new(format!("PAMMREQ#{id}"), "REQUEST")
}

/// The index partition (gsi1) of an offer's requests in `status`.
pub fn requests_in_status(offer_id: &str, status: &str) -> String {
    format!("PAMMREQS#{offer_id}#{status}")
}

/// A request's sort key in its status partition: by the rollover it is due at, then in the
/// order received.
pub fn request_due(due_at: OffsetDateTime, created_at: OffsetDateTime, id: &str) -> String {
    format!("{}#{}", sortable_time(due_at), by_time(created_at, id))
}

/// The upper bound of the sort keys of requests due at or before `at`.
pub fn requests_due_by(at: OffsetDateTime) -> String {
    format!("{}#~", sortable_time(at))
}

/// The index partition (gsi2) of a client's requests to an offer, by creation time.
pub fn requests_of_client(offer_id: &str, client_id: &str) -> String {
    format!("PAMMREQS#{offer_id}#CLIENT#{client_id}")
}

fn rollover_pk(id: &str) -> String {
    format!("PAMMROLL#{id}")
}

/// A rollover's audited record.
pub fn rollover(id: &str) -> Key {
    Key::new(rollover_pk(id), "ROLLOVER")
}

/// The index partition (gsi1) of an offer's rollovers, by time: its NAV history.
pub fn rollovers_of(offer_id: &str) -> String {
    format!("PAMMROLLS#{offer_id}")
}

/// The sort key prefix of a rollover's lines.
pub const LINE_PREFIX: &str = "LINE#";

/// The partition of a rollover's lines.
pub fn rollover_partition(id: &str) -> String {
    rollover_pk(id)
}

/// One holder's line of a rollover.
pub fn rollover_line(id: &str, holder: &str) -> Key {
    Key::new(rollover_pk(id), format!("{LINE_PREFIX}{holder}"))
}

/// The index partition (gsi1) of a holder's lines in an offer, by time: their statements.
pub fn lines_of_holder(offer_id: &str, holder: &str) -> String {
    format!("PAMMLINES#{offer_id}#{holder}")
}
