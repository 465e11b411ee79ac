//! An offer's terms: what an investor agrees to when they invest, checked as a whole, and the
//! rule that keeps them from changing under existing investors without notice.
//!
//! Percentages are written as percent (`"20"` is 20 %), as managers and investors read them;
//! [`Terms::performance_rate`] and the other accessors answer fractions.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use brokeros_kernel::money::Currency;
use brokeros_kernel::{Error, Result};

use super::schedule::Schedule;

/// One step of the performance fee: from an investor's net invested capital of `from` (in the
/// offer's currency) on, `percent` of their new profit. The first tier starts at 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammFeeTier)]
#[serde(deny_unknown_fields)]
pub struct FeeTier {
    pub from: Decimal,
    pub percent: Decimal,
}

/// The terms of a PAMM offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammTerms)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// The pooled account's currency (ISO code); every amount of the terms is in it.
    pub currency: String,
    /// Performance fee tiers by the investor's net invested capital, ascending from 0.
    pub performance_fee: Vec<FeeTier>,
    /// Management fee, percent a year of the investor's equity, accrued daily.
    #[serde(default)]
    pub management_fee: Decimal,
    /// Entry fee, percent of each deposit.
    #[serde(default)]
    pub entry_fee: Decimal,
    /// The smallest first investment; later deposits are free in size.
    pub min_investment: Decimal,
    /// The manager's own capital in the account below which new investments are refused.
    #[serde(default)]
    pub min_manager_capital: Decimal,
    pub rollover: Schedule,
    /// Requests received later than this before a rollover wait for the one after.
    #[serde(default)]
    pub cutoff_minutes: u32,
    /// Days after an investor's first investment during which they cannot withdraw.
    #[serde(default)]
    pub lockup_days: u32,
    /// The IB share of the fees an investor pays, per level of that investor's IB chain
    /// (level 1 first), percent; the rest is the manager's. At most 100 in all.
    #[serde(default)]
    pub ib_share: Vec<Decimal>,
    /// Days between announcing new terms and their effect while the offer has investors.
    #[serde(default)]
    pub notice_days: u32,
}

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

fn percent(field: &str, value: Decimal) -> Result<()> {
    if value < Decimal::ZERO || value > HUNDRED {
        return Err(Error::invalid(
            "invalid_percent",
            field,
            format!("{field} must be a percent from 0 to 100, not {value}"),
        ));
    }
    Ok(())
}

fn amount(currency: Currency, field: &str, value: Decimal) -> Result<()> {
    currency.exact(field, value)?;
    if value < Decimal::ZERO {
        return Err(Error::invalid(
            "invalid_amount",
            field,
            format!("{field} must not be negative"),
        ));
    }
    Ok(())
}

impl Terms {
    /// Checks the terms as a whole; the first fault names its field.
    pub fn validate(&self) -> Result<()> {
        let currency = Currency::parse("currency", &self.currency)?;
        if self.performance_fee.is_empty() {
            return Err(Error::invalid(
                "required",
                "performance_fee",
                "performance_fee needs at least one tier (percent 0 for none)",
            ));
        }
        for (i, tier) in self.performance_fee.iter().enumerate() {
            let field = format!("performance_fee[{i}]");
            percent(&format!("{field}.percent"), tier.percent)?;
            amount(currency, &format!("{field}.from"), tier.from)?;
            let first = i == 0;
            if first && !tier.from.is_zero() {
                return Err(Error::invalid(
                    "invalid_tiers",
                    format!("{field}.from"),
                    "the first performance fee tier starts at 0",
                ));
            }
            if !first && tier.from <= self.performance_fee[i - 1].from {
                return Err(Error::invalid(
                    "invalid_tiers",
                    format!("{field}.from"),
                    "performance fee tiers ascend by their 'from'",
                ));
            }
        }
        percent("management_fee", self.management_fee)?;
        percent("entry_fee", self.entry_fee)?;
        amount(currency, "min_investment", self.min_investment)?;
        amount(currency, "min_manager_capital", self.min_manager_capital)?;
        self.rollover.validate()?;
        for (i, share) in self.ib_share.iter().enumerate() {
            percent(&format!("ib_share[{i}]"), *share)?;
        }
        let total: Decimal = self.ib_share.iter().sum();
        if total > HUNDRED {
            return Err(Error::invalid(
                "invalid_percent",
                "ib_share",
                format!("the IB shares add up to {total} %: at most 100"),
            ));
        }
        if self.cutoff_minutes > 24 * 60 {
            return Err(Error::invalid(
                "invalid_cutoff",
                "cutoff_minutes",
                "cutoff_minutes must be at most a day (1440)",
            ));
        }
        Ok(())
    }

    pub fn currency(&self) -> Result<Currency> {
        Currency::parse("currency", &self.currency)
    }

    /// The performance fee rate (a fraction) of an investor with `net_invested`.
    pub fn performance_rate(&self, net_invested: Decimal) -> Decimal {
        self.performance_fee
            .iter()
            .rev()
            .find(|tier| net_invested >= tier.from)
            .or(self.performance_fee.first())
            .map_or(Decimal::ZERO, |tier| tier.percent / HUNDRED)
    }

    /// The management fee for `days` (fractional) on `equity`: the annual rate accrued daily.
    pub fn management_fee_for(&self, equity: Decimal, days: Decimal) -> Decimal {
        equity * self.management_fee / HUNDRED * days / Decimal::from(365)
    }

    pub fn entry_rate(&self) -> Decimal {
        self.entry_fee / HUNDRED
    }

    /// The IB shares per level, as fractions.
    pub fn ib_rates(&self) -> Vec<Decimal> {
        self.ib_share.iter().map(|share| share / HUNDRED).collect()
    }

    pub fn lockup(&self) -> Duration {
        Duration::days(i64::from(self.lockup_days))
    }

    pub fn cutoff(&self) -> Duration {
        Duration::minutes(i64::from(self.cutoff_minutes))
    }
}

/// Whether new terms may take effect at `effective_at` when announced at `announced_at`: any
/// change under existing investors waits for the current terms' notice period; without
/// investors a change takes effect at once. Refused with `field: effective_at` otherwise.
pub fn check_change(
    current: &Terms,
    new: &Terms,
    has_investors: bool,
    announced_at: OffsetDateTime,
    effective_at: OffsetDateTime,
) -> Result<()> {
    new.validate()?;
    if new.currency != current.currency {
        return Err(Error::invalid(
            "currency_fixed",
            "currency",
            "an offer's currency is its account's and cannot change",
        ));
    }
    if effective_at < announced_at {
        return Err(Error::invalid(
            "effective_in_past",
            "effective_at",
            "new terms cannot take effect in the past",
        ));
    }
    let notice = Duration::days(i64::from(current.notice_days));
    if has_investors && effective_at < announced_at + notice {
        return Err(Error::invalid(
            "notice_required",
            "effective_at",
            format!(
                "the offer has investors: new terms take effect {} days after they are announced at the earliest",
                current.notice_days
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::schedule::Every;
    use time::macros::datetime;

    pub(crate) fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    pub(crate) fn terms() -> Terms {
        Terms {
            currency: "USD".into(),
            performance_fee: vec![
                FeeTier {
                    from: d("0"),
                    percent: d("30"),
                },
                FeeTier {
                    from: d("10000"),
                    percent: d("20"),
                },
            ],
            management_fee: d("2"),
            entry_fee: d("1"),
            min_investment: d("100"),
            min_manager_capital: d("1000"),
            rollover: Schedule {
                every: Every::Day,
                at: "00:00".into(),
                utc_offset: "+02:00".into(),
            },
            cutoff_minutes: 60,
            lockup_days: 7,
            ib_share: vec![d("10"), d("5")],
            notice_days: 14,
        }
    }

    fn refused(terms: &Terms) -> (String, String) {
        match terms.validate().unwrap_err() {
            Error::Validation { code, field, .. } => (code.to_string(), field.unwrap_or_default()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn good_terms_pass_and_rates_are_fractions() {
        let t = terms();
        t.validate().unwrap();
        assert_eq!(t.performance_rate(d("0")), d("0.3"));
        assert_eq!(t.performance_rate(d("9999.99")), d("0.3"));
        assert_eq!(t.performance_rate(d("10000")), d("0.2"));
        assert_eq!(t.entry_rate(), d("0.01"));
        assert_eq!(t.management_fee_for(d("36500"), d("1")), d("2"));
    }

    #[test]
    fn bad_terms_name_their_field() {
        let mut t = terms();
        t.performance_fee[1].percent = d("100.01");
        assert_eq!(
            refused(&t),
            (
                "invalid_percent".into(),
                "performance_fee[1].percent".into()
            )
        );
        let mut t = terms();
        t.performance_fee[1].from = d("0");
        assert_eq!(
            refused(&t),
            ("invalid_tiers".into(), "performance_fee[1].from".into())
        );
        let mut t = terms();
        t.ib_share = vec![d("60"), d("41")];
        assert_eq!(refused(&t), ("invalid_percent".into(), "ib_share".into()));
        let mut t = terms();
        t.min_investment = d("100.001");
        assert_eq!(
            refused(&t),
            ("amount_too_precise".into(), "min_investment".into())
        );
        let mut t = terms();
        t.management_fee = d("-1");
        assert_eq!(
            refused(&t),
            ("invalid_percent".into(), "management_fee".into())
        );
    }

    #[test]
    fn a_change_under_investors_waits_for_the_notice() {
        let (current, mut new) = (terms(), terms());
        new.performance_fee[0].percent = d("35");
        let announced = datetime!(2026-12-01 10:00 UTC);
        let soon = datetime!(2026-12-10 10:00 UTC);
        check_change(&current, &new, false, announced, soon).unwrap();
        let err = check_change(&current, &new, true, announced, soon).unwrap_err();
        assert!(
            matches!(&err, Error::Validation { code: "notice_required", field: Some(f), .. } if f == "effective_at"),
            "{err:?}"
        );
        check_change(
            &current,
            &new,
            true,
            announced,
            announced + Duration::days(14),
        )
        .unwrap();
    }
}
