//! The simulated market: a deterministic price for every symbol at every second, quoted as a
//! bid and an ask a spread apart, and the amounts a deal books at those prices. Every symbol
//! is quoted in USD, so a deal's profit converts into the account currency at the simulated
//! USD rate (`rate_profit`).

use rust_decimal::{Decimal, RoundingStrategy};

use brokeros_trading::DealSide;

use super::splitmix::SplitMix64;

/// Commission per lot and side, USD (7 USD a round turn).
const COMMISSION_PER_LOT_SIDE_USD: Decimal = Decimal::from_parts(350, 0, 0, true, 2);
/// Swap per lot and night a position is held over, USD.
const SWAP_PER_LOT_NIGHT_USD: Decimal = Decimal::from_parts(80, 0, 0, true, 2);
/// How far the hourly level strays from the typical price, in points.
const HOURLY_SWING_POINTS: u64 = 1_500;
/// How far a minute and a second stray from the hourly path, in points.
const MINUTE_NOISE_POINTS: u64 = 30;
const SECOND_NOISE_POINTS: u64 = 4;

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// A symbol the simulator trades. Every one has a point value of 1 USD per lot (EURUSD: a
/// 100 000 contract times 0.00001; XAUUSD: 100 ounces times 0.01), so a move of `p` points on
/// `v` lots makes `p * v` USD.
pub(crate) struct SimulatedSymbol {
    pub name: &'static str,
    pub digits: u32,
    /// A typical price, in points.
    pub typical_points: i64,
    /// Units of the base asset in one lot; times one point, one USD.
    pub contract_size: i64,
    /// Ask minus bid, in points.
    pub spread_points: i64,
}

pub(crate) const SYMBOLS: [SimulatedSymbol; 4] = [
    SimulatedSymbol {
        name: "EURUSD",
        contract_size: 100000,
        spread_points: 12,
        digits: 5,
        typical_points: 108_500,
    },
    SimulatedSymbol {
        name: "GBPUSD",
        contract_size: 100000,
        spread_points: 15,
        digits: 5,
        typical_points: 127_000,
    },
    SimulatedSymbol {
        name: "AUDUSD",
        contract_size: 100000,
        spread_points: 14,
        digits: 5,
        typical_points: 66_000,
    },
    SimulatedSymbol {
        name: "XAUUSD",
        contract_size: 100,
        spread_points: 25,
        digits: 2,
        typical_points: 235_000,
    },
];

/// How many units of an account currency one USD buys in the simulation. Fixed rates: the
/// simulator needs plausible amounts in every account currency, not a market.
pub(crate) fn simulated_usd_rate(currency: &str) -> Option<Decimal> {
    let (mantissa, scale) = match currency {
        "USD" => (1, 0),
        "EUR" => (92, 2),
        "GBP" => (79, 2),
        "CHF" => (88, 2),
        "AUD" => (152, 2),
        "CAD" => (137, 2),
        "JPY" => (150, 0),
        "BTC" => (16, 6),
        _ => return None,
    };
    Some(Decimal::new(mantissa, scale))
}

pub(crate) fn symbol(name: &str) -> Option<&'static SimulatedSymbol> {
    SYMBOLS.iter().find(|s| s.name == name)
}

/// The market at one moment, in points of the symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quote {
    pub bid: i64,
    pub ask: i64,
}

impl Quote {
    /// The price a deal in `action` direction gets: buyers pay the ask, sellers get the bid.
    pub fn price_for(self, action: DealSide) -> i64 {
        match action {
            DealSide::Buy => self.ask,
            DealSide::Sell => self.bid,
        }
    }
}

/// A value in `-amplitude..=amplitude` that depends only on the symbol, the kind of step and
/// the step's number.
fn noise(symbol: &SimulatedSymbol, step_ms: i64, step: i64, amplitude: u64) -> i64 {
    named_noise(symbol.name, step_ms, step, amplitude)
}

/// How far `currency`'s simulated USD rate is off its level in minute `minute`, in
/// `-amplitude..=amplitude` (units the caller chooses).
pub(crate) fn simulated_variation(currency: &str, minute: i64, amplitude: u64) -> i64 {
    named_noise(currency, 60_000, minute, amplitude)
}

/// A value in `-amplitude..=amplitude` that depends only on the name, the step's length and
/// the step's number.
fn named_noise(name: &str, step_ms: i64, step: i64, amplitude: u64) -> i64 {
    let name_bits = name
        .bytes()
        .fold(0u64, |acc, b| acc.rotate_left(8) ^ u64::from(b));
    let mut rng = SplitMix64::new(name_bits ^ (step_ms as u64).rotate_left(32) ^ step as u64);
    rng.below(2 * amplitude + 1) as i64 - amplitude as i64
}

/// The quote of `symbol` at `at_msc`: the hourly levels joined by straight lines, plus noise by
/// the minute and by the second, so that sub-minute scalps move a few points and day trades
/// hundreds.
pub(crate) fn quote(symbol: &SimulatedSymbol, at_msc: i64) -> Quote {
    let hour = at_msc.div_euclid(MS_PER_HOUR);
    let into_hour = at_msc.rem_euclid(MS_PER_HOUR);
    let level = |h: i64| symbol.typical_points + noise(symbol, MS_PER_HOUR, h, HOURLY_SWING_POINTS);
    let (from, to) = (level(hour), level(hour + 1));
    let path = from + (to - from) * into_hour / MS_PER_HOUR;
    let mid =
        path + noise(
            symbol,
            MS_PER_MINUTE,
            at_msc.div_euclid(MS_PER_MINUTE),
            MINUTE_NOISE_POINTS,
        ) + noise(
            symbol,
            MS_PER_SECOND,
            at_msc.div_euclid(MS_PER_SECOND),
            SECOND_NOISE_POINTS,
        );
    let bid = mid - symbol.spread_points / 2;
    Quote {
        bid,
        ask: bid + symbol.spread_points,
    }
}

pub(crate) fn price(symbol: &SimulatedSymbol, points: i64) -> Decimal {
    Decimal::new(points, symbol.digits)
}

/// `amount` rounded to the account currency's `scale`, halves away from zero.
pub(crate) fn at_scale(amount: Decimal, scale: u32) -> Decimal {
    amount.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero)
}

/// A USD amount in the account currency worth `usd_rate` per USD, at its scale.
pub(crate) fn from_usd(usd: Decimal, usd_rate: Decimal, scale: u32) -> Decimal {
    at_scale(usd * usd_rate, scale)
}

/// The commission of a deal of `lots` (negative: the broker charges it).
pub(crate) fn commission(lots: Decimal, usd_rate: Decimal, scale: u32) -> Decimal {
    from_usd(COMMISSION_PER_LOT_SIDE_USD * lots, usd_rate, scale)
}

/// What closing `lots` of a position opened on `side` at `open_price` makes at `close_price`:
/// the price move times the contract size and the lots, in the profit currency, times
/// `rate_profit` into the account's.
pub(crate) fn profit(
    symbol: &SimulatedSymbol,
    side: DealSide,
    open_price: Decimal,
    close_price: Decimal,
    lots: Decimal,
    rate_profit: Decimal,
    scale: u32,
) -> Decimal {
    let signed_move = match side {
        DealSide::Buy => close_price - open_price,
        DealSide::Sell => open_price - close_price,
    };
    at_scale(
        signed_move * Decimal::from(symbol.contract_size) * lots * rate_profit,
        scale,
    )
}

/// The swap of `lots` held from `opened_at_msc` to `closed_at_msc`: charged once for every
/// midnight (UTC) in between, as the rollover does.
pub(crate) fn swap(
    lots: Decimal,
    opened_at_msc: i64,
    closed_at_msc: i64,
    usd_rate: Decimal,
    scale: u32,
) -> Decimal {
    let nights =
        (closed_at_msc.div_euclid(MS_PER_DAY) - opened_at_msc.div_euclid(MS_PER_DAY)).max(0);
    from_usd(
        SWAP_PER_LOT_NIGHT_USD * lots * Decimal::from(nights),
        usd_rate,
        scale,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONDAY_NOON: i64 = 1_772_452_800_000;

    #[test]
    fn quotes_are_deterministic_and_a_spread_apart() {
        for symbol in &SYMBOLS {
            for second in 0..600 {
                let at = MONDAY_NOON + second * 1_000;
                let q = quote(symbol, at);
                assert_eq!(q, quote(symbol, at));
                assert_eq!(q.ask - q.bid, symbol.spread_points);
                let stray = (q.bid - symbol.typical_points).unsigned_abs();
                assert!(
                    stray <= HOURLY_SWING_POINTS + MINUTE_NOISE_POINTS + SECOND_NOISE_POINTS + 20,
                    "{} strays {stray} points",
                    symbol.name
                );
            }
        }
    }

    #[test]
    fn seconds_move_less_than_hours() {
        let eurusd = symbol("EURUSD").unwrap();
        let within_a_minute = (0..59)
            .map(|s| {
                (quote(eurusd, MONDAY_NOON + s * 1_000).bid - quote(eurusd, MONDAY_NOON).bid).abs()
            })
            .max()
            .unwrap();
        assert!(
            within_a_minute <= 2 * SECOND_NOISE_POINTS as i64 + 2 * MINUTE_NOISE_POINTS as i64 + 30
        );
        let hours_apart: Vec<i64> = (0..24)
            .map(|h| quote(eurusd, MONDAY_NOON + h * MS_PER_HOUR).bid)
            .collect();
        assert!(hours_apart.iter().max().unwrap() - hours_apart.iter().min().unwrap() > 200);
    }

    #[test]
    fn profit_is_the_move_times_contract_lots_and_rate() {
        let eurusd = symbol("EURUSD").unwrap();
        let gold = symbol("XAUUSD").unwrap();
        let lots = Decimal::new(25, 2);
        let (open, close) = (Decimal::new(108_500, 5), Decimal::new(108_620, 5));
        // 120 points of EURUSD on 0.25 lot: 0.00120 * 100 000 * 0.25 = 30 USD.
        let usd = profit(eurusd, DealSide::Buy, open, close, lots, Decimal::ONE, 2);
        assert_eq!(usd, Decimal::new(3000, 2));
        assert_eq!(
            profit(eurusd, DealSide::Sell, open, close, lots, Decimal::ONE, 2),
            -usd
        );
        // In EUR at 0.92 per USD.
        let eur = profit(
            eurusd,
            DealSide::Buy,
            open,
            close,
            lots,
            Decimal::new(92, 2),
            2,
        );
        assert_eq!(eur, Decimal::new(2760, 2));
        // 3.45 USD of gold on 0.10 lot: 3.45 * 100 * 0.10 = 34.50 USD.
        let gold_usd = profit(
            gold,
            DealSide::Buy,
            Decimal::new(235_000, 2),
            Decimal::new(235_345, 2),
            Decimal::new(10, 2),
            Decimal::ONE,
            2,
        );
        assert_eq!(gold_usd, Decimal::new(3450, 2));
    }

    #[test]
    fn swap_is_charged_per_midnight_crossed() {
        let lots = Decimal::ONE;
        let evening = MONDAY_NOON + 11 * MS_PER_HOUR;
        assert_eq!(
            swap(lots, MONDAY_NOON, evening, Decimal::ONE, 2),
            Decimal::ZERO
        );
        let two_nights = MONDAY_NOON + 2 * MS_PER_DAY;
        assert_eq!(
            swap(lots, MONDAY_NOON, two_nights, Decimal::ONE, 2),
            Decimal::new(-160, 2)
        );
        assert_eq!(commission(lots, Decimal::ONE, 2), Decimal::new(-350, 2));
        assert_eq!(commission(lots, Decimal::from(150), 0), Decimal::from(-525));
    }
}
