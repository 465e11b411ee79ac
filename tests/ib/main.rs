//! The IB context (`brokeros_ib`) on both engines: the embedded SQLite engine (`sqlite::…`)
//! and DynamoDB through DynamoDB Local (`dynamodb::…`), each on a fresh store.
//!
//! A scenario is written once, as `async fn scenario(store: Arc<dyn Store>)` in one of the
//! modules below, and listed in the `ib!` invocation at the bottom of this file.

mod deals;

/// Makes `sqlite::<scenario>` and `dynamodb::<scenario>` tests of each `module::scenario`.
macro_rules! ib {
    ($($module:ident :: $scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$module::$scenario(brokeros_tests::fresh_sqlite_store()).await;
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

ib! {
    deals::deals_are_ingested_once_across_repeated_runs,
    deals::concurrent_ingesters_apply_each_change_once,
    deals::a_crash_between_pages_resumes_where_the_last_commit_left,
    deals::corrections_and_cancellations_replace_and_cancel,
    deals::invalid_deals_are_recorded_rejected_and_not_counted,
    deals::a_feed_that_delivers_again_changes_nothing,
    deals::a_bad_batch_size_writes_nothing,
    deals::each_batch_is_one_transaction,
}
