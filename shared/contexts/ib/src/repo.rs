//! The IB repository: the only code of the context that builds its store items, keys, indexes
//! and queries. Applications, IBs, invitations, client attributions and lead referrals are
//! audited entities; a referral code's IB and a portal user's IB are unaudited markers,
//! created on the condition that they do not exist in the changeset that gives them out, so
//! the store itself keeps a code to one IB and a user to one IB.

use brokeros_kernel::QueueFilter;
use brokeros_kernel::changeset::{Audited, Entity, decode, store_error};
use brokeros_kernel::{Core, Result};
use brokeros_store::{Condition, Index, Item, Key, Query, Table, WriteOp};
use serde_json::Value;

use crate::keys;
use crate::model::{
    Application, ApplicationStatus, ClientAttribution, Ib, Invitation, LeadReferrals,
};

impl Entity for Application {
    const TYPE: &'static str = "ib_application";
    const NOUN: &'static str = "IB application";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::application(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::applications_by_status(self.status.as_str()),
            keys::by_time(self.created_at, &self.id),
        )]
    }
}

impl Entity for Ib {
    const TYPE: &'static str = "ib";
    const NOUN: &'static str = "IB";

    fn id(&self) -> &str {
        &self.node.id
    }

    fn key_for(id: &str) -> Key {
        keys::ib(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let parent = self.node.parent.latest().and_then(Option::as_deref);
        vec![
            (
                Index::Gsi1,
                keys::ibs_under(parent),
                keys::by_time(self.created_at, &self.node.id),
            ),
            (
                Index::Gsi2,
                keys::ALL_IBS.to_string(),
                keys::by_time(self.created_at, &self.node.id),
            ),
        ]
    }
}

impl Entity for Invitation {
    const TYPE: &'static str = "ib_invitation";
    const NOUN: &'static str = "invitation";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::invitation(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::invitations_of(&self.ib_id),
            keys::by_time(self.created_at, &self.id),
        )]
    }
}

impl Entity for ClientAttribution {
    const TYPE: &'static str = "ib_client";
    const NOUN: &'static str = "client attribution";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::client_attribution(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        match self.current_ib() {
            Some(ib) => vec![(Index::Gsi1, keys::clients_of(ib), self.id.clone())],
            None => Vec::new(),
        }
    }
}

impl Entity for LeadReferrals {
    const TYPE: &'static str = "ib_lead";
    const NOUN: &'static str = "lead referrals";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::lead_referrals(id)
    }
}

fn marker(key: Key, value: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(key, 1, value.to_string()),
        condition: Condition::NotExists,
    }
}

/// Gives referral code `code` to IB `ib_id`, refused at commit if another IB has it.
pub(crate) fn referral_code_marker(code: &str, ib_id: &str) -> WriteOp {
    marker(keys::referral_code(code), ib_id)
}

/// Makes portal user `user_id` sign in as IB `ib_id`, refused at commit if the user is an IB.
pub(crate) fn ib_user_marker(user_id: &str, ib_id: &str) -> WriteOp {
    marker(keys::ib_user(user_id), ib_id)
}

async fn read_marker(core: &Core, key: &Key) -> Result<Option<String>> {
    let item = core
        .store
        .get(Table::Main, key)
        .await
        .map_err(store_error)?;
    Ok(item.map(|i| i.data))
}

/// The IB that has referral code `code`, read by key.
pub(crate) async fn ib_of_code(core: &Core, code: &str) -> Result<Option<String>> {
    read_marker(core, &keys::referral_code(code)).await
}

/// The IB portal user `user_id` signs in as, read by key.
pub(crate) async fn ib_of_user(core: &Core, user_id: &str) -> Result<Option<String>> {
    read_marker(core, &keys::ib_user(user_id)).await
}

/// Every entity of an index partition, oldest first (a listing: never what a decision rests
/// on).
async fn all_in<T: Entity>(core: &Core, index: Index, partition: String) -> Result<Vec<T>> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::new(Table::Main, Some(index), partition.clone())
            .limit(200)
            .after(cursor);
        let page = core.store.query(query).await.map_err(store_error)?;
        for item in &page.items {
            found.push(decode::<T>(item)?.entity);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// The IBs directly under `parent` now.
pub(crate) async fn children(core: &Core, parent: &str) -> Result<Vec<Ib>> {
    all_in(core, Index::Gsi1, keys::ibs_under(Some(parent))).await
}

/// The clients whose current IB is `ib_id`.
pub(crate) async fn clients_of(core: &Core, ib_id: &str) -> Result<Vec<ClientAttribution>> {
    all_in(core, Index::Gsi1, keys::clients_of(ib_id)).await
}

pub(crate) async fn invitations_of(core: &Core, ib_id: &str) -> Result<Vec<Invitation>> {
    all_in(core, Index::Gsi1, keys::invitations_of(ib_id)).await
}

/// A page of the applications in `status`, oldest first.
pub(crate) async fn applications_in_status(
    core: &Core,
    status: ApplicationStatus,
    filter: QueueFilter,
    view: impl Fn(&Application) -> Value,
) -> Result<Value> {
    filter
        .page(
            core.store.as_ref(),
            Index::Gsi1,
            keys::applications_by_status(status.as_str()),
            view,
        )
        .await
}

/// A page of every IB, oldest first.
pub(crate) async fn ibs_page(
    core: &Core,
    filter: QueueFilter,
    view: impl Fn(&Ib) -> Value,
) -> Result<Value> {
    filter
        .page(
            core.store.as_ref(),
            Index::Gsi2,
            keys::ALL_IBS.to_string(),
            view,
        )
        .await
}

/// Every IB (the partner managers' whole tree).
pub(crate) async fn all_ibs(core: &Core) -> Result<Vec<Ib>> {
    all_in(core, Index::Gsi2, keys::ALL_IBS.to_string()).await
}

/// The entities with `ids`, read by key.
pub(crate) async fn by_ids<T: Entity>(core: &Core, ids: &[String]) -> Result<Vec<Audited<T>>> {
    core.find_many::<T>(ids.iter().map(String::as_str)).await
}
