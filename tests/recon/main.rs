//! Reconciliation (`brokeros_recon`) on both engines: the embedded SQLite engine
//! (`sqlite::…`) and DynamoDB through DynamoDB Local (`dynamodb::…`), each on a fresh store.

mod scenarios;

/// Makes `sqlite::<scenario>` and `dynamodb::<scenario>` tests of each scenario.
macro_rules! recon {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::scenarios::$scenario(brokeros_tests::fresh_sqlite_store()).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::scenarios::$scenario(brokeros_tests::fresh_dynamo_store().await).await;
                }
            )*
        }
    };
}

recon! {
    each_kind_is_classified_and_recorded,
    a_bad_report_changes_nothing,
    only_finance_and_admins_reconcile,
    the_same_report_is_one_run,
}
