//! The demo's clients and their trades: each registered and onboarded to a trading account,
//! then trading on
//! the simulated platform at the demo clock's time, every deal printed as it is made.

use std::collections::HashMap;

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_kernel::{AheadClock, Clock};
use brokeros_trading::{
    BalanceOperation, BalanceOperationKind, DealSide, PlatformDeal, TradingPlatform,
};
use rust_decimal::Decimal;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{Demo, finished, print_outcome, text};
use crate::local::LocalBrokerOs;

/// A client of a chapter: who they are and the two documents their KYC reads.
pub(super) struct Person {
    pub(super) first_name: &'static str,
    pub(super) last_name: &'static str,
    pub(super) country: &'static str,
    pub(super) date_of_birth: &'static str,
    pub(super) documents: [(&'static str, &'static str); 2],
}

/// `person` registers in the portal (as `portal-<first name>`) and is onboarded: their client
/// id, their portal token and their trading account's login.
pub(super) async fn client(
    demo: &Demo,
    local: &LocalBrokerOs,
    person: &Person,
) -> Result<(String, String, u64), String> {
    let Person {
        first_name,
        last_name,
        country,
        date_of_birth,
        documents,
    } = *person;
    let token = demo.token(
        &format!("portal-{}", first_name.to_lowercase()),
        Role::Client,
    );
    let email = format!(
        "{}.{}@example.com",
        first_name.to_lowercase(),
        last_name.to_lowercase()
    );
    let client = demo
        .expect(
            Call::post(
                "/clients",
                &json!({
                    "first_name": first_name, "last_name": last_name, "country": country,
                    "email": email,
                    "profile": {
                        "client_type": "individual", "date_of_birth": date_of_birth,
                        "nationality": country, "residence_country": country,
                        "source_of_funds": "salary", "pep_declared": false
                    }
                }),
            )
            .token(&token),
            201,
        )
        .await?;
    let client_id = text(&client["id"]);
    let login = onboarded(demo, local, &client_id, documents, country, &token).await?;
    Ok((client_id, token, login))
}

/// A deposit of `amount` onto `login`, booked by the simulated platform under `operation_id`.
pub(super) async fn fund(
    local: &LocalBrokerOs,
    login: u64,
    operation_id: &str,
    amount: &str,
) -> Result<(), String> {
    local
        .platform
        .balance_operation(BalanceOperation {
            login,
            operation_id: operation_id.to_string(),
            kind: BalanceOperationKind::Deposit,
            amount: parse(amount)?,
            comment: "deposit".into(),
        })
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A decimal number of the story.
pub(super) fn parse(number: &str) -> Result<Decimal, String> {
    number.parse().map_err(|_| format!("bad number {number}"))
}

/// Onboards `client_id` with `documents` and waits for the workflow: the trading login.
pub(super) async fn onboarded(
    demo: &Demo,
    local: &LocalBrokerOs,
    client_id: &str,
    documents: [(&str, &str); 2],
    country: &str,
    token: &str,
) -> Result<u64, String> {
    let execution = demo
        .onboard(client_id, documents, country, "forex", token)
        .await?;
    let done = finished(local, &execution).await?;
    print_outcome(&done);
    done.output
        .as_ref()
        .and_then(|output| output["account"]["login"].as_u64())
        .ok_or_else(|| format!("onboarding of {client_id} opened no trading account"))
}

/// The trades of the session on the simulated platform, at the demo clock's time, with what
/// each closing deal stands for in the story.
pub(super) struct Trades<'a> {
    local: &'a LocalBrokerOs,
    clock: &'a AheadClock,
    pub(super) labels: HashMap<u64, String>,
}

impl<'a> Trades<'a> {
    pub(super) fn new(local: &'a LocalBrokerOs, clock: &'a AheadClock) -> Trades<'a> {
        Trades {
            local,
            clock,
            labels: HashMap::new(),
        }
    }

    fn now_msc(&self) -> i64 {
        brokeros_ib::millis(self.clock.now())
    }

    pub(super) async fn open(
        &mut self,
        who: &str,
        login: u64,
        symbol: &str,
        side: DealSide,
        lots: &str,
    ) -> Result<PlatformDeal, String> {
        let deal = self
            .local
            .platform
            .open_position(login, symbol, side, lots_of(lots)?, self.now_msc())
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "   {} {who} opens {} {} {symbol} at {}: position {}",
            clock_text(deal.time_msc),
            format!("{:?}", deal.action).to_lowercase(),
            deal.volume,
            deal.price,
            deal.position_id
        );
        Ok(deal)
    }

    pub(super) async fn close(
        &mut self,
        label: &str,
        login: u64,
        opened: &PlatformDeal,
        lots: &str,
    ) -> Result<PlatformDeal, String> {
        let deal = self
            .local
            .platform
            .close_position(login, opened.position_id, lots_of(lots)?, self.now_msc())
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "   {} {label}: position {} closed at {} after {} (deal {}, profit {} {})",
            clock_text(deal.time_msc),
            deal.position_id,
            deal.price,
            held_text(deal.time_msc - opened.time_msc),
            deal.deal,
            deal.profit,
            deal.currency
        );
        self.labels.insert(deal.deal, label.to_string());
        Ok(deal)
    }
}

fn lots_of(lots: &str) -> Result<Decimal, String> {
    lots.parse().map_err(|_| format!("bad lots {lots}"))
}

/// The time `msc` milliseconds after the epoch (deal times, periods).
pub(super) fn at_msc(msc: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(msc)
}

/// `HH:MM:SS` of a deal time, UTC.
fn clock_text(msc: i64) -> String {
    let at = at_msc(msc);
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

pub(super) fn held_text(ms: i64) -> String {
    let seconds = ms / 1000;
    if seconds < 60 {
        format!("{seconds}s")
    } else {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}
