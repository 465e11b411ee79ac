//! The FX rate port: where the quotes the commission engine converts with come from. The
//! engine itself stays pure and reads a [`RateSource`]; before a batch, the caller asks the
//! port for the pairs and times the batch needs and holds the answers in [`PreloadedRates`].
//!
//! Adapters: a simulated feed locally (`brokeros_local::fx::SimulatedFxRates`); in AWS the
//! setting `BROKEROS_FX_RATES` names one (`none` until a real feed exists, failing every call).

use std::collections::BTreeMap;

use async_trait::async_trait;
use brokeros_kernel::Result;

use crate::model::{FxRate, Millis, RateSource};

/// How long a quote stays in force after it was taken, when no newer one is known: a rate
/// older than this is not used to pay anyone.
pub const MAX_QUOTE_AGE_MSC: Millis = 24 * 60 * 60 * 1000;

#[async_trait]
pub trait FxRates: Send + Sync {
    /// The quote in force at `at_msc` for converting `from` into `to` (`1 from = rate to`),
    /// taken at or before `at_msc`.
    ///
    /// Errors: `Validation` (a currency the feed does not quote), `ProviderUnavailable` /
    /// `Unavailable` (the feed did not answer; retry later).
    async fn rate(&self, from: &str, to: &str, at_msc: Millis) -> Result<FxRate>;
}

/// Quotes fetched ahead of a computation, answering [`RateSource`] without I/O.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreloadedRates {
    /// Per pair, by the time each quote was taken.
    quotes: BTreeMap<(String, String), BTreeMap<Millis, FxRate>>,
}

impl PreloadedRates {
    pub fn new() -> PreloadedRates {
        PreloadedRates::default()
    }

    pub fn insert(&mut self, rate: FxRate) {
        self.quotes
            .entry((rate.from.clone(), rate.to.clone()))
            .or_default()
            .insert(rate.as_of_msc, rate);
    }

    /// The quotes `rates` gives for every `(from, to, at)` needed (same-currency pairs need
    /// none), each pair and time asked once.
    ///
    /// Errors: the port's.
    pub async fn load(
        rates: &dyn FxRates,
        needed: impl IntoIterator<Item = (String, String, Millis)>,
    ) -> Result<PreloadedRates> {
        let needed: std::collections::BTreeSet<_> = needed
            .into_iter()
            .filter(|(from, to, _)| from != to)
            .collect();
        let mut preloaded = PreloadedRates::new();
        // A quote already held may be in force at a later time too, but the feed may have a
        // newer one: each time is asked.
        for (from, to, at) in needed {
            preloaded.insert(rates.rate(&from, &to, at).await?);
        }
        Ok(preloaded)
    }
}

impl RateSource for PreloadedRates {
    /// The latest quote taken at or before `at` and at most [`MAX_QUOTE_AGE_MSC`] earlier; the
    /// identity for one currency.
    fn rate(&self, from: &str, to: &str, at: Millis) -> Option<FxRate> {
        if from == to {
            return Some(FxRate::identity(from, at));
        }
        let (taken_at, quote) = self
            .quotes
            .get(&(from.to_string(), to.to_string()))?
            .range(..=at)
            .next_back()?;
        (at - taken_at <= MAX_QUOTE_AGE_MSC).then(|| quote.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use rust_decimal::Decimal;

    use super::*;

    const MINUTE: Millis = 60_000;

    /// A feed quoting EUR→USD by the minute at 1.08 + minute / 10 000, recording the calls.
    #[derive(Default)]
    struct MinuteFeed {
        asked: Mutex<Vec<(String, String, Millis)>>,
    }

    #[async_trait]
    impl FxRates for MinuteFeed {
        async fn rate(&self, from: &str, to: &str, at_msc: Millis) -> Result<FxRate> {
            self.asked
                .lock()
                .unwrap()
                .push((from.into(), to.into(), at_msc));
            let minute = at_msc / MINUTE;
            Ok(FxRate {
                from: from.into(),
                to: to.into(),
                rate: Decimal::new(10_800 + minute, 4),
                source: "test".into(),
                as_of_msc: minute * MINUTE,
            })
        }
    }

    fn pair(at: Millis) -> (String, String, Millis) {
        ("EUR".into(), "USD".into(), at)
    }

    #[tokio::test]
    async fn preloading_asks_each_needed_quote_once_and_answers_from_memory() {
        let feed = MinuteFeed::default();
        let needed = [
            pair(5 * MINUTE + 10),
            pair(5 * MINUTE + 10),
            pair(7 * MINUTE),
            ("USD".into(), "USD".into(), 0),
        ];
        let rates = PreloadedRates::load(&feed, needed).await.unwrap();
        assert_eq!(
            feed.asked.lock().unwrap().len(),
            2,
            "once per pair and time"
        );
        let quote = rates.rate("EUR", "USD", 5 * MINUTE + 30_000).unwrap();
        assert_eq!(
            (quote.rate, quote.as_of_msc),
            (Decimal::new(10_805, 4), 5 * MINUTE)
        );
        assert_eq!(
            rates.rate("EUR", "USD", 7 * MINUTE + 1).unwrap().as_of_msc,
            7 * MINUTE
        );
        assert_eq!(rates.rate("USD", "USD", 9).unwrap().source, "identity");
        assert_eq!(
            rates.rate("EUR", "USD", 4 * MINUTE),
            None,
            "no quote taken yet"
        );
        assert_eq!(
            rates.rate("USD", "EUR", 5 * MINUTE),
            None,
            "pairs are directed"
        );
        assert_eq!(
            rates.rate("EUR", "USD", 7 * MINUTE + MAX_QUOTE_AGE_MSC + 1),
            None,
            "too old to pay with"
        );
    }
}
