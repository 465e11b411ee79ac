//! What partner managers and IBs read. An IB (role `ib`) signs in as the portal user its
//! approval named (`UNIQ#IBUSER#<user>`, read by key) and sees only its own subtree: itself,
//! its sub-IBs at any depth and their clients. Anything outside it answers 404, exactly as an
//! id that does not exist, so an IB cannot learn which other IBs or clients there are.

use std::collections::{BTreeMap, HashMap, HashSet};
use utoipa::{IntoParams, ToSchema};

use brokeros_kernel::audit::personal_data::mask;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Core, Error, QueueFilter, Result, normalize};
use brokeros_onboarding::model::Client;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use brokeros_kernel::money::Currency;
use rust_decimal::Decimal;

use crate::keys;
use crate::model::payout::{IbStatement, StatementStatus, statement_id};
use crate::model::{
    Accrual, Application, ApplicationStatus, Beneficiary, ClientAttribution, Ib, LegKind, MAX_DEPTH,
};
use crate::views::{application_view, ib_view, invitation_view};
use crate::{Services, own_ib_id, repo, require_partner_manager};

/// One IB of a subtree and how far below its root it sits (0: the root).
pub struct Member {
    pub ib: Ib,
    pub level: u32,
}

/// The subtree under `root` as it stands now, root first, level by level (listings of the
/// children index: what an IB is shown, never what a decision rests on).
pub async fn subtree(core: &Core, root: Ib) -> Result<Vec<Member>> {
    let mut members = vec![Member { ib: root, level: 0 }];
    let mut seen: HashSet<String> = HashSet::from([members[0].ib.node.id.clone()]);
    let mut next = 0;
    while next < members.len() {
        let (parent, level) = (members[next].ib.node.id.clone(), members[next].level);
        next += 1;
        if level >= MAX_DEPTH {
            continue;
        }
        for child in repo::children(core, &parent).await? {
            if seen.insert(child.node.id.clone()) {
                members.push(Member {
                    ib: child,
                    level: level + 1,
                });
            }
        }
    }
    Ok(members)
}

/// `id` and how far below `root` it sits now, if it is `root` or below it: its current parents
/// read by key up to a master.
async fn within(services: &Services, root: &str, id: &str) -> Result<Member> {
    let not_found = || Error::NotFound {
        entity: "IB",
        id: id.to_string(),
    };
    let found = services.find::<Ib>(id).await?.ok_or_else(not_found)?.entity;
    let mut current = found.clone();
    for level in 0..MAX_DEPTH {
        if current.node.id == root {
            return Ok(Member { ib: found, level });
        }
        let Some(parent) = current.node.parent.latest().cloned().flatten() else {
            break;
        };
        current = services.get::<Ib>(&parent).await?.entity;
    }
    Err(not_found())
}

/// The dashboard's query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardFilter {
    /// How many periods to show, the current one first and then the ones before it (1 to
    /// [`MAX_DASHBOARD_PERIODS`]; [`DEFAULT_DASHBOARD_PERIODS`] unless given).
    pub periods: Option<u32>,
}

/// The most periods a dashboard shows at once: a month of days. Each period is one keyed read
/// of the IB's legs (a page per 1000 legs) and one read of its statement by key.
pub const MAX_DASHBOARD_PERIODS: u32 = 31;
pub const DEFAULT_DASHBOARD_PERIODS: u32 = 6;

/// Who the calling IB is, with its dashboard: counts of its clients and sub-IBs, and per
/// period its volume and earnings ([`earnings_by_period`]).
pub async fn me(
    services: &Services,
    principal: &Principal,
    filter: DashboardFilter,
) -> Result<Value> {
    let periods = filter.periods.unwrap_or(DEFAULT_DASHBOARD_PERIODS);
    if !(1..=MAX_DASHBOARD_PERIODS).contains(&periods) {
        return Err(Error::invalid(
            "invalid_periods",
            "periods",
            format!("periods must be 1 to {MAX_DASHBOARD_PERIODS}"),
        ));
    }
    let id = own_ib_id(services, principal).await?;
    let ib = services.get::<Ib>(&id).await?.entity;
    let members = subtree(services, ib.clone()).await?;
    let direct = repo::clients_of(services, &id).await?.len();
    let mut in_subtree = 0;
    for m in &members {
        in_subtree += repo::clients_of(services, &m.ib.node.id).await?.len();
    }
    let mut v = ib_view(&ib);
    v["dashboard"] = json!({
        "direct_clients": direct,
        "subtree_clients": in_subtree,
        "sub_ibs": members.len() - 1,
        "direct_sub_ibs": members.iter().filter(|m| m.level == 1).count(),
        "earnings": earnings_by_period(services, &ib, periods).await?,
    });
    Ok(v)
}

/// What one period of the dashboard adds up from the IB's legs.
#[derive(Default)]
struct PeriodFigures {
    /// Lots per plan: the counted lots of the IB's commission legs (reversals subtract).
    lots: BTreeMap<String, Decimal>,
    commission: Decimal,
    cpa: Decimal,
    revenue_share: Decimal,
    legs: u64,
}

impl PeriodFigures {
    fn add(&mut self, leg: &Accrual) {
        self.legs += 1;
        match leg.kind {
            LegKind::Commission => {
                self.commission += leg.amount;
                let counted = leg.explanation.basis.volume.counted_lots;
                let lots = self
                    .lots
                    .entry(leg.explanation.basis.plan_id.clone())
                    .or_default();
                *lots += if leg.reversal { -counted } else { counted };
            }
            LegKind::Cpa => self.cpa += leg.amount,
            LegKind::RevenueShare => self.revenue_share += leg.amount,
            // A rebate's beneficiary is the client: never in an IB's legs.
            LegKind::Rebate => {}
        }
    }
}

/// The IB's last `count` periods, the current one first, each with:
///
/// * `lots`, per plan: the volume counted for the IB's own legs — its clients' deals (level 0)
///   and its sub-IBs' clients' deals at the levels the plan pays it, in the lots the plan
///   counts (after its exclusions and volume modifiers, reversals subtracted): what its volume
///   tiers are measured by. A deal on which the plan pays the IB no leg (deeper than its
///   levels, no rule matching) is not counted; each plan counts its own way, hence per plan.
/// * `accrued`, in the IB's payout currency (every leg of an IB is converted into it), by kind
///   and in total: its legs as stored in the period, late legs of an earlier closed period
///   included, unrounded (statements round).
/// * `statement`: the period's statement once built (read by key), with what it accrued (tier
///   lines included), its status and what it pays; `paid`: what it credited, zero until paid.
///
/// Periods are of the kind the IB's agreement in force closes (its plans share one), none when
/// no plan of it is stored. Each period's legs are one keyed query of the IB's partition.
pub async fn earnings_by_period(services: &Services, ib: &Ib, count: u32) -> Result<Value> {
    let now = crate::millis(services.clock.now());
    let plan_ids: Vec<&str> = ib
        .node
        .plans
        .at(now)
        .or(ib.node.plans.latest())
        .map(|ids| ids.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let book =
        crate::plans::plan_book(services, &services.config.symbol_groups, plan_ids.clone()).await?;
    let kind = plan_ids.iter().find_map(|id| {
        book.versions()
            .find(|version| version.id == *id)
            .map(|version| version.period)
    });
    let currency = Currency::parse("currency", &ib.node.currency)?;
    let Some(kind) = kind else {
        return Ok(json!({ "period_kind": null, "currency": currency.code, "periods": [] }));
    };
    let beneficiary = Beneficiary::Ib(ib.node.id.clone());
    let mut period = kind.period_of(now);
    let mut shown = Vec::new();
    for _ in 0..count {
        let mut figures = PeriodFigures::default();
        let mut cursor = None;
        loop {
            let (legs, next) =
                crate::accruals::legs_in_period(services, &beneficiary, period, cursor, 1000)
                    .await?;
            legs.iter().for_each(|stored| figures.add(&stored.leg));
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let statement_id = statement_id(&beneficiary, period, currency.code);
        let statement = services
            .find::<IbStatement>(&statement_id)
            .await?
            .map(|s| s.entity);
        let mut paid = match &statement {
            Some(s) if s.status == StatementStatus::Paid => s.lines.paid,
            _ => Decimal::ZERO,
        };
        paid.rescale(currency.scale);
        let total = figures.commission + figures.cpa + figures.revenue_share;
        shown.push(PeriodEarnings {
            period: format!("{}:{}", keys::period_kind_name(kind), period.label()),
            starts_at: rfc3339(period.start_msc),
            ends_at: rfc3339(period.end_msc()),
            lots: figures
                .lots
                .iter()
                .map(|(plan, lots)| (plan.clone(), lots.normalize()))
                .collect(),
            legs: figures.legs,
            accrued: AccruedEarnings {
                commission: figures.commission.normalize(),
                cpa: figures.cpa.normalize(),
                revenue_share: figures.revenue_share.normalize(),
                total: total.normalize(),
            },
            statement: statement.map(|s| PeriodStatementSummary {
                id: s.id,
                status: s.status,
                accrued: s.lines.accrued.normalize(),
                tiers: s.lines.tiers,
                paid: s.lines.paid,
                carried_out: s.lines.carried_out.normalize(),
            }),
            paid,
        });
        period = kind.period_of(period.start_msc - 1);
    }
    Ok(json!({
        "period_kind": keys::period_kind_name(kind),
        "currency": currency.code,
        "periods": shown,
    }))
}

/// One period of an IB's earnings (the dashboard's), the current period first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodEarnings {
    /// `<kind>:<label>` (`monthly:2026-01`).
    pub period: String,
    #[schema(format = DateTime)]
    #[schema(required)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    #[schema(required)]
    pub ends_at: Option<String>,
    /// The counted lots of the IB's commission legs, by plan (reversals subtract).
    pub lots: BTreeMap<String, Decimal>,
    /// The IB's legs in the period.
    pub legs: u64,
    pub accrued: AccruedEarnings,
    /// The period's statement, once a payout run made one.
    #[schema(required)]
    pub statement: Option<PeriodStatementSummary>,
    /// What was paid for the period (zero until its statement is paid).
    pub paid: Decimal,
}

/// What a period's legs accrued, by kind, in the IB's currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccruedEarnings {
    pub commission: Decimal,
    pub cpa: Decimal,
    pub revenue_share: Decimal,
    pub total: Decimal,
}

/// A period's statement as the dashboard shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodStatementSummary {
    pub id: String,
    pub status: StatementStatus,
    pub accrued: Decimal,
    pub tiers: Vec<crate::model::statement::TierLine>,
    pub paid: Decimal,
    pub carried_out: Decimal,
}

fn rfc3339(msc: crate::model::Millis) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(msc) * 1_000_000)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
}

/// A sub-IB as its ancestors see it: no portal identity, no client record.
fn sub_ib_view(member: &Member) -> Value {
    let ib = &member.ib;
    json!({
        "id": ib.node.id,
        "name": ib.name,
        "level": member.level,
        "parent": ib.node.parent.latest().cloned().flatten(),
        "standing": crate::model::partner::standing_name(ib.current_standing()),
        "created_at": ib.created_at.format(&time::format_description::well_known::Rfc3339).ok(),
    })
}

/// The calling IB's sub-IBs at any depth.
pub async fn sub_ibs(services: &Services, principal: &Principal) -> Result<Value> {
    let id = own_ib_id(services, principal).await?;
    let ib = services.get::<Ib>(&id).await?.entity;
    let members = subtree(services, ib).await?;
    let items: Vec<Value> = members.iter().skip(1).map(sub_ib_view).collect();
    Ok(json!({ "items": items }))
}

/// One sub-IB of the calling IB (404 outside its subtree).
pub async fn sub_ib(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let own = own_ib_id(services, principal).await?;
    let id = normalize::code("ib_id", id, 80)?;
    Ok(sub_ib_view(&within(services, &own, &id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClientsFilter {
    /// A sub-IB whose clients to list (the caller's own otherwise).
    pub ib: Option<String>,
}

/// A referred client as an IB sees it: contact data masked (the kernel's mask, the last three
/// characters shown), the last name as its initial.
fn referred_client_view(attribution: &ClientAttribution, client: Option<&Client>) -> Value {
    let Some(c) = client else {
        return json!({ "client_id": attribution.id });
    };
    json!({
        "client_id": c.id,
        "first_name": c.first_name,
        "last_name_initial": c.last_name.as_deref().and_then(|n| n.chars().next()).map(String::from),
        "email": c.email.as_deref().map(mask),
        "phone": c.phone.as_deref().map(mask),
        "country": c.country,
        "status": c.status,
        "kyc_status": c.kyc_status,
        "registered_at": c.created_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "attributed_by": attribution.attributed_by,
    })
}

/// The clients of the calling IB, or of one of its sub-IBs (404 outside its subtree).
pub async fn clients(
    services: &Services,
    principal: &Principal,
    filter: ClientsFilter,
) -> Result<Value> {
    let own = own_ib_id(services, principal).await?;
    let of = match filter.ib {
        Some(ib) => {
            within(services, &own, &normalize::code("ib", &ib, 80)?)
                .await?
                .ib
                .node
                .id
        }
        None => own,
    };
    let attributions = repo::clients_of(services, &of).await?;
    let ids: Vec<String> = attributions.iter().map(|a| a.id.clone()).collect();
    let clients: HashMap<String, Client> = repo::by_ids::<Client>(services, &ids)
        .await?
        .into_iter()
        .map(|c| (c.entity.id.clone(), c.entity))
        .collect();
    let items: Vec<Value> = attributions
        .iter()
        .map(|a| referred_client_view(a, clients.get(&a.id)))
        .collect();
    Ok(json!({ "ib_id": of, "items": items }))
}

/// The calling IB's referral links.
pub async fn referral_links(services: &Services, principal: &Principal) -> Result<Value> {
    let id = own_ib_id(services, principal).await?;
    let ib = services.get::<Ib>(&id).await?.entity;
    Ok(json!({ "items": ib.referral_codes }))
}

/// The calling IB's invitations and what is left of its allowance.
pub async fn invitations(services: &Services, principal: &Principal) -> Result<Value> {
    let id = own_ib_id(services, principal).await?;
    let ib = services.get::<Ib>(&id).await?.entity;
    let items: Vec<Value> = repo::invitations_of(services, &id)
        .await?
        .iter()
        .map(|i| invitation_view(services, i))
        .collect();
    Ok(json!({
        "allowance": ib.sub_ib_allowance,
        "issued": ib.invitations_issued,
        "items": items,
    }))
}

/// The application queue (pending unless another status is asked), oldest first.
pub async fn applications(
    services: &Services,
    principal: &Principal,
    filter: QueueFilter,
) -> Result<Value> {
    require_partner_manager(principal, "read IB applications")?;
    let status = filter.status.as_deref().unwrap_or("pending");
    let status: ApplicationStatus = serde_json::from_value(json!(status)).map_err(|_| {
        Error::invalid(
            "invalid_status",
            "status",
            "status must be pending, approved or rejected",
        )
    })?;
    repo::applications_in_status(services, status, filter, application_view).await
}

/// One application: partner managers, or the client who applied.
pub async fn application(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let id = normalize::code("application_id", id, 80)?;
    let found = services.get::<Application>(&id).await?.entity;
    let own = principal.has(Role::Client) && found.user_id.as_deref() == Some(&principal.sub);
    if !own {
        require_partner_manager(principal, "read IB applications")?;
    }
    Ok(application_view(&found))
}

/// Every IB, a page at a time, oldest first.
pub async fn ibs(services: &Services, principal: &Principal, filter: QueueFilter) -> Result<Value> {
    require_partner_manager(principal, "list IBs")?;
    if filter.status.is_some() {
        return Err(Error::invalid(
            "unknown_parameter",
            "status",
            "IBs are listed without a status filter",
        ));
    }
    repo::ibs_page(services, filter, ib_view).await
}

pub async fn ib(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    require_partner_manager(principal, "read IBs")?;
    let id = normalize::code("ib_id", id, 80)?;
    Ok(ib_view(&services.get::<Ib>(&id).await?.entity))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TreeFilter {
    /// The IB whose subtree to show (the whole tree otherwise).
    pub root: Option<String>,
}

/// The tree as it stands now: every IB (or `root`'s subtree) with its parent and level.
pub async fn tree(services: &Services, principal: &Principal, filter: TreeFilter) -> Result<Value> {
    require_partner_manager(principal, "read the IB tree")?;
    let members = match filter.root {
        Some(root) => {
            let root = normalize::code("root", &root, 80)?;
            subtree(services, services.get::<Ib>(&root).await?.entity).await?
        }
        None => {
            let mut all = Vec::new();
            for master in repo::all_ibs(services)
                .await?
                .into_iter()
                .filter(|ib| ib.node.parent.latest().cloned().flatten().is_none())
            {
                all.extend(subtree(services, master).await?);
            }
            all
        }
    };
    let items: Vec<Value> = members.iter().map(sub_ib_view).collect();
    Ok(json!({ "items": items }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccrualsFilter {
    /// `<kind>:<label>`: `daily:2026-03-02`, `weekly:2026-W10` or `monthly:2026-03`.
    pub period: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The calling IB's legs counted in a period, each with its explanation (its own legs only: a
/// sub-IB's are its own business).
pub async fn accruals(
    services: &Services,
    principal: &Principal,
    filter: AccrualsFilter,
) -> Result<Value> {
    let id = own_ib_id(services, principal).await?;
    legs_page(services, &id, filter).await
}

/// IB `id`'s legs counted in a period, for partner managers.
pub async fn ib_accruals(
    services: &Services,
    principal: &Principal,
    id: &str,
    filter: AccrualsFilter,
) -> Result<Value> {
    require_partner_manager(principal, "read an IB's accruals")?;
    let id = services.get::<Ib>(id).await?.entity.node.id;
    legs_page(services, &id, filter).await
}

async fn legs_page(services: &Services, ib: &str, filter: AccrualsFilter) -> Result<Value> {
    let text = filter
        .period
        .ok_or_else(|| Error::invalid("required", "period", "period is required"))?;
    let period = crate::accruals::parse_period("period", &text)?;
    let limit = brokeros_kernel::page_limit(filter.limit)?;
    let beneficiary = crate::model::Beneficiary::Ib(ib.to_string());
    let (legs, next) =
        crate::accruals::legs_in_period(services, &beneficiary, period, filter.cursor, limit)
            .await?;
    Ok(json!({
        "ib_id": ib,
        "period": text,
        "items": legs,
        "next_cursor": next,
    }))
}
