//! A strategy's terms and a subscription to it: who may follow (not the provider themself; a
//! follower with at least the strategy's minimum equity), what following costs (a subscription
//! fee per 30 days, refunded pro rata on an early exit; a performance fee on the follower's own
//! new gains, above their high-water mark), and the maximum loss that detaches a follower.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use brokeros_kernel::money::Currency;
use brokeros_kernel::{Error, Result};

use super::sizing::Sizing;

/// How long one subscription fee buys.
pub const SUBSCRIPTION_PERIOD: Duration = Duration::days(30);

/// A strategy's terms, as its provider offers them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategyTerms {
    pub currency: String,
    /// Percent of each follower's new gain above their high-water mark.
    #[serde(default)]
    pub performance_fee: Decimal,
    /// Per 30 days, paid in advance.
    #[serde(default)]
    pub subscription_fee: Decimal,
    /// A follower's equity below which they cannot subscribe.
    #[serde(default)]
    pub min_follower_equity: Decimal,
}

impl StrategyTerms {
    pub fn validate(&self) -> Result<()> {
        let currency = Currency::parse("currency", &self.currency)?;
        if self.performance_fee < Decimal::ZERO || self.performance_fee > Decimal::ONE_HUNDRED {
            return Err(Error::invalid(
                "invalid_percent",
                "performance_fee",
                "performance_fee must be a percent from 0 to 100",
            ));
        }
        for (field, amount) in [
            ("subscription_fee", self.subscription_fee),
            ("min_follower_equity", self.min_follower_equity),
        ] {
            currency.exact(field, amount)?;
            if amount < Decimal::ZERO {
                return Err(Error::invalid(
                    "invalid_amount",
                    field,
                    format!("{field} must not be negative"),
                ));
            }
        }
        Ok(())
    }

    fn scale(&self) -> Result<u32> {
        Ok(Currency::parse("currency", &self.currency)?
            .minor_unit()
            .scale())
    }
}

/// Who asks to follow, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application<'a> {
    pub provider_client: &'a str,
    pub follower_client: &'a str,
    pub follower_equity: Decimal,
    pub sizing: &'a Sizing,
    /// A loss (from the equity at subscription) at which the follower stops copying.
    pub max_loss: Option<Decimal>,
}

/// Checks a subscription against the strategy's terms; refused with the field at fault.
pub fn check_subscription(terms: &StrategyTerms, application: &Application<'_>) -> Result<()> {
    if application.provider_client == application.follower_client {
        return Err(Error::invalid(
            "own_strategy",
            "strategy_id",
            "a provider cannot follow their own strategy",
        ));
    }
    application.sizing.validate()?;
    if let Some(max_loss) = application.max_loss
        && max_loss <= Decimal::ZERO
    {
        return Err(Error::invalid(
            "invalid_amount",
            "max_loss",
            "max_loss must be positive",
        ));
    }
    if application.follower_equity < terms.min_follower_equity {
        return Err(Error::conflict(
            "below_minimum_equity",
            format!(
                "the strategy takes followers with at least {} {} of equity",
                terms.min_follower_equity, terms.currency
            ),
        ));
    }
    Ok(())
}

/// What an early exit refunds of the subscription fee paid at `paid_at`: the unused part of
/// the 30 days, pro rata by the second, rounded down to the currency.
pub fn subscription_refund(
    terms: &StrategyTerms,
    fee_paid: Decimal,
    paid_at: OffsetDateTime,
    exit_at: OffsetDateTime,
) -> Result<Decimal> {
    let used = (exit_at - paid_at).clamp(Duration::ZERO, SUBSCRIPTION_PERIOD);
    let unused = SUBSCRIPTION_PERIOD - used;
    let refund = fee_paid * Decimal::from(unused.whole_seconds())
        / Decimal::from(SUBSCRIPTION_PERIOD.whole_seconds());
    Ok(refund.round_dp_with_strategy(terms.scale()?, RoundingStrategy::ToZero))
}

/// A follower's high-water mark: the equity above which a gain is new, raised by what they
/// deposit and lowered in proportion by what they withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub hwm: Decimal,
}

impl Mark {
    /// The mark at subscription: the follower's equity then.
    pub fn at_subscription(equity: Decimal) -> Mark {
        Mark { hwm: equity }
    }

    pub fn deposited(&mut self, amount: Decimal) {
        self.hwm += amount;
    }

    /// `amount` withdrawn from `equity_before`: the mark falls by the same fraction.
    pub fn withdrew(&mut self, amount: Decimal, equity_before: Decimal, scale: u32) {
        if equity_before > Decimal::ZERO {
            let kept = ((equity_before - amount) / equity_before).max(Decimal::ZERO);
            self.hwm = (self.hwm * kept).round_dp_with_strategy(scale, RoundingStrategy::ToZero);
        }
    }

    /// The performance fee on `equity` (at a settlement or the exit): the percent of the gain
    /// above the mark, after which the mark is the equity net of the fee, so no gain is
    /// charged twice.
    pub fn settle(&mut self, terms: &StrategyTerms, equity: Decimal) -> Result<Decimal> {
        let gain = equity - self.hwm;
        if gain <= Decimal::ZERO {
            return Ok(Decimal::ZERO);
        }
        let fee = (gain * terms.performance_fee / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(terms.scale()?, RoundingStrategy::ToZero);
        self.hwm = equity - fee;
        Ok(fee)
    }
}

/// Whether a follower who started at `start_equity` with `max_loss` is to be detached at
/// `equity`.
pub fn reached_max_loss(start_equity: Decimal, max_loss: Option<Decimal>, equity: Decimal) -> bool {
    max_loss.is_some_and(|loss| equity <= start_equity - loss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sizing::tests::d;
    use time::macros::datetime;

    fn terms() -> StrategyTerms {
        StrategyTerms {
            currency: "USD".into(),
            performance_fee: d("20"),
            subscription_fee: d("30.00"),
            min_follower_equity: d("500"),
        }
    }

    fn application<'a>(sizing: &'a Sizing, follower: &'a str, equity: &str) -> Application<'a> {
        Application {
            provider_client: "cl-provider",
            follower_client: follower,
            follower_equity: d(equity),
            sizing,
            max_loss: None,
        }
    }

    #[test]
    fn subscriptions_are_checked_against_the_terms() {
        let terms = terms();
        let balance = Sizing::Balance;
        check_subscription(&terms, &application(&balance, "cl-f", "500")).unwrap();
        let own = check_subscription(&terms, &application(&balance, "cl-provider", "900"));
        assert!(matches!(
            own,
            Err(Error::Validation {
                code: "own_strategy",
                ..
            })
        ));
        let poor = check_subscription(&terms, &application(&balance, "cl-f", "499.99"));
        assert!(matches!(
            poor,
            Err(Error::Conflict {
                code: "below_minimum_equity",
                ..
            })
        ));
        let bad = Sizing::FixedLot { lots: d("0") };
        let bad = check_subscription(&terms, &application(&bad, "cl-f", "900"));
        assert!(matches!(bad, Err(Error::Validation { field: Some(f), .. }) if f == "lots"));
        let mut t = terms.clone();
        t.performance_fee = d("100.5");
        assert!(t.validate().is_err());
    }

    #[test]
    fn an_early_exit_refunds_the_unused_days() {
        let paid = datetime!(2026-12-01 00:00 UTC);
        let refund = |at| subscription_refund(&terms(), d("30.00"), paid, at).unwrap();
        assert_eq!(refund(paid), d("30.00"));
        assert_eq!(refund(datetime!(2026-12-11 00:00 UTC)), d("20.00"));
        // 10 days and an hour used: 19.958… left, rounded down.
        assert_eq!(refund(datetime!(2026-12-11 01:00 UTC)), d("19.95"));
        assert_eq!(refund(datetime!(2027-01-15 00:00 UTC)), d("0.00"));
    }

    #[test]
    fn a_gain_is_charged_once_and_flows_move_the_mark() {
        let terms = terms();
        let mut mark = Mark::at_subscription(d("1000"));
        assert_eq!(mark.settle(&terms, d("1100")).unwrap(), d("20.00"));
        assert_eq!(mark.hwm, d("1080"));
        // The same equity again (the fee paid out: 1080): nothing.
        assert_eq!(mark.settle(&terms, d("1080")).unwrap(), Decimal::ZERO);
        // A deposit is no gain; half withdrawn halves the mark.
        mark.deposited(d("920"));
        assert_eq!(mark.settle(&terms, d("2000")).unwrap(), Decimal::ZERO);
        mark.withdrew(d("1000"), d("2000"), 2);
        assert_eq!(mark.hwm, d("1000.00"));
        assert!(reached_max_loss(d("1000"), Some(d("300")), d("700")));
        assert!(!reached_max_loss(d("1000"), Some(d("300")), d("700.01")));
        assert!(!reached_max_loss(d("1000"), None, d("1")));
    }
}
