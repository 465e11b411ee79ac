//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): Withdrawals, their destinations and the daily auto-approval counters.

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

pub fn withdrawal(id: &str) -> Key {
    Key::new(format!("WITHDRAWAL#{id}"), "WITHDRAWAL")
}

pub fn withdrawal_destination(id: &str) -> Key {
    Key::new(format!("WITHDRAWAL#{id}"), "DESTINATION")
}

pub fn withdrawals_by_client(client_id: &str) -> String {
    format!("WITHDRAWALS#{client_id}")
}

pub fn withdrawals_by_status(status: &str) -> String {
    format!("WITHDRAWALS#STATUS#{status}")
}

pub fn withdrawal_auto_approvals(client_id: &str, day: time::Date) -> Key {
    Key::new(format!("WDAUTO#{client_id}#{}", utc_day(day)), "COUNT")
}
