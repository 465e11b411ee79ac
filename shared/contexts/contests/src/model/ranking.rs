//! The ranking: a total order of the entrants. Ranked entrants come first, by the metric
//! (higher first), then the definition's tie-breaks in order, then earlier registration, then
//! the entrant id, so no two entrants ever share a rank and equal inputs always give the same
//! order. Entrants the rules leave unranked (too few trades, a drawdown past the limit) and
//! those disqualified by hand follow without a rank.

use std::cmp::Ordering;
use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::definition::TieBreak;
use super::scoring::{Entrant, Score, ScoreStatus, ScoringRules};

/// Where an entrant stands on the leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// An entrant as the sort sees it: borrowed, small, so sorting moves little.
struct Row<'a> {
    order: u8,
    /// The metric in whole units of the finest scale among the entrants (see [`metric_units`]).
    units: i128,
    status: StandingStatus,
    entrant: &'a Entrant,
    score: &'a Score,
}

/// The finest scale a metric may have for [`metric_units`]: a mantissa below 2^96 times
/// 10^9 stays inside an `i128`.
const MAX_UNIT_SCALE: u32 = 9;

/// Every metric as a whole number of the smallest unit any of them uses, when that is exact:
/// integers compare much faster than decimals, and in the same order. `None` when a metric
/// has more decimals than [`MAX_UNIT_SCALE`] (the decimals are compared then).
fn metric_units<'a>(scores: impl Iterator<Item = &'a Score> + Clone) -> Option<Vec<i128>> {
    let scale = scores.clone().map(|s| s.metric.scale()).max().unwrap_or(0);
    (scale <= MAX_UNIT_SCALE).then(|| {
        scores
            .map(|s| s.metric.mantissa() * 10i128.pow(scale - s.metric.scale()))
            .collect()
    })
}

fn status_of(
    entrant: &Entrant,
    score: &Score,
    disqualified: &HashMap<String, String>,
) -> StandingStatus {
    if disqualified.contains_key(&entrant.id) {
        StandingStatus::Disqualified
    } else {
        match score.status {
            ScoreStatus::Ranked => StandingStatus::Ranked,
            ScoreStatus::TooFewTrades => StandingStatus::TooFewTrades,
            ScoreStatus::DrawdownExceeded => StandingStatus::DrawdownExceeded,
        }
    }
}

/// Ranks the entrants. `disqualified` names the entrants a manager disqualified (by id).
pub fn rank<'a>(
    entrants: impl IntoIterator<Item = (&'a Entrant, &'a Score)>,
    rules: &ScoringRules,
    disqualified: &HashMap<String, String>,
) -> Vec<Standing> {
    let mut rows: Vec<Row<'a>> = entrants
        .into_iter()
        .map(|(entrant, score)| {
            let status = status_of(entrant, score, disqualified);
            Row {
                order: status_order(status),
                units: 0,
                status,
                entrant,
                score,
            }
        })
        .collect();
    if let Some(units) = metric_units(rows.iter().map(|r| r.score)) {
        for (row, units) in rows.iter_mut().zip(units) {
            row.units = units;
        }
    }
    // Stable, as the order of entrants that compare equal (none, ids being unique) was.
    rows.sort_by(|a, b| {
        a.order
            .cmp(&b.order)
            .then(b.units.cmp(&a.units))
            .then_with(|| {
                order(
                    (a.status, a.score, a.entrant.registered_msc, &a.entrant.id),
                    (b.status, b.score, b.entrant.registered_msc, &b.entrant.id),
                    &rules.tie_breaks,
                )
            })
    });
    let mut ranks = 0..;
    rows.into_iter()
        .map(|row| {
            let prize_eligible = row.status == StandingStatus::Ranked
                && rules
                    .min_return_for_prize
                    .is_none_or(|min| row.score.return_ >= min);
            Standing {
                rank: (row.status == StandingStatus::Ranked)
                    .then(|| ranks.next().expect("ranks do not run out") + 1),
                entrant: row.entrant.id.clone(),
                login: row.entrant.login,
                registered_msc: row.entrant.registered_msc,
                status: row.status,
                prize_eligible,
                score: row.score.clone(),
            }
        })
        .collect()
}

/// The leaderboard's order (see the module documentation).
pub fn compare(a: &Standing, b: &Standing, tie_breaks: &[TieBreak]) -> Ordering {
    order(
        (a.status, &a.score, a.registered_msc, &a.entrant),
        (b.status, &b.score, b.registered_msc, &b.entrant),
        tie_breaks,
    )
}

/// Status, metric, tie-breaks, registration, id: [`compare`]'s order, over borrowed parts.
fn order(
    (a_status, a, a_registered, a_id): (StandingStatus, &Score, i64, &str),
    (b_status, b, b_registered, b_id): (StandingStatus, &Score, i64, &str),
    tie_breaks: &[TieBreak],
) -> Ordering {
    status_order(a_status)
        .cmp(&status_order(b_status))
        .then_with(|| b.metric.cmp(&a.metric))
        .then_with(|| {
            tie_breaks
                .iter()
                .map(|tie| by_tie_break(*tie, a, b))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
        .then_with(|| a_registered.cmp(&b_registered))
        .then_with(|| a_id.cmp(b_id))
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
}
