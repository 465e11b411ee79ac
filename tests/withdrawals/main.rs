//! Withdrawals end to end through the local Step Functions engine, on both storage engines:
//! reservations, checks, auto-approval, maker-checker approvals through the approvals context,
//! payout, settlement or release, expiry, and concurrent requests that never overdraw.

mod scenarios;

use brokeros_tests::app as harness;
use scenarios::*;

brokeros_tests::scenarios! {
    an_auto_approved_withdrawal_is_paid_and_settled => new,
    finance_approves_a_withdrawal_the_rules_do_not => new,
    a_large_withdrawal_needs_two_approvers_never_the_requester => new,
    bad_withdrawal_requests_write_nothing => new,
    a_rejected_withdrawal_releases_the_reservation => new,
    a_failed_withdrawal_payout_releases_and_an_outage_is_retried => new,
    withdrawal_checks_reject_unverified_clients_and_other_methods => new,
    an_undecided_withdrawal_expires_and_releases => with_approval_timeout(1),
    two_hundred_concurrent_withdrawals_never_overdraw_the_wallet => with_auto_approvals(50),
    a_withdrawal_committed_before_a_crash_is_paid_after_the_restart => new,
}
