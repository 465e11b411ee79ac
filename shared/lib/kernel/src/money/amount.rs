//! The one grammar of an amount written as text, for every route, file and setting that takes
//! one: request bodies, provider webhooks, settlement reports, configuration documents.
//!
//! ```text
//! -?(0|[1-9][0-9]*)(\.[0-9]+)?
//! ```
//!
//! Digits with an optional decimal point followed by at least one digit; no exponent (`1e3`),
//! no `+`, no separators (`1_000`, `1,000`), no spaces, no leading zeros (`00010.00`), no bare
//! point (`.5`, `5.`). The minus sign is part of the grammar; whether a negative amount is
//! legal is the value check's to say ([`Money::positive`](super::Money::positive) refuses it
//! with `amount_not_positive`, [`Money::non_negative`](super::Money::non_negative) with
//! `amount_negative`), so every field where negatives are illegal keeps refusing them, with
//! the error that says so. Text that does not follow the grammar is refused with the code
//! [`INVALID_AMOUNT`], never read another way.
//!
//! In JSON an amount is a string (`"amount": "10.00"`): a JSON number may have gone through a
//! float on its way, so it is refused (as it was before this grammar: `rust_decimal` is built
//! with `serde-str`, which reads strings only). Fields take the grammar with
//! `#[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize")]` (or
//! `deserialize_option`, `deserialize_map`); a host that reads a serde error turns those
//! errors back into `invalid_amount` with [`from_serde_error`].

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::{Error, Result};

/// The error code of an amount whose text does not follow the grammar.
pub const INVALID_AMOUNT: &str = "invalid_amount";

/// The longest amount text read: far beyond any amount Broker OS books (at most 10^15 with up
/// to 8 decimals), short enough that nobody's input is quoted at length.
pub const MAX_AMOUNT_CHARS: usize = 48;

/// Every serde error of the deserializers below starts with this, so [`from_serde_error`] can
/// tell them from other serde errors.
const SERDE_MARK: &str = "invalid amount ";

/// What the deserializers expect, as serde's refusal of another type (a JSON number: `invalid
/// type: integer `1000`, expected …`) names it.
const EXPECTED: &str = "an amount as a JSON decimal string, like \"1000.00\"";

/// Why `text` is not an amount, or its value.
fn read(text: &str) -> std::result::Result<Decimal, &'static str> {
    if text.is_empty() {
        return Err("an amount cannot be empty");
    }
    if text.len() > MAX_AMOUNT_CHARS {
        return Err("an amount has at most 48 characters");
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(
            "an amount is digits with an optional decimal point and decimals, like \"1000.00\" \
             (no exponent, '+', separators or spaces)",
        );
    }
    if whole.len() > 1 && whole.starts_with('0') {
        return Err("an amount has no leading zeros, like \"10.00\"");
    }
    let mut value =
        Decimal::from_str_exact(text).map_err(|_| "an amount has at most 28 significant digits")?;
    // "-0" and "-0.00" are zero, not a negative amount.
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    Ok(value)
}

fn shown(text: &str) -> String {
    let mut shown: String = text.chars().take(MAX_AMOUNT_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

fn message(text: &str, why: &str) -> String {
    format!("{SERDE_MARK}'{}': {why}", shown(text))
}

/// `text` as an amount if it follows the grammar (see the module documentation); otherwise a
/// validation error `invalid_amount` naming `field`. Any sign: the caller's value check says
/// whether a negative amount is legal where it is used.
pub fn parse_amount(field: &str, text: &str) -> Result<Decimal> {
    read(text).map_err(|why| Error::invalid(INVALID_AMOUNT, field, message(text, why)))
}

/// A serde error message made by this module's deserializers, as the `invalid_amount` error of
/// `field` it stands for (`None` for any other serde error). Hosts that answer serde errors
/// (the HTTP body extractor) call it with the path serde reports.
pub fn from_serde_error(field: &str, serde_message: &str) -> Option<Error> {
    // A JSON number is refused by serde's own type check (no number is ever read, so no float
    // comes near an amount); any other type stays serde's error, not an amount's.
    let a_number = ["invalid type: integer", "invalid type: floating point"]
        .iter()
        .any(|kind| serde_message.starts_with(kind))
        && serde_message.contains(EXPECTED);
    (serde_message.starts_with(SERDE_MARK) || a_number)
        .then(|| Error::invalid(INVALID_AMOUNT, field, serde_message))
}

/// An amount read by the grammar from a JSON string.
struct Strict(Decimal);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Strict, D::Error> {
        // `any`, so a number reaches the visitor, whose default refusal names [`EXPECTED`]
        // (read back as `invalid_amount` by [`from_serde_error`]).
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl Visitor<'_> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> std::result::Result<Strict, E> {
        read(text)
            .map(Strict)
            .map_err(|why| E::custom(message(text, why)))
    }
}

/// `#[serde(deserialize_with = "…::amount::deserialize")]` on a `Decimal` field.
pub fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Decimal, D::Error> {
    Strict::deserialize(deserializer).map(|s| s.0)
}

/// `#[serde(default, deserialize_with = "…::amount::deserialize_option")]` on an
/// `Option<Decimal>` field (`null` or absent is `None`).
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Decimal>, D::Error> {
    Option::<Strict>::deserialize(deserializer).map(|s| s.map(|s| s.0))
}

/// `#[serde(deserialize_with = "…::amount::deserialize_map")]` on a `BTreeMap<K, Decimal>`
/// field (amounts per currency code).
pub fn deserialize_map<'de, D, K>(
    deserializer: D,
) -> std::result::Result<BTreeMap<K, Decimal>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
{
    BTreeMap::<K, Strict>::deserialize(deserializer)
        .map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn code(e: Error) -> (&'static str, Option<String>) {
        match e {
            Error::Validation { code, field, .. } => (code, field),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// The forms issue 11 found accepted, and their like.
    const LENIENT: [&str; 22] = [
        "1e3", "1E3", "1e-2", "1_000", "+10.00", ".5", "5.", "00010.00", "01", "-01.5", "00", "-",
        "", " 10", "10 ", "1,000", "1.000.00", "0x10", "NaN", "inf", "--1", "-.5",
    ];

    #[test]
    fn lenient_forms_are_refused_naming_the_field() {
        for text in LENIENT {
            let e = parse_amount("amount", text).unwrap_err();
            assert!(e.to_string().contains("invalid amount"), "{text}: {e}");
            assert_eq!(
                code(e),
                (INVALID_AMOUNT, Some("amount".to_string())),
                "{text:?}"
            );
        }
        let long = "1".repeat(MAX_AMOUNT_CHARS + 1);
        assert!(parse_amount("fee", &long).is_err());
        let e = parse_amount("fee", &"9".repeat(40)).unwrap_err();
        assert_eq!(
            code(e).0,
            INVALID_AMOUNT,
            "more digits than a Decimal holds"
        );
    }

    #[test]
    fn the_grammar_accepts_plain_decimals_as_written() {
        for (text, value) in [
            ("0", "0"),
            ("0.00", "0.00"),
            ("10", "10"),
            ("10.00", "10.00"),
            ("1000.5", "1000.5"),
            ("0.00000001", "0.00000001"),
            ("-5.00", "-5.00"),
            ("-0.5", "-0.5"),
            ("1000000000000000", "1000000000000000"),
        ] {
            let parsed = parse_amount("amount", text).unwrap();
            assert_eq!(parsed, Decimal::from_str(value).unwrap(), "{text}");
            assert_eq!(parsed.to_string(), value, "{text}: the scale is kept");
        }
        let zero = parse_amount("amount", "-0.00").unwrap();
        assert!(zero.is_zero() && zero.is_sign_positive(), "-0 is zero");
    }

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(deserialize_with = "deserialize")]
        amount: Decimal,
        #[serde(default, deserialize_with = "deserialize_option")]
        cap: Option<Decimal>,
        #[serde(default, deserialize_with = "deserialize_map")]
        limits: BTreeMap<String, Decimal>,
    }

    fn body(json: &str) -> std::result::Result<Body, String> {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        serde_path_to_error::deserialize::<_, Body>(value).map_err(|e| {
            let path = e.path().to_string();
            match from_serde_error(&path, &e.inner().to_string()) {
                Some(Error::Validation { code, field, .. }) => {
                    format!("{code} {}", field.unwrap_or_default())
                }
                _ => format!("other {path}"),
            }
        })
    }

    #[test]
    fn json_amounts_are_strings_in_the_grammar() {
        let ok = body(r#"{"amount": "10.50", "cap": "100", "limits": {"USD": "5"}}"#).unwrap();
        assert_eq!(ok.amount, Decimal::new(1050, 2));
        assert_eq!(ok.cap, Some(Decimal::from(100)));
        assert_eq!(ok.limits["USD"], Decimal::from(5));
        let absent = body(r#"{"amount": "1", "cap": null}"#).unwrap();
        assert_eq!((absent.cap, absent.limits.len()), (None, 0));
        for text in LENIENT {
            let json = format!(r#"{{"amount": {}}}"#, serde_json::Value::from(text));
            assert_eq!(
                body(&json).unwrap_err(),
                "invalid_amount amount",
                "{text:?}"
            );
        }
        for number in ["1000", "1e3", "10.5", "-1"] {
            let json = format!(r#"{{"amount": {number}}}"#);
            assert_eq!(
                body(&json).unwrap_err(),
                "invalid_amount amount",
                "{number}"
            );
        }
        assert_eq!(
            body(r#"{"amount": "1", "cap": "1e3"}"#).unwrap_err(),
            "invalid_amount cap"
        );
        assert_eq!(
            body(r#"{"amount": "1", "limits": {"USD": "+5"}}"#).unwrap_err(),
            "invalid_amount limits.USD"
        );
        // Not an amount at all: the usual type error, not ours.
        assert_eq!(body(r#"{"amount": ["1"]}"#).unwrap_err(), "other amount");
        assert!(from_serde_error("x", "invalid type: map").is_none());
    }

    proptest! {
        /// Whatever a `Decimal` prints is in the grammar and reads back as the same value.
        #[test]
        fn printed_decimals_read_back(units in any::<i64>(), scale in 0u32..=12) {
            let value = Decimal::new(units, scale);
            let printed = value.to_string();
            prop_assert_eq!(parse_amount("amount", &printed).unwrap(), value);
        }

        /// Text over the characters of numbers is accepted exactly when the regular expression
        /// of the grammar matches it.
        #[test]
        fn the_grammar_is_the_regular_expression(text in "[-+0-9.eE_, ]{0,8}") {
            let grammar = regex::Regex::new(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$").unwrap();
            prop_assert_eq!(parse_amount("amount", &text).is_ok(), grammar.is_match(&text), "{}", text);
        }
    }
}
