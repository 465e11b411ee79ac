//! Governed onboarding end to end through the local Step Functions engine, on both storage
//! engines: every branch of the onboarding state machine, the compliance API, restarts.

mod deposit_flows;
mod deposits;
mod flows;
mod harness;
mod kyc_checks;
mod psp_webhook;
mod recon_api;
mod wallet;
mod withdrawals;

use deposit_flows::*;
use deposits::*;
use flows::*;
use psp_webhook::*;
use recon_api::*;
use wallet::*;
use withdrawals::*;

macro_rules! onboarding_tests {
    ($($scenario:ident => $app:ident $(($seconds:expr))?),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let store = brokeros_tests::fresh_sqlite_store();
                    crate::$scenario(crate::harness::App::$app(store $(, $seconds)?).await).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let store = brokeros_tests::fresh_dynamo_store().await;
                    crate::$scenario(crate::harness::App::$app(store $(, $seconds)?).await).await;
                }
            )*
        }
    };
}

onboarding_tests! {
    clear_client_is_approved_and_gets_an_account => new,
    review_approved_by_compliance_opens_the_account => new,
    review_rejected_by_compliance_rejects_the_client => new,
    failed_documents_reject_without_review => new,
    provider_outage_is_retried_then_recovers => new,
    provider_outage_exhausted_fails_and_records_it => new,
    review_left_too_long_escalates_and_an_admin_decides => with_review_timeouts(2),
    review_never_decided_expires => with_review_timeouts(1),
    a_decision_the_workflow_never_heard_is_followed_at_the_deadline => with_review_timeouts(3),
    an_escalated_rejection_the_workflow_never_heard_is_followed_at_the_deadline => with_review_timeouts(2),
    decisions_outside_compliance_change_nothing => new,
    an_answered_or_unknown_token_has_no_effect => new,
    a_waiting_onboarding_survives_a_restart => new,
    a_change_of_client_type_requires_reverification => new,
    a_pending_check_completes_by_the_providers_signed_webhook => new,
    a_kyc_result_before_the_workflow_waits_is_answered_by_the_await_task => new,
    a_workflow_that_cannot_start_leaves_no_client_pending => with_workflow_down,
    a_replayed_start_answers_the_same_execution => new,
    a_replayed_decision_answers_the_same_review => new,
    wallet_balances_and_transactions_follow_the_ledger => new,
    provider_webhooks_are_queued_once_and_forgeries_write_nothing => new,
    settlement_reports_reconcile_over_http_for_finance_only => new,
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
    a_result_applied_before_the_workflow_waits_is_not_lost => new,
    an_auto_approved_withdrawal_is_paid_and_settled => new,
    finance_approves_a_withdrawal_the_rules_do_not => new,
    a_large_withdrawal_needs_two_approvers_never_the_requester => new,
    bad_withdrawal_requests_write_nothing => new,
    a_rejected_withdrawal_releases_the_reservation => new,
    a_failed_withdrawal_payout_releases_and_an_outage_is_retried => new,
    withdrawal_checks_reject_unverified_clients_and_other_methods => new,
    an_undecided_withdrawal_expires_and_releases => with_approval_timeout(1),
    two_hundred_concurrent_withdrawals_never_overdraw_the_wallet => with_auto_approvals(50),
}
