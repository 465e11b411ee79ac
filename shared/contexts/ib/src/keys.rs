//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): applications, IBs, invitations, clients' and leads' referral
//! records, and the keyed markers decisions rest on (a referral code's IB, a portal user's IB).

use brokeros_store::Key;

use crate::model::{Beneficiary, Period, PeriodKind};

pub use brokeros_kernel::keys::*;

pub fn application(id: &str) -> Key {
    Key::new(format!("IBAPP#{id}"), "APPLICATION")
}

pub fn applications_by_status(status: &str) -> String {
    format!("IBAPPS#{status}")
}

pub fn ib(id: &str) -> Key {
    Key::new(format!("IB#{id}"), "IB")
}

/// Every IB, by creation time (the partner managers' list).
pub const ALL_IBS: &str = "IBS";

/// The IBs whose current parent is `parent` (`None`: the master IBs).
pub fn ibs_under(parent: Option<&str>) -> String {
    format!("IBCHILDREN#{}", parent.unwrap_or("-"))
}

pub fn invitation(id: &str) -> Key {
    Key::new(format!("IBINVITE#{id}"), "INVITATION")
}

pub fn invitations_of(ib_id: &str) -> String {
    format!("IBINVITES#{ib_id}")
}

/// A client's attribution (its referral touches and IB over time).
pub fn client_attribution(client_id: &str) -> Key {
    Key::new(format!("IBCLIENT#{client_id}"), "ATTRIBUTION")
}

/// The clients whose current IB is `ib_id`.
pub fn clients_of(ib_id: &str) -> String {
    format!("IBCLIENTS#{ib_id}")
}

/// The referral codes seen on a lead's captures.
pub fn lead_referrals(lead_id: &str) -> Key {
    Key::new(format!("IBLEAD#{lead_id}"), "REFERRALS")
}

/// A referral code's IB (codes compared in upper case): unique across IBs.
pub fn referral_code(code: &str) -> Key {
    Key::new(format!("UNIQ#IBCODE#{}", code.to_uppercase()), "UNIQ")
}

/// The IB a portal user signs in as.
pub fn ib_user(user_id: &str) -> Key {
    Key::new(format!("UNIQ#IBUSER#{user_id}"), "UNIQ")
}

// Accruals and payout periods. Legs live in one partition per beneficiary and period, so a
// statement reads its legs with a keyed (consistent) query; each period lists the beneficiaries
// that have legs in it; a period's `CLOSED` marker exists once it is closed, and every batch
// that writes legs into a period checks in its transaction that the marker does not exist, so
// no leg lands in a period after it closed (a late deal's legs go to the next open period).

fn period_part(period: Period) -> String {
    format!("{}#{}", period_kind_name(period.kind), period.label())
}

/// `daily`, `weekly` or `monthly`, as keys and the API name a period's kind.
pub fn period_kind_name(kind: PeriodKind) -> &'static str {
    match kind {
        PeriodKind::Daily => "daily",
        PeriodKind::Weekly => "weekly",
        PeriodKind::Monthly => "monthly",
    }
}

/// The partition of `beneficiary`'s legs counted in `period` (`Beneficiary`'s display form:
/// `ib:<id>` or `client:<id>`).
pub fn legs_partition(beneficiary: &Beneficiary, period: Period) -> String {
    format!("IBLEG#{beneficiary}#{}", period_part(period))
}

/// One leg, by its id ([`crate::model::Accrual::id`]), in the partition of the period it counts in.
pub fn leg(beneficiary: &Beneficiary, period: Period, leg_id: &str) -> Key {
    Key::new(legs_partition(beneficiary, period), leg_id)
}

/// The partition listing the beneficiaries with legs in `period`.
pub fn period_beneficiaries(period: Period) -> String {
    format!("IBPERIODBEN#{}", period_part(period))
}

/// `beneficiary`'s entry in the list of `period`'s beneficiaries.
pub fn period_beneficiary(period: Period, beneficiary: &Beneficiary) -> Key {
    Key::new(period_beneficiaries(period), beneficiary.to_string())
}

/// Exists once `period` is closed.
pub fn period_closed(period: Period) -> Key {
    Key::new(format!("IBPERIOD#{}", period_part(period)), "CLOSED")
}

// Payouts: a run per schedule and period, statements listed per run and per IB, and what each
// beneficiary carries per kind of period and currency.

pub fn payout_run(id: &str) -> Key {
    Key::new(format!("IBPAYOUT#{id}"), "RUN")
}

/// Where the payouts of periods of kind `kind_name` stand.
pub fn payout_sequence(kind_name: &str) -> Key {
    Key::new(format!("IBPAYOUTSEQ#{kind_name}"), "SEQUENCE")
}

/// Every payout run, by start time.
pub const PAYOUT_RUNS: &str = "IBPAYOUTS";

pub fn statement(id: &str) -> Key {
    Key::new(format!("IBSTMT#{id}"), "STATEMENT")
}

/// The statements of payout run `run_id`.
pub fn statements_of_run(run_id: &str) -> String {
    format!("IBSTMTS#{run_id}")
}

/// The statements an IB's portal shows.
pub fn statements_of_ib(ib_id: &str) -> String {
    format!("IBSTMTSOF#{ib_id}")
}

pub fn carried_balance(id: &str) -> Key {
    Key::new(format!("IBCARRY#{id}"), "CARRY")
}

/// The partition of a client's counted deals on one platform server as the accrual last
/// computed them (each with its legs), by time: what a stateless accrual run rebuilds the
/// client's book from when a deal comes late, is corrected or cancelled. Keyed by server, as
/// tickets and position ids are each server's own.
pub fn client_deals(client_id: &str, server: &str) -> String {
    format!("IBCLIENTDEAL#{client_id}#{server}")
}

/// One deal of `client_id`'s on `server`, by its time and ticket (zero-padded, so sort keys
/// sort as the engine orders deals).
pub fn client_deal(client_id: &str, server: &str, time_msc: i64, deal: u64) -> Key {
    Key::new(
        client_deals(client_id, server),
        client_deal_sk(time_msc, deal),
    )
}

fn client_deal_sk(time_msc: i64, deal: u64) -> String {
    format!("{time_msc:020}#{deal:020}")
}

/// What marks a checkpoint's sort key in a client's book.
pub const CHECKPOINT_SUFFIX: &str = "#state";

/// The sort key of the checkpoint after the deal at `time_msc` with ticket `deal` in a client's
/// book: right after that deal's, before the next deal's.
pub fn client_checkpoint_sk(time_msc: i64, deal: u64) -> String {
    format!("{}{CHECKPOINT_SUFFIX}", client_deal_sk(time_msc, deal))
}

/// The engine's state after the deal at `time_msc` with ticket `deal` of `client_id`'s book on
/// `server`: where a replay of the deals after it can start.
pub fn client_checkpoint(client_id: &str, server: &str, time_msc: i64, deal: u64) -> Key {
    Key::new(
        client_deals(client_id, server),
        client_checkpoint_sk(time_msc, deal),
    )
}

/// The head of a client's book on one server: the engine's state after its deals (open
/// positions, CPA progress, last deal), which a batch of later deals reads alone, and the
/// book's checkpoints.
pub fn client_book(client_id: &str, server: &str) -> Key {
    Key::new(format!("IBCLIENTBOOK#{client_id}#{server}"), "HEAD")
}

/// A deal change whose accrual the engine refused, by server, ticket and revision.
pub fn quarantined_deal(server: &str, deal: u64, revision: u32) -> Key {
    Key::new(
        format!("IBQUARANTINE#{server}#{deal}#{revision}"),
        "QUARANTINE",
    )
}

/// The index partition listing a server's quarantined deal changes, by time.
pub fn quarantined_deals(server: &str) -> String {
    format!("IBQUARANTINED#{server}")
}
