//! The trading platform port, exercised through the simulated platform on both engines: the
//! embedded SQLite engine (`sqlite::…`) and DynamoDB through DynamoDB Local (`dynamodb::…`),
//! each on a fresh store.
//!
//! A scenario is written once, as `async fn scenario(store: Arc<dyn Store>)` in one of the
//! modules below, and listed in the `store_scenarios!` invocation at the bottom of this file.

mod accounts;
mod balances;
mod common;
mod deals;
mod history;
mod idempotency;
mod outage;

brokeros_tests::store_scenarios! {
    accounts::creating_an_account_twice_opens_one,
    accounts::a_reused_request_id_with_other_data_is_refused,
    accounts::concurrent_creations_get_distinct_logins,
    accounts::invalid_account_requests_write_nothing,
    balances::deposits_withdrawals_and_credit_move_balance_and_equity,
    balances::refused_operations_change_nothing,
    balances::withdrawals_are_limited_by_free_margin,
    balances::amounts_are_checked_against_the_account_currency,
    balances::unknown_accounts_are_reported,
    idempotency::a_replayed_operation_returns_its_first_receipt,
    idempotency::a_reused_operation_id_with_other_data_is_refused,
    idempotency::concurrent_replays_take_effect_once,
    idempotency::concurrent_deposits_lose_no_update,
    deals::generated_deals_are_booked_and_deterministic,
    deals::pages_visit_every_deal_once_and_resume_after_new_ones,
    deals::group_feeds_hold_the_group_in_ticket_order,
    deals::cursors_and_limits_are_checked,
    history::pages_visit_every_change_once_and_resume_after_new_ones,
    history::trades_book_their_entries_and_positions,
    history::corrections_and_cancellations_follow_their_deal,
    history::malformed_deals_are_in_the_history_and_fail_validation,
    history::history_cursors_limits_and_servers_are_checked,
    outage::failed_calls_do_nothing,
    outage::a_lost_reply_is_recovered_by_a_retry,
    outage::a_caller_that_lost_every_reply_finds_the_operation_by_its_id,
}
