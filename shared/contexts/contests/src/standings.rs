//! What people read of a contest's scoring and do about it: the public leaderboard, an
//! entrant's score with its explanation (the entrant's own, or any for marketing), hedging
//! flags and their review, the prize round and its decision, and a scoring run on request.

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Error, PageParams, Result, user_ctx};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::Services;
use crate::definitions::{MANAGERS, Reason};
use crate::live::{self, FlagReview, FlagStatus, HedgeReviewFlag};
use crate::model::{ContestEntrant, ContestRecord};
use crate::prizes::{self, PrizeRound, RoundStatus};
use crate::roster::load_roster;
use crate::runs::start_run;

/// Who reads prize rounds: contest managers and finance.
const PRIZE_READERS: [Role; 3] = [Role::Marketing, Role::Admin, Role::Finance];

/// A page of the contest's latest leaderboard (anyone, once the contest is public), with its
/// tag: the snapshot's (`none` before the first scoring run) and which of its rows the page
/// shows. No page when `is_current` says the reader holds the page as tagged: then its rows are
/// neither read nor sent again.
pub async fn leaderboard(
    services: &Services,
    contest: &str,
    page: &PageParams,
    is_current: impl Fn(&str) -> bool,
) -> Result<(String, Option<Value>)> {
    let record = services.find::<ContestRecord>(contest).await?;
    if !record.is_some_and(|r| r.entity.status.is_public()) {
        return Err(Error::NotFound {
            entity: "contest",
            id: contest.to_string(),
        });
    }
    let request = live::BoardPageRequest::of(page)?;
    let board = live::latest_board(services, contest).await?;
    let tag = format!(
        "{}-{}-{}",
        board.as_ref().map_or("none", |b| b.etag.as_str()),
        page.cursor.as_deref().unwrap_or("0"),
        page.limit.unwrap_or(0)
    );
    if is_current(&tag) {
        return Ok((tag, None));
    }
    let (rows, next) = match &board {
        Some(board) => live::board_page(services, board, request).await?,
        None => (Vec::new(), None),
    };
    let body = json!({
        "contest": contest,
        "snapshot": board.as_ref().map_or(0, |b| b.seq),
        "published_at": board.as_ref().and_then(|b| b.published_at.format(&Rfc3339).ok()),
        "final": board.as_ref().is_some_and(|b| b.is_final),
        "entrants": board.as_ref().map_or(0, |b| b.rows),
        "items": rows,
        "next": next,
    });
    Ok((tag, Some(body)))
}

/// Entrant `entrant`'s score with its explanation: the client's own entry, or any entry for
/// contest managers. Another client's entry is not found.
pub async fn entrant_score(
    services: &Services,
    principal: &Principal,
    contest: &str,
    entrant: &str,
) -> Result<Value> {
    let stored = services.find::<ContestEntrant>(entrant).await?;
    let entry = stored
        .map(|s| s.entity)
        .filter(|e| e.contest_id == contest)
        .ok_or_else(|| Error::NotFound {
            entity: "contest entrant",
            id: entrant.to_string(),
        })?;
    if !principal.has_any(&MANAGERS) {
        principal.require_any(&[Role::Client], "read contest scores")?;
        let own = brokeros_onboarding::client_id_of_user(services, &principal.sub).await?;
        if own.as_deref() != Some(entry.client_id.as_str()) {
            return Err(Error::NotFound {
                entity: "contest entrant",
                id: entrant.to_string(),
            });
        }
    }
    let (_, roster) = load_roster(services, contest).await?;
    let explanation = live::explanation(services, &roster, entrant).await?;
    let standings = live::standings(services, &roster).await?;
    let standing = standings.iter().find(|s| s.entrant == entrant);
    Ok(json!({
        "entrant": entrant,
        "login": entry.login,
        "status": entry.status,
        "rank": standing.and_then(|s| s.rank),
        "standing": standing.map(|s| s.status),
        "prize_eligible": standing.is_some_and(|s| s.prize_eligible),
        "explanation": explanation,
    }))
}

/// The contest's hedging flags (contest managers).
pub async fn flags(services: &Services, principal: &Principal, contest: &str) -> Result<Value> {
    principal.require_any(&MANAGERS, "review hedging flags")?;
    services.get::<ContestRecord>(contest).await?;
    Ok(json!({ "items": live::flags(services, contest).await? }))
}

/// A contest manager's review of a hedging flag.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagDecision {
    /// `cleared` (not a hedge between entries) or `actioned` (an entrant was disqualified
    /// for it, through the entrant's own decision).
    pub status: FlagStatus,
    pub reason: String,
}

/// Reviews flag `<contest>:<pair>`: cleared or actioned, with a reason (contest managers).
pub async fn review_flag(
    services: &Services,
    principal: &Principal,
    contest: &str,
    pair: &str,
    decision: FlagDecision,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&MANAGERS, "review hedging flags")?;
    if decision.status == FlagStatus::Open {
        return Err(Error::invalid(
            "invalid_status",
            "status",
            "a review clears a flag or marks it actioned",
        ));
    }
    let reason = Reason {
        reason: decision.reason.clone(),
    }
    .checked()?;
    let id = format!("{contest}:{pair}");
    let ctx = user_ctx(services, principal, correlation_id);
    let ctx = &ctx;
    execute(services, key, move || {
        let (id, reason) = (id.clone(), reason.clone());
        Box::pin(async move {
            let before = services.get::<HedgeReviewFlag>(&id).await?;
            let mut flag = before.entity.clone();
            flag.status = decision.status;
            flag.review = Some(FlagReview {
                by: principal.sub.clone(),
                reason,
                at: ctx.now,
            });
            let mut changes = Changeset::new();
            changes.update(
                ctx,
                services.ids.as_ref(),
                &before,
                &flag,
                "contest.hedging_flag_reviewed",
                vec![],
            )?;
            Ok((Answer::done(&flag), changes))
        })
    })
    .await
}

/// The contest's prize round as it stands (contest managers and finance).
pub async fn prize_round(
    services: &Services,
    principal: &Principal,
    contest: &str,
) -> Result<Value> {
    principal.require_any(&PRIZE_READERS, "read contest prizes")?;
    let round = services.get::<PrizeRound>(contest).await?.entity;
    Ok(round_view(&round))
}

/// A round as the API shows it: never the workflow's token.
fn round_view(round: &PrizeRound) -> Value {
    let mut view = serde_json::to_value(round).expect("rounds serialize");
    if let Some(fields) = view.as_object_mut() {
        fields.remove("approval_token");
    }
    view
}

/// Finance's decision on the proposed prizes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrizeDecision {
    pub approve: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Approves or rejects the proposed prizes (finance or an admin, not the proposer).
pub async fn decide_prizes(
    services: &Services,
    principal: &Principal,
    contest: &str,
    decision: PrizeDecision,
    correlation_id: &str,
) -> Result<Answer> {
    let round = prizes::decide(
        services,
        principal,
        correlation_id,
        contest,
        decision.approve,
        decision.reason,
    )
    .await?;
    Ok(Answer::done(round_view(&round)))
}

/// Proposes the prizes again after a rejection (contest managers): a new final run, whose
/// proposal is the next attempt with its own approval.
pub async fn propose_again(
    services: &Services,
    principal: &Principal,
    contest: &str,
) -> Result<Answer> {
    principal.require_any(&MANAGERS, "propose contest prizes")?;
    let round = services.get::<PrizeRound>(contest).await?.entity;
    if round.status != RoundStatus::Rejected {
        return Err(Error::Conflict {
            code: "prizes_not_rejected",
            message: format!(
                "the prizes of contest {contest} are {:?}: only a rejected round is proposed again",
                round.status
            ),
        });
    }
    let name = format!("contest-{contest}-proposal-{}", round.attempt + 1);
    let arn = start_run(services, contest, &name, true).await?;
    Ok(Answer::accepted(json!({ "execution": arn })))
}

/// Starts a scoring run now (contest managers), as the schedule would.
pub async fn score_now(
    services: &Services,
    principal: &Principal,
    contest: &str,
) -> Result<Answer> {
    principal.require_any(&MANAGERS, "score contests")?;
    let record = services.get::<ContestRecord>(contest).await?.entity;
    if record.status != crate::model::ContestStatus::Published {
        return Err(Error::Conflict {
            code: "contest_not_running",
            message: format!(
                "contest {contest} is {}: nothing to score",
                record.status.as_str()
            ),
        });
    }
    let now = services.clock.now();
    let name = format!(
        "contest-{contest}-manual-{}",
        now.unix_timestamp_nanos() / 1_000_000
    );
    let arn = start_run(services, contest, &name, false).await?;
    Ok(Answer::accepted(json!({ "execution": arn })))
}
