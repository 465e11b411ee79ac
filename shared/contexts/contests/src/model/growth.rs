//! The growth index and the ratios made from it, in fixed point: a whole number of
//! 10⁻¹⁸ units.
//!
//! Why not `Decimal`: an index chained across cash flows soon carries 28 significant digits,
//! and every counted trade multiplies it by a sub-period's growth and divides: as decimals
//! that product is rounded back to 96 bits and divided again, the larger part of what
//! rescoring an entrant costs. In fixed point a step is one exact multiplication and one
//! division, rounded once (half to even), and a ratio made from it (the return, the
//! drawdown, return over drawdown) is the exact quotient rounded once to the places it is
//! scored at, where decimals rounded twice (to 28 digits, then to the places). Eighteen
//! places hold an index a billion times finer than the eight places a return is scored at,
//! so what is published is the exact figure's rounding in any realistic contest.
//!
//! Nothing here overflows or panics: a figure too large for 128 bits saturates at the
//! largest one (an index of about 1.7 × 10²⁰, far beyond any account).

use rust_decimal::Decimal;

/// Decimal places of the fixed point.
pub const GROWTH_DP: u32 = 18;
const UNIT: i128 = 1_000_000_000_000_000_000;

/// 10^0 to 10^38, every power of ten an `i128` holds.
const POWERS_OF_TEN: [i128; 39] = {
    let mut powers = [1i128; 39];
    let mut i = 1;
    while i < powers.len() {
        powers[i] = powers[i - 1] * 10;
        i += 1;
    }
    powers
};

/// 10^`exponent`, when an `i128` holds it.
pub(crate) fn power_of_ten(exponent: u32) -> Option<i128> {
    POWERS_OF_TEN.get(exponent as usize).copied()
}

/// A growth index (1 at the start of a contest) or a fraction, in units of 10⁻¹⁸.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Growth(i128);

impl Growth {
    pub const ZERO: Growth = Growth(0);
    pub const ONE: Growth = Growth(UNIT);
    pub const MAX: Growth = Growth(i128::MAX);

    /// This index times `after / before` (the growth of a sub-period), rounded once; an index
    /// never falls below zero (an account cannot lose more than it holds). `before` must be
    /// positive.
    pub fn grown(self, after: Decimal, before: Decimal) -> Growth {
        debug_assert!(before > Decimal::ZERO);
        let product = match aligned(after, before) {
            Some((after, before)) if after == before => return self,
            Some((after, before)) => mul_div(self.0, after, before),
            // Amounts whose scales are 28 places apart: the ratio as a decimal first.
            None => {
                let ratio = after / before;
                mul_div(
                    self.0,
                    ratio.mantissa(),
                    POWERS_OF_TEN[ratio.scale() as usize],
                )
            }
        };
        Growth(product.unwrap_or(i128::MAX).max(0))
    }

    /// The fall from `peak` to this index, as a fraction of the peak (0 when not below it).
    /// `peak` must be positive.
    pub fn fall_from(self, peak: Growth) -> Growth {
        if self >= peak {
            return Growth::ZERO;
        }
        Growth(mul_div(peak.0 - self.0, UNIT, peak.0).unwrap_or(i128::MAX))
    }

    /// Rounded to `dp` places (at most 18), as a whole number of 10^-dp units.
    fn units_at(self, dp: u32) -> i128 {
        let places = GROWTH_DP - dp.min(GROWTH_DP);
        mul_div(self.0, 1, POWERS_OF_TEN[places as usize]).unwrap_or(i128::MAX)
    }

    /// Rounded to `dp` places (at most 18), as a decimal.
    pub fn to_decimal(self, dp: u32) -> Decimal {
        decimal(self.units_at(dp), dp.min(GROWTH_DP))
    }

    /// The return this index stands for (the index less one), rounded to `dp` places, as a
    /// whole number of 10^-dp units.
    pub fn return_units(self, dp: u32) -> i128 {
        Growth(self.0 - UNIT).units_at(dp)
    }
}

/// `units` × 10^-dp as a decimal; past what a decimal holds, the largest one at that scale.
pub fn decimal(units: i128, dp: u32) -> Decimal {
    const MAX_MANTISSA: i128 = (1 << 96) - 1;
    Decimal::from_i128_with_scale(units.clamp(-MAX_MANTISSA, MAX_MANTISSA), dp)
}

/// `numerator` (a whole number of 10^-dp units) divided by `denominator`, the exact quotient
/// rounded once to `dp` places (half to even), as a decimal; saturating. `denominator` must
/// be positive and `dp` at most 28.
pub fn ratio(numerator: i128, dp: u32, denominator: Decimal) -> Decimal {
    debug_assert!(denominator > Decimal::ZERO);
    // (n × 10^-dp) / (m × 10^-s) at dp places: n × 10^s / m.
    let quotient = mul_div(
        numerator,
        POWERS_OF_TEN[denominator.scale() as usize],
        denominator.mantissa(),
    );
    let saturated = if numerator < 0 { i128::MIN } else { i128::MAX };
    decimal(quotient.unwrap_or(saturated), dp)
}

/// The mantissas of two decimals at one scale, when they fit.
fn aligned(a: Decimal, b: Decimal) -> Option<(i128, i128)> {
    let (sa, sb) = (a.scale(), b.scale());
    if sa == sb {
        return Some((a.mantissa(), b.mantissa()));
    }
    let widen = |d: Decimal, by: u32| d.mantissa().checked_mul(power_of_ten(by)?);
    Some((
        widen(a, sb.saturating_sub(sa))?,
        widen(b, sa.saturating_sub(sb))?,
    ))
}

/// `a × b / c` rounded half to even, with a 256-bit product; none when the quotient does not
/// fit. `c` must be positive.
pub fn mul_div(a: i128, b: i128, c: i128) -> Option<i128> {
    debug_assert!(c > 0);
    let negative = (a < 0) != (b < 0);
    let (a, b, c) = (a.unsigned_abs(), b.unsigned_abs(), c as u128);
    let (high, low) = wide_mul(a, b);
    let (mut quotient, remainder) = if high == 0 {
        (low / c, low % c)
    } else {
        wide_div(high, low, c)?
    };
    // c < 2^127, so twice the remainder fits.
    let twice = remainder << 1;
    if twice > c || (twice == c && quotient & 1 == 1) {
        quotient = quotient.checked_add(1)?;
    }
    if negative {
        0i128.checked_sub_unsigned(quotient)
    } else {
        i128::try_from(quotient).ok()
    }
}

/// The 256-bit product of two 128-bit numbers, as (high, low) halves.
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    const LOW: u128 = u64::MAX as u128;
    let (a_hi, a_lo) = (a >> 64, a & LOW);
    let (b_hi, b_lo) = (b >> 64, b & LOW);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let middle = (lo_lo >> 64) + (hi_lo & LOW) + (lo_hi & LOW);
    let low = (middle << 64) | (lo_lo & LOW);
    let high = hi_hi + (hi_lo >> 64) + (lo_hi >> 64) + (middle >> 64);
    (high, low)
}

/// (high, low) divided by `c` (below 2^127): quotient and remainder; none when the quotient
/// does not fit 128 bits. Bit by bit: the rare path of a product past 128 bits.
fn wide_div(high: u128, low: u128, c: u128) -> Option<(u128, u128)> {
    if high >= c {
        return None;
    }
    let mut remainder = high;
    let mut quotient = 0u128;
    for bit in (0..128).rev() {
        // remainder < c < 2^127: shifting left cannot lose a bit.
        remainder = (remainder << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if remainder >= c {
            remainder -= c;
            quotient |= 1;
        }
    }
    Some((quotient, remainder))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn a_sub_period_grows_the_index_by_its_ratio_rounded_once() {
        let index = Growth::ONE.grown(d("1100.00"), d("1000.00"));
        assert_eq!(index.to_decimal(8), d("1.1"));
        // 1.1 × 1000 / 3000 = 0.3666… rounded once at 18 places
        let third = index.grown(d("1000"), d("3000.000"));
        assert_eq!(third, Growth(366_666_666_666_666_667));
        assert_eq!(third.return_units(8), -63_333_333);
        // an account cannot lose more than it holds
        assert_eq!(index.grown(d("-5"), d("10")), Growth::ZERO);
        // unchanged equity leaves the index exactly as it was
        assert_eq!(third.grown(d("7.5"), d("7.50")), third);
    }

    #[test]
    fn falls_are_fractions_of_the_peak() {
        let peak = Growth(UNIT + UNIT / 4);
        assert_eq!(Growth::ONE.fall_from(peak).to_decimal(8), d("0.2"));
        assert_eq!(peak.fall_from(Growth::ONE), Growth::ZERO);
    }

    #[test]
    fn ratios_round_half_to_even_once() {
        assert_eq!(ratio(25, 2, d("2")), d("0.12")); // 0.125 → 0.12
        assert_eq!(ratio(75, 2, d("2")), d("0.38")); // 0.375 → 0.38
        assert_eq!(ratio(-75, 2, d("2")), d("-0.38"));
        assert_eq!(ratio(1, 8, d("0.00000003")), d("0.33333333"));
    }

    #[test]
    fn figures_past_128_bits_saturate_rather_than_panic() {
        let huge = Growth::MAX.grown(d("1000000"), d("1"));
        assert_eq!(huge, Growth::MAX);
        assert_eq!(
            ratio(i128::MAX, 8, d("0.0000000000000000000000000001")),
            decimal(i128::MAX, 8)
        );
        assert_eq!(
            ratio(i128::MIN + 1, 8, d("0.0000001")),
            decimal(i128::MIN, 8)
        );
        assert!(Growth::MAX.to_decimal(8) > Decimal::from(1_000_000_000_000_000_000i64));
        // amounts 28 places apart cannot be aligned: the ratio is taken as a decimal first
        let odd = Growth::ONE.grown(d("2"), d("1.0000000000000000000000000000"));
        assert_eq!(odd, Growth(2 * UNIT));
    }

    /// The reference: the quotient and remainder of `i128`, rounded half to even.
    fn reference(n: i128, c: i128) -> i128 {
        let (q, r) = (n / c, (n % c).abs());
        let up = 2 * r > c || (2 * r == c && q % 2 != 0);
        match (up, n < 0) {
            (false, _) => q,
            (true, false) => q + 1,
            (true, true) => q - 1,
        }
    }

    proptest! {
        #[test]
        fn mul_div_is_the_exact_quotient_rounded_half_to_even(
            a in any::<i64>(), b in any::<i32>(), c in 1i64..=i64::MAX, small in 1i64..8,
        ) {
            let (a, b) = (i128::from(a), i128::from(b));
            prop_assert_eq!(mul_div(a, b, i128::from(c)), Some(reference(a * b, i128::from(c))));
            // halves: n / 2 and n / 4 land on ties
            prop_assert_eq!(mul_div(a, b, i128::from(small)), Some(reference(a * b, i128::from(small))));
        }

        #[test]
        fn past_128_bits_the_quotient_is_within_half_a_divisor(
            a in any::<i64>(), b in any::<i64>(), c in 1i64..=i64::MAX,
        ) {
            // Widened factors: a product past 128 bits, on the bit-by-bit path.
            let (a, b, c) = (i128::from(a) << 60, i128::from(b) << 60, i128::from(c));
            if let Some(q) = mul_div(a, b, c) {
                prop_assert_eq!(q < 0, (a < 0) != (b < 0) && q != 0);
                let (hi, lo) = wide_mul(q.unsigned_abs(), c as u128);
                let (phi, plo) = wide_mul(a.unsigned_abs(), b.unsigned_abs());
                let (h, diff) = if (hi, lo) >= (phi, plo) { sub(hi, lo, phi, plo) } else { sub(phi, plo, hi, lo) };
                prop_assert_eq!(h, 0);
                prop_assert!(diff <= c as u128 / 2, "off by more than half a divisor: {}", diff);
            } else {
                // none only when the quotient is past 128 bits
                let (phi, _) = wide_mul(a.unsigned_abs(), b.unsigned_abs());
                prop_assert!(phi + 1 >= (c as u128) >> 1);
            }
        }
    }

    fn sub(ah: u128, al: u128, bh: u128, bl: u128) -> (u128, u128) {
        let (low, borrow) = al.overflowing_sub(bl);
        (ah - bh - u128::from(borrow), low)
    }
}
