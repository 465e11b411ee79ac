//! The client wallet API: balances and transactions from the ledger, read by whoever may read
//! the client, refused to everyone else.

use brokeros_http::client::Call;
use brokeros_kernel::OpContext;
use brokeros_kernel::audit::Actor;
use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::Role;
use brokeros_ledger::model::{AccountId, Transfer, TransferId};
use brokeros_ledger::post;
use rust_decimal::Decimal;

use crate::harness::{App, token};

pub async fn wallet_balances_and_transactions_follow_the_ledger(app: App) {
    let client_id = app.register("Berg", "C01X00T47").await;
    let usd = Currency::from_code("USD").unwrap();
    let ctx = OpContext {
        actor: Actor::system("test"),
        correlation_id: "wallet-test".into(),
        now: time::OffsetDateTime::now_utc(),
    };
    for (id, cents) in [("dep-1", 10_000), ("dep-2", 2_550)] {
        let transfer = Transfer::between(
            TransferId::new("transfer_id", id).unwrap(),
            AccountId::provider_clearing("simcard", usd).unwrap(),
            AccountId::client_wallet(&client_id, usd).unwrap(),
            Decimal::new(cents, 2),
            "deposit",
        );
        post(&app.services, &ctx, transfer).await.unwrap();
    }
    let manager = token("sales-1", Role::Sales);
    let (status, wallet) = app
        .send(Call::get(&format!("/clients/{client_id}/wallet")).token(&manager))
        .await;
    assert_eq!(status, 200, "{wallet}");
    assert_eq!(wallet["wallets"][0]["currency"], "USD");
    assert_eq!(wallet["wallets"][0]["available"], "125.50");
    assert_eq!(wallet["wallets"][0]["reserved"], "0.00");

    let path = format!("/clients/{client_id}/wallet/usd/transactions?limit=1");
    let (status, first) = app.send(Call::get(&path).token(&manager)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["items"][0]["transfer_id"], "dep-2", "newest first");
    let next = first["next"].as_str().expect("a second page");
    let path = format!("/clients/{client_id}/wallet/usd/transactions?limit=1&cursor={next}");
    let (status, second) = app.send(Call::get(&path).token(&manager)).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["items"][0]["transfer_id"], "dep-1");

    let stranger = token("portal-mallory", Role::Client);
    let (status, refused) = app
        .send(Call::get(&format!("/clients/{client_id}/wallet")).token(&stranger))
        .await;
    assert_eq!(status, 403, "{refused}");
    let path = format!("/clients/{client_id}/wallet/XYZ/transactions");
    let (status, unknown) = app.send(Call::get(&path).token(&manager)).await;
    assert_eq!(status, 400, "{unknown}");
    assert_eq!(unknown["field"], "currency");
}
