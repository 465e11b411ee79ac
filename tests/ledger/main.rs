//! The ledger (`brokeros_ledger`) on both engines: the embedded SQLite engine
//! (`sqlite::…`) and DynamoDB through DynamoDB Local (`dynamodb::…`), each on a fresh store.
//!
//! Scenarios are written once, as `async fn scenario(store: Arc<dyn Store>)`, and listed in
//! the `store_scenarios!` invocation below. The property tests (`random_sequences::…`) run
//! generated operation sequences, partly concurrent, with fewer cases on DynamoDB Local.

mod common;
mod properties;
mod scenarios;

brokeros_tests::store_scenarios! {
    scenarios::the_same_transfer_id_answers_the_original_result,
    scenarios::a_reversal_negates_a_transfer_once,
    scenarios::a_withdrawal_reserves_then_settles_or_releases,
    scenarios::bad_requests_are_refused_with_nothing_written,
    scenarios::concurrent_replays_post_once,
    scenarios::concurrent_withdrawals_never_overdraw,
    scenarios::racing_requests_get_the_answer_of_the_winner,
    scenarios::a_burst_of_reservations_never_overdraws,
}

/// Generated operation sequences, partly concurrent: more cases on SQLite than on DynamoDB
/// Local, which is slower per request.
mod random_sequences {
    #[test]
    fn sqlite() {
        crate::properties::random_sequences(
            || Box::pin(async { brokeros_tests::fresh_sqlite_store() }),
            128,
            10,
            true,
        );
    }

    #[test]
    fn dynamodb() {
        crate::properties::random_sequences(
            || Box::pin(brokeros_tests::fresh_dynamo_store()),
            10,
            8,
            false,
        );
    }
}
