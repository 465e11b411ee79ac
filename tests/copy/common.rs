//! What the copy scenarios share: people with funded accounts, an approved strategy, and the
//! copy loop (the reader's fan-out, then the queue drained through the consumer).

use brokeros_copy::copying::{Copy, FanOut, copy_one, fan_out_next_batch};
use brokeros_copy::strategies::{Governance, NewStrategy, govern, propose};
use brokeros_copy::subscriptions::{NewSubscription, subscribe};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_local::trading::SIMULATED_SERVER;
use brokeros_payments::psp::queue::consume_once;
use brokeros_tests::people::{Identity, Person, onboarded};
use brokeros_trading::{BalanceOperation, BalanceOperationKind, Decimal, TradingPlatform};
use serde_json::{Value, json};

use crate::harness::App;

pub fn principal(sub: &str, role: Role) -> Principal {
    Principal {
        sub: sub.to_string(),
        roles: [role].into(),
    }
}

pub fn admin() -> Principal {
    principal("admin-1", Role::Admin)
}

pub fn client(person: &Person) -> Principal {
    principal(&person.user, Role::Client)
}

pub fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// An onboarded client whose account holds `funds` (USD).
pub async fn funded(app: &App, user: &str, funds: &str) -> (Person, u64) {
    let email = format!("{user}@example.com");
    let passport: String = format!("C01{user}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    let (person, login) = onboarded(app, &Identity::of(user, "Lee", &email, &passport)).await;
    app.platform
        .balance_operation(BalanceOperation {
            login,
            operation_id: format!("fund-{login}"),
            kind: BalanceOperationKind::Deposit,
            amount: d(funds),
            comment: String::new(),
        })
        .await
        .unwrap();
    (person, login)
}

/// Credits `amount` USD to the client's wallet (what the subscription fee is paid from).
pub async fn wallet_holds(app: &App, person: &Person, amount: &str) {
    let deposit = format!("dep-{}", person.user);
    app.credit_wallet(&person.client_id, &deposit, amount).await;
}

/// The client's USD wallet's available money.
pub async fn wallet(app: &App, person: &Person) -> Decimal {
    let account = brokeros_ledger::model::AccountId::client_wallet(
        &person.client_id,
        brokeros_kernel::money::Currency::parse("currency", "USD").unwrap(),
    )
    .unwrap();
    brokeros_ledger::balance(&app.services.core, &account)
        .await
        .unwrap()
        .available
}

pub fn terms() -> Value {
    json!({ "currency": "USD", "performance_fee": "20", "subscription_fee": "30.00",
            "min_follower_equity": "10" })
}

pub fn proposal(id: &str, login: u64, change: impl FnOnce(&mut Value)) -> NewStrategy {
    let mut body = json!({ "strategy_id": id, "name": "Trend", "login": login, "terms": terms() });
    change(&mut body);
    serde_json::from_value(body).unwrap()
}

/// A provider with 10 000 USD and their strategy `id`, approved.
pub async fn approved_strategy(app: &App, user: &str, id: &str) -> (Person, u64) {
    let (provider, login) = funded(app, user, "10000").await;
    let s = &app.services.copy;
    propose(
        s,
        &client(&provider),
        proposal(id, login, |_| {}),
        None,
        "c-1",
    )
    .await
    .unwrap();
    govern(s, &admin(), id, Governance::Approve, None, None, "c-2")
        .await
        .unwrap();
    (provider, login)
}

pub fn subscription(id: &str, strategy: &str, login: u64, sizing: Value) -> NewSubscription {
    serde_json::from_value(json!({
        "subscription_id": id, "strategy_id": strategy, "login": login, "sizing": sizing
    }))
    .unwrap()
}

/// A follower with `funds` subscribed to `strategy` in `sizing` as `id`.
pub async fn following(
    app: &App,
    user: &str,
    funds: &str,
    strategy: &str,
    id: &str,
    sizing: Value,
) -> (Person, u64) {
    let (follower, login) = funded(app, user, funds).await;
    wallet_holds(app, &follower, "100.00").await;
    subscribe(
        &app.services.copy,
        &client(&follower),
        subscription(id, strategy, login, sizing),
        None,
        "c-3",
    )
    .await
    .unwrap();
    (follower, login)
}

/// The reader fans the deal history out until it is caught up; answers the messages sent.
pub async fn fan_out(app: &App) -> u32 {
    let mut sent = 0;
    loop {
        match fan_out_next_batch(&app.services.copy, SIMULATED_SERVER, 200)
            .await
            .unwrap()
        {
            FanOut::CaughtUp => return sent,
            FanOut::Sent { messages, .. } => sent += messages,
            FanOut::Raced => {}
        }
    }
}

/// Drains the copy queue through the consumer; answers what each message did, in order.
pub async fn drain(app: &App) -> Vec<Copy> {
    drain_handling_each(app, 1).await
}

/// [`drain`], each message's body handled `times` times (a message delivered again): the
/// first handling's answer is kept, and every later one must be `Replayed`.
pub async fn drain_handling_each(app: &App, times: usize) -> Vec<Copy> {
    let queue = app.services.ports.copy_orders.clone();
    let done = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    loop {
        let batch = consume_once(queue.as_ref(), 10, |message| {
            let body = message.body.clone();
            let services = app.services.copy.clone();
            let done = done.clone();
            async move {
                let copy = copy_one(&services, &body).await?;
                for _ in 1..times {
                    let again = copy_one(&services, &body).await?;
                    assert_eq!(again, Copy::Replayed, "{body}");
                }
                done.lock().unwrap().push(copy);
                Ok::<(), brokeros_kernel::Error>(())
            }
        })
        .await
        .unwrap();
        if batch.is_empty() {
            break;
        }
        for (_, outcome) in &batch {
            assert!(outcome.is_done(), "{outcome:?}");
        }
    }
    std::mem::take(&mut *done.lock().unwrap())
}
