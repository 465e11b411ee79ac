//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): strategies (found by status and by provider), the copied login's
//! marker, subscriptions (found by strategy and by follower) with their copying state and the
//! strategy's roster of followers, each subscription's copied trades, and the reader's feed.

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

/// A strategy's audited record.
pub fn strategy(id: &str) -> Key {
    Key::new(format!("COPYSTRAT#{id}"), "STRATEGY")
}

/// The index partition (gsi1) of the strategies in `status`, by creation time.
pub fn strategies_in_status(status: &str) -> String {
    format!("COPYSTRATS#{status}")
}

/// The index partition (gsi2) of a provider's strategies, by creation time.
pub fn strategies_of_provider(client_id: &str) -> String {
    format!("COPYSTRATS#PROVIDER#{client_id}")
}

/// The marker of a trading account offered as a strategy: its strategy's id, read by key when
/// a deal of that account is copied (one strategy per account).
pub fn copied_login(login: u64) -> Key {
    Key::new(format!("COPYLOGIN#{login}"), "STRATEGY")
}

/// A subscription's audited record.
pub fn subscription(id: &str) -> Key {
    Key::new(format!("COPYSUB#{id}"), "SUBSCRIPTION")
}

/// A subscription's copying state (unaudited: its copied trades tell what moved it).
pub fn copy_state(subscription_id: &str) -> Key {
    Key::new(format!("COPYSUB#{subscription_id}"), "STATE")
}

/// The index partition (gsi1) of a strategy's subscriptions, by creation time.
pub fn subscriptions_of_strategy(strategy_id: &str) -> String {
    format!("COPYSUBS#STRATEGY#{strategy_id}")
}

/// The index partition (gsi2) of a follower's subscriptions, by creation time.
pub fn subscriptions_of_follower(client_id: &str) -> String {
    format!("COPYSUBS#CLIENT#{client_id}")
}

/// The partition of a strategy's roster: one item per following account (its subscription),
/// read by the fan-out from the table, not an index, so no new follower is missed.
pub fn roster(strategy_id: &str) -> String {
    format!("COPYROSTER#{strategy_id}")
}

pub fn roster_entry(strategy_id: &str, login: u64) -> Key {
    Key::new(roster(strategy_id), format!("{login:020}"))
}

/// The partition of a subscription's copied trades, by provider deal.
pub fn copied_trades(subscription_id: &str) -> String {
    format!("COPYTRADES#{subscription_id}")
}

pub fn copied_trade(subscription_id: &str, provider_deal: u64) -> Key {
    Key::new(
        copied_trades(subscription_id),
        format!("{provider_deal:020}"),
    )
}

/// A platform server's copy reader (cursor, counts; audited).
pub fn copy_feed(server: &str) -> Key {
    Key::new(format!("COPYFEED#{server}"), "FEED")
}
