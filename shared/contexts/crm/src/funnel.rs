//! The lead funnel: how many leads of a brand are in each status, for the pipeline's chart.

use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::model::LeadStatus;
use crate::reads::{creation_period, scoped_assignee};
use crate::repo::{LeadSelection, count_in_status, statuses_of};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FunnelFilter {
    /// The brand (the default brand when absent).
    pub brand: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// One agent's leads (admins; a sales agent counts their own whatever this says, and may
    /// only name themselves).
    pub assignee: Option<String>,
    /// RFC 3339; creation time from (inclusive).
    pub from: Option<String>,
    /// RFC 3339; creation time to (inclusive).
    pub to: Option<String>,
}

/// How the counts were made, so a reader knows what they cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FunnelCounting {
    /// One count per status on the status index: no lead read.
    StatusIndexCounts,
    /// Every selected lead read from the agent's or the country's index.
    LeadsRead,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatusCount {
    #[schema(value_type = String, example = "new")]
    pub status: LeadStatus,
    pub count: u64,
}

/// The leads of a brand by status, in the lifecycle's order (every status, zeros included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LeadFunnel {
    pub brand: String,
    /// The agent whose leads are counted: the caller, for a sales agent; the one an admin
    /// named, else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub statuses: Vec<StatusCount>,
    pub total: u64,
    pub counted_by: FunnelCounting,
}

/// Counts a brand's leads by status, created in the period if one is given: sales count their
/// own leads, admins every agent's or one agent's.
///
/// Cost: for an admin without a country, one count per status (five) on the status index,
/// which the store answers without returning leads (SQLite `COUNT(*)`; DynamoDB
/// `Select=COUNT`, billed by the index entries read, 1 MB a request). An agent's leads or a
/// country's have no index by status, so every one of them in the period is read from the
/// agent's or the country's index, 1000 a page, and tallied: cost grows with that agent's or
/// country's leads (`counted_by` says which way the answer was made).
pub async fn lead_funnel(
    services: &Services,
    principal: &Principal,
    filter: FunnelFilter,
) -> Result<LeadFunnel> {
    principal.require_any(&[Role::Sales, Role::Admin], "count leads")?;
    let brand = services.config.brands.brand(filter.brand.as_deref())?;
    let country = filter
        .country
        .as_deref()
        .map(|c| normalize::country("country", c))
        .transpose()?;
    let (from, to) = creation_period(filter.from.as_deref(), filter.to.as_deref())?;
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(Error::invalid(
            "invalid_range",
            "to",
            "'to' must not be before 'from'",
        ));
    }
    let assignee = scoped_assignee(principal, filter.assignee.as_deref())?;
    let (counts, counted_by) = if assignee.is_none() && country.is_none() {
        let mut counts = Vec::with_capacity(LeadStatus::ALL.len());
        for status in LeadStatus::ALL {
            counts.push(count_in_status(services, &brand, status, from, to).await?);
        }
        (counts, FunnelCounting::StatusIndexCounts)
    } else {
        let selection = LeadSelection {
            brand: &brand,
            status: None,
            country: country.as_deref(),
            assignee: assignee.as_deref(),
            from,
            to,
        };
        let statuses = statuses_of(services, &selection).await?;
        let counts = LeadStatus::ALL
            .iter()
            .map(|status| statuses.iter().filter(|s| *s == status).count() as u64)
            .collect();
        (counts, FunnelCounting::LeadsRead)
    };
    let statuses: Vec<StatusCount> = LeadStatus::ALL
        .into_iter()
        .zip(counts)
        .map(|(status, count)| StatusCount { status, count })
        .collect();
    Ok(LeadFunnel {
        brand,
        assignee,
        country,
        total: statuses.iter().map(|s| s.count).sum(),
        statuses,
        counted_by,
    })
}
