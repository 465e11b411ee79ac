//! A simulated FX feed for `brokeros serve`, demos and tests: a quote for every pair of account
//! currencies and every minute, deterministic (the same pair and minute always give the same
//! rate, on every machine). Each currency's USD rate is the trading simulator's
//! (`simulated_usd_rate`) moved by up to ±0.20 % by the minute; crosses go through USD, so
//! `EUR→GBP` equals `EUR→USD` times `USD→GBP` at the same minute.

use async_trait::async_trait;
use brokeros_ib::fx::FxRates;
use brokeros_ib::model::{FxRate, Millis};
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;

use crate::trading::{simulated_usd_rate, simulated_variation};

/// The source every simulated quote names.
pub const SIMULATED_FX_SOURCE: &str = "simulated";

const MINUTE_MSC: Millis = 60_000;
/// Decimal places of a quoted rate: enough for BTC against the others.
const RATE_DECIMALS: u32 = 12;
/// The most a currency's USD rate moves off its level, in ten-thousandths.
const MAX_VARIATION_BP: u64 = 20;

#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatedFxRates;

impl SimulatedFxRates {
    pub fn new() -> SimulatedFxRates {
        SimulatedFxRates
    }

    /// How many units of `currency` one USD buys in minute `minute`.
    fn usd_rate(currency: &str, field: &str, minute: i64) -> Result<Decimal> {
        let level = simulated_usd_rate(currency).ok_or_else(|| {
            Error::invalid(
                "unknown_currency",
                field,
                format!("the simulated feed does not quote {currency}"),
            )
        })?;
        if currency == "USD" {
            return Ok(level);
        }
        let basis_points = simulated_variation(currency, minute, MAX_VARIATION_BP);
        Ok(level * (Decimal::ONE + Decimal::new(basis_points, 4)))
    }
}

#[async_trait]
impl FxRates for SimulatedFxRates {
    async fn rate(&self, from: &str, to: &str, at_msc: Millis) -> Result<FxRate> {
        let minute = at_msc.div_euclid(MINUTE_MSC);
        let from_per_usd = Self::usd_rate(from, "from", minute)?;
        let to_per_usd = Self::usd_rate(to, "to", minute)?;
        Ok(FxRate {
            from: from.to_string(),
            to: to.to_string(),
            rate: (to_per_usd / from_per_usd).round_dp(RATE_DECIMALS),
            source: SIMULATED_FX_SOURCE.to_string(),
            as_of_msc: minute * MINUTE_MSC,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: Millis = 1_772_452_800_000;

    #[tokio::test]
    async fn quotes_are_deterministic_per_minute_and_name_their_source() {
        let feed = SimulatedFxRates::new();
        let a = feed.rate("EUR", "USD", NOON + 5_000).await.unwrap();
        let b = feed.rate("EUR", "USD", NOON + 59_999).await.unwrap();
        assert_eq!(a, b, "one quote per minute");
        assert_eq!(
            (a.source.as_str(), a.as_of_msc),
            (SIMULATED_FX_SOURCE, NOON)
        );
        // Near the simulator's level (1 EUR = 1 / 0.92 USD), within the variation.
        let level = Decimal::ONE / Decimal::new(92, 2);
        assert!(
            (a.rate - level).abs() < level * Decimal::new(3, 3),
            "{}",
            a.rate
        );
        let mut rates = std::collections::BTreeSet::new();
        for minute in 0..60 {
            let quote = feed
                .rate("EUR", "USD", NOON + minute * MINUTE_MSC)
                .await
                .unwrap();
            rates.insert(quote.rate);
        }
        assert!(rates.len() > 10, "rates move from minute to minute");
    }

    #[tokio::test]
    async fn crosses_go_through_usd_and_identity_is_one() {
        let feed = SimulatedFxRates::new();
        let eur_usd = feed.rate("EUR", "USD", NOON).await.unwrap().rate;
        let usd_gbp = feed.rate("USD", "GBP", NOON).await.unwrap().rate;
        let eur_gbp = feed.rate("EUR", "GBP", NOON).await.unwrap().rate;
        assert!((eur_usd * usd_gbp - eur_gbp).abs() < Decimal::new(1, 10));
        assert_eq!(
            feed.rate("JPY", "JPY", NOON).await.unwrap().rate,
            Decimal::ONE
        );
        let error = feed.rate("EUR", "XYZ", NOON).await.unwrap_err();
        assert!(error.to_string().contains("XYZ"), "{error}");
    }
}
