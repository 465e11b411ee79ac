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

/// The index sort keys of leads created from `from` to `to` (both inclusive, either open).
fn created_between(from: Option<OffsetDateTime>, to: Option<OffsetDateTime>) -> SortKeyRange {
    match (from, to) {
        (None, None) => SortKeyRange::All,
        (from, to) => SortKeyRange::Between(
            from.map(keys::sortable_time).unwrap_or_default(),
            // '~' sorts after every character of an id, so `to` is inclusive.
            format!(
                "{}#~",
                to.map(keys::sortable_time).unwrap_or_else(|| "9999".into())
            ),
        ),
    }
}

/// How many leads of `brand` are in `status`, created from `from` to `to`: counted by the store
/// on the status index (`Store::count`), no lead read.
pub(crate) async fn count_in_status(
    core: &Core,
    brand: &str,
    status: LeadStatus,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
) -> Result<u64> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::leads_by_status(brand, status.as_str()),
    )
    .sk(created_between(from, to));
    core.store.count(query).await.map_err(store_error)
}

/// Every selected lead's status, read page by page (1000 leads a page) from the index
/// [`leads_page`] chooses: for selections no status count answers (an agent's leads, a
/// country's).
pub(crate) async fn statuses_of(
    core: &Core,
    selection: &LeadSelection<'_>,
) -> Result<Vec<LeadStatus>> {
    let mut statuses = Vec::new();
    let mut cursor = None;
    loop {
        let page = leads_page(core, selection, 1000, cursor).await?;
        statuses.extend(page.items.iter().map(|lead| lead.entity.status));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(statuses),
        }
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
    let range = created_between(selection.from, selection.to);
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
