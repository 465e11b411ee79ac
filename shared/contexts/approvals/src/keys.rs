//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): approval processes, and the index of them by status that work queues
//! page through.

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

pub fn approval(id: &str) -> Key {
    Key::new(format!("APPROVAL#{id}"), "APPROVAL")
}

pub fn approvals_by_status(status: &str) -> String {
    format!("APPROVALS#STATUS#{status}")
}
