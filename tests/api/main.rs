//! The HTTP API end to end (router, use cases, storage) on both engines: lead capture, dedupe,
//! assignment, lifecycle, roles, idempotency, and bad input that must change nothing.

mod back_office;
mod bad_input;
mod consent;
mod contract;
mod crm;
mod edges;
mod harness;
mod writes;

macro_rules! api_tests {
    ($($module:ident :: $scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let app = crate::harness::App::new(brokeros_tests::fresh_sqlite_store());
                    let scan = brokeros_tests::audit_scan::AuditScan {
                        store: app.store.clone(),
                        numbers: Default::default(),
                        lagging: None,
                    };
                    crate::$module::$scenario(app).await;
                    scan.assert_clean().await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let app = crate::harness::App::new(brokeros_tests::fresh_dynamo_store().await);
                    let scan = brokeros_tests::audit_scan::AuditScan {
                        store: app.store.clone(),
                        numbers: Default::default(),
                        lagging: None,
                    };
                    crate::$module::$scenario(app).await;
                    scan.assert_clean().await;
                }
            )*
        }
    };
}

api_tests! {
    back_office::the_funnel_counts_leads_by_status_in_scope,
    back_office::a_funnel_of_bad_filters_or_roles_is_refused,
    back_office::audit_search_reads_any_entity_or_day_page_by_page,
    back_office::audit_reads_refuse_bad_input_and_other_roles,
    back_office::the_audit_download_verifies_with_the_key_and_not_once_tampered,
    back_office::actors_in_use_are_the_principals_that_acted_with_their_roles,
    bad_input::malformed_bodies_change_nothing,
    bad_input::invalid_contact_data_changes_nothing,
    bad_input::missing_forged_and_expired_tokens_change_nothing,
    bad_input::tokens_not_yet_valid_from_the_future_or_too_long_lived_change_nothing,
    bad_input::roles_outside_their_rights_change_nothing,
    bad_input::idempotency_key_reused_with_another_body_changes_nothing,
    bad_input::duplicate_json_keys_change_nothing,
    bad_input::weak_public_idempotency_keys_change_nothing,
    consent::consent_takes_effect_only_once_confirmed,
    consent::expired_and_withdrawn_links_change_nothing,
    consent::a_squatted_public_key_is_harmless,
    crm::capture_dedupes_by_email_and_phone_per_brand,
    crm::concurrent_captures_of_one_person_make_one_lead,
    crm::idempotent_replays_return_the_stored_answer,
    crm::assignment_follows_rules_in_round_robin,
    crm::lifecycle_notes_tasks_and_conversion,
    crm::sales_see_only_their_leads_and_clients_only_themselves,
    crm::listing_filters_and_paginates,
    crm::every_change_has_one_audit_event_and_the_export_verifies,
    crm::an_export_that_finds_a_gap_in_a_stream_refuses,
    crm::without_a_callers_correlation_id_audit_events_carry_the_x_ray_trace_id,
    edges::errors_the_router_answers_itself_are_json,
    edges::errors_hyper_answers_on_the_socket_are_json,
    edges::public_routes_are_limited_per_source_on_the_socket,
}
