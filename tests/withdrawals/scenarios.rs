//! Withdrawals end to end (`statemachines/withdrawal.asl.json` on the local engine): funds
//! reserved at the request, the checks, maker-checker approval, the payout through the
//! provider the client deposited with, settlement or release — and requests that must write
//! nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use brokeros_approvals::{ApprovalProcess, ProcessStatus};
use brokeros_http::client::Call;
use brokeros_kernel::OpContext;
use brokeros_kernel::audit::Actor;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::Role;
use brokeros_kernel::workflow::Machine;
use brokeros_ledger::model::{AccountId, Transfer, TransferId};
use brokeros_ledger::post;
use brokeros_local::SimulatedBehavior;
use brokeros_payments::deposits::model::Deposit;
use brokeros_sfn::ExecutionStatus;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::harness::{App, token};

/// The provider the test clients deposit with by card.
const CARD_PROVIDER: &str = "cardpay-eu";

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn ctx() -> OpContext {
    OpContext {
        actor: Actor::system("withdrawal-test"),
        correlation_id: "withdrawal-test".into(),
        now: time::OffsetDateTime::now_utc(),
    }
}

/// A deposit of `amount` USD by card through [`CARD_PROVIDER`], as the deposit workflow leaves
/// it once credited: the deposit record and the ledger credit (transfer id = deposit id).
async fn credited_deposit(app: &App, client_id: &str, deposit_id: &str, amount: &str) {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let deposit: Deposit = serde_json::from_value(json!({
        "id": deposit_id,
        "client_id": client_id,
        "amount": { "amount": amount, "currency": "USD" },
        "method": "card",
        "country": "DE",
        "status": "credited",
        "attempts": [{
            "number": 1,
            "provider": CARD_PROVIDER,
            "reason": "test",
            "started_at": now,
            "result": { "result": "succeeded", "event_id": format!("evt_{deposit_id}") }
        }],
        "created_at": now,
        "updated_at": now
    }))
    .unwrap();
    let ctx = ctx();
    let mut changes = Changeset::new();
    changes
        .create(
            &ctx,
            app.services.ids.as_ref(),
            &deposit,
            "deposit.credited",
        )
        .unwrap();
    let (ops, _) = changes.into_parts();
    app.store.transact(ops).await.unwrap();
    let transfer = Transfer::between(
        TransferId::new("transfer_id", deposit_id).unwrap(),
        AccountId::provider_clearing(CARD_PROVIDER, usd()).unwrap(),
        AccountId::client_wallet(client_id, usd()).unwrap(),
        dec(amount),
        "deposit",
    );
    post(&app.services, &ctx, transfer).await.unwrap();
}

/// A KYC-approved client (trading group `real\retail-usd`) with `amount` USD deposited by card.
async fn funded_client(app: &App, last_name: &str, amount: &str) -> String {
    let client_id = app.register(last_name, "C01X00T47").await;
    let (_, arn) = app.start(&client_id).await;
    app.finished(&arn).await;
    credited_deposit(app, &client_id, &format!("dep_{last_name}"), amount).await;
    client_id
}

/// `POST /clients/{id}/withdrawals` as `requester` (registered clients have no portal login
/// here, so finance or an admin requests on their behalf).
async fn request(
    app: &App,
    client_id: &str,
    requester: &str,
    role: Role,
    body: Value,
) -> (u16, Value) {
    app.send(
        Call::post(&format!("/clients/{client_id}/withdrawals"), &body)
            .token(&token(requester, role)),
    )
    .await
}

fn body(id: &str, amount: &str) -> Value {
    json!({
        "withdrawal_id": id,
        "amount": amount,
        "currency": "USD",
        "method": "card",
        "destination": "4111111111111111"
    })
}

async fn withdrawal(app: &App, id: &str) -> Value {
    let (status, w) = app
        .send(Call::get(&format!("/withdrawals/{id}")).token(&token("admin-1", Role::Admin)))
        .await;
    assert_eq!(status, 200, "{w}");
    w
}

fn arn(app: &App, id: &str) -> String {
    app.services
        .workflow()
        .unwrap()
        .execution_arn(Machine::Withdrawal, id)
        .unwrap()
}

/// Waits for the withdrawal's workflow to end and answers the withdrawal.
async fn finished(app: &App, id: &str) -> Value {
    let execution = app.finished(&arn(app, id)).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
    withdrawal(app, id).await
}

/// Waits until the withdrawal waits for finance with its token parked: from then on nothing
/// is written until someone decides.
async fn awaiting_approval(app: &App, id: &str) -> Value {
    app.waiting_task_checkpointed(&arn(app, id)).await;
    let w = withdrawal(app, id).await;
    assert_eq!(w["status"], "awaiting_approval", "{w}");
    w
}

async fn decide(
    app: &App,
    id: &str,
    who: &str,
    role: Role,
    action: &str,
    body: Value,
) -> (u16, Value) {
    app.send(Call::post(&format!("/withdrawals/{id}/{action}"), &body).token(&token(who, role)))
        .await
}

/// The withdrawal's approval process, if its checks started one.
async fn approval(app: &App, id: &str) -> Option<ApprovalProcess> {
    let id = brokeros_withdrawals::model::approval_id(id);
    let found = app.services.find::<ApprovalProcess>(&id).await.unwrap();
    found.map(|p| p.entity)
}

async fn approval_status(app: &App, id: &str) -> ProcessStatus {
    approval(app, id).await.expect("an approval process").status
}

/// Checks that the workflow of withdrawal `id` ended with the withdrawal `status` and its
/// approval process `process`, that the client's wallet holds `available` with nothing left
/// reserved, and that an approval now is refused as too late (409), though it comes from an
/// admin who did not request the withdrawal. Answers the withdrawal as it ended.
async fn assert_ended_and_released(
    app: &App,
    id: &str,
    status: &str,
    process: ProcessStatus,
    client_id: &str,
    available: &str,
) -> Value {
    let ended = finished(app, id).await;
    assert_eq!(ended["status"], status, "{ended}");
    assert_eq!(approval_status(app, id).await, process);
    assert_eq!(wallet(app, client_id).await, (dec(available), dec("0.00")));
    let (code, late) = decide(app, id, "admin-1", Role::Admin, "approve", json!({})).await;
    assert_eq!(code, 409, "{late}");
    ended
}

async fn wallet(app: &App, client_id: &str) -> (Decimal, Decimal) {
    app.wallet(client_id, "USD").await
}

async fn clearing(app: &App) -> Decimal {
    let account = AccountId::provider_clearing(CARD_PROVIDER, usd()).unwrap();
    brokeros_ledger::balance(&app.services, &account)
        .await
        .unwrap()
        .available
}

pub async fn an_auto_approved_withdrawal_is_paid_and_settled(app: App) {
    let client_id = funded_client(&app, "Auto", "500.00").await;
    let (status, created) = request(
        &app,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_auto", "100.00"),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(created["status"], "requested");
    let shown = created["destination"].as_str().unwrap();
    assert!(
        shown.ends_with("111") && !shown.contains("4111"),
        "masked: {shown}"
    );
    let (available, _) = wallet(&app, &client_id).await;
    assert_eq!(available, dec("400.00"), "reserved at once");

    let paid = assert_ended_and_released(
        &app,
        "wd_auto",
        "paid",
        ProcessStatus::AutoApproved,
        &client_id,
        "400.00",
    )
    .await;
    assert_eq!(paid["requirement"], "none");
    assert_eq!(paid["provider"], CARD_PROVIDER);
    assert!(paid["payout_reference"].is_string());
    assert!(paid.get("approval_token").is_none());
    assert_eq!(clearing(&app).await, dec("-400.00"), "500 in, 100 out");

    // A retried request answers the withdrawal and moves nothing; the same id with other
    // content is refused.
    let counts = app.counts().await;
    let (status, again) = request(
        &app,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_auto", "100.00"),
    )
    .await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["status"], "paid");
    let (status, reused) = request(
        &app,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_auto", "100.01"),
    )
    .await;
    assert_eq!(status, 409, "{reused}");
    assert_eq!(reused["code"], "withdrawal_id_reused");
    assert_eq!(app.counts().await, counts);
    assert_eq!(wallet(&app, &client_id).await, (dec("400.00"), dec("0.00")));

    // The wallet and the client's list show the withdrawal's status.
    let sales = token("sales-1", Role::Sales);
    let (status, w) = app
        .send(Call::get(&format!("/clients/{client_id}/wallet")).token(&sales))
        .await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["withdrawals"][0]["withdrawal_id"], "wd_auto");
    assert_eq!(w["withdrawals"][0]["status"], "paid");
    let (status, list) = app
        .send(Call::get(&format!("/clients/{client_id}/withdrawals")).token(&sales))
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["id"], "wd_auto");
    let stranger = token("portal-mallory", Role::Client);
    let (status, _) = app
        .send(Call::get("/withdrawals/wd_auto").token(&stranger))
        .await;
    assert_eq!(status, 403);
}

pub async fn finance_approves_a_withdrawal_the_rules_do_not(app: App) {
    let client_id = funded_client(&app, "Manual", "3000.00").await;
    let (status, created) = request(
        &app,
        &client_id,
        "admin-2",
        Role::Admin,
        body("wd_manual", "2000.00"),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    let waiting = awaiting_approval(&app, "wd_manual").await;
    assert_eq!(waiting["requirement"], "one", "{waiting}");
    assert_eq!(
        wallet(&app, &client_id).await,
        (dec("1000.00"), dec("2000.00"))
    );

    let (status, queue) = app
        .send(
            Call::get("/finance/withdrawals?status=awaiting_approval")
                .token(&token("finance-1", Role::Finance)),
        )
        .await;
    assert_eq!(status, 200, "{queue}");
    assert!(
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == "wd_manual")
    );
    let (status, _) = app
        .send(Call::get("/finance/withdrawals").token(&token("sales-1", Role::Sales)))
        .await;
    assert_eq!(status, 403);

    // A body that is not JSON is refused, writing nothing; no body at all, as `curl -X POST`
    // sends it, is an approval.
    let finance = token("finance-1", Role::Finance);
    let counts = app.counts().await;
    let path = "/withdrawals/wd_manual/approve";
    let text = Call {
        headers: vec![("content-type", "text/plain".to_string())],
        ..Call::post(path, &json!({})).token(&finance)
    };
    let (status, refused) = app.send(text).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "unsupported_media_type", "{refused}");
    assert_eq!(app.counts().await, counts, "a refused approval wrote");
    let (status, approved) = app.send(Call::post_empty(path).token(&finance)).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    // Audited once, as with a body (the workflow may be paying it out already).
    let actions = app.audit_actions("withdrawal", "wd_manual").await;
    let approvals = actions.iter().filter(|a| *a == "withdrawal.approved");
    assert_eq!(approvals.count(), 1, "{actions:?}");
    let paid = finished(&app, "wd_manual").await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["approvals"][0]["by"], "finance-1");
    assert_eq!(
        wallet(&app, &client_id).await,
        (dec("1000.00"), dec("0.00"))
    );
}

pub async fn a_large_withdrawal_needs_two_approvers_never_the_requester(app: App) {
    let client_id = funded_client(&app, "Large", "20000.00").await;
    let (status, created) = request(
        &app,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_large", "12000.00"),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    let waiting = awaiting_approval(&app, "wd_large").await;
    assert_eq!(waiting["requirement"], "two", "{waiting}");
    let reasons = waiting["reasons"].to_string();
    assert!(reasons.contains("aml"), "AML review threshold: {reasons}");

    let counts = app.counts().await;
    // The requester, another finance user twice, and a finance user as the second approver.
    let (status, refused) = decide(
        &app,
        "wd_large",
        "finance-1",
        Role::Finance,
        "approve",
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "forbidden");
    assert!(refused["message"].as_str().unwrap().contains("requested"));
    assert_eq!(
        app.counts().await,
        counts,
        "a refused approval writes nothing"
    );
    let (status, first) = decide(
        &app,
        "wd_large",
        "finance-2",
        Role::Finance,
        "approve",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "awaiting_approval");
    let counts = app.counts().await;
    let (status, _) = decide(
        &app,
        "wd_large",
        "finance-2",
        Role::Finance,
        "approve",
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "the same person twice");
    let (status, _) = decide(
        &app,
        "wd_large",
        "finance-3",
        Role::Finance,
        "approve",
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "the second approver is an admin");
    let (status, _) = decide(
        &app,
        "wd_large",
        "sales-1",
        Role::Sales,
        "approve",
        json!({}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.counts().await, counts);

    let (status, second) = decide(
        &app,
        "wd_large",
        "admin-1",
        Role::Admin,
        "approve",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let paid = finished(&app, "wd_large").await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["approvals"][1]["role"], "admin");
    let process = approval(&app, "wd_large").await.unwrap();
    assert_eq!(process.status, ProcessStatus::Approved);
    let approvers: Vec<&str> = process.approvers().map(|d| d.by.as_str()).collect();
    assert_eq!(approvers, ["finance-2", "admin-1"]);
    assert_eq!(
        wallet(&app, &client_id).await,
        (dec("8000.00"), dec("0.00"))
    );
}

pub async fn bad_withdrawal_requests_write_nothing(app: App) {
    let client_id = funded_client(&app, "Careful", "100.00").await;
    let counts = app.counts().await;
    let cases = [
        (
            body("wd_bad", "10.001"),
            400,
            "amount_too_precise",
            Some("amount"),
        ),
        (
            body("wd_bad", "0"),
            400,
            "amount_not_positive",
            Some("amount"),
        ),
        (
            body("wd_bad", "-5.00"),
            400,
            "amount_not_positive",
            Some("amount"),
        ),
        (body("wd_bad", "1e3"), 400, "invalid_amount", Some("amount")),
        (
            body("wd_bad", "00010.00"),
            400,
            "invalid_amount",
            Some("amount"),
        ),
        (
            body("wd_bad", "+10.00"),
            400,
            "invalid_amount",
            Some("amount"),
        ),
        (
            json!({ "withdrawal_id": "wd_bad", "amount": "10.00", "currency": "XYZ", "method": "card", "destination": "4111" }),
            400,
            "unknown_currency",
            Some("currency"),
        ),
        (
            json!({ "withdrawal_id": "wd_bad", "amount": "10.00", "currency": "EUR", "method": "card", "destination": "4111" }),
            400,
            "currency_mismatch",
            Some("currency"),
        ),
        (
            json!({ "withdrawal_id": "wd_bad", "amount": "10.00", "currency": "USD", "method": "cheque", "destination": "4111" }),
            400,
            "invalid_body",
            Some("method"),
        ),
        (
            json!({ "withdrawal_id": "wd bad", "amount": "10.00", "currency": "USD", "method": "card", "destination": "4111" }),
            400,
            "invalid_code",
            Some("withdrawal_id"),
        ),
        (body("wd_bad", "100.01"), 409, "insufficient_funds", None),
        // A required field missing is named, the first in the body's order.
        (json!({}), 400, "invalid_body", Some("withdrawal_id")),
        (
            json!({ "withdrawal_id": "wd_bad", "currency": "USD", "method": "card", "destination": "4111" }),
            400,
            "invalid_body",
            Some("amount"),
        ),
    ];
    for (case, status_wanted, code, field) in cases {
        let (status, error) =
            request(&app, &client_id, "finance-1", Role::Finance, case.clone()).await;
        assert_eq!(status, status_wanted, "{case} → {error}");
        assert_eq!(error["code"], code, "{case} → {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        if let Some(field) = field {
            assert_eq!(error["field"], field, "{case} → {error}");
        }
    }
    // No body at all is `{}`: a request or a rejection, whose fields are required, is refused
    // naming the first missing one.
    let bodiless = [
        (format!("/clients/{client_id}/withdrawals"), "withdrawal_id"),
        ("/withdrawals/wd_bad/reject".to_string(), "reason"),
    ];
    for (path, field) in bodiless {
        let (status, error) = app
            .send(Call::post_empty(&path).token(&token("finance-1", Role::Finance)))
            .await;
        assert_eq!(status, 400, "{path} → {error}");
        assert_eq!(error["code"], "invalid_body", "{path} → {error}");
        assert_eq!(error["field"], field, "{path} → {error}");
    }
    // Roles that may not request, and a client asking for someone else's money.
    let (status, _) = request(
        &app,
        &client_id,
        "sales-1",
        Role::Sales,
        body("wd_bad", "1.00"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = request(
        &app,
        &client_id,
        "portal-mallory",
        Role::Client,
        body("wd_bad", "1.00"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.counts().await, counts, "nothing was written");
    assert_eq!(wallet(&app, &client_id).await, (dec("100.00"), dec("0.00")));
}

pub async fn a_rejected_withdrawal_releases_the_reservation(app: App) {
    let client_id = funded_client(&app, "Refused", "3000.00").await;
    request(
        &app,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_refused", "2500.00"),
    )
    .await;
    awaiting_approval(&app, "wd_refused").await;
    assert_eq!(
        wallet(&app, &client_id).await,
        (dec("500.00"), dec("2500.00"))
    );
    let (status, missing) = decide(
        &app,
        "wd_refused",
        "finance-2",
        Role::Finance,
        "reject",
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "a reason is required: {missing}");
    let (status, rejected) = decide(
        &app,
        "wd_refused",
        "finance-2",
        Role::Finance,
        "reject",
        json!({ "reason": "destination not verified" }),
    )
    .await;
    assert_eq!(status, 200, "{rejected}");
    assert_ended_and_released(
        &app,
        "wd_refused",
        "rejected",
        ProcessStatus::Rejected,
        &client_id,
        "3000.00",
    )
    .await;
}

pub async fn a_failed_withdrawal_payout_releases_and_an_outage_is_retried(app: App) {
    let client_id = funded_client(&app, "Payout", "500.00").await;
    app.gateway.set_behavior(
        CARD_PROVIDER,
        SimulatedBehavior::Decline("account_closed".into()),
    );
    request(
        &app,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_declined", "100.00"),
    )
    .await;
    let failed = finished(&app, "wd_declined").await;
    assert_eq!(failed["status"], "payout_failed", "{failed}");
    assert!(failed["reasons"].to_string().contains("account_closed"));
    assert_eq!(wallet(&app, &client_id).await, (dec("500.00"), dec("0.00")));

    app.gateway
        .set_behavior(CARD_PROVIDER, SimulatedBehavior::Outage);
    request(
        &app,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_outage", "100.00"),
    )
    .await;
    // Once a payout attempt has failed, the provider recovers; the retry pays.
    let stored = brokeros_sfn::StoreExecutions::new(app.store.clone());
    let execution = arn(&app, "wd_outage");
    let mut failed_once = false;
    for _ in 0..400 {
        let history = brokeros_sfn::ExecutionStore::history(&stored, &execution)
            .await
            .unwrap_or_default();
        if history
            .iter()
            .any(|e| e.event_type == brokeros_sfn::EventType::TaskFailed)
        {
            failed_once = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(failed_once, "the payout never met the outage");
    assert_eq!(withdrawal(&app, "wd_outage").await["status"], "approved");
    app.gateway
        .set_behavior(CARD_PROVIDER, SimulatedBehavior::Approve);
    let paid = finished(&app, "wd_outage").await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(wallet(&app, &client_id).await, (dec("400.00"), dec("0.00")));
}

pub async fn withdrawal_checks_reject_unverified_clients_and_other_methods(app: App) {
    // KYC never approved: money in the wallet, but no withdrawal leaves.
    let unverified = app.register("Unverified", "C01X00T47").await;
    credited_deposit(&app, &unverified, "dep_unverified", "300.00").await;
    let (status, created) = request(
        &app,
        &unverified,
        "finance-1",
        Role::Finance,
        body("wd_kyc", "50.00"),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    let rejected = finished(&app, "wd_kyc").await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert!(rejected["reasons"][0].as_str().unwrap().starts_with("kyc:"));
    assert!(
        approval(&app, "wd_kyc").await.is_none(),
        "refused by a check: no approval process"
    );
    assert_eq!(
        wallet(&app, &unverified).await,
        (dec("300.00"), dec("0.00"))
    );

    // Deposited by card: a bank transfer out is refused (closed loop).
    let client_id = funded_client(&app, "Loop", "300.00").await;
    let mut by_bank = body("wd_bank", "50.00");
    by_bank["method"] = json!("bank_transfer");
    by_bank["destination"] = json!("DE89370400440532013000");
    let (status, created) = request(&app, &client_id, "finance-1", Role::Finance, by_bank).await;
    assert_eq!(status, 202, "{created}");
    assert!(
        !created.to_string().contains("DE89370400440532013000"),
        "masked"
    );
    let rejected = finished(&app, "wd_bank").await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert!(
        rejected["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("deposit_method:")
    );
    assert_eq!(wallet(&app, &client_id).await, (dec("300.00"), dec("0.00")));
}

pub async fn an_undecided_withdrawal_expires_and_releases(app: App) {
    let client_id = funded_client(&app, "Slow", "3000.00").await;
    request(
        &app,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_slow", "2000.00"),
    )
    .await;
    assert_ended_and_released(
        &app,
        "wd_slow",
        "expired",
        ProcessStatus::Expired,
        &client_id,
        "3000.00",
    )
    .await;
}

/// 200 requests of 10.00 at once against a wallet of 1000.00 (the rules auto-approve 50 a
/// day): the wallet never goes below zero, exactly what it holds is reserved, and once
/// finance has decided the rest and the workflows have ended, every reservation is settled
/// or released and the money adds up.
pub async fn two_hundred_concurrent_withdrawals_never_overdraw_the_wallet(app: App) {
    let app = Arc::new(app);
    let client_id = funded_client(&app, "Burst", "1000.00").await;
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (app, client_id, done) = (app.clone(), client_id.clone(), done.clone());
        tokio::spawn(async move {
            let mut samples = 0;
            while !done.load(Ordering::Relaxed) {
                let (available, reserved) = wallet(&app, &client_id).await;
                assert!(available >= Decimal::ZERO && reserved >= Decimal::ZERO);
                assert!(available + reserved <= dec("1000.00"));
                samples += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            samples
        })
    };
    let mut requests = Vec::new();
    for n in 0..200 {
        let (app, client_id) = (app.clone(), client_id.clone());
        requests.push(tokio::spawn(async move {
            let id = format!("wd_burst_{n:03}");
            let (status, reply) = request(
                &app,
                &client_id,
                "finance-1",
                Role::Finance,
                body(&id, "10.00"),
            )
            .await;
            (id, status, reply)
        }));
    }
    let mut accepted = Vec::new();
    for r in requests {
        let (id, status, reply) = r.await.unwrap();
        match status {
            202 => accepted.push(id),
            409 => assert_eq!(reply["code"], "insufficient_funds", "{reply}"),
            other => panic!("{id}: {other} {reply}"),
        }
    }
    assert_eq!(
        accepted.len(),
        100,
        "exactly what the wallet holds is reserved"
    );

    // The auto-approved ones pay out; finance approves half of the rest and rejects the others.
    let mut waiting = Vec::new();
    for id in &accepted {
        let w = loop {
            let w = withdrawal(&app, id).await;
            if w["status"] != "requested" {
                break w;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if w["requirement"] != "none" {
            waiting.push(id.clone());
        }
    }
    assert_eq!(
        waiting.len(),
        50,
        "the daily auto-approval count holds exactly"
    );
    let mut decisions = Vec::new();
    for (n, id) in waiting.iter().enumerate() {
        let (app, id) = (app.clone(), id.clone());
        decisions.push(tokio::spawn(async move {
            let (action, body) = if n % 2 == 0 {
                ("approve", json!({}))
            } else {
                ("reject", json!({ "reason": "burst" }))
            };
            decide(&app, &id, "finance-2", Role::Finance, action, body).await
        }));
    }
    for d in decisions {
        let (status, reply) = d.await.unwrap();
        assert_eq!(status, 200, "{reply}");
    }
    let mut paid = Decimal::ZERO;
    let mut released = Decimal::ZERO;
    for id in &accepted {
        let w = finished(&app, id).await;
        let amount = dec(w["amount"]["amount"].as_str().unwrap());
        match w["status"].as_str().unwrap() {
            "paid" => paid += amount,
            "rejected" => released += amount,
            other => panic!("{id} ended {other}"),
        }
        let reservation = TransferId::new("t", &format!("wd:{id}")).unwrap();
        let entry = brokeros_ledger::entry(&app.services, &reservation)
            .await
            .unwrap()
            .expect("reserved");
        assert!(
            entry.closure.is_some(),
            "{id}: reservation neither settled nor released"
        );
    }
    done.store(true, Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 0);
    assert_eq!(paid, dec("750.00"));
    assert_eq!(released, dec("250.00"));
    let (available, reserved) = wallet(&app, &client_id).await;
    assert_eq!(reserved, dec("0.00"));
    assert_eq!(available + paid, dec("1000.00"));
    assert_eq!(clearing(&app).await, dec("-1000.00") + paid);
}

/// A withdrawal whose workflow did not start (Step Functions down, or the process stopped
/// right after the commit): its funds stay reserved, its start waits in the outbox, and once
/// the local Broker OS restarts the relay starts it and the withdrawal is paid once.
pub async fn a_withdrawal_committed_before_a_crash_is_paid_after_the_restart(app: App) {
    let client_id = funded_client(&app, "Crash", "300.00").await;
    let app = app.restarted().await;
    let down = App::with_workflow_down(app.store.clone()).await;
    let (status, created) = request(
        &down,
        &client_id,
        "finance-1",
        Role::Finance,
        body("wd_crash", "75.00"),
    )
    .await;
    assert_eq!(status, 202, "committed, so accepted: {created}");
    assert_eq!(created["status"], "requested");
    assert_eq!(wallet(&down, &client_id).await.0, dec("225.00"), "reserved");
    let entries = down.outbox_entries().await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].effect.id(), "workflow#withdrawal#wd_crash");
    drop(down);

    let app = app.restarted().await;
    let report = app.relay_outbox().await;
    assert_eq!((report.carried_out, report.failed), (1, 0), "{report:?}");
    let paid = finished(&app, "wd_crash").await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(wallet(&app, &client_id).await, (dec("225.00"), dec("0")));
    assert!(app.outbox_entries().await.is_empty());
}
