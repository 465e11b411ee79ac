//! The generic repository of audited entities: every context reads its entities by id through
//! [`Core::find`] and [`Core::get`] and commits its changesets through [`Core::commit`]. What is
//! particular to a context (its queries, its unaudited bookkeeping items) lives in that
//! context's own `repo` module, the only code of the context that touches the store.

use crate::changeset::{self, Audited, Changeset, Committed, Entity};
use crate::{Core, Error, Result};

impl Core {
    /// The entity `T` with `id`, if it is stored.
    pub async fn find<T: Entity>(&self, id: &str) -> Result<Option<Audited<T>>> {
        changeset::load(self.store.as_ref(), &T::key_for(id)).await
    }

    /// The entity `T` with `id`, which must exist ("withdrawal 42 not found" otherwise).
    pub async fn get<T: Entity>(&self, id: &str) -> Result<Audited<T>> {
        self.find(id).await?.ok_or_else(|| Error::NotFound {
            entity: T::NOUN,
            id: id.to_string(),
        })
    }

    /// The entities `T` stored with any of `ids` (those not stored are left out), read by key in
    /// batches: consistent, unlike a listing from an index, so a decision may rest on them.
    pub async fn find_many<'a, T: Entity>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Audited<T>>> {
        let keys: Vec<brokeros_store::Key> = ids.into_iter().map(T::key_for).collect();
        let mut found = Vec::new();
        for chunk in keys.chunks(brokeros_store::MAX_GET_MANY_KEYS) {
            let items = self
                .store
                .get_many(brokeros_store::Table::Main, chunk)
                .await
                .map_err(changeset::store_error)?;
            for item in items.iter().flatten() {
                found.push(changeset::decode(item)?);
            }
        }
        Ok(found)
    }

    /// Commits `changes` as one transaction (see [`changeset::commit`]).
    pub async fn commit(&self, changes: Changeset) -> Result<Committed> {
        changeset::commit(self.store.as_ref(), changes).await
    }
}
