//! Reading leads: one lead or a filtered list, scoped by role, and what every lead use case
//! shares (the caller's context, loading a lead the caller may see).

use crate::model::{Lead, LeadStatus};
use brokeros_kernel::changeset::{Audited, decode, load, store_error};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};
use brokeros_store::{Index, Query, SortKeyRange, Table};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Services;
use crate::keys;

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

pub(crate) async fn load_lead(
    services: &Services,
    principal: &Principal,
    id: &str,
) -> Result<Audited<Lead>> {
    principal.require_any(&[Role::Sales, Role::Admin], "read leads")?;
    let id = normalize::code("lead_id", id, 80)?;
    let lead: Audited<Lead> = load(services.store.as_ref(), &keys::lead(&id))
        .await?
        .ok_or(Error::NotFound { entity: "lead", id })?;
    authorize_lead(principal, &lead.entity)?;
    Ok(lead)
}

pub async fn get_lead(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let lead = load_lead(services, principal, id).await?;
    Ok(lead_view(&lead.entity, lead.version))
}

/// A lead as the API shows it: its fields and the version it is stored at.
pub(crate) fn lead_view(lead: &Lead, version: u64) -> Value {
    let mut view = serde_json::to_value(lead).expect("leads serialize");
    view["version"] = json!(version);
    view
}

#[derive(Debug, Default, Deserialize)]
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
    let mut assignee = filter
        .assignee
        .as_deref()
        .map(|a| normalize::code("assignee", a, 64))
        .transpose()?;
    if !principal.has(Role::Admin) {
        match &assignee {
            Some(a) if a != &principal.sub => {
                return Err(Error::forbidden("sales agents list only their own leads"));
            }
            _ => assignee = Some(principal.sub.clone()),
        }
    }
    let limit = brokeros_kernel::page_limit(filter.limit)?;
    let from = filter
        .from
        .as_deref()
        .map(|t| parse_time("from", t))
        .transpose()?;
    let to = filter
        .to
        .as_deref()
        .map(|t| parse_time("to", t))
        .transpose()?;
    let range = match (from, to) {
        (None, None) => SortKeyRange::All,
        (from, to) => SortKeyRange::Between(
            from.map(keys::sortable_time).unwrap_or_default(),
            // '~' sorts after every character of an id, so `to` is inclusive.
            format!(
                "{}#~",
                to.map(keys::sortable_time).unwrap_or_else(|| "9999".into())
            ),
        ),
    };
    let (index, pk) = if let Some(a) = &assignee {
        (Index::Gsi2, keys::leads_by_agent(&brand, a))
    } else if let Some(s) = status {
        (Index::Gsi1, keys::leads_by_status(&brand, s.as_str()))
    } else if let Some(c) = &country {
        (Index::Gsi3, keys::leads_by_country(&brand, c))
    } else {
        (Index::Gsi4, keys::leads_by_brand(&brand))
    };
    let query = Query::new(Table::Main, Some(index), pk)
        .sk(range)
        .limit(limit)
        .descending()
        .after(filter.cursor);
    let page = services.store.query(query).await.map_err(store_error)?;
    let mut leads = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let lead = decode::<Lead>(item)?;
        let keep = status.is_none_or(|s| lead.entity.status == s)
            && country.as_ref().is_none_or(|c| &lead.entity.country == c)
            && assignee.as_ref().is_none_or(|a| &lead.entity.assignee == a);
        if keep {
            leads.push(lead_view(&lead.entity, lead.version));
        }
    }
    Ok(json!({ "items": leads, "next": page.next }))
}
