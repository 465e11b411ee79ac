//! The IB context end to end over HTTP, on both storage engines: applications and their
//! review into IBs, a 150-level tree and the move that would close a cycle, effective-dated
//! moves of IBs and clients, standing, attribution by first and last touch, unknown referral
//! codes, sub-IB invitations within the allowance, each IB kept to its own subtree, and bad
//! input that writes nothing; agreements that name stored plans of one kind of period only;
//! deal ingestion from the platform's feed (`deals`: store-level scenarios, exactly once by
//! server, deal and revision); the IB dashboard's volume and earnings per period, and tiers
//! and client rebates paid through statements (store-level, with a clock moved forward).

mod accruals;
mod agreements;
mod dashboard;
mod deals;
mod partners;
mod payout;
mod plans;
mod statements;

use accruals::*;
use agreements::*;
use brokeros_tests::app as harness;
use partners::*;
use plans::*;

brokeros_tests::scenarios! {
    an_approved_application_makes_an_ib_with_wallet_codes_and_agreement => lagging,
    a_150_level_tree_refuses_a_move_under_a_descendant => new,
    effective_dated_moves_change_the_chain_from_their_time_on => lagging,
    suspension_and_termination_follow_their_rules_with_reasons => lagging,
    attribution_follows_the_first_or_last_touch_within_the_window => new,
    an_unknown_referral_code_is_recorded_and_the_lead_captured => new,
    sub_ib_invitations_stop_at_the_allowance => lagging,
    an_ib_sees_only_its_own_subtree => new,
    bad_partner_requests_write_nothing => lagging,
    plan_versions_are_stored_audited_and_listed => new,
    bad_plans_write_nothing => new,
    deals_accrue_explained_legs_per_level_and_scalps_and_hedges_earn_nothing => new,
    corrections_and_cancellations_reverse_and_late_deals_land_in_the_next_open_period => new,
    a_suspended_ib_forfeits_and_a_moved_client_pays_its_new_chain => new,
    a_bad_accrual_request_writes_nothing => new,
    random_arrival_and_batch_sizes_accrue_as_one_recomputation => new,
    a_batch_too_big_for_one_transaction_is_read_again_smaller => new,
    an_ib_paid_in_another_currency_gets_the_converted_leg_naming_its_rate => new,
    agreements_name_stored_plans_of_one_kind_of_period => new,
    a_deal_the_engine_refuses_is_quarantined_and_the_feed_moves_on => new,
    a_missing_fx_rate_holds_the_feed_until_the_rate_is_quoted => new,
    two_servers_with_the_same_tickets_keep_separate_books => new,
    a_replay_too_large_for_one_transaction_is_written_in_steps_exactly_once => new,
    a_long_history_accrues_as_one_recomputation_reading_books_from_checkpoints => recording,
}

/// The IB portal's period figures and the statements' tier and rebate lines, on the live
/// accrual path with Broker OS's clock moved past the periods (so they can close), under
/// `portal_periods::{sqlite, dynamodb}`.
mod portal_periods {
    brokeros_tests::store_scenarios! {
        dashboard::the_dashboard_shows_each_periods_volume_and_earnings_of_the_ib_alone,
        statements::the_tier_reached_at_close_lifts_the_whole_period_and_rebates_reach_the_client,
    }
}

/// The deal-feed scenarios run on a store alone (no HTTP), under `deal_feed::{sqlite, dynamodb}`.
mod deal_feed {
    brokeros_tests::store_scenarios! {
        deals::deals_are_ingested_once_across_repeated_runs,
        deals::concurrent_ingesters_apply_each_change_once,
        deals::a_crash_between_pages_resumes_where_the_last_commit_left,
        deals::corrections_and_cancellations_replace_and_cancel,
        deals::invalid_deals_are_recorded_rejected_and_not_counted,
        deals::a_feed_that_delivers_again_changes_nothing,
        deals::a_bad_batch_size_writes_nothing,
        deals::each_batch_is_one_transaction,
    }
}

/// The payout scenarios run on a store with the app's services (no HTTP), under
/// `payouts::{sqlite, dynamodb}`.
mod payouts {
    brokeros_tests::store_scenarios! {
        payout::remainders_carry_exactly_and_a_rerun_pays_nothing,
        payout::statements_over_the_threshold_wait_for_finance,
        payout::a_credit_that_keeps_failing_is_flagged,
        payout::bad_payout_requests_write_nothing,
        payout::the_payout_machine_runs_end_to_end,
        payout::missed_periods_are_caught_up_in_order_and_the_paid_are_told,
        payout::overdue_approvals_are_escalated_and_the_late_decision_pays,
        payout::an_ib_reads_only_its_own_statements,
        payout::a_late_leg_is_paid_in_the_next_period_and_named,
    }
}

/// The payout's property on the stored path, a few small cases per engine (each a fresh store).
mod payout_properties {
    use proptest::prelude::*;

    fn check(dynamodb: bool, trips: Vec<(u64, u32, i64)>) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store = if dynamodb {
                    brokeros_tests::fresh_dynamo_store().await
                } else {
                    brokeros_tests::fresh_sqlite_store()
                };
                crate::payout::rerun_pays_nothing_and_paid_plus_carried_is_accrued(store, trips)
                    .await
            });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]

        #[test]
        fn sqlite(trips in crate::payout::trips()) {
            check(false, trips);
        }

        #[test]
        fn dynamodb(trips in crate::payout::trips()) {
            check(true, trips);
        }
    }
}
