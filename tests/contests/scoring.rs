//! A contest scored live on the simulated platform, on both storage engines: deals read by
//! cursor and each entrant rescored, a scalp excluded, a deposit that does not lift a return,
//! hedging between two entries flagged, a disqualification listed last, the public leaderboard
//! with its ETag; then the final run freezes, recomputes in full, proposes the prizes, waits
//! for finance (the publisher may not approve), pays each once and notifies the winners.

use std::sync::Arc;

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_kernel::workflow::Machine;
use brokeros_kernel::{AheadClock, Clock};
use brokeros_sfn::ExecutionStatus;
use brokeros_store::Store;
use brokeros_trading::{
    BalanceOperation, BalanceOperationKind, DealSide, Decimal, PlatformDeal, TradingPlatform,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::{Identity, Person, admin, marketing, onboarded, refused, text};
use crate::harness::{App, token};

const MINUTE: i64 = 60_000;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn msc(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

fn finance(sub: &str) -> String {
    token(sub, Role::Finance)
}

/// The contest of these scenarios: registration open from an hour ago for two hours, running
/// from an hour ago for three, scored by return; 100.00 to the winner and 50.00 to the second,
/// in cash.
fn cup(id: &str, now: OffsetDateTime) -> Value {
    let hours = |h: i64| text(now + time::Duration::hours(h));
    json!({
        "id": id, "version": 1, "name": "Live Cup", "mode": "live", "currency": "USD",
        "registration": { "from": hours(-1), "until": hours(1) },
        "period": { "from": hours(-1), "until": hours(2) },
        "metric": { "kind": "return" },
        "rules": { "min_trades": 1, "min_hold_seconds": 60 },
        "prizes": { "payment": { "kind": "cash" },
                    "tiers": [ { "from_rank": 1, "to_rank": 1, "amount": "100.00" },
                               { "from_rank": 2, "to_rank": 2, "amount": "50.00" } ] }
    })
}

/// A client onboarded with 1000.00 on their account, entered into contest `id`: the person,
/// the login and the entrant id.
async fn entered(app: &App, id: &str, who: &Identity<'_>) -> (Person, u64, String) {
    let (person, login) = onboarded(app, who).await;
    fund(app, login, &format!("fund-{login}"), "1000.00").await;
    let (status, entrant) = app
        .send(
            Call::post(
                &format!("/contests/{id}/entries"),
                &json!({ "login": login }),
            )
            .token(&person.token()),
        )
        .await;
    assert_eq!(status, 201, "{entrant}");
    let entrant = entrant["id"].as_str().unwrap().to_string();
    (person, login, entrant)
}

async fn fund(app: &App, login: u64, operation: &str, amount: &str) {
    app.platform
        .balance_operation(BalanceOperation {
            login,
            operation_id: operation.to_string(),
            kind: BalanceOperationKind::Deposit,
            amount: dec(amount),
            comment: "deposit".into(),
        })
        .await
        .unwrap();
}

/// Opens `lots` of EURUSD on `side` at `open_at` and closes it `held` later: both deals.
async fn round_trip(
    app: &App,
    login: u64,
    side: DealSide,
    open_at: i64,
    held: i64,
) -> (PlatformDeal, PlatformDeal) {
    let open = app
        .platform
        .open_position(login, "EURUSD", side, dec("1"), open_at)
        .await
        .unwrap();
    let close = app
        .platform
        .close_position(login, open.position_id, dec("1"), open_at + held)
        .await
        .unwrap();
    (open, close)
}

/// Runs the contest's scoring now, as marketing asks it, to its end.
async fn score_now(app: &App, id: &str) {
    let (status, started) = app
        .send(Call::post(&format!("/contests/{id}/scoring"), &json!({})).token(&marketing()))
        .await;
    assert_eq!(status, 202, "{started}");
    let done = app.finished(started["execution"].as_str().unwrap()).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
}

async fn score_of(app: &App, id: &str, entrant: &str, as_token: &str) -> (u16, Value) {
    app.send(Call::get(&format!("/contests/{id}/entries/{entrant}/score")).token(as_token))
        .await
}

fn explained_return(score: &Value) -> Decimal {
    dec(score["explanation"]["score"]["return"].as_str().unwrap())
}

pub async fn a_contest_is_scored_live_then_frozen_recomputed_and_its_prizes_paid_once(
    store: Arc<dyn Store>,
) {
    let clock = Arc::new(AheadClock::default());
    let app = App::with_clock(store, clock.clone()).await;
    let scan = app.audit_scan();
    let now = clock.now();
    let id = "live-cup";
    let (status, stored) = app
        .send(Call::post("/contests", &cup(id, now)).token(&marketing()))
        .await;
    assert_eq!(status, 201, "{stored}");
    // An admin publishes: the prizes are proposed in their name, so they may not approve them.
    let (status, published) = app
        .send(Call::post(&format!("/contests/{id}/publish"), &json!({})).token(&admin()))
        .await;
    assert_eq!(status, 200, "{published}");

    let (ann, ann_login, ann_entry) = entered(
        &app,
        id,
        &Identity::of("u-ann", "Lee", "ann@example.com", "L01X00T41"),
    )
    .await;
    let (bob, bob_login, bob_entry) = entered(
        &app,
        id,
        &Identity::of("u-bob", "Park", "bob@example.com", "L02X00T42"),
    )
    .await;
    let (carl, carl_login, carl_entry) = entered(
        &app,
        id,
        &Identity::of("u-carl", "Kim", "carl@example.com", "L03X00T43"),
    )
    .await;
    let (_dora, dora_login, dora_entry) = entered(
        &app,
        id,
        &Identity::of("u-dora", "Ng", "dora@example.com", "L04X00T44"),
    )
    .await;

    let t0 = msc(clock.now()) + MINUTE;
    // Ann: a trade held five minutes, and a 30-second scalp that does not count.
    let (ann_open, ann_close) = round_trip(&app, ann_login, DealSide::Buy, t0, 5 * MINUTE).await;
    let (_, scalp) = round_trip(&app, ann_login, DealSide::Sell, t0 + 6 * MINUTE, 30_000).await;
    // Bob: a trade held ten minutes.
    round_trip(&app, bob_login, DealSide::Sell, t0, 10 * MINUTE).await;
    // Carl and Dora: opposite positions opened seconds apart, twice: one bet on two accounts.
    for start in [t0 + 2 * MINUTE, t0 + 20 * MINUTE] {
        round_trip(&app, carl_login, DealSide::Buy, start, 8 * MINUTE).await;
        round_trip(&app, dora_login, DealSide::Sell, start + 4_000, 8 * MINUTE).await;
    }
    clock.advance(time::Duration::minutes(40));
    score_now(&app, id).await;

    // Ann's score explained: the counted trade's net over her opening balance.
    let (status, score) = score_of(&app, id, &ann_entry, &ann.token()).await;
    assert_eq!(status, 200, "{score}");
    let explanation = &score["explanation"];
    assert_eq!(
        explanation["counted"].as_array().unwrap().len(),
        1,
        "{score}"
    );
    let net = ann_close.profit + ann_close.commission + ann_close.swap + ann_open.commission;
    assert_eq!(dec(explanation["counted"][0]["net"].as_str().unwrap()), net);
    assert_eq!(
        explained_return(&score),
        (net / dec("1000.00")).round_dp(8).normalize()
    );
    assert_eq!(explanation["excluded"][0]["deal"], json!(scalp.deal));
    assert_eq!(explanation["excluded"][0]["reason"], "held_too_short");
    // Registered during the period: what the account held then is where her return starts.
    let opening = &explanation["cash_flows"][0];
    assert_eq!(
        (opening["kind"].as_str(), opening["amount"].as_str()),
        (Some("opening_balance"), Some("1000.00"))
    );
    // Another client does not see Ann's score.
    let (status, _) = score_of(&app, id, &ann_entry, &bob.token()).await;
    assert_eq!(status, 404);

    // Bob deposits 500.00 after his trade: his return does not move.
    let (_, before) = score_of(&app, id, &bob_entry, &bob.token()).await;
    fund(&app, bob_login, "bob-top-up", "500.00").await;
    score_now(&app, id).await;
    let (_, after) = score_of(&app, id, &bob_entry, &bob.token()).await;
    assert_eq!(
        explained_return(&after),
        explained_return(&before),
        "{after}"
    );
    let flow = &after["explanation"]["cash_flows"][1];
    assert_eq!(flow["kind"], "deposit");
    assert_eq!(
        dec(flow["equity_after"].as_str().unwrap()) - dec(flow["equity_before"].as_str().unwrap()),
        dec("500.00")
    );

    // The public leaderboard: every entrant, ranked by return, logins masked; its ETag
    // answers 304 until the next snapshot.
    let board_path = format!("/contests/{id}/leaderboard");
    let (status, headers, board) = app.send_with_headers(Call::get(&board_path)).await;
    assert_eq!(status, 200, "{board}");
    let rows = board["items"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let returns: Vec<Decimal> = rows
        .iter()
        .map(|r| dec(r["return"].as_str().unwrap()))
        .collect();
    assert!(returns.windows(2).all(|w| w[0] >= w[1]), "{board}");
    let ranks: Vec<Value> = rows.iter().map(|r| r["rank"].clone()).collect();
    assert_eq!(ranks, [json!(1), json!(2), json!(3), json!(4)]);
    assert!(
        rows.iter()
            .all(|r| r["login"].as_str().unwrap().contains('*'))
    );
    assert!(!board.to_string().contains(&ann_login.to_string()));
    // The snapshot's time is an RFC 3339 string like every other time of the API (it was
    // serialized as time's tuple of numbers).
    let published_at = board["published_at"]
        .as_str()
        .unwrap_or_else(|| panic!("{board}"));
    OffsetDateTime::parse(published_at, &Rfc3339).unwrap();
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let (status, _, _) = app
        .send_with_headers(Call::get(&board_path).header("if-none-match", etag.clone()))
        .await;
    assert_eq!(status, 304);

    // Dora is disqualified for hedging with Carl: listed last, unranked.
    let (status, reply) = app
        .send(
            Call::post(
                &format!("/contests/{id}/entries/{dora_entry}/disqualify"),
                &json!({ "reason": "opposite positions with another entrant" }),
            )
            .token(&marketing()),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    score_now(&app, id).await;
    let (_, headers, board) = app.send_with_headers(Call::get(&board_path)).await;
    assert_ne!(headers["etag"].to_str().unwrap(), etag, "a new snapshot");
    let last = board["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["entrant"].as_str(), last["status"].as_str()),
        (Some(dora_entry.as_str()), Some("disqualified"))
    );
    assert_eq!(last["rank"], Value::Null);

    // The end: the schedule starts the final run once the grace for late deals has passed.
    let until = now + time::Duration::hours(2);
    clock.advance_to(until + time::Duration::seconds(301));
    let started = brokeros_contests::tasks::start_scheduled(&app.services.contests)
        .await
        .unwrap();
    assert_eq!(started.len(), 1, "{started:?}");
    let final_run = started[0].clone();

    app.waiting_task_checkpointed(&final_run).await;

    let (status, flags) = app
        .send(Call::get(&format!("/contests/{id}/flags")).token(&marketing()))
        .await;
    assert_eq!(status, 200, "{flags}");
    let flags = flags["items"].as_array().unwrap().clone();
    assert_eq!(flags.len(), 1, "{flags:?}");
    let mut pair = vec![carl_entry.clone(), dora_entry.clone()];
    pair.sort();
    assert_eq!(flags[0]["flag"]["entrants"], json!(pair));
    assert_eq!(flags[0]["flag"]["pairs"], 2);
    assert_eq!(flags[0]["status"], "open");

    let (status, round) = app
        .send(Call::get(&format!("/contests/{id}/prizes")).token(&finance("fin-1")))
        .await;
    assert_eq!(status, 200, "{round}");
    assert_eq!(round["status"], "proposed");
    assert!(round.get("approval_token").is_none(), "{round}");
    let awards = round["proposal"]["awards"].as_array().unwrap().clone();
    assert_eq!(awards.len(), 2, "{round}");
    let (_, board) = app.send(Call::get(&board_path)).await;
    assert_eq!(board["final"], true);
    let rows = board["items"].as_array().unwrap();
    for (award, row) in awards.iter().zip(rows) {
        assert_eq!(award["entrant"], row["entrant"], "rank {}", award["rank"]);
        assert_eq!(
            award["transfer_id"],
            format!("contest:{id}:rank:{}", award["rank"])
        );
    }

    // Maker-checker: the publisher may not approve; marketing has no say; finance approves.
    let decision = json!({ "approve": true });
    let path = format!("/contests/{id}/prizes/decision");
    let (status, _) = app.send(Call::post(&path, &decision).token(&admin())).await;
    assert_eq!(status, 403, "the proposer may not approve");
    refused(
        &app,
        Call::post(&path, &decision).token(&marketing()),
        403,
        "forbidden",
        None,
    )
    .await;
    let (status, decided) = app
        .send(Call::post(&path, &decision).token(&finance("fin-1")))
        .await;
    assert_eq!(status, 200, "{decided}");
    let done = app.finished(&final_run).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");

    // Who wins depends on the simulated market of the day; Dora is disqualified.
    let clients = [(&ann, &ann_entry), (&bob, &bob_entry), (&carl, &carl_entry)];
    let mut paid = Vec::new();
    for award in &awards {
        let (person, _) = clients
            .iter()
            .find(|(_, entry)| award["entrant"] == json!(entry))
            .copied()
            .unwrap_or_else(|| panic!("{award} goes to Ann, Bob or Carl"));
        let (available, _) = app.wallet(&person.client_id, "USD").await;
        assert_eq!(available, dec(award["amount"].as_str().unwrap()));
        paid.push((person.client_id.clone(), available));
    }
    let (_, record) = app
        .send(Call::get(&format!("/marketing/contests/{id}")).token(&marketing()))
        .await;
    assert_eq!(record["status"], "paid", "{record}");

    // Run the final workflow again: nothing is paid twice.
    let again = app
        .services
        .core
        .workflow()
        .unwrap()
        .start(
            Machine::ContestScoring,
            &format!("contest-{id}-again"),
            json!({ "contest_id": id, "final": true }),
        )
        .await
        .unwrap();
    let done = app.finished(&again).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    for (client, available) in paid {
        assert_eq!(app.wallet(&client, "USD").await.0, available);
    }
    scan.assert_clean().await;
}

/// Requests the scoring side refuses, each writing nothing.
pub async fn bad_scoring_requests_write_nothing(app: App) {
    let now = OffsetDateTime::now_utc();
    let id = "quiet-cup";
    let (status, _) = app
        .send(Call::post("/contests", &cup(id, now)).token(&marketing()))
        .await;
    assert_eq!(status, 201);
    let board = format!("/contests/{id}/leaderboard");
    refused(&app, Call::get(&board), 404, "not_found", None).await;
    refused(
        &app,
        Call::post(&format!("/contests/{id}/scoring"), &json!({})).token(&marketing()),
        409,
        "contest_not_running",
        None,
    )
    .await;
    crate::common::publish(&app, id).await;
    let (status, empty) = app.send(Call::get(&board)).await;
    assert_eq!(
        (status, empty["entrants"].clone()),
        (200, json!(0)),
        "{empty}"
    );
    let bad_cursor = format!("{board}?cursor=abc");
    refused(
        &app,
        Call::get(&bad_cursor),
        400,
        "invalid_cursor",
        Some("cursor"),
    )
    .await;
    let bad_limit = format!("{board}?limit=1000");
    refused(
        &app,
        Call::get(&bad_limit),
        400,
        "invalid_limit",
        Some("limit"),
    )
    .await;
    let client = token("u-nobody", Role::Client);
    let sales = token("sales-1", Role::Sales);
    for (request, status, code) in [
        (
            Call::post(&format!("/contests/{id}/scoring"), &json!({})).token(&sales),
            403,
            "forbidden",
        ),
        (
            Call::get(&format!("/contests/{id}/flags")).token(&client),
            403,
            "forbidden",
        ),
        (
            Call::get(&format!("/contests/{id}/prizes")).token(&client),
            403,
            "forbidden",
        ),
        (
            Call::get(&format!("/contests/{id}/prizes")).token(&finance("fin-1")),
            404,
            "not_found",
        ),
        (
            Call::post(
                &format!("/contests/{id}/prizes/decision"),
                &json!({ "approve": true }),
            )
            .token(&finance("fin-1")),
            404,
            "not_found",
        ),
        (
            Call::post(
                &format!("/contests/{id}/prizes/decision"),
                &json!({ "approve": false }),
            )
            .token(&finance("fin-1")),
            400,
            "reason_required",
        ),
        (
            Call::post(
                &format!("/contests/{id}/prizes/decision"),
                &json!({ "approve": "yes" }),
            )
            .token(&finance("fin-1")),
            400,
            "invalid_body",
        ),
        (
            Call::post(
                &format!("/contests/{id}/flags/a:b/review"),
                &json!({ "status": "open", "reason": "x" }),
            )
            .token(&marketing()),
            400,
            "invalid_status",
        ),
        (
            Call::post(
                &format!("/contests/{id}/flags/a:b/review"),
                &json!({ "status": "cleared", "reason": "x" }),
            )
            .token(&marketing()),
            404,
            "not_found",
        ),
        (
            Call::post(&format!("/contests/{id}/prizes/proposal"), &json!({})).token(&marketing()),
            404,
            "not_found",
        ),
        (
            Call::get(&format!("/contests/{id}/entries/ent_nobody/score")).token(&marketing()),
            404,
            "not_found",
        ),
    ] {
        refused(&app, request, status, code, None).await;
    }
}

/// A contest whose prize is trading credit: the winner's entry account gets it as a credit
/// operation under the prize's transfer id, once, with the volume it must trade recorded.
pub async fn a_credit_prize_lands_on_the_entry_account_once(store: Arc<dyn Store>) {
    let clock = Arc::new(AheadClock::default());
    let app = App::with_clock(store, clock.clone()).await;
    let scan = app.audit_scan();
    let now = clock.now();
    let id = "credit-cup";
    let mut document = cup(id, now);
    document["prizes"] = json!({
        "payment": { "kind": "credit", "volume_lots": "5" },
        "tiers": [ { "from_rank": 1, "to_rank": 1, "amount": "250.00" } ]
    });
    let (status, stored) = app
        .send(Call::post("/contests", &document).token(&marketing()))
        .await;
    assert_eq!(status, 201, "{stored}");
    let (status, _) = app
        .send(Call::post(&format!("/contests/{id}/publish"), &json!({})).token(&marketing()))
        .await;
    assert_eq!(status, 200);
    let (_, login, entrant) = entered(
        &app,
        id,
        &Identity::of("u-erin", "Ito", "erin@example.com", "L05X00T45"),
    )
    .await;
    let t0 = msc(clock.now()) + MINUTE;
    round_trip(&app, login, DealSide::Buy, t0, 5 * MINUTE).await;
    clock.advance_to(now + time::Duration::hours(2) + time::Duration::seconds(301));
    let started = brokeros_contests::tasks::start_scheduled(&app.services.contests)
        .await
        .unwrap();
    assert_eq!(started.len(), 1, "{started:?}");
    app.waiting_task_checkpointed(&started[0]).await;
    let credit_before = app.platform.account_state(login).await.unwrap().credit;
    let (status, decided) = app
        .send(
            Call::post(
                &format!("/contests/{id}/prizes/decision"),
                &json!({ "approve": true }),
            )
            .token(&finance("fin-2")),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    let done = app.finished(&started[0]).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let state = app.platform.account_state(login).await.unwrap();
    assert_eq!(state.credit - credit_before, dec("250.00"));
    let receipt = app
        .platform
        .operation(&format!("contest:{id}:rank:1"))
        .await
        .unwrap()
        .expect("the credit operation is booked under the prize's transfer id");
    assert_eq!(receipt.kind, BalanceOperationKind::CreditIn);
    let (_, round) = app
        .send(Call::get(&format!("/contests/{id}/prizes")).token(&finance("fin-2")))
        .await;
    assert_eq!(round["status"], "paid", "{round}");
    assert_eq!(round["proposal"]["awards"][0]["entrant"], json!(entrant));
    assert_eq!(
        round["proposal"]["awards"][0]["payment"]["volume_lots"],
        "5"
    );
    assert_eq!(round["paid"][0]["platform_deal"], json!(receipt.deal_id));
    // Again: the platform returns the first receipt, and the account holds the credit once.
    let again = app
        .services
        .core
        .workflow()
        .unwrap()
        .start(
            Machine::ContestScoring,
            &format!("contest-{id}-again"),
            json!({ "contest_id": id, "final": true }),
        )
        .await
        .unwrap();
    assert_eq!(
        app.finished(&again).await.status,
        ExecutionStatus::Succeeded
    );
    assert_eq!(
        app.platform.account_state(login).await.unwrap().credit,
        state.credit
    );
    scan.assert_clean().await;
}
