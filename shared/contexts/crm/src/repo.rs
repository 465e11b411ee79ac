//! Where leads are stored: the lead entity's keys and indexes, and the dedupe keys that make
//! one lead per email and phone in a brand.

use crate::model::Lead;
use brokeros_kernel::changeset::Entity;
use brokeros_store::{Condition, Index, Item, Key, Table, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::json;

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

/// The value of a dedupe key: which lead owns an email or a phone.
#[derive(Serialize, Deserialize)]
pub(crate) struct Owner {
    pub(crate) lead_id: String,
}

pub(crate) fn owner(item: &Option<Item>) -> Option<String> {
    item.as_ref()
        .and_then(|i| serde_json::from_str::<Owner>(&i.data).ok())
        .map(|o| o.lead_id)
}

pub(crate) fn claim(key: Key, lead_id: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(key, 1, json!({ "lead_id": lead_id }).to_string()),
        condition: Condition::NotExists,
    }
}
