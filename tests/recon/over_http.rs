//! `POST /recon/{provider}`: a settlement report reconciled against the ledger over HTTP.

use brokeros_http::client::Call;
use brokeros_kernel::OpContext;
use brokeros_kernel::audit::Actor;
use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::Role;
use brokeros_ledger::model::{AccountId, Transfer, TransferId};
use brokeros_ledger::post;
use rust_decimal::Decimal;

use crate::harness::{App, token};

fn report<'a>(call: Call<'a>, csv: &str) -> Call<'a> {
    call.raw_body(csv.as_bytes().to_vec())
        .header("content-type", "text/csv")
}

pub async fn settlement_reports_reconcile_over_http_for_finance_only(app: App) {
    let client_id = app.register("Berg", "C01X00T47").await;
    let eur = Currency::from_code("EUR").unwrap();
    let settled = time::OffsetDateTime::now_utc();
    let ctx = OpContext {
        actor: Actor::system("test"),
        correlation_id: "recon-api".into(),
        now: settled,
    };
    let transfer = Transfer::between(
        TransferId::new("transfer_id", "dep_1").unwrap(),
        AccountId::provider_clearing("simcard", eur).unwrap(),
        AccountId::client_wallet(&client_id, eur).unwrap(),
        Decimal::new(10_000, 2),
        "deposit",
    );
    post(&app.services, &ctx, transfer).await.unwrap();
    let at = settled
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let csv = format!(
        "provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at\n\
         dep_1,pay_1,deposit,100.00,EUR,0.00,{at}\n\
         dep_9,pay_9,deposit,50.00,EUR,0.00,{at}\n"
    );
    let empty = serde_json::Value::Null;

    let before = app.counts().await;
    let sales = token("sales-1", Role::Sales);
    let (status, _) = app
        .send(report(
            Call::post("/recon/simcard", &empty).token(&sales),
            &csv,
        ))
        .await;
    assert_eq!(status, 403);
    let finance = token("finance-1", Role::Finance);
    let broken = csv.replace("100.00", "100.001");
    let (status, reply) = app
        .send(report(
            Call::post("/recon/simcard", &empty).token(&finance),
            &broken,
        ))
        .await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["field"].as_str().unwrap().contains("line 2"),
        "{reply}"
    );
    assert_eq!(app.counts().await, before, "refused reports write nothing");

    let (status, run) = app
        .send(report(
            Call::post("/recon/simcard", &empty).token(&finance),
            &csv,
        ))
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["run"]["counts"]["matched"], 1);
    assert_eq!(run["run"]["counts"]["missing_in_ledger"], 1);
    assert_eq!(run["run"]["all_matched"], false);
    let id = run["run"]["id"].as_str().unwrap();
    let (status, stored) = app
        .send(Call::get(&format!("/recon/runs/{id}")).token(&finance))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stored, run);
}

/// Issue 11: a report for a provider Broker OS does not know (not in the routing rules, no
/// webhooks accepted from it) was reconciled all the same — 201 with every row
/// `missing_in_ledger` — and stored. It is refused, naming the provider, and nothing is written.
pub async fn a_report_of_an_unknown_provider_is_refused_and_writes_nothing(app: App) {
    let finance = token("finance-1", Role::Finance);
    let csv = "provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at\n\
               dep_1,pay_1,deposit,100.00,EUR,0.00,2026-03-02T10:00:00Z\n";
    let empty = serde_json::Value::Null;
    let before = app.counts().await;
    for provider in ["nosuch", "cardpay-eu-typo", "SIMCARD"] {
        let (status, reply) = app
            .send(report(
                Call::post(&format!("/recon/{provider}"), &empty).token(&finance),
                csv,
            ))
            .await;
        assert_eq!(status, 404, "{provider}: {reply}");
        assert_eq!(reply["code"], "not_found", "{reply}");
        assert!(
            reply["message"].as_str().unwrap().contains(provider),
            "the answer names the provider: {reply}"
        );
    }
    assert_eq!(app.counts().await, before, "nothing was written");
    // Known providers: those of the routing rules, and those whose webhooks are accepted.
    for provider in ["cardpay-eu", "simcard"] {
        let (status, reply) = app
            .send(report(
                Call::post(&format!("/recon/{provider}"), &empty).token(&finance),
                csv,
            ))
            .await;
        assert_eq!(status, 201, "{provider}: {reply}");
        assert_eq!(reply["run"]["provider"], provider, "{reply}");
    }
}
