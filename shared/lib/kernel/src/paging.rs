//! Pages of lists and work queues: one page size rule and one query for every queue.

use crate::changeset;
use crate::{Error, Result};
use utoipa::{IntoParams, ToSchema};

/// A page of a list: at most `limit` items (see [`page_limit`]), after `cursor` (the `next` of
/// the page before).
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page of an index partition (a client's transfers) this asks for, newest first,
    /// each entity as `view` shows it: `{"items", "next"}`.
    pub async fn newest_first<T: changeset::Entity>(
        self,
        store: &dyn brokeros_store::Store,
        partition: String,
        view: impl Fn(&T) -> serde_json::Value,
    ) -> Result<serde_json::Value> {
        let limit = page_limit(self.limit)?;
        newest_first(
            store,
            brokeros_store::Index::Gsi1,
            partition,
            limit,
            self.cursor,
            view,
        )
        .await
    }
}

/// A page of `limit` entities of an index partition after `cursor`, newest first, each as
/// `view` shows it: `{"items", "next"}`.
pub async fn newest_first<T: changeset::Entity>(
    store: &dyn brokeros_store::Store,
    index: brokeros_store::Index,
    partition: String,
    limit: u32,
    cursor: Option<String>,
    view: impl Fn(&T) -> serde_json::Value,
) -> Result<serde_json::Value> {
    let query = brokeros_store::Query::new(brokeros_store::Table::Main, Some(index), partition)
        .descending()
        .limit(limit)
        .after(cursor);
    page_of(store, query, view).await
}

/// Every item `query` selects, page after page (pages of 1000): a work list or a roster.
pub async fn every_item(
    store: &dyn brokeros_store::Store,
    query: brokeros_store::Query,
) -> Result<Vec<brokeros_store::Item>> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query(query.clone().limit(1000).after(cursor))
            .await
            .map_err(changeset::store_error)?;
        items.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// A work queue's query (compliance reviews, withdrawals awaiting finance): the status to
/// list, and the page.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueFilter {
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl QueueFilter {
    /// The page of a work queue (reviews, withdrawals) this filter asks for: the entities of
    /// the status partition `partition` of `index`, oldest first, each as `view` shows it.
    pub async fn page<T: changeset::Entity>(
        self,
        store: &dyn brokeros_store::Store,
        index: brokeros_store::Index,
        partition: String,
        view: impl Fn(&T) -> serde_json::Value,
    ) -> Result<serde_json::Value> {
        let limit = page_limit(self.limit)?;
        let query = brokeros_store::Query::new(brokeros_store::Table::Main, Some(index), partition)
            .limit(limit)
            .after(self.cursor);
        page_of(store, query, view).await
    }
}

/// A page of a list as the API answers it: `next` is the cursor of the page after it (the
/// `cursor` parameter), null on the last.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[schema(required)]
    pub next: Option<String>,
}

/// A whole list as the API answers it.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// An entity as the API shows it: its fields and the version it is stored at (what a change
/// was made on, in its audit event).
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Versioned<T> {
    #[serde(flatten)]
    pub entity: T,
    pub version: u64,
}

/// One page of `query`'s entities, each as `view` shows it: a [`Page`].
async fn page_of<T: changeset::Entity>(
    store: &dyn brokeros_store::Store,
    query: brokeros_store::Query,
    view: impl Fn(&T) -> serde_json::Value,
) -> Result<serde_json::Value> {
    let page = store.query(query).await.map_err(changeset::store_error)?;
    let items = page
        .items
        .iter()
        .map(|item| changeset::decode::<T>(item).map(|entry| view(&entry.entity)))
        .collect::<Result<Vec<_>>>()?;
    Ok(serde_json::json!(Page {
        items,
        next: page.next
    }))
}

/// A list request's page size: 50 unless asked, at most 200.
pub fn page_limit(requested: Option<u32>) -> Result<u32> {
    let limit = requested.unwrap_or(50);
    if (1..=200).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::invalid(
            "invalid_limit",
            "limit",
            "limit must be 1 to 200",
        ))
    }
}

/// The newest `limit` entities of an index partition (a client's deposits, withdrawals...),
/// each as `view` shows it.
pub async fn latest_items<T: changeset::Entity>(
    services: &crate::Core,
    partition: String,
    limit: u32,
    view: impl Fn(&T) -> serde_json::Value,
) -> Result<Vec<serde_json::Value>> {
    Ok(latest::<T>(services, partition, limit)
        .await?
        .iter()
        .map(view)
        .collect())
}

/// The newest `limit` entities of an index partition, newest first.
pub async fn latest<T: changeset::Entity>(
    services: &crate::Core,
    partition: String,
    limit: u32,
) -> Result<Vec<T>> {
    let query = brokeros_store::Query::new(
        brokeros_store::Table::Main,
        Some(brokeros_store::Index::Gsi1),
        partition,
    )
    .descending()
    .limit(limit);
    let page = services
        .store
        .query(query)
        .await
        .map_err(changeset::store_error)?;
    page.items
        .iter()
        .map(|item| changeset::decode::<T>(item).map(|entry| entry.entity))
        .collect()
}
