//! Exchange rates as the commission engine uses them: a deal's amounts are in its account's
//! currency and an IB is paid in its own, so every converted amount names the rate it used,
//! where the rate came from and when it was quoted.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::timeline::Millis;

/// One quote: `1 from = rate to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FxRate {
    pub from: String,
    pub to: String,
    pub rate: Decimal,
    /// Where the quote came from (`simulated`, a provider's name, `identity` for one currency).
    pub source: String,
    /// When the quote was taken, milliseconds since the Unix epoch.
    pub as_of_msc: Millis,
}

impl FxRate {
    /// The rate of a currency to itself.
    pub fn identity(currency: &str, at: Millis) -> FxRate {
        FxRate {
            from: currency.to_string(),
            to: currency.to_string(),
            rate: Decimal::ONE,
            source: "identity".to_string(),
            as_of_msc: at,
        }
    }
}

/// Rates the engine reads while it computes: already at hand, so the engine stays pure. The
/// live path fills one from the FX rate port before a batch; the preview from a file.
pub trait RateSource {
    /// The quote in force at `at` for converting `from` into `to`, if known.
    fn rate(&self, from: &str, to: &str, at: Millis) -> Option<FxRate>;
}
