//! Money: the one currency table of Broker OS, and amounts checked against it.
//!
//! A currency books amounts in its smallest unit (cents for USD, one yen for JPY, a satoshi for
//! BTC). An amount finer than that cannot be booked as asked, so it is refused, never rounded.
//! Amounts are `rust_decimal::Decimal`, never floating point; a [`Money`] holds its amount at
//! exactly its currency's scale (10 USD is held as 10.00), so equal amounts look alike
//! whatever form the caller sent. Amounts written as text follow one grammar, [`amount`]
//! (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`): [`parse_amount`] and its serde deserializers.

use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

pub mod amount;

pub use amount::{INVALID_AMOUNT, parse_amount};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CurrencyKind {
    Fiat,
    Crypto,
}

/// A currency of the table below: its code and the decimal places of its smallest unit. Only
/// the table makes currencies (other crates cannot: `non_exhaustive`), so a code always has
/// the one scale.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Currency {
    /// ISO 4217 code, or the market's usual code for crypto (BTC, USDT, ETH). Upper case.
    pub code: &'static str,
    /// Decimal places of the smallest bookable amount.
    pub scale: u32,
    pub kind: CurrencyKind,
}

const fn currency(code: &'static str, scale: u32, kind: CurrencyKind) -> Currency {
    Currency { code, scale, kind }
}

pub const USD: Currency = currency("USD", 2, CurrencyKind::Fiat);
pub const EUR: Currency = currency("EUR", 2, CurrencyKind::Fiat);
pub const GBP: Currency = currency("GBP", 2, CurrencyKind::Fiat);
pub const CHF: Currency = currency("CHF", 2, CurrencyKind::Fiat);
pub const AUD: Currency = currency("AUD", 2, CurrencyKind::Fiat);
pub const CAD: Currency = currency("CAD", 2, CurrencyKind::Fiat);
pub const JPY: Currency = currency("JPY", 0, CurrencyKind::Fiat);
pub const BTC: Currency = currency("BTC", 8, CurrencyKind::Crypto);
pub const USDT: Currency = currency("USDT", 6, CurrencyKind::Crypto);
pub const ETH: Currency = currency("ETH", 8, CurrencyKind::Crypto);

/// Every currency Broker OS books. A currency missing here cannot be booked anywhere, so adding
/// one is a deliberate change (its scale decides which amounts are valid).
pub const CURRENCIES: [Currency; 10] = [USD, EUR, GBP, CHF, AUD, CAD, JPY, BTC, USDT, ETH];

/// The largest amount one operation may carry, in units of any currency (10^15). Far above any
/// real payment, and far enough below `Decimal`'s range that sums of amounts cannot overflow.
pub const MAX_AMOUNT_UNITS: i64 = 1_000_000_000_000_000;

impl Currency {
    /// The currency with this code (exactly: codes are upper case).
    pub fn from_code(code: &str) -> Option<Currency> {
        CURRENCIES.iter().copied().find(|c| c.code == code)
    }

    /// Like [`Currency::from_code`], with a validation error naming `field` for unknown codes.
    pub fn parse(field: &str, code: &str) -> Result<Currency> {
        Currency::from_code(code).ok_or_else(|| {
            let shown: String = code.chars().take(16).collect();
            Error::invalid(
                "unknown_currency",
                field,
                format!(
                    "'{shown}' is not a currency Broker OS books (one of {})",
                    CURRENCIES.map(|c| c.code).join(", ")
                ),
            )
        })
    }

    /// The smallest bookable amount (0.01 USD, 1 JPY, 0.00000001 BTC).
    pub fn minor_unit(self) -> Decimal {
        Decimal::new(1, self.scale)
    }

    /// `amount` at exactly this currency's scale, any sign: refused (naming `field`) when it
    /// has more decimals than the currency or exceeds [`MAX_AMOUNT_UNITS`]. Trailing zeros are
    /// not precision: 10.000 USD is 10.00 USD.
    pub fn exact(self, field: &str, amount: Decimal) -> Result<Decimal> {
        if amount.normalize().scale() > self.scale {
            return Err(Error::invalid(
                "amount_too_precise",
                field,
                format!(
                    "{} has {} decimal{}: {amount} cannot be booked without rounding",
                    self.code,
                    self.scale,
                    if self.scale == 1 { "" } else { "s" }
                ),
            ));
        }
        if amount.abs() > Decimal::from(MAX_AMOUNT_UNITS) {
            return Err(Error::invalid(
                "amount_too_large",
                field,
                format!("{field} must not exceed {MAX_AMOUNT_UNITS} {}", self.code),
            ));
        }
        let mut exact = amount;
        exact.rescale(self.scale);
        Ok(exact)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl FromStr for Currency {
    type Err = Error;

    fn from_str(code: &str) -> Result<Currency> {
        Currency::parse("currency", code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown currency '{code}'")))
    }
}

/// An amount of a currency of the table, held at exactly the currency's scale. The only ways
/// to make one check the amount, so a `Money` can always be booked as it is.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// A positive amount (payments, transfers): zero and negative amounts are refused.
    pub fn positive(field: &str, amount: Decimal, currency: Currency) -> Result<Money> {
        if amount <= Decimal::ZERO {
            return Err(Error::invalid(
                "amount_not_positive",
                field,
                format!("{field} must be positive, not {amount}"),
            ));
        }
        Money::signed(field, amount, currency)
    }

    /// Zero or more (a fee that may be waived).
    pub fn non_negative(field: &str, amount: Decimal, currency: Currency) -> Result<Money> {
        if amount < Decimal::ZERO {
            return Err(Error::invalid(
                "amount_negative",
                field,
                format!("{field} must not be negative, not {amount}"),
            ));
        }
        Money::signed(field, amount, currency)
    }

    /// Any sign (a ledger posting, a balance).
    pub fn signed(field: &str, amount: Decimal, currency: Currency) -> Result<Money> {
        Ok(Money {
            amount: currency.exact(field, amount)?,
            currency,
        })
    }

    /// A positive amount of the currency with code `currency_code`, as an API body sends them:
    /// errors name the fields `amount` and `currency`.
    pub fn positive_in(amount: Decimal, currency_code: &str) -> Result<Money> {
        Money::positive(
            "amount",
            amount,
            Currency::parse("currency", currency_code)?,
        )
    }

    pub fn zero(currency: Currency) -> Money {
        let mut amount = Decimal::ZERO;
        amount.rescale(currency.scale);
        Money { amount, currency }
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.amount < Decimal::ZERO
    }

    /// The same amount with the opposite sign.
    pub fn negated(&self) -> Money {
        Money {
            amount: -self.amount,
            currency: self.currency,
        }
    }

    /// The sum of two amounts of one currency; refused across currencies or past the range of
    /// one amount.
    pub fn plus(&self, other: Money) -> Result<Money> {
        if self.currency != other.currency {
            return Err(Error::invalid(
                "currency_mismatch",
                "currency",
                format!(
                    "{} and {} cannot be added",
                    self.currency.code, other.currency.code
                ),
            ));
        }
        let sum = self
            .amount
            .checked_add(other.amount)
            .ok_or_else(|| Error::invalid("amount_too_large", "amount", "amount out of range"))?;
        Money::signed("amount", sum, self.currency)
    }

    pub fn minus(&self, other: Money) -> Result<Money> {
        self.plus(other.negated())
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency.code)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency.code)
    }
}

/// `{"amount": "10.00", "currency": "USD"}`: the amount as text, so no JSON reader turns it into
/// a float.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = Money)]
struct MoneyJson {
    #[serde(deserialize_with = "amount::deserialize")]
    #[schema(value_type = String, pattern = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$", example = "1000.00")]
    amount: Decimal,
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
}

/// A sum of money in the API's contract: [`MoneyJson`]'s schema.
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <MoneyJson as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Money {
    fn name() -> std::borrow::Cow<'static, str> {
        <MoneyJson as utoipa::ToSchema>::name()
    }
}

// A currency in the API's contract: its code (`USD`, `USDT`).
crate::string_schema!(Currency);

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        MoneyJson {
            amount: self.amount,
            currency: self.currency,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let raw = MoneyJson::deserialize(deserializer)?;
        Money::signed("amount", raw.amount, raw.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn field_and_code(e: Error) -> (Option<String>, &'static str) {
        match e {
            Error::Validation { field, code, .. } => (field, code),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn the_table_has_one_scale_per_code() {
        let mut codes: Vec<&str> = CURRENCIES.iter().map(|c| c.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), CURRENCIES.len());
        for (code, scale) in [
            ("USD", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("CHF", 2),
            ("AUD", 2),
            ("CAD", 2),
            ("JPY", 0),
            ("BTC", 8),
            ("USDT", 6),
            ("ETH", 8),
        ] {
            assert_eq!(Currency::from_code(code).map(|c| c.scale), Some(scale));
        }
        assert_eq!(Currency::from_code("usd"), None, "codes are upper case");
        assert_eq!(USD.minor_unit(), dec("0.01"));
        assert_eq!(JPY.minor_unit(), dec("1"));
    }

    #[test]
    fn too_many_decimals_are_refused_naming_the_field() {
        let e = Money::positive("amount", dec("10.001"), USD).unwrap_err();
        assert_eq!(
            e.to_string(),
            "USD has 2 decimals: 10.001 cannot be booked without rounding"
        );
        assert_eq!(
            field_and_code(e),
            (Some("amount".into()), "amount_too_precise")
        );
        assert!(Money::positive("fee", dec("100.5"), JPY).is_err());
        assert!(Money::positive("fee", dec("0.000000001"), BTC).is_err());
        assert!(Money::positive("fee", dec("0.0000001"), USDT).is_err());
        let (field, _) = field_and_code(Money::signed("fee", dec("-0.001"), EUR).unwrap_err());
        assert_eq!(field.as_deref(), Some("fee"));
    }

    #[test]
    fn amounts_come_back_at_the_currency_scale() {
        assert_eq!(
            Money::positive("amount", dec("10"), USD)
                .unwrap()
                .to_string(),
            "10.00 USD"
        );
        assert_eq!(
            Money::positive("amount", dec("10.000"), EUR)
                .unwrap()
                .amount()
                .to_string(),
            "10.00"
        );
        assert_eq!(
            Money::positive("amount", dec("1500"), JPY)
                .unwrap()
                .to_string(),
            "1500 JPY"
        );
        assert_eq!(
            Money::positive("amount", dec("0.000001"), USDT)
                .unwrap()
                .to_string(),
            "0.000001 USDT"
        );
        assert_eq!(Money::zero(BTC).to_string(), "0.00000000 BTC");
    }

    #[test]
    fn zero_negative_unknown_and_huge_amounts_are_refused() {
        for amount in ["0", "0.00", "-5"] {
            let e = Money::positive("amount", dec(amount), USD).unwrap_err();
            assert_eq!(field_and_code(e).1, "amount_not_positive");
        }
        assert!(Money::non_negative("fee", dec("0"), USD).is_ok());
        assert_eq!(
            field_and_code(Money::non_negative("fee", dec("-1"), USD).unwrap_err()),
            (Some("fee".into()), "amount_negative")
        );
        assert_eq!(
            field_and_code(Money::positive_in(dec("10"), "XYZ").unwrap_err()),
            (Some("currency".into()), "unknown_currency")
        );
        assert_eq!(
            field_and_code(Money::positive_in(dec("10"), "usd").unwrap_err()).1,
            "unknown_currency"
        );
        let huge = Decimal::from(MAX_AMOUNT_UNITS) + Decimal::ONE;
        assert_eq!(
            field_and_code(Money::positive("amount", huge, JPY).unwrap_err()).1,
            "amount_too_large"
        );
        assert!(Money::positive("amount", Decimal::from(MAX_AMOUNT_UNITS), JPY).is_ok());
    }

    #[test]
    fn money_serializes_as_text_and_is_checked_when_read() {
        let m = Money::positive("amount", dec("12.5"), USD).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"12.50","currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1.001","currency":"USD"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"XXX"}"#).is_err());
    }

    #[test]
    fn arithmetic_stays_in_one_currency() {
        let a = Money::positive("a", dec("1.10"), USD).unwrap();
        let b = Money::positive("b", dec("2.25"), USD).unwrap();
        assert_eq!(a.plus(b).unwrap().amount(), dec("3.35"));
        assert_eq!(a.minus(b).unwrap().amount(), dec("-1.15"));
        let e = Money::positive("c", dec("1"), EUR).unwrap();
        assert_eq!(
            field_and_code(a.plus(e).unwrap_err()).1,
            "currency_mismatch"
        );
    }

    proptest! {
        /// Any amount in minor units is accepted as it is; one more decimal place is refused.
        #[test]
        fn scale_is_checked_exactly(units in -1_000_000_000i64..1_000_000_000, which in 0usize..10) {
            let currency = CURRENCIES[which];
            let amount = Decimal::new(units, currency.scale);
            let money = Money::signed("amount", amount, currency).unwrap();
            prop_assert_eq!(money.amount(), amount);
            prop_assert_eq!(money.amount().scale(), currency.scale);
            if units % 10 != 0 {
                let finer = Decimal::new(units, currency.scale + 1);
                prop_assert!(Money::signed("amount", finer, currency).is_err());
            }
        }
    }
}
