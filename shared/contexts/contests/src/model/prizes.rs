//! Prizes proposed from a final ranking: each leaderboard rank the prize table pays goes to the
//! entrant at that rank when they are eligible (ranked, and at or above the minimum return for
//! a prize); a rank whose entrant is not eligible, or that nobody reached, is withheld with its
//! reason, never passed down to the next entrant. The transfer id of a prize is the contest
//! and the rank, so paying a proposal twice pays nothing twice.

use brokeros_kernel::money::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::definition::{ContestDefinition, PrizePayment};
use super::ranking::Standing;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Award {
    pub rank: u32,
    pub entrant: String,
    pub login: u64,
    pub amount: Decimal,
    pub payment: PrizePayment,
    /// `contest:<contest>:rank:<rank>`: the ledger transfer or platform operation that pays it.
    pub transfer_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Withheld {
    /// The entrant at this rank did not reach the minimum return for a prize.
    BelowMinimumReturn,
    /// Fewer entrants were ranked than the prize table pays.
    RankNotReached,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WithheldPrize {
    pub rank: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrant: Option<String>,
    pub amount: Decimal,
    pub reason: Withheld,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrizeProposal {
    pub currency: String,
    pub awards: Vec<Award>,
    pub withheld: Vec<WithheldPrize>,
    /// The sum of the awards.
    pub total: Decimal,
}

/// The id that pays rank `rank` of contest `contest`, the same on every run.
pub fn transfer_id(contest: &str, rank: u32) -> String {
    format!("contest:{contest}:rank:{rank}")
}

/// The prizes `standings` (a final ranking) earn under `definition`.
pub fn propose(definition: &ContestDefinition, standings: &[Standing]) -> PrizeProposal {
    let currency: Currency = definition.currency();
    let mut awards = Vec::new();
    let mut withheld = Vec::new();
    for rank in 1..=definition.prizes.last_rank() {
        let amount = definition.prizes.for_rank(rank, currency);
        if amount.is_zero() {
            continue;
        }
        match standings.iter().find(|s| s.rank == Some(rank)) {
            Some(s) if s.prize_eligible => awards.push(Award {
                rank,
                entrant: s.entrant.clone(),
                login: s.login,
                amount,
                payment: definition.prizes.payment.clone(),
                transfer_id: transfer_id(&definition.id, rank),
            }),
            Some(s) => withheld.push(WithheldPrize {
                rank,
                entrant: Some(s.entrant.clone()),
                amount,
                reason: Withheld::BelowMinimumReturn,
            }),
            None => withheld.push(WithheldPrize {
                rank,
                entrant: None,
                amount,
                reason: Withheld::RankNotReached,
            }),
        }
    }
    let total = awards.iter().map(|a| a.amount).sum();
    PrizeProposal {
        currency: definition.currency.clone(),
        awards,
        withheld,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ranking::{StandingStatus, rank};
    use crate::model::scoring::tests::{MINUTE, START, definition, flow, trade};
    use crate::model::scoring::{Entrant, Scoring, ScoringRules};
    use serde_json::json;
    use std::collections::HashMap;

    #[test]
    fn each_paid_rank_goes_to_its_eligible_entrant_once() {
        let d = definition(
            json!({"kind": "return"}),
            json!({"min_return_for_prize": "0.05"}),
        );
        let mut s = Scoring::new(&d);
        for (login, gain) in [(1u64, 200i64), (2, 30), (3, 100)] {
            s.enter(Entrant {
                id: format!("e{login}"),
                login,
                registered_msc: START,
            })
            .unwrap();
            s.add_cash_flow(&flow(login * 10, login, START, 1000))
                .unwrap();
            s.add_trade(&trade(login * 10 + 1, login, START, START + MINUTE, gain))
                .unwrap();
        }
        s.update();
        let standings = rank(s.scores(), &ScoringRules::of(&d), &HashMap::new());
        assert!(standings.iter().all(|s| s.status == StandingStatus::Ranked));
        let proposal = propose(&d, &standings);
        let paid: Vec<(u32, &str)> = proposal
            .awards
            .iter()
            .map(|a| (a.rank, a.entrant.as_str()))
            .collect();
        assert_eq!(paid, [(1, "e1"), (2, "e3")]);
        assert_eq!(proposal.awards[0].transfer_id, "contest:cup:rank:1");
        assert_eq!(proposal.total, Decimal::new(20000, 2));
        assert_eq!(proposal.withheld[0].reason, Withheld::BelowMinimumReturn);
        assert_eq!(proposal.withheld[0].rank, 3);
    }
}
