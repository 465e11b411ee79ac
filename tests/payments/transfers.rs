//! Internal transfers over HTTP (`/clients/{id}/transfers`): the newcomer's path (a deposit
//! funds the trading account, a transfer brings money back to the wallet, the withdrawal is
//! accepted), replays that book nothing twice, bad input that writes nothing, and the
//! platform's refusals that fail a transfer with the books balanced.

use brokeros_http::client::Call;
use brokeros_kernel::keys::audit_stream;
use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::Role;
use brokeros_ledger::model::AccountId;
use brokeros_store::{Query, Table};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::harness::{App, token};

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

/// A KYC-approved client with `amount` USD deposited by card through the deposit workflow,
/// which funded their trading account: the client id and the account's login. The scenario
/// runs the payment providers first.
async fn funded_client(app: &App, last_name: &str, amount: &str) -> (String, u64) {
    let client_id = app.register(last_name, "C01X00T47").await;
    let (_, arn) = app.start(&client_id).await;
    app.finished(&arn).await;
    let deposit_id = format!("dep_{last_name}");
    app.create_deposit(&client_id, &deposit_id, amount, "USD")
        .await;
    app.finished(&brokeros_sfn::execution_arn("deposit", &deposit_id))
        .await;
    let deposit = app.deposit(&deposit_id).await;
    assert_eq!(deposit["funding"]["status"], "funded", "{deposit}");
    let login = deposit["funding"]["login"].as_u64().unwrap();
    (client_id, login)
}

fn finance() -> String {
    token("finance-1", Role::Finance)
}

async fn transfer(app: &App, client_id: &str, body: &Value) -> (u16, Value) {
    app.send(Call::post(&format!("/clients/{client_id}/transfers"), body).token(&finance()))
        .await
}

fn account_to_wallet(id: &str, login: u64, amount: &str) -> Value {
    json!({ "transfer_id": id, "from": { "account": login }, "to": { "wallet": "USD" },
            "amount": amount, "currency": "USD" })
}

fn wallet_to_account(id: &str, login: u64, amount: &str) -> Value {
    json!({ "transfer_id": id, "from": { "wallet": "USD" }, "to": { "account": login },
            "amount": amount, "currency": "USD" })
}

/// `body` sent again answers `first` as it was and writes nothing (no posting, no event).
async fn assert_replayed(app: &App, client_id: &str, body: &Value, first: &Value) {
    let counts = app.counts().await;
    let (status, again) = transfer(app, client_id, body).await;
    assert_eq!((status, &again), (201, first));
    assert_eq!(app.counts().await, counts, "a replay writes nothing");
}

/// The trading account's money: in the ledger, and on the platform.
async fn account(app: &App, login: u64) -> (Decimal, Decimal) {
    app.trading_account_money(login, "USD").await
}

pub async fn a_deposit_moved_back_to_the_wallet_can_be_withdrawn(app: App) {
    app.run_payment_providers();
    let (client_id, login) = funded_client(&app, "Novak", "250.00").await;
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        (Decimal::ZERO, Decimal::ZERO)
    );

    // Nothing in the wallet: the README's withdrawal is refused until a transfer.
    let withdrawal = json!({ "withdrawal_id": "wd-1", "amount": "50.00", "currency": "USD",
                             "method": "card", "destination": "4111111111111111" });
    let path = format!("/clients/{client_id}/withdrawals");
    let (status, refused) = app
        .send(Call::post(&path, &withdrawal).token(&finance()))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("insufficient_funds"))
    );

    let (status, done) = transfer(
        &app,
        &client_id,
        &account_to_wallet("tr-1", login, "100.00"),
    )
    .await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["withdrawal_deal"].is_u64(), "{done}");
    assert_eq!(done["posted"], true);
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        (dec("100.00"), Decimal::ZERO)
    );
    assert_eq!(account(&app, login).await, (dec("150.00"), dec("150.00")));

    // Replayed by its id, then under an Idempotency-Key twice: the same answer, nothing more.
    assert_replayed(
        &app,
        &client_id,
        &account_to_wallet("tr-1", login, "100.00"),
        &done,
    )
    .await;
    let keyed = json!({ "from": { "account": login }, "to": { "wallet": "USD" },
                        "amount": "10.00", "currency": "USD" });
    let (status, first) = app
        .post_keyed(
            &format!("/clients/{client_id}/transfers"),
            &keyed,
            &finance(),
            "key-tr-2",
        )
        .await;
    assert_eq!(
        (status, first["id"].as_str()),
        (201, Some("key-tr-2")),
        "{first}"
    );
    let counts = app.counts().await;
    let (status, second) = app
        .post_keyed(
            &format!("/clients/{client_id}/transfers"),
            &keyed,
            &finance(),
            "key-tr-2",
        )
        .await;
    assert_eq!((status, &second), (201, &first));
    assert_eq!(app.counts().await, counts, "a keyed replay writes nothing");
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        (dec("110.00"), Decimal::ZERO)
    );
    assert_eq!(account(&app, login).await, (dec("140.00"), dec("140.00")));

    // The same id with other content is refused, writing nothing.
    let (status, reused) =
        transfer(&app, &client_id, &account_to_wallet("tr-1", login, "1.00")).await;
    assert_eq!(
        (status, reused["code"].as_str()),
        (409, Some("transfer_id_reused"))
    );
    assert_eq!(app.counts().await, counts);

    // Back onto the account from the wallet, then the README's withdrawal goes through.
    let (status, back) =
        transfer(&app, &client_id, &wallet_to_account("tr-3", login, "10.00")).await;
    assert_eq!(
        (status, back["status"].as_str()),
        (201, Some("completed")),
        "{back}"
    );
    assert!(back["deposit_deal"].is_u64(), "{back}");
    assert_eq!(account(&app, login).await, (dec("150.00"), dec("150.00")));
    let (status, accepted) = app
        .send(Call::post(&path, &withdrawal).token(&finance()))
        .await;
    assert_eq!(status, 202, "{accepted}");

    // Listed newest first, in pages; one by id; audited.
    let list = format!("/clients/{client_id}/transfers?limit=2");
    let (status, page) = app.send(Call::get(&list).token(&finance())).await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tr-3", "key-tr-2"]);
    let next = page["next"].as_str().expect("a next page");
    let (_, rest) = app
        .send(
            Call::get(&format!(
                "/clients/{client_id}/transfers?limit=2&cursor={next}"
            ))
            .token(&finance()),
        )
        .await;
    assert_eq!(rest["items"][0]["id"], "tr-1", "{rest}");
    let (status, one) = app
        .send(Call::get(&format!("/clients/{client_id}/transfers/tr-1")).token(&finance()))
        .await;
    assert_eq!((status, &one), (200, &done));
    let query = Query::new(Table::Audit, None, audit_stream("transfer", "tr-1")).limit(100);
    let events = app.store.query(query).await.unwrap().items;
    let actions: Vec<String> = events
        .iter()
        .map(|i| {
            serde_json::from_str::<Value>(&i.data).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(actions, ["transfer.requested", "transfer.completed"]);
}

pub async fn bad_transfer_requests_write_nothing(app: App) {
    app.run_payment_providers();
    let (client_id, login) = funded_client(&app, "Careful", "100.00").await;
    let (other_id, other_login) = funded_client(&app, "Other", "20.00").await;
    let counts = app.counts().await;
    let body = |amount: &str| account_to_wallet("tr_bad", login, amount);
    let mut eur = body("10.00");
    eur["to"] = json!({ "wallet": "EUR" });
    let mut eur_both = body("10.00");
    eur_both["to"] = json!({ "wallet": "EUR" });
    eur_both["currency"] = json!("EUR");
    let mut no_id = body("10.00");
    no_id.as_object_mut().unwrap().remove("transfer_id");
    let cases = [
        (body("10.001"), 400, "amount_too_precise", Some("amount")),
        (body("-5.00"), 400, "amount_not_positive", Some("amount")),
        (body("0"), 400, "amount_not_positive", Some("amount")),
        (body("1e3"), 400, "invalid_amount", Some("amount")),
        (
            json!({ "transfer_id": "tr_bad", "from": { "account": login }, "to": { "wallet": "USD" }, "amount": 10, "currency": "USD" }),
            400,
            "invalid_amount",
            Some("amount"),
        ),
        (
            json!({ "transfer_id": "tr_bad", "from": { "account": "x" }, "to": { "wallet": "USD" }, "amount": "1.00", "currency": "USD" }),
            400,
            "invalid_body",
            Some("from.account"),
        ),
        (
            json!({ "transfer_id": "tr_bad", "from": { "bank": 1 }, "to": { "wallet": "USD" }, "amount": "1.00", "currency": "USD" }),
            400,
            "invalid_body",
            Some("from"),
        ),
        (eur, 400, "currency_mismatch", Some("to.wallet")),
        (eur_both, 400, "currency_mismatch", Some("from.account")),
        (no_id, 400, "transfer_id_required", Some("transfer_id")),
        (
            wallet_to_account("tr_bad", login, "10.00"),
            409,
            "insufficient_funds",
            None,
        ),
        (
            json!({ "transfer_id": "tr_bad", "from": { "wallet": "USD" }, "to": { "wallet": "USD" }, "amount": "1.00", "currency": "USD" }),
            400,
            "same_place",
            Some("to"),
        ),
        (
            account_to_wallet("tr_bad", 999_999, "1.00"),
            404,
            "not_found",
            None,
        ),
        (
            account_to_wallet("tr_bad", other_login, "1.00"),
            404,
            "not_found",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        let (got, error) = transfer(&app, &client_id, &body).await;
        assert_eq!(
            (got, error["code"].as_str(), error["field"].as_str()),
            (status, Some(code), field),
            "{body} → {error}"
        );
        assert!(error["message"].is_string(), "{error}");
    }
    // Over the body limit.
    let mut huge = body("1.00");
    huge["transfer_id"] = json!("x".repeat(300 * 1024));
    let (status, error) = transfer(&app, &client_id, &huge).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (413, Some("payload_too_large")),
        "{error}"
    );
    // Another client's wallet, for a client: forbidden, as every other client route answers.
    let (status, _) = app
        .send(
            Call::post(&format!("/clients/{other_id}/transfers"), &body("1.00"))
                .token(&token("portal-someone", Role::Client)),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(app.counts().await, counts, "nothing written");
}

/// A transfer answered as failed for the platform's reason `code`.
fn assert_failed(status: u16, failed: &Value, code: &str) {
    assert_eq!(
        (
            status,
            failed["status"].as_str(),
            failed["failure"]["code"].as_str()
        ),
        (201, Some("failed"), Some(code)),
        "{failed}"
    );
}

pub async fn a_platform_refusal_fails_the_transfer_with_the_books_balanced(app: App) {
    app.run_payment_providers();
    let (client_id, login) = funded_client(&app, "Refused", "80.00").await;

    // More than the account holds: the platform refuses, nothing is posted.
    let (status, failed) = transfer(
        &app,
        &client_id,
        &account_to_wallet("tr-big", login, "80.01"),
    )
    .await;
    assert_failed(status, &failed, "insufficient_free_margin");
    assert!(
        failed["failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("80.01"),
        "{failed}"
    );
    assert_eq!(failed["posted"], false);
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        (Decimal::ZERO, Decimal::ZERO)
    );
    assert_eq!(account(&app, login).await, (dec("80.00"), dec("80.00")));

    // Money in the wallet, then onto an account the dealer archived: the ledger move is
    // reversed in the failure's commit, so the wallet holds it again.
    let (status, _) = transfer(
        &app,
        &client_id,
        &account_to_wallet("tr-out", login, "30.00"),
    )
    .await;
    assert_eq!(status, 201);
    app.platform.archive_account(login).await.unwrap();
    let (status, failed) = transfer(
        &app,
        &client_id,
        &wallet_to_account("tr-in", login, "30.00"),
    )
    .await;
    assert_failed(status, &failed, "trading_account_not_found");
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        (dec("30.00"), Decimal::ZERO)
    );
    let ledger = brokeros_ledger::balance(
        &app.services,
        &AccountId::trading_account(login, usd()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        ledger.available,
        dec("50.00"),
        "the move and its reversal cancel out"
    );
    let reversal = brokeros_ledger::entry(
        &app.services,
        &brokeros_ledger::model::TransferId::new("t", "xfer:tr-in:reversed").unwrap(),
    )
    .await
    .unwrap();
    assert!(
        reversal.is_some(),
        "corrected by a reversing entry, never by an edit"
    );

    // The failure is final: a replay answers it and writes nothing.
    assert_replayed(
        &app,
        &client_id,
        &wallet_to_account("tr-in", login, "30.00"),
        &failed,
    )
    .await;
}

/// A second trading account for the client: the dedicated account of a live contest marketing
/// enrols them in (how a client comes to hold two accounts today). Answers its login.
async fn second_account(app: &App, client_id: &str) -> u64 {
    let at = |hours: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::hours(hours))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let marketing = token("mkt-1", Role::Marketing);
    let contest = json!({
        "id": "funded-cup", "version": 1, "name": "Funded Cup", "mode": "live", "currency": "USD",
        "registration": { "from": at(-1), "until": at(48) },
        "period": { "from": at(24), "until": at(240) },
        "metric": { "kind": "return" },
        "contest_account": { "group": "real\\contest-usd", "leverage": 100 },
        "prizes": { "pool": "100.00", "payment": { "kind": "cash" },
                    "tiers": [ { "from_rank": 1, "to_rank": 1, "share": "1" } ] }
    });
    let (status, stored) = app
        .send(Call::post("/contests", &contest).token(&marketing))
        .await;
    assert_eq!(status, 201, "{stored}");
    let (status, published) = app
        .send(Call::post("/contests/funded-cup/publish", &json!({})).token(&marketing))
        .await;
    assert_eq!(status, 200, "{published}");
    let enrolment = json!({ "client_id": client_id, "open_contest_account": true });
    let (status, entrant) = app
        .post_keyed(
            "/contests/funded-cup/enrollments",
            &enrolment,
            &marketing,
            "enrol-1",
        )
        .await;
    assert_eq!(status, 201, "{entrant}");
    entrant["login"].as_u64().unwrap()
}

fn account_to_account(id: &str, from: u64, to: u64, amount: &str) -> Value {
    json!({ "transfer_id": id, "from": { "account": from }, "to": { "account": to },
            "amount": amount, "currency": "USD" })
}

/// Resumes the pending transfers as the schedule does, at `minutes` past now.
async fn sweep(app: &App, minutes: i64) -> brokeros_payments::transfers::Resumed {
    let at = time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    brokeros_payments::transfers::resume_pending(&app.services.payments, at, 100)
        .await
        .unwrap()
}

pub async fn money_moves_between_two_trading_accounts_of_a_client(app: App) {
    app.run_payment_providers();
    let (client_id, main) = funded_client(&app, "Twin", "300.00").await;
    let contest = second_account(&app, &client_id).await;
    assert_ne!(main, contest);

    let (status, done) = transfer(
        &app,
        &client_id,
        &account_to_account("tr-aa", main, contest, "120.00"),
    )
    .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (201, Some("completed")),
        "{done}"
    );
    assert!(
        done["withdrawal_deal"].is_u64() && done["deposit_deal"].is_u64(),
        "{done}"
    );
    assert_eq!(account(&app, main).await, (dec("180.00"), dec("180.00")));
    assert_eq!(account(&app, contest).await, (dec("120.00"), dec("120.00")));
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        (Decimal::ZERO, Decimal::ZERO),
        "between accounts, the wallet is not touched"
    );
    assert_replayed(
        &app,
        &client_id,
        &account_to_account("tr-aa", main, contest, "120.00"),
        &done,
    )
    .await;

    // The target gone from the platform: its refusal gives the money back to the source on
    // the platform and reverses the ledger move, so both books hold what they held.
    app.platform.archive_account(contest).await.unwrap();
    let (status, failed) = transfer(
        &app,
        &client_id,
        &account_to_account("tr-gone", main, contest, "50.00"),
    )
    .await;
    assert_failed(status, &failed, "trading_account_not_found");
    assert!(failed["returned_deal"].is_u64(), "{failed}");
    assert_eq!(account(&app, main).await, (dec("180.00"), dec("180.00")));
    let ledger = brokeros_ledger::balance(
        &app.services,
        &AccountId::trading_account(contest, usd()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        ledger.available,
        dec("120.00"),
        "the move and its reversal cancel out"
    );
    assert_eq!(
        app.audit_actions("transfer", "tr-gone").await,
        [
            "transfer.requested",
            "transfer.withdrawn",
            "transfer.failed"
        ]
    );
}

pub async fn a_pending_transfer_nobody_repeats_is_resumed_by_the_sweep(app: App) {
    app.run_payment_providers();
    let (client_id, login) = funded_client(&app, "Sweep", "90.00").await;

    // The platform books the withdrawal and its reply is lost: the transfer stays pending.
    app.platform.lose_next_replies(1);
    let (status, pending) = transfer(
        &app,
        &client_id,
        &account_to_wallet("tr-lost", login, "40.00"),
    )
    .await;
    assert_eq!(
        (status, pending["status"].as_str()),
        (202, Some("pending")),
        "{pending}"
    );
    let (_, stored) = app
        .send(Call::get(&format!("/clients/{client_id}/transfers/tr-lost")).token(&finance()))
        .await;
    assert_eq!(stored["status"], "pending", "{stored}");
    assert_eq!(
        app.platform_account(login).await.balance,
        dec("50.00"),
        "booked on the platform"
    );
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        (Decimal::ZERO, Decimal::ZERO)
    );

    // Too recent for the sweep: a request in flight is left alone.
    let counts = app.counts().await;
    assert_eq!(sweep(&app, 0).await, Default::default());
    assert_eq!(app.counts().await, counts, "nothing written");

    // Later, the sweep finds the withdrawal booked (asking before booking again) and posts it.
    let resumed = sweep(&app, 3).await;
    assert_eq!(resumed.ended, ["tr-lost"], "{resumed:?}");
    assert_eq!(
        app.wallet(&client_id, "USD").await,
        (dec("40.00"), Decimal::ZERO)
    );
    assert_eq!(
        account(&app, login).await,
        (dec("50.00"), dec("50.00")),
        "booked once"
    );
    let events = app.audit_events("transfer", "tr-lost").await;
    let last = events.last().unwrap();
    assert_eq!(last["action"], "transfer.completed");
    assert_eq!(
        last["actor"]["id"],
        brokeros_payments::transfers::TRANSFER_SWEEP,
        "{last}"
    );

    // Nothing left: a second sweep writes nothing; the client's repeat answers the result.
    let counts = app.counts().await;
    assert_eq!(sweep(&app, 3).await, Default::default());
    assert_eq!(app.counts().await, counts);
    let (status, again) = transfer(
        &app,
        &client_id,
        &account_to_wallet("tr-lost", login, "40.00"),
    )
    .await;
    assert_eq!(
        (status, again["status"].as_str()),
        (201, Some("completed")),
        "{again}"
    );
}

pub async fn money_both_accounts_refuse_back_stays_pending_for_finance(app: App) {
    app.run_payment_providers();
    let (client_id, main) = funded_client(&app, "Stuck", "100.00").await;
    let contest = second_account(&app, &client_id).await;

    // Withdrawn from the source, reply lost; then the dealer archives both accounts.
    app.platform.lose_next_replies(1);
    let (status, pending) = transfer(
        &app,
        &client_id,
        &account_to_account("tr-stuck", main, contest, "60.00"),
    )
    .await;
    assert_eq!(
        (status, pending["status"].as_str()),
        (202, Some("pending")),
        "{pending}"
    );
    app.platform.archive_account(contest).await.unwrap();
    app.platform.archive_account(main).await.unwrap();

    // The target refuses, and the source refuses the money back: nothing can settle it here.
    let resumed = sweep(&app, 3).await;
    assert_eq!(resumed.unsettled, ["tr-stuck"], "{resumed:?}");
    let (_, stored) = app
        .send(Call::get(&format!("/clients/{client_id}/transfers/tr-stuck")).token(&finance()))
        .await;
    assert_eq!(stored["status"], "pending", "{stored}");
    assert!(stored["withdrawal_deal"].is_u64(), "{stored}");
    let (status, refused) = transfer(
        &app,
        &client_id,
        &account_to_account("tr-stuck", main, contest, "60.00"),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("transfer_not_returned")),
        "{refused}"
    );
}
