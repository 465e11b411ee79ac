//! Strategies and subscriptions through their use cases: the provider's proposal, an admin's
//! governance, a follower's subscription and its changes, and the refusals.

use brokeros_copy::model::{Strategy, Subscription};
use brokeros_copy::strategies::{Governance, Reason, govern, my_strategies, propose, strategies};
use brokeros_copy::subscriptions::{
    Change, change, copied_trades, followers, my_subscriptions, subscribe,
};
use brokeros_kernel::Error;
use brokeros_kernel::principal::Role;
use serde_json::json;

use crate::common::*;
use crate::harness::App;

/// `result` is the refusal `code` (naming `field` when given) and nothing was written.
async fn assert_refused<T: std::fmt::Debug>(
    app: &App,
    before: (u64, u64),
    result: Result<T, Error>,
    code: &str,
    field: Option<&str>,
) {
    let error = result.expect_err(code);
    let body = error.body();
    assert_eq!(body.code, code, "{error:?}");
    if let Some(field) = field {
        assert_eq!(body.field.as_deref(), Some(field), "{error:?}");
    }
    assert_eq!(app.counts().await, before, "{code}: nothing written");
}

fn reason(text: &str) -> Option<Reason> {
    Some(serde_json::from_value(json!({ "reason": text })).unwrap())
}

pub async fn a_strategy_is_proposed_approved_suspended_and_reinstated(app: App) {
    let (provider, login) = funded(&app, "cp-prov", "10000").await;
    let s = &app.services.copy;
    let proposed = propose(
        s,
        &client(&provider),
        proposal("trend", login, |_| {}),
        None,
        "c-1",
    )
    .await
    .unwrap()
    .body;
    assert_eq!(proposed["status"], "pending_approval", "{proposed}");
    assert_eq!(proposed["provider_client_id"], provider.client_id.as_str());
    // The provider cannot approve their own; an admin does, once.
    let own = govern(
        s,
        &client(&provider),
        "trend",
        Governance::Approve,
        None,
        None,
        "c",
    )
    .await;
    assert!(matches!(own, Err(Error::Forbidden { .. })), "{own:?}");
    govern(s, &admin(), "trend", Governance::Approve, None, None, "c-2")
        .await
        .unwrap();
    let before = app.counts().await;
    let again = govern(s, &admin(), "trend", Governance::Approve, None, None, "c-3").await;
    assert_refused(&app, before, again, "strategy_status", None).await;
    let listed = strategies(s, &client(&provider), None, None, None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    govern(
        s,
        &admin(),
        "trend",
        Governance::Suspend,
        reason("risk review"),
        None,
        "c-4",
    )
    .await
    .unwrap();
    let reinstated = govern(
        s,
        &admin(),
        "trend",
        Governance::Reinstate,
        reason("reviewed"),
        None,
        "c-5",
    )
    .await
    .unwrap()
    .body;
    assert_eq!(reinstated["status"], "active");
    assert_eq!(reinstated["status_reason"], "reviewed");
    let mine = my_strategies(s, &client(&provider), None, None)
        .await
        .unwrap();
    assert_eq!(
        mine.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["trend"]
    );
    assert_eq!(
        app.audit_actions("copy_strategy", "trend").await,
        [
            "copy.strategy_proposed",
            "copy.strategy_approved",
            "copy.strategy_suspended",
            "copy.strategy_reinstated"
        ]
    );
    assert!(
        app.services
            .copy
            .core
            .find::<Strategy>("trend")
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn subscriptions_change_pause_resume_and_end_with_a_pro_rata_refund(app: App) {
    approved_strategy(&app, "cp-prov", "trend").await;
    let s = &app.services.copy;
    let modes = [
        ("sub-fixed", json!({ "mode": "fixed_lot", "lots": "0.10" })),
        ("sub-mult", json!({ "mode": "multiplier", "factor": "0.5" })),
        ("sub-bal", json!({ "mode": "balance" })),
        ("sub-eq", json!({ "mode": "equity" })),
        (
            "sub-ratio",
            json!({ "mode": "balance_ratio", "ratio": "2" }),
        ),
    ];
    let mut people = Vec::new();
    for (n, (id, sizing)) in modes.iter().enumerate() {
        let user = format!("cp-fol{n}");
        people.push(following(&app, &user, "2500", "trend", id, sizing.clone()).await);
    }
    let (follower, _) = &people[0];
    let me = client(follower);
    // The fee left the wallet for the broker's revenue, in the ledger.
    assert_eq!(wallet(&app, follower).await, d("70.00"));
    let mine = my_subscriptions(s, &me, None, None).await.unwrap();
    assert_eq!(mine.items.len(), 1);
    assert_eq!(mine.items[0].fee_paid, d("30.00"));
    assert_eq!(mine.items[0].equity_at_start, d("2500"));
    let all = followers(s, &admin(), "trend", None, None).await.unwrap();
    assert_eq!(all.items.len(), modes.len());

    let changed = change(
        s,
        &me,
        "sub-fixed",
        Change::ChangeSizing {
            sizing: serde_json::from_value(json!({ "mode": "multiplier", "factor": "2" })).unwrap(),
        },
        None,
        "c-4",
    )
    .await
    .unwrap()
    .body;
    assert_eq!(
        changed["sizing"],
        json!({ "mode": "multiplier", "factor": "2" })
    );
    change(s, &me, "sub-fixed", Change::Pause, None, "c-5")
        .await
        .unwrap();
    let before = app.counts().await;
    let twice = change(s, &me, "sub-fixed", Change::Pause, None, "c-6").await;
    assert_refused(&app, before, twice, "subscription_status", None).await;
    change(s, &me, "sub-fixed", Change::Resume, None, "c-7")
        .await
        .unwrap();
    let ended = change(s, &me, "sub-fixed", Change::Unsubscribe, None, "c-8")
        .await
        .unwrap()
        .body;
    assert_eq!(ended["status"], "ended");
    // Unsubscribed at once: (almost) all of the fee back, never more than was paid.
    let refund = ended["fee_refunded"]
        .as_str()
        .unwrap()
        .parse::<rust_decimal::Decimal>()
        .unwrap();
    assert!(refund <= d("30.00") && refund >= d("29.99"), "{refund}");
    assert_eq!(
        wallet(&app, follower).await,
        d("70.00") + refund,
        "refunded to the wallet"
    );
    assert_eq!(
        app.audit_actions("copy_subscription", "sub-fixed").await,
        [
            "copy.subscribed",
            "copy.sizing_changed",
            "copy.paused",
            "copy.resumed",
            "copy.unsubscribed"
        ]
    );
    // The account left the roster: it may follow again under a new subscription.
    let (_, login) = &people[0];
    subscribe(
        s,
        &me,
        subscription("sub-again", "trend", *login, json!({ "mode": "balance" })),
        None,
        "c-9",
    )
    .await
    .unwrap();
    assert!(
        app.services
            .copy
            .core
            .find::<Subscription>("sub-again")
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn requests_the_rules_refuse_write_nothing(app: App) {
    let (provider, provider_login) = approved_strategy(&app, "cp-prov", "trend").await;
    let (follower, login) = funded(&app, "cp-fol", "2500").await;
    let (poor, poor_login) = funded(&app, "cp-poor", "5").await;
    let (_, other_login) = funded(&app, "cp-other", "2500").await;
    let s = &app.services.copy;
    let me = client(&follower);
    let before = app.counts().await;
    let sub = |sizing: serde_json::Value, login: u64| subscription("sub-1", "trend", login, sizing);

    // A mode with missing parameters, or bad ones: refused when the body is read.
    for (body, missing) in [
        (json!({ "mode": "fixed_lot" }), "lots"),
        (json!({ "mode": "multiplier" }), "factor"),
        (json!({ "mode": "balance_ratio" }), "ratio"),
    ] {
        let parsed = serde_json::from_value::<brokeros_copy::subscriptions::NewSubscription>(
            json!({ "strategy_id": "trend", "login": login, "sizing": body }),
        );
        let error = parsed.expect_err(missing).to_string();
        assert!(error.contains(missing), "{error}");
    }
    let unknown = serde_json::from_value::<brokeros_copy::subscriptions::NewSubscription>(
        json!({ "strategy_id": "trend", "login": login, "sizing": { "mode": "equity" }, "extra": 1 }),
    );
    assert!(unknown.is_err(), "unknown fields are refused");
    let wrong_type = serde_json::from_value::<brokeros_copy::subscriptions::NewSubscription>(
        json!({ "strategy_id": "trend", "login": "not a login", "sizing": { "mode": "equity" } }),
    );
    assert!(wrong_type.is_err(), "wrong types are refused");
    let zero = subscribe(
        s,
        &me,
        sub(json!({ "mode": "fixed_lot", "lots": "0" }), login),
        None,
        "c",
    )
    .await;
    assert_refused(&app, before, zero, "invalid_sizing", Some("lots")).await;
    // The provider's own strategy, with another account of theirs... or their strategy's.
    let own = subscribe(
        s,
        &client(&provider),
        sub(json!({ "mode": "equity" }), provider_login),
        None,
        "c",
    )
    .await;
    assert_refused(&app, before, own, "own_strategy", Some("strategy_id")).await;
    // An account that is not the caller's.
    let theirs = subscribe(
        s,
        &me,
        sub(json!({ "mode": "equity" }), other_login),
        None,
        "c",
    )
    .await;
    assert_refused(&app, before, theirs, "not_found", None).await;
    // Equity below the strategy's minimum (10 USD).
    let below = subscribe(
        s,
        &client(&poor),
        sub(json!({ "mode": "equity" }), poor_login),
        None,
        "c",
    )
    .await;
    assert_refused(&app, before, below, "below_minimum_equity", None).await;
    // A wallet without the subscription fee (30.00): refused by the ledger.
    let short = subscribe(s, &me, sub(json!({ "mode": "equity" }), login), None, "c").await;
    assert_refused(&app, before, short, "insufficient_funds", None).await;
    // A negative maximum loss; an unknown strategy; a strategy not approved.
    let mut negative = sub(json!({ "mode": "equity" }), login);
    negative.max_loss = Some(d("-1"));
    let negative = subscribe(s, &me, negative, None, "c").await;
    assert_refused(&app, before, negative, "invalid_amount", Some("max_loss")).await;
    let mut nowhere = sub(json!({ "mode": "equity" }), login);
    nowhere.strategy_id = "nowhere".into();
    let nowhere = subscribe(s, &me, nowhere, None, "c").await;
    assert_refused(&app, before, nowhere, "not_found", None).await;
    // Strategies: bad terms, an account not the provider's, the account offered twice.
    let fee = propose(
        s,
        &client(&provider),
        proposal("s2", provider_login, |b| {
            b["terms"]["performance_fee"] = json!("101")
        }),
        None,
        "c",
    )
    .await;
    assert_refused(
        &app,
        before,
        fee,
        "invalid_percent",
        Some("performance_fee"),
    )
    .await;
    let not_theirs = propose(
        s,
        &client(&provider),
        proposal("s2", login, |_| {}),
        None,
        "c",
    )
    .await;
    assert_refused(&app, before, not_theirs, "not_found", None).await;
    let twice = propose(
        s,
        &client(&provider),
        proposal("s2", provider_login, |_| {}),
        None,
        "c",
    )
    .await;
    assert_refused(&app, before, twice, "login_offered", None).await;
    let by_admin = propose(
        s,
        &admin(),
        proposal("s3", provider_login, |_| {}),
        None,
        "c",
    )
    .await;
    assert_refused(&app, before, by_admin, "forbidden", None).await;
    let without_reason = govern(s, &admin(), "trend", Governance::Suspend, None, None, "c").await;
    assert_refused(&app, before, without_reason, "required", Some("reason")).await;
}

pub async fn someone_elses_strategy_or_subscription_is_not_found(app: App) {
    let (provider, _) = approved_strategy(&app, "cp-prov", "trend").await;
    let (follower, _) = following(
        &app,
        "cp-fol",
        "2500",
        "trend",
        "sub-1",
        json!({ "mode": "equity" }),
    )
    .await;
    let (stranger, _) = funded(&app, "cp-stranger", "100").await;
    let s = &app.services.copy;
    let before = app.counts().await;
    let them = client(&stranger);
    let paused = change(s, &them, "sub-1", Change::Pause, None, "c").await;
    assert_refused(&app, before, paused, "not_found", None).await;
    let trades = copied_trades(s, &them, "sub-1", None, None).await;
    assert!(matches!(trades, Err(Error::NotFound { .. })), "{trades:?}");
    let their_followers = followers(s, &them, "trend", None, None).await;
    assert!(matches!(their_followers, Err(Error::NotFound { .. })));
    // The provider sees their followers; the follower their trades; admins both.
    assert_eq!(
        followers(s, &client(&provider), "trend", None, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    copied_trades(s, &client(&follower), "sub-1", None, None)
        .await
        .unwrap();
    copied_trades(s, &admin(), "sub-1", None, None)
        .await
        .unwrap();
    // Only admins list strategies other than the active ones; only admins govern.
    let pending = strategies(s, &them, Some("pending_approval"), None, None).await;
    assert!(matches!(pending, Err(Error::Forbidden { .. })));
    let governed = govern(
        s,
        &principal("agent", Role::Sales),
        "trend",
        Governance::Approve,
        None,
        None,
        "c",
    )
    .await;
    assert_refused(&app, before, governed, "forbidden", None).await;
}
