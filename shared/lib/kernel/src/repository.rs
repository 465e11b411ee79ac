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

    /// Commits `changes` as one transaction (see [`changeset::commit`]).
    pub async fn commit(&self, changes: Changeset) -> Result<Committed> {
        changeset::commit(self.store.as_ref(), changes).await
    }
}
