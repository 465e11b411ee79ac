//! Deposits end to end through the local Step Functions engine, on both storage engines:
//! routing and cascading, provider webhooks through the event queue, crediting once, funding
//! the trading account, the wallet view, routing rules and provider health over HTTP.

mod deposit_flows;
mod deposits;
mod finance_reads;
mod psp_webhook;
mod transfers;
mod wallet;

use brokeros_tests::app as harness;
use deposit_flows::*;
use deposits::*;
use finance_reads::*;
use psp_webhook::*;
use transfers::*;
use wallet::*;

brokeros_tests::scenarios! {
    wallet_balances_and_transactions_follow_the_ledger => new,
    provider_webhooks_are_queued_once_and_forgeries_write_nothing => new,
    a_delivery_with_a_duplicate_json_key_writes_nothing => new,
    a_thousand_concurrent_deliveries_credit_once => new,
    mismatched_and_unknown_events_are_never_credited => new,
    a_decline_closes_the_attempt_without_credit => new,
    a_deposit_is_paid_by_signed_webhook_and_funds_the_trading_account => new,
    a_decline_cascades_to_the_next_provider => new,
    an_outage_at_a_provider_moves_to_the_next => new,
    every_provider_declining_declines_the_deposit => new,
    no_result_in_time_expires_and_a_late_success_is_never_credited => with_payment_timeout(1),
    a_retried_deposit_request_starts_one_workflow => new,
    each_deposit_state_change_is_one_transaction_with_its_audit_event => recording,
    routing_rules_and_provider_health_are_changed_by_finance_only => new,
    a_platform_outage_while_funding_is_retried_and_books_once => new,
    a_funding_the_platform_refuses_returns_the_money_to_the_wallet => new,
    a_funding_whose_every_reply_was_lost_is_found_booked_and_never_returned => new,
    bad_deposit_requests_write_nothing => new,
    a_deposit_amount_outside_the_grammar_is_refused_and_writes_nothing => new,
    a_result_applied_before_the_workflow_waits_is_not_lost => new,
    a_deposit_survives_crashes_between_its_commits_and_their_side_effects => new,
    a_deposit_moved_back_to_the_wallet_can_be_withdrawn => new,
    bad_transfer_requests_write_nothing => new,
    a_platform_refusal_fails_the_transfer_with_the_books_balanced => new,
    money_moves_between_two_trading_accounts_of_a_client => new,
    a_pending_transfer_nobody_repeats_is_resumed_by_the_sweep => new,
    money_both_accounts_refuse_back_stays_pending_for_finance => new,
    providers_show_their_health_who_set_it_and_routing_statistics => new,
    deposits_per_day_count_and_add_up_by_provider_status_and_currency => new,
    trading_accounts_show_the_platform_s_balance_and_equity => new,
}

/// The scenarios whose routing could rest on an index read (the providers' health), over
/// indexes that see no write until the test catches them up.
mod lagging_indexes {
    brokeros_tests::scenarios! {
        routing_rules_and_provider_health_are_changed_by_finance_only => lagging,
        a_decline_cascades_to_the_next_provider => lagging,
    }
}
