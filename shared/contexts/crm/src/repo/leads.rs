//! Where leads are stored and the indexes they are listed by (status, agent, country, brand,
//! each sorted by creation time), and a lead's timeline (its audit stream).

use crate::model::{Lead, LeadStatus};
use brokeros_kernel::Core;
use brokeros_kernel::audit::AuditEvent;
use brokeros_kernel::changeset::{Audited, Entity, decode, store_error};
use brokeros_kernel::{Error, Result};
use brokeros_store::{Index, Key, Query, SortKeyRange, Table};
use time::OffsetDateTime;

use super::Page;
use crate::keys;

impl Entity for Lead {
    const TYPE: &'static str = "lead";
    const NOUN: &'static str = "lead";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::lead(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let sk = keys::by_time(self.created_at, &self.id);
        vec![
            (
                Index::Gsi1,
                keys::leads_by_status(&self.brand, self.status.as_str()),
                sk.clone(),
            ),
            (
                Index::Gsi2,
                keys::leads_by_agent(&self.brand, &self.assignee),
                sk.clone(),
            ),
            (
                Index::Gsi3,
                keys::leads_by_country(&self.brand, &self.country),
                sk.clone(),
            ),
            (Index::Gsi4, keys::leads_by_brand(&self.brand), sk),
        ]
    }
}

/// The leads of a brand a list asks for: any of status, country and agent, and creation time
/// from and to (both inclusive).
pub(crate) struct LeadSelection<'a> {
    pub(crate) brand: &'a str,
    pub(crate) status: Option<LeadStatus>,
    pub(crate) country: Option<&'a str>,
    pub(crate) assignee: Option<&'a str>,
    pub(crate) from: Option<OffsetDateTime>,
    pub(crate) to: Option<OffsetDateTime>,
}

impl LeadSelection<'_> {
    fn selects(&self, lead: &Lead) -> bool {
        self.status.is_none_or(|s| lead.status == s)
            && self.country.is_none_or(|c| lead.country == c)
            && self.assignee.is_none_or(|a| lead.assignee == a)
    }
}

/// A page of the selected leads, newest first, from the most selective index (agent, status,
/// country, else the brand's); the other filters are applied to the page read, so it may hold
/// fewer than `limit` leads while `next` is present.
pub(crate) async fn leads_page(
    core: &Core,
    selection: &LeadSelection<'_>,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Audited<Lead>>> {
    let brand = selection.brand;
    let range = match (selection.from, selection.to) {
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
    let (index, pk) = if let Some(a) = selection.assignee {
        (Index::Gsi2, keys::leads_by_agent(brand, a))
    } else if let Some(s) = selection.status {
        (Index::Gsi1, keys::leads_by_status(brand, s.as_str()))
    } else if let Some(c) = selection.country {
        (Index::Gsi3, keys::leads_by_country(brand, c))
    } else {
        (Index::Gsi4, keys::leads_by_brand(brand))
    };
    let query = Query::new(Table::Main, Some(index), pk)
        .sk(range)
        .limit(limit)
        .descending()
        .after(cursor);
    let page = core.store.query(query).await.map_err(store_error)?;
    let mut leads = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let lead = decode::<Lead>(item)?;
        if selection.selects(&lead.entity) {
            leads.push(lead);
        }
    }
    Ok(Page {
        items: leads,
        next: page.next,
    })
}

/// A page of the lead's timeline, newest first: its audit stream.
pub(crate) async fn timeline_of_lead(
    core: &Core,
    lead_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<AuditEvent>> {
    let query = Query::new(Table::Audit, None, keys::audit_stream(Lead::TYPE, lead_id))
        .limit(limit)
        .descending()
        .after(cursor);
    let page = core.store.query(query).await.map_err(store_error)?;
    let events = page
        .items
        .iter()
        .map(|item| serde_json::from_str(&item.data).map_err(|e| Error::Internal(e.to_string())))
        .collect::<Result<Vec<AuditEvent>>>()?;
    Ok(Page {
        items: events,
        next: page.next,
    })
}
