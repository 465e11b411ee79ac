//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): each offer's audited record in its partition, found by status and by
//! manager.

use brokeros_store::Key;

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
