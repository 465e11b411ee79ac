//! The contests context end to end over HTTP, on both storage engines: definitions stored as
//! versions, published and cancelled with their audit events; bad definitions, a change to a
//! started contest's rules and overlapping contests refused with nothing written; entries by
//! the client (an account they hold, or a dedicated account opened on the simulated platform),
//! by marketing and by a lead's campaign; every eligibility rule, one entry per person across
//! clients (phone, email, identity document); disqualification, reinstatement and withdrawal
//! with roles enforced; and the routes' status codes and error bodies. Then the live scoring:
//! deals by cursor, the leaderboard and its ETag, the final run's recompute, hedging flags and
//! prizes approved by a second person and paid once.

mod common;
mod definitions;
mod entries;
mod routes;
mod scoring;

use brokeros_tests::app as harness;
use definitions::*;
use entries::*;
use routes::*;
use scoring::*;

brokeros_tests::scenarios! {
    definitions_are_versioned_published_and_cancelled_with_audit_events => new,
    bad_definitions_and_changes_to_a_started_contest_write_nothing => new,
    overlapping_contests_may_not_share_an_account_group_or_a_campaign => lagging,
    registrations_the_rules_refuse_write_nothing => new,
    registration_outside_the_window_writes_nothing => new,
    one_person_enters_once_across_clients => new,
    a_dedicated_contest_account_is_opened_on_the_platform => new,
    marketing_decides_on_entries_and_clients_withdraw_their_own => lagging,
    new_accounts_of_a_campaign_are_enrolled_and_an_ineligible_contest_is_skipped => new,
    the_contest_routes_answer_with_their_status_and_error_bodies => new,
    bad_scoring_requests_write_nothing => new,
}

/// The live scoring scenario moves Broker OS's clock (and the platform's) to the contest's end,
/// so it builds its own app: under `live::{sqlite, dynamodb}`.
mod live {
    brokeros_tests::store_scenarios! {
        scoring::a_contest_is_scored_live_then_frozen_recomputed_and_its_prizes_paid_once,
        scoring::a_credit_prize_lands_on_the_entry_account_once,
    }
}
