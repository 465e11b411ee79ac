//! The live path: the provider's deals read from the platform's deal history, fanned out on
//! the copy queue one message per follower, and each copied (or skipped, with the reason) by
//! the follower's order on the platform.

use brokeros_copy::copying::Copy;
use brokeros_copy::model::{CopyStatus, SizeNote, Skip, Subscription, SubscriptionStatus};
use brokeros_copy::subscriptions::copied_trades;
use brokeros_local::trading::SIMULATED_SERVER;
use brokeros_trading::{DealEntry, DealSide, Decimal, TradingPlatform};

use serde_json::json;

use crate::common::*;
use crate::harness::App;

fn now_msc() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The follower's trades on the platform: (entry, side, volume), oldest first.
async fn platform_trades(app: &App, login: u64) -> Vec<(DealEntry, DealSide, Decimal)> {
    let mut trades = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .platform
            .deal_changes(SIMULATED_SERVER, cursor, 1000)
            .await
            .unwrap();
        for change in &page.changes {
            let deal = &change.deal;
            if deal.login == login && deal.action.is_trade() {
                let side = match deal.action {
                    brokeros_trading::DealAction::Buy => DealSide::Buy,
                    _ => DealSide::Sell,
                };
                trades.push((deal.entry, side, deal.volume.normalize()));
            }
        }
        cursor = page.next_cursor;
        if !page.has_more {
            return trades;
        }
    }
}

/// A subscription's copied trades: (status, volume, skip reason).
async fn outcomes(
    app: &App,
    subscription: &str,
) -> Vec<(CopyStatus, Option<Decimal>, Option<Skip>)> {
    copied_trades(&app.services.copy, &admin(), subscription, None, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| (t.status, t.volume.map(|v| v.normalize()), t.skipped))
        .collect()
}

pub async fn a_providers_open_partial_close_and_close_are_copied_by_mode(app: App) {
    let (_, provider) = approved_strategy(&app, "cp-prov", "trend").await;
    let (fixed, fixed_login) = following(
        &app,
        "cp-fixed",
        "2500",
        "trend",
        "sub-fixed",
        json!({ "mode": "fixed_lot", "lots": "0.10" }),
    )
    .await;
    let (_, mult_login) = following(
        &app,
        "cp-mult",
        "2500",
        "trend",
        "sub-mult",
        json!({ "mode": "multiplier", "factor": "0.5" }),
    )
    .await;
    let (_, bal_login) = following(
        &app,
        "cp-bal",
        "2500",
        "trend",
        "sub-bal",
        json!({ "mode": "balance" }),
    )
    .await;
    // 20 USD against the provider's 10 000: 1 lot becomes 0.002, under the minimum of 0.01.
    following(
        &app,
        "cp-small",
        "20",
        "trend",
        "sub-small",
        json!({ "mode": "equity" }),
    )
    .await;
    // Deals before anyone followed are read but copy nothing new after them.
    fan_out(&app).await;
    assert!(drain(&app).await.is_empty());

    let opened = app
        .platform
        .open_position(provider, "EURUSD", DealSide::Buy, d("1.00"), now_msc())
        .await
        .unwrap();
    assert_eq!(fan_out(&app).await, 4, "one message per follower");
    let copies = drain(&app).await;
    assert_eq!(copies.len(), 4);
    app.platform
        .close_position(provider, opened.position_id, d("0.40"), now_msc())
        .await
        .unwrap();
    app.platform
        .close_position(provider, opened.position_id, d("0.60"), now_msc())
        .await
        .unwrap();
    assert_eq!(fan_out(&app).await, 8);
    assert_eq!(drain(&app).await.len(), 8);

    use CopyStatus::*;
    let v = |text: &str| Some(d(text));
    assert_eq!(
        outcomes(&app, "sub-fixed").await,
        [
            (Opened, v("0.1"), None),
            (Closed, v("0.04"), None),
            (Closed, v("0.06"), None)
        ]
    );
    assert_eq!(
        outcomes(&app, "sub-mult").await,
        [
            (Opened, v("0.5"), None),
            (Closed, v("0.2"), None),
            (Closed, v("0.3"), None)
        ]
    );
    // 1 lot × 2 500 / the provider's balance after the open's commission: 0.25.
    assert_eq!(
        outcomes(&app, "sub-bal").await,
        [
            (Opened, v("0.25"), None),
            (Closed, v("0.1"), None),
            (Closed, v("0.15"), None)
        ]
    );
    let small = Some(Skip::Size(SizeNote::BelowMinimumVolume));
    assert_eq!(
        outcomes(&app, "sub-small").await,
        [
            (Skipped, None, small),
            (Skipped, None, Some(Skip::NotHeld)),
            (Skipped, None, Some(Skip::NotHeld))
        ]
    );
    // The platform holds exactly those orders, opened and closed on the follower's position.
    use DealEntry::{In, Out};
    use DealSide::{Buy, Sell};
    assert_eq!(
        platform_trades(&app, fixed_login).await,
        [
            (In, Buy, d("0.1")),
            (Out, Sell, d("0.04")),
            (Out, Sell, d("0.06"))
        ]
    );
    assert_eq!(
        platform_trades(&app, mult_login).await,
        [
            (In, Buy, d("0.5")),
            (Out, Sell, d("0.2")),
            (Out, Sell, d("0.3"))
        ]
    );
    assert_eq!(
        platform_trades(&app, bal_login).await,
        [
            (In, Buy, d("0.25")),
            (Out, Sell, d("0.1")),
            (Out, Sell, d("0.15"))
        ]
    );
    // Each copy says its delay and its fill; the follower reads their own.
    let trades = copied_trades(&app.services.copy, &client(&fixed), "sub-fixed", None, None)
        .await
        .unwrap()
        .items;
    for trade in &trades {
        let fill = trade.fill.as_ref().expect("filled");
        assert!(trade.delay_ms.unwrap() >= 0, "{trade:?}");
        assert_eq!(fill.volume.normalize(), trade.volume.unwrap().normalize());
    }
    assert_eq!(
        app.audit_actions("copy_trade", &trades[0].id).await,
        ["copy.trade_recorded"]
    );
    // The followers' own trades are not a strategy's: the reader fans nothing out for them.
    assert_eq!(fan_out(&app).await, 0);
}

pub async fn every_provider_deal_yields_one_outcome_per_follower_however_often_it_is_delivered(
    app: App,
) {
    let (_, provider) = approved_strategy(&app, "cp-prov", "trend").await;
    let followers = [
        ("sub-a", json!({ "mode": "fixed_lot", "lots": "0.03" })),
        ("sub-b", json!({ "mode": "multiplier", "factor": "0.33" })),
        ("sub-c", json!({ "mode": "equity" })),
    ];
    let mut logins = Vec::new();
    for (n, (id, sizing)) in followers.iter().enumerate() {
        let (_, login) = following(
            &app,
            &format!("cp-f{n}"),
            "3000",
            "trend",
            id,
            sizing.clone(),
        )
        .await;
        logins.push(login);
    }
    fan_out(&app).await;
    drain(&app).await;
    // A run of provider deals: opens, partial closes, closes, across two positions.
    let at = now_msc();
    let first = app
        .platform
        .open_position(provider, "EURUSD", DealSide::Buy, d("1.00"), at)
        .await
        .unwrap();
    let second = app
        .platform
        .open_position(provider, "XAUUSD", DealSide::Sell, d("0.30"), at)
        .await
        .unwrap();
    app.platform
        .close_position(provider, first.position_id, d("0.33"), at)
        .await
        .unwrap();
    app.platform
        .close_position(provider, second.position_id, d("0.30"), at)
        .await
        .unwrap();
    app.platform
        .close_position(provider, first.position_id, d("0.67"), at)
        .await
        .unwrap();
    let deals = 5;

    // Each message handled three times (a message delivered again) records once.
    let sent = fan_out(&app).await;
    assert_eq!(sent, deals * followers.len() as u32);
    let copies = drain_handling_each(&app, 3).await;
    assert_eq!(copies.len(), sent as usize);
    assert!(copies.iter().all(|c| matches!(c, Copy::Recorded(_))));
    for (id, _) in &followers {
        let recorded = outcomes(&app, id).await;
        assert_eq!(recorded.len(), deals as usize, "{id}: one outcome per deal");
    }
    // One order per copy that opened or closed: the platform has no more trades than records.
    for ((id, _), login) in followers.iter().zip(&logins) {
        let placed = outcomes(&app, id)
            .await
            .iter()
            .filter(|(status, _, _)| matches!(status, CopyStatus::Opened | CopyStatus::Closed))
            .count();
        assert_eq!(platform_trades(&app, *login).await.len(), placed, "{id}");
        // Every copied position is closed again.
        let position_volume: Decimal = platform_trades(&app, *login)
            .await
            .iter()
            .map(|(entry, _, volume)| {
                if *entry == DealEntry::In {
                    *volume
                } else {
                    -*volume
                }
            })
            .sum();
        assert_eq!(position_volume, Decimal::ZERO, "{id}");
    }
}

pub async fn a_follower_past_their_maximum_loss_is_detached(app: App) {
    let (_, provider) = approved_strategy(&app, "cp-prov", "trend").await;
    let (follower, login) = funded(&app, "cp-fol", "1000").await;
    wallet_holds(&app, &follower, "100.00").await;
    let mut body = subscription(
        "sub-1",
        "trend",
        login,
        json!({ "mode": "fixed_lot", "lots": "0.10" }),
    );
    body.max_loss = Some(d("300"));
    brokeros_copy::subscriptions::subscribe(
        &app.services.copy,
        &client(&follower),
        body,
        None,
        "c",
    )
    .await
    .unwrap();
    fan_out(&app).await;
    drain(&app).await;
    // The follower's equity falls by 400 (open positions elsewhere): the next open detaches.
    app.platform
        .set_open_positions(login, d("-400"), Decimal::ZERO)
        .await
        .unwrap();
    app.platform
        .open_position(provider, "EURUSD", DealSide::Buy, d("1.00"), now_msc())
        .await
        .unwrap();
    fan_out(&app).await;
    drain(&app).await;
    assert_eq!(
        outcomes(&app, "sub-1").await,
        [(CopyStatus::Skipped, None, Some(Skip::Detached))]
    );
    let stored = app
        .services
        .copy
        .core
        .find::<Subscription>("sub-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.entity.status, SubscriptionStatus::Detached);
    assert_eq!(
        app.audit_actions("copy_subscription", "sub-1").await,
        ["copy.subscribed", "copy.detached"]
    );
    assert!(platform_trades(&app, login).await.is_empty());
}

pub async fn a_suspended_strategy_copies_no_open_but_still_its_closes(app: App) {
    let (_, provider) = approved_strategy(&app, "cp-prov", "trend").await;
    let (_, login) = following(
        &app,
        "cp-fol",
        "2500",
        "trend",
        "sub-1",
        json!({ "mode": "fixed_lot", "lots": "0.10" }),
    )
    .await;
    fan_out(&app).await;
    drain(&app).await;
    let opened = app
        .platform
        .open_position(provider, "EURUSD", DealSide::Buy, d("1.00"), now_msc())
        .await
        .unwrap();
    assert_eq!(fan_out(&app).await, 1);
    drain(&app).await;
    let reason = serde_json::from_value(json!({ "reason": "risk review" })).unwrap();
    brokeros_copy::strategies::suspend(&app.services.copy, &admin(), "trend", reason, None, "c")
        .await
        .unwrap();
    app.platform
        .open_position(provider, "EURUSD", DealSide::Sell, d("1.00"), now_msc())
        .await
        .unwrap();
    app.platform
        .close_position(provider, opened.position_id, d("1.00"), now_msc())
        .await
        .unwrap();
    assert_eq!(fan_out(&app).await, 1, "the close only");
    drain(&app).await;
    assert_eq!(
        outcomes(&app, "sub-1").await,
        [
            (CopyStatus::Opened, Some(d("0.1")), None),
            (CopyStatus::Closed, Some(d("0.1")), None)
        ]
    );
    use DealEntry::{In, Out};
    assert_eq!(
        platform_trades(&app, login).await,
        [
            (In, DealSide::Buy, d("0.1")),
            (Out, DealSide::Sell, d("0.1"))
        ]
    );
}

pub async fn a_reversal_closes_the_followers_copy(app: App) {
    let (_, provider) = approved_strategy(&app, "cp-prov", "trend").await;
    let (_, login) = following(
        &app,
        "cp-fol",
        "2500",
        "trend",
        "sub-1",
        json!({ "mode": "multiplier", "factor": "0.5" }),
    )
    .await;
    fan_out(&app).await;
    drain(&app).await;
    let opened = app
        .platform
        .open_position(provider, "EURUSD", DealSide::Buy, d("1.00"), now_msc())
        .await
        .unwrap();
    // 1.50 against a 1.00 buy: the buy closes, a 0.50 sell opens under the same position.
    app.platform
        .reverse_position(provider, opened.position_id, d("1.50"), now_msc())
        .await
        .unwrap();
    assert_eq!(fan_out(&app).await, 2);
    drain(&app).await;
    assert_eq!(
        outcomes(&app, "sub-1").await,
        [
            (CopyStatus::Opened, Some(d("0.5")), None),
            (CopyStatus::Closed, Some(d("0.5")), None)
        ]
    );
    use DealEntry::{In, Out};
    assert_eq!(
        platform_trades(&app, login).await,
        [
            (In, DealSide::Buy, d("0.5")),
            (Out, DealSide::Sell, d("0.5"))
        ]
    );
}
