//! Reading leads: one lead or a filtered list, scoped by role, and what every lead use case
//! shares (the caller's context, loading a lead the caller may see).

use crate::model::{Lead, LeadStatus};
use brokeros_kernel::changeset::Audited;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::IntoParams;

use crate::Services;
use crate::repo::{LeadSelection, leads_page};

pub(crate) fn now_text(now: OffsetDateTime) -> String {
    now.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC times format")
}

/// Sales see the leads assigned to them; admins see all; no other role reads leads.
pub(crate) fn authorize_lead(principal: &Principal, lead: &Lead) -> Result<()> {
    if principal.has(Role::Admin) || (principal.has(Role::Sales) && lead.assignee == principal.sub)
    {
        Ok(())
    } else if principal.has(Role::Sales) {
        Err(Error::forbidden("this lead is assigned to another agent"))
    } else {
        Err(Error::forbidden("your role may not read leads"))
    }
}

/// The agent a count or a list is limited to: the caller for a sales agent (who may name only
/// themselves), the one named (if any) for an admin.
pub(crate) fn scoped_assignee(
    principal: &Principal,
    named: Option<&str>,
) -> Result<Option<String>> {
    let named = named
        .map(|a| normalize::code("assignee", a, 64))
        .transpose()?;
    if principal.has(Role::Admin) {
        return Ok(named);
    }
    match named {
        Some(a) if a != principal.sub => {
            Err(Error::forbidden("sales agents see only their own leads"))
        }
        _ => Ok(Some(principal.sub.clone())),
    }
}

pub(crate) async fn load_lead(
    services: &Services,
    principal: &Principal,
    id: &str,
) -> Result<Audited<Lead>> {
    principal.require_any(&[Role::Sales, Role::Admin], "read leads")?;
    let id = normalize::code("lead_id", id, 80)?;
    let lead = services.get::<Lead>(&id).await?;
    authorize_lead(principal, &lead.entity)?;
    Ok(lead)
}

pub async fn get_lead(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let lead = load_lead(services, principal, id).await?;
    Ok(lead_view(&lead.entity, lead.version))
}

/// A lead as the API shows it: its fields and the version it is stored at.
pub(crate) fn lead_view(lead: &Lead, version: u64) -> Value {
    json!(brokeros_kernel::Versioned {
        entity: lead,
        version
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeadFilter {
    pub brand: Option<String>,
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub country: Option<String>,
    /// RFC 3339; creation time from (inclusive).
    pub from: Option<String>,
    /// RFC 3339; creation time to (inclusive).
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub(crate) fn parse_time(field: &str, raw: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).map_err(|_| {
        Error::invalid(
            "invalid_time",
            field,
            format!("{field} must be an RFC 3339 time"),
        )
    })
}

/// The creation period `from` and `to` name (RFC 3339, each optional).
pub(crate) fn creation_period(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>)> {
    Ok((
        from.map(|t| parse_time("from", t)).transpose()?,
        to.map(|t| parse_time("to", t)).transpose()?,
    ))
}

/// Lists leads newest first. The most selective index serves the query; remaining filters are
/// applied to each page, so a page may hold fewer than `limit` leads while `next` is present.
pub async fn list_leads(
    services: &Services,
    principal: &Principal,
    filter: LeadFilter,
) -> Result<Value> {
    principal.require_any(&[Role::Sales, Role::Admin], "list leads")?;
    let brand = services.config.brands.brand(filter.brand.as_deref())?;
    let status = filter
        .status
        .as_deref()
        .map(|s| LeadStatus::parse("status", s))
        .transpose()?;
    let country = filter
        .country
        .as_deref()
        .map(|c| normalize::country("country", c))
        .transpose()?;
    let assignee = scoped_assignee(principal, filter.assignee.as_deref())?;
    let limit = brokeros_kernel::page_limit(filter.limit)?;
    let (from, to) = creation_period(filter.from.as_deref(), filter.to.as_deref())?;
    let selection = LeadSelection {
        brand: &brand,
        status,
        country: country.as_deref(),
        assignee: assignee.as_deref(),
        from,
        to,
    };
    let page = leads_page(services, &selection, limit, filter.cursor).await?;
    let leads: Vec<Value> = page
        .items
        .iter()
        .map(|lead| lead_view(&lead.entity, lead.version))
        .collect();
    Ok(json!(brokeros_kernel::Page {
        items: leads,
        next: page.next
    }))
}
