//! The currencies trading accounts may be held in, and the checks every amount passes before
//! it reaches a platform: a platform books money in its currency's minor units, so an amount
//! finer than that (10.001 USD) cannot be booked as asked and is refused rather than rounded.

use rust_decimal::Decimal;

use crate::error::TradingError;

/// A currency a trading account may be held in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrencySpec {
    /// ISO 4217 code (or the market's usual code for crypto, e.g. BTC).
    pub code: &'static str,
    /// Decimal places of the smallest bookable amount.
    pub scale: u32,
}

/// The account currencies Broker OS books. A currency missing here cannot be an account
/// currency, so adding one is a deliberate change (its scale decides what amounts are valid).
pub const ACCOUNT_CURRENCIES: &[CurrencySpec] = &[
    CurrencySpec {
        code: "USD",
        scale: 2,
    },
    CurrencySpec {
        code: "EUR",
        scale: 2,
    },
    CurrencySpec {
        code: "GBP",
        scale: 2,
    },
    CurrencySpec {
        code: "CHF",
        scale: 2,
    },
    CurrencySpec {
        code: "AUD",
        scale: 2,
    },
    CurrencySpec {
        code: "CAD",
        scale: 2,
    },
    CurrencySpec {
        code: "JPY",
        scale: 0,
    },
    CurrencySpec {
        code: "BTC",
        scale: 8,
    },
];

/// The spec of an account currency (codes are upper case, as platforms report them).
pub fn currency_spec(code: &str) -> Option<CurrencySpec> {
    ACCOUNT_CURRENCIES.iter().copied().find(|c| c.code == code)
}

/// Decimal places of the smallest bookable amount of `code`.
pub fn currency_scale(code: &str) -> Option<u32> {
    currency_spec(code).map(|c| c.scale)
}

/// Checks that `amount` is a positive amount of `currency` that needs no rounding, and returns
/// it at exactly the currency's scale (10 USD becomes 10.00), so stored and reported amounts
/// look alike whatever form the caller sent.
pub fn checked_amount(amount: Decimal, currency: &str) -> Result<Decimal, TradingError> {
    let scale = currency_scale(currency).ok_or_else(|| {
        TradingError::InvalidRequest(format!("{currency} is not an account currency"))
    })?;
    if amount <= Decimal::ZERO {
        return Err(TradingError::InvalidAmount(format!(
            "the amount must be positive, not {amount}"
        )));
    }
    at_scale(amount, currency, scale)
}

/// Like [`checked_amount`] but for signed values (floating profit), and zero is allowed.
pub(crate) fn checked_signed_amount(
    amount: Decimal,
    currency: &str,
) -> Result<Decimal, TradingError> {
    let scale = currency_scale(currency).ok_or_else(|| {
        TradingError::InvalidRequest(format!("{currency} is not an account currency"))
    })?;
    at_scale(amount, currency, scale)
}

fn at_scale(amount: Decimal, currency: &str, scale: u32) -> Result<Decimal, TradingError> {
    // Trailing zeros are not precision: 10.000 USD is 10.00 USD.
    if amount.normalize().scale() > scale {
        return Err(TradingError::InvalidAmount(format!(
            "{amount} {currency} has more than {scale} decimal places"
        )));
    }
    let mut exact = amount;
    exact.rescale(scale);
    Ok(exact)
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
}
