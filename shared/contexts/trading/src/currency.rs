//! The currencies trading accounts may be held in, and the checks every amount passes before
//! it reaches a platform: a platform books money in its currency's minor units, so an amount
//! finer than that (10.001 USD) cannot be booked as asked and is refused rather than rounded.

use brokeros_kernel::money::{self, Currency};
use rust_decimal::Decimal;

use crate::error::TradingError;

/// A currency a trading account may be held in: a currency of Broker OS's one currency table
/// ([`brokeros_kernel::money::CURRENCIES`]), with its `code` and `scale`.
pub type CurrencySpec = Currency;

/// The currencies of the table that trading accounts may be held in. A currency missing here
/// cannot be an account currency, so adding one is a deliberate change.
pub const ACCOUNT_CURRENCIES: &[CurrencySpec] = &[
    money::USD,
    money::EUR,
    money::GBP,
    money::CHF,
    money::AUD,
    money::CAD,
    money::JPY,
    money::BTC,
];

/// The spec of an account currency (codes are upper case, as platforms report them).
pub fn currency_spec(code: &str) -> Option<CurrencySpec> {
    ACCOUNT_CURRENCIES.iter().copied().find(|c| c.code == code)
}

/// Decimal places of the smallest bookable amount of `code`.
pub fn currency_scale(code: &str) -> Option<u32> {
    currency_spec(code).map(|c| c.scale)
}

fn account_currency(code: &str) -> Result<CurrencySpec, TradingError> {
    currency_spec(code)
        .ok_or_else(|| TradingError::InvalidRequest(format!("{code} is not an account currency")))
}

/// Checks that `amount` is a positive amount of `currency` that needs no rounding, and returns
/// it at exactly the currency's scale (10 USD becomes 10.00), so stored and reported amounts
/// look alike whatever form the caller sent. The rules are those of
/// [`brokeros_kernel::money::Money`].
pub fn checked_amount(amount: Decimal, currency: &str) -> Result<Decimal, TradingError> {
    let currency = account_currency(currency)?;
    money::Money::positive("amount", amount, currency)
        .map(|m| m.amount())
        .map_err(|e| TradingError::InvalidAmount(e.to_string()))
}

/// Like [`checked_amount`] but for signed values (floating profit), and zero is allowed.
pub fn checked_signed_amount(amount: Decimal, currency: &str) -> Result<Decimal, TradingError> {
    let currency = account_currency(currency)?;
    currency
        .exact("amount", amount)
        .map_err(|e| TradingError::InvalidAmount(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn amounts_finer_than_the_currency_are_refused() {
        assert!(matches!(
            checked_amount(dec("10.001"), "USD"),
            Err(TradingError::InvalidAmount(_))
        ));
        assert!(matches!(
            checked_amount(dec("100.5"), "JPY"),
            Err(TradingError::InvalidAmount(_))
        ));
        assert!(matches!(
            checked_amount(dec("0.000000001"), "BTC"),
            Err(TradingError::InvalidAmount(_))
        ));
    }

    #[test]
    fn valid_amounts_come_back_at_the_currency_scale() {
        assert_eq!(
            checked_amount(dec("10"), "USD").unwrap().to_string(),
            "10.00"
        );
        assert_eq!(
            checked_amount(dec("10.000"), "EUR").unwrap().to_string(),
            "10.00"
        );
        assert_eq!(
            checked_amount(dec("1500"), "JPY").unwrap().to_string(),
            "1500"
        );
        assert_eq!(
            checked_amount(dec("0.00000001"), "BTC")
                .unwrap()
                .to_string(),
            "0.00000001"
        );
    }

    #[test]
    fn zero_and_negative_amounts_are_refused() {
        for amount in ["0", "0.00", "-5"] {
            assert!(matches!(
                checked_amount(dec(amount), "USD"),
                Err(TradingError::InvalidAmount(_))
            ));
        }
        assert_eq!(
            checked_signed_amount(dec("-12.5"), "USD")
                .unwrap()
                .to_string(),
            "-12.50"
        );
    }

    #[test]
    fn unknown_currencies_are_refused() {
        assert!(matches!(
            checked_amount(dec("10"), "XYZ"),
            Err(TradingError::InvalidRequest(_))
        ));
        assert!(currency_scale("usd").is_none(), "codes are upper case");
        assert_eq!(currency_scale("JPY"), Some(0));
    }

    #[test]
    fn account_currencies_come_from_the_one_currency_table() {
        for spec in ACCOUNT_CURRENCIES {
            assert_eq!(money::Currency::from_code(spec.code), Some(*spec));
        }
        // In the table, but not a currency trading accounts are held in.
        assert!(money::Currency::from_code("USDT").is_some());
        assert!(currency_spec("USDT").is_none());
        assert!(matches!(
            checked_amount(dec("10"), "USDT"),
            Err(TradingError::InvalidRequest(_))
        ));
    }
}
