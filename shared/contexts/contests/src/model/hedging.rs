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

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::definition::HedgeReview;
use super::scoring::{Body, Scoring, Side};

/// The matches a flag keeps as examples.
pub const EXAMPLES_PER_FLAG: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    side: Side,
    book: u32,
    deal: u64,
}

/// The pairs of entrants whose trades matched as hedges at least `review.min_pairs` times.
pub fn hedging_flags(scoring: &Scoring, review: &HedgeReview) -> Vec<HedgeFlag> {
    let rules = scoring.rules();
    let window = i64::from(review.window_seconds) * 1000;
    let mut found: BTreeMap<(u32, u32), Matches> = BTreeMap::new();
    let symbols = scoring.symbols_len();
    // One symbol at a time: only that symbol's trades are held besides the books.
    for symbol in 0..symbols as u32 {
        let mut trades: Vec<Opened> = Vec::new();
        for (book_index, book) in scoring.books.iter().enumerate() {
            for event in &book.events {
                if let Body::Trade {
                    opened,
                    volume,
                    symbol: s,
                    side,
                    ..
                } = event.body
                    && s == symbol
                    && opened >= rules.from_msc
                    && event.at < rules.until_msc
                {
                    trades.push(Opened {
                        opened,
                        closed: event.at,
                        volume,
                        side,
                        book: book_index as u32,
                        deal: event.id,
                    });
                }
            }
        }
        trades.sort_unstable_by_key(|t| (t.opened, t.book, t.deal));
        for (i, a) in trades.iter().enumerate() {
            for b in trades[i + 1..]
                .iter()
                .take_while(|b| b.opened - a.opened <= window)
            {
                let matched = a.book != b.book
                    && a.side != b.side
                    && a.opened < b.closed
                    && b.opened < a.closed
                    && (a.volume - b.volume).abs()
                        <= review.volume_tolerance * a.volume.max(b.volume);
                if !matched {
                    continue;
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
            }
        }
    }
    let mut flags: Vec<HedgeFlag> = found
        .into_iter()
        .filter(|(_, m)| m.pairs >= review.min_pairs)
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
