//! How big a follower's copy of a provider's deal is: the subscription's sizing mode applied to
//! the provider's and the follower's figures, then fitted to what the symbol trades (its
//! minimum, maximum and step). A size that rounds below the symbol's minimum is not copied,
//! and why is said; one above its maximum is cut to it, and that is said too.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use brokeros_kernel::{Error, Result};

/// A subscription's sizing mode, as the API and `brokeros copy size` take it:
/// `{"mode": "fixed_lot", "lots": "0.10"}`, `{"mode": "multiplier", "factor": "0.5"}`,
/// `{"mode": "balance"}`, `{"mode": "equity"}`, `{"mode": "balance_ratio", "ratio": "2"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "mode", deny_unknown_fields)]
pub enum Sizing {
    /// The same volume on every deal, whatever the provider trades.
    FixedLot { lots: Decimal },
    /// The provider's volume times `factor`.
    Multiplier { factor: Decimal },
    /// The provider's volume scaled by the follower's balance over the provider's.
    Balance,
    /// The provider's volume scaled by the follower's equity over the provider's.
    Equity,
    /// The balance mode times `ratio` (2: twice the provider's risk for the money).
    BalanceRatio { ratio: Decimal },
}

/// What a symbol trades: the smallest volume, the largest, and the step between volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeLimits {
    pub min: Decimal,
    pub max: Decimal,
    pub step: Decimal,
}

impl VolumeLimits {
    pub fn validate(&self) -> Result<()> {
        if self.step <= Decimal::ZERO || self.min <= Decimal::ZERO || self.max < self.min {
            return Err(Error::invalid(
                "invalid_volume_limits",
                "volume_limits",
                "a symbol's volumes need 0 < min <= max and a positive step",
            ));
        }
        Ok(())
    }

    /// `volume` down to the symbol's step.
    pub(crate) fn down_to_step(&self, volume: Decimal) -> Decimal {
        let steps = (volume / self.step).round_dp_with_strategy(0, RoundingStrategy::ToZero);
        (steps * self.step).normalize()
    }
}

/// The provider's and the follower's figures a size depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub provider_volume: Decimal,
    pub provider_balance: Decimal,
    pub provider_equity: Decimal,
    pub follower_balance: Decimal,
    pub follower_equity: Decimal,
}

/// Why a deal was not copied at the size the mode asked, or at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SizeNote {
    /// Under the symbol's minimum once fitted to its step: not copied.
    BelowMinimumVolume,
    /// Over the symbol's maximum: cut to it.
    ClampedToMaximum,
    /// The provider's balance or equity the mode divides by is not positive: not copied.
    ProviderWithoutMoney,
    /// The follower's balance or equity the mode scales by is not positive: not copied.
    FollowerWithoutMoney,
}

/// A size: the volume to copy (none when not copied), what the mode asked before fitting,
/// and the note when the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub volume: Option<Decimal>,
    pub asked: Decimal,
    pub note: Option<SizeNote>,
}

fn positive(field: &str, value: Decimal) -> Result<()> {
    if value <= Decimal::ZERO {
        return Err(Error::invalid(
            "invalid_sizing",
            field,
            format!("{field} must be positive"),
        ));
    }
    Ok(())
}

impl Sizing {
    /// Checks the mode's own parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            Sizing::FixedLot { lots } => positive("lots", *lots),
            Sizing::Multiplier { factor } => positive("factor", *factor),
            Sizing::BalanceRatio { ratio } => positive("ratio", *ratio),
            Sizing::Balance | Sizing::Equity => Ok(()),
        }
    }

    /// The follower's volume for `figures` on a symbol with `limits`.
    pub fn size(&self, figures: &Figures, limits: &VolumeLimits) -> Size {
        let scaled =
            |follower: Decimal, provider: Decimal| -> std::result::Result<Decimal, SizeNote> {
                if provider <= Decimal::ZERO {
                    return Err(SizeNote::ProviderWithoutMoney);
                }
                if follower <= Decimal::ZERO {
                    return Err(SizeNote::FollowerWithoutMoney);
                }
                Ok(figures.provider_volume * follower / provider)
            };
        let asked = match self {
            Sizing::FixedLot { lots } => Ok(*lots),
            Sizing::Multiplier { factor } => Ok(figures.provider_volume * factor),
            Sizing::Balance => scaled(figures.follower_balance, figures.provider_balance),
            Sizing::Equity => scaled(figures.follower_equity, figures.provider_equity),
            Sizing::BalanceRatio { ratio } => {
                scaled(figures.follower_balance, figures.provider_balance).map(|v| v * ratio)
            }
        };
        let asked = match asked {
            Ok(asked) => asked,
            Err(note) => {
                return Size {
                    volume: None,
                    asked: Decimal::ZERO,
                    note: Some(note),
                };
            }
        };
        let fitted = limits.down_to_step(asked);
        if fitted < limits.min {
            return Size {
                volume: None,
                asked,
                note: Some(SizeNote::BelowMinimumVolume),
            };
        }
        if fitted > limits.max {
            return Size {
                volume: Some(limits.down_to_step(limits.max)),
                asked,
                note: Some(SizeNote::ClampedToMaximum),
            };
        }
        Size {
            volume: Some(fitted),
            asked,
            note: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    pub(crate) fn fx() -> VolumeLimits {
        VolumeLimits {
            min: d("0.01"),
            max: d("50"),
            step: d("0.01"),
        }
    }

    fn figures(provider_volume: &str) -> Figures {
        Figures {
            provider_volume: d(provider_volume),
            provider_balance: d("10000"),
            provider_equity: d("12000"),
            follower_balance: d("2500"),
            follower_equity: d("2000"),
        }
    }

    #[test]
    fn each_mode_sizes_as_its_rule_says() {
        let f = figures("1.00");
        let size = |sizing: Sizing| sizing.size(&f, &fx()).volume;
        assert_eq!(size(Sizing::FixedLot { lots: d("0.3") }), Some(d("0.3")));
        assert_eq!(
            size(Sizing::Multiplier { factor: d("0.5") }),
            Some(d("0.5"))
        );
        // 1 lot × 2500 / 10000.
        assert_eq!(size(Sizing::Balance), Some(d("0.25")));
        // 1 lot × 2000 / 12000 = 0.1666…, down to the step.
        assert_eq!(size(Sizing::Equity), Some(d("0.16")));
        assert_eq!(size(Sizing::BalanceRatio { ratio: d("2") }), Some(d("0.5")));
    }

    #[test]
    fn sizes_fit_the_symbol_or_say_why_not() {
        let tiny = Sizing::Balance.size(&figures("0.03"), &fx());
        // 0.03 × 0.25 = 0.0075: under 0.01.
        assert_eq!(
            (tiny.volume, tiny.asked, tiny.note),
            (None, d("0.0075"), Some(SizeNote::BelowMinimumVolume))
        );
        let huge = Sizing::Multiplier { factor: d("10") }.size(&figures("7"), &fx());
        assert_eq!(
            (huge.volume, huge.note),
            (Some(d("50")), Some(SizeNote::ClampedToMaximum))
        );
        let mut broke = figures("1");
        broke.follower_equity = d("-5");
        assert_eq!(
            Sizing::Equity.size(&broke, &fx()).note,
            Some(SizeNote::FollowerWithoutMoney)
        );
        assert!(Sizing::Multiplier { factor: d("0") }.validate().is_err());
    }
}
