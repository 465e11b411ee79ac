//! Prizes after a contest: proposed from the final ranking, approved by a second person
//! (maker-checker through the approvals context: whoever published the contest proposes, finance
//! or an admin approves), paid each under its transfer id (`contest:<contest>:rank:<rank>`) —
//! cash through the ledger into the winner's wallet, or trading credit on the entry account
//! through the platform's credit operation — and each winner notified once.
//!
//! The round is an audited entity (`contest_prizes`, one per contest): its proposal, the
//! approval process it waits on, what is paid and notified. A rejected round may be proposed
//! again (the next attempt, with its own approval); nothing is ever paid twice: a ledger
//! transfer is keyed by its id, a platform operation by its operation id, and the round records
//! each award it paid in the same changeset as the ledger entry.

use std::collections::BTreeMap;
use utoipa::ToSchema;

use brokeros_approvals::{NewProcess, Outcome, ProcessType, StartFacts, Subject, Vote};
use brokeros_kernel::changeset::{Changeset, Committed};
use brokeros_kernel::idempotency::execute;
use brokeros_kernel::money::{Currency, Money};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::workflow::unless_not_waiting;
use brokeros_kernel::{Error, OpContext, Result};
use brokeros_ledger::Staged;
use brokeros_ledger::model::{AccountId, Transfer, TransferId};
use brokeros_trading::{BalanceOperation, BalanceOperationKind, platform_error};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::Services;
use crate::live::Roster;
use crate::model::definition::PrizePayment;
use crate::model::prizes::{PrizeProposal, propose};
use crate::model::ranking::Standing;

/// The error a rejected round fails the waiting workflow task with.
pub const PRIZES_REJECTED: &str = "ContestPrizesRejected";

/// Awards one call of [`pay_next`] pays.
pub const AWARDS_PER_CALL: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    /// Waiting for the approval.
    Proposed,
    Approved,
    Rejected,
    /// Every award paid (and then notified).
    Paid,
}

/// An award as paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaidAward {
    pub rank: u32,
    pub transfer_id: String,
    /// The platform's ticket of a credit prize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_deal: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A contest's prize round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrizeRound {
    /// The contest's id.
    pub contest: String,
    /// 1 for the first proposal, one more after each rejection.
    pub attempt: u32,
    pub status: RoundStatus,
    pub proposal: PrizeProposal,
    /// Client of each awarded entrant, by rank (who the wallet credit and the notice go to).
    pub clients: BTreeMap<u32, String>,
    /// The approval process (`contest-prizes-<contest>-<attempt>`); none when nothing is owed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    pub requested_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<String>,
    /// The workflow task waiting for the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub approval_token: Option<String>,
    /// Times the wait for a decision ran out.
    #[serde(default)]
    #[schema(required)]
    pub overdue: u32,
    #[serde(default)]
    #[schema(required)]
    pub paid: Vec<PaidAward>,
    #[serde(default)]
    #[schema(required)]
    pub notified: Vec<u32>,
    #[serde(with = "time::serde::rfc3339")]
    pub proposed_at: OffsetDateTime,
}

impl PrizeRound {
    fn is_paid(&self, rank: u32) -> bool {
        self.paid.iter().any(|p| p.rank == rank)
    }

    /// The awards still to pay, in rank order.
    pub fn unpaid(&self) -> impl Iterator<Item = &crate::model::prizes::Award> {
        self.proposal
            .awards
            .iter()
            .filter(|a| !self.is_paid(a.rank))
    }
}

/// Proposes the prizes of the final ranking `standings`, with its approval process in the same
/// changeset, unless a round is proposed, approved or paid already (answered as it stands).
/// A round with nothing to pay needs no approval.
pub async fn propose_round(
    services: &Services,
    ctx: &OpContext,
    roster: &Roster,
    standings: &[Standing],
    requested_by: &str,
) -> Result<PrizeRound> {
    let contest = roster.contest();
    let before = services.find::<PrizeRound>(contest).await?;
    if let Some(round) = &before
        && round.entity.status != RoundStatus::Rejected
    {
        return Ok(round.entity.clone());
    }
    let proposal = propose(&roster.definition, standings);
    let clients = proposal
        .awards
        .iter()
        .map(|award| {
            let client = roster
                .entrants
                .iter()
                .find(|e| e.entrant.id == award.entrant)
                .map(|e| e.client_id.clone())
                .unwrap_or_default();
            (award.rank, client)
        })
        .collect();
    let attempt = before.as_ref().map_or(1, |b| b.entity.attempt + 1);
    let owed = proposal.total > Decimal::ZERO;
    let mut round = PrizeRound {
        contest: contest.to_string(),
        attempt,
        status: if owed {
            RoundStatus::Proposed
        } else {
            RoundStatus::Paid
        },
        proposal,
        clients,
        approval_id: owed.then(|| format!("contest-prizes-{contest}-{attempt}")),
        requested_by: requested_by.to_string(),
        rejection: None,
        approval_token: None,
        overdue: 0,
        paid: Vec::new(),
        notified: Vec::new(),
        proposed_at: ctx.now,
    };
    let mut changes = Changeset::new();
    if let Some(process_id) = &round.approval_id {
        let currency = Currency::parse("currency", &round.proposal.currency)?;
        let started = brokeros_approvals::start(
            &services.approvals,
            ctx,
            NewProcess {
                id: process_id.clone(),
                process_type: ProcessType::CONTEST_PRIZE,
                subject: Subject {
                    kind: "contest_prizes".into(),
                    id: contest.to_string(),
                },
                amount: Some(Money::positive("total", round.proposal.total, currency)?),
                requested_by: requested_by.to_string(),
            },
            &StartFacts::default(),
            &mut changes,
        )
        .await?;
        if matches!(
            started.auto_approval,
            brokeros_approvals::AutoApproval::Approved { .. }
        ) {
            round.status = RoundStatus::Approved;
        }
    }
    let ids = services.ids.as_ref();
    match &before {
        Some(before) => {
            changes.update(ctx, ids, before, &round, "contest.prizes_proposed", vec![])?
        }
        None => changes.create(ctx, ids, &round, "contest.prizes_proposed")?,
    }
    match services.commit(changes).await? {
        Committed::Applied => Ok(round),
        Committed::Raced => Ok(services.get::<PrizeRound>(contest).await?.entity),
    }
}

/// Parks the workflow's task token on a round still waiting for its decision; answers it at
/// once when the decision came first.
pub async fn await_decision(
    services: &Services,
    ctx: &OpContext,
    contest: &str,
    token: &str,
) -> Result<()> {
    let before = services.get::<PrizeRound>(contest).await?;
    match before.entity.status {
        RoundStatus::Proposed => {
            let mut round = before.entity.clone();
            round.approval_token = Some(token.to_string());
            let mut changes = Changeset::new();
            changes.update_if_changed(
                ctx,
                services.ids.as_ref(),
                &before,
                &round,
                "contest.prizes_awaiting_approval",
            )?;
            services.commit(changes).await?;
            Ok(())
        }
        _ => answer(services, &before.entity, token).await,
    }
}

/// Answers the waiting task with the round's decision.
async fn answer(services: &Services, round: &PrizeRound, token: &str) -> Result<()> {
    let answered = match round.status {
        RoundStatus::Rejected => {
            services
                .workflow()?
                .task_failure(
                    token,
                    PRIZES_REJECTED,
                    round.rejection.as_deref().unwrap_or("rejected"),
                )
                .await
        }
        _ => {
            services
                .workflow()?
                .task_success(token, json!({"status": round.status}))
                .await
        }
    };
    unless_not_waiting(answered)
}

/// Who may decide prizes (the approvals policy says who may approve; this is the door).
const DECIDERS: [Role; 2] = [Role::Finance, Role::Admin];

/// Approves or rejects (with a reason) the contest's proposed prizes. The approvals context
/// refuses the proposer and anyone its policy does not name; the last decision answers the
/// waiting workflow, or, when it gave up waiting, starts a new execution that pays.
pub async fn decide(
    services: &Services,
    principal: &Principal,
    correlation_id: &str,
    contest: &str,
    approve: bool,
    reason: Option<String>,
) -> Result<PrizeRound> {
    principal.require_any(&DECIDERS, "decide contest prizes")?;
    if !approve && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(Error::invalid(
            "reason_required",
            "reason",
            "a rejection says why",
        ));
    }
    let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
    let ctx = &ctx;
    let round = execute(services, None, move || {
        let reason = reason.clone();
        Box::pin(async move {
            let mut changes = Changeset::new();
            let before = services.get::<PrizeRound>(contest).await?;
            let (RoundStatus::Proposed, Some(process_id)) =
                (before.entity.status, before.entity.approval_id.clone())
            else {
                return Err(Error::Conflict {
                    code: "prizes_not_proposed",
                    message: format!(
                        "the prizes of contest {contest} are not waiting for a decision"
                    ),
                });
            };
            let why = reason.clone().unwrap_or_default();
            let vote = if approve {
                Vote::Approve
            } else {
                Vote::Reject { reason: &why }
            };
            let decided = brokeros_approvals::decide(
                services,
                ctx,
                &process_id,
                principal,
                vote,
                &mut changes,
            )
            .await??;
            let mut round = before.entity.clone();
            let action = match decided.outcome {
                Outcome::Pending { .. } => "contest.prizes_vote_recorded",
                Outcome::Approved => {
                    round.status = RoundStatus::Approved;
                    "contest.prizes_approved"
                }
                Outcome::Rejected => {
                    round.status = RoundStatus::Rejected;
                    round.rejection = reason;
                    "contest.prizes_rejected"
                }
            };
            if round != before.entity {
                changes.update(ctx, services.ids.as_ref(), &before, &round, action, vec![])?;
            }
            Ok((round, changes))
        })
    })
    .await?;
    if round.status != RoundStatus::Proposed {
        match &round.approval_token {
            Some(token) => answer(services, &round, token).await?,
            // The workflow stopped waiting long ago: a new run pays what was approved.
            None if round.status == RoundStatus::Approved && round.overdue > 0 => {
                let name = format!("contest-{contest}-paying-{}", round.overdue);
                crate::runs::start_run(services, contest, &name, true).await?;
            }
            None => {}
        }
    }
    Ok(round)
}

/// Records that the wait for a decision ran out (the workflow then ends; the decision, when it
/// comes, starts a new execution).
pub async fn approval_overdue(services: &Services, ctx: &OpContext, contest: &str) -> Result<()> {
    let before = services.get::<PrizeRound>(contest).await?;
    let mut round = before.entity.clone();
    round.overdue += 1;
    round.approval_token = None;
    let mut changes = Changeset::new();
    changes.update(
        ctx,
        services.ids.as_ref(),
        &before,
        &round,
        "contest.prizes_approval_overdue",
        vec![],
    )?;
    services.commit(changes).await?;
    Ok(())
}

/// What one [`pay_next`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayReport {
    pub paid: u32,
    pub more: bool,
}

/// Pays up to [`AWARDS_PER_CALL`] approved awards not yet paid. A cash prize: the ledger
/// transfer (broker revenue → the winner's wallet) commits with the round's record of it. A
/// credit prize: the platform's credit operation under the transfer id (repeating it returns the
/// first receipt), then the round's record.
pub async fn pay_next(services: &Services, ctx: &OpContext, contest: &str) -> Result<PayReport> {
    let round = services.get::<PrizeRound>(contest).await?.entity;
    match round.status {
        RoundStatus::Approved => {}
        RoundStatus::Paid => return Ok(PayReport::default()),
        status => {
            return Err(Error::Conflict {
                code: "prizes_not_approved",
                message: format!("the prizes of contest {contest} are {status:?}, not approved"),
            });
        }
    }
    let due: Vec<_> = round.unpaid().take(AWARDS_PER_CALL).cloned().collect();
    let mut report = PayReport::default();
    for award in &due {
        pay_award(services, ctx, contest, award).await?;
        report.paid += 1;
    }
    let round = services.get::<PrizeRound>(contest).await?;
    if round.entity.unpaid().next().is_some() {
        report.more = true;
    } else if round.entity.status == RoundStatus::Approved {
        let mut paid = round.entity.clone();
        paid.status = RoundStatus::Paid;
        let mut changes = Changeset::new();
        changes.update(
            ctx,
            services.ids.as_ref(),
            &round,
            &paid,
            "contest.prizes_paid",
            vec![],
        )?;
        services.commit(changes).await?;
    }
    Ok(report)
}

async fn pay_award(
    services: &Services,
    ctx: &OpContext,
    contest: &str,
    award: &crate::model::prizes::Award,
) -> Result<()> {
    let platform_deal = match &award.payment {
        PrizePayment::Credit { .. } => {
            let receipt = services
                .trading
                .balance_operation(BalanceOperation {
                    login: award.login,
                    operation_id: award.transfer_id.clone(),
                    kind: BalanceOperationKind::CreditIn,
                    amount: award.amount,
                    comment: format!("Contest prize, rank {}", award.rank),
                })
                .await
                .map_err(platform_error)?;
            Some(receipt.deal_id)
        }
        PrizePayment::Cash => None,
    };
    execute(services, None, move || {
        Box::pin(async move {
            let mut changes = Changeset::new();
            let before = services.get::<PrizeRound>(contest).await?;
            if before.entity.is_paid(award.rank) {
                return Ok(((), changes));
            }
            let mut round = before.entity.clone();
            if let PrizePayment::Cash = award.payment {
                let currency = Currency::parse("currency", &round.proposal.currency)?;
                let client = round.clients.get(&award.rank).cloned().unwrap_or_default();
                let transfer = Transfer::between(
                    TransferId::new("transfer_id", &award.transfer_id)?,
                    AccountId::broker_revenue(currency),
                    AccountId::client_wallet(&client, currency)?,
                    award.amount,
                    &format!("contest {contest} prize, rank {}", award.rank),
                );
                if let Staged::Replayed(_) =
                    brokeros_ledger::stage(services, ctx, &transfer.into(), &mut changes).await?
                {
                    return Err(Error::Internal(format!(
                        "contest {contest}: the prize of rank {} was posted while unpaid",
                        award.rank
                    )));
                }
            }
            round.paid.push(PaidAward {
                rank: award.rank,
                transfer_id: award.transfer_id.clone(),
                platform_deal,
                at: ctx.now,
            });
            changes.update(
                ctx,
                services.ids.as_ref(),
                &before,
                &round,
                "contest.prize_paid",
                vec![],
            )?;
            Ok(((), changes))
        })
    })
    .await
}

/// Queues one notification per paid award (its id is the award's), recorded on the round.
pub async fn notify_winners(services: &Services, ctx: &OpContext, contest: &str) -> Result<u32> {
    let round = services.get::<PrizeRound>(contest).await?.entity;
    let mut queued = 0;
    for award in &round.proposal.awards {
        if round.notified.contains(&award.rank) || !round.is_paid(award.rank) {
            continue;
        }
        execute(services, None, move || {
            Box::pin(async move {
                let mut changes = Changeset::new();
                let before = services.get::<PrizeRound>(contest).await?;
                let mut round = before.entity.clone();
                if round.notified.contains(&award.rank) {
                    return Ok(((), changes));
                }
                let client = round.clients.get(&award.rank).cloned().unwrap_or_default();
                brokeros_onboarding::stage_notification(
                    services,
                    ctx,
                    &client,
                    &format!("ntf_contest-{contest}-{}", award.rank),
                    "contest_prize_paid",
                    json!({
                        "contest": contest,
                        "rank": award.rank,
                        "amount": award.amount,
                        "currency": round.proposal.currency,
                        "paid_as": award.payment,
                    }),
                    &mut changes,
                )
                .await?;
                round.notified.push(award.rank);
                changes.update(
                    ctx,
                    services.ids.as_ref(),
                    &before,
                    &round,
                    "contest.winner_notified",
                    vec![],
                )?;
                Ok(((), changes))
            })
        })
        .await?;
        queued += 1;
    }
    Ok(queued)
}
