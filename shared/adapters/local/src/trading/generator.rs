//! Deterministic closed deals for scenarios: the same seed and the same starting balance give
//! the same deals, on every machine and every build (the generator is written out here rather
//! than taken from a crate whose algorithms may change between versions).

use rust_decimal::{Decimal, RoundingStrategy};

use brokeros_trading::{DealSide, TradingError};

use super::book::{Book, DealCorrection};
use super::records::PositionRecord;

#[cfg(test)]
use super::market::simulated_usd_rate;
use super::market::{SYMBOLS, from_usd};
use super::splitmix::SplitMix64;

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
    let in_account_currency = |usd: Decimal| from_usd(usd, usd_rate, scale);
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

/// The state of a generated trading session between transactions: the draws and the clock.
#[derive(Debug, Clone)]
pub(crate) struct TradingSession {
    pub rng: SplitMix64,
    pub at_msc: i64,
}

/// The most writes one step of [`trade_step`] adds to a book (a close by: two deals, two
/// history entries, two positions).
pub(crate) const MAX_OPS_PER_STEP: usize = 6;

/// One step of an account's trading, drawn from the session: most steps open or close
/// positions, some close part of one, reverse one, hedge one (opposite positions open at once)
/// or close two by each other, some are sub-minute scalps, and a few are a dealer's correction
/// or cancellation of a deal booked in the same book.
pub(crate) fn trade_step(
    session: &mut TradingSession,
    book: &mut Book,
    login: u64,
) -> Result<(), TradingError> {
    let rng = &mut session.rng;
    let draw = rng.below(100);
    // One minute to three hours between steps; scalps close within the minute.
    session.at_msc += 60_000 + rng.below(3 * 3_600_000) as i64;
    let at = session.at_msc;
    let open: Vec<PositionRecord> = book.open_positions(login).into_iter().cloned().collect();
    let touched = book.live_trades();
    match draw {
        _ if open.is_empty() || draw < 28 => {
            let (symbol, side, lots) = (draw_symbol(rng), draw_side(rng), draw_lots(rng));
            book.open(login, symbol, side, lots, at)?;
        }
        28..=51 => {
            let position = &open[rng.below(open.len() as u64) as usize];
            book.close(login, position.position_id, position.volume, at)?;
        }
        52..=61 => {
            let position = &open[rng.below(open.len() as u64) as usize];
            let half = (position.volume / Decimal::TWO)
                .round_dp_with_strategy(2, RoundingStrategy::ToZero);
            let lots = if half > Decimal::ZERO {
                half
            } else {
                position.volume
            };
            book.close(login, position.position_id, lots, at)?;
        }
        62..=66 => {
            let position = &open[rng.below(open.len() as u64) as usize];
            let lots = position.volume + draw_lots(rng);
            book.reverse(login, position.position_id, lots, at)?;
        }
        67..=76 => {
            let opposite_pair = open.iter().find_map(|a| {
                open.iter()
                    .find(|b| b.symbol == a.symbol && b.side != a.side)
                    .map(|b| (a.position_id, b.position_id))
            });
            match opposite_pair {
                Some((a, b)) => {
                    book.close_by(login, a, b, at)?;
                }
                None => {
                    let position = &open[rng.below(open.len() as u64) as usize];
                    let hedge = match position.side {
                        DealSide::Buy => DealSide::Sell,
                        DealSide::Sell => DealSide::Buy,
                    };
                    book.open(login, &position.symbol, hedge, position.volume, at)?;
                }
            }
        }
        77..=88 => {
            let (symbol, side, lots) = (draw_symbol(rng), draw_side(rng), draw_lots(rng));
            let held_ms = 2_000 + rng.below(55_000) as i64;
            let opened = book.open(login, symbol, side, lots, at)?;
            book.close(login, opened.position_id, lots, at + held_ms)?;
        }
        89..=95 if !touched.is_empty() => {
            let ticket = touched[rng.below(touched.len() as u64) as usize];
            let correction = if rng.below(2) == 0 {
                let points = 1 + rng.below(10) as i64;
                let deal = book.deal(ticket).expect("a live trade of the book");
                DealCorrection {
                    price: Some(deal.price + Decimal::new(points, deal.digits)),
                    volume: None,
                }
            } else {
                let deal = book.deal(ticket).expect("a live trade of the book");
                DealCorrection {
                    volume: Some(deal.volume + Decimal::new(1, 2)),
                    price: None,
                }
            };
            book.correct(ticket, correction, at)?;
        }
        _ if !touched.is_empty() => {
            let ticket = touched[rng.below(touched.len() as u64) as usize];
            book.cancel(ticket, at)?;
        }
        _ => {
            let position = &open[rng.below(open.len() as u64) as usize];
            book.close(login, position.position_id, position.volume, at)?;
        }
    }
    Ok(())
}

fn draw_symbol(rng: &mut SplitMix64) -> &'static str {
    SYMBOLS[rng.below(SYMBOLS.len() as u64) as usize].name
}

fn draw_side(rng: &mut SplitMix64) -> DealSide {
    if rng.below(2) == 0 {
        DealSide::Buy
    } else {
        DealSide::Sell
    }
}

/// Mostly small tickets (0.01 to 0.50 lot), sometimes up to 3 lots.
fn draw_lots(rng: &mut SplitMix64) -> Decimal {
    let hundredths = if rng.below(10) < 8 {
        1 + rng.below(50)
    } else {
        50 + rng.below(251)
    };
    Decimal::new(hundredths as i64, 2)
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

    mod trading_mix {
        use std::collections::{BTreeMap, BTreeSet};

        use brokeros_trading::{DealAction, DealChangeKind, DealEntry, PlatformDeal};
        use time::OffsetDateTime;

        use super::super::super::book::{Book, net};
        use super::super::super::market;
        use super::super::super::records::AccountRecord;
        use super::super::{SplitMix64, TradingSession, trade_step};
        use super::*;

        const LOGIN: u64 = 100_001;
        const START: i64 = 1_772_452_800_000;

        fn book_for(currency: &str) -> Book {
            let mut book = Book::new("sim-1", None, None);
            book.read_account(
                1,
                AccountRecord {
                    login: LOGIN,
                    client_id: "client_1".into(),
                    name: "Ann Lee".into(),
                    group: "real\\retail".into(),
                    leverage: 100,
                    currency: currency.into(),
                    created_at: OffsetDateTime::UNIX_EPOCH,
                    balance: Decimal::ZERO,
                    credit: Decimal::ZERO,
                    floating_profit: Decimal::ZERO,
                    margin: Decimal::ZERO,
                },
            );
            book
        }

        fn trade(seed: u64, steps: u32, currency: &str) -> Book {
            let mut book = book_for(currency);
            let mut session = TradingSession {
                rng: SplitMix64::new(seed),
                at_msc: START,
            };
            for _ in 0..steps {
                trade_step(&mut session, &mut book, LOGIN).unwrap();
            }
            book
        }

        #[test]
        fn the_same_seed_trades_the_same_way() {
            let a: Vec<_> = trade(5, 300, "USD").appended().cloned().collect();
            let b: Vec<_> = trade(5, 300, "USD").appended().cloned().collect();
            let c: Vec<_> = trade(6, 300, "USD").appended().cloned().collect();
            assert_eq!(a, b);
            assert_ne!(a, c);
        }

        #[test]
        fn the_mix_holds_every_kind_of_deal_the_rules_need() {
            let book = trade(11, 600, "USD");
            let changes: Vec<_> = book.appended().collect();
            let entries: BTreeSet<_> = changes
                .iter()
                .map(|c| format!("{:?}", c.deal.entry))
                .collect();
            assert_eq!(entries.len(), 4, "in, out, inout and out_by: {entries:?}");
            let kinds: std::collections::HashSet<_> = changes.iter().map(|c| c.kind).collect();
            assert!(
                kinds.contains(&DealChangeKind::Corrected)
                    && kinds.contains(&DealChangeKind::Cancelled)
            );
            // A partial close leaves the position open: a later deal of the same position.
            let out_positions: Vec<u64> = changes
                .iter()
                .filter(|c| c.kind == DealChangeKind::Added && c.deal.entry == DealEntry::Out)
                .map(|c| c.deal.position_id)
                .collect();
            let closed_twice =
                out_positions.iter().collect::<BTreeSet<_>>().len() < out_positions.len();
            assert!(closed_twice, "some position closed in parts");
            // A sub-minute scalp: opened and closed within a minute.
            let opened_at: BTreeMap<u64, i64> = changes
                .iter()
                .filter(|c| c.deal.entry == DealEntry::In)
                .map(|c| (c.deal.position_id, c.deal.time_msc))
                .collect();
            assert!(changes.iter().any(|c| {
                c.deal.entry == DealEntry::Out
                    && opened_at
                        .get(&c.deal.position_id)
                        .is_some_and(|t| c.deal.time_msc - t < 60_000)
            }));
            // Hedges: the two deals of a close by name opposite positions of one symbol.
            let out_by: Vec<&PlatformDeal> = changes
                .iter()
                .filter(|c| c.kind == DealChangeKind::Added && c.deal.entry == DealEntry::OutBy)
                .map(|c| &c.deal)
                .collect();
            for pair in out_by.chunks(2) {
                assert_eq!(pair[0].order, pair[1].order);
                assert_eq!(pair[0].symbol, pair[1].symbol);
                assert_ne!(pair[0].action, pair[1].action);
                assert_ne!(pair[0].position_id, pair[1].position_id);
            }
        }

        /// Profit is the price move times contract size, lots and rate_profit, at the account
        /// currency's scale; prices sit on the market's bid or ask; the balance is the sum of
        /// what the live deals booked.
        #[test]
        fn amounts_and_prices_are_coherent() {
            for (currency, seed) in [("USD", 3u64), ("EUR", 4), ("JPY", 5)] {
                let book = trade(seed, 500, currency);
                let scale = brokeros_trading::currency_scale(currency).unwrap();
                let mut open: BTreeMap<u64, (DealSide, Decimal)> = BTreeMap::new();
                let mut latest: BTreeMap<u64, (bool, PlatformDeal)> = BTreeMap::new();
                let mut checked = 0;
                for change in book.appended() {
                    let deal = &change.deal;
                    latest.insert(
                        deal.deal,
                        (change.kind == DealChangeKind::Cancelled, deal.clone()),
                    );
                    if change.kind != DealChangeKind::Added {
                        continue;
                    }
                    assert_eq!(deal.rate_profit, simulated_usd_rate(currency).unwrap());
                    assert!(deal.market_bid < deal.market_ask);
                    assert!(deal.profit.scale() <= scale && deal.commission <= Decimal::ZERO);
                    let side = if deal.action == DealAction::Buy {
                        DealSide::Buy
                    } else {
                        DealSide::Sell
                    };
                    if deal.entry != DealEntry::OutBy {
                        let quoted = if side == DealSide::Buy {
                            deal.market_ask
                        } else {
                            deal.market_bid
                        };
                        assert_eq!(
                            deal.price, quoted,
                            "deal {} trades at the market",
                            deal.deal
                        );
                    }
                    match deal.entry {
                        DealEntry::In => {
                            open.insert(deal.position_id, (side, deal.price));
                        }
                        DealEntry::Out => {
                            if let Some((position_side, open_price)) = open.get(&deal.position_id) {
                                let spec = market::symbol(&deal.symbol).unwrap();
                                let expected = market::profit(
                                    spec,
                                    *position_side,
                                    *open_price,
                                    deal.price,
                                    deal.volume,
                                    deal.rate_profit,
                                    scale,
                                );
                                assert_eq!(deal.profit, expected, "deal {}", deal.deal);
                                let by_formula = market::at_scale(
                                    match position_side {
                                        DealSide::Buy => deal.price - open_price,
                                        DealSide::Sell => open_price - deal.price,
                                    } * deal.contract_size
                                        * deal.volume
                                        * deal.rate_profit,
                                    scale,
                                );
                                assert_eq!(deal.profit, by_formula);
                                checked += 1;
                            }
                        }
                        DealEntry::InOut => {
                            open.insert(deal.position_id, (side, deal.price));
                        }
                        DealEntry::OutBy => {}
                    }
                }
                assert!(checked > 20, "{currency}: {checked} closing deals checked");
                let booked: Decimal = latest
                    .values()
                    .filter(|(cancelled, _)| !cancelled)
                    .map(|(_, d)| net(d))
                    .sum();
                assert_eq!(book.account(LOGIN).unwrap().balance, booked, "{currency}");
            }
        }
    }
}
