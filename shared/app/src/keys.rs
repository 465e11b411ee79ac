//! The single-table key design: one place that says where each kind of item lives and which
//! index serves which access pattern.
//!
//! | item | pk | sk | indexes |
//! |---|---|---|---|
//! | lead | `LEAD#<id>` | `LEAD` | gsi1 by status, gsi2 by agent, gsi3 by country, gsi4 by brand (all sorted by creation time) |
//! | task | `LEAD#<lead id>` | `TASK#<task id>` | |
//! | client | `CLIENT#<id>` | `CLIENT` | gsi1 by portal user |
//! | dedupe key | `UNIQ#<brand>#EMAIL#<sha256>` / `…#PHONE#<sha256>` | `UNIQ` | |
//! | round-robin counter | `ASSIGN#<brand>#<pool>` | `COUNTER` | |
//! | idempotency record | `IDEM#<scope>#<key>` | `IDEM` | |
//! | onboarding | `ONBOARDING#<id>` | `ONBOARDING` | gsi1 by client, sorted by start time |
//! | compliance review | `REVIEW#<id>` | `REVIEW` | gsi1 by status, sorted by creation time |
//! | notification (outbox) | `NOTIFICATION#<id>` | `NOTIFICATION` | gsi1 by client |
//! | one client per portal user | `UNIQ#USER#<user id>` | `UNIQ` | |
//! | KYC check | `KYCCHECK#<id>` | `KYCCHECK` | gsi1 by client, gsi2 by the provider's check id |
//! | jurisdiction rules | `JURISDICTION#<id>` | `ACTIVE` (pointer) / `V#<version, 10 digits>` (immutable versions) | |
//! | trading platform (simulated) | `TP#…` | | see `brokeros_trading::simulated` |
//! | workflow execution (local engine) | `SFNEXEC#<arn>` | `EXEC`, `EXEC#<version>#<part>`, `HIST#<first event>` | gsi1 by state machine, gsi2 while running; see `brokeros_sfn::persist` |
//! | workflow definition (local engine) | `SFNDEF#<sha256>` | | |
//! | event queue (local adapter of `psp::EventQueue`) | `QGROUP#<queue>#<group>` / `QMSG#<queue>#<group>` / `QDEDUP#<queue>#<dedup id>` | `GROUP` / `<seq, 20 digits>` / `DEDUP` | group: gsi1 `QREADY#<queue>` while it holds messages, sorted by when it is deliverable |
//! | ledger entry (immutable) / its one closure (reversal, release or settlement) | `LEDGER#ENTRY#<transfer id>` | `ENTRY` / `CLOSED` | |
//! | ledger: client wallet balance | `LEDGER#CLIENT#<client id>` | `WALLET#<currency>` | |
//! | ledger: other balance (one item; house accounts in shards) | `LEDGER#BAL#<account>` | `BAL` / `SHARD#<nn>` | |
//! | ledger: posting (an account's history) | `LEDGER#HIST#<account>` | `<posted at>#<transfer id>#<leg, 2 digits>` | |
//! | deposit routing: rules (pointer in force / immutable versions), provider health, provider counters per UTC day (volume per currency, outcomes per hour; sharded) | `PAYROUTING` / `PSP#<provider>` / `PSPVOL#<yyyy-mm-dd>`, `PSPOUT#<yyyy-mm-dd>` | `ACTIVE`, `V#<version, 10 digits>` / `HEALTH` / `<provider>#<currency>#<shard>`, `<hh>#<provider>#<shard>` | health: gsi1 `PSPHEALTH` (every provider) |
//! | reconciliation run (immutable; id from provider + report sha256) / its items in chunks | `RECON#<run id>` | `RUN` / `ITEMS#<chunk, 4 digits>` | |
//! | deposit | `DEPOSIT#<id>` | `DEPOSIT` | gsi1 by client, sorted by creation time |
//! | withdrawal / its destination (kept out of the audited record) | `WITHDRAWAL#<id>` | `WITHDRAWAL` / `DESTINATION` | gsi1 by client, gsi2 by status (both sorted by request time) |
//! | withdrawals auto-approved for a client on a UTC day | `WDAUTO#<client id>#<yyyy-mm-dd>` | `COUNT` | |
//! | provider event for no known deposit | `UNMATCHED#<provider>#<event id>` | `UNMATCHED` | gsi1 `UNMATCHED` by time |
//! | audit event (audit table) | `<entity type>#<entity id>` | `<seq, 12 digits>` | gsi1 by UTC day, sorted by event id |

use brokeros_domain::canonical::sha256_hex;
use brokeros_store::Key;
pub use brokeros_kernel::keys::*;
use time::OffsetDateTime;
use time::macros::format_description;

pub fn lead(id: &str) -> Key {
    Key::new(format!("LEAD#{id}"), "LEAD")
}

/// A lead's tasks share its partition; a lead's timeline is its audit stream.
pub fn task(lead_id: &str, task_id: &str) -> Key {
    Key::new(format!("LEAD#{lead_id}"), format!("TASK#{task_id}"))
}

pub const TASK_PREFIX: &str = "TASK#";

pub fn client(id: &str) -> Key {
    Key::new(format!("CLIENT#{id}"), "CLIENT")
}

pub fn client_by_user(user_id: &str) -> String {
    format!("USER#{user_id}")
}

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

/// One client per portal user.
pub fn unique_user(user_id: &str) -> Key {
    Key::new(format!("UNIQ#USER#{user_id}"), "UNIQ")
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
// | KYC check | `KYCCHECK#<id>` | `KYCCHECK` | gsi1 by client (sorted by creation time), gsi2 by provider check |
// | jurisdiction rules in force | `JURISDICTION#<id>` | `ACTIVE` | gsi1 `JURISDICTIONS` (all rule sets in force) |
// | jurisdiction rules version (immutable) | `JURISDICTION#<id>` | `V#<version, 10 digits>` | |

pub fn kyc_check(id: &str) -> Key {
    Key::new(format!("KYCCHECK#{id}"), "KYCCHECK")
}

pub fn kyc_checks_by_client(client_id: &str) -> String {
    format!("KYCCHECKS#{client_id}")
}

/// Finds the check a provider's webhook is about.
pub fn kyc_check_by_provider(provider: &str, provider_check_id: &str) -> String {
    format!("KYCPROVIDERCHECK#{provider}#{provider_check_id}")
}

pub fn jurisdiction(id: &str) -> Key {
    Key::new(format!("JURISDICTION#{id}"), "ACTIVE")
}

pub fn jurisdiction_version(id: &str, version: u32) -> Key {
    Key::new(format!("JURISDICTION#{id}"), format!("V#{version:010}"))
}

/// The index partition holding every jurisdiction's rules in force.
pub const JURISDICTIONS_IN_FORCE: &str = "JURISDICTIONS";

// The local event queue (`psp::LocalEventQueue`): per queue and message group, a group item
// (sequence counter, in-flight lock, pending count) and its messages in send order; one item
// per deduplication id for the deduplication window.

pub fn queue_group(queue: &str, group_id: &str) -> Key {
    Key::new(format!("QGROUP#{queue}#{group_id}"), "GROUP")
}

/// The partition of a group's messages, sorted by sequence number.
pub fn queue_messages(queue: &str, group_id: &str) -> String {
    format!("QMSG#{queue}#{group_id}")
}

pub fn queue_message(queue: &str, group_id: &str, seq: u64) -> Key {
    Key::new(queue_messages(queue, group_id), format!("{seq:020}"))
}

pub fn queue_dedup(queue: &str, dedup_id: &str) -> Key {
    Key::new(format!("QDEDUP#{queue}#{dedup_id}"), "DEDUP")
}

/// The index partition (gsi1) of a queue's groups that hold messages.
pub fn queue_ready(queue: &str) -> String {
    format!("QREADY#{queue}")
}

/// A group's sort key in [`queue_ready`]: when it becomes deliverable (Unix milliseconds,
/// fixed width), then the group.
pub fn queue_ready_at(at_unix_ms: i64, group_id: &str) -> String {
    format!("{:020}#{group_id}", at_unix_ms.max(0))
}

// The ledger (`crate::ledger`). Accounts appear by their names (`WALLET:<client>:<currency>`,
// `CLEARING:<provider>:<currency>`, …; see `brokeros_domain::ledger::AccountId`). An entry's
// partition holds the entry and the marker of its one closure; a client's wallets share one
// partition (all balances of a client in one query); a house account's balance is split into
// shards that concurrent entries update independently; an account's postings are one
// partition sorted by time.

pub fn ledger_entry(transfer_id: &str) -> Key {
    Key::new(format!("LEDGER#ENTRY#{transfer_id}"), "ENTRY")
}

/// Created once, when the entry is reversed (a transfer) or released or settled (a
/// reservation).
pub fn ledger_closure(transfer_id: &str) -> Key {
    Key::new(format!("LEDGER#ENTRY#{transfer_id}"), "CLOSED")
}

/// The partition of a client's wallet balances.
pub fn ledger_wallets(client_id: &str) -> String {
    format!("LEDGER#CLIENT#{client_id}")
}

pub const LEDGER_WALLET_PREFIX: &str = "WALLET#";

pub fn ledger_wallet(client_id: &str, currency: &str) -> Key {
    Key::new(
        ledger_wallets(client_id),
        format!("{LEDGER_WALLET_PREFIX}{currency}"),
    )
}

/// The partition of a (non-wallet) account's balance item or shards.
pub fn ledger_balances(account: &str) -> String {
    format!("LEDGER#BAL#{account}")
}

pub fn ledger_balance(account: &str) -> Key {
    Key::new(ledger_balances(account), "BAL")
}

pub fn ledger_balance_shard(account: &str, shard: u32) -> Key {
    Key::new(ledger_balances(account), format!("SHARD#{shard:02}"))
}

/// The partition of an account's postings.
pub fn ledger_history(account: &str) -> String {
    format!("LEDGER#HIST#{account}")
}

/// The sort key of a posting: by time, then entry and leg. A time alone (see
/// [`sortable_time`]) sorts before every posting of that time.
pub fn ledger_posting(
    account: &str,
    posted_at: OffsetDateTime,
    transfer_id: &str,
    leg: usize,
) -> Key {
    Key::new(
        ledger_history(account),
        format!("{}#{transfer_id}#{leg:02}", sortable_time(posted_at)),
    )
}

// Payments: the deposit routing rules and the providers' statistics (`crate::payments`). The
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

/// The index partition (gsi1) holding every provider's health.
pub const PSP_HEALTH_ALL: &str = "PSPHEALTH";

fn utc_day(day: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
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

// Reconciliation (`crate::recon`): a run and the chunks of its items share a partition, written
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

pub fn deposit(id: &str) -> Key {
    Key::new(format!("DEPOSIT#{id}"), "DEPOSIT")
}

pub fn deposits_by_client(client_id: &str) -> String {
    format!("DEPOSITS#{client_id}")
}

pub fn unmatched_payment(provider: &str, event_id: &str) -> Key {
    Key::new(format!("UNMATCHED#{provider}#{event_id}"), "UNMATCHED")
}

pub const UNMATCHED_PAYMENTS: &str = "UNMATCHED";

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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sortable_time_is_fixed_width_and_ordered() {
        let a = sortable_time(datetime!(2026-11-24 09:00:00 UTC));
        let b = sortable_time(datetime!(2026-11-24 09:00:00.5 UTC));
        assert_eq!(a, "2026-11-24T09:00:00.000000Z");
        assert!(a < b);
        assert_eq!(
            audit_day(datetime!(2026-11-24 23:59:59 -01:00)),
            "DAY#2026-11-25"
        );
    }
}
