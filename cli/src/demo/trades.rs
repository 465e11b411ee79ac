//! The demo's clients and their trades: each onboarded to a trading account, then trading on
//! the simulated platform at the demo clock's time, every deal printed as it is made.

use std::collections::HashMap;

use brokeros_kernel::{AheadClock, Clock};
use brokeros_trading::{DealSide, PlatformDeal};
use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime};

use super::{Demo, finished, print_outcome};
use crate::local::LocalBrokerOs;

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
