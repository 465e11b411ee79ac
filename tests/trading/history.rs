//! A server's deal history (`deal_changes`): every deal the simulated platform books — balance
//! operations, trades with their entries — and every correction or cancellation, read by
//! cursor: pages resume where they stopped, nothing twice, nothing skipped, revisions in order,
//! cursors of another feed refused.

use std::collections::BTreeMap;
use std::sync::Arc;

use brokeros_local::{DealCorrection, SIMULATED_SERVER, SimulatedPlatform};
use brokeros_store::Store;
use brokeros_trading::BalanceOperationKind::{CreditIn, Deposit, Withdrawal};
use brokeros_trading::{
    DealAction, DealChange, DealChangeKind, DealCursor, DealEntry, DealScope, DealSide, Decimal,
    PlatformDeal, TradingError, TradingPlatform,
};

use crate::common::*;

/// 2026-03-02 12:00:00 UTC.
const NOON: i64 = 1_772_452_800_000;
const MINUTE: i64 = 60_000;

/// Every change after `since`, page by page, checking the pages on the way. Returns the
/// changes and the cursor to resume from.
pub async fn read_history(
    platform: &SimulatedPlatform,
    since: Option<DealCursor>,
    limit: u32,
) -> (Vec<DealChange>, Option<DealCursor>) {
    let mut changes = Vec::new();
    let mut cursor = since;
    for _ in 0..10_000 {
        let page = platform
            .deal_changes(SIMULATED_SERVER, cursor.clone(), limit)
            .await
            .unwrap();
        assert!(page.changes.len() <= limit as usize);
        if page.has_more {
            assert_eq!(
                page.changes.len(),
                limit as usize,
                "only full pages have more"
            );
        }
        changes.extend(page.changes);
        if !changes.is_empty() || cursor.is_some() {
            assert!(page.next_cursor.is_some(), "a cursor to resume from");
        }
        cursor = page.next_cursor;
        if !page.has_more {
            return (changes, cursor);
        }
    }
    panic!("paging does not end");
}

fn net(deal: &PlatformDeal) -> Decimal {
    deal.profit + deal.commission + deal.swap
}

/// What the live deals of `changes` booked on `login`: each deal's latest revision, unless
/// it was cancelled.
fn booked(changes: &[DealChange], login: u64) -> Decimal {
    let mut latest: BTreeMap<u64, &DealChange> = BTreeMap::new();
    for change in changes.iter().filter(|c| c.deal.login == login) {
        let previous = latest.insert(change.deal.deal, change);
        if let Some(previous) = previous {
            assert_eq!(change.revision, previous.revision + 1, "revisions in order");
        }
    }
    latest
        .values()
        .filter(|c| c.kind != DealChangeKind::Cancelled)
        .map(|c| net(&c.deal))
        .sum()
}

pub async fn pages_visit_every_change_once_and_resume_after_new_ones(store: Arc<dyn Store>) {
    let platform = platform(store);
    let empty = platform
        .deal_changes(SIMULATED_SERVER, None, 10)
        .await
        .unwrap();
    assert!(empty.changes.is_empty() && !empty.has_more);
    assert_eq!(
        empty.next_cursor, None,
        "nothing read yet: start over next time"
    );

    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    let deposit = execute(&platform, login, "pay-1", Deposit, "50000").await;
    let generated = platform
        .generate_trading(login, 150, 21, NOON)
        .await
        .unwrap();
    assert!(
        generated.len() >= 150,
        "every step books at least one change"
    );
    for limit in [1, 7, 100, 1000] {
        let (read, _) = read_history(&platform, None, limit).await;
        assert_eq!(read.len(), generated.len() + 1, "limit {limit}");
        assert_eq!(read[0].deal.deal, deposit.deal_id);
        assert_eq!(
            read[1..],
            generated[..],
            "limit {limit}: every change once, in order"
        );
    }

    // A reader that kept its cursor sees only what came after, across new deals.
    let (_, cursor) = read_history(&platform, None, 50).await;
    let (nothing_new, same_cursor) = read_history(&platform, cursor.clone(), 50).await;
    assert!(nothing_new.is_empty());
    assert_eq!(same_cursor, cursor, "an empty page keeps the cursor");
    let later = platform
        .generate_trading(login, 30, 22, NOON + 400 * 24 * 60 * MINUTE)
        .await
        .unwrap();
    let (read, _) = read_history(&platform, cursor, 8).await;
    assert_eq!(read, later);

    let (all, _) = read_history(&platform, None, 1000).await;
    let state = platform.account_state(login).await.unwrap();
    assert_eq!(
        state.balance,
        booked(&all, login),
        "the balance is what the history booked"
    );
}

pub async fn trades_book_their_entries_and_positions(store: Arc<dyn Store>) {
    let platform = platform(store);
    let login = open(&platform, "kyc-c1", GROUP, "EUR").await.login;
    execute(&platform, login, "pay-1", Deposit, "10000").await;
    execute(&platform, login, "bonus-1", CreditIn, "500").await;
    let lots = |text: &str| dec(text);

    let buy = platform
        .open_position(login, "EURUSD", DealSide::Buy, lots("1.00"), NOON)
        .await
        .unwrap();
    assert_eq!((buy.action, buy.entry), (DealAction::Buy, DealEntry::In));
    assert_eq!(buy.position_id, buy.deal);
    assert_eq!(buy.price, buy.market_ask, "buyers pay the ask");
    assert_eq!(buy.rate_profit, dec("0.92"), "USD profit into EUR");
    // A hedge: the opposite position on the same account at the same time.
    let sell = platform
        .open_position(login, "EURUSD", DealSide::Sell, lots("0.40"), NOON + 20_000)
        .await
        .unwrap();
    assert_ne!(sell.position_id, buy.position_id);
    assert_eq!(sell.price, sell.market_bid, "sellers get the bid");

    // A partial close, then the rest closed by the hedge.
    let partial = platform
        .close_position(login, buy.position_id, lots("0.25"), NOON + 45_000)
        .await
        .unwrap();
    assert_eq!(
        (partial.action, partial.entry),
        (DealAction::Sell, DealEntry::Out)
    );
    let moved = partial.price - buy.price;
    assert_eq!(
        partial.profit,
        (moved * dec("100000") * lots("0.25") * dec("0.92")).round_dp(2),
        "the price move times contract, lots and rate"
    );
    let [by_a, by_b] = platform
        .close_by(login, buy.position_id, sell.position_id, NOON + 2 * MINUTE)
        .await
        .unwrap();
    assert_eq!(
        (by_a.entry, by_b.entry),
        (DealEntry::OutBy, DealEntry::OutBy)
    );
    assert_eq!((by_a.volume, by_b.volume), (lots("0.40"), lots("0.40")));
    assert_eq!((by_a.price, by_b.price), (sell.price, buy.price));
    assert_eq!(by_a.order, by_b.order, "one close-by order");
    assert_eq!(
        platform
            .close_position(login, sell.position_id, lots("0.01"), NOON + 3 * MINUTE)
            .await,
        Err(TradingError::InvalidRequest(format!(
            "position {} of login {login} is not open",
            sell.position_id
        ))),
        "the smaller position closed entirely"
    );
    // 0.35 lot of the buy is left: a reversal sells 1.00, leaving 0.65 short.
    let reversal = platform
        .reverse_position(
            login,
            buy.position_id,
            lots("1.00"),
            NOON + 3 * 24 * 60 * MINUTE,
        )
        .await
        .unwrap();
    assert_eq!(
        (reversal.action, reversal.entry),
        (DealAction::Sell, DealEntry::InOut)
    );
    assert!(reversal.swap < Decimal::ZERO, "three nights held");
    let closed = platform
        .close_position(
            login,
            buy.position_id,
            lots("0.65"),
            NOON + 3 * 24 * 60 * MINUTE + 30_000,
        )
        .await
        .unwrap();
    assert_eq!(closed.action, DealAction::Buy, "the short is bought back");

    let (history, _) = read_history(&platform, None, 100).await;
    let entries: Vec<(DealAction, DealEntry)> = history
        .iter()
        .map(|c| (c.deal.action, c.deal.entry))
        .collect();
    use DealAction::*;
    use DealEntry::*;
    assert_eq!(
        entries,
        [
            (Balance, In),
            (Credit, In),
            (Buy, In),
            (Sell, In),
            (Sell, Out),
            (Sell, OutBy),
            (Buy, OutBy),
            (Sell, InOut),
            (Buy, Out),
        ]
    );
    assert!(
        history
            .iter()
            .all(|c| c.kind == DealChangeKind::Added && c.revision == 0)
    );
    let state = platform.account_state(login).await.unwrap();
    assert_eq!(state.credit, dec("500"));
    assert_eq!(
        state.balance,
        booked(&history, login) - dec("500"),
        "credit is not balance"
    );
}

pub async fn corrections_and_cancellations_follow_their_deal(store: Arc<dyn Store>) {
    let platform = platform(store);
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    execute(&platform, login, "pay-1", Deposit, "10000").await;
    let opened = platform
        .open_position(login, "XAUUSD", DealSide::Buy, dec("0.10"), NOON)
        .await
        .unwrap();
    let closed = platform
        .close_position(login, opened.position_id, dec("0.10"), NOON + 40 * MINUTE)
        .await
        .unwrap();
    let before = platform.account_state(login).await.unwrap().balance;

    let corrected = platform
        .correct_deal(
            closed.deal,
            DealCorrection {
                volume: None,
                price: Some(closed.price + dec("1.00")),
            },
            NOON + 50 * MINUTE,
        )
        .await
        .unwrap();
    assert_eq!(
        (corrected.kind, corrected.revision),
        (DealChangeKind::Corrected, 1)
    );
    assert_eq!(
        corrected.deal.profit - closed.profit,
        dec("10.00"),
        "1.00 USD on 0.10 lot of 100 ounces"
    );
    let after_correction = platform.account_state(login).await.unwrap().balance;
    assert_eq!(after_correction - before, dec("10.00"));

    let cancelled = platform
        .cancel_deal(closed.deal, NOON + 60 * MINUTE)
        .await
        .unwrap();
    assert_eq!(
        (cancelled.kind, cancelled.revision),
        (DealChangeKind::Cancelled, 2)
    );
    assert_eq!(
        cancelled.deal, corrected.deal,
        "a cancellation shows the deal as it stood"
    );
    let after_cancel = platform.account_state(login).await.unwrap().balance;
    assert_eq!(
        after_cancel,
        before - net(&closed),
        "what it booked is taken back"
    );

    // A cancelled deal is not changed again, and only trades are corrected.
    let refused = [
        platform.cancel_deal(closed.deal, NOON + 61 * MINUTE).await,
        platform
            .correct_deal(closed.deal, DealCorrection::default(), NOON + 61 * MINUTE)
            .await,
        platform.cancel_deal(1, NOON).await,
    ];
    assert!(
        refused
            .iter()
            .all(|r| matches!(r, Err(TradingError::InvalidRequest(_))))
    );

    let (history, _) = read_history(&platform, None, 100).await;
    let of_deal: Vec<(DealChangeKind, u32, i64)> = history
        .iter()
        .filter(|c| c.deal.deal == closed.deal)
        .map(|c| (c.kind, c.revision, c.changed_at_msc))
        .collect();
    assert_eq!(
        of_deal,
        [
            (DealChangeKind::Added, 0, NOON + 40 * MINUTE),
            (DealChangeKind::Corrected, 1, NOON + 50 * MINUTE),
            (DealChangeKind::Cancelled, 2, NOON + 60 * MINUTE),
        ]
    );
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        booked(&history, login)
    );
}

pub async fn malformed_deals_are_in_the_history_and_fail_validation(store: Arc<dyn Store>) {
    let platform = platform(store);
    let login = open(&platform, "kyc-c1", GROUP, "USD").await.login;
    for lots in ["0", "-0.10"] {
        let deal = platform
            .book_malformed_deal(login, "EURUSD", dec(lots), NOON)
            .await
            .unwrap();
        assert!(matches!(
            deal.validate(),
            Err(TradingError::InvalidRequest(_))
        ));
    }
    let (history, _) = read_history(&platform, None, 10).await;
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|c| c.deal.validate().is_err()));
    assert_eq!(
        platform.account_state(login).await.unwrap().balance,
        dec("0")
    );
}

pub async fn history_cursors_limits_and_servers_are_checked(store: Arc<dyn Store>) {
    let platform = platform(store);
    let login = open(&platform, "kyc-a", GROUP, "USD").await.login;
    execute(&platform, login, "pay-1", Deposit, "1000").await;
    execute(&platform, login, "out-1", Withdrawal, "10").await;
    let generated = platform.generate_deals(login, 2, 1).await.unwrap();
    let history = platform
        .deal_changes(SIMULATED_SERVER, None, 1)
        .await
        .unwrap();
    assert!(history.has_more);
    let closed = platform
        .closed_deals(DealScope::Login(login), None, 1)
        .await
        .unwrap();

    // A closed-deals cursor is not a history cursor, nor the other way round.
    assert_eq!(
        platform
            .deal_changes(SIMULATED_SERVER, closed.next_cursor.clone(), 10)
            .await,
        Err(TradingError::InvalidCursor)
    );
    assert_eq!(
        platform
            .closed_deals(DealScope::Login(login), history.next_cursor.clone(), 10)
            .await,
        Err(TradingError::InvalidCursor)
    );
    assert_eq!(
        platform
            .deal_changes(
                SIMULATED_SERVER,
                Some(DealCursor::from_token("sim1|history:sim-1|x")),
                10
            )
            .await,
        Err(TradingError::InvalidCursor)
    );
    for limit in [0, 1001] {
        assert!(matches!(
            platform.deal_changes(SIMULATED_SERVER, None, limit).await,
            Err(TradingError::InvalidRequest(_))
        ));
    }
    assert!(matches!(
        platform.deal_changes("mt5-live-1", None, 10).await,
        Err(TradingError::InvalidRequest(_))
    ));
    // Outages apply to the feed like to every port call.
    platform.fail_next_calls(1);
    assert!(matches!(
        platform.deal_changes(SIMULATED_SERVER, None, 10).await,
        Err(TradingError::PlatformUnavailable(_))
    ));
    let (all, _) = read_history(&platform, None, 10).await;
    assert_eq!(
        all[1].deal.profit,
        dec("-10"),
        "a withdrawal is a negative balance deal"
    );
    // Each generated closed deal is a trade of the history: opened, then closed under its ticket.
    assert_eq!(all.len(), 2 + 2 * generated.len());
    for (trade, pair) in generated.iter().zip(all[2..].chunks(2)) {
        let (opening, closing) = (&pair[0].deal, &pair[1].deal);
        assert_eq!(
            (opening.entry, closing.entry),
            (DealEntry::In, DealEntry::Out)
        );
        assert_eq!(closing.deal, trade.deal_id);
        assert_eq!(opening.position_id, closing.position_id);
        assert_eq!(
            (opening.price, closing.price),
            (trade.open_price, trade.close_price)
        );
        assert_eq!(closing.profit, trade.profit);
        assert_eq!(opening.commission + closing.commission, trade.commission);
        assert_eq!(
            net(opening) + net(closing),
            trade.profit + trade.commission + trade.swap
        );
        assert!(closing.validate().is_ok() && opening.validate().is_ok());
    }
    let state = platform.account_state(login).await.unwrap();
    assert_eq!(
        state.balance,
        booked(&all, login),
        "the balance is what the history booked"
    );
}
