//! The ranking: a total order of the entrants. Ranked entrants come first, by the metric
//! (higher first), then the definition's tie-breaks in order, then earlier registration, then
//! the entrant id, so no two entrants ever share a rank and equal inputs always give the same
//! order. Entrants the rules leave unranked (too few trades, a drawdown past the limit) and
//! those disqualified by hand follow without a rank.

use std::cmp::{Ordering, Reverse};
use std::collections::HashMap;
use std::ops::Range;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::definition::TieBreak;
use super::growth::power_of_ten;
use super::scoring::{Entrant, Score, ScoreStatus, ScoringRules};

/// Where an entrant stands on the leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StandingStatus {
    Ranked,
    TooFewTrades,
    DrawdownExceeded,
    /// By a contest manager, with a reason (see the contest's audit trail).
    Disqualified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// 1 for the first; none when not ranked.
    pub rank: Option<u32>,
    pub entrant: String,
    pub login: u64,
    pub registered_msc: i64,
    pub status: StandingStatus,
    /// Ranked, and at least the contest's minimum return for a prize.
    pub prize_eligible: bool,
    pub score: Score,
}

fn by_tie_break(tie: TieBreak, a: &Score, b: &Score) -> Ordering {
    match tie {
        TieBreak::HigherProfit => b.profit.cmp(&a.profit),
        TieBreak::HigherVolume => b.volume.cmp(&a.volume),
        TieBreak::LowerDrawdown => a.max_drawdown.cmp(&b.max_drawdown),
        TieBreak::MoreTrades => b.trades.cmp(&a.trades),
        TieBreak::FewerTrades => a.trades.cmp(&b.trades),
    }
}

fn status_order(status: StandingStatus) -> u8 {
    match status {
        StandingStatus::Ranked => 0,
        StandingStatus::TooFewTrades => 1,
        StandingStatus::DrawdownExceeded => 2,
        StandingStatus::Disqualified => 3,
    }
}

/// What the leaderboard's order reads of an entrant.
#[derive(Clone, Copy)]
struct Placing<'a> {
    status: StandingStatus,
    score: &'a Score,
    registered_msc: i64,
    entrant: &'a str,
}

impl Placing<'_> {
    /// The leaderboard's order (see the module documentation).
    fn order(self, other: Placing, tie_breaks: &[TieBreak]) -> Ordering {
        status_order(self.status)
            .cmp(&status_order(other.status))
            .then_with(|| other.score.metric.cmp(&self.score.metric))
            .then_with(|| self.order_among_equals(other, tie_breaks))
    }

    /// The order of two entrants with the same status and metric.
    fn order_among_equals(self, other: Placing, tie_breaks: &[TieBreak]) -> Ordering {
        let (a, b) = (self, other);
        tie_breaks
            .iter()
            .map(|tie| by_tie_break(*tie, a.score, b.score))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.registered_msc.cmp(&b.registered_msc))
            .then_with(|| a.entrant.cmp(b.entrant))
    }
}

impl Standing {
    fn placing(&self) -> Placing<'_> {
        Placing {
            status: self.status,
            score: &self.score,
            registered_msc: self.registered_msc,
            entrant: &self.entrant,
        }
    }
}

/// The leaderboard's order (see the module documentation).
pub fn compare(a: &Standing, b: &Standing, tie_breaks: &[TieBreak]) -> Ordering {
    a.placing().order(b.placing(), tie_breaks)
}

/// The entrants in the leaderboard's order, each [`Standing`] made only when read: ranking
/// 100,000 entrants sorts small rows (what the order reads first copied into each) rather than
/// 100,000 standings with their own ids and scores, and a leaderboard page makes its 50.
pub struct Ranking<'a> {
    entrants: Vec<(&'a Entrant, &'a Score)>,
    /// In the leaderboard's order.
    rows: Vec<Row>,
    min_return_for_prize: Option<Decimal>,
}

/// An entrant in the sort: its status, its metric as a whole number (see [`whole_numbers`]),
/// and where its entrant and score are.
#[derive(Clone, Copy)]
struct Row {
    status: StandingStatus,
    metric: i128,
    entrant: u32,
}

/// The metrics as whole numbers at the largest scale among them (1.5 and 2.25 as 150 and 225),
/// which sort as the decimals do and compare faster; none in the rare case where one does not
/// fit an `i128` at that scale.
fn whole_numbers<I: Iterator<Item = Decimal> + Clone>(values: I) -> Option<Vec<i128>> {
    let scale = values.clone().map(|v| v.scale()).max().unwrap_or(0);
    values
        .map(|v| power_of_ten(scale - v.scale())?.checked_mul(v.mantissa()))
        .collect()
}

/// The tie-breaks of a run of entrants with one status and metric, each a column of whole
/// numbers (see [`whole_numbers`]) in which smaller comes first: the run is sorted by reading
/// these side by side rather than each entrant's score through a reference, a run of
/// thousands of equal metrics being common (the drawdown-disqualified all at -1, say).
struct TieKeys {
    columns: Vec<Vec<i128>>,
}

impl TieKeys {
    /// None when some column does not fit whole numbers at one scale.
    fn of(placings: &[Placing], tie_breaks: &[TieBreak]) -> Option<TieKeys> {
        let decimals = |value: fn(&Score) -> Decimal, higher_first: bool| {
            let mut whole = whole_numbers(placings.iter().map(|p| value(p.score)))?;
            if higher_first {
                // Whole numbers come from 96-bit mantissas: never i128::MIN.
                whole.iter_mut().for_each(|w| *w = -*w);
            }
            Some(whole)
        };
        let trades = |higher_first: bool| {
            let trades = placings.iter().map(|p| i128::from(p.score.trades));
            Some(trades.map(|t| if higher_first { -t } else { t }).collect())
        };
        let mut columns: Vec<Vec<i128>> = tie_breaks
            .iter()
            .map(|tie| match tie {
                TieBreak::HigherProfit => decimals(|s| s.profit, true),
                TieBreak::HigherVolume => decimals(|s| s.volume, true),
                TieBreak::LowerDrawdown => decimals(|s| s.max_drawdown, false),
                TieBreak::MoreTrades => trades(true),
                TieBreak::FewerTrades => trades(false),
            })
            .collect::<Option<_>>()?;
        columns.push(
            placings
                .iter()
                .map(|p| i128::from(p.registered_msc))
                .collect(),
        );
        Some(TieKeys { columns })
    }

    /// [`Placing::order_among_equals`] of the run's `a`-th and `b`-th entrants.
    fn order(&self, a: u32, b: u32, placings: &[Placing]) -> Ordering {
        let (a, b) = (a as usize, b as usize);
        self.columns
            .iter()
            .map(|column| column[a].cmp(&column[b]))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| placings[a].entrant.cmp(placings[b].entrant))
    }
}

impl<'a> Ranking<'a> {
    /// Ranks the entrants. `disqualified` names the entrants a manager disqualified (by id).
    pub fn new(
        entrants: impl IntoIterator<Item = (&'a Entrant, &'a Score)>,
        rules: &ScoringRules,
        disqualified: &HashMap<String, String>,
    ) -> Ranking<'a> {
        let entrants: Vec<(&Entrant, &Score)> = entrants.into_iter().collect();
        let whole = whole_numbers(entrants.iter().map(|(_, score)| score.metric));
        // Without whole numbers, every row ties on the first keys and the whole order decides.
        let exact = whole.is_some();
        let mut rows: Vec<Row> = entrants
            .iter()
            .zip(whole.unwrap_or_else(|| vec![0; entrants.len()]))
            .enumerate()
            .map(|(i, ((entrant, score), metric))| Row {
                status: standing_status(entrant, score, disqualified),
                metric,
                entrant: i as u32,
            })
            .collect();
        let tie_breaks = &rules.tie_breaks;
        let placing = |row: &Row| {
            let (entrant, score) = entrants[row.entrant as usize];
            Placing {
                status: row.status,
                score,
                registered_msc: entrant.registered_msc,
                entrant: &entrant.id,
            }
        };
        // By status and metric first, reading only the rows; then each run of equal metrics (a
        // few thousand entrants may share one, -1 in a return over drawdown that only fell) by
        // the whole order, which reads the scores and the entrants.
        let first_keys = |row: &Row| (status_order(row.status), Reverse(row.metric));
        // Unstable: every run of equal first keys is put in the whole order next.
        rows.sort_unstable_by_key(first_keys);
        for tied in rows.chunk_by_mut(|a, b| first_keys(a) == first_keys(b)) {
            if tied.len() < 2 {
                continue;
            }
            let placings: Vec<Placing> = tied.iter().map(placing).collect();
            let mut order: Vec<u32> = (0..tied.len() as u32).collect();
            match exact.then(|| TieKeys::of(&placings, tie_breaks)).flatten() {
                Some(keys) => order.sort_by(|&a, &b| keys.order(a, b, &placings)),
                None => order.sort_by(|&a, &b| {
                    let (a, b) = (placings[a as usize], placings[b as usize]);
                    if exact {
                        a.order_among_equals(b, tie_breaks)
                    } else {
                        a.order(b, tie_breaks)
                    }
                }),
            }
            let sorted: Vec<Row> = order.iter().map(|&i| tied[i as usize]).collect();
            tied.copy_from_slice(&sorted);
        }
        Ranking {
            entrants,
            rows,
            min_return_for_prize: rules.min_return_for_prize,
        }
    }

    /// How many entrants are ranked or not.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The standing at `position` in the leaderboard's order (0 is the first).
    pub fn standing(&self, position: usize) -> Standing {
        let row = &self.rows[position];
        let (entrant, score) = self.entrants[row.entrant as usize];
        let ranked = row.status == StandingStatus::Ranked;
        Standing {
            // The ranked come first.
            rank: ranked.then_some(position as u32 + 1),
            entrant: entrant.id.clone(),
            login: entrant.login,
            registered_msc: entrant.registered_msc,
            status: row.status,
            prize_eligible: ranked
                && self
                    .min_return_for_prize
                    .is_none_or(|min| score.return_ >= min),
            score: score.clone(),
        }
    }

    /// The standings at `positions` (those past the end left out).
    pub fn standings(&self, positions: Range<usize>) -> Vec<Standing> {
        (positions.start.min(self.len())..positions.end.min(self.len()))
            .map(|position| self.standing(position))
            .collect()
    }
}

fn standing_status(
    entrant: &Entrant,
    score: &Score,
    disqualified: &HashMap<String, String>,
) -> StandingStatus {
    if disqualified.contains_key(&entrant.id) {
        return StandingStatus::Disqualified;
    }
    match score.status {
        ScoreStatus::Ranked => StandingStatus::Ranked,
        ScoreStatus::TooFewTrades => StandingStatus::TooFewTrades,
        ScoreStatus::DrawdownExceeded => StandingStatus::DrawdownExceeded,
    }
}

/// Every entrant's standing, in the leaderboard's order. `disqualified` names the entrants a
/// manager disqualified (by id).
pub fn rank<'a>(
    entrants: impl IntoIterator<Item = (&'a Entrant, &'a Score)>,
    rules: &ScoringRules,
    disqualified: &HashMap<String, String>,
) -> Vec<Standing> {
    let ranking = Ranking::new(entrants, rules, disqualified);
    ranking.standings(0..ranking.len())
}

/// The metric as the leaderboard shows it (a return in percent with two decimals).
pub fn shown_metric(value: Decimal) -> Decimal {
    value.round_dp(4).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scoring::tests::{START, definition};
    use serde_json::json;

    fn score(metric: i64, profit: i64, trades: u32) -> Score {
        Score {
            status: ScoreStatus::Ranked,
            metric: Decimal::from(metric),
            return_: Decimal::from(metric),
            profit: Decimal::from(profit),
            volume: Decimal::ONE,
            max_drawdown: Decimal::ZERO,
            trades,
            excluded_trades: 0,
            cash_flows: 0,
        }
    }

    fn entrant(id: &str, registered: i64) -> Entrant {
        Entrant {
            id: id.into(),
            login: 1,
            registered_msc: registered,
        }
    }

    #[test]
    fn ties_fall_to_the_tie_breaks_then_registration_then_id() {
        let mut d = definition(
            json!({"kind": "return"}),
            json!({"min_return_for_prize": "1"}),
        );
        d.tie_breaks = vec![TieBreak::HigherProfit];
        let rules = ScoringRules::of(&d);
        let entrants = [
            entrant("a", START + 2),
            entrant("b", START + 1),
            entrant("c", START + 1),
            entrant("d", START),
            entrant("e", START),
        ];
        let mut unranked = score(9, 0, 0);
        unranked.status = ScoreStatus::TooFewTrades;
        let scores = [
            score(5, 10, 3),
            score(5, 10, 3),
            score(5, 10, 3),
            score(5, 20, 3),
            unranked,
        ];
        let mut disqualified = HashMap::new();
        let standings = rank(entrants.iter().zip(scores.iter()), &rules, &disqualified);
        let order: Vec<(&str, Option<u32>)> = standings
            .iter()
            .map(|s| (s.entrant.as_str(), s.rank))
            .collect();
        assert_eq!(
            order,
            [
                ("d", Some(1)),
                ("b", Some(2)),
                ("c", Some(3)),
                ("a", Some(4)),
                ("e", None)
            ]
        );
        assert!(standings[0].prize_eligible);
        disqualified.insert("d".to_string(), "hedging with another entrant".to_string());
        let standings = rank(entrants.iter().zip(scores.iter()), &rules, &disqualified);
        assert_eq!(standings[0].entrant, "b");
        assert_eq!(
            standings.last().unwrap().status,
            StandingStatus::Disqualified
        );
    }

    #[test]
    fn metrics_too_wide_for_one_scale_are_compared_as_decimals() {
        let rules = ScoringRules::of(&definition(json!({"kind": "return"}), json!({})));
        let mut huge = score(0, 0, 1);
        huge.metric = Decimal::MAX;
        let mut tiny = score(0, 0, 1);
        tiny.metric = Decimal::new(1, 28);
        let mut below = score(0, 0, 1);
        below.metric = Decimal::new(-1, 28);
        let scores = [tiny, below, huge];
        // MAX at 28 decimals does not fit an i128
        assert_eq!(whole_numbers(scores.iter().map(|s| s.metric)), None);
        let entrants = [
            entrant("a", START),
            entrant("b", START),
            entrant("c", START),
        ];
        let standings = rank(entrants.iter().zip(scores.iter()), &rules, &HashMap::new());
        let order: Vec<&str> = standings.iter().map(|s| s.entrant.as_str()).collect();
        assert_eq!(order, ["c", "a", "b"]);
    }

    #[test]
    fn a_page_is_the_standings_at_its_positions() {
        let rules = ScoringRules::of(&definition(json!({"kind": "return"}), json!({})));
        let entrants: Vec<Entrant> = (0..5).map(|i| entrant(&format!("e{i}"), START)).collect();
        let scores: Vec<Score> = (0..5).map(|i| score(i % 3, i, 1)).collect();
        let ranking = Ranking::new(entrants.iter().zip(scores.iter()), &rules, &HashMap::new());
        let all = rank(entrants.iter().zip(scores.iter()), &rules, &HashMap::new());
        assert_eq!(ranking.standings(1..3), all[1..3]);
        assert_eq!(ranking.standings(3..50), all[3..]);
        assert!(ranking.standings(7..9).is_empty());
        assert_eq!(ranking.standing(0), all[0]);
    }
}
