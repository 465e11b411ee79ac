//! Hedging between entries: two entrants who open opposite positions of one symbol at nearly
//! the same time with nearly the same volume, again and again, are one bet split across two
//! accounts (one of them wins whatever the market does). Such pairs are flagged for a contest
//! manager to review, never disqualified by the engine: a few coincidences are normal in a
//! large contest, so a pair is flagged only after `min_pairs` matches.
//!
//! A match: trades of two different entrants in the contest period, same symbol, opposite
//! sides, opened within `window_seconds` of each other, open at the same time, and volumes
//! within `volume_tolerance` of the larger.

use std::collections::BTreeMap;
use utoipa::ToSchema;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::definition::HedgeReview;
use super::scoring::{Body, Scoring, Side};

/// The matches a flag keeps as examples.
pub const EXAMPLES_PER_FLAG: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HedgeFlag {
    /// The two entrants, in id order.
    pub entrants: [String; 2],
    pub logins: [u64; 2],
    /// How many matched pairs of trades.
    pub pairs: u32,
    /// The symbols they matched on.
    pub symbols: Vec<String>,
    /// Up to [`EXAMPLES_PER_FLAG`] matched pairs of closing deals, each as the entrants are listed.
    pub examples: Vec<[u64; 2]>,
}

/// What the matches of one pair of entrants add up to: pairs, symbol ids, examples.
#[derive(Default)]
struct Matches {
    pairs: u32,
    symbols: Vec<u32>,
    examples: Vec<[u64; 2]>,
}

#[derive(Clone, Copy)]
struct Opened {
    opened: i64,
    closed: i64,
    volume: Decimal,
    /// The volume in whole units of the smallest lot fraction among the symbol's trades, when
    /// [`Tolerance::Exact`] compares them.
    units: u64,
    deal: u64,
    book: u32,
    side: Side,
}

impl Opened {
    /// The review's order: when opened, then whose, then which deal (and when it closed, so no
    /// two trades tie and the order never depends on the order they were gathered in).
    fn key(&self) -> (i64, u32, u64, i64) {
        (self.opened, self.book, self.deal, self.closed)
    }
}

/// How two volumes are compared against the tolerance: as whole numbers when every volume of
/// the symbol and the tolerance have few enough decimals for the products to stay exact (the
/// same answer as the decimals give, without their arithmetic in the innermost loop), as
/// decimals otherwise.
#[derive(Clone, Copy)]
enum Tolerance {
    /// `|a − b| · 10^scale ≤ mantissa · max(a, b)`, volumes in `units`.
    Exact {
        mantissa: u128,
        scale_factor: u128,
    },
    Decimal(Decimal),
}

/// Volumes and the tolerance are exact whole numbers below these bounds: 2^60 · 10^9 and
/// 10^9 · 2^60 stay far inside `u128`.
const MAX_UNITS: u64 = 1 << 60;
const MAX_EXACT_SCALE: u32 = 9;

impl Tolerance {
    /// Sets the trades' `units` when the whole-number comparison applies.
    fn for_trades(tolerance: Decimal, trades: &mut [Opened]) -> Tolerance {
        let decimal = Tolerance::Decimal(tolerance);
        let scale = trades.iter().map(|t| t.volume.scale()).max().unwrap_or(0);
        if tolerance.scale() > MAX_EXACT_SCALE
            || tolerance.is_sign_negative()
            || scale > MAX_EXACT_SCALE
        {
            return decimal;
        }
        for trade in trades.iter_mut() {
            let units = trade.volume.mantissa() * 10i128.pow(scale - trade.volume.scale());
            match u64::try_from(units) {
                Ok(units) if units < MAX_UNITS => trade.units = units,
                _ => return decimal,
            }
        }
        Tolerance::Exact {
            mantissa: tolerance.mantissa() as u128,
            scale_factor: 10u128.pow(tolerance.scale()),
        }
    }

    fn within(&self, a: &Opened, b: &Opened) -> bool {
        match *self {
            Tolerance::Exact {
                mantissa,
                scale_factor,
            } => {
                u128::from(a.units.abs_diff(b.units)) * scale_factor
                    <= mantissa * u128::from(a.units.max(b.units))
            }
            Tolerance::Decimal(tolerance) => {
                (a.volume - b.volume).abs() <= tolerance * a.volume.max(b.volume)
            }
        }
    }
}

/// Calls `found` with each matching pair of `trades` (one symbol's, sorted by [`Opened::key`]),
/// the earlier opened first.
fn each_match(
    trades: &[Opened],
    window: i64,
    tolerance: Tolerance,
    mut found: impl FnMut(&Opened, &Opened),
) {
    for (i, a) in trades.iter().enumerate() {
        for b in trades[i + 1..]
            .iter()
            .take_while(|b| b.opened - a.opened <= window)
        {
            if a.book != b.book
                && a.side != b.side
                && a.opened < b.closed
                && b.opened < a.closed
                && tolerance.within(a, b)
            {
                found(a, b);
            }
        }
    }
}

fn pair_key(a: u32, b: u32) -> u64 {
    (u64::from(a.min(b)) << 32) | u64::from(a.max(b))
}

/// The pairs of entrants whose trades matched as hedges at least `review.min_pairs` times.
///
/// Two passes, so memory holds one symbol's trades and a number per match rather than a
/// record per pair of entrants (in a large contest most pairs match once, by coincidence):
/// the first counts the matches of every pair, the second gathers the symbols and examples of
/// the pairs flagged, reading only their entrants' trades.
pub fn hedging_flags(scoring: &Scoring, review: &HedgeReview) -> Vec<HedgeFlag> {
    let rules = scoring.rules();
    let (from, until) = (rules.from_msc, rules.until_msc);
    let window = i64::from(review.window_seconds) * 1000;
    let symbols = scoring.symbols_len();
    let books = &scoring.books;

    // Where each symbol's trades of the period are, by their place among all the events.
    let mut places: Vec<Vec<u32>> = vec![Vec::new(); symbols];
    let mut place = 0u32;
    for book in books {
        for event in &book.events {
            if let Body::Trade { opened, symbol, .. } = event.body
                && opened >= from
                && event.at < until
            {
                places[symbol as usize].push(place);
            }
            place = place
                .checked_add(1)
                .expect("fewer than 2^32 events are held");
        }
    }

    let gather = |book: usize, at: usize, out: &mut Vec<Opened>| {
        let event = &books[book].events[at];
        if let Body::Trade {
            opened,
            volume,
            side,
            ..
        } = event.body
        {
            out.push(Opened {
                opened,
                closed: event.at,
                volume,
                units: 0,
                deal: event.id,
                book: book as u32,
                side,
            });
        }
    };

    let mut matched: Vec<u64> = Vec::new();
    let mut trades: Vec<Opened> = Vec::new();
    for places in places.iter_mut() {
        let (mut book, mut first) = (0usize, 0usize);
        trades.clear();
        for &place in places.iter() {
            let place = place as usize;
            while place >= first + books[book].events.len() {
                first += books[book].events.len();
                book += 1;
            }
            gather(book, place - first, &mut trades);
        }
        *places = Vec::new();
        trades.sort_unstable_by_key(Opened::key);
        let tolerance = Tolerance::for_trades(review.volume_tolerance, &mut trades);
        each_match(&trades, window, tolerance, |a, b| {
            matched.push(pair_key(a.book, b.book))
        });
    }
    drop(places);
    matched.sort_unstable();
    let min_pairs = review.min_pairs.max(1) as usize;
    let mut flagged: Vec<u64> = matched
        .chunk_by(|a, b| a == b)
        .filter(|run| run.len() >= min_pairs)
        .map(|run| run[0])
        .collect();
    drop(matched);
    flagged.sort_unstable();
    if flagged.is_empty() {
        return Vec::new();
    }
    let mut of_a_flag = vec![false; books.len()];
    for key in &flagged {
        of_a_flag[(key >> 32) as usize] = true;
        of_a_flag[(key & u64::from(u32::MAX)) as usize] = true;
    }

    let mut found: BTreeMap<(u32, u32), Matches> = BTreeMap::new();
    for symbol in 0..symbols as u32 {
        trades.clear();
        for (b, book) in books.iter().enumerate() {
            if !of_a_flag[b] {
                continue;
            }
            for (at, event) in book.events.iter().enumerate() {
                if let Body::Trade {
                    opened, symbol: s, ..
                } = event.body
                    && s == symbol
                    && opened >= from
                    && event.at < until
                {
                    gather(b, at, &mut trades);
                }
            }
        }
        trades.sort_unstable_by_key(Opened::key);
        let tolerance = Tolerance::for_trades(review.volume_tolerance, &mut trades);
        each_match(&trades, window, tolerance, |a, b| {
            if flagged.binary_search(&pair_key(a.book, b.book)).is_err() {
                return;
            }
            let (first, second) = if a.book < b.book { (a, b) } else { (b, a) };
            let matches = found.entry((first.book, second.book)).or_default();
            matches.pairs += 1;
            if !matches.symbols.contains(&symbol) {
                matches.symbols.push(symbol);
            }
            if matches.examples.len() < EXAMPLES_PER_FLAG {
                matches.examples.push([first.deal, second.deal]);
            }
        });
    }
    let mut flags: Vec<HedgeFlag> = found
        .into_iter()
        .map(|((a, b), m)| {
            let Matches {
                pairs,
                symbols,
                examples,
            } = m;
            let (a, b) = (
                &scoring.books[a as usize].entrant,
                &scoring.books[b as usize].entrant,
            );
            let (a, b, examples) = if a.id <= b.id {
                (a, b, examples)
            } else {
                (b, a, examples.into_iter().map(|[x, y]| [y, x]).collect())
            };
            HedgeFlag {
                entrants: [a.id.clone(), b.id.clone()],
                logins: [a.login, b.login],
                pairs,
                symbols: symbols
                    .iter()
                    .map(|s| scoring.symbols.name(*s).to_string())
                    .collect(),
                examples,
            }
        })
        .collect();
    flags.sort_by(|x, y| x.entrants.cmp(&y.entrants));
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scoring::Entrant;
    use crate::model::scoring::tests::{MINUTE, START, definition, trade};
    use serde_json::json;

    #[test]
    fn whole_number_volumes_compare_as_the_decimals_do() {
        let trade = |lots: &str| Opened {
            opened: 0,
            closed: 1,
            volume: lots.parse().unwrap(),
            units: 0,
            deal: 0,
            book: 0,
            side: Side::Buy,
        };
        for (tolerance, a, b, within) in [
            ("0.2", "1", "0.8", true),
            ("0.2", "1.00", "0.799", false),
            ("0.25", "0.04", "0.03", true),
            ("0", "2.5", "2.50", true),
            ("0", "2.5", "2.51", false),
            ("1", "100", "0.001", true),
        ] {
            let tolerance: Decimal = tolerance.parse().unwrap();
            let mut trades = [trade(a), trade(b)];
            let exact = Tolerance::for_trades(tolerance, &mut trades);
            assert!(matches!(exact, Tolerance::Exact { .. }));
            assert_eq!(exact.within(&trades[0], &trades[1]), within, "{a} {b}");
            let decimal = Tolerance::Decimal(tolerance);
            assert_eq!(decimal.within(&trades[0], &trades[1]), within, "{a} {b}");
        }
        // More decimals than the whole numbers hold: the decimals decide.
        let mut trades = [trade("1"), trade("0.8")];
        let fine = Tolerance::for_trades("0.2000000000".parse().unwrap(), &mut trades);
        assert!(matches!(fine, Tolerance::Decimal(_)));
        assert!(fine.within(&trades[0], &trades[1]));
    }

    #[test]
    fn repeated_opposite_trades_of_two_entrants_are_flagged_once_enough() {
        let d = definition(json!({"kind": "profit"}), json!({}));
        let mut s = Scoring::new(&d);
        for login in 1..=3u64 {
            s.enter(Entrant {
                id: format!("e{login}"),
                login,
                registered_msc: START,
            })
            .unwrap();
        }
        let mut deal = 100;
        let mut pair = |s: &mut Scoring, at: i64, lag: i64, other: u64, volume: Decimal| {
            deal += 2;
            let long = trade(deal, 1, at, at + 10 * MINUTE, 50);
            let mut short = trade(deal + 1, other, at + lag, at + 10 * MINUTE, -50);
            short.side = Side::Sell;
            short.volume = volume;
            s.add_trade(&long).unwrap();
            s.add_trade(&short).unwrap();
        };
        pair(&mut s, START, 5_000, 2, Decimal::ONE);
        s.update();
        assert!(
            hedging_flags(&s, &d.hedging).is_empty(),
            "one match is a coincidence"
        );
        pair(&mut s, START + 60 * MINUTE, 20_000, 2, Decimal::new(9, 1));
        // too late, and too different in volume: no match with entrant 3
        pair(&mut s, START + 120 * MINUTE, 61_000, 3, Decimal::ONE);
        pair(&mut s, START + 180 * MINUTE, 0, 3, Decimal::new(5, 1));
        s.update();
        let flags = hedging_flags(&s, &d.hedging);
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].entrants, ["e1".to_string(), "e2".to_string()]);
        assert_eq!(flags[0].pairs, 2);
        assert_eq!(flags[0].symbols, ["EURUSD"]);
        assert_eq!(flags[0].examples[0], [102, 103]);
    }
}
