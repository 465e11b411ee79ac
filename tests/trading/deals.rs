//! Generated deals and the closed-deal feeds: results applied to the balance, determinism,
//! paging with cursors (every deal once, resuming after new ones), group feeds.

use std::collections::BTreeSet;
use std::sync::Arc;

use brokeros_local::SimulatedPlatform;
use brokeros_store::Store;
use brokeros_trading::BalanceOperationKind::Deposit;
use brokeros_trading::{Deal, DealCursor, DealScope, Decimal, TradingError, TradingPlatform};
use time::macros::datetime;

use crate::common::*;

/// Every deal of `scope` after `since`, page by page, checking the pages on the way. Returns
/// the deals and the cursor to resume from.
async fn read_all(
    platform: &SimulatedPlatform,
    scope: &DealScope,
    since: Option<DealCursor>,
    limit: u32,
) -> (Vec<Deal>, Option<DealCursor>) {
    let mut deals = Vec::new();
    let mut cursor = since;
    for _ in 0..1000 {
        let page = platform
            .closed_deals(scope.clone(), cursor.clone(), limit)
            .await
            .unwrap();
        assert!(page.deals.len() <= limit as usize);
        if page.has_more {
            assert_eq!(
                page.deals.len(),
                limit as usize,
                "only full pages have more"
            );
        }
        deals.extend(page.deals);
        if !deals.is_empty() || cursor.is_some() {
            assert!(page.next_cursor.is_some(), "a cursor to resume from");
        }
        cursor = page.next_cursor;
        if !page.has_more {
            return (deals, cursor);
        }
    }
    panic!("paging does not end");
}

fn net(deals: &[Deal]) -> Decimal {
    deals.iter().map(|d| d.profit + d.commission + d.swap).sum()
}

fn tickets(deals: &[Deal]) -> Vec<u64> {
    deals.iter().map(|d| d.deal_id).collect()
}

pub async fn generated_deals_are_booked_and_deterministic(store: Arc<dyn Store>) {
    let closed_at = datetime!(2026-03-02 14:30:00 UTC);
    let platform = SimulatedPlatform::new(store).with_clock(move || closed_at);
    let first = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    let second = open(&platform, "kyc-c2", GROUP, "USD").await.login;
    for login in [first, second] {
        execute(&platform, login, &format!("pay-{login}"), Deposit, "10000").await;
    }

    // More than one transaction's worth, to cross the simulator's batches.
    let deals = platform.generate_deals(first, 95, 7).await.unwrap();
    assert_eq!(deals.len(), 95);
    let state = platform.account_state(first).await.unwrap();
    assert_eq!(state.balance, dec("10000") + net(&deals), "results applied");
    assert!(state.balance >= Decimal::ZERO);
    assert!(deals.windows(2).all(|w| w[0].deal_id < w[1].deal_id));
    for deal in &deals {
        assert_eq!(deal.login, first);
        assert_eq!(deal.currency, "USD");
        assert_eq!(deal.closed_at, closed_at);
        assert!(deal.opened_at < deal.closed_at);
        assert!(deal.commission < Decimal::ZERO);
        assert!(deal.profit.scale() <= 2 && deal.volume > Decimal::ZERO);
    }
    assert!(deals.iter().any(|d| d.profit > Decimal::ZERO));
    assert!(deals.iter().any(|d| d.profit < Decimal::ZERO));

    // The same seed from the same balance: the same trades, under new tickets.
    let same = platform.generate_deals(second, 95, 7).await.unwrap();
    let trade = |d: &Deal| {
        (
            d.symbol.clone(),
            d.side,
            d.volume,
            d.open_price,
            d.close_price,
            d.profit,
            d.commission,
            d.swap,
            d.opened_at,
        )
    };
    assert_eq!(
        same.iter().map(trade).collect::<Vec<_>>(),
        deals.iter().map(trade).collect::<Vec<_>>()
    );
    assert!(same[0].deal_id > deals[94].deal_id);
    let other_seed = platform.generate_deals(second, 10, 8).await.unwrap();
    assert_ne!(
        other_seed.iter().map(trade).collect::<Vec<_>>(),
        deals[..10].iter().map(trade).collect::<Vec<_>>()
    );
}

pub async fn pages_visit_every_deal_once_and_resume_after_new_ones(store: Arc<dyn Store>) {
    let platform = platform(store);
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    execute(&platform, login, "pay-1", Deposit, "5000").await;
    let scope = DealScope::Login(login);

    let empty = platform
        .closed_deals(scope.clone(), None, 10)
        .await
        .unwrap();
    assert!(empty.deals.is_empty() && !empty.has_more);
    assert_eq!(
        empty.next_cursor, None,
        "nothing read yet: start over next time"
    );

    let generated = platform.generate_deals(login, 47, 1).await.unwrap();
    for limit in [1, 10, 47, 100] {
        let (read, _) = read_all(&platform, &scope, None, limit).await;
        assert_eq!(
            read, generated,
            "limit {limit}: every deal once, in ticket order"
        );
    }
    let (_, cursor) = read_all(&platform, &scope, None, 10).await;
    let cursor = cursor.expect("a cursor after the last deal");

    // Nothing new: an empty page that keeps the cursor.
    let idle = platform
        .closed_deals(scope.clone(), Some(cursor.clone()), 10)
        .await
        .unwrap();
    assert!(idle.deals.is_empty() && !idle.has_more);
    assert_eq!(idle.next_cursor, Some(cursor.clone()));

    // A balance operation between trades is no trade, but it takes a ticket; the feed resumes
    // exactly after the last deal read.
    execute(&platform, login, "pay-2", Deposit, "10").await;
    let newer = platform.generate_deals(login, 12, 2).await.unwrap();
    let (read, resume) = read_all(&platform, &scope, Some(cursor.clone()), 5).await;
    assert_eq!(read, newer, "exactly the new deals");
    assert_ne!(resume, Some(cursor));

    // The cursor survives being stored as text, as a poller keeps it.
    let stored = serde_json::to_string(&resume).unwrap();
    let restored: Option<DealCursor> = serde_json::from_str(&stored).unwrap();
    let after = platform.closed_deals(scope, restored, 10).await.unwrap();
    assert!(after.deals.is_empty());
}

pub async fn group_feeds_hold_the_group_in_ticket_order(store: Arc<dyn Store>) {
    let platform = platform(store);
    let other_group = "real\\retail-eur";
    let a = open(&platform, "kyc-a", GROUP, "USD").await.login;
    let b = open(&platform, "kyc-b", GROUP, "USD").await.login;
    let c = open(&platform, "kyc-c", other_group, "EUR").await.login;
    for login in [a, b, c] {
        execute(&platform, login, &format!("pay-{login}"), Deposit, "5000").await;
    }
    let mut expected = Vec::new();
    for round in 0..3u64 {
        expected.extend(platform.generate_deals(a, 5, round).await.unwrap());
        platform.generate_deals(c, 4, round).await.unwrap();
        expected.extend(platform.generate_deals(b, 3, round).await.unwrap());
    }
    let group = DealScope::Group(GROUP.to_string());
    let (read, cursor) = read_all(&platform, &group, None, 4).await;
    assert_eq!(
        read, expected,
        "both accounts' deals, in the order they closed"
    );
    let logins: BTreeSet<u64> = read.iter().map(|d| d.login).collect();
    assert_eq!(logins, BTreeSet::from([a, b]));

    let (eur, _) = read_all(
        &platform,
        &DealScope::Group(other_group.to_string()),
        None,
        100,
    )
    .await;
    assert_eq!(eur.len(), 12);
    assert!(eur.iter().all(|d| d.login == c && d.currency == "EUR"));

    let later = platform.generate_deals(b, 2, 9).await.unwrap();
    let (read, _) = read_all(&platform, &group, cursor, 4).await;
    assert_eq!(tickets(&read), tickets(&later));
}

pub async fn cursors_and_limits_are_checked(store: Arc<dyn Store>) {
    let platform = platform(store);
    let a = open(&platform, "kyc-a", GROUP, "USD").await.login;
    let b = open(&platform, "kyc-b", GROUP, "USD").await.login;
    execute(&platform, a, "pay-1", Deposit, "1000").await;
    platform.generate_deals(a, 3, 1).await.unwrap();
    let page = platform
        .closed_deals(DealScope::Login(a), None, 2)
        .await
        .unwrap();
    assert!(page.has_more);
    let cursor = page.next_cursor.unwrap();

    let foreign = [
        (DealScope::Login(b), Some(cursor.clone())),
        (DealScope::Group(GROUP.to_string()), Some(cursor)),
        (
            DealScope::Login(a),
            Some(DealCursor::from_token("not a cursor")),
        ),
    ];
    for (scope, since) in foreign {
        assert_eq!(
            platform.closed_deals(scope, since, 10).await,
            Err(TradingError::InvalidCursor)
        );
    }
    for limit in [0, 1001] {
        assert!(matches!(
            platform
                .closed_deals(DealScope::Login(a), None, limit)
                .await,
            Err(TradingError::InvalidRequest(_))
        ));
    }
    assert!(matches!(
        platform.generate_deals(a, 0, 1).await,
        Err(TradingError::InvalidRequest(_))
    ));
}
