//! Governed onboarding end to end through the local Step Functions engine, on both storage
//! engines: every branch of the onboarding state machine, the compliance API, restarts.

mod documents;
mod flows;
mod identity;
mod kyc_checks;
mod kyc_decision;
mod kyc_screening;
mod profile_changes;

use brokeros_tests::app as harness;
use documents::*;
use flows::*;
use identity::*;
use profile_changes::*;

brokeros_tests::scenarios! {
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
    a_workflow_start_that_fails_waits_in_the_outbox_until_carried_out => with_workflow_down,
    a_replayed_start_answers_the_same_execution => new,
    a_replayed_decision_answers_the_same_review => new,
    one_portal_identity_has_one_client_whatever_the_path => recording,
    concurrent_registrations_and_conversions_of_one_user_make_one_client => recording,
    document_numbers_are_masked_in_the_client_record_and_its_audit_trail => new,
    an_approved_client_made_ineligible_by_their_profile_is_no_longer_approved => new,
    a_change_of_a_field_that_is_not_material_leaves_the_approval_alone => new,
    under_rescreen_only_rules_a_clear_material_change_stays_approved => new,
    jurisdiction_rules_refuse_profile_fields_they_do_not_know => new,
}

/// The scenarios whose decisions could rest on an index read (who the portal user is, the
/// client's latest completed check, the check a provider's webhook is about, the jurisdiction
/// rules in force), over indexes
/// that see no write until the test catches them up: DynamoDB's indexes lag behind writes,
/// DynamoDB Local's and SQLite's do not.
mod lagging_indexes {
    brokeros_tests::scenarios! {
        one_portal_identity_has_one_client_whatever_the_path => lagging,
        concurrent_registrations_and_conversions_of_one_user_make_one_client => lagging,
        clear_client_is_approved_and_gets_an_account => lagging,
        review_approved_by_compliance_opens_the_account => lagging,
        a_change_of_client_type_requires_reverification => lagging,
        a_pending_check_completes_by_the_providers_signed_webhook => lagging,
        a_kyc_result_before_the_workflow_waits_is_answered_by_the_await_task => lagging,
        a_replayed_start_answers_the_same_execution => lagging,
        under_rescreen_only_rules_a_clear_material_change_stays_approved => lagging,
        an_approved_client_made_ineligible_by_their_profile_is_no_longer_approved => lagging,
    }
}
