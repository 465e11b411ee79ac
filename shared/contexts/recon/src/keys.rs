//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): Reconciliation runs and their items.

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

// Reconciliation (`brokeros_recon`): a run and the chunks of its items share a partition, written
// once in one transaction.

pub fn recon_run(run_id: &str) -> Key {
    Key::new(format!("RECON#{run_id}"), "RUN")
}

pub const RECON_ITEMS_PREFIX: &str = "ITEMS#";

pub fn recon_items(run_id: &str, chunk: usize) -> Key {
    Key::new(
        format!("RECON#{run_id}"),
        format!("{RECON_ITEMS_PREFIX}{chunk:04}"),
    )
}
