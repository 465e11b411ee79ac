//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): Deposits, routing rules, provider statistics and health, unmatched provider events, and the local event queue.

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

// The local event queue (`psp::LocalEventQueue`): per queue and message group, a group item
// (sequence counter, in-flight lock, pending count) and its messages in send order; one item
// per deduplication id for the deduplication window.

// Payments: the deposit routing rules and the providers' statistics (`brokeros_payments::routing`). The
// counters of one UTC day share a partition, so one query reads every provider's volume (or
// outcomes) of the day; each counter is split in shards so that concurrent deposits rarely
// update the same item.

pub fn payment_routing() -> Key {
    Key::new("PAYROUTING", "ACTIVE")
}

pub fn payment_routing_version(version: u32) -> Key {
    Key::new("PAYROUTING", format!("V#{version:010}"))
}

pub fn psp_health(provider: &str) -> Key {
    Key::new(format!("PSP#{provider}"), "HEALTH")
}

pub fn psp_volume_day(day: time::Date) -> String {
    format!("PSPVOL#{}", utc_day(day))
}

pub fn psp_volume(day: time::Date, provider: &str, currency: &str, shard: u32) -> Key {
    Key::new(
        psp_volume_day(day),
        format!("{provider}#{currency}#{shard}"),
    )
}

pub fn psp_outcomes_day(day: time::Date) -> String {
    format!("PSPOUT#{}", utc_day(day))
}

pub fn psp_outcomes(day: time::Date, hour: u8, provider: &str, shard: u32) -> Key {
    Key::new(
        psp_outcomes_day(day),
        format!("{hour:02}#{provider}#{shard}"),
    )
}

pub fn deposit(id: &str) -> Key {
    Key::new(format!("DEPOSIT#{id}"), "DEPOSIT")
}

pub fn deposits_by_client(client_id: &str) -> String {
    format!("DEPOSITS#{client_id}")
}

/// The deposits created on one UTC day (gsi2), for the per-day figures finance reads.
pub fn deposits_by_day(day: time::Date) -> String {
    format!("DEPOSITS#DAY#{}", utc_day(day))
}

pub fn unmatched_payment(provider: &str, event_id: &str) -> Key {
    Key::new(format!("UNMATCHED#{provider}#{event_id}"), "UNMATCHED")
}

pub const UNMATCHED_PAYMENTS: &str = "UNMATCHED";

pub fn transfer(id: &str) -> Key {
    Key::new(format!("TRANSFER#{id}"), "TRANSFER")
}

pub fn transfers_by_client(client_id: &str) -> String {
    format!("TRANSFERS#{client_id}")
}

/// Transfers by status, oldest first (a client id cannot hold `#`, so this partition is no
/// client's).
pub fn transfers_by_status(status: &str) -> String {
    format!("TRANSFERS#STATUS#{status}")
}
