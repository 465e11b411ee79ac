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

/// Ranks the entrants. `disqualified` names the entrants a manager disqualified (by id).
pub fn rank<'a>(
    entrants: impl IntoIterator<Item = (&'a Entrant, &'a Score)>,
    rules: &ScoringRules,
    disqualified: &HashMap<String, String>,
) -> Vec<Standing> {
    let mut standings: Vec<Standing> = entrants
        .into_iter()
        .map(|(entrant, score)| {
            let status = if disqualified.contains_key(&entrant.id) {
                StandingStatus::Disqualified
            } else {
                match score.status {
                    ScoreStatus::Ranked => StandingStatus::Ranked,
                    ScoreStatus::TooFewTrades => StandingStatus::TooFewTrades,
                    ScoreStatus::DrawdownExceeded => StandingStatus::DrawdownExceeded,
                }
            };
            let prize_eligible = status == StandingStatus::Ranked
                && rules
                    .min_return_for_prize
                    .is_none_or(|min| score.return_ >= min);
            Standing {
                rank: None,
                entrant: entrant.id.clone(),
                login: entrant.login,
                registered_msc: entrant.registered_msc,
                status,
                prize_eligible,
                score: score.clone(),
            }
        })
        .collect();
    standings.sort_by(|a, b| compare(a, b, &rules.tie_breaks));
    for (i, standing) in standings
        .iter_mut()
        .take_while(|s| s.status == StandingStatus::Ranked)
        .enumerate()
    {
        standing.rank = Some(i as u32 + 1);
    }
    standings
}

/// The leaderboard's order (see the module documentation).
pub fn compare(a: &Standing, b: &Standing, tie_breaks: &[TieBreak]) -> Ordering {
    status_order(a.status)
        .cmp(&status_order(b.status))
        .then_with(|| b.score.metric.cmp(&a.score.metric))
        .then_with(|| {
            tie_breaks
                .iter()
                .map(|tie| by_tie_break(*tie, &a.score, &b.score))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
        .then_with(|| a.registered_msc.cmp(&b.registered_msc))
        .then_with(|| a.entrant.cmp(&b.entrant))
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
