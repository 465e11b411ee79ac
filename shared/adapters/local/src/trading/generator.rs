//! Deterministic closed deals for scenarios: the same seed and the same starting balance give
//! the same deals, on every machine and every build (the generator is written out here rather
//! than taken from a crate whose algorithms may change between versions).

use rust_decimal::{Decimal, RoundingStrategy};

use brokeros_trading::DealSide;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`. The modulo bias is below 1e-15 for the small ranges used here.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A symbol the simulator trades. Every one has a point value of 1 USD per lot (EURUSD: a
/// 100 000 contract times 0.00001; XAUUSD: 100 ounces times 0.01), so a move of `p` points on
/// `v` lots makes `p * v` USD.
struct SimulatedSymbol {
    name: &'static str,
    digits: u32,
    /// A typical price, in points.
    typical_points: i64,
}

const SYMBOLS: [SimulatedSymbol; 4] = [
    SimulatedSymbol {
        name: "EURUSD",
        digits: 5,
        typical_points: 108_500,
    },
    SimulatedSymbol {
        name: "GBPUSD",
        digits: 5,
        typical_points: 127_000,
    },
    SimulatedSymbol {
        name: "AUDUSD",
        digits: 5,
        typical_points: 66_000,
    },
    SimulatedSymbol {
        name: "XAUUSD",
        digits: 2,
        typical_points: 235_000,
    },
];

/// Round-turn commission per lot, USD.
const COMMISSION_PER_LOT_USD: i64 = 7;
/// Price moves of 50 to 3 000 points (5 to 300 pips on EURUSD).
const MIN_MOVE_POINTS: u64 = 50;
const MAX_MOVE_POINTS: u64 = 3_000;
/// Swap of 0 to 3.00 USD per lot, always charged.
const MAX_SWAP_CENTS_PER_LOT: u64 = 300;
/// Positions are held 30 seconds to 3 days.
const MIN_HOLD_SECONDS: u64 = 30;
const MAX_HOLD_SECONDS: u64 = 3 * 24 * 3600;

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

/// A generated deal before it has a ticket, a login and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GeneratedDeal {
    pub symbol: &'static str,
    pub side: DealSide,
    pub volume: Decimal,
    pub open_price: Decimal,
    pub close_price: Decimal,
    pub profit: Decimal,
    pub commission: Decimal,
    pub swap: Decimal,
    pub hold_seconds: u64,
}

impl GeneratedDeal {
    /// What the deal does to the balance.
    pub fn net(&self) -> Decimal {
        self.profit + self.commission + self.swap
    }
}

/// The next deal of an account holding `balance` in a currency with `scale` decimals worth
/// `usd_rate` per USD.
///
/// A deal never takes the balance below zero: a losing deal the balance could not pay for
/// becomes a winning one (the same move in the other direction). A real platform would stop
/// the position out and the broker would reset a negative balance with a correction; the
/// simulator avoids both so that scenarios keep simple, non-negative balances. A winning deal
/// always nets a positive amount (see the unit test), so the rule holds.
pub(crate) fn next_deal(
    rng: &mut SplitMix64,
    balance: Decimal,
    scale: u32,
    usd_rate: Decimal,
) -> GeneratedDeal {
    // Every value is drawn up front, so each deal consumes the same draws whatever the balance.
    let symbol = &SYMBOLS[rng.below(SYMBOLS.len() as u64) as usize];
    let side = if rng.below(2) == 0 {
        DealSide::Buy
    } else {
        DealSide::Sell
    };
    let volume_hundredths = 1 + rng.below(200) as i64;
    let open_points = symbol.typical_points - 2_000 + rng.below(4_001) as i64;
    let move_points = (MIN_MOVE_POINTS + rng.below(MAX_MOVE_POINTS - MIN_MOVE_POINTS + 1)) as i64;
    let drawn_winner = rng.below(2) == 0;
    let swap_cents_per_lot = rng.below(MAX_SWAP_CENTS_PER_LOT + 1) as i64;
    let hold_seconds = MIN_HOLD_SECONDS + rng.below(MAX_HOLD_SECONDS - MIN_HOLD_SECONDS + 1);

    let volume = Decimal::new(volume_hundredths, 2);
    let in_account_currency = |usd: Decimal| {
        (usd * usd_rate).round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero)
    };
    let commission = in_account_currency(-Decimal::from(COMMISSION_PER_LOT_USD) * volume);
    let swap = in_account_currency(-Decimal::new(swap_cents_per_lot, 2) * volume);
    let deal = |winner: bool| {
        let profit_points = if winner { move_points } else { -move_points };
        let price_move = match side {
            DealSide::Buy => profit_points,
            DealSide::Sell => -profit_points,
        };
        GeneratedDeal {
            symbol: symbol.name,
            side,
            volume,
            open_price: Decimal::new(open_points, symbol.digits),
            close_price: Decimal::new(open_points + price_move, symbol.digits),
            profit: in_account_currency(Decimal::from(profit_points) * volume),
            commission,
            swap,
            hold_seconds,
        }
    };
    let drawn = deal(drawn_winner);
    if balance + drawn.net() < Decimal::ZERO {
        deal(true)
    } else {
        drawn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_trading::ACCOUNT_CURRENCIES;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // The first outputs of the reference implementation for seed 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn every_account_currency_has_a_simulated_rate() {
        for currency in ACCOUNT_CURRENCIES {
            assert!(
                simulated_usd_rate(currency.code).is_some(),
                "{} has no simulated rate",
                currency.code
            );
        }
    }

    /// The smallest winning deal (0.01 lot, the smallest move, the largest swap) nets at
    /// least 0.40 USD before rounding; rounding its three amounts moves it by at most one and a
    /// half units of the currency's last decimal. It must stay positive in every currency, or
    /// the flip in `next_deal` could not keep balances from going negative.
    #[test]
    fn the_smallest_winning_deal_nets_a_positive_amount_in_every_currency() {
        for currency in ACCOUNT_CURRENCIES {
            let rate = simulated_usd_rate(currency.code).unwrap();
            let smallest_net_usd = Decimal::new(
                (MIN_MOVE_POINTS as i64 - COMMISSION_PER_LOT_USD) * 100
                    - MAX_SWAP_CENTS_PER_LOT as i64,
                4,
            );
            let worst_rounding = Decimal::new(15, currency.scale + 1);
            assert!(
                smallest_net_usd * rate - worst_rounding > Decimal::ZERO,
                "{}: a winning deal could net a loss",
                currency.code
            );
        }
    }

    #[test]
    fn deals_are_deterministic_and_consistent() {
        let scale = 2;
        let rate = Decimal::ONE;
        let balance = Decimal::new(1_000_000, 2);
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..200 {
            let deal = next_deal(&mut a, balance, scale, rate);
            assert_eq!(deal, next_deal(&mut b, balance, scale, rate));
            // The profit is the price move in points times the volume (1 USD per point and lot).
            let digits = deal.open_price.scale();
            let points = (deal.close_price - deal.open_price) * Decimal::from(10i64.pow(digits));
            let signed_points = match deal.side {
                DealSide::Buy => points,
                DealSide::Sell => -points,
            };
            assert_eq!(deal.profit, (signed_points * deal.volume).round_dp(2));
            assert!(deal.commission < Decimal::ZERO && deal.swap <= Decimal::ZERO);
            assert!(deal.volume >= Decimal::new(1, 2) && deal.volume <= Decimal::new(200, 2));
            assert!(deal.open_price > Decimal::ZERO && deal.close_price > Decimal::ZERO);
        }
    }

    #[test]
    fn a_deal_never_takes_the_balance_below_zero() {
        for (currency, seed) in [("USD", 1u64), ("JPY", 2), ("BTC", 3)] {
            let scale = brokeros_trading::currency_scale(currency).unwrap();
            let rate = simulated_usd_rate(currency).unwrap();
            let mut rng = SplitMix64::new(seed);
            let mut balance = Decimal::ZERO;
            let mut losers = 0;
            for _ in 0..2_000 {
                let deal = next_deal(&mut rng, balance, scale, rate);
                if deal.profit < Decimal::ZERO {
                    losers += 1;
                }
                balance += deal.net();
                assert!(
                    balance >= Decimal::ZERO,
                    "{currency}: balance went negative"
                );
            }
            assert!(losers > 0, "{currency}: losing deals still happen");
        }
    }
}
