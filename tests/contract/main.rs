//! The storage contract: every scenario runs against both engines, the embedded SQLite engine
//! (`sqlite::…`, and `sqlite_inline::…` committing on the caller's thread as the simulation
//! does) and DynamoDB through DynamoDB Local (`dynamodb::…`), each on a fresh store.
//!
//! A scenario is written once, as `async fn scenario(store: Arc<dyn Store>)` in one of the
//! modules below, and listed in the `contract!` invocation at the bottom of this file.

mod common;
mod concurrency;
mod conditions;
mod consistency;
mod counts;
mod expiry;
mod pagination;
mod queries;
mod reads;
mod transactions;

/// Makes `sqlite::<scenario>`, `sqlite_inline::<scenario>` and `dynamodb::<scenario>` tests of
/// each `module::scenario`.
macro_rules! contract {
    ($($module:ident :: $scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$module::$scenario(brokeros_tests::fresh_sqlite_store()).await;
                }
            )*
        }

        mod sqlite_inline {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$module::$scenario(brokeros_tests::fresh_inline_sqlite_store()).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$module::$scenario(brokeros_tests::fresh_dynamo_store().await).await;
                }
            )*
        }
    };
}

contract! {
    conditions::create_if_absent,
    conditions::optimistic_concurrency,
    conditions::exists_and_check_conditions,
    conditions::always_writes_unconditionally,
    conditions::put_replaces_the_whole_item,
    transactions::a_failed_condition_aborts_the_whole_transaction,
    transactions::the_failing_operation_is_reported_by_position,
    transactions::a_transaction_spans_both_tables,
    transactions::transaction_limits_are_enforced,
    transactions::engine_limits_are_the_same_everywhere,
    reads::items_round_trip_exactly,
    reads::get_many_answers_in_the_order_asked,
    reads::tables_are_separate,
    reads::count_items_counts_each_table,
    expiry::expired_items_are_invisible,
    expiry::expired_items_do_not_block_creation,
    expiry::expired_items_fail_conditions_on_live_items,
    expiry::pages_skip_expired_items,
    queries::sort_key_ranges_in_both_directions,
    queries::index_queries_on_every_index,
    queries::indexes_follow_updates_and_deletes,
    queries::invalid_queries_are_refused,
    pagination::pages_visit_every_item_once,
    pagination::an_exact_multiple_ends_without_a_cursor,
    pagination::index_pages_visit_every_item_once,
    pagination::pages_resume_after_the_boundary_item_changes,
    pagination::foreign_cursors_are_refused,
    concurrency::concurrent_writers_lose_no_update,
    concurrency::concurrent_creators_have_one_winner,
    concurrency::concurrent_readers_are_all_served,
    consistency::keyed_reads_see_a_commit_at_once_while_indexes_may_lag,
    consistency::a_refused_creation_finds_the_winner_by_key,
    counts::counts_are_what_queries_return,
    counts::counts_span_the_engines_pages,
}
