//! Reconciliation (`brokeros_recon`), and over HTTP on the local Broker OS, on both engines: the embedded SQLite engine
//! (`sqlite::…`) and DynamoDB through DynamoDB Local (`dynamodb::…`), each on a fresh store.

mod over_http;
mod scenarios;

use brokeros_tests::app as harness;
use over_http::*;

brokeros_tests::store_scenarios! {
    scenarios::each_kind_is_classified_and_recorded,
    scenarios::a_bad_report_changes_nothing,
    scenarios::only_finance_and_admins_reconcile,
    scenarios::the_same_report_is_one_run,
}

/// Reconciliation over HTTP on the local Broker OS (`over_http::sqlite::…`, `over_http::dynamodb::…`).
mod over_http_on_both_engines {
    brokeros_tests::scenarios! {
    settlement_reports_reconcile_over_http_for_finance_only => new,
    a_report_of_an_unknown_provider_is_refused_and_writes_nothing => new,
    }
}
