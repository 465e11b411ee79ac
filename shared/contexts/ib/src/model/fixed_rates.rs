//! A table of quotes held in memory: the rate source of tests and of the what-if preview (read
//! from a file), deterministic where a live feed is not.

use std::collections::HashMap;

use super::fx::{FxRate, RateSource};
use super::timeline::Millis;

/// Quotes per currency pair; the rate at a time is the last quote taken at or before it.
#[derive(Debug, Clone, Default)]
pub struct FixedRates {
    quotes: HashMap<(String, String), Vec<FxRate>>,
}

impl FixedRates {
    pub fn new(quotes: impl IntoIterator<Item = FxRate>) -> FixedRates {
        let mut table = FixedRates::default();
        for quote in quotes {
            table.insert(quote);
        }
        table
    }

    pub fn insert(&mut self, quote: FxRate) {
        let list = self
            .quotes
            .entry((quote.from.clone(), quote.to.clone()))
            .or_default();
        let at = list.partition_point(|q| q.as_of_msc <= quote.as_of_msc);
        list.insert(at, quote);
    }
}

impl RateSource for FixedRates {
    fn rate(&self, from: &str, to: &str, at: Millis) -> Option<FxRate> {
        if from == to {
            return Some(FxRate::identity(from, at));
        }
        let list = self.quotes.get(&(from.to_string(), to.to_string()))?;
        let after = list.partition_point(|q| q.as_of_msc <= at);
        after.checked_sub(1).map(|i| list[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn the_rate_at_a_time_is_the_last_quote_before_it() {
        let quote = |rate: i64, at: Millis| FxRate {
            from: "EUR".into(),
            to: "USD".into(),
            rate: Decimal::new(rate, 2),
            source: "test".into(),
            as_of_msc: at,
        };
        let rates = FixedRates::new([quote(110, 200), quote(108, 100)]);
        assert_eq!(rates.rate("EUR", "USD", 99), None);
        assert_eq!(
            rates.rate("EUR", "USD", 150).unwrap().rate,
            Decimal::new(108, 2)
        );
        assert_eq!(
            rates.rate("EUR", "USD", 200).unwrap().rate,
            Decimal::new(110, 2)
        );
        assert_eq!(rates.rate("USD", "EUR", 150), None);
        assert_eq!(rates.rate("JPY", "JPY", 1).unwrap().source, "identity");
    }
}
