//! The partner managers' changes: applications and their review (approval makes the IB with
//! its wallet, referral codes and agreement), standing (suspend, reinstate, terminate, each
//! with a reason and an effective time), moves of an IB with its subtree, referral codes, and
//! the sub-IB invitations an IB issues within its allowance. Each is one changeset with its
//! audit events, idempotent under an `Idempotency-Key`.

use std::collections::{BTreeSet, HashSet};
use utoipa::ToSchema;

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Error, Result, normalize, user_ctx};
use brokeros_ledger::model::AccountId;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::hierarchy::add_with_ancestors;
use crate::model::{
    Application, ApplicationStatus, Hierarchy, Ib, IbNode, Invitation, InvitationStatus, Millis,
    ReferralCode, Standing, StandingAction, Timeline, Utm,
};
use crate::views::{application_view, ib_view, invitation_view};
use crate::{Services, effective_msc, millis, repo, require_partner_manager, working_ib};

const MAX_CODE_CHARS: usize = 32;
const MAX_PLANS: usize = 10;
const MAX_CODES: usize = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    pub name: String,
    pub payout_currency: String,
    /// Staff only: the portal user who will sign in as the IB.
    pub user_id: Option<String>,
    /// Staff only: the applicant's client record.
    pub client_id: Option<String>,
    /// Staff only: the IB the new one will sit under.
    pub parent_ib_id: Option<String>,
    /// An IB's invitation: the new IB will sit under the inviter.
    pub invitation_id: Option<String>,
}

/// Records an application: a client applies for themself (their portal identity and client
/// record), partner managers and admins for anyone, under an IB of their choice. An
/// invitation puts the applicant under the inviting IB and is used up.
pub async fn apply(
    services: &Services,
    principal: &Principal,
    body: NewApplication,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(
        &[Role::Client, Role::Partners, Role::Admin],
        "apply to become an IB",
    )?;
    let staff = principal.has_any(&[Role::Partners, Role::Admin]);
    let name = normalize::required_text("name", &body.name, 120)?;
    let currency = Currency::parse("payout_currency", &body.payout_currency)?;
    let code = |field: &str, v: &Option<String>| {
        normalize::optional(v.clone(), |v| normalize::code(field, v, 128))
    };
    let (user_id, client_id, parent) = (
        code("user_id", &body.user_id)?,
        code("client_id", &body.client_id)?,
        code("parent_ib_id", &body.parent_ib_id)?,
    );
    let invitation_id = code("invitation_id", &body.invitation_id)?;
    if !staff {
        for (field, given) in [
            ("user_id", user_id.is_some()),
            ("client_id", client_id.is_some()),
            ("parent_ib_id", parent.is_some()),
        ] {
            if given {
                return Err(Error::invalid(
                    "field_not_allowed",
                    field,
                    format!("{field} is set by partner managers; a client applies as themself"),
                ));
            }
        }
    }
    if parent.is_some() && invitation_id.is_some() {
        return Err(Error::invalid(
            "field_not_allowed",
            "parent_ib_id",
            "an invitation names the parent; give one or the other",
        ));
    }
    let (name, user_id, client_id, parent, invitation_id) =
        (&name, &user_id, &client_id, &parent, &invitation_id);
    execute(services, key, || {
        let id = services.ids.prefixed("ibapp");
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let (user_id, client_id) = if staff {
                if let Some(client) = client_id {
                    brokeros_onboarding::load_client(services, client).await?;
                }
                (user_id.clone(), client_id.clone())
            } else {
                let own = brokeros_onboarding::client_id_of_user(services, &principal.sub).await?;
                (Some(principal.sub.clone()), own)
            };
            if let Some(user) = &user_id
                && repo::ib_of_user(services, user).await?.is_some()
            {
                return Err(Error::conflict(
                    "already_ib",
                    format!("portal user {user} is an IB already"),
                ));
            }
            let mut changes = Changeset::new();
            let mut parent_ib = parent.clone();
            if let Some(parent) = parent {
                working_ib(services, parent, "it takes no new sub-IB").await?;
            }
            if let Some(invitation_id) = invitation_id {
                let before = services.get::<Invitation>(invitation_id).await?;
                let mut invitation = before.entity.clone();
                invitation.use_for(&id)?;
                parent_ib = Some(invitation.ib_id.clone());
                changes.update(
                    &ctx,
                    services.ids.as_ref(),
                    &before,
                    &invitation,
                    "ib_invitation.used",
                    vec![],
                )?;
            }
            let application = Application {
                id,
                status: ApplicationStatus::Pending,
                name: name.clone(),
                payout_currency: currency.code.to_string(),
                user_id,
                client_id,
                parent_ib,
                invitation_id: invitation_id.clone(),
                submitted_by: principal.sub.clone(),
                decided_by: None,
                reason: None,
                ib_id: None,
                created_at: ctx.now,
                decided_at: None,
            };
            changes.create(
                &ctx,
                services.ids.as_ref(),
                &application,
                "ib_application.submitted",
            )?;
            Ok((Answer::created(application_view(&application)), changes))
        })
    })
    .await
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReferralCode {
    pub code: String,
    pub campaign: String,
    #[serde(default)]
    pub utm: Utm,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationApproval {
    /// The commission plans the agreement assigns, from the approval on.
    pub plans: Vec<String>,
    pub referral_codes: Vec<NewReferralCode>,
    /// How many sub-IBs the IB may invite (the configuration's default otherwise).
    pub sub_ib_allowance: Option<u32>,
}

fn checked_utm(utm: Utm) -> Result<Utm> {
    let part =
        |field: &str, v: Option<String>| normalize::optional(v, |v| normalize::code(field, v, 60));
    Ok(Utm {
        source: part("utm.source", utm.source)?,
        medium: part("utm.medium", utm.medium)?,
        campaign: part("utm.campaign", utm.campaign)?,
    })
}

/// Checks requested codes (well formed, one per campaign, none twice) into referral codes.
fn checked_codes(services: &Services, codes: Vec<NewReferralCode>) -> Result<Vec<ReferralCode>> {
    if codes.len() > MAX_CODES {
        return Err(Error::invalid(
            "too_many_codes",
            "referral_codes",
            format!("at most {MAX_CODES} referral codes at once"),
        ));
    }
    let mut seen = HashSet::new();
    let mut campaigns = HashSet::new();
    codes
        .into_iter()
        .map(|c| {
            let code = normalize::code("referral_codes.code", &c.code, MAX_CODE_CHARS)?;
            let campaign = normalize::code("referral_codes.campaign", &c.campaign, 40)?;
            if !seen.insert(code.to_uppercase()) || !campaigns.insert(campaign.clone()) {
                return Err(Error::invalid(
                    "duplicate_code",
                    "referral_codes",
                    "each code and each campaign appears once",
                ));
            }
            Ok(ReferralCode::new(
                &services.config.referral_link_base,
                code,
                campaign,
                checked_utm(c.utm)?,
            ))
        })
        .collect()
}

/// Stages the markers that give `codes` to `ib_id`, refusing a code another IB has (read by
/// key; the marker's condition refuses a race).
async fn stage_codes(
    services: &Services,
    ib_id: &str,
    codes: &[ReferralCode],
    changes: &mut Changeset,
) -> Result<()> {
    for code in codes {
        if repo::ib_of_code(services, &code.code).await?.is_some() {
            return Err(Error::conflict(
                "referral_code_taken",
                format!("referral code {} belongs to another IB", code.code),
            ));
        }
        changes.put(repo::referral_code_marker(&code.code, ib_id));
    }
    Ok(())
}

fn checked_plans(plans: Vec<String>) -> Result<Vec<String>> {
    if plans.is_empty() || plans.len() > MAX_PLANS {
        return Err(Error::invalid(
            "invalid_plans",
            "plans",
            format!("an agreement assigns 1 to {MAX_PLANS} plans"),
        ));
    }
    let plans = plans
        .iter()
        .map(|p| normalize::code("plans", p, 80))
        .collect::<Result<Vec<_>>>()?;
    let distinct: BTreeSet<&String> = plans.iter().collect();
    if distinct.len() != plans.len() {
        return Err(Error::invalid(
            "duplicate_plan",
            "plans",
            "each plan appears once",
        ));
    }
    Ok(plans)
}

/// Approves a pending application: the IB (payout currency, its ledger wallet
/// `AccountId::ib_payable`, referral codes, the agreement's plans from now on, the sub-IB
/// allowance) under the application's parent, its portal user's marker and its codes'
/// markers, with the application decided — one changeset. The agreement's plans must be
/// stored and share one kind of period ([`crate::plans::agreement_period`]); see
/// [`change_plans`] for a plan that takes effect after the agreement.
pub async fn approve(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: ApplicationApproval,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    require_partner_manager(principal, "approve IB applications")?;
    let id = normalize::code("application_id", id, 80)?;
    let plans = checked_plans(body.plans)?;
    let codes = checked_codes(services, body.referral_codes)?;
    crate::plans::agreement_period(services, &plans).await?;
    let allowance = body
        .sub_ib_allowance
        .unwrap_or(services.config.default_sub_ib_allowance);
    let (id, plans, codes) = (&id, &plans, &codes);
    execute(services, key, || {
        let ib_id = services.ids.prefixed("ib");
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = services.get::<Application>(id).await?;
            let mut application = before.entity.clone();
            application.approve(&ib_id, &principal.sub, ctx.now)?;
            if let Some(parent) = &application.parent_ib {
                working_ib(services, parent, "it takes no new sub-IB").await?;
            }
            let currency = Currency::parse("payout_currency", &application.payout_currency)?;
            let wallet = AccountId::ib_payable(&ib_id, currency)?;
            let from = millis(ctx.now);
            let ib = Ib {
                node: IbNode {
                    id: ib_id.clone(),
                    currency: application.payout_currency.clone(),
                    parent: Timeline::starting(from, application.parent_ib.clone()),
                    standing: Timeline::starting(from, Standing::Active),
                    plans: Timeline::starting(from, plans.clone()),
                },
                name: application.name.clone(),
                user_id: application.user_id.clone(),
                client_id: application.client_id.clone(),
                application_id: application.id.clone(),
                wallet: wallet.to_string(),
                referral_codes: codes.clone(),
                sub_ib_allowance: allowance,
                invitations_issued: 0,
                standing_changes: Vec::new(),
                created_at: ctx.now,
            };
            let mut changes = Changeset::new();
            stage_codes(services, &ib_id, codes, &mut changes).await?;
            if let Some(user) = &ib.user_id {
                if repo::ib_of_user(services, user).await?.is_some() {
                    return Err(Error::conflict(
                        "already_ib",
                        format!("portal user {user} is an IB already"),
                    ));
                }
                changes.put(repo::ib_user_marker(user, &ib_id));
            }
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &application,
                "ib_application.approved",
                vec![],
            )?;
            changes.create(&ctx, services.ids.as_ref(), &ib, "ib.created")?;
            Ok((Answer::created(ib_view(&ib)), changes))
        })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PartnerDecisionReason)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
    /// When the change takes effect (now unless given; never in the past).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub effective_at: Option<OffsetDateTime>,
}

/// Rejects a pending application with a reason.
pub async fn reject(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Reason,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    require_partner_manager(principal, "reject IB applications")?;
    let id = normalize::code("application_id", id, 80)?;
    let reason = normalize::required_text("reason", &body.reason, 500)?;
    let (id, reason) = (&id, &reason);
    execute(services, key, || {
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = services.get::<Application>(id).await?;
            let mut application = before.entity.clone();
            application.reject(reason.clone(), &principal.sub, ctx.now)?;
            let mut changes = Changeset::new();
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &application,
                "ib_application.rejected",
                vec![],
            )?;
            Ok((Answer::done(application_view(&application)), changes))
        })
    })
    .await
}

/// Suspends, reinstates or terminates an IB from the effective time on, with the reason.
/// A suspended IB accrues nothing for deals made while suspended ([`IbNode::earns_at`]).
pub async fn change_standing(
    services: &Services,
    principal: &Principal,
    id: &str,
    action: StandingAction,
    body: Reason,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    require_partner_manager(principal, "change an IB's standing")?;
    let reason = normalize::required_text("reason", &body.reason, 500)?;
    let action_name = format!("ib.{}", action.as_str());
    let by = principal.sub.as_str();
    let change = |ib: &mut Ib, from: Millis| ib.change_standing(action, from, reason.clone(), by);
    let at = body.effective_at;
    change_ib(
        services,
        principal,
        id,
        at,
        &action_name,
        key,
        correlation_id,
        change,
    )
    .await
}

/// Changes IB `id` from the effective time `at` (now unless given) on, as `change` decides,
/// committed with its audit event `action`; answers the IB as it is then.
#[allow(clippy::too_many_arguments)]
async fn change_ib(
    services: &Services,
    principal: &Principal,
    id: &str,
    at: Option<OffsetDateTime>,
    action: &str,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
    change: impl Fn(&mut Ib, Millis) -> Result<()> + Sync,
) -> Result<Answer> {
    let id = normalize::code("ib_id", id, 80)?;
    let (id, change) = (&id, &change);
    execute(services, key, || {
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let from = effective_msc(at, ctx.now)?;
            let before = services.get::<Ib>(id).await?;
            let mut ib = before.entity.clone();
            change(&mut ib, from)?;
            let mut changes = Changeset::new();
            changes.update(&ctx, services.ids.as_ref(), &before, &ib, action, vec![])?;
            Ok((Answer::done(ib_view(&ib)), changes))
        })
    })
    .await
}

pub async fn suspend(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Reason,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let action = StandingAction::Suspend;
    change_standing(services, principal, id, action, body, key, correlation_id).await
}

pub async fn reinstate(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Reason,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let action = StandingAction::Reinstate;
    change_standing(services, principal, id, action, body, key, correlation_id).await
}

pub async fn terminate(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Reason,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let action = StandingAction::Terminate;
    change_standing(services, principal, id, action, body, key, correlation_id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Move {
    /// The new parent; `null` makes the IB a master IB. Required: a body that names no parent
    /// is refused rather than read as a move to the top of the tree.
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true)]
    pub parent_ib_id: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub effective_at: Option<OffsetDateTime>,
}

/// Moves an IB (with its subtree) under another parent from the effective time on: deals
/// before it pay the old chain, deals after it the new one. A move under the IB itself or one
/// of its descendants — now or at any later change of the tree — is refused (409
/// `move_creates_cycle`), nothing written.
pub async fn move_ib(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Move,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    require_partner_manager(principal, "move IBs")?;
    let id = normalize::code("ib_id", id, 80)?;
    let parent = normalize::optional(body.parent_ib_id, |p| {
        normalize::code("parent_ib_id", p, 80)
    })?;
    // The new parent's ancestors over all time, which the move is checked against (the commit
    // is conditioned on the moved IB's version alone, so reading them first decides the same).
    let mut ancestors = Hierarchy::default();
    if let Some(parent) = &parent {
        working_ib(services, parent, "it takes no new sub-IB").await?;
        if *parent != id {
            let mut seen = HashSet::from([id.clone()]);
            add_with_ancestors(services, &mut ancestors, &mut seen, vec![parent.clone()]).await?;
        }
    }
    let change = |ib: &mut Ib, from: Millis| {
        ib.require_not_terminated("it does not move")?;
        let mut tree = ancestors.clone();
        tree.insert_ib(ib.node.clone())?;
        tree.check_move(&ib.node.id, parent.as_deref(), from)?;
        ib.node.parent.change("parent", from, parent.clone())
    };
    let at = body.effective_at;
    change_ib(
        services,
        principal,
        &id,
        at,
        "ib.moved",
        key,
        correlation_id,
        change,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlansChange {
    pub plans: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub effective_at: Option<OffsetDateTime>,
}

/// Changes the plans an IB's agreement assigns, from the effective time on: deals before it
/// are paid under the plans in force then. The plans must be stored (`unknown_plan` on
/// `plans[i]`) and close one kind of period (`plan_periods_differ`), checked by key before
/// anything is written; it may be another kind than the agreement before it had (the IB's
/// statements follow the new schedule from the change on).
///
/// Plans are effective-dated too, and a plan whose first version takes effect after the
/// agreement does is accepted: a plan may be agreed before it starts (plans never take effect
/// in the past, so one stored for a new agreement starts a moment after it), and it earns from
/// its own effective time on — a deal before that earns nothing under it, as under a plan
/// version not yet in force.
pub async fn change_plans(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: PlansChange,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    require_partner_manager(principal, "change IB agreements")?;
    let plans = checked_plans(body.plans)?;
    crate::plans::agreement_period(services, &plans).await?;
    let change = |ib: &mut Ib, from: Millis| {
        ib.require_not_terminated("its agreement does not change")?;
        ib.node.plans.change("plans", from, plans.clone())
    };
    let at = body.effective_at;
    change_ib(
        services,
        principal,
        id,
        at,
        "ib.plans_changed",
        key,
        correlation_id,
        change,
    )
    .await
}

/// Gives an IB another referral code, for a campaign it has none for.
pub async fn add_referral_code(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: NewReferralCode,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    require_partner_manager(principal, "give IBs referral codes")?;
    let id = normalize::code("ib_id", id, 80)?;
    let code = checked_codes(services, vec![body])?.remove(0);
    let (id, code) = (&id, &code);
    execute(services, key, || {
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = services.get::<Ib>(id).await?;
            let mut ib = before.entity.clone();
            ib.add_referral_code(code.clone())?;
            let mut changes = Changeset::new();
            stage_codes(services, id, std::slice::from_ref(code), &mut changes).await?;
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &ib,
                "ib.referral_code_added",
                vec![],
            )?;
            Ok((Answer::created(ib_view(&ib)), changes))
        })
    })
    .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {}

/// An IB invites a sub-IB: an invitation to apply under it, counted against the allowance its
/// agreement gives (on the IB, so the count is decided by key).
pub async fn invite(
    services: &Services,
    principal: &Principal,
    _body: NewInvitation,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let ib_id = crate::own_ib_id(services, principal).await?;
    let ib_id = &ib_id;
    execute(services, key, || {
        let id = services.ids.prefixed("ibinv");
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = services.get::<Ib>(ib_id).await?;
            let mut ib = before.entity.clone();
            ib.issue_invitation()?;
            let invitation = Invitation {
                id,
                ib_id: ib_id.clone(),
                status: InvitationStatus::Open,
                application_id: None,
                created_at: ctx.now,
            };
            let mut changes = Changeset::new();
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &ib,
                "ib.invitation_issued",
                vec![],
            )?;
            changes.create(
                &ctx,
                services.ids.as_ref(),
                &invitation,
                "ib_invitation.issued",
            )?;
            Ok((
                Answer::created(invitation_view(services, &invitation)),
                changes,
            ))
        })
    })
    .await
}
